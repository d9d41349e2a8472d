"""A network of :mod:`pysim.nn` layers trained one sample at a time: forward and backward
for one sample per job, deployment to crossbars, the softmax cross-entropy loss,
and the two architectures (:func:`build`: ``mlp``, ``cnn``)."""

from __future__ import annotations

import copy
import math

import numpy as np

from .nn import (
    Affine,
    Conv2D,
    Dense,
    Expand,
    Flatten,
    Layer,
    MaxPool2,
    Quant,
    ReLU,
    StreamBatchNorm,
    WeightStore,
)
from .nvm import Crossbar, DeviceConfig
from .rules import MaxNorm


def softmax_xent(z: np.ndarray, labels: np.ndarray
                 ) -> tuple[list[float], np.ndarray, np.ndarray]:
    """Loss, class probabilities and dL/dz of one sample per job (rows of ``z``; ``labels``
    one per job)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    g = p.copy()
    jobs = np.arange(len(z))
    g[jobs, labels] -= 1.0
    return [-math.log(max(v, 1e-300)) for v in p[jobs, labels].tolist()], p, g


class Network:
    """A sequence of layers; ``step`` runs forward and backward for one sample per job.

    Every activation and gradient has a leading job axis: a built network is one job
    (J = 1); :meth:`stack` joins deployed networks of one architecture into one that runs
    their jobs in lockstep, each job computing what it would alone, bit for bit (tested).
    """

    def __init__(self, layers: list[Layer], quant: Quant, jobs: int = 1):
        self.layers = layers
        self.quant = quant
        self.jobs = jobs

    @classmethod
    def stack(cls, nets: list[Network]) -> Network:
        """One network of the jobs of deployed networks ``nets`` of one architecture, in
        order: each affine layer's crossbars stacked into one (:meth:`Crossbar.stack`,
        the cells copied, the generators shared), its registers joined."""
        first = nets[0]
        kinds = [type(layer).__name__ for layer in first.layers]
        if any([type(la).__name__ for la in n.layers] != kinds or n.quant != first.quant
               for n in nets):
            raise ValueError("stacked networks must share their architecture and "
                             "quantisation")
        layers = [_stacked_layer(layer, [n.layers[i] for n in nets])
                  for i, layer in enumerate(first.layers)]
        return cls(layers, first.quant, sum(n.jobs for n in nets))

    @property
    def affine(self) -> list[Affine]:
        return [layer for layer in self.layers if layer.trainable_weight]

    def forward(self, image: np.ndarray) -> np.ndarray:
        h = self.quant.act(image)
        for layer in self.layers:
            h = layer.forward(h)
        return h

    def predict(self, images: np.ndarray) -> np.ndarray:
        """The predicted class of each job's image (``images``: J × image)."""
        return np.argmax(self.forward(images), axis=1)

    def step(self, images: np.ndarray, labels: np.ndarray):
        """Forward + backward of one sample per job (``images``: J × image, ``labels``: J);
        leaves each affine layer's ``terms`` and bias gradient ready for its update rule.
        Returns (losses, correct), one per job."""
        z = self.forward(images)
        loss, p, g = softmax_xent(z, labels)
        correct = np.argmax(p, axis=1) == labels
        g = self.quant.grad(g)
        # Back-propagate down to the first layer that learns; below it nothing needs a
        # gradient (the first conv layer's col2im alone is a tenth of a CNN step).
        first = next((i for i, layer in enumerate(self.layers) if layer.learns),
                     len(self.layers))
        for layer in reversed(self.layers[first + 1:]):
            g = layer.backward(g)
        if first < len(self.layers):
            bottom = self.layers[first]
            if bottom.trainable_weight:
                bottom.backward(g, input_grad=False)
            else:
                bottom.backward(g)
        return loss, correct

    def deploy(self, device: DeviceConfig, rng: np.random.Generator,
               drift_rng: np.random.Generator | None = None) -> list[Crossbar]:
        """Program every affine layer's weights into a crossbar of ``device`` (``rng``:
        write noise and stuck cells; ``drift_rng``, if given, drift: see Crossbar)."""
        return [layer.store.deploy(device, rng, drift_rng) for layer in self.affine]

    def set_quant(self, quant: Quant) -> None:
        """Switch activation/gradient/bias quantisation (float pretraining, then QAT)."""
        self.quant = quant
        for layer in self.layers:
            if hasattr(layer, "quant"):
                layer.quant = quant

    def set_tracking(self, on: bool) -> None:
        for layer in self.layers:
            if isinstance(layer, StreamBatchNorm):
                layer.track = on


def build(arch: str, rng: np.random.Generator, quant: Quant, image_shape=(8, 8),
          n_classes: int = 10) -> Network:
    """``mlp``: 64-64-10 (input flattened); ``cnn``: conv3×3 1→8, ReLU, conv3×3 8→16,
    streaming BN, ReLU, 2×2 max-pool, dense → 10."""
    h, w = image_shape
    if arch == "mlp":
        layers = [Flatten(), Dense(h * w, 64, rng, quant), ReLU(quant),
                  Dense(64, n_classes, rng, quant)]
    elif arch == "cnn":
        ho, wo = (h - 4) // 2, (w - 4) // 2
        layers = [Expand(), Conv2D(1, 8, 3, rng, quant), ReLU(quant),
                  Conv2D(8, 16, 3, rng, quant), StreamBatchNorm(16, quant), ReLU(quant),
                  MaxPool2(), Flatten(), Dense(ho * wo * 16, n_classes, rng, quant)]
    else:
        raise ValueError(f"unknown network {arch!r}; use 'mlp' or 'cnn'")
    return Network(layers, quant)


def _stacked_layer(layer: Layer, same: list[Layer]) -> Layer:
    """Layer ``layer`` of the stacked network: its copies ``same`` in the networks joined,
    their weights, crossbars and registers joined on the job axis."""
    out = copy.copy(layer)
    if isinstance(layer, Affine):
        if any(la.store.xbar is None for la in same):
            raise ValueError("stack deployed networks: deploy each one first")
        if any(la.alpha != layer.alpha for la in same):
            raise ValueError("stacked networks need the same layer scales (alpha)")
        out.store = WeightStore(np.concatenate([la.store.w for la in same]))
        out.store.xbar = Crossbar.stack([la.store.xbar for la in same])
        out.b = np.concatenate([la.b for la in same])
        out.db = np.zeros_like(out.b)
        out.terms = None
        out._scaled = None
        if layer.bias_norm is not None:
            out.bias_norm = MaxNorm.stack([la.bias_norm for la in same])
    elif isinstance(layer, StreamBatchNorm):
        for name in ("gamma", "beta", "mean", "sq"):
            setattr(out, name, np.concatenate([getattr(la, name) for la in same]))
        out.norms = tuple(MaxNorm.stack([la.norms[j] for la in same]) for j in (0, 1))
    return out
