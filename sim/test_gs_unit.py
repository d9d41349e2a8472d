"""cocotb bench of rtl/gs_unit.v against pysim.hw.lrt_unit.LrtUnit.gram_schmidt.

Stimulus: factor matrices from a running LRT stream (orthonormal Q1.15 columns, the
scratch column excluded) and random orthonormal ones with a zero column, with
random and extreme int8 vectors. Covered: coefficients, residual, norm², cycle count.
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
        from pysim.hw.isa import N_STATS, REG_RESET, Reg
        from pysim.hw.lrt_unit import LrtUnit
        from pysim.hw.params import ArchParams
        from pysim.hw.passes import PASS_OVH, blocks

        p = runner.params()
        n, r, f = p["N"], p["RANK"], p["F"]
        arch = ArchParams(n_in=n, n_out=max(r, 4), rank=r, lanes=p["LANES"], f_bits=f,
                          g_bits=p["G"], wc_bits=f + 8)
        async for rng in each_seed(dut, {"start_i": 0, "v_i": 0, "q_i": 0}):
            stream = LrtUnit(arch)
            regs = dict(REG_RESET)
            regs[Reg.KAPPA_Q4] = 0
            res_w = 8 + p["G"] + (int(np.ceil(np.log2(n))) + 1) // 2 + 2
            lim = 1 << (f - 1)
            for it in range(runner.iterations(40)):
                if it % 3 == 2:  # random orthonormal columns (a legal state), one zeroed
                    basis = np.linalg.qr(rng.normal(size=(n, r + 1)))[0]
                    Q = np.clip(np.rint(basis * lim), -lim, lim - 1).astype(np.int64)
                    Q[:, rng.integers(0, r)] = 0
                else:  # the state of a running stream
                    stream.update(rng.integers(-128, 128, n), rng.integers(-128, 128, arch.n_out),
                                  regs, [0] * N_STATS)
                    Q = stream.R
                v = rng.choice([-128, 127], n) if it % 5 == 4 else rng.integers(-128, 128, n)
                model = LrtUnit(arch)
                coef, res, norm2, cycles = model.gram_schmidt(Q, v, [0] * N_STATS)
                edges = await start_and_wait(dut, {"v_i": pack(v, 8),
                                                   "q_i": pack(Q[:, :r].reshape(-1), f)})
                where = f"iteration {it}"
                assert list(unpack(int(dut.coef_o.value), r, 40, True)) == coef, where
                assert np.array_equal(unpack(int(dut.res_o.value), n, res_w, True), res), where
                assert int(dut.norm2_o.value) == norm2, where
                assert edges == cycles == (2 * r + 1) * (blocks(n, p["LANES"]) + PASS_OVH), where


PARAMS = [dict(N=64, RANK=4, LANES=8, F=16, G=8), dict(N=21, RANK=2, LANES=5, F=12, G=6)]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"n{p['N']}r{p['RANK']}")
def test_gs_unit(params, cocotb_opts):
    runner.run("gs_unit", params, **cocotb_opts)
