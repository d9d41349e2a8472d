"""Fixed-point primitives of the accelerator, exactly as the RTL builds them.

Integers only. Scalars are Python ``int`` (exact, any width: the RTL declares the
width the spec gives); vectors are ``numpy.int64`` arrays whose ranges the callers
keep below 2**62 (checked by :func:`check_range`).

Rounding everywhere is **round half to even** on right shifts (``rshift``): it has no
bias, so rounding errors do not accumulate linearly over thousands of samples (the
hazard a feasibility study found with round-half-up: docs/fixed-point.md §8). In RTL:
``q = a >>> s; g = a[s-1]; st = |a[s-2:0]; q + (g & (st | q[0]))``.
"""

from __future__ import annotations

import numpy as np

# --- reciprocal square root unit ------------------------------------------------------
RSQ_NORM_W = 32      # normalised operand width (even): tn in [2**30, 2**32)
RSQ_IDX_W = 7        # seed ROM index: top 7 bits of tn, 32..127 -> 96 entries
RSQ_FRAC_W = 16      # interpolation fraction within a ROM segment
RSQ_Y_W = 24         # output fraction bits: y in [2**24, 2**25], value y * 2**-24 in [1, 2]
RSQ_CYCLES = 5       # normalise+ROM, interpolate, 3 Newton multiplies
CS = 22              # fraction bits of c, s, U, V, H, M, T (Q2.22)


def bitlen(a: int) -> int:
    """Number of bits of ``|a|`` (0 for 0): a leading-zero counter in RTL."""
    return abs(int(a)).bit_length()


def rshift(a: int, s: int) -> int:
    """``a / 2**s`` rounded half to even (``s <= 0`` shifts left, exactly)."""
    if s <= 0:
        return a << -s
    q = a >> s
    rem = a - (q << s)
    half = 1 << (s - 1)
    return q + (1 if rem > half or (rem == half and q & 1) else 0)


def rshift_np(a: np.ndarray, s: int) -> np.ndarray:
    """Vector :func:`rshift` on int64 arrays (``|a| < 2**62``; ``s >= 63`` gives 0)."""
    a = np.asarray(a, dtype=np.int64)
    if s <= 0:
        return a << np.int64(-s)
    if s >= 63:
        return np.zeros_like(a)
    q = a >> np.int64(s)
    rem = a & np.int64((1 << s) - 1)
    half = np.int64(1 << (s - 1))
    up = (rem > half) | ((rem == half) & ((q & 1) == 1))
    return q + up.astype(np.int64)


def sat(a: int, width: int) -> int:
    """Saturate to a signed ``width``-bit integer."""
    hi = (1 << (width - 1)) - 1
    return hi if a > hi else (-hi - 1 if a < -hi - 1 else a)


def usat(a: int, width: int) -> int:
    """Saturate to an unsigned ``width``-bit integer (negative -> 0)."""
    hi = (1 << width) - 1
    return hi if a > hi else (0 if a < 0 else a)


def sat_np(a: np.ndarray, width: int) -> np.ndarray:
    hi = (1 << (width - 1)) - 1
    return np.clip(a, -hi - 1, hi).astype(np.int64)


def check_range(a: np.ndarray, width: int, what: str) -> None:
    """Assert a vector intermediate fits ``width`` signed bits (a datapath width in the spec)."""
    if a.size and int(np.max(np.abs(a))) >= (1 << (width - 1)):
        raise OverflowError(f"{what} exceeds its {width}-bit datapath")


def _build_rsqrt_rom() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Seed ROM: per segment of m = tn/2**32 in [idx/128, (idx+1)/128), a chord of
    m**-0.5 lowered by half its maximum sag (minimax-linear), in Q1.24.

    Built with float at import (like a synthesis-time table); the RTL includes the
    same numbers from ``rtl/rsqrt_rom.vh`` (generated and checked by the tests).
    """
    base, slope = [], []
    scale = 1 << RSQ_Y_W
    for idx in range(1 << (RSQ_IDX_W - 2), 1 << RSQ_IDX_W):
        lo, hi = idx / (1 << RSQ_IDX_W), (idx + 1) / (1 << RSQ_IDX_W)
        f_lo, f_hi = lo ** -0.5, hi ** -0.5
        # Max distance between the convex f and its chord, at f'(m) = chord slope.
        k = (f_hi - f_lo) / (hi - lo)
        m_star = (-2.0 * k) ** (-2.0 / 3.0)
        sag = (f_lo + k * (m_star - lo)) - m_star ** -0.5
        base.append(round((f_lo - sag / 2) * scale))
        slope.append(round((f_lo - f_hi) * scale))
    return tuple(base), tuple(slope)


RSQRT_BASE, RSQRT_SLOPE = _build_rsqrt_rom()


def rsqrt(t: int) -> tuple[int, int]:
    """Reciprocal square root: ``t**-0.5 ≈ y * 2**-e`` for an unsigned integer ``t``.

    Returns ``(y, e)`` with ``y`` in [2**24, 2**25] (Q1.24 in [1, 2]) and relative
    error below 2**-22; ``rsqrt(0) = (0, 0)``. Steps (one cycle each, RSQ_CYCLES):

    1. normalise by an even shift ``sh`` so that ``tn = t·2**sh`` is in [2**30, 2**32)
       (right shifts truncate), read the ROM at ``tn[31:25]``;
    2. seed ``y0 = base − (slope · frac) >> 16`` with ``frac = tn[24:9]``;
    3-5. one Newton step ``y1 = y0 · (3 − m·y0²) / 2``: ``sq = rshift(y0², 24)``,
       ``p = rshift(tn[31:6] · sq, 26)``, ``y1 = rshift(y0 · (3·2**24 − p), 25)``.

    ``e = 24 + 16 − sh/2``.
    """
    if t < 0:
        raise ValueError("rsqrt of a negative number")
    if t == 0:
        return 0, 0
    b = t.bit_length()
    sh = RSQ_NORM_W - b
    if sh & 1:
        sh -= 1
    tn = t << sh if sh >= 0 else t >> -sh
    idx = tn >> (RSQ_NORM_W - RSQ_IDX_W)
    frac = (tn >> (RSQ_NORM_W - RSQ_IDX_W - RSQ_FRAC_W)) & ((1 << RSQ_FRAC_W) - 1)
    off = idx - (1 << (RSQ_IDX_W - 2))
    y0 = RSQRT_BASE[off] - ((RSQRT_SLOPE[off] * frac) >> RSQ_FRAC_W)
    sq = rshift(y0 * y0, RSQ_Y_W)                       # m**-1 in Q2.24
    p = rshift((tn >> (RSQ_NORM_W - 26)) * sq, 26)      # m·y0² in Q.24, ≈ 2**24
    y1 = rshift(y0 * (3 * (1 << RSQ_Y_W) - p), RSQ_Y_W + 1)
    return y1, RSQ_Y_W + RSQ_NORM_W // 2 - sh // 2


# --- LFSR --------------------------------------------------------------------------
LFSR_TAPS = 0xB400  # 16-bit Galois, x^16 + x^14 + x^13 + x^11 + 1 (maximal length)


def lfsr_step(state: int) -> tuple[int, int]:
    """One Galois step: returns ``(bit, next_state)``; ``bit`` is the shifted-out LSB."""
    bit = state & 1
    state >>= 1
    if bit:
        state ^= LFSR_TAPS
    return bit, state


# --- small reciprocal table for the unbiased reduction's s1/k --------------------------
RECIP_W = 24


def recip_small(k: int) -> int:
    """``round(2**24 / k)`` for the slot count k (a ROM of RANK entries in RTL)."""
    return (2 * (1 << RECIP_W) + k) // (2 * k)
