"""Data: scikit-learn's embedded digits (default, no download) and MNIST IDX files.

Images are returned as float arrays in [0, 1] of shape (n, h, w) with integer labels.
Splits into offline-train / online / test pools are seeded and stratified-free
(a random permutation), so a seed fixes everything.
"""

from __future__ import annotations

import gzip
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass
class Dataset:
    """Images (n, h, w) in [0, 1] and labels (n,)."""

    images: np.ndarray
    labels: np.ndarray
    name: str = ""

    def __post_init__(self):
        if self.images.ndim != 3 or len(self.images) != len(self.labels):
            raise ValueError(f"images must be (n, h, w) with one label each, got "
                             f"{self.images.shape} and {self.labels.shape}")

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, idx: np.ndarray) -> Dataset:
        return Dataset(self.images[idx], self.labels[idx], self.name)


@dataclass
class Splits:
    train: Dataset
    online: Dataset
    test: Dataset


def load_digits() -> Dataset:
    """scikit-learn's 8×8 digits (1,797 images), shipped inside the package."""
    from sklearn.datasets import load_digits as _load

    d = _load()
    return Dataset(d.images.astype(float) / 16.0, d.target.astype(np.int64), "digits")


def resize(data: Dataset, size: int) -> Dataset:
    """``data`` with every image resampled to ``size`` × ``size`` by bilinear interpolation
    (scipy.ndimage.zoom, order 1, corners aligned), values clipped to [0, 1]. Used to run
    the 8×8 digits at MNIST's 28×28, so a CNN's conv layers have MNIST's pixel counts."""
    from scipy import ndimage

    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"image size must be a positive integer, got {size!r}")
    n, h, w = data.images.shape
    if (h, w) == (size, size):
        return data
    out = np.empty((n, size, size))
    for i, img in enumerate(data.images):
        out[i] = ndimage.zoom(img, (size / h, size / w), order=1, mode="nearest")
    return Dataset(np.clip(out, 0.0, 1.0), data.labels, data.name)


MAX_IDX_BYTES = 1 << 31  # MNIST's largest file is 47 MB; a cap stops /dev/zero or a gzip bomb


def _read_capped(path: Path) -> bytes:
    """A regular file's bytes (``.gz``: decompressed), at most MAX_IDX_BYTES."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO would wait for a writer
    except OSError as exc:
        raise ValueError(f"{path}: cannot read IDX file ({exc.strerror})") from exc
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path}: not a regular file (a directory, FIFO or device); "
                             "point to an IDX file")
        try:
            raw = (gzip.GzipFile(fileobj=fh) if path.suffix == ".gz" else fh).read(
                MAX_IDX_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: cannot read IDX file ({exc})") from exc
    if len(raw) > MAX_IDX_BYTES:
        raise ValueError(f"{path}: more than {MAX_IDX_BYTES} bytes; not an IDX data file")
    return raw


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (raw or ``.gz``) into an array of its declared type and shape."""
    path = Path(path)
    raw = _read_capped(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    dtype, ndim = raw[2], raw[3]
    if dtype not in _IDX_TYPES or ndim == 0:
        raise ValueError(f"{path}: unsupported IDX type 0x{dtype:02x} or {ndim} dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: IDX header cut short")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dt = np.dtype(_IDX_TYPES[dtype])
    need = int(np.prod(shape)) * dt.itemsize
    if len(raw) - header != need:
        raise ValueError(f"{path}: IDX body has {len(raw) - header} bytes, shape {shape} "
                         f"needs {need}")
    return np.frombuffer(raw, dt, offset=header).reshape(shape)


def load_mnist(images: str | Path, labels: str | Path) -> Dataset:
    """MNIST from a pair of IDX files a user points to (e.g. train-images-idx3-ubyte.gz)."""
    x, y = read_idx(images), read_idx(labels)
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
        raise ValueError(f"MNIST files disagree: images {x.shape}, labels {y.shape}")
    if x.dtype != np.uint8:
        raise ValueError(f"{images}: MNIST images are unsigned bytes (IDX type 0x08), got "
                         f"{x.dtype}")
    if y.dtype.kind not in "iu" or (len(y) and not (y.min() >= 0 and y.max() < 10)):
        raise ValueError(f"{labels}: MNIST labels are integers 0..9, got {y.dtype} values "
                         f"{y.min() if len(y) else ''}..{y.max() if len(y) else ''}")
    return Dataset(x.astype(float) / 255.0, y.astype(np.int64), "mnist")


def split(data: Dataset, n_train: int, n_test: int, rng: np.random.Generator) -> Splits:
    """Random offline-train / online / test pools; the online pool gets the rest."""
    if n_train < 1 or n_test < 1 or n_train + n_test >= len(data):
        raise ValueError(f"cannot split {len(data)} samples into train {n_train}, "
                         f"test {n_test} and a non-empty online pool")
    perm = rng.permutation(len(data))
    return Splits(data.subset(perm[:n_train]), data.subset(perm[n_train + n_test:]),
                  data.subset(perm[n_train:n_train + n_test]))
