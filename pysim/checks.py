"""Argument checks at the float model's public edges: real, finite, bounded numbers.

Every check raises before any state changes and names the argument, so a bad call
leaves the accumulator, the rule and the crossbar as they were. Bounded: an entry above
:data:`MAX_ENTRY` (2**250) would let a term's norms, their product or the spectrum's
sum overflow float64 (2**1024) and turn the state into inf/NaN without an error; no
gradient, activation or weight comes anywhere near it.
"""

from __future__ import annotations

import math

import numpy as np

MAX_ENTRY = 2.0 ** 250


def real_array(value, name: str) -> np.ndarray:
    """``value`` as a float64 array of finite real entries ≤ MAX_ENTRY in magnitude.

    Complex, boolean, string and object arrays are refused (numpy would drop an
    imaginary part with only a warning, and read ``True`` as 1.0).
    """
    a = np.asarray(value)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    a = a.astype(float, copy=False)
    if a.size:
        # One pass gives both tests: NaN and ±inf make the maximum non-finite.
        top = float(np.abs(a).max())
        if not top <= MAX_ENTRY:
            if math.isfinite(top):
                raise OverflowError(f"{name} has entries up to {top:.3g}: its products "
                                    f"would overflow float64 (limit {MAX_ENTRY:.3g}); "
                                    "scale it down")
            raise ValueError(f"{name} contains NaN or inf")
    return a


def real_scalar(value, name: str, lo: float | None = None, lo_open: bool = False,
                hi: float | None = None, allow_inf: bool = False) -> float:
    """``value`` as a float: a real number (Python or numpy, not a bool), not NaN, finite
    unless ``allow_inf``, within ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                    np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r} "
                        f"({type(value).__name__})")
    v = float(value)
    if math.isnan(v):
        raise ValueError(f"{name} must be a number, got NaN")
    if math.isinf(v) and not allow_inf:
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise ValueError(f"{name} must be {'>' if lo_open else '≥'} {lo}, got {value!r}")
    if hi is not None and v > hi:
        raise ValueError(f"{name} must be ≤ {hi}, got {value!r}")
    return v
