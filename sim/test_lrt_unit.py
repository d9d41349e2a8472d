"""cocotb bench of rtl/lrt_unit.v (UPDATE path) against pysim.hw.lrt_unit.LrtUnit.update.

Stimulus: seeded int8 streams, biased then (after a clear) unbiased, with the κ-skip
on and off, including zero samples. After every sample: absorbed flag, Jacobi
rotations, unbiased slot count, L and R (all q columns), sigma, LFSR, pending count and
the cycle count must equal the model's; so must the vector lanes' and memory ports'
enables (the model's MAC and SRAM counts). L and R are read back through the memories'
read ports, a word of every bank a cycle, as COMMIT and READ_LRT read them; the unit is
used only once it has cleared its memories after reset and after each clear.
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from cocotb.triggers import FallingEdge, RisingEdge
from harness import runner
from harness.bench import each_seed, pack, start_and_wait, unpack


async def wait_idle(dut) -> None:
    """Until the unit has written zeros to its memories (after reset or a clear)."""
    await FallingEdge(dut.clk_i)
    while int(dut.busy_o.value):
        await FallingEdge(dut.clk_i)


async def read_factor(dut, side: str, n: int, q: int, p: int, f: int) -> np.ndarray:
    """The factor (n × q) through its banks' read ports, one word of every bank a cycle."""
    addr, en, rdata = (getattr(dut, f"{side}_{s}") for s in ("addr_i", "en_i", "rdata_o"))
    words = []
    for b in range(-(-n // p)):
        await FallingEdge(dut.clk_i)
        addr.value, en.value = b, (1 << q) - 1
        await RisingEdge(dut.clk_i)
        await FallingEdge(dut.clk_i)
        en.value = 0
        words.append(unpack(int(rdata.value), q * p, f, True).reshape(q, p).T)
    return np.concatenate(words)[:n]


@cocotb.test()
async def matches_golden_model(dut):
    from pysim.hw.isa import N_STATS, REG_RESET, Reg, Stat
    from pysim.hw.lrt_unit import LrtUnit
    from pysim.hw.params import ArchParams

    p = runner.params()
    n_in, n_out = p["N_IN"], p["N_OUT"]
    arch = ArchParams(n_in=n_in, n_out=n_out, rank=p["RANK"], lanes=p["LANES"],
                      f_bits=p["F"], wc_bits=p["WC"], sweeps=p["SWEEPS"])
    async for rng in each_seed(dut, {"layer_i": 0, "start_i": 0, "x_i": 0, "dy_i": 0,
                                     "mode_i": 0, "kappa_q4_i": 0, "clear_i": 0,
                                     "lfsr_load_i": 0, "lfsr_seed_i": 0, "l_addr_i": 0,
                                     "l_en_i": 0, "r_addr_i": 0, "r_en_i": 0,
                                     "smul_x_i": 0, "lane_x_i": 0, "s2_x_i": 0}):
        await wait_idle(dut)
        model = LrtUnit(arch)
        enables = [0, 0, 0, 0]

        def count(en=enables):
            en[0] += int(dut.macs_o.value)
            en[1] += int(dut.reads_o.value)
            en[2] += int(dut.writes_o.value)
            en[3] += int(dut.rsq_start_o.value)

        n = runner.iterations(24)
        for phase, (mode, kappa) in enumerate(((0, 0), (0, 1600), (1, 0), (1, 1600))):
            if phase:  # clear between phases, as RESET_LRT does
                await FallingEdge(dut.clk_i)
                dut.clear_i.value = 1
                await RisingEdge(dut.clk_i)
                await FallingEdge(dut.clk_i)
                dut.clear_i.value = 0
                model.reset()
                await wait_idle(dut)
            regs = dict(REG_RESET)
            regs[Reg.MODE], regs[Reg.KAPPA_Q4] = mode, kappa
            for i in range(n):
                x = rng.integers(-128, 128, n_in) * (i % 11 != 7)  # some zero samples
                dy = rng.integers(-128, 128, n_out)
                st = [0] * N_STATS
                absorbed, cycles = model.update(x, dy, regs, st)
                enables[:] = [0, 0, 0, 0]
                edges = await start_and_wait(dut, {"x_i": pack(x, 8), "dy_i": pack(dy, 8),
                                                   "mode_i": mode, "kappa_q4_i": kappa},
                                             each_cycle=count)
                where = f"phase {phase} (mode {mode}, kappa {kappa}) sample {i}"
                assert bool(int(dut.absorbed_o.value)) == absorbed, where
                assert edges == cycles, f"{where}: rtl {edges} cycles, model {cycles}"
                want = [st[s] for s in (Stat.MACS, Stat.SRAM_READS, Stat.SRAM_WRITES,
                                        Stat.RSQRT)]
                assert enables == want, \
                    f"{where}: enables (MACs, reads, writes, rsqrt starts) {enables}, " \
                    f"model {want}"
                await check_state(dut, arch, model, st, absorbed and cycles > 200, where)


async def check_state(dut, arch, model, st, folded: bool, where: str) -> None:
    """L and R through the banks' read ports, σ, the LFSR and the pending count; for a
    folded sample also its Jacobi rotations and unbiased slot count."""
    from pysim.hw.isa import Stat

    L = await read_factor(dut, "l", arch.n_out, arch.q, arch.lanes, arch.f_bits)
    R = await read_factor(dut, "r", arch.n_in, arch.q, arch.lanes, arch.f_bits)
    assert np.array_equal(L, model.L), f"{where}: L"
    assert np.array_equal(R, model.R), f"{where}: R"
    sig = list(unpack(int(dut.sigma_o.value), arch.rank, 64, False))
    assert sig == model.sigma, f"{where}: sigma"
    assert int(dut.lfsr_o.value) == model.lfsr, f"{where}: lfsr"
    assert int(dut.pending_o.value) == model.pending, f"{where}: pending"
    if folded:
        assert int(dut.rotations_o.value) == st[Stat.ROTATIONS], where
        assert int(dut.k_o.value) == (model.last_k or 0), where


PARAMS = [dict(N_IN=64, N_OUT=10, RANK=4, LANES=8, F=16, WC=24, SWEEPS=4),
          dict(N_IN=16, N_OUT=8, RANK=2, LANES=3, F=14, WC=20, SWEEPS=3)]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"{p['N_IN']}x{p['N_OUT']}r{p['RANK']}")
def test_lrt_unit(params, cocotb_opts):
    runner.run("lrt_unit", params, **cocotb_opts)
