"""Rotation of the factors by the core's T_L, T_R: the specification of ``rtl/rot_unit.v``
(docs/hw-spec.md §5). Factors Q1.(F-1), T Q2.22."""

from __future__ import annotations

import numpy as np

from .fixed import CS, rshift_np, sat_np
from .isa import Stat
from .params import ArchParams
from .passes import PASS_OVH, blocks


def rotate(a: ArchParams, L: np.ndarray, R: np.ndarray, T_L: np.ndarray, T_R: np.ndarray,
           stats: list[int]) -> int:
    """``[L u] <- sat_F(rshift([L u]·T_L, 22))`` and the same for R (r·q MACs per row), in
    place in ``L`` and ``R``; returns the cycles."""
    r, q = a.rank, a.q
    f = a.f_bits
    L[:, :r] = sat_np(rshift_np(L @ T_L, CS), f)
    R[:, :r] = sat_np(rshift_np(R @ T_R, CS), f)
    n_all = a.n_out + a.n_in
    stats[Stat.MACS] += n_all * q * r
    stats[Stat.SRAM_READS] += n_all * q
    stats[Stat.SRAM_WRITES] += n_all * r
    return r * q * (blocks(a.n_out, a.lanes) + blocks(a.n_in, a.lanes)) + 2 * PASS_OVH
