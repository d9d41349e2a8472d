"""cocotb bench of rtl/commit_unit.v against LrtUnit.commit_scale + delta_levels.

Stimulus: factor states of a running LRT stream, random learning-rate registers
(including shifts that make every step round away and ones that saturate), max-norm
on and off, first and later max-norm commits. Covered: the 1/sqrt(B) and max-norm
scale chains, tracker updates, coefficient normalisation, rounding and saturation of
dk, the non-zero count, the cycle count.
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
        import copy

        from pysim.hw.isa import N_STATS, REG_RESET, Reg
        from pysim.hw.lrt_unit import LrtUnit
        from pysim.hw.params import ArchParams

        p = runner.params()
        n_in, n_out, r = p["N_IN"], p["N_OUT"], p["RANK"]
        arch = ArchParams(n_in=n_in, n_out=n_out, rank=r, lanes=p["LANES"], w_bits=p["WB"])
        async for rng in each_seed(dut, {"start_i": 0, "l_i": 0, "r_i": 0, "sigma_i": 0, "b_i": 0,
                                         "lr_mant_i": 0, "lr_shift_i": 0, "maxnorm_i": 0,
                                         "mn_steps_i": 0, "ema_l_i": 0, "ema_r_i": 0}):
            stream = LrtUnit(arch)
            regs = dict(REG_RESET)
            for it in range(runner.iterations(30)):
                for _ in range(int(rng.integers(1, 6))):
                    stream.update(rng.integers(-128, 128, n_in), rng.integers(-128, 128, n_out),
                                  regs, [0] * N_STATS)
                model = copy.deepcopy(stream)
                cfg = dict(regs)
                cfg[Reg.MAXNORM] = int(rng.integers(0, 2))
                cfg[Reg.LR_MANT] = int(rng.integers(0, 1 << 16))
                cfg[Reg.LR_SHIFT] = int(rng.choice([int(rng.integers(0, 64)), 20, 30, 40]))
                if cfg[Reg.MAXNORM] and rng.random() < 0.6:
                    model.mn_steps = int(rng.integers(1, 100))
                    model.ema = [int(v) for v in rng.integers(1, 1 << 40, 2)]
                mn_in, ema_in = model.mn_steps, list(model.ema)
                st = [0] * N_STATS
                g, sh, c_scale = model.commit_scale(cfg, st)
                dk, c_pass = model.delta_levels(g, sh, st)
                edges = await start_and_wait(dut, {
                    "l_i": pack(model.L[:, :r].reshape(-1), 16),
                    "r_i": pack(model.R[:, :r].reshape(-1), 16),
                    "sigma_i": pack(model.sigma, 64), "b_i": model.pending,
                    "lr_mant_i": cfg[Reg.LR_MANT], "lr_shift_i": cfg[Reg.LR_SHIFT],
                    "maxnorm_i": cfg[Reg.MAXNORM], "mn_steps_i": mn_in,
                    "ema_l_i": ema_in[0], "ema_r_i": ema_in[1]})
                where = f"iteration {it}: maxnorm {cfg[Reg.MAXNORM]} lr {cfg[Reg.LR_MANT]}" \
                        f"*2^-{cfg[Reg.LR_SHIFT]} B {model.pending}"
                got = unpack(int(dut.dk_o.value), n_out * n_in, p["WB"] + 1, True)
                assert np.array_equal(got.reshape(n_out, n_in), dk), where
                assert int(dut.nonzero_o.value) == int(np.count_nonzero(dk)), where
                assert int(dut.mn_steps_o.value) == model.mn_steps, where
                if cfg[Reg.MAXNORM]:
                    assert [int(dut.ema_l_o.value), int(dut.ema_r_o.value)] == model.ema, where
                assert edges == c_scale + c_pass, f"{where}: rtl {edges}, model {c_scale + c_pass}"


PARAMS = [dict(N_IN=64, N_OUT=10, RANK=4, LANES=8, WB=8),
          dict(N_IN=11, N_OUT=6, RANK=2, LANES=3, WB=4)]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"{p['N_IN']}x{p['N_OUT']}")
def test_commit_unit(params, cocotb_opts):
    runner.run("commit_unit", params, **cocotb_opts)
