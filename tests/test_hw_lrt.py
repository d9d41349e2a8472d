"""Bit-accurate LRT unit (pysim.hw.lrt_unit) against the float level, and its cycle formula."""

import numpy as np
import pytest

from pysim.hw.isa import N_STATS, REG_RESET, Reg, Stat
from pysim.hw.lrt_unit import LrtUnit
from pysim.hw.params import ArchParams
from pysim.hw.timing import update_cycles
from pysim.lrt import LowRankAccumulator


def unit(n_out, n_in, rank=4, mode=0, kappa=0, **arch):
    a = ArchParams(n_in=n_in, n_out=n_out, rank=rank, **arch)
    regs = dict(REG_RESET)
    regs[Reg.MODE], regs[Reg.KAPPA_Q4] = mode, kappa
    return LrtUnit(a), regs, [0] * N_STATS


def hw_matrix(u):
    L, s, R = u.as_float()
    return (L * s) @ R.T


@pytest.mark.parametrize(("n_out", "n_in"), [(10, 64), (64, 256)])
def test_matches_float_lrt_within_2_pow_minus_8(n_out, n_in):
    """Relative Frobenius error after 256 random int8 samples, worst of 3 seeds."""
    worst = 0.0
    for seed in range(3):
        u, regs, st = unit(n_out, n_in)
        ref = LowRankAccumulator(n_out, n_in, 4, kappa_th=np.inf)
        rng = np.random.default_rng(seed)
        for _ in range(256):
            x, dy = rng.integers(-128, 128, n_in), rng.integers(-128, 128, n_out)
            u.update(x, dy, regs, st)
            ref.update(dy.astype(float), x.astype(float))
        M = ref.matrix()
        worst = max(worst, np.linalg.norm(hw_matrix(u) - M) / np.linalg.norm(M))
    print(f"({n_out}, {n_in}) worst relative error {worst:.2e} (2^{np.log2(worst):.1f})")
    assert worst <= 2.0 ** -8


def test_kappa_skip_decisions_match_float():
    u, regs, st = unit(10, 64, kappa=1600)
    ref = LowRankAccumulator(10, 64, 4, kappa_th=100.0)
    rng = np.random.default_rng(7)
    A, B = rng.normal(size=(10, 3)) * 20, rng.normal(size=(64, 3)) * 20
    same = 0
    for _ in range(400):
        # Near-low-rank data: weak new directions, so the κ-skip has work to do.
        x = np.clip(np.rint(B @ rng.normal(size=3) + rng.normal(size=64) * 2), -128, 127)
        dy = np.clip(np.rint(A @ rng.normal(size=3) + rng.normal(size=10) * 2), -128, 127)
        x, dy = x.astype(np.int64), dy.astype(np.int64)
        same += u.update(x, dy, regs, st)[0] == ref.update(dy.astype(float), x.astype(float))
    assert same >= 396  # near-threshold samples may flip; the rest agree
    assert 0 < st[Stat.ABSORBED] < 400


def test_orthonormality_stays_near_lsb_level():
    u, regs, st = unit(10, 64)
    rng = np.random.default_rng(3)
    for _ in range(1024):
        u.update(rng.integers(-128, 128, 64), rng.integers(-128, 128, 10), regs, st)
    L, _, R = u.as_float()
    dev = max(np.abs(L.T @ L - np.eye(4)).max(), np.abs(R.T @ R - np.eye(4)).max())
    assert dev < 2e-3


def test_biased_reproduces_a_rank_2_sum():
    rng = np.random.default_rng(4)
    u1, u2 = rng.integers(-6, 7, 10), rng.integers(-6, 7, 10)
    v1, v2 = rng.integers(-6, 7, 64), rng.integers(-6, 7, 64)
    u, regs, st = unit(10, 64)
    G = np.zeros((10, 64))
    for _ in range(100):
        a, b, c, d = rng.integers(-10, 11, 4)
        dy, x = a * u1 + b * u2, c * v1 + d * v2
        u.update(x, dy, regs, st)
        G += np.outer(dy, x)
    err = np.linalg.norm(hw_matrix(u) - G) / np.linalg.norm(G)
    assert err < 2.0 ** -11


def test_unbiased_mean_over_lfsr_seeds_converges():
    rng = np.random.default_rng(5)
    samples = [(rng.integers(-128, 128, 16), rng.integers(-128, 128, 8)) for _ in range(8)]
    G = sum(np.outer(dy, x) for x, dy in samples).astype(float)
    mats = []
    for seed in range(1, 401):
        u, regs, st = unit(8, 16, rank=2, mode=1)
        u.lfsr = seed * 97 % 65535 + 1
        for x, dy in samples:
            u.update(x, dy, regs, st)
        mats.append(hw_matrix(u))
    mats = np.array(mats)
    e = {n: np.linalg.norm(mats[:n].mean(0) - G) / np.linalg.norm(G) for n in (25, 100, 400)}
    biased, regs, st = unit(8, 16, rank=2)
    for x, dy in samples:
        biased.update(x, dy, regs, st)
    e_biased = np.linalg.norm(hw_matrix(biased) - G) / np.linalg.norm(G)
    assert e[400] < 0.7 * e[25]
    assert e[400] < 0.3 * e_biased


def test_extreme_inputs_saturate_and_stay_in_format():
    u, regs, st = unit(10, 64, kappa=0)
    x, dy = np.full(64, -128), np.full(10, -128)
    for i in range(300):
        u.update(x if i % 2 else -x - 1, dy, regs, st)
    f_lim = 1 << 15
    assert np.abs(u.L).max() <= f_lim and np.abs(u.R).max() <= f_lim
    assert all(0 <= s < 1 << 64 for s in u.sigma)
    M = hw_matrix(u)
    G = 150 * np.outer(dy, x) + 150 * np.outer(dy, -x - 1)
    assert np.linalg.norm(M - G) / np.linalg.norm(G) < 2e-3  # 2.4e6-sized terms cancel to 2e4


def test_sigma_register_saturates_instead_of_wrapping():
    u, regs, st = unit(4, 4, rank=1, sigma_bits=40)
    x, dy = np.full(4, 127), np.full(4, 127)
    for _ in range(2000):
        u.update(x, dy, regs, st)
    assert u.sigma[0] == (1 << 40) - 1


@pytest.mark.parametrize("seed", range(4))
def test_cycle_formula_equals_counted_cycles(seed):
    rng = np.random.default_rng(100 + seed)
    arch = {"lanes": int(rng.choice([1, 3, 8, 16])), "sweeps": int(rng.integers(1, 5))}
    n_out, n_in = int(rng.integers(4, 40)), int(rng.integers(4, 90))
    rank = int(rng.integers(1, min(n_out, n_in, 6) + 1))
    mode, kappa = int(rng.integers(0, 2)), int(rng.choice([0, 1600]))
    u, regs, st = unit(n_out, n_in, rank, mode, kappa, **arch)
    for i in range(60):
        x = rng.integers(-128, 128, n_in) * (i % 13 != 5)  # some zero samples
        dy = rng.integers(-128, 128, n_out)
        before = list(st)
        absorbed, cycles = u.update(x, dy, regs, st)
        rot = st[Stat.ROTATIONS] - before[Stat.ROTATIONS]
        trivial = absorbed and not x.any()
        want = update_cycles(u.a, absorbed, trivial, rot, bool(mode), u.last_k)
        assert 1 + cycles == want, (i, arch, n_out, n_in, rank, mode)


@pytest.mark.parametrize(("f_bits", "gw_bits"), [(16, 20), (14, 20), (12, 12)])
def test_lg_floor_moves_delta_by_less_than_its_bound(f_bits, gw_bits):
    """COMMIT holds Lg_t = floor(L·g_t / 2**D) in 27 bits (docs/hw-spec.md §6): against the
    exact sum Σ L·g·R with SH + D, the count pass's pre-rounding Δk moves by less than
    r·2**(F−1−SH) level steps, so a rounded Δk moves by at most one step and rarely."""
    from pysim.hw import commit_unit

    a = ArchParams(n_in=24, n_out=12, rank=4, f_bits=f_bits, gw_bits=gw_bits)
    d, lim, r = commit_unit.lg_drop(a), 1 << (f_bits - 1), a.rank
    assert d == max(0, f_bits + gw_bits - 1 - 27)
    rng = np.random.default_rng(7)
    moved = 0
    for _ in range(50):
        L, R = (rng.integers(-lim, lim, (n, r + 1)) for n in (a.n_out, a.n_in))
        L[0, 0] = -lim  # the extreme product
        g = sorted(rng.integers(0, 1 << (gw_bits - 1), r).tolist(), reverse=True)
        g[0] = 1 << (gw_bits - 1)
        exact = [[sum(int(L[i, t]) * g[t] * int(R[j, t]) for t in range(r))
                  for j in range(a.n_in)] for i in range(a.n_out)]
        top = max(abs(v) for row in exact for v in row)
        sh = max(d, top.bit_length() - a.w_bits + 1)  # the largest |Δk| near full range
        Lg = (L[:, :r] * np.array(g, np.int64)) >> d
        assert int(Lg.min()) >= -(1 << 26) and int(Lg.max()) < 1 << 26  # 27 signed bits
        acc = Lg @ R[:, :r].T
        bound = r * lim
        for i in range(a.n_out):
            for j in range(a.n_in):
                assert abs(exact[i][j] - (int(acc[i, j]) << d)) < bound << d
        dk, _ = commit_unit.delta_levels(a, L, R, g, sh - d, [0] * N_STATS)
        ref = np.array([[-commit_unit.rshift(v, sh) for v in row] for row in exact])
        ref = np.clip(ref, -(1 << a.w_bits) + 1, (1 << a.w_bits) - 1)
        assert int(np.abs(dk - ref).max()) <= 1
        moved += int(np.count_nonzero(dk != ref))
    print(f"F={f_bits} GW={gw_bits} D={d}: {moved} of {50 * a.n_out * a.n_in} steps moved")
    assert moved <= 50 * a.n_out * a.n_in // 100
