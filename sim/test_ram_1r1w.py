"""cocotb bench of rtl/ram_1r1w.v, the memory bank of the factors and residuals.

Model: a list of words. A read returns the word as it was before a write of the same
cycle (read-first); the read register keeps its word while the read port is idle. Random
reads, writes and collisions over the whole depth, on a power-of-two depth and another.
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge
from harness import runner


@cocotb.test()
async def matches_model(dut):
    p = runner.params()
    w, depth = p["W"], p["DEPTH"]
    cocotb.start_soon(Clock(dut.clk_i, 10, unit="ns", impl="gpi").start())
    for seed in runner.seeds():  # no reset: the bank keeps no state but its words
        runner.record_seed(seed)
        rng = np.random.default_rng(seed)
        mem: list[int | None] = [None] * depth
        held = None
        for cyc in range(runner.iterations(400)):
            await FallingEdge(dut.clk_i)
            if held is not None:
                assert int(dut.rdata_o.value) == held, f"cycle {cyc}"
            re, we = int(rng.integers(0, 2)), int(rng.integers(0, 2))
            ra = int(rng.integers(0, depth))
            wa = ra if rng.random() < 0.3 else int(rng.integers(0, depth))
            data = int(rng.integers(0, 1 << 62)) % (1 << w)
            if re and mem[ra] is None:
                re = 0  # an unwritten word is undefined: not read
            dut.re_i.value, dut.raddr_i.value = re, ra
            dut.we_i.value, dut.waddr_i.value, dut.wdata_i.value = we, wa, data
            if re:
                held = mem[ra]
            if we:
                mem[wa] = data
            await RisingEdge(dut.clk_i)
    runner.record_seed(None)


PARAMS = [dict(W=48, DEPTH=8), dict(W=14, DEPTH=5)]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"w{p['W']}d{p['DEPTH']}")
def test_ram_1r1w(params, cocotb_opts):
    runner.run("ram_1r1w", params, **cocotb_opts)
