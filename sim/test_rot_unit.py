"""cocotb bench of rtl/rot_unit.v against LrtUnit.rotate (one factor).

Stimulus: bases and rotations from a running LRT stream (T taken where the model
computes it) and random Q2.22 rotations with full-scale and saturating entries.
Covered: rounding, saturation to F bits, the cycle count.
"""

from __future__ import annotations

import numpy as np
import pytest
from harness import runner

try:
    import cocotb
    from harness.bench import each_seed, pack, start_and_wait, unpack
except ImportError:  # pragma: no cover
    cocotb = None


if cocotb is not None:

    @cocotb.test()
    async def matches_golden_model(dut):
        from pysim.hw.isa import N_STATS
        from pysim.hw.lrt_unit import LrtUnit
        from pysim.hw.params import ArchParams
        from pysim.hw.passes import PASS_OVH, blocks

        p = runner.params()
        n, r, f = p["N"], p["RANK"], p["F"]
        q = r + 1
        async for rng in each_seed(dut, {"start_i": 0, "q_i": 0, "t_i": 0}):
            lim = 1 << (f - 1)
            for it in range(runner.iterations(40)):
                basis = np.linalg.qr(rng.normal(size=(n, q)))[0]
                Qm = np.clip(np.rint(basis * lim), -lim, lim - 1).astype(np.int64)
                if it % 4 == 3:  # large entries drive the saturation path
                    T = rng.integers(-(1 << 23), 1 << 23, (q, r))
                else:  # an orthogonal rotation, as the core SVD hands over
                    T = np.rint(np.linalg.qr(rng.normal(size=(q, q)))[0][:, :r] * (1 << 22))
                    T = T.astype(np.int64)
                model = LrtUnit(ArchParams(n_in=n, n_out=n, rank=r, lanes=p["LANES"], f_bits=f,
                                           wc_bits=f + 8))
                model.L, model.R = Qm.copy(), Qm.copy()
                cycles = model.rotate(T, T, [0] * N_STATS)  # both sides: 2 passes
                want = model.L[:, :r]
                edges = await start_and_wait(dut, {"q_i": pack(Qm.reshape(-1), f),
                                                   "t_i": pack(T.reshape(-1), 24)})
                got = unpack(int(dut.q_o.value), n * r, f, True).reshape(n, r)
                assert np.array_equal(got, want), f"iteration {it}"
                assert 2 * edges == cycles == 2 * (r * q * blocks(n, p["LANES"]) + PASS_OVH), \
                    f"iteration {it}"


PARAMS = [dict(N=64, RANK=4, LANES=8, F=16), dict(N=13, RANK=2, LANES=3, F=12)]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"n{p['N']}r{p['RANK']}")
def test_rot_unit(params, cocotb_opts):
    runner.run("rot_unit", params, **cocotb_opts)
