"""cocotb bench of rtl/factor_mem.v, the L and R banks of the update unit.

Model: per slot and factor q banks of words (lists), read-first, a bank's read register
holding its word while the bank is not read. Stimulus: random reads and writes through
the vector unit's ports (upd_i) and reads through the l_*/r_* ports, over every slot,
bank and word, and clears of a random slot at random points. Covered: every read word,
busy_o for exactly bo + bi cycles after a clear (every slot's after a reset), zeros in
the cleared slot after it and the other slots untouched.
"""

from __future__ import annotations

import cocotb
import pytest
from cocotb.triggers import FallingEdge, RisingEdge
from harness import runner
from harness.bench import each_seed


@cocotb.test()
async def matches_model(dut):
    p = runner.params()
    n_in, n_out, r, lanes, f = p["N_IN"], p["N_OUT"], p["RANK"], p["LANES"], p["F"]
    slots = p.get("LAYERS", 1)
    q, w = r + 1, lanes * f
    nb = (-(-n_out // lanes), -(-n_in // lanes))
    idle = {"layer_i": 0, "clear_i": 0, "upd_i": 0, "f_side_i": 0, "f_addr_i": 0,
            "f_ren_i": 0, "f_wside_i": 0, "f_waddr_i": 0, "f_wen_i": 0, "f_wdata_i": 0,
            "l_addr_i": 0, "l_en_i": 0, "r_addr_i": 0, "r_en_i": 0}

    def zeros():
        return [[[0] * nb[s] for _ in range(q)] for s in (0, 1)]

    async def cleared(where: str, n: int = 1) -> None:
        for c in range(n * sum(nb)):
            await FallingEdge(dut.clk_i)
            assert int(dut.busy_o.value) == 1, f"{where}: busy_o fell after {c} cycles"
        await FallingEdge(dut.clk_i)
        assert int(dut.busy_o.value) == 0, f"{where}: still busy after bo + bi cycles"

    async for rng in each_seed(dut, idle):
        await cleared("after reset", slots)
        mems = [zeros() for _ in range(slots)]
        held = [[None] * q for _ in (0, 1)]
        for cyc in range(runner.iterations(600)):
            # (now at a falling edge) check the read registers, then drive this cycle
            check_held(dut, held, w, f"cycle {cyc}")
            for name, v in idle.items():
                getattr(dut, name).value = v
            slot = int(rng.integers(0, slots))
            dut.layer_i.value = slot
            mem = mems[slot]
            if rng.random() < 0.02:
                dut.clear_i.value = 1
                await RisingEdge(dut.clk_i)
                dut.clear_i.value = 0
                await cleared(f"cycle {cyc}: clear of slot {slot}")
                mems[slot] = zeros()
                continue
            reads, (wside, waddr, wen, data) = drive(dut, rng, q, nb, w)
            for side, k, addr in reads:  # read-first: before this cycle's write
                held[side][k] = mem[side][k][addr]
            for k in range(q):
                if wen >> k & 1:
                    mem[wside][k][waddr] = data
            await RisingEdge(dut.clk_i)
            await FallingEdge(dut.clk_i)


def check_held(dut, held, w: int, where: str) -> None:
    """Each bank's read register holds the word the model says it read last."""
    for s, port in ((0, dut.l_rdata_o), (1, dut.r_rdata_o)):
        bits = str(port.value)  # MSB first; a bank never read holds X
        for k, want in enumerate(held[s]):
            if want is not None:
                word = int(bits[len(bits) - (k + 1) * w:len(bits) - k * w], 2)
                assert word == want, f"{where}: side {s} bank {k}"


def drive(dut, rng, q: int, nb: tuple[int, int], w: int):
    """One random cycle of port use: the vector unit's ports (a read and maybe a write)
    or the read ports between UPDATEs. Returns the reads (side, bank, word) and the write
    (side, word, bank enables, data)."""
    upd = int(rng.integers(0, 2))
    dut.upd_i.value = upd
    if not upd:
        la, ra = int(rng.integers(0, nb[0])), int(rng.integers(0, nb[1]))
        le, re = int(rng.integers(0, 1 << q)), int(rng.integers(0, 1 << q))
        dut.l_addr_i.value, dut.l_en_i.value = la, le
        dut.r_addr_i.value, dut.r_en_i.value = ra, re
        reads = [(0, k, la) for k in range(q) if le >> k & 1] + \
                [(1, k, ra) for k in range(q) if re >> k & 1]
        return reads, (0, 0, 0, 0)
    side = int(rng.integers(0, 2))
    addr = int(rng.integers(0, nb[side]))
    ren = int(rng.integers(0, 1 << q))
    dut.f_side_i.value, dut.f_addr_i.value, dut.f_ren_i.value = side, addr, ren
    wside = int(rng.integers(0, 2))
    waddr = int(rng.integers(0, nb[wside]))
    wen = int(rng.integers(0, 1 << q)) if rng.random() < 0.5 else 0
    data = int(rng.integers(0, 1 << 62)) % (1 << w)
    dut.f_wside_i.value, dut.f_waddr_i.value = wside, waddr
    dut.f_wen_i.value, dut.f_wdata_i.value = wen, data
    return [(side, k, addr) for k in range(q) if ren >> k & 1], (wside, waddr, wen, data)


PARAMS = [dict(N_IN=64, N_OUT=10, RANK=4, LANES=8, F=16),
          dict(N_IN=16, N_OUT=8, RANK=2, LANES=3, F=14, LAYERS=3)]


@pytest.mark.parametrize("params", PARAMS,
                         ids=lambda p: f"{p['N_IN']}x{p['N_OUT']}r{p['RANK']}l{p.get('LAYERS', 1)}")
def test_factor_mem(params, cocotb_opts):
    runner.run("factor_mem", params, **cocotb_opts)
