"""cocotb bench of rtl/rsqrt_share.v: standing alone (EXT = 0) it is rsqrt.v (the model's
answers, RSQ_CYCLES latency); shared (EXT = 1) it passes the shared unit's answer through
unchanged, whatever the block's own request."""

from __future__ import annotations

import cocotb
import pytest
from cocotb.triggers import FallingEdge, ReadOnly
from harness import runner
from harness.bench import each_seed, start_and_wait


@cocotb.test()
async def own_or_shared(dut):
    from pysim.hw.fixed import RSQ_CYCLES, rsqrt

    ext = runner.params()["EXT"]
    idle = {"start_i": 0, "t_i": 0, "ext_y_i": 0, "ext_e_i": 0, "ext_done_i": 0}
    async for rng in each_seed(dut, idle):
        for i in range(runner.iterations(50)):
            t = int(rng.integers(0, 1 << 62)) << int(rng.integers(0, 60))
            if not ext:
                edges = await start_and_wait(dut, {"t_i": t})
                got = (int(dut.y_o.value), int(dut.e_o.value))
                assert got == rsqrt(t), f"operand {i}: t={t}: rtl {got} model {rsqrt(t)}"
                assert edges == RSQ_CYCLES, f"latency {edges}, spec {RSQ_CYCLES}"
            else:
                y, e, d = (int(rng.integers(0, 1 << 26)), int(rng.integers(0, 256)),
                           int(rng.integers(0, 2)))
                await FallingEdge(dut.clk_i)
                dut.start_i.value, dut.t_i.value = int(rng.integers(0, 2)), t
                dut.ext_y_i.value, dut.ext_e_i.value, dut.ext_done_i.value = y, e, d
                await ReadOnly()
                got = (int(dut.y_o.value), int(dut.e_o.value), int(dut.done_o.value))
                assert got == (y, e, d), f"step {i}: passed {got}, shared unit {(y, e, d)}"


@pytest.mark.parametrize("params", [dict(EXT=0), dict(EXT=1)], ids=lambda p: f"EXT{p['EXT']}")
def test_rsqrt_share(params, cocotb_opts):
    runner.run("rsqrt_share", params, **cocotb_opts)
