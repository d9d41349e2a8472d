"""A network of :mod:`pysim.nn` layers trained one sample at a time: forward and backward
for one sample (or one per lane), deployment to crossbars, the softmax cross-entropy loss,
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


def softmax_xent(z: np.ndarray, label: int) -> tuple[float, np.ndarray, np.ndarray]:
    """Loss, class probabilities and dL/dz for one sample."""
    e = np.exp(z - z.max())
    p = e / e.sum()
    g = p.copy()
    g[label] -= 1.0
    return float(-math.log(max(p[label], 1e-300))), p, g


def softmax_xent_lanes(z: np.ndarray, labels: np.ndarray
                       ) -> tuple[list[float], np.ndarray, np.ndarray]:
    """:func:`softmax_xent` of one sample per lane (rows of ``z``), row for row the same
    numbers."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    g = p.copy()
    lanes = np.arange(len(z))
    g[lanes, labels] -= 1.0
    return [-math.log(max(v, 1e-300)) for v in p[lanes, labels].tolist()], p, g


class Network:
    """A sequence of layers; ``step`` runs forward and backward for one sample.

    Lanes (:meth:`stack`): L deployed networks of the same shape run as one, every
    activation and gradient with a leading lane axis: ``step`` takes one image and label
    per lane. Each lane computes what its own network computes, bit for bit (tested).
    """

    # Layers that know a leading lane axis.
    LANE_LAYERS = ("Flatten", "Dense", "ReLU", "Conv2D", "MaxPool2", "StreamBatchNorm",
                   "Expand")
    lanes: int | None = None  # a class default: networks pickled before lanes are single

    def __init__(self, layers: list[Layer], quant: Quant):
        self.layers = layers
        self.quant = quant

    @classmethod
    def stack(cls, nets: list[Network]) -> Network:
        """One lane network from deployed networks of the same architecture: each affine
        layer's crossbars stacked into one (:meth:`Crossbar.stack`, the lanes' cells
        copied, their generators shared), its registers stacked."""
        first = nets[0]
        kinds = [type(layer).__name__ for layer in first.layers]
        if any(k not in cls.LANE_LAYERS for k in kinds):
            raise ValueError(f"lanes support the layers {cls.LANE_LAYERS}, not {kinds}")
        if any([type(la).__name__ for la in n.layers] != kinds or n.quant != first.quant
               for n in nets):
            raise ValueError("lanes need networks of one architecture and quantisation")
        layers: list[Layer] = []
        for i, layer in enumerate(first.layers):
            same = [n.layers[i] for n in nets]
            if isinstance(layer, Affine):
                if any(la.store.xbar is None for la in same):
                    raise ValueError("lanes stack deployed networks: deploy each one first")
                if any(la.alpha != layer.alpha for la in same):
                    raise ValueError("lanes need the same layer scales (alpha)")
                lane = copy.copy(layer)
                lane.store = WeightStore(np.stack([la.store.w for la in same]))
                lane.store.xbar = Crossbar.stack([la.store.xbar for la in same])
                lane.b = np.stack([la.b for la in same])
                lane.db = np.zeros_like(lane.b)
                lane.terms = None
                lane._scaled = None
                if layer.bias_norm is not None:
                    lane.bias_norm = MaxNorm.stack([la.bias_norm for la in same])
            elif isinstance(layer, StreamBatchNorm):
                lane = copy.copy(layer)
                for name in ("gamma", "beta", "mean", "sq"):
                    setattr(lane, name, np.stack([getattr(la, name) for la in same]))
                lane.norms = tuple(MaxNorm.stack([la.norms[j] for la in same]) for j in (0, 1))
                lane.lanes = True
            else:
                lane = copy.copy(layer)
                if isinstance(lane, Flatten):
                    lane.lanes = True
            layers.append(lane)
        net = cls(layers, first.quant)
        net.lanes = len(nets)
        return net

    @property
    def affine(self) -> list[Affine]:
        return [layer for layer in self.layers if layer.trainable_weight]

    def forward(self, image: np.ndarray) -> np.ndarray:
        h = self.quant.act(image)
        for layer in self.layers:
            h = layer.forward(h)
        return h

    def predict(self, image: np.ndarray):
        """The predicted class (one per lane: an array)."""
        if self.lanes is not None:
            return np.argmax(self.forward(image), axis=1)
        return int(np.argmax(self.forward(image)))

    def step(self, image: np.ndarray, label):
        """Forward + backward of one sample; leaves each affine layer's ``terms`` and
        bias gradient ready for its update rule. Returns (loss, correct); with lanes
        ``image`` and ``label`` have a lane axis and so do loss and correct."""
        z = self.forward(image)
        if self.lanes is None:
            loss, p, g = softmax_xent(z, label)
            correct = int(np.argmax(p)) == label
        else:
            loss, p, g = softmax_xent_lanes(z, label)
            correct = np.argmax(p, axis=1) == label
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
