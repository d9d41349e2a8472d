"""Small array helpers of the per-sample hot paths, shared by the crossbar model and the
update rules."""

from __future__ import annotations

import numpy as np


def draw_per_job(rngs: list, draw) -> np.ndarray:
    """``draw(rng)`` of each job's generator in ``rngs``, stacked on a leading job axis:
    what each job would draw alone."""
    return np.stack([draw(r) for r in rngs])


def fast_clip(x: np.ndarray, lo, hi) -> np.ndarray:
    """``np.clip`` for the per-sample hot paths (quantisers, level codes, rule updates):
    minimum/maximum skip its call overhead on small arrays; ``np.clip`` itself is the
    faster one from a few thousand elements (a 64×64 layer) on."""
    if np.size(x) > 2048:
        return np.clip(x, lo, hi)
    return np.minimum(np.maximum(x, lo), hi)


def popcount(a: np.ndarray) -> np.ndarray:
    """Set bits of each element of non-negative integer array ``a``."""
    a = a.astype(np.uint64)
    count = np.zeros(a.shape, np.int64)
    while np.any(a):
        count += (a & np.uint64(1)).astype(np.int64)
        a >>= np.uint64(1)
    return count


def read_only(a: np.ndarray) -> np.ndarray:
    """``a``, made read-only (a cached view callers must not write through)."""
    a.flags.writeable = False
    return a
