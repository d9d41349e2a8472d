"""cocotb bench of rtl/core_svd.v against LrtUnit.core/jacobi/post/sort (pysim.hw).

Stimulus: the (a, b, sigma) operands a real LRT stream hands the core (random int8
samples through the model), plus random operands with zeros, ties and extremes.
Covered: block exponent, skipped and applied rotations, flushed columns, sort ties,
saturation widths, the cycle count of every phase.
"""

from __future__ import annotations

import cocotb
import pytest
from harness import runner
from harness.bench import each_seed, pack, scrambler, start_and_wait, unpack


def operands(arch, rng, n):
    """Core operands recorded from an LRT stream, then random ones."""
    from pysim.hw.isa import N_STATS, REG_RESET, Reg
    from pysim.hw.lrt_unit import LrtUnit

    unit = LrtUnit(arch)
    regs = dict(REG_RESET)
    regs[Reg.KAPPA_Q4] = 0
    seen = []
    real_core = unit.core

    def recording(av, bv):
        seen.append((list(av), list(bv), list(unit.sigma)))
        return real_core(av, bv)

    unit.core = recording
    st = [0] * N_STATS
    while len(seen) < n // 2:
        unit.update(rng.integers(-128, 128, arch.n_in), rng.integers(-128, 128, arch.n_out),
                    regs, st)
    q = arch.q
    while len(seen) < n:
        scale = int(rng.choice([1, 1 << 8, 1 << 20]))
        a = [int(v) for v in rng.integers(-scale, scale + 1, q)]
        b = [int(v) for v in rng.integers(-scale, scale + 1, q)]
        sig = sorted((int(v) for v in rng.integers(0, 1 << int(rng.integers(1, 50)), q - 1)),
                     reverse=True)
        if rng.random() < 0.2:
            sig = [0] * (q - 1)
        if rng.random() < 0.2:
            a[-1] = 0
        seen.append((a, b, sig))
    return seen


@cocotb.test()
async def matches_golden_model(dut):
    from pysim.hw.isa import N_STATS, Stat
    from pysim.hw.lrt_unit import LrtUnit
    from pysim.hw.rtl import arch_of

    arch = arch_of(runner.params(), n_in=16, n_out=8)  # the core's size is q, not n
    q = arch.q
    async for rng in each_seed(dut, {"start_i": 0, "a_i": 0, "b_i": 0, "sigma_i": 0,
                                     "s2_x_i": 0}):
        for i, (a, b, sig) in enumerate(operands(arch, rng, runner.iterations(60))):
            model = LrtUnit(arch)
            model.sigma = list(sig)
            st = [0] * N_STATS
            A, E, c1 = model.core(a, b)
            A, V, c2 = model.jacobi(A, st)
            sv, U, c3 = model.post(A, st)
            order, c4 = model.sort(sv)
            # Every other set: the operand inputs change every cycle after start; the
            # results must still be those of the operands latched at start.
            noise = scrambler(dut, rng, ("a_i", "b_i", "sigma_i")) if i % 2 else None
            edges = await start_and_wait(dut, {"a_i": pack(a, 32), "b_i": pack(b, 32),
                                               "sigma_i": pack(sig, 64)}, each_cycle=noise)
            where = f"operand set {i} a={a} b={b} sigma={sig}"
            assert int(dut.e_o.value) == E, where
            assert int(dut.rotations_o.value) == st[Stat.ROTATIONS], where
            flat_v, flat_u = [v for row in V for v in row], [v for row in U for v in row]
            assert list(unpack(int(dut.v_o.value), q * q, 24, True)) == flat_v, where
            assert list(unpack(int(dut.u_o.value), q * q, 24, True)) == flat_u, where
            assert list(unpack(int(dut.sig_o.value), q, 32, False)) == sv, where
            assert list(unpack(int(dut.order_o.value), q, 4, False)) == order, where
            assert edges == c1 + c2 + c3 + c4, f"{where}: rtl {edges} cycles, spec " \
                f"{c1 + c2 + c3 + c4}"


# RANK 6: q - 1 > RSQ, so the flush test's maximum takes q - 1 comparators, not the scan.
PARAMS = [dict(RANK=4, WC=24, SWEEPS=4), dict(RANK=2, WC=20, SWEEPS=3),
          dict(RANK=3, WC=20, SWEEPS=2), dict(RANK=6, WC=20, SWEEPS=2)]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"r{p['RANK']}S{p['SWEEPS']}")
def test_core_svd(params, cocotb_opts):
    runner.run("core_svd", params, **cocotb_opts)
