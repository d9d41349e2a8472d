"""The vector unit: P multiply lanes that run every length-n pass of an UPDATE — the
Gram–Schmidt of a sample against a factor, the normalisation of its residual into the
factor's scratch column, and the rotation of ``[Q u]`` by the core's T. The specification
of ``rtl/vec_unit.v`` (docs/hw-spec.md §5, §6).

One side (L with dy over N_OUT rows, or R with x over N_IN rows) per run; a pass over n
elements reads one word of P elements a cycle and takes ``ceil(n/P) + PASS_OVH`` cycles
(:mod:`pysim.hw.passes`). Formats: factors Q1.(F-1); residuals and Gram–Schmidt
coefficients integers in units of 2**-G input LSB; T Q2.22.
"""

from __future__ import annotations

import numpy as np

from .fixed import CS, rshift, rshift_np, sat_np
from .isa import Stat
from .params import ArchParams
from .passes import PASS_OVH, blocks


def res_bits(a: ArchParams, n: int) -> int:
    """Signed width of a residual element of an n-element side: ``|v << G|`` plus the
    growth a (near-)orthonormal projection can add, ``log2(n)/2`` bits, plus 2 guard."""
    return 8 + a.g_bits + ((n - 1).bit_length() + 1) // 2 + 2


def coef_bits(a: ArchParams, n: int) -> int:
    """Signed width of a Gram–Schmidt coefficient: ``|c| <= sum |res_i|`` (|Q| <= 1)."""
    return res_bits(a, n) + (n - 1).bit_length() + 1


def gram_schmidt(a: ArchParams, Q: np.ndarray, v: np.ndarray, stats: list[int]
                 ) -> tuple[list[int], np.ndarray, int, int]:
    """MGS of int8 ``v`` against Q's first r columns (2r+1 vector passes).

    ``res = v << G``; per column j: ``c_j = rshift(Q_j·res, F-1)``,
    ``res -= rshift(Q_j·c_j, F-1)``; then ``norm2 = res·res``.
    Returns ``(coefficients, residual, norm2, cycles)``.
    """
    res = v.astype(np.int64) << np.int64(a.g_bits)
    coef = []
    for j in range(a.rank):
        col = Q[:, j]
        c = rshift(int(col @ res), a.f_bits - 1)
        res = res - rshift_np(col * c, a.f_bits - 1)
        coef.append(c)
    norm2 = int(res @ res)
    n = v.shape[0]
    stats[Stat.MACS] += (2 * a.rank + 1) * n
    stats[Stat.SRAM_READS] += 2 * a.rank * n
    return coef, res, norm2, (2 * a.rank + 1) * (blocks(n, a.lanes) + PASS_OVH)


def normalise(a: ArchParams, res: np.ndarray, y: int, e: int, stats: list[int]
              ) -> tuple[np.ndarray, int]:
    """Unit direction of a residual, ``sat_F(rshift(res·y, e - (F-1)))``, where
    ``y·2**-e`` is the rsqrt of its squared norm; one pass (n MACs, n factor writes).
    Returns ``(column, cycles)``; the column goes into the factor's scratch slot r."""
    n = res.shape[0]
    stats[Stat.MACS] += n
    stats[Stat.SRAM_WRITES] += n
    return sat_np(rshift_np(res * y, e - (a.f_bits - 1)), a.f_bits), blocks(n, a.lanes) + PASS_OVH


def rotate(a: ArchParams, Q: np.ndarray, T: np.ndarray, stats: list[int]) -> int:
    """``Q[:, :r] <- sat_F(rshift([Q u]·T, 22))`` in place (``Q`` is n × q, ``T`` q × r,
    Q2.22); each word of the q columns is read once and its r new words are written
    after their q products (r·q cycles a word). Returns the cycles."""
    r, q = a.rank, a.q
    n = Q.shape[0]
    Q[:, :r] = sat_np(rshift_np(Q @ T, CS), a.f_bits)
    stats[Stat.MACS] += n * q * r
    stats[Stat.SRAM_READS] += n * q
    stats[Stat.SRAM_WRITES] += n * r
    return r * q * blocks(n, a.lanes) + PASS_OVH
