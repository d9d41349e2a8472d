"""Distribution shifts of the online stream (the seed's scenarios, on small images).

A shift schedule is a list of segments; the stream moves to the next segment every
``every`` samples (cycling). Each segment is a mapping of transforms applied to every
image of that segment (training stream and test evaluation alike):

* ``rotate`` (degrees), ``scale`` (zoom about the centre), ``shift`` ([dy, dx] pixels);
* ``gradient`` (amplitude of a background ramp) with ``contrast`` (factor on the digit);
* ``noise`` (std of white noise, image units);
* ``classes`` (the stream draws only these labels: class-distribution clustering).

Pixel values stay in [0, 1].
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..config import ConfigError, check_value, item

KNOWN = {"rotate", "scale", "shift", "gradient", "contrast", "noise", "classes"}


def transform(image: np.ndarray, seg: dict, rng: np.random.Generator) -> np.ndarray:
    """Apply one segment's transforms to one image."""
    x = image
    if seg.get("scale", 1.0) != 1.0:
        s = float(seg["scale"])
        c = (np.array(x.shape) - 1) / 2.0
        x = ndimage.affine_transform(x, np.eye(2) / s, offset=c - c / s, order=1)
    if seg.get("rotate", 0.0):
        x = ndimage.rotate(x, float(seg["rotate"]), reshape=False, order=1)
    if "shift" in seg:
        x = ndimage.shift(x, seg["shift"], order=1)
    if seg.get("gradient", 0.0) or seg.get("contrast", 1.0) != 1.0:
        ramp = np.linspace(0.0, 1.0, x.shape[1])[None, :] * float(seg.get("gradient", 0.0))
        x = x * float(seg.get("contrast", 1.0)) + ramp
    if seg.get("noise", 0.0):
        x = x + rng.normal(0.0, float(seg["noise"]), x.shape)
    return np.clip(x, 0.0, 1.0)


# What each transform takes (checked by pysim.config.check_value, entry by entry).
def _number(lo=None, lo_open=False, fix="write a finite number"):
    return item(kind=float, lo=lo, lo_open=lo_open, fix=fix)


_SPECS = {
    "rotate": _number(),
    "scale": _number(0.0, True, "use a positive factor"),
    "gradient": _number(),
    "contrast": _number(0.0, True, "use a positive factor"),
    "noise": _number(0.0, False, "use a non-negative std"),
    "shift": item(kind=list, fix="write [dy, dx] in pixels, e.g. [1, -1]", item=_number()),
    "classes": item(kind=list, fix="list labels, e.g. [0, 1, 2]", unique=True,
                    item=item(kind=int, lo=0, fix="labels are integers ≥ 0")),
}


def validate_segments(segments, source: str, where: str = "scenario.segments") -> list:
    """Raise ConfigError on an unknown transform or a bad value, naming it
    (``scenario.segments[1].shift[0]``); return the checked segments."""
    if not isinstance(segments, list) or not segments:
        raise ConfigError(source, where, segments, "must be a non-empty list",
                          "give a list of transform mappings, e.g. [{rotate: 0}, {rotate: 20}]")
    for i, seg in enumerate(segments):
        at = f"{where}[{i}]"
        if not isinstance(seg, dict):
            raise ConfigError(source, at, seg, "must be a mapping", "e.g. {rotate: 20}")
        for key, val in seg.items():
            if key not in KNOWN:
                raise ConfigError(source, f"{at}.{key}", val, "unknown transform",
                                  f"use one of {sorted(KNOWN)}")
            check_value(source, f"{at}.{key}", val, _SPECS[key])
            if key == "shift" and len(val) != 2:
                raise ConfigError(source, f"{at}.shift", val, "must be [dy, dx]",
                                  "e.g. [1, -1]")
    return segments
