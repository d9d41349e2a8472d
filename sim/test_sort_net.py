"""cocotb bench of rtl/sort_net.v against pysim.hw.core_svd.sort: random singular values
with ties, zeros and extremes; the order and the q(q-1)/2-cycle latency."""

from __future__ import annotations

import cocotb
import pytest
from harness import runner
from harness.bench import each_seed, pack, start_and_wait, unpack


@cocotb.test()
async def matches_golden_model(dut):
    from pysim.hw import core_svd
    from pysim.hw.rtl import arch_of

    q = runner.params()["Q"]
    arch = arch_of({"RANK": q - 1}, n_in=16, n_out=16)
    async for rng in each_seed(dut, {"start_i": 0, "sig_i": 0}):
        for i in range(runner.iterations(100)):
            pool = [0, 1, (1 << 32) - 1] + [int(v) for v in rng.integers(0, 1 << 32, 3)]
            sig = [int(rng.choice(pool)) if rng.random() < 0.4 else int(rng.integers(0, 1 << 32))
                   for _ in range(q)]
            order, cycles = core_svd.sort(arch, sig)
            edges = await start_and_wait(dut, {"sig_i": pack(sig, 32)})
            got = list(unpack(int(dut.order_o.value), q, 4, False))
            assert got == order, f"set {i}: sig={sig}: rtl {got} model {order}"
            assert edges == cycles, f"set {i}: rtl {edges} cycles, spec {cycles}"


@pytest.mark.parametrize("params", [dict(Q=2), dict(Q=5), dict(Q=9)], ids=lambda p: f"q{p['Q']}")
def test_sort_net(params, cocotb_opts):
    runner.run("sort_net", params, **cocotb_opts)
