"""cocotb bench of rtl/rsqrt.v against pysim.hw.fixed.rsqrt.

Covered: zero, one, powers of two and their neighbours, operands at the top of the
width, random operands of every bit length, the 5-cycle latency.
"""

from __future__ import annotations

import cocotb
import pytest
from harness import runner
from harness.bench import each_seed, scrambler, start_and_wait


@cocotb.test()
async def matches_golden_model(dut):
    from pysim.hw.fixed import RSQ_CYCLES, rsqrt

    tw = runner.params()["TW"]
    async for rng in each_seed(dut, {"start_i": 0, "t_i": 0}):
        corners = [0, 1, 2, 3, (1 << tw) - 1, 1 << (tw - 1)]
        corners += [(1 << k) + d for k in range(2, tw - 1, 7) for d in (-1, 0, 1)]
        n = runner.iterations(400)
        randoms = [int(rng.integers(1, 1 << 62)) >> int(rng.integers(0, 62)) for _ in range(n)]
        randoms += [int.from_bytes(rng.bytes(tw // 8), "little") >> int(rng.integers(0, tw))
                    for _ in range(n // 4)]
        for i, t in enumerate(corners + randoms):
            # Every other operand: t_i changes every cycle after start (latched at start).
            noise = scrambler(dut, rng, ("t_i",)) if i % 2 else None
            edges = await start_and_wait(dut, {"t_i": t}, each_cycle=noise)
            got = (int(dut.y_o.value), int(dut.e_o.value))
            assert got == rsqrt(t), f"operand {i}: t={t}: rtl {got} model {rsqrt(t)}"
            assert edges == RSQ_CYCLES, f"latency {edges}, spec {RSQ_CYCLES}"


@pytest.mark.parametrize("params", [dict(TW=128), dict(TW=64)], ids=lambda p: f"TW{p['TW']}")
def test_rsqrt(params, cocotb_opts):
    runner.run("rsqrt", params, **cocotb_opts)
