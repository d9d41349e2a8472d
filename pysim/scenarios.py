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


def validate_segments(segments, source: str) -> None:
    """Raise ConfigError on an unknown transform or a bad value."""
    from .config import ConfigError

    if not isinstance(segments, list) or not segments:
        raise ConfigError(source, "scenario.segments", segments, "must be a non-empty list",
                          "give a list of transform mappings, e.g. [{rotate: 0}, {rotate: 20}]")
    for i, seg in enumerate(segments):
        where = f"scenario.segments[{i}]"
        if not isinstance(seg, dict):
            raise ConfigError(source, where, seg, "must be a mapping", "e.g. {rotate: 20}")
        for key, val in seg.items():
            if key not in KNOWN:
                raise ConfigError(source, f"{where}.{key}", val, "unknown transform",
                                  f"use one of {sorted(KNOWN)}")
            if key == "classes":
                if not (isinstance(val, list) and val and all(isinstance(v, int) for v in val)):
                    raise ConfigError(source, f"{where}.classes", val,
                                      "must be a non-empty list of labels", "e.g. [0, 1, 2]")
            elif key == "shift":
                if not (isinstance(val, list) and len(val) == 2):
                    raise ConfigError(source, f"{where}.shift", val, "must be [dy, dx]",
                                      "e.g. [1, -1]")
            elif isinstance(val, bool) or not isinstance(val, (int, float)):
                raise ConfigError(source, f"{where}.{key}", val, "must be a number",
                                  "write a number")
            elif key in ("scale", "contrast") and val <= 0:
                raise ConfigError(source, f"{where}.{key}", val, "must be > 0",
                                  "use a positive factor")
            elif key == "noise" and val < 0:
                raise ConfigError(source, f"{where}.noise", val, "must be ≥ 0",
                                  "use a non-negative std")
