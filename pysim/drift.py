"""Faults over time of a :class:`pysim.nvm.Crossbar`: the analog random walk of its cells'
values and random bit flips of their level codes (:meth:`pysim.nvm.Crossbar.drift`)."""

from __future__ import annotations

import math

import numpy as np

from .arrays import draw_per_job


def drift(xb, steps: int) -> tuple[np.ndarray | None, int]:
    """Advance crossbar ``xb``'s time by ``steps`` samples: analog random walk and bit flips.

    Analog drift adds N(0, (sigma_1m * w_max)**2 * steps / 1e6) to every cell (a
    random walk, so variance is linear in time). Bit flips XOR each code bit with
    probability ``flip_rate_per_1m * steps / 1e6``. Stuck cells do not move. Returns
    the cells' new values (``xb.g``'s shape; None when nothing moves) and the number of
    bit flips; ``xb`` itself is not changed.
    """
    if steps < 0:
        raise ValueError(f"steps must be ≥ 0, got {steps}")
    dev, flips = xb.device, 0
    if not steps or (dev.drift_sigma_per_1m <= 0 and dev.flip_rate_per_1m <= 0):
        return None, 0  # nothing moves
    live = ~xb.stuck
    g = xb.g
    if dev.drift_sigma_per_1m > 0:
        sigma = dev.drift_sigma_per_1m * xb.w_max * math.sqrt(steps / 1e6)
        walk = draw_per_job(xb.drift_rngs, lambda r: r.normal(0.0, sigma, xb.shape))
        g = np.where(live, g + walk, g)
        # A conductance cannot leave the device's physical window.
        lim = xb.level_value(np.array(xb.k_max)) + 0.5 * xb.lsb
        g = np.clip(g, -lim, lim)
    if dev.flip_rate_per_1m > 0:
        p = min(1.0, dev.flip_rate_per_1m * steps / 1e6)
        bits = draw_per_job(xb.drift_rngs, lambda r: r.random((*xb.shape, dev.bits))) < p
        bits &= live[..., None]
        flips = int(bits.sum())
        if flips:
            mask = (bits * (1 << np.arange(dev.bits))).sum(-1)
            codes = xb.quantize(g)  # the levels after this call's walk
            width = 1 << dev.bits
            flipped = ((codes & (width - 1)) ^ mask)
            flipped = np.where(flipped >= width // 2, flipped - width, flipped)
            g = np.where(mask > 0, xb.level_value(flipped), g)
    return g, flips
