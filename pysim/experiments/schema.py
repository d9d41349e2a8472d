"""Experiment configuration: the YAML schema of a study (data, stream, pretraining,
quantisation, scenario, tuning, methods), validated once at load, and the expansion of
methods into the runs a study makes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import (
    NAME_PATTERN,
    ConfigError,
    check_value,
    from_mapping,
    item,
    load_yaml,
    section,
    spec,
)
from ..hw.params import AccelConfig, ArchParams
from ..network import build
from ..nn import Quant
from ..nvm import DeviceConfig
from .scenarios import validate_segments

RULE_NAMES = ("none", "bias", "sgd", "minibatch", "mixed", "lrt")
DIGITS_IMAGES = 1797  # scikit-learn's digits
IMAGE_SHAPES = {"digits": (8, 8), "mnist": (28, 28)}
N_CLASSES = 10  # both data sets' labels are 0..9


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
    hw: bool = spec(kind=bool, default=False,
                    doc="every dense layer's LRT on pysim.hw, a layer slot each")
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
                          doc="a longer study: python -m pysim.experiments.suite skips it "
                              "unless given --extended (nox -s experiments -- --extended)")
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
            _check_hw(source, i, m, accel, bits,
                      hw_shapes(cfg.network, cfg.data.image_shape, m.train_layers))


def _load_preset(load, value: str, source: str, name: str):
    try:
        return load(value)
    except ConfigError as exc:
        raise ConfigError(source, name, value, f"is not a usable preset ({exc})",
                          "name a preset in configs/ or a valid YAML file") from exc


def _check_hw(source: str, i: int, m: MethodCfg, accel: AccelConfig, bits: int,
              shapes: list[tuple[int, int]]) -> None:
    """``hw: true``: the accelerator's own limits (:class:`~pysim.hw.params.ArchParams`)
    on the rank, the weight width and the layers it holds, named by the config field."""
    from ..hw.engine import slot_arch

    meta = {f.name: dict(f.metadata) for f in dataclasses.fields(ArchParams)}
    where = f"methods[{i}] with hw: true"
    check_value(source, f"methods[{i}].rank", m.rank,
                meta["rank"] | {"fix": f"the accelerator builds rank 1..{meta['rank']['hi']}"})
    check_value(source, "bits", bits,
                meta["w_bits"] | {"fix": f"{where}: the accelerator stores "
                                  f"{meta['w_bits']['lo']}..{meta['w_bits']['hi']}-bit levels; "
                                  "set bits or pick another device"})
    if not shapes:
        raise ConfigError(source, f"methods[{i}].hw", True, "the network has no dense layer "
                          "for the accelerator to hold", "drop hw: true")
    try:
        slot_arch(accel, shapes, m.rank, bits, source)
    except ConfigError as exc:
        raise ConfigError(source, f"methods[{i}].hw", True, f"the accelerator cannot hold "
                          f"these layers {shapes}: {exc.field} = {exc.value!r}: {exc.problem}",
                          exc.fix) from exc


def hw_shapes(network: str, image_shape: tuple[int, int], train_layers: str = "all"
              ) -> list[tuple[int, int]]:
    """(n_out, n_in) of the dense layers that ``hw: true`` puts on the accelerator, in slot
    order (convolutions keep the float LRT; ``train_layers: last`` only the last layer)."""
    from ..hw.engine import hw_layers

    net = build(network, np.random.default_rng(0), Quant(enabled=False), image_shape)
    return [tuple(net.affine[k].shape)
            for k in hw_layers(net.affine, train_layers == "last")]


def layer_shapes(network: str, image_shape: tuple[int, int]) -> list[tuple[int, int]]:
    """(n_out, n_in) of each affine layer of ``network`` on images of ``image_shape``."""
    net = build(network, np.random.default_rng(0), Quant(enabled=False), image_shape)
    return [tuple(layer.shape) for layer in net.affine]


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
