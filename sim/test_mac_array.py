"""cocotb bench of rtl/mac_array.v against pysim.hw.mac_array.infer.

Covered: random and extreme int8 x and level codes, accumulator saturation (ACC_W = 16
parameter set), lane counts that do not divide N_IN, the spec's cycle count.
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from harness import runner
from harness.bench import each_seed, pack, start_and_wait, unpack


@cocotb.test()
async def matches_golden_model(dut):
    from pysim.hw.isa import N_STATS
    from pysim.hw.mac_array import infer
    from pysim.hw.params import ArchParams
    from pysim.hw.timing import infer_cycles

    p = runner.params()
    arch = ArchParams(n_in=p["N_IN"], n_out=p["N_OUT"], rank=1, lanes=p["LANES"],
                      w_bits=p["WB"], acc_bits=p["ACC_W"])
    async for rng in each_seed(dut, {"start_i": 0, "codes_i": 0, "x_i": 0}):
        lo, hi = -(1 << (p["WB"] - 1)), (1 << (p["WB"] - 1)) - 1
        for it in range(runner.iterations(40)):
            if it % 4 == 0:  # extremes drive the saturation path
                W = rng.choice([lo, hi], (arch.n_out, arch.n_in))
                x = rng.choice([-128, 127], arch.n_in)
            else:
                W = rng.integers(lo, hi + 1, (arch.n_out, arch.n_in))
                x = rng.integers(-128, 128, arch.n_in)
            y_model, cycles = infer(W, x, arch, [0] * N_STATS)

            def crossbar(W=W):  # answers the row address combinationally
                dut.codes_i.value = pack(W[int(dut.row_o.value)], p["WB"])

            edges = await start_and_wait(dut, {"x_i": pack(x, 8)}, crossbar)
            y = unpack(int(dut.y_o.value), arch.n_out, p["ACC_W"], True)
            assert np.array_equal(y, y_model), f"iteration {it}: rtl {y} model {y_model}"
            assert 1 + edges == infer_cycles(arch) == 1 + cycles, \
                f"iteration {it}: rtl {edges} cycles, spec {cycles}"


PARAMS = [dict(N_IN=64, N_OUT=10, WB=8, LANES=8, ACC_W=32),
          dict(N_IN=19, N_OUT=5, WB=8, LANES=4, ACC_W=16)]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"{p['N_IN']}x{p['N_OUT']}")
def test_mac_array(params, cocotb_opts):
    runner.run("mac_array", params, **cocotb_opts)
