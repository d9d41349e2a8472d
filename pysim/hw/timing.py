"""Closed-form cycle counts of every command (docs/hw-spec.md §7).

Written from the spec, independently of the step-by-step counting in the model, so
that the tests can check one against the other. Data-dependent terms (κ-skip, Jacobi
rotations applied, the unbiased slot count k, rows written) are arguments.
"""

from __future__ import annotations

from .fixed import RSQ_CYCLES as RSQ
from .params import ArchParams
from .passes import PASS_OVH as OVH
from .passes import SCALAR_MULS as SM
from .passes import blocks


def _b(a: ArchParams) -> tuple[int, int]:
    return blocks(a.n_out, a.lanes), blocks(a.n_in, a.lanes)


def update_cycles(a: ArchParams, absorbed: bool, trivial: bool = False, rotations: int = 0,
                  unbiased: bool = False, k: int | None = None) -> int:
    """UPDATE: decode + Gram-Schmidt + norms + κ test [+ the fold when absorbed]."""
    r, q = a.rank, a.q
    bo, bi = _b(a)
    cycles = 1 + (2 * r + 1) * (bo + bi + 2 * OVH) + RSQ + 5
    if not absorbed or trivial:
        return cycles
    pairs = q * (q - 1) // 2
    cycles += bo + bi + 2 * OVH                                    # normalise
    cycles += 3 + blocks(q * q, SM)                                # core
    cycles += a.sweeps * pairs * (blocks(3 * q, SM) + 4)           # Jacobi dots + tests
    cycles += rotations * (5 + 2 * RSQ + blocks(8 * q, SM))        # rotations applied
    cycles += blocks(q * q, SM) + 3 + q * (RSQ + 1)                # sigma, U
    cycles += pairs                                                # sort
    cycles += 1                                                    # hand-off to rotation
    if unbiased:
        cycles += 1 + q + r + 1                                    # hand-off, signs, m
        if k is not None:
            cycles += ((k + 3) * (RSQ + 1) + 3 + k * (2 + blocks(k + 1, SM))
                       + q * k * (k + 1))
    cycles += r * q * (bo + bi) + 2 * OVH                          # rotate L, R
    return cycles + 1                                              # write-back


def update_lower_bound(a: ArchParams) -> int:
    """Cycles an absorbed UPDATE needs at least on ``a.lanes`` multipliers: the
    length-n work alone — Gram–Schmidt (r coefficients, r subtractions, one norm per
    side), normalising both new columns, and rotating the r·q factor columns — with every
    lane busy every cycle, no pass overhead, no rsqrt latency and a free (q×q) core SVD.
    Measured cycles over this bound is what the schedule's overheads cost.
    """
    n = a.n_in + a.n_out
    macs = (2 * a.rank + 1) * n + n + a.rank * a.q * n
    return -(-macs // a.lanes)


def commit_cycles(a: ArchParams, maxnorm: bool, written: bool, rows_written: int = 0,
                  wlat: int = 0) -> int:
    """COMMIT: decode + scale + count pass [+ write pass, NVM latency, factor clear]."""
    r, p = a.rank, a.lanes
    bo, bi = _b(a)
    scale = RSQ + 2 + r
    if maxnorm:
        scale += r * (bo + bi) + 2 * OVH + 2 * r * (RSQ + 1) + 8 + RSQ
    else:
        scale += 1
    one_pass = a.n_out * (blocks(r, p) + r * bi) + OVH
    cycles = 1 + scale + one_pass
    if written:
        cycles += one_pass + rows_written * wlat + bo + bi
    return cycles


def infer_cycles(a: ArchParams) -> int:
    return 1 + a.n_out * _b(a)[1] + OVH


def row_cycles(a: ArchParams, wlat: int = 0) -> int:
    """LOAD_W (``wlat`` when a cell changed), READ_W, READ_WCNT, INJECT, SET_STUCK."""
    return 1 + _b(a)[1] + wlat


def reset_cycles(a: ArchParams) -> int:
    return 1 + sum(_b(a))


SIMPLE_CYCLES = 1  # NOP, SET_CFG, GET_CFG, READ_STATS, CLEAR_STATS, READ_LRT, any error
