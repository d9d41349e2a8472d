"""One run's complete state (:class:`Job`): the stream of one or several (method, seed,
lr) runs stacked in lockstep, the update rules of every layer, evaluation, checkpoints
and the result."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from .. import data as data_mod
from ..hw.params import AccelConfig
from ..network import Network
from ..nvm import DeviceConfig
from ..rules import LRT, SGD, MiniBatchSGD, MixedPrecision, UpdateRule, energy_pj
from ..signs import SignDraws
from ..store import DamagedStateError, load_state, save_state
from .jobstore import CKPT_MAGIC, digest, job_id, stack_id
from .pretrain import cached_pretrain, check_classes, load_splits
from .scenarios import transform
from .schema import ExperimentCfg, Method

IMAGE_CACHE_BYTES = 64 << 20  # transformed images a run keeps (Run.image)


def stackable(cfg: ExperimentCfg, method: Method) -> bool:
    """Whether several jobs of ``method`` can run stacked in one :class:`Job`: every
    float rule can; the accelerator model (``hw: true``) runs one job."""
    return not method.cfg.hw


# What the stacked jobs of one Job may differ in besides seed and lr: options the rules
# take one per job. Methods equal in everything else share a stack key.
STACK_OPTIONS = ("name", "lr", "max_norm", "mode", "stochastic_round")


def stack_key(method: Method) -> str:
    """Jobs of methods with the same key can run stacked in one :class:`Job` (when
    :func:`stackable`): e.g. a method with and without max-norm, biased and
    unbiased LRT, SGD rounding to nearest and stochastically."""
    return digest({k: v for k, v in dataclasses.asdict(method.cfg).items()
                    if k not in STACK_OPTIONS})


def why_not_stacked(cfg: ExperimentCfg, methods: list[Method]) -> str | None:
    """Why jobs of ``methods`` cannot run stacked in one :class:`Job`, or None if they
    can."""
    for m in methods:
        if not stackable(cfg, m):
            return f"method {m.name!r} on the {cfg.network} runs one job at a time (see " \
                "stackable)"
        if stack_key(m) != stack_key(methods[0]):
            return (f"methods {methods[0].name!r} and {m.name!r} differ in more than "
                    f"{', '.join(STACK_OPTIONS)}: they cannot be stacked in one job")
    return None


def make_rules(methods: list[Method], lr: list[float], net: Network, xbars, rng: list,
               accel: AccelConfig) -> list[UpdateRule | None]:
    """The update rule of each affine layer: ``methods`` (of one :func:`stack_key`),
    ``lr`` and ``rng`` one per job, ``xbars[k]`` the jobs' crossbar of layer ``k``."""
    m = methods[0].cfg  # what the jobs share
    max_norm = [x.max_norm for x in methods]
    sr = [x.cfg.stochastic_round for x in methods]
    mode = [x.cfg.mode for x in methods]
    rules: list[UpdateRule | None] = []
    # Float unbiased LRT without stochastic rounding: the random signs are the rule
    # stream's only draws, so they can be drawn ahead in blocks (the same signs, shared
    # by the layers in the order they absorb).
    def sign_source(x: Method, r):
        c = x.cfg
        blocks = c.rule == "lrt" and c.mode == "unbiased" and not c.hw and not c.stochastic_round
        return SignDraws(r) if blocks else r
    signs = [sign_source(x, r) for x, r in zip(methods, rng, strict=True)]
    hw = None
    if m.hw:  # one job (hw jobs are not stackable)
        from ..hw.engine import network_device

        hw = network_device(net.affine, xbars, accel, m.rank, m.train_layers == "last",
                            rng[0])
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
        elif hw is not None and k in hw[1]:
            from ..hw.engine import HwLRT

            rules.append(HwLRT(xb, lr[0], batch, layer, net.quant, hw[0], hw[1].index(k),
                               mode=m.mode, kappa_th=m.kappa_th, rho_min=m.rho_min,
                               max_norm=max_norm[0], seed=hw[2]))
        else:
            rank = min(m.rank, *xb.shape) if m.clip_rank else m.rank
            rules.append(LRT(xb, lr, batch, rank, mode, signs, m.kappa_th, m.rho_min,
                             max_norm, stochastic_round=sr, write_threshold=m.write_threshold,
                             error_feedback=m.error_feedback))
    return rules


@dataclass
class Run:
    """What one (method, seed, lr) run of a :class:`Job` keeps of its own: data, sample
    stream, counters and curve (transformed images are a cache, not checkpointed)."""

    seed: int
    lr: float
    id: str
    splits: data_mod.Splits
    rng: np.random.Generator  # the sample stream
    method: Method  # the run's method (stacked runs may differ in STACK_OPTIONS)
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
    (:meth:`stack`: one network and rule call per sample for all of them, each run's
    numbers bit-equal to its own single job's); stored as its checkpoint
    (:func:`pysim.store.save_state`)."""

    def __init__(self, cfg: ExperimentCfg, method: Method, seed: int, lr: float, samples: int,
                 out: Path, pretrained: Path | None = None):
        self._setup(cfg, [(method, seed, lr)], samples, out, pretrained)

    @classmethod
    def stack(cls, cfg: ExperimentCfg, runs: list[tuple[Method, int, float]],
              samples: int, out: Path, pretrained: Path | None = None) -> Job:
        """Several (method, seed, lr) runs stacked: methods of one :func:`stack_key` that
        :func:`stackable`. ``pretrained``: the folder of cached pretrained networks
        (``out/pretrained``)."""
        why = why_not_stacked(cfg, [m for m, _, _ in runs]) if len(runs) > 1 else None
        if why:
            raise ValueError(why)
        job = cls.__new__(cls)
        job._setup(cfg, runs, samples, out, pretrained)
        return job

    def _setup(self, cfg, runs, samples, out, pretrained) -> None:
        # The runs share the rule and its configuration but for STACK_OPTIONS; the first
        # run's method stands for what they share.
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
        self.runs: list[Run] = []
        nets, rule_rngs, by_seed = [], [], {}
        for m, seed, lr in runs:
            if seed not in by_seed:  # runs of one seed (tuning) share data and image cache
                by_seed[seed] = (load_splits(cfg, seed), {})
                check_classes(cfg, by_seed[seed][0])
            splits, images = by_seed[seed]
            net = cached_pretrain(cfg, seed, splits, device,
                                   Path(pretrained) if pretrained else out / "pretrained")
            # Independent streams: the samples (order, noise images) and the drift are
            # drawn apart from what a method draws (stochastic rounding, LRT's signs,
            # write noise), so every method of a seed adapts to the same samples under
            # the same drift.
            stream, cells, drift, rule = (np.random.default_rng(s) for s in
                                          np.random.SeedSequence([seed, 3]).spawn(4))
            net.deploy(device, cells, drift)
            self.runs.append(Run(seed, lr, job_id(cfg, m, seed, lr, samples), splits,
                                  stream, m, images=images))
            nets.append(net)
            rule_rngs.append(rule)
        self.net = Network.stack(nets)
        methods, lrs = [m for m, _, _ in runs], [lr for _, _, lr in runs]
        # Per affine layer: the crossbar of every job.
        self.xbars = [layer.store.xbar for layer in self.net.affine]
        self.base_counts = [xb.write_counts.copy() for xb in self.xbars]
        self.rules = make_rules(methods, lrs, self.net, self.xbars, rule_rngs, self.accel)
        self.t = 0

    # The view of a Job of one run.
    @property
    def id(self) -> str:
        return stack_id([r.id for r in self.runs])

    @property
    def rng(self) -> np.random.Generator:
        return self._single().rng

    def _single(self) -> Run:
        if len(self.runs) != 1:
            raise AttributeError("a Job of several runs: see Job.runs")
        return self.runs[0]

    def run(self, out: Path, progress=None, checkpoint: bool = True):
        """Adapt on the stream from sample ``t`` to the end (checkpointing at each
        evaluation) and return the results, one per run."""
        # One job, one core: parallelism comes from the pool of jobs. A BLAS that threads
        # a larger product (the per-pixel count's fold) would leave its threads spinning
        # against the other workers for the rest of the job.
        with threadpool_limits(limits=1, user_api="blas"):
            self._run(out, progress, checkpoint)
        return [self.result(i) for i in range(len(self.runs))]

    def _run(self, out: Path, progress, checkpoint: bool) -> None:
        cfg, st = self.cfg, self.cfg.stream
        segs, every = cfg.scenario.segments, cfg.scenario.every
        by_class = [{c: np.flatnonzero(run.splits.online.labels == c)
                     for c in np.unique(run.splits.online.labels)} for run in self.runs]
        adapt = self.method.cfg.rule != "none"
        weights = self.method.cfg.rule not in ("none", "bias")
        bias_lr = self.method.cfg.bias_lr
        ckpt = out / "ckpt" / f"{self.id}.npz"
        while self.t < self.samples:
            k = (self.t // every) % len(segs)
            seg = segs[k]
            images, labels = [], []
            for run, classes in zip(self.runs, by_class, strict=True):
                pool = run.splits.online
                if "classes" in seg:
                    idx = run.rng.choice(np.concatenate([classes[c] for c in seg["classes"]
                                                          if c in classes]))
                else:
                    idx = run.rng.integers(len(pool))
                images.append(run.image("online", idx, k, seg, run.rng))
                labels.append(int(pool.labels[idx]))
            img, label = np.stack(images), np.array(labels)
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
            for run, c in zip(self.runs, correct.tolist(), strict=True):
                run.correct += int(c)
                run.ema = st.ema * run.ema + (1 - st.ema) * float(c)
            if self.t % cfg.scenario.drift_every == 0:
                for xb in self.xbars:
                    xb.drift(cfg.scenario.drift_every)
            if self.t % st.eval_every == 0 or self.t == self.samples:
                for run, point in zip(self.runs, self._evaluate(k, seg), strict=True):
                    run.curve.append(point)
                if checkpoint:
                    save_state(ckpt, (CKPT_MAGIC, self.id, self), "job-checkpoint")
                if progress:
                    progress(self)

    def _evaluate(self, k: int, seg: dict) -> list[dict]:
        """Test accuracy and write counts now, one curve point per run."""
        hits: list[list] = [[] for _ in self.runs]
        todo = []
        for run in self.runs:
            test = run.splits.test
            n = min(len(test), self.cfg.stream.test_images)
            keep = [i for i in range(len(test))
                    if "classes" not in seg or int(test.labels[i]) in seg["classes"]][:n]
            todo.append((keep, np.random.default_rng([run.seed, 4, self.t])))
        self.net.set_tracking(False)
        for j in range(max(len(keep) for keep, _ in todo)):
            images = []
            for run, (keep, rng) in zip(self.runs, todo, strict=True):
                # A run whose class filter kept fewer images predicts a blank, unscored.
                images.append(run.image("test", keep[j], k, seg, rng) if j < len(keep)
                              else np.zeros_like(images[-1] if images else
                                                 run.splits.test.images[0]))
            pred = self.net.predict(np.stack(images))
            for run, (keep, _), p, h in zip(self.runs, todo, pred, hits, strict=True):
                if j < len(keep):
                    h.append(p == run.splits.test.labels[keep[j]])
        self.net.set_tracking(True)
        corr = 1 - self.cfg.stream.ema ** self.t
        points = []
        for i, (run, h) in enumerate(zip(self.runs, hits, strict=True)):
            counts = [xb.write_counts[i] - b[i]
                      for xb, b in zip(self.xbars, self.base_counts, strict=True)]
            pixel = [np.zeros(1, np.int64) if r is None else r.pixel_writes[i]
                     for r in self.rules]
            saturated = sum(np.count_nonzero(self._saturated(xb, i)) for xb in self.xbars)
            points.append({"t": self.t, "ema_acc": run.ema / corr,
                           "saturated_fraction": saturated / sum(
                               xb.shape[0] * xb.shape[1] for xb in self.xbars),
                           "test_acc": float(np.mean(h)),
                           "max_writes": int(max(c.max() for c in counts)),
                           "total_writes": int(sum(c.sum() for c in counts)),
                           "max_pixel_writes": int(max(p.max() for p in pixel)),
                           "total_pixel_writes": int(sum(p.sum() for p in pixel))})
        return points

    def _saturated(self, xb, i: int) -> np.ndarray:
        """Run ``i``'s cells of crossbar ``xb`` at the lowest or highest level."""
        codes = xb.codes()[i]
        return (codes == xb.k_min) | (codes == xb.k_max)

    def result(self, i: int = 0) -> dict:
        """Run ``i``'s result (a single job's: ``result()``)."""
        run = self.runs[i]
        tech, dev = self.accel.energy, self.device
        e = {"mac": 0.0, "sram": 0.0, "nvm": 0.0}
        aux = 0
        for rule in self.rules:
            if rule is None:
                continue
            for k, v in energy_pj(rule.stats, tech).items():
                e[k] += v[i].item()
            aux += rule.aux_words
        last = run.curve[-1]
        per_sample = {k: v / self.t for k, v in e.items()}
        rate = last["max_writes"] / self.t * self.cfg.stream.adaptation_rate
        years = (dev.endurance / rate / (3600 * 24 * 365.25)) if rate > 0 else math.inf
        return {"job": run.id, "method": run.method.name, "seed": run.seed, "lr": run.lr,
                "samples": self.t, "curve": run.curve, "final_ema_acc": last["ema_acc"],
                "mean_online_acc": run.correct / self.t,
                "final_test_acc": last["test_acc"], "max_writes": last["max_writes"],
                "saturated_fraction": last["saturated_fraction"],
                "total_writes": last["total_writes"],
                "max_pixel_writes": last["max_pixel_writes"],
                "total_pixel_writes": last["total_pixel_writes"], "aux_words": aux,
                "energy_pj_per_sample": per_sample,
                "lifetime_years": years if math.isfinite(years) else None,
                "hw_check": [r.check for r in self.rules if hasattr(r, "check")],
                "hw_stats": [r.hw_stats() for r in self.rules if hasattr(r, "hw_stats")]}


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
