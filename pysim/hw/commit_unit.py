"""COMMIT arithmetic: the learning-rate scale chain and the Δk passes, the specification
of ``rtl/commit_unit.v`` (docs/hw-spec.md §6)."""

from __future__ import annotations

import numpy as np

from .fixed import RSQ_CYCLES, bitlen, rshift, rshift_np, rsqrt
from .isa import Reg, Stat
from .params import ArchParams
from .passes import PASS_OVH, blocks

EMA_SHIFT = 10      # max-norm tracker: beta = 1 - 2**-10
SCALE_W = 24        # mantissa width of the commit scale chain
LG_BITS = 27        # Lg_t's width: a vector lane's operand b (>= 27 bits), which carries it


def lg_drop(a: ArchParams) -> int:
    """Low bits of ``L_it·g_t`` that ``Lg_t`` drops (floor) to fit LG_BITS signed bits.

    ``0 ≤ g_t ≤ 2**(GW−1)`` and ``|L_it| ≤ 2**(F−1)``, so ``L_it·g_t`` needs F + GW − 1
    signed bits. Flooring moves Δk before its rounding by less than r·2**(F−1−SH) level
    steps: at most r·2**-25 of full-scale factors' step when g_0 is normalised (§6)."""
    return max(0, a.f_bits + a.gw_bits - 1 - LG_BITS)


def mul_norm(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """Multiply two (mantissa, exponent) numbers, renormalise the mantissa to 24 bits."""
    p = a[0] * b[0]
    z = max(0, bitlen(p) - SCALE_W)
    return rshift(p, z), a[1] + b[1] + z


def maxnorm_divisors(a: ArchParams, L: np.ndarray, R: np.ndarray, sigma: list[int],
                     trackers: tuple[int, list[int]], stats: list[int]
                     ) -> tuple[list[int], tuple[int, list[int]]]:
    """Max-norm's divisors ``d_L, d_R``: per side ``cur = max_t max_i |M_it|·sqrt(σ_t)``
    (the column scan and 2r rsqrt), tracked by an EMA (``ema = cur`` on the first max-norm
    commit, then ``ema += (cur − ema)·2**-10``), ``d = max(cur, ema)``; and the trackers
    after this commit. Counts the scan's SRAM reads and the 2r + 1 rsqrt (with d_L·d_R's)."""
    r = a.rank
    mn_steps, ema = trackers[0], list(trackers[1])
    cur = []
    for M in (L, R):
        cmax = [int(np.max(np.abs(M[:, t]))) for t in range(r)]
        roots = []
        for t in range(r):
            ys, es = rsqrt(sigma[t])
            roots.append(rshift(sigma[t] * ys, es))
        cur.append(max(cmax[t] * roots[t] for t in range(r)))
    stats[Stat.RSQRT] += 2 * r + 1
    stats[Stat.SRAM_READS] += r * (a.n_out + a.n_in)
    div = []
    for side in (0, 1):
        if mn_steps == 0:
            ema[side] = cur[side]
        else:
            ema[side] += rshift(cur[side] - ema[side], EMA_SHIFT)
        div.append(max(cur[side], ema[side]))
    return div, (mn_steps + 1, ema)


def commit_scale(a: ArchParams, L: np.ndarray, R: np.ndarray, sigma: list[int], pending: int,
                 trackers: tuple[int, list[int]], regs: dict, stats: list[int]
                 ) -> tuple[list[int], int, int, tuple[int, list[int]]]:
    """Per-rank coefficients ``g_t`` and shift ``SH`` with
    ``Δk_ij = -rshift(sum_t Lg_it R_jt, SH)``, ``Lg_it = floor(L_it·g_t / 2**lg_drop)``
    (docs/hw-spec.md §6), so that
    ``Δk ≈ -lr/sqrt(B) · L_real diag(sigma_real) R_real^T`` with sigma_real in
    LSB_dy·LSB_x units (no max-norm).

    Scale ``lr/sqrt(B)`` or, with max-norm, ``lr·sqrt(B)/(d_L d_R)`` as a 24-bit
    mantissa chain; ``B`` = samples since the last write. ``trackers`` = (max-norm commits
    so far, [ema_L, ema_R]). Returns (g, SH, cycles, the trackers after this commit).
    """
    r = a.rank
    B = pending
    mn_steps, ema = trackers[0], list(trackers[1])
    yb, eb = rsqrt(B)
    scale = (regs[Reg.LR_MANT], -regs[Reg.LR_SHIFT])
    stats[Stat.RSQRT] += 1
    cycles = RSQ_CYCLES
    if regs[Reg.MAXNORM]:
        div, (mn_steps, ema) = maxnorm_divisors(a, L, R, sigma, (mn_steps, ema), stats)
        yd, ed = rsqrt(div[0] * div[1])
        scale = mul_norm(scale, (B, 0))
        scale = mul_norm(scale, (yb, -eb))
        scale = mul_norm(scale, (yd, -ed))
        scale = mul_norm(scale, (yd, -ed))
        vec = r * (blocks(a.n_out, a.lanes) + blocks(a.n_in, a.lanes)) + 2 * PASS_OVH
        cycles += vec + 2 * r * (RSQ_CYCLES + 1) + 4 + RSQ_CYCLES + 4
        stats[Stat.SFU_CYCLES] += cycles - vec
    else:
        scale = mul_norm(scale, (yb, -eb))
        cycles += 1
        stats[Stat.SFU_CYCLES] += cycles
    # Without max-norm, Δk = lr/sqrt(B)·sum_t L_t R_t sigma_t in real units: the
    # factors' 2**-(F-1) and sigma's 2**-2G come off the shift. With max-norm both
    # cancel against the divisors d_L, d_R, which carry the same units.
    units = 0 if regs[Reg.MAXNORM] else 2 * (a.f_bits - 1) + 2 * a.g_bits
    zs = max(0, bitlen(sigma[0]) - SCALE_W)
    sm = [rshift(s, zs) for s in sigma]
    zg = max(0, bitlen(sm[0] * scale[0]) - (a.gw_bits - 1))
    g = [rshift(v * scale[0], zg) for v in sm]
    exponent = scale[1] + zs + zg
    cycles += 2 + r
    stats[Stat.SFU_CYCLES] += 2 + r
    return g, units - exponent - lg_drop(a), cycles, (mn_steps, ema)


def delta_levels(a: ArchParams, L: np.ndarray, R: np.ndarray, g: list[int], sh: int,
                 stats: list[int]) -> tuple[np.ndarray, int]:
    """One commit pass: the level steps ``Δk`` (N_OUT × N_IN), saturated to ±(2**w_bits-1).

    Per row: ``Lg_t = floor(L_it·g_t / 2**lg_drop)`` (ceil(r/P) cycles), then per block of
    P columns r MAC cycles ``Lg_t·R_jt``, all on the vector lanes; ``sh`` is commit_scale's,
    which already counts the dropped bits. Cycles: N_OUT·(ceil(r/P) + r·ceil(N_IN/P)) + PASS_OVH.
    """
    r = a.rank
    Lg = (L[:, :r] * np.array(g, np.int64)) >> lg_drop(a)   # arithmetic: floor
    acc = Lg @ R[:, :r].T
    cap = (1 << a.w_bits) - 1
    if sh >= 0:
        dk = -rshift_np(acc, sh)
    else:
        big = np.abs(acc) > (cap >> -sh)
        dk = -np.where(big, np.sign(acc) * cap, acc << np.int64(-sh))
    dk = np.clip(dk, -cap, cap)
    n_cells = a.n_out * a.n_in
    stats[Stat.MACS] += a.n_out * r + n_cells * r
    stats[Stat.SRAM_READS] += a.n_out * r + n_cells * r
    return dk, a.n_out * (blocks(r, a.lanes) + r * blocks(a.n_in, a.lanes)) + PASS_OVH
