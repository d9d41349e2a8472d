"""Online-adaptation experiments: configuration, one job, checkpoints, the whole study.

A study (`configs/experiments/*.yaml`) pretrains a network offline on the train pool
(float, per-sample SGD, quantisation-aware at the end), deploys it to NVM crossbars,
then streams samples from the online pool at batch size 1 with supervised feedback
while the scenario shifts the input or drifts the crossbars. Every method adapts the
same stream from the same pretrained network with the same seeds.

Fair tuning: every method's learning rate comes from its grid, chosen by the same
score (the mean online accuracy over a shorter tuning stream on a tuning seed that is
not among the reported seeds; the mean, not the final EMA, whose ~100-sample window
makes one short run a coin toss between neighbouring rates).

Jobs are pure functions of (config, method, seed, lr, samples): each writes its result
to ``<out>/jobs/<job>.json`` and checkpoints its whole state to ``<out>/ckpt/<job>.npz``
every ``eval_every`` samples (write to a temporary file, then rename), so a killed run
resumes to exactly the result an uninterrupted one gives. Stored state is never a pickle
and carries its hash (:mod:`pysim.store`): a damaged checkpoint, pretrained network or
job result is set aside and computed again. Jobs that start together (a
final run's seeds, a tuning run's learning rates, of the methods of one :func:`lane_key`)
run as lanes of one :class:`Job` (:func:`run_lanes`): one network and rule call per sample
for all of them, each lane's result bit for bit its single job's, written to its own file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from . import data as data_mod
from .config import (
    NAME_FIX,
    NAME_PATTERN,
    ConfigError,
    check_value,
    from_mapping,
    item,
    load_yaml,
    section,
    spec,
)
from .hw.params import AccelConfig, ArchParams
from .lrt import SignDraws
from .nn import Network, Quant, build
from .nvm import DeviceConfig
from .rules import LRT, SGD, MiniBatchSGD, MixedPrecision, UpdateRule, energy_pj
from .scenarios import transform, validate_segments
from .store import (
    DamagedStateError,
    atomic_write,
    load_or_none,
    load_state,
    read_json,
    read_json_or_none,
    save_state,
    write_json,
)

RULE_NAMES = ("none", "bias", "sgd", "minibatch", "mixed", "lrt")
CKPT_MAGIC = "pysim-job-checkpoint-v3"  # v3: a pysim.store state file, not a pickle
# Part of every job id: bump it when a job's result changes for the same configuration
# (2: mean online accuracy in results, CGS2 Gram-Schmidt; 3: LRT projects a sample's
# terms together and its rank reduction rounds differently; 4: samples, drift and a
# method's own draws come from separate random streams; 5: results carry the saturated
# fraction of cells; 6: unbiased LRT's core SVD with canonical signs and tied groups),
# so old results are not reused.
RESULT_VERSION = 6
DIGITS_IMAGES = 1797  # scikit-learn's digits
IMAGE_SHAPES = {"digits": (8, 8), "mnist": (28, 28)}
N_CLASSES = 10  # both data sets' labels are 0..9
IMAGE_CACHE_BYTES = 64 << 20  # transformed images a lane keeps (Lane.image)


# --- configuration ------------------------------------------------------------------------
@dataclass(frozen=True)
class DataCfg:
    dataset: str = spec(kind=str, choices=("digits", "mnist"), default="digits")
    mnist_images: str = spec(kind=str, default="", doc="IDX images file (mnist)")
    mnist_labels: str = spec(kind=str, default="", doc="IDX labels file (mnist)")
    n_train: int = spec(kind=int, lo=1, hi=10_000_000, default=600)
    n_test: int = spec(kind=int, lo=1, hi=10_000_000, default=300)
    image_size: int | None = spec(kind=(int, type(None)), lo=8, hi=64, default=None,
                                  fix="give the side in pixels, e.g. 28 (or leave it out)",
                                  doc="resample every image to image_size × image_size "
                                      "(bilinear); unset: the data's own size")

    @property
    def image_shape(self) -> tuple[int, int]:
        """The images' (h, w) as the network sees them: image_size if set."""
        if self.image_size is not None:
            return (self.image_size, self.image_size)
        return IMAGE_SHAPES[self.dataset]

    def key(self) -> dict:
        """The fields a result depends on, for job ids and pretrain file names: without an
        unset image_size, so the ids of configs that predate it are unchanged."""
        d = dataclasses.asdict(self)
        if d["image_size"] is None:
            del d["image_size"]
        return d

    def validate(self, source, prefix="data."):
        if self.dataset == "mnist" and not (self.mnist_images and self.mnist_labels):
            raise ConfigError(source, f"{prefix}mnist_images", self.mnist_images,
                              "mnist needs both IDX files", "set mnist_images and mnist_labels")
        if self.dataset == "digits" and self.n_train + self.n_test >= DIGITS_IMAGES:
            raise ConfigError(source, f"{prefix}n_test", self.n_test,
                              f"n_train + n_test must leave an online pool of the "
                              f"{DIGITS_IMAGES} digits images",
                              f"keep n_train + n_test below {DIGITS_IMAGES}")


@dataclass(frozen=True)
class StreamCfg:
    samples: int = spec(kind=int, lo=1, hi=1_000_000_000, default=20000)
    eval_every: int = spec(kind=int, lo=1, default=1000)
    ema: float = spec(kind=float, lo=0.0, hi=0.99999, default=0.99)
    adaptation_rate: float = spec(kind=float, lo=0.0, lo_open=True, default=1.0,
                                  doc="samples/s for the lifetime forecast")
    test_images: int = spec(kind=int, lo=1, default=300, doc="test images per evaluation")


@dataclass(frozen=True)
class PretrainCfg:
    epochs: int = spec(kind=int, lo=0, hi=10_000, default=15)
    lr: float = spec(kind=float, lo=0.0, lo_open=True, hi=1e6, default=0.05)
    qat_epochs: int = spec(kind=int, lo=0, hi=10_000, default=3)


@dataclass(frozen=True)
class QuantCfg:
    """Clip ranges of the fixed 8-bit grids (:class:`pysim.nn.Quant`) after deployment and
    during quantisation-aware pretraining: activation step act_max/128, gradient step
    grad_max/128. A range smaller than the layer's activations clips them (the CNN's
    post-batch-norm activations go far beyond 2; configs/experiments/cnn_* use
    act_max 8)."""

    act_max: float = spec(kind=float, lo=0.0, lo_open=True, default=2.0,
                          doc="activation clip range; step act_max/128")
    grad_max: float = spec(kind=float, lo=0.0, lo_open=True, default=1.0,
                           doc="back-propagated gradient clip range; step grad_max/128")
    weight_scale: float = spec(kind=float, lo=0.0, lo_open=True, hi=1024.0, default=1.0,
                               doc="factor on each layer's alpha (the seed's "
                                   "2**floor(log2 √(6/fan_in))): a coarser weight grid, "
                                   "fewer cells at the range ends")

    def make(self, enabled: bool = True) -> Quant:
        return Quant(enabled=enabled, act_max=self.act_max, grad_max=self.grad_max,
                     weight_scale=self.weight_scale)


@dataclass(frozen=True)
class ScenarioCfg:
    every: int = spec(kind=int, lo=1, default=1_000_000_000, doc="samples per segment")
    segments: list = spec(kind=list, default_factory=lambda: [{}])
    drift_sigma_per_1m: float = spec(kind=float, lo=0.0, default=0.0)
    flips_per_1m: float = spec(kind=float, lo=0.0, default=0.0)
    stuck_fraction: float = spec(kind=float, lo=0.0, hi=1.0, default=0.0)
    drift_every: int = spec(kind=int, lo=1, default=10)

    def validate(self, source, prefix="scenario."):
        validate_segments(self.segments, source, f"{prefix}segments")


@dataclass(frozen=True)
class TuningCfg:
    """The tuning stream: ``samples`` long, on ``seed`` (not a reported seed).

    With ``compress`` the shift schedule is squeezed into the shorter stream (segment
    length × samples / stream.samples), so that the learning rate is chosen on every
    segment of the scenario, not on the first one only; drift rates stay physical.
    """

    samples: int = spec(kind=int, lo=1, hi=1_000_000_000, default=4000)
    seed: int = spec(kind=int, lo=0, hi=2**32 - 1, default=1000)
    compress: bool = spec(kind=bool, default=True,
                          doc="squeeze the segment schedule into the tuning stream")


@dataclass(frozen=True)
class MethodCfg:
    """One method; list-valued ``lr`` is the tuning grid, ``max_norm: [false, true]``
    expands into two methods."""

    name: str = spec(kind=str, pattern=NAME_PATTERN)
    rule: str = spec(kind=str, choices=RULE_NAMES)
    lr: list = spec(kind=(list, float), default_factory=lambda: [0.01], unique=True,
                    item=item(kind=float, lo=0.0, lo_open=True, hi=1e6,
                              fix="give a positive learning rate or a list of them"))
    bias_lr: float = spec(kind=float, lo=0.0, default=0.01)
    max_norm: list = spec(kind=(list, bool), default_factory=lambda: [False], unique=True,
                          item=item(kind=bool, fix="write true or false (or [false, true])"))
    mode: str = spec(kind=str, choices=("biased", "unbiased"), default="biased")
    batch: int = spec(kind=int, lo=1, hi=1_000_000, default=100,
                      doc="samples per write, dense layers")
    batch_conv: int = spec(kind=int, lo=1, hi=1_000_000, default=10,
                           doc="samples per write, conv layers")
    rank: int = spec(kind=int, lo=1, hi=4096, default=4)
    clip_rank: bool = spec(kind=bool, default=False,
                           doc="lrt: cut rank to each layer's min(n_out, n_in) instead of "
                               "refusing a rank larger than a layer")
    rho_min: float = spec(kind=float, lo=0.0, hi=1.0, default=0.01)
    kappa_th: float = spec(kind=float, lo=0.0, lo_open=True, default=100.0, allow_inf=True,
                           doc="κ-skip threshold; .inf absorbs every sample")
    hw: bool = spec(kind=bool, default=False, doc="last layer's LRT on pysim.hw")
    stochastic_round: bool = spec(kind=bool, default=False,
                                  doc="sgd, minibatch, lrt: round ΔW to levels stochastically")
    write_threshold: int = spec(kind=int, lo=1, hi=1 << 16, default=1,
                                doc="lrt: write a cell only if its step is ≥ this many levels")
    error_feedback: int = spec(kind=int, lo=0, hi=64, default=0,
                               doc="lrt: rank of the write residual carried to the next "
                                   "commit (0: off; beyond the seed)")
    train_layers: str = spec(kind=str, choices=("all", "last"), default="all",
                             doc="weights adapted: every layer, or the classifier only")

    def validate(self, source, prefix=""):
        if self.hw and self.rule != "lrt":
            raise ConfigError(source, f"{prefix}hw", True,
                              f"the accelerator runs LRT only, not rule {self.rule!r}",
                              "use hw: true with rule lrt, or drop it")
        if self.error_feedback and (self.rule != "lrt" or self.hw):
            raise ConfigError(source, f"{prefix}error_feedback", self.error_feedback,
                              "only the float LRT rule carries its write residual",
                              "use it with rule lrt (hw: false), or drop it")
        if self.write_threshold > 1 and (self.rule != "lrt" or self.hw):
            raise ConfigError(source, f"{prefix}write_threshold", self.write_threshold,
                              "only the float LRT rule has a per-cell write threshold",
                              "use it with rule lrt (hw: false), or drop it")
        if self.stochastic_round and (self.rule not in ("sgd", "minibatch", "lrt") or self.hw):
            why = "the accelerator rounds to nearest" if self.hw else \
                f"rule {self.rule!r} has no ΔW rounding of its own"
            raise ConfigError(source, f"{prefix}stochastic_round", True, why,
                              "use it with rule sgd, minibatch or lrt (float), or drop it")


@dataclass(frozen=True)
class ExperimentCfg:
    name: str = spec(kind=str, pattern=NAME_PATTERN)
    network: str = spec(kind=str, choices=("mlp", "cnn"), default="mlp")
    device: str = spec(kind=str, default="ideal", doc="device preset name or YAML path")
    bits: int = spec(kind=(int, type(None)), lo=1, hi=16, default=None,
                     doc="override the device's bits per weight (rank × bits sweeps)")
    accel: str = spec(kind=str, default="default", doc="accelerator preset name or YAML path")
    seeds: list = spec(kind=list, default_factory=lambda: [0, 1, 2], unique=True,
                       item=item(kind=int, lo=0, hi=2**32 - 1,
                                 fix="seeds are integers 0..2**32-1, e.g. [0, 1, 2]"))
    description: str = spec(kind=str, default="")
    extended: bool = spec(kind=bool, default=False,
                          doc="a longer study: python -m pysim.suite skips it unless given "
                              "--extended (nox -s experiments -- --extended)")
    data: DataCfg = field(default_factory=DataCfg)
    stream: StreamCfg = field(default_factory=StreamCfg)
    pretrain: PretrainCfg = field(default_factory=PretrainCfg)
    quant: QuantCfg = field(default_factory=QuantCfg)
    scenario: ScenarioCfg = field(default_factory=ScenarioCfg)
    tuning: TuningCfg = field(default_factory=TuningCfg)
    methods: tuple = ()

    @classmethod
    def load(cls, path: str | Path) -> ExperimentCfg:
        return experiment_from_mapping(load_yaml(path), str(path))


_SECTIONS = {"data": DataCfg, "stream": StreamCfg, "pretrain": PretrainCfg,
             "quant": QuantCfg, "scenario": ScenarioCfg, "tuning": TuningCfg}


def experiment_from_mapping(raw, source: str = "<mapping>") -> ExperimentCfg:
    if not isinstance(raw, dict):
        raise ConfigError(source, "<top level>", raw, "must be a mapping",
                          "see configs/experiments/ for examples")
    top = {k: v for k, v in raw.items() if k not in _SECTIONS and k != "methods"}
    base = from_mapping(ExperimentCfg, top, source)
    parts = {k: from_mapping(c, section(raw.get(k), source, k), source, f"{k}.")
             for k, c in _SECTIONS.items()}
    methods = raw.get("methods")
    if not isinstance(methods, list) or not methods:
        raise ConfigError(source, "methods", methods, "must be a non-empty list",
                          "list the methods to compare, e.g. - {name: sgd, rule: sgd}")
    parsed = tuple(from_mapping(MethodCfg, m, source, f"methods[{i}].")
                   for i, m in enumerate(methods))
    cfg = dataclasses.replace(base, methods=parsed, **parts)
    _check_across(cfg, source)
    return cfg


def _check_across(cfg: ExperimentCfg, source: str) -> None:
    """The checks that need more than one field: distinct method names, a tuning seed
    apart from the reported ones, classes the data has, the device and accelerator
    presets, the rank against the layers and the accelerator's limits."""
    names: dict[str, int] = {}
    for i, m in enumerate(cfg.methods):
        for name in (x.name for x in _expand(m)):
            if name in names:
                raise ConfigError(source, f"methods[{i}].name", m.name,
                                  f"gives the method name {name!r}, which methods"
                                  f"[{names[name]}] gives too: their results would merge",
                                  "give every method its own name")
            names[name] = i
    if cfg.tuning.seed in cfg.seeds:
        raise ConfigError(source, "tuning.seed", cfg.tuning.seed,
                          "is one of the reported seeds: the learning rate would be chosen "
                          "on a reported run", "use a seed that is not in seeds")
    for i, seg in enumerate(cfg.scenario.segments):
        for j, c in enumerate(seg.get("classes", [])):
            if not 0 <= c < N_CLASSES:
                raise ConfigError(source, f"scenario.segments[{i}].classes[{j}]", c,
                                  f"is not a label of the {cfg.data.dataset} data",
                                  f"use labels 0..{N_CLASSES - 1}")
    device = _load_preset(DeviceConfig.load, cfg.device, source, "device")
    accel = _load_preset(AccelConfig.load, cfg.accel, source, "accel")
    bits = cfg.bits if cfg.bits is not None else device.bits
    shapes = layer_shapes(cfg.network, cfg.data.image_shape)
    for i, m in enumerate(cfg.methods):
        if m.rule not in ("sgd", "minibatch", "mixed", "lrt"):
            continue
        trained = shapes[-1:] if m.train_layers == "last" else shapes
        most = min(min(s) for s in trained)
        if m.rule == "lrt" and not m.clip_rank and m.rank > most:
            raise ConfigError(source, f"methods[{i}].rank", m.rank,
                              f"exceeds the smallest layer it adapts ({most}; layers "
                              f"{[tuple(s) for s in trained]} of the {cfg.network})",
                              f"use rank ≤ {most}, or clip_rank: true to cut it per layer")
        if m.rule == "lrt" and m.error_feedback > most:
            raise ConfigError(source, f"methods[{i}].error_feedback", m.error_feedback,
                              f"exceeds the smallest layer it adapts ({most})",
                              f"use error_feedback ≤ {most}")
        if m.hw:
            _check_hw(source, i, m, accel, bits, shapes[-1])


def _load_preset(load, value: str, source: str, name: str):
    try:
        return load(value)
    except ConfigError as exc:
        raise ConfigError(source, name, value, f"is not a usable preset ({exc})",
                          "name a preset in configs/ or a valid YAML file") from exc


def _check_hw(source: str, i: int, m: MethodCfg, accel: AccelConfig, bits: int,
              shape: tuple[int, int]) -> None:
    """``hw: true``: the accelerator's own limits (:class:`~pysim.hw.params.ArchParams`)
    on the rank, the weight width and the layer it holds, named by the config field."""
    meta = {f.name: dict(f.metadata) for f in dataclasses.fields(ArchParams)}
    where = f"methods[{i}] with hw: true"
    check_value(source, f"methods[{i}].rank", m.rank,
                meta["rank"] | {"fix": f"the accelerator builds rank 1..{meta['rank']['hi']}"})
    check_value(source, "bits", bits,
                meta["w_bits"] | {"fix": f"{where}: the accelerator stores "
                                  f"{meta['w_bits']['lo']}..{meta['w_bits']['hi']}-bit levels; "
                                  "set bits or pick another device"})
    n_out, n_in = shape
    arch = dataclasses.asdict(accel.arch) | {"n_out": n_out, "n_in": n_in, "rank": m.rank,
                                             "w_bits": bits}
    try:
        from_mapping(ArchParams, arch, source, "accel.arch.")
    except ConfigError as exc:
        raise ConfigError(source, f"methods[{i}].hw", True, f"the accelerator cannot hold "
                          f"this layer: {exc.field} = {exc.value!r}: {exc.problem}",
                          exc.fix) from exc


def layer_shapes(network: str, image_shape: tuple[int, int]) -> list[tuple[int, int]]:
    """(n_out, n_in) of each affine layer of ``network`` on images of ``image_shape``."""
    net = build(network, np.random.default_rng(0), Quant(enabled=False), image_shape)
    return [tuple(layer.store.w.shape) for layer in net.affine]


@dataclass(frozen=True)
class Method:
    """An expanded method: one max-norm choice, its lr grid."""

    name: str
    cfg: MethodCfg
    max_norm: bool
    grid: tuple


def expand_methods(cfg: ExperimentCfg) -> list[Method]:
    return [x for m in cfg.methods for x in _expand(m)]


def _expand(m: MethodCfg) -> list[Method]:
    """One method config's methods: one per max-norm choice (none for rules without
    weights), named with a ``-maxnorm`` suffix where it is on."""
    norms = m.max_norm if isinstance(m.max_norm, list) else [m.max_norm]
    grid = tuple(float(v) for v in (m.lr if isinstance(m.lr, list) else [m.lr]))
    if m.rule in ("none", "bias"):
        norms = [False]
    return [Method(m.name + ("-maxnorm" if norm else ""), m, bool(norm), grid)
            for norm in norms]


# --- one job --------------------------------------------------------------------------------
def tuning_cfg(cfg: ExperimentCfg) -> ExperimentCfg:
    """The configuration of the tuning jobs (see :class:`TuningCfg`)."""
    t, sc, st = cfg.tuning, cfg.scenario, cfg.stream
    if not t.compress or t.samples >= st.samples:
        return cfg
    every = max(1, round(sc.every * t.samples / st.samples)) if sc.every < st.samples \
        else sc.every
    eval_every = max(1, min(st.eval_every, t.samples // 4))
    return dataclasses.replace(cfg, scenario=dataclasses.replace(sc, every=every),
                               stream=dataclasses.replace(st, eval_every=eval_every))


def load_splits(cfg: ExperimentCfg, seed: int) -> data_mod.Splits:
    d = cfg.data
    if d.dataset == "digits":
        ds = data_mod.load_digits()
    else:
        ds = data_mod.load_mnist(d.mnist_images, d.mnist_labels)
    if d.image_size is not None:
        ds = data_mod.resize(ds, d.image_size)
    return data_mod.split(ds, d.n_train, d.n_test, np.random.default_rng([seed, 0]))


def _check_classes(cfg: ExperimentCfg, splits: data_mod.Splits) -> None:
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
    from .nvm import Crossbar

    p = cfg.pretrain
    for epoch in range(p.epochs + p.qat_epochs):
        if epoch == p.epochs:
            net.set_quant(cfg.quant.make())
            for layer in net.affine:
                clean = dataclasses.replace(device, write_noise_lsb=0.0, drift_sigma_per_1m=0.0,
                                            flip_rate_per_1m=0.0, stuck_fraction=0.0)
                layer.store.fake_quant = Crossbar(clean, layer.store.w.shape)
        lr = p.lr * (0.5 ** (min(epoch, p.epochs) / max(1, p.epochs / 3)))
        if epoch >= p.epochs:
            lr /= 5
        for i in rng.permutation(len(splits.train)):
            net.step(splits.train.images[i], int(splits.train.labels[i]))
            for layer in net.affine:
                dY, X = layer.terms
                layer.store.w -= lr * (dY.T @ X)
                layer.store.w = np.clip(layer.store.w, -device.w_max, device.w_max)
            for layer in net.layers:
                layer.update_digital(lr)
    for layer in net.affine:
        layer.store.fake_quant = None
    net.set_quant(cfg.quant.make())
    return net


def _digest(parts) -> str:
    """Stable hash of JSON-able configuration parts (file names of cached results)."""
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _cached_pretrain(cfg: ExperimentCfg, seed: int, splits, device, cache: Path) -> Network:
    """The pretrained network of ``seed``, from folder ``cache`` if it is there (its file
    name hashes everything pretraining depends on, so studies can share the folder)."""
    key = _digest([cfg.network, cfg.data.key(), dataclasses.asdict(cfg.pretrain),
                   dataclasses.asdict(cfg.quant), cfg.device, cfg.bits, seed])[:12]
    path = cache / f"{cfg.network}-{key}.npz"
    net = load_or_none(lambda p: load_state(p, "pretrained-network"), path)
    if net is not None:
        return net
    net = pretrain(cfg, seed, splits, device)
    save_state(path, net, "pretrained-network")
    return net


def job_id(cfg: ExperimentCfg, method: Method, seed: int, lr: float, samples: int) -> str:
    """Names a job's files; the hash covers everything its result depends on, so a changed
    config never picks up a stale result or checkpoint."""
    if not re.fullmatch(NAME_PATTERN, method.name):  # it becomes a file name
        raise ValueError(f"method name {method.name!r} is not a safe file name: {NAME_FIX}")
    accel = dataclasses.asdict(AccelConfig.load(cfg.accel)) if method.cfg.hw else cfg.accel
    parts = [RESULT_VERSION, cfg.network, cfg.device, cfg.bits, accel, cfg.data.key(),
             dataclasses.asdict(cfg.stream), dataclasses.asdict(cfg.pretrain),
             dataclasses.asdict(cfg.quant), dataclasses.asdict(cfg.scenario),
             dataclasses.asdict(method.cfg), method.max_norm]
    return f"{method.name}__s{seed}__lr{lr:g}__n{samples}__{_digest(parts)[:10]}"


def lanes_supported(cfg: ExperimentCfg, method: Method) -> bool:
    """Whether several jobs of ``method`` can run as lanes of one :class:`Job`: every
    float rule can; the accelerator model (``hw: true``) has no lane axis."""
    return not method.cfg.hw


# What the lanes of one Job may differ in besides seed and lr: options the rules take one
# per lane. Methods equal in everything else share a lane key.
LANE_OPTIONS = ("name", "lr", "max_norm", "mode", "stochastic_round")


def lane_key(method: Method) -> str:
    """Jobs of methods with the same key can run as lanes of one :class:`Job` (when
    :func:`lanes_supported`): e.g. a method with and without max-norm, biased and
    unbiased LRT, SGD rounding to nearest and stochastically."""
    return _digest({k: v for k, v in dataclasses.asdict(method.cfg).items()
                    if k not in LANE_OPTIONS})


def _why_not_lanes(cfg: ExperimentCfg, methods: list[Method]) -> str | None:
    """Why jobs of ``methods`` cannot run as lanes of one :class:`Job`, or None if they
    can."""
    for m in methods:
        if not lanes_supported(cfg, m):
            return f"method {m.name!r} on the {cfg.network} runs one job at a time (see " \
                "lanes_supported)"
        if lane_key(m) != lane_key(methods[0]):
            return (f"methods {methods[0].name!r} and {m.name!r} differ in more than "
                    f"{', '.join(LANE_OPTIONS)}: they cannot be lanes of one job")
    return None


def make_rules(method: Method | list[Method], lr, net: Network, xbars, rng, accel: AccelConfig
               ) -> list[UpdateRule | None]:
    """The update rule of each affine layer. Lanes: ``method``, ``lr`` and ``rng`` one per
    lane (methods of one :func:`lane_key`), and ``xbars[k]`` the lanes' crossbars of
    layer ``k``."""
    lanes = isinstance(method, list)
    methods = method if lanes else [method]
    m = methods[0].cfg  # what the lanes share

    def per(f):
        return [f(x) for x in methods] if lanes else f(methods[0])
    max_norm = per(lambda x: x.max_norm)
    sr = per(lambda x: x.cfg.stochastic_round)
    mode = per(lambda x: x.cfg.mode)
    rules: list[UpdateRule | None] = []
    # Float unbiased LRT without stochastic rounding: the random signs are the rule
    # stream's only draws, so they can be drawn ahead in blocks (the same signs, shared
    # by the layers in the order they absorb).
    def sign_source(x: Method, r):
        c = x.cfg
        blocks = c.rule == "lrt" and c.mode == "unbiased" and not c.hw and not c.stochastic_round
        return SignDraws(r) if blocks else r
    signs = ([sign_source(x, r) for x, r in zip(methods, rng, strict=True)] if lanes
             else sign_source(methods[0], rng))
    for k, (layer, xb) in enumerate(zip(net.affine, xbars, strict=True)):
        conv = layer.__class__.__name__ == "Conv2D"
        batch = m.batch_conv if conv else m.batch
        last = k == len(xbars) - 1
        if m.rule in ("none", "bias") or (m.train_layers == "last" and not last):
            rules.append(None)
        elif m.rule == "sgd":
            rules.append(SGD(xb, lr, max_norm, sr, rng))
        elif m.rule == "minibatch":
            rules.append(MiniBatchSGD(xb, lr, batch, max_norm, sr, rng))
        elif m.rule == "mixed":
            rules.append(MixedPrecision(xb, lr, max_norm))
        elif m.hw and last:
            from .hw.engine import HwLRT

            rules.append(HwLRT(xb, lr, batch, layer, net.quant, accel, rank=m.rank,
                               mode=m.mode, kappa_th=m.kappa_th, rho_min=m.rho_min,
                               max_norm=max_norm, seed=int(rng.integers(1, 65535))))
        else:
            rank = min(m.rank, *xb.shape) if m.clip_rank else m.rank
            rules.append(LRT(xb, lr, batch, rank, mode, signs, m.kappa_th, m.rho_min,
                             max_norm, stochastic_round=sr, write_threshold=m.write_threshold,
                             error_feedback=m.error_feedback))
    return rules


@dataclass
class Lane:
    """What one (method, seed, lr) run of a :class:`Job` keeps of its own: data, sample
    stream, counters and curve (transformed images are a cache, not checkpointed)."""

    seed: int
    lr: float
    id: str
    splits: data_mod.Splits
    rng: np.random.Generator  # the sample stream
    method: Method | None = None  # None only in checkpoints from before per-lane methods
    correct: int = 0
    ema: float = 0.0
    curve: list = field(default_factory=list)
    images: dict = field(default_factory=dict)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "images"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.images = {}

    def image(self, split: str, i: int, k: int, seg: dict, rng) -> np.ndarray:
        """``transform`` of image ``i`` of ``split`` ("online" or "test") under segment
        ``k``; cached unless the segment draws noise (a rotation costs ~30 µs and the
        stream draws the same few hundred images 20,000 times)."""
        images = getattr(self.splits, split).images
        if seg.get("noise", 0.0):
            return transform(images[i], seg, rng)
        key = (split, k, int(i))
        x = self.images.get(key)
        if x is None:
            x = transform(images[i], seg, rng)
            # Bounded: MNIST's 60,000 images × 4 segments would hold 1.5 GB.
            if (len(self.images) + 1) * x.nbytes <= IMAGE_CACHE_BYTES:
                x.flags.writeable = False
                self.images[key] = x
        return x


class Job:
    """The complete state of a run: one (method, seed, lr), or several in lockstep
    (:meth:`lanes`: one network and rule call per sample for all of them, each lane's
    numbers bit-equal to its own single job's); stored as its checkpoint
    (:func:`pysim.store.save_state`)."""

    def __init__(self, cfg: ExperimentCfg, method: Method, seed: int, lr: float, samples: int,
                 out: Path, pretrained: Path | None = None):
        self._setup(cfg, [(method, seed, lr)], samples, out, pretrained)

    @classmethod
    def lanes(cls, cfg: ExperimentCfg, runs: list[tuple[Method, int, float]],
              samples: int, out: Path, pretrained: Path | None = None) -> Job:
        """Several (method, seed, lr) runs as lanes: methods of one :func:`lane_key` that
        :func:`lanes_supported`. ``pretrained``: the folder of cached pretrained networks
        (``out/pretrained``)."""
        why = _why_not_lanes(cfg, [m for m, _, _ in runs]) if len(runs) > 1 else None
        if why:
            raise ValueError(why)
        job = cls.__new__(cls)
        job._setup(cfg, runs, samples, out, pretrained)
        return job

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        for lane in self.runs:  # checkpoints from before per-lane methods: the job's
            if lane.method is None:
                lane.method = self.method

    def _setup(self, cfg, runs, samples, out, pretrained) -> None:
        # The lanes share the rule and its configuration but for LANE_OPTIONS; the first
        # lane's method stands for what they share.
        method = runs[0][0]
        self.cfg, self.method, self.samples = cfg, method, samples
        device = DeviceConfig.load(cfg.device)
        sc = cfg.scenario
        if cfg.bits is not None:
            device = dataclasses.replace(device, bits=cfg.bits)
        device = dataclasses.replace(device, drift_sigma_per_1m=sc.drift_sigma_per_1m,
                                     flip_rate_per_1m=sc.flips_per_1m,
                                     stuck_fraction=sc.stuck_fraction or device.stuck_fraction)
        self.device = device
        self.accel = AccelConfig.load(cfg.accel)
        self.runs: list[Lane] = []
        nets, rule_rngs, by_seed = [], [], {}
        for m, seed, lr in runs:
            if seed not in by_seed:  # lanes of one seed (tuning) share data and image cache
                by_seed[seed] = (load_splits(cfg, seed), {})
                _check_classes(cfg, by_seed[seed][0])
            splits, images = by_seed[seed]
            net = _cached_pretrain(cfg, seed, splits, device,
                                   Path(pretrained) if pretrained else out / "pretrained")
            # Independent streams: the samples (order, noise images) and the drift are
            # drawn apart from what a method draws (stochastic rounding, LRT's signs,
            # write noise), so every method of a seed adapts to the same samples under
            # the same drift.
            stream, cells, drift, rule = (np.random.default_rng(s) for s in
                                          np.random.SeedSequence([seed, 3]).spawn(4))
            net.deploy(device, cells, drift)
            self.runs.append(Lane(seed, lr, job_id(cfg, m, seed, lr, samples), splits,
                                  stream, m, images=images))
            nets.append(net)
            rule_rngs.append(rule)
        if len(runs) == 1:
            self.net = nets[0]
            methods, lrs, rule_rngs = method, runs[0][2], rule_rngs[0]
        else:
            self.net = Network.stack(nets)
            methods, lrs = [m for m, _, _ in runs], [lr for _, _, lr in runs]
        # Per affine layer; with lanes, lane crossbars (one entry per lane in each array).
        self.xbars = [layer.store.xbar for layer in self.net.affine]
        self.base_counts = [xb.write_counts.copy() for xb in self.xbars]
        self.rules = make_rules(methods, lrs, self.net, self.xbars, rule_rngs, self.accel)
        self.t = 0

    # The single job's view (one lane).
    @property
    def id(self) -> str:
        return lanes_id([r.id for r in self.runs])

    @property
    def rng(self) -> np.random.Generator:
        return self._single().rng

    def _single(self) -> Lane:
        if len(self.runs) != 1:
            raise AttributeError("a job of several lanes: see Job.runs")
        return self.runs[0]

    def run(self, out: Path, progress=None, checkpoint: bool = True):
        """Adapt on the stream from sample ``t`` to the end (checkpointing at each
        evaluation) and return the result (one per lane for :meth:`lanes`)."""
        # One job, one core: parallelism comes from the pool of jobs. A BLAS that threads
        # a larger product (the per-pixel count's fold) would leave its threads spinning
        # against the other workers for the rest of the job.
        with threadpool_limits(limits=1, user_api="blas"):
            self._run(out, progress, checkpoint)
        if self.net.lanes is None:
            return self.result(0)
        return [self.result(i) for i in range(len(self.runs))]

    def _run(self, out: Path, progress, checkpoint: bool) -> None:
        cfg, st = self.cfg, self.cfg.stream
        segs, every = cfg.scenario.segments, cfg.scenario.every
        by_class = [{c: np.flatnonzero(lane.splits.online.labels == c)
                     for c in np.unique(lane.splits.online.labels)} for lane in self.runs]
        adapt = self.method.cfg.rule != "none"
        weights = self.method.cfg.rule not in ("none", "bias")
        bias_lr = self.method.cfg.bias_lr
        stacked = self.net.lanes is not None
        ckpt = out / "ckpt" / f"{self.id}.npz"
        while self.t < self.samples:
            k = (self.t // every) % len(segs)
            seg = segs[k]
            images, labels = [], []
            for lane, classes in zip(self.runs, by_class, strict=True):
                pool = lane.splits.online
                if "classes" in seg:
                    idx = lane.rng.choice(np.concatenate([classes[c] for c in seg["classes"]
                                                          if c in classes]))
                else:
                    idx = lane.rng.integers(len(pool))
                images.append(lane.image("online", idx, k, seg, lane.rng))
                labels.append(int(pool.labels[idx]))
            img, label = (np.stack(images), np.array(labels)) if stacked else (images[0],
                                                                                 labels[0])
            if adapt:
                _, correct = self.net.step(img, label)
                for layer in self.net.layers:
                    layer.update_digital(bias_lr)
                if weights:
                    for layer, rule in zip(self.net.affine, self.rules, strict=True):
                        if rule is not None:
                            rule.step(*layer.terms)
            else:
                correct = self.net.predict(img) == label
            self.t += 1
            for lane, c in zip(self.runs, np.atleast_1d(correct).tolist(), strict=True):
                lane.correct += int(c)
                lane.ema = st.ema * lane.ema + (1 - st.ema) * float(c)
            if self.t % cfg.scenario.drift_every == 0:
                for xb in self.xbars:
                    xb.drift(cfg.scenario.drift_every)
            if self.t % st.eval_every == 0 or self.t == self.samples:
                for lane, point in zip(self.runs, self._evaluate(k, seg), strict=True):
                    lane.curve.append(point)
                if checkpoint:
                    save_state(ckpt, (CKPT_MAGIC, self.id, self), "job-checkpoint")
                if progress:
                    progress(self)

    def _evaluate(self, k: int, seg: dict) -> list[dict]:
        """Test accuracy and write counts now, one curve point per lane."""
        hits: list[list] = [[] for _ in self.runs]
        todo = []
        for lane in self.runs:
            test = lane.splits.test
            n = min(len(test), self.cfg.stream.test_images)
            keep = [i for i in range(len(test))
                    if "classes" not in seg or int(test.labels[i]) in seg["classes"]][:n]
            todo.append((keep, np.random.default_rng([lane.seed, 4, self.t])))
        self.net.set_tracking(False)
        for j in range(max(len(keep) for keep, _ in todo)):
            images = []
            for lane, (keep, rng) in zip(self.runs, todo, strict=True):
                # A lane whose class filter kept fewer images predicts a blank, unscored.
                images.append(lane.image("test", keep[j], k, seg, rng) if j < len(keep)
                              else np.zeros_like(images[-1] if images else
                                                 lane.splits.test.images[0]))
            pred = np.atleast_1d(self.net.predict(np.stack(images) if self.net.lanes
                                                  else images[0]))
            for lane, (keep, _), p, h in zip(self.runs, todo, pred, hits, strict=True):
                if j < len(keep):
                    h.append(p == lane.splits.test.labels[keep[j]])
        self.net.set_tracking(True)
        corr = 1 - self.cfg.stream.ema ** self.t
        points = []
        for i, (lane, h) in enumerate(zip(self.runs, hits, strict=True)):
            counts = [self._of_lane(xb.write_counts - b, i)
                      for xb, b in zip(self.xbars, self.base_counts, strict=True)]
            pixel = [np.zeros(1, np.int64) if r is None else self._of_lane(r.pixel_writes, i)
                     for r in self.rules]
            saturated = sum(np.count_nonzero(self._saturated(xb, i)) for xb in self.xbars)
            points.append({"t": self.t, "ema_acc": lane.ema / corr,
                           "saturated_fraction": saturated / sum(
                               xb.shape[0] * xb.shape[1] for xb in self.xbars),
                           "test_acc": float(np.mean(h)),
                           "max_writes": int(max(c.max() for c in counts)),
                           "total_writes": int(sum(c.sum() for c in counts)),
                           "max_pixel_writes": int(max(p.max() for p in pixel)),
                           "total_pixel_writes": int(sum(p.sum() for p in pixel))})
        return points

    def _saturated(self, xb, i: int) -> np.ndarray:
        """Lane ``i``'s cells of crossbar ``xb`` at the lowest or highest level."""
        codes = self._of_lane(xb.codes(), i)
        return (codes == xb.k_min) | (codes == xb.k_max)

    def _of_lane(self, a: np.ndarray, i: int) -> np.ndarray:
        """Lane ``i``'s part of a per-cell array (the array itself for a single job)."""
        return a if self.net.lanes is None else a[i]

    def result(self, i: int = 0) -> dict:
        """Lane ``i``'s result (a single job's: ``result()``)."""
        lane = self.runs[i]
        tech, dev = self.accel.energy, self.device
        e = {"mac": 0.0, "sram": 0.0, "nvm": 0.0}
        aux = 0
        for rule in self.rules:
            if rule is None:
                continue
            stats = rule.stats if rule.lanes is None else rule.stats.lane(i)
            for k, v in energy_pj(stats, tech).items():
                e[k] += v
            aux += rule.aux_words
        last = lane.curve[-1]
        per_sample = {k: v / self.t for k, v in e.items()}
        rate = last["max_writes"] / self.t * self.cfg.stream.adaptation_rate
        years = (dev.endurance / rate / (3600 * 24 * 365.25)) if rate > 0 else math.inf
        return {"job": lane.id, "method": lane.method.name, "seed": lane.seed, "lr": lane.lr,
                "samples": self.t, "curve": lane.curve, "final_ema_acc": last["ema_acc"],
                "mean_online_acc": lane.correct / self.t,
                "final_test_acc": last["test_acc"], "max_writes": last["max_writes"],
                "saturated_fraction": last["saturated_fraction"],
                "total_writes": last["total_writes"],
                "max_pixel_writes": last["max_pixel_writes"],
                "total_pixel_writes": last["total_pixel_writes"], "aux_words": aux,
                "energy_pj_per_sample": per_sample,
                "lifetime_years": years if math.isfinite(years) else None,
                "hw_check": [r.check for r in self.rules if hasattr(r, "check")],
                "hw_stats": [r.hw_stats() for r in self.rules if hasattr(r, "hw_stats")]}


def lanes_id(ids: list[str]) -> str:
    """Names the checkpoint of a :class:`Job` from its lanes' job ids (a single job's is
    its own id)."""
    if len(ids) == 1:
        return ids[0]
    return f"{ids[0].split('__')[0]}__lanes{len(ids)}__{_digest(ids)[:12]}"


def load_checkpoint(path: Path, expect_id: str) -> Job:
    """Load a job checkpoint; raises :class:`~pysim.store.DamagedStateError` (naming the
    file) if it is damaged, of an older pysim, or another job's."""
    state = load_state(path, "job-checkpoint")
    if not (isinstance(state, tuple) and len(state) == 3 and state[0] == CKPT_MAGIC
            and state[1] == expect_id and isinstance(state[2], Job)):
        found = state[1] if isinstance(state, tuple) and len(state) == 3 else None
        raise DamagedStateError(path, f"checkpoint of another job ({found!r}, expected "
                                      f"{expect_id!r}) or of an older pysim")
    return state[2]


def run_job(cfg: ExperimentCfg, method: Method, seed: int, lr: float, samples: int,
            out: str | Path, verbose: bool = True) -> dict:
    """Run (or resume, or just return) one job; the result is also written to disk."""
    return run_lanes(cfg, [(method, seed, lr)], samples, out, verbose)[0]


def run_lanes(cfg: ExperimentCfg, runs: list[tuple[Method, int, float]], samples: int,
              out: str | Path, verbose: bool = True, pretrained: str | Path | None = None
              ) -> list[dict]:
    """Run (or resume, or just return) the jobs ``runs`` = [(method, seed, lr), ...],
    those not finished yet as lanes of one :class:`Job` when their methods allow (one
    :func:`lane_key`, :func:`lanes_supported`), else one after another; results in the
    order of ``runs``, each also written to disk as its own job's. ``pretrained``: see
    :meth:`Job.lanes`."""
    out = Path(out)
    ids = [job_id(cfg, m, seed, lr, samples) for m, seed, lr in runs]
    done = {jid: out / "jobs" / f"{jid}.json" for jid in ids}
    results = {jid: read_json_or_none(path) for jid, path in done.items()}
    todo = [(run, jid) for run, jid in zip(runs, ids, strict=True) if results[jid] is None]
    together = len(todo) > 1 and _why_not_lanes(cfg, [m for (m, _, _), _ in todo]) is None
    groups = [todo] if together else [[t] for t in todo]
    for group in groups:
        _run_group(cfg, [run for run, _ in group], [jid for _, jid in group],
                   samples, out, verbose, pretrained)
    return [results[jid] if results[jid] is not None else read_json(done[jid]) for jid in ids]


def _run_group(cfg, runs, ids, samples, out: Path, verbose: bool, pretrained) -> None:
    """Run (or resume) ``runs`` as one :class:`Job` and write each lane's result as its
    job's (``ids``)."""
    key = lanes_id(ids)
    ckpt = out / "ckpt" / f"{key}.npz"
    with threadpool_limits(limits=1, user_api="blas"):  # pretraining too: see Job.run
        job = (load_or_none(lambda p: load_checkpoint(p, key), ckpt)
               or Job.lanes(cfg, runs, samples, out, pretrained))

    def progress(j):
        if verbose:
            bar = "#" * int(20 * j.t / j.samples)
            for lane in j.runs:
                c = lane.curve[-1]
                print(f"  {lane.method.name:<28} seed {lane.seed} lr {lane.lr:<8g} [{bar:<20}] "
                      f"{j.t}/{j.samples} acc {c['ema_acc']:.3f} max writes "
                      f"{c['max_writes']}", file=sys.stderr, flush=True)

    start = time.process_time()
    results = job.run(out, progress)
    results = results if isinstance(results, list) else [results]
    # CPU seconds of this process only (a resumed job's earlier part is not counted;
    # lanes share theirs equally); kept beside the result, not in it, so that results
    # stay bit-identical across runs.
    cpu = (time.process_time() - start) / len(runs)
    for jid, result in zip(ids, results, strict=True):
        atomic_write(out / "jobs" / f"{jid}.cpu_s", f"{cpu:.1f}\n".encode())
        write_json(out / "jobs" / f"{jid}.json", result)
