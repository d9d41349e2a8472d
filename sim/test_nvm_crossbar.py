"""cocotb bench of rtl/nvm_crossbar.v against pysim.hw.nvm_crossbar.HwCrossbar.

Covered: counted write-on-change, inject (uncounted), stuck flags, endurance freezing
(with ENDURANCE 0 = unlimited and small limits), all three pulse modes, counter
saturation (CNT_W = 8 parameter set), layer slots (LAYERS = 3 parameter set: each
operation on a random slot), full-array comparison of every slot after every operation.
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ReadOnly, RisingEdge
from harness import runner
from harness.bench import each_seed, pack, unpack


@cocotb.test()
async def matches_golden_model(dut):
    from pysim.hw.isa import N_STATS, REG_RESET, Reg, Stat
    from pysim.hw.nvm_crossbar import HwCrossbar
    from pysim.hw.params import ArchParams

    p = runner.params()
    n_in, n_out, wb, cw = p["N_IN"], p["N_OUT"], p["WB"], p["CNT_W"]
    slots = p.get("LAYERS", 1)
    async for rng in each_seed(dut, {"wr_valid_i": 0, "rd_row_i": 0, "endurance_i": 0,
                                     "pulse_mode_i": 0, "layer_i": 0}):
        arch = ArchParams(n_in=n_in, n_out=n_out, rank=1, w_bits=wb, cnt_bits=cw)
        models = [HwCrossbar(arch) for _ in range(slots)]
        regs, stats = dict(REG_RESET), [0] * N_STATS
        lo, hi = -(1 << (wb - 1)), (1 << (wb - 1)) - 1
        for step in range(runner.iterations(300)):
            if step % 50 == 0:
                regs[Reg.ENDURANCE] = int(rng.choice([0, 0, 3, 20]))
                regs[Reg.PULSE_MODE] = int(rng.integers(0, 3))
            row, slot = int(rng.integers(0, n_out)), int(rng.integers(0, slots))
            model = models[slot]
            dut.layer_i.value = slot
            op = int(rng.choice([0, 0, 0, 0, 0, 1, 2]))
            cur = model.codes[row].copy()
            codes = np.where(rng.random(n_in) < 0.5, cur, rng.integers(lo, hi + 1, n_in))
            flags = rng.random(n_in) < 0.1
            dut.wr_valid_i.value = 1
            dut.wr_op_i.value = op
            dut.wr_row_i.value = row
            dut.wr_codes_i.value = pack(codes, wb)
            dut.wr_flags_i.value = pack(flags, 1)
            dut.endurance_i.value = regs[Reg.ENDURANCE]
            dut.pulse_mode_i.value = regs[Reg.PULSE_MODE]
            before = list(stats)
            if op == 0:
                model.write(row, codes, regs, stats)
            elif op == 1:
                model.codes[row] = codes
            else:
                model.stuck[row] = flags
            await RisingEdge(dut.clk_i)
            dut.wr_valid_i.value = 0
            await RisingEdge(dut.clk_i)
            await ReadOnly()
            if op == 0:
                got = (int(dut.wr_written_o.value), int(dut.wr_blocked_o.value),
                       int(dut.wr_pulses_o.value))
                want = (stats[Stat.NVM_WRITES] - before[Stat.NVM_WRITES],
                        stats[Stat.NVM_BLOCKED] - before[Stat.NVM_BLOCKED],
                        stats[Stat.NVM_PULSES] - before[Stat.NVM_PULSES])
                assert got == want, f"step {step} row {row}: rtl {got} model {want}"
            await RisingEdge(dut.clk_i)
            await compare_all(dut, models, f"step {step}")


async def compare_all(dut, models, where: str) -> None:
    """Every row of every slot through the read port: codes and write counters."""
    a = models[0].a
    for sl, r in ((sl, r) for sl in range(len(models)) for r in range(a.n_out)):
        dut.layer_i.value = sl
        dut.rd_row_i.value = r
        await ReadOnly()
        rc = unpack(int(dut.rd_codes_o.value), a.n_in, a.w_bits, True)
        cc = unpack(int(dut.rd_counts_o.value), a.n_in, a.cnt_bits, False)
        assert np.array_equal(rc, models[sl].codes[r]), f"{where} slot {sl} row {r}: codes"
        assert np.array_equal(cc, models[sl].counts[r]), f"{where} slot {sl} row {r}: counts"
        await RisingEdge(dut.clk_i)


PARAMS = [dict(N_IN=64, N_OUT=10, WB=8, CNT_W=32),
          dict(N_IN=16, N_OUT=8, WB=4, CNT_W=8, LAYERS=3)]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"{p['N_IN']}x{p['N_OUT']}")
def test_nvm_crossbar(params, cocotb_opts):
    runner.run("nvm_crossbar", params, **cocotb_opts)
