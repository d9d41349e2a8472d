"""cocotb bench of rtl/scalar_mul.v: each registered product equals the integer product
of the previous cycle's operands (magnitudes below 2^32, either sign)."""

from __future__ import annotations

import cocotb
import pytest
from cocotb.triggers import FallingEdge
from harness import runner
from harness.bench import each_seed


def operand(rng) -> int:
    bits = int(rng.integers(0, 33))
    mag = int(rng.integers(0, 1 << bits)) if bits else 0
    if rng.random() < 0.1:
        mag = (1 << 32) - 1
    return -mag if rng.random() < 0.5 else mag


@cocotb.test()
async def products(dut):
    ow = runner.params()["OW"]
    idle = {"xa_i": 0, "ya_i": 0, "xb_i": 0, "yb_i": 0}
    async for rng in each_seed(dut, idle):
        prev = None
        for i in range(runner.iterations(300)):
            await FallingEdge(dut.clk_i)
            if prev is not None:
                got = (int(dut.pa_o.value.to_signed()), int(dut.pb_o.value.to_signed()))
                want = (prev[0] * prev[1], prev[2] * prev[3])
                assert got == want, f"step {i}: operands {prev}: rtl {got} want {want}"
            prev = [operand(rng) for _ in range(4)]
            for name, v in zip(("xa_i", "ya_i", "xb_i", "yb_i"), prev, strict=True):
                getattr(dut, name).value = v % (1 << ow)


@pytest.mark.parametrize("params", [dict(OW=34)], ids=["ow34"])
def test_scalar_mul(params, cocotb_opts):
    runner.run("scalar_mul", params, **cocotb_opts)
