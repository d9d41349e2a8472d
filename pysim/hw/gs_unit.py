"""Gram–Schmidt of a sample against the factor's first r columns: the specification of
``rtl/gs_unit.v`` (docs/hw-spec.md §5). Residuals and coefficients are integers in units
of 2**-G input LSB; ``Q`` is Q1.(F-1)."""

from __future__ import annotations

import numpy as np

from .fixed import rshift, rshift_np
from .isa import Stat
from .params import ArchParams
from .passes import PASS_OVH, blocks


def gram_schmidt(a: ArchParams, Q: np.ndarray, v: np.ndarray, stats: list[int]
                 ) -> tuple[list[int], np.ndarray, int, int]:
    """MGS of int8 ``v`` against Q's first r columns (2r+1 vector passes).

    ``res = v << G``; per column j: ``c_j = rshift(Q_j·res, F-1)``,
    ``res -= rshift(Q_j·c_j, F-1)``; then ``norm2 = res·res``.
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
