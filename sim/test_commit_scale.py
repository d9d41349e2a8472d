"""cocotb bench of rtl/commit_scale.v (the COMMIT scale chain on two 32x32 multipliers)
against pysim.hw.commit_unit.commit_scale.

Stimulus: factor states of a running LRT stream, random learning-rate registers
(including shifts that make every coefficient round away and ones that saturate), max-norm
on and off, first and later max-norm commits with random trackers, saturated sigma.
Covered: every coefficient g_t, the shift SH, the trackers, the cycle at which the pass
may start (the model's scale cycles), and one rsqrt start per model RSQRT count.
The column maxima come from the model (commit_unit's scan is its bench's business).
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge
from harness import runner
from harness.bench import each_seed, pack, unpack
from harness.commit_cases import commit_case


async def run_scale(dut, inputs: dict) -> tuple[int, int]:
    """Start the chain; return (edges until the pass may start, rsqrt starts), with the
    coefficients in place (after that edge)."""
    await FallingEdge(dut.clk_i)
    for name, value in inputs.items():
        getattr(dut, name).value = value
    dut.start_i.value = 1
    await ReadOnly()
    rsq = int(dut.rsq_start_o.value)
    await RisingEdge(dut.clk_i)
    edges = 0
    while True:
        await FallingEdge(dut.clk_i)
        dut.start_i.value = 0
        rsq += int(dut.rsq_start_o.value)
        edges += 1
        if int(dut.go_o.value):  # the edge that starts the pass writes the last g_t
            await RisingEdge(dut.clk_i)
            await ReadOnly()
            return edges, rsq
        await RisingEdge(dut.clk_i)


@cocotb.test()
async def matches_golden_model(dut):

    from pysim.hw import commit_unit
    from pysim.hw.isa import N_STATS, REG_RESET, Reg, Stat
    from pysim.hw.lrt_unit import LrtUnit
    from pysim.hw.rtl import arch_of

    p = runner.params()
    arch = arch_of(p)
    r, f, gq = arch.rank, arch.f_bits, arch.gw_bits + 1
    idle = {"start_i": 0, "sigma_i": 0, "b_i": 0, "lr_mant_i": 0, "lr_shift_i": 0,
            "maxnorm_i": 0, "mn_steps_i": 0, "ema_l_i": 0, "ema_r_i": 0, "cmax_i": 0,
            "smul_p_i": 0, "s2_q_i": 0}
    async for rng in each_seed(dut, idle):
        stream = LrtUnit(arch)
        regs = dict(REG_RESET)
        for it in range(runner.iterations(30)):
            model, cfg = commit_case(rng, stream, regs)
            if it % 7 == 6:  # sigma saturated at its register width
                model.sigma = [(1 << 64) - 1] + model.sigma[1:]
            mn_in, ema_in = model.mn_steps, list(model.ema)
            cmax = [int(np.max(np.abs(M[:, t]))) for M in (model.L, model.R)
                    for t in range(r)]
            st = [0] * N_STATS
            g, sh, cycles, (mn_steps, ema) = commit_unit.commit_scale(
                arch, model.L, model.R, model.sigma, model.pending, (mn_in, ema_in), cfg,
                st)
            edges, rsq = await run_scale(dut, {
                "sigma_i": pack(model.sigma, 64), "b_i": model.pending,
                "lr_mant_i": cfg[Reg.LR_MANT], "lr_shift_i": cfg[Reg.LR_SHIFT],
                "maxnorm_i": cfg[Reg.MAXNORM], "mn_steps_i": mn_in,
                "ema_l_i": ema_in[0], "ema_r_i": ema_in[1], "cmax_i": pack(cmax, f)})
            where = f"iteration {it}: maxnorm {cfg[Reg.MAXNORM]} lr " \
                    f"{cfg[Reg.LR_MANT]}*2^-{cfg[Reg.LR_SHIFT]} B {model.pending}"
            assert list(unpack(int(dut.g_o.value), r, gq, True)) == g, f"{where}: g"
            assert dut.sh_o.value.to_signed() == sh, f"{where}: SH"
            assert edges == cycles, f"{where}: rtl {edges} cycles, model {cycles}"
            assert rsq == st[Stat.RSQRT], f"{where}: rsqrt starts"
            assert int(dut.mn_steps_o.value) == mn_steps, where
            if cfg[Reg.MAXNORM]:
                assert [int(dut.ema_l_o.value), int(dut.ema_r_o.value)] == ema, where
            await FallingEdge(dut.clk_i)


PARAMS = [dict(N_IN=64, N_OUT=10, RANK=4, LANES=8),
          dict(N_IN=11, N_OUT=6, RANK=2, LANES=3, F=12, GW=14),
          dict(N_IN=9, N_OUT=9, RANK=1, LANES=4)]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"{p['N_IN']}x{p['N_OUT']}r{p['RANK']}")
def test_commit_scale(params, cocotb_opts):
    runner.run("commit_scale", params, **cocotb_opts)
