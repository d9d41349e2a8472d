"""The data splits of a study and its offline pretraining (float SGD, then
quantisation-aware epochs), cached by a digest of everything pretraining depends on."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from .. import data as data_mod
from ..config import ConfigError
from ..network import Network, build
from ..nvm import DeviceConfig
from ..store import load_or_none, load_state, save_state
from .jobstore import digest
from .schema import ExperimentCfg

# The kind of a pretrained network's state file; v2: arrays carry the job axis (a file of
# v1 is not read, the network is pretrained again).
PRETRAINED_KIND = "pretrained-network-v2"


def load_splits(cfg: ExperimentCfg, seed: int) -> data_mod.Splits:
    d = cfg.data
    if d.dataset == "digits":
        ds = data_mod.load_digits()
    else:
        ds = data_mod.load_mnist(d.mnist_images, d.mnist_labels)
    if d.image_size is not None:
        ds = data_mod.resize(ds, d.image_size)
    return data_mod.split(ds, d.n_train, d.n_test, np.random.default_rng([seed, 0]))


def check_classes(cfg: ExperimentCfg, splits: data_mod.Splits) -> None:
    """Every class a segment streams must be in the online pool and the test split (a
    user's MNIST files may lack some; the config check knows only the label range)."""
    for i, seg in enumerate(cfg.scenario.segments):
        for j, c in enumerate(seg.get("classes", [])):
            for pool, part in (("online", splits.online), ("test", splits.test)):
                if not np.any(part.labels == c):
                    raise ConfigError(cfg.name, f"scenario.segments[{i}].classes[{j}]", c,
                                      f"the {cfg.data.dataset} data's {pool} split has no "
                                      "image of this class", "stream classes the data has")


def pretrain(cfg: ExperimentCfg, seed: int, splits: data_mod.Splits,
             device: DeviceConfig) -> Network:
    """Float per-sample SGD, then ``qat_epochs`` at a fifth of the rate with weights
    fake-quantised to the device and activations/gradients on their 8-bit grids."""
    rng = np.random.default_rng([seed, 2])
    net = build(cfg.network, rng, cfg.quant.make(enabled=False), splits.train.images.shape[1:])
    from ..nvm import Crossbar

    p = cfg.pretrain
    for epoch in range(p.epochs + p.qat_epochs):
        if epoch == p.epochs:
            net.set_quant(cfg.quant.make())
            for layer in net.affine:
                clean = dataclasses.replace(device, write_noise_lsb=0.0, drift_sigma_per_1m=0.0,
                                            flip_rate_per_1m=0.0, stuck_fraction=0.0)
                layer.store.fake_quant = Crossbar(clean, layer.shape)
        lr = p.lr * (0.5 ** (min(epoch, p.epochs) / max(1, p.epochs / 3)))
        if epoch >= p.epochs:
            lr /= 5
        for i in rng.permutation(len(splits.train)):
            net.step(splits.train.images[i][None], splits.train.labels[i:i + 1])
            for layer in net.affine:
                dY, X = layer.terms
                layer.store.w -= lr * np.matmul(dY.transpose(0, 2, 1), X)
                layer.store.w = np.clip(layer.store.w, -device.w_max, device.w_max)
            for layer in net.layers:
                layer.update_digital(lr)
    for layer in net.affine:
        layer.store.fake_quant = None
    net.set_quant(cfg.quant.make())
    return net


def cached_pretrain(cfg: ExperimentCfg, seed: int, splits, device, cache: Path) -> Network:
    """The pretrained network of ``seed``, from folder ``cache`` if it is there (its file
    name hashes everything pretraining depends on, so studies can share the folder)."""
    key = digest([cfg.network, cfg.data.key(), dataclasses.asdict(cfg.pretrain),
                   dataclasses.asdict(cfg.quant), cfg.device, cfg.bits, seed])[:12]
    path = cache / f"{cfg.network}-{key}.npz"
    net = load_or_none(lambda p: load_state(p, PRETRAINED_KIND), path)
    if net is not None:
        return net
    net = pretrain(cfg, seed, splits, device)
    save_state(path, net, PRETRAINED_KIND)
    return net
