"""Numpy networks trained one sample at a time, with weights in NVM crossbars.

Layers: :class:`Dense`, :class:`Conv2D` (valid 3×3-style, im2col: every output pixel is
one outer-product term, as in the seed), :class:`ReLU`, :class:`MaxPool2`,
:class:`StreamBatchNorm`, :class:`Flatten`, :class:`Expand`; the network that strings
them together, its loss and the two architectures are in :mod:`pysim.network`.

Every array has a leading *job axis*: a network holds the weights, registers,
activations and gradients of J ≥ 1 jobs that run in lockstep (one job while it is
pretrained; :meth:`pysim.network.Network.stack` joins deployed ones), each job's numbers
what they would be alone (tested).

Weights are stored in a :class:`WeightStore`: a float array during offline
pretraining (optionally fake-quantised to the device's levels), a
:class:`~pysim.nvm.Crossbar` after deployment (:meth:`pysim.network.Network.deploy`).
A layer's effective weight is ``alpha · stored`` with a per-layer power-of-two ``alpha``
(the seed's He-style scale), so stored weights use the device range [-w_max, w_max].
Biases (and batch-norm γ, β) sit in 16-bit digital registers in [-8, 8) updated every
sample by SGD (optionally max-normed).

Quantisation (:class:`Quant`): activations on a signed 8-bit grid of step act_max/128
(ReLU outputs use codes 0..127: the int8 the accelerator takes), back-propagated
gradients on an 8-bit grid of step grad_max/128; straight-through estimator.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .arrays import fast_clip
from .nvm import Crossbar, DeviceConfig
from .rules import MaxNorm


@dataclass(frozen=True)
class Quant:
    """Fixed clip ranges and widths of activations, gradients and biases."""

    enabled: bool = True
    act_max: float = 2.0
    grad_max: float = 1.0
    bias_max: float = 8.0
    bias_bits: int = 16
    # Multiplies each affine layer's alpha (the seed's 2**floor(log2 √(6/fan_in))): the
    # weight grid's coarseness, fixed when a layer is built (the weight-grid sweep).
    weight_scale: float = 1.0

    @property
    def act_step(self) -> float:
        return self.act_max / 128

    @property
    def grad_step(self) -> float:
        return self.grad_max / 128

    def act(self, x: np.ndarray) -> np.ndarray:
        if not self.enabled:
            return x
        return fast_clip(np.rint(x / self.act_step), -128, 127) * self.act_step

    def grad(self, g: np.ndarray) -> np.ndarray:
        if not self.enabled:
            return g
        return fast_clip(np.rint(g / self.grad_step), -128, 127) * self.grad_step

    def bias(self, b: np.ndarray) -> np.ndarray:
        if not self.enabled:
            return b
        half = 1 << (self.bias_bits - 1)
        step = self.bias_max / half
        return fast_clip(np.rint(b / step), -half, half - 1) * step


class WeightStore:
    """Float weights (pretraining) or a crossbar (deployed); ``value()`` = stored weights
    (J × n_out × n_in)."""

    def __init__(self, w: np.ndarray):
        self.w = np.asarray(w, dtype=float)
        self.xbar: Crossbar | None = None
        self.fake_quant: Crossbar | None = None

    def value(self) -> np.ndarray:
        if self.xbar is not None:
            return self.xbar.read()
        if self.fake_quant is not None:
            xb = self.fake_quant
            return (xb.quantize(self.w) + (0.5 if xb.device.mid_rise else 0.0)) * xb.lsb
        return self.w

    def deploy(self, device: DeviceConfig, rng: np.random.Generator,
               drift_rng: np.random.Generator | None = None) -> Crossbar:
        """Program one job's weights into a new crossbar (J = 1: deployed jobs join with
        :meth:`pysim.network.Network.stack`)."""
        if self.w.shape[0] != 1:
            raise ValueError(f"deploy one job's weights, not {self.w.shape[0]}: deploy each "
                             "job's network, then stack them")
        self.xbar = Crossbar(device, self.w.shape[1:], rng, drift_rng=drift_rng)
        self.xbar.program(self.w)
        return self.xbar


class Layer:
    trainable_weight = False
    learns = False  # has weights or digital registers that adapt online

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, g: np.ndarray) -> np.ndarray:
        """Gradient w.r.t. the input; keeps the layer's own parameter gradients (affine
        layers take ``input_grad=False`` to skip the input gradient)."""
        raise NotImplementedError

    def update_digital(self, lr: float) -> None:
        """Per-sample SGD of the layer's digital registers (biases, γ, β)."""


class Affine(Layer):
    """Shared part of Dense and Conv2D: weight store, alpha, bias register."""

    trainable_weight = True
    learns = True

    def __init__(self, n_out: int, n_in: int, rng: np.random.Generator, quant: Quant,
                 fan_in: int, max_norm_bias: bool = True):
        # Seed: alpha = 2**floor(log2(sqrt(3·2/fan_in))), weights uniform in [-1, 1].
        self.alpha = quant.weight_scale * 2.0 ** math.floor(math.log2(math.sqrt(6.0 / fan_in)))
        limit = math.sqrt(6.0 / fan_in) / self.alpha
        self.store = WeightStore(rng.uniform(-limit, limit, (1, n_out, n_in)))
        self.b = np.zeros((1, n_out))
        self.quant = quant
        self.bias_norm = MaxNorm() if max_norm_bias else None
        self.terms: tuple[np.ndarray, np.ndarray] | None = None
        self.db = np.zeros((1, n_out))

    @property
    def shape(self) -> tuple[int, int]:
        """(n_out, n_in) of the weight matrix (without the job axis)."""
        return self.store.w.shape[1:]

    def weight(self) -> np.ndarray:
        stored = self.store.value()
        if self.store.xbar is None:
            return self.alpha * stored
        # A deployed crossbar hands out the same read-only array until a cell changes:
        # scale it once per change, not at every forward and backward.
        cached = getattr(self, "_scaled", None)
        if cached is None or cached[0] is not stored:
            scaled = self.alpha * stored
            scaled.flags.writeable = False
            cached = self._scaled = (stored, scaled)
        return cached[1]

    def update_digital(self, lr: float) -> None:
        db = self.db if self.bias_norm is None else self.bias_norm(self.db)
        self.b = self.quant.bias(self.b - lr * db)


class Dense(Affine):
    def __init__(self, n_in: int, n_out: int, rng: np.random.Generator, quant: Quant):
        super().__init__(n_out, n_in, rng, quant, fan_in=n_in)

    def forward(self, x):
        self.x = x
        # One matrix-vector product per job (numpy's matmul loops over the job axis).
        return np.matmul(self.weight(), x[..., None])[..., 0] + self.b

    def backward(self, g, input_grad=True):
        # Weight-gradient terms in stored units: dL/dW_stored = alpha · g x^T (per job:
        # J × 1 × n).
        self.terms = (self.alpha * g[..., None, :], self.x[..., None, :])
        self.db = g
        if not input_grad:
            return None
        return np.matmul(g[:, None, :], self.weight())[:, 0, :]


def im2col(x: np.ndarray, k: int) -> np.ndarray:
    """(..., h, w, c) -> (..., h_out·w_out, k·k·c): the patches of a valid k×k convolution
    of each image (leading axes, such as the job axis, kept)."""
    *lead, h, w, c = x.shape
    ho, wo = h - k + 1, w - k + 1
    *ls, s0, s1, s2 = x.strides
    view = np.lib.stride_tricks.as_strided(x, (*lead, ho, wo, k, k, c),
                                           (*ls, s0, s1, s0, s1, s2), writeable=False)
    return view.reshape(*lead, ho * wo, k * k * c)


def col2im(cols: np.ndarray, shape: tuple[int, ...], k: int) -> np.ndarray:
    """Adjoint of :func:`im2col`: every patch entry added back onto the input position it
    came from (one ``bincount`` over a cached index map: a quarter of a k×k loop's time).
    ``shape`` (J, h, w, c): each job's bins get the same additions in the same order as
    they would alone."""
    jobs, h, w, c = shape
    size = h * w * c
    sources = _patch_sources((h, w, c), k, jobs)
    return np.bincount(sources, weights=cols.reshape(-1),
                       minlength=size * jobs).reshape(shape)


@functools.lru_cache(maxsize=64)
def _patch_sources(shape: tuple[int, int, int], k: int, jobs: int) -> np.ndarray:
    """Flat input index of every entry of ``im2col`` of J inputs of ``shape``, one after
    another (read-only)."""
    size = shape[0] * shape[1] * shape[2]
    sources = np.ascontiguousarray(im2col(np.arange(size).reshape(shape), k)).reshape(-1)
    sources = (sources[None, :] + size * np.arange(jobs)[:, None]).reshape(-1)
    sources.flags.writeable = False
    return sources


class Conv2D(Affine):
    """Valid k×k convolution, stride 1: W is (c_out, k·k·c_in)."""

    def __init__(self, c_in: int, c_out: int, k: int, rng: np.random.Generator, quant: Quant):
        super().__init__(c_out, k * k * c_in, rng, quant, fan_in=k * k * c_in)
        self.k = k

    def forward(self, x):
        self.in_shape = x.shape
        self.cols = im2col(np.ascontiguousarray(x), self.k)
        ho, wo = x.shape[-3] - self.k + 1, x.shape[-2] - self.k + 1
        self.out_hw = (ho, wo)
        w = self.weight()
        return (np.matmul(self.cols, w.transpose(0, 2, 1)) + self.b[:, None, :]).reshape(
            len(x), ho, wo, -1)

    def backward(self, g, input_grad=True):
        dY = g.reshape(len(g), -1, g.shape[-1])
        self.terms = (self.alpha * dY, self.cols)  # one term per output pixel
        self.db = dY.sum(axis=-2)
        if not input_grad:
            return None
        return col2im(np.matmul(dY, self.weight()), self.in_shape, self.k)


class ReLU(Layer):
    def __init__(self, quant: Quant):
        self.quant = quant

    def forward(self, x):
        self.mask = x > 0
        return self.quant.act(np.where(self.mask, x, 0.0))

    def backward(self, g):
        return self.quant.grad(np.where(self.mask, g, 0.0))


class MaxPool2(Layer):
    """2×2 max-pool of (..., h, w, c)."""

    def forward(self, x):
        *lead, h, w, c = x.shape
        self.shape = x.shape
        blocks = x[..., : h // 2 * 2, : w // 2 * 2, :].reshape(*lead, h // 2, 2, w // 2, 2, c)
        out = blocks.max(axis=(-4, -2))
        argmask = blocks == out[..., :, None, :, None, :]
        # Keep one winner per window (ties: the first) so the gradient is not duplicated.
        n = len(lead)
        flat = argmask.transpose(*range(n), n, n + 2, n + 4, n + 1, n + 3).reshape(
            *lead, h // 2, w // 2, c, 4)
        first = np.cumsum(flat, axis=-1) == 1
        self.argmask = (flat & first).reshape(*lead, h // 2, w // 2, c, 2, 2).transpose(
            *range(n), n, n + 3, n + 1, n + 4, n + 2)
        return out

    def backward(self, g):
        *lead, h, w, c = self.shape
        out = np.zeros(self.shape)
        up = self.argmask * g[..., :, None, :, None, :]
        out[..., : h // 2 * 2, : w // 2 * 2, :] = up.reshape(*lead, h // 2 * 2, w // 2 * 2, c)
        return out


class Flatten(Layer):
    """(J, ...) -> (J, n): flattens each job's input."""

    def forward(self, x):
        self.shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, g):
        return g.reshape(self.shape)


class StreamBatchNorm(Layer):
    """Per-channel batch norm with running statistics updated every sample (seed App. E).

    mean and mean-square are EMAs with momentum ``m``; var = E[x²] − mean². γ, β are
    digital registers trained per sample like biases.
    """

    learns = True

    def __init__(self, channels: int, quant: Quant, momentum: float = 0.9, eps: float = 1e-3):
        self.gamma = np.ones((1, channels))
        self.beta = np.zeros((1, channels))
        self.mean = np.zeros((1, channels))
        self.sq = np.ones((1, channels))
        self.m, self.eps, self.quant = momentum, eps, quant
        self.norms = (MaxNorm(), MaxNorm())
        self.track = True

    def _axes(self, x: np.ndarray) -> tuple[int, ...]:
        return tuple(range(1, x.ndim - 1))  # not over the job axis

    def forward(self, x):
        axes = self._axes(x)
        if self.track:
            self.mean = self.m * self.mean + (1 - self.m) * x.mean(axis=axes)
            self.sq = self.m * self.sq + (1 - self.m) * (x ** 2).mean(axis=axes)
        self.std = np.sqrt(np.maximum(self.sq - self.mean ** 2, 0.0) + self.eps)
        self.xhat = (x - self._spread(self.mean, x)) / self._spread(self.std, x)
        return self._spread(self.gamma, x) * self.xhat + self._spread(self.beta, x)

    def _spread(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Per-channel values (J × c) broadcast against ``x``."""
        return v.reshape(len(v), *([1] * (x.ndim - 2)), -1)

    def backward(self, g):
        axes = self._axes(g)
        self.dgamma = (g * self.xhat).sum(axis=axes)
        self.dbeta = g.sum(axis=axes)
        # Running statistics are treated as constants (streaming BN).
        return g * self._spread(self.gamma, g) / self._spread(self.std, g)

    def update_digital(self, lr):
        self.gamma = self.quant.bias(self.gamma - lr * self.norms[0](self.dgamma))
        self.beta = self.quant.bias(self.beta - lr * self.norms[1](self.dbeta))


class Expand(Layer):
    """(h, w) image -> (h, w, 1)."""

    def forward(self, x):
        return x[..., None]

    def backward(self, g):
        return g[..., 0]
