"""Why round-to-nearest per-sample SGD collapses: a trace of the output layer.

A per-sample update ``-lr·g`` rounded to the nearest level keeps only the entries larger
than half a level. In the output layer the true class's row gets ``(p - 1)·x``, large and
one-signed (weights up), the other rows ``p_j·x``, small, mostly rounded away: if that is
what happens, the layer's level changes are mostly increases, its mean level climbs and
its cells pile up at the top of the range. :func:`trace` measures exactly these three
things, window by window along a study's stream, so the results page states what the
run shows rather than what this docstring expects.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .job import Job
from .schema import ExperimentCfg, Method, expand_methods


@dataclass(frozen=True)
class Trace:
    """One job's output-layer trace, one entry per window of ``window`` samples.

    ``up``/``down``: cells whose level rose/fell over the window (net change per cell);
    ``mean_level``: mean level code of the layer's cells (LSB); ``saturated``: fraction
    of its cells at the lowest or highest level; ``ema_acc``: online accuracy (EMA).
    """

    method: str
    lr: float
    seed: int
    window: int
    t: tuple
    up: tuple
    down: tuple
    mean_level: tuple
    saturated: tuple
    ema_acc: tuple

    @property
    def up_fraction(self) -> float:
        """Share of the increases among all level changes over the stream (0.5: balanced)."""
        moved = sum(self.up) + sum(self.down)
        return sum(self.up) / moved if moved else 0.5


def trace(cfg: ExperimentCfg, method: Method, seed: int, lr: float, out: Path,
          window: int = 250, samples: int | None = None, pretrained: Path | None = None
          ) -> Trace:
    """Run ``method`` at ``lr`` on ``cfg``'s stream (``samples`` long, default the
    study's) and record the output layer's :class:`Trace` every ``window`` samples.

    The job is the study's own (same pretrained network, stream and drift); it is only
    stopped at each window's end to read the crossbar, which changes nothing it computes
    but its extra evaluations (not recorded here). ``pretrained``: the folder of cached
    pretrained networks (default ``out/pretrained``).
    """
    total = samples or cfg.stream.samples
    job = Job(cfg, method, seed, lr, total, out, pretrained=pretrained)
    xb = job.xbars[-1]
    rows: dict[str, list] = {k: [] for k in ("t", "up", "down", "mean_level", "saturated",
                                             "ema_acc")}
    for end in range(window, total + 1, window):
        before = xb.codes().copy()
        job.samples = end
        result = job.run(out, checkpoint=False)[0]
        codes = xb.codes()
        rows["t"].append(end)
        rows["up"].append(int(np.count_nonzero(codes > before)))
        rows["down"].append(int(np.count_nonzero(codes < before)))
        rows["mean_level"].append(float(codes.mean()))
        rows["saturated"].append(float(np.mean((codes == xb.k_min) | (codes == xb.k_max))))
        rows["ema_acc"].append(float(result["curve"][-1]["ema_acc"]))
    return Trace(method.name, lr, seed, window, **{k: tuple(v) for k, v in rows.items()})


def collapse_traces(cfg: ExperimentCfg, out: Path, lr: float = 0.03, seed: int = 0,
                    names: tuple[str, ...] = ("sgd", "sgd-maxnorm", "sgd-sr"),
                    samples: int | None = None, pretrained: Path | None = None
                    ) -> list[Trace]:
    """The traces of round-to-nearest SGD (with and without max-norm) and of SGD with
    stochastic rounding, all at one learning rate on one seed of ``cfg``."""
    methods = {m.name: m for m in expand_methods(cfg)}
    missing = [n for n in names if n not in methods]
    if missing:
        raise ValueError(f"{cfg.name} has no method {missing}; it has {sorted(methods)}")
    return [trace(cfg, methods[n], seed, lr, out, samples=samples, pretrained=pretrained)
            for n in names]


def trace_json(tr: Trace) -> dict:
    return dataclasses.asdict(tr)


def plot_traces(traces: list[Trace], path: Path) -> Path:
    """Four panels over the stream: online accuracy, share of increases per window, mean
    level, saturated fraction (PNG at ``path``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    for tr in traces:
        t = np.array(tr.t)
        moved = np.array(tr.up) + np.array(tr.down)
        share = np.divide(np.array(tr.up), moved, out=np.full(len(t), np.nan),
                          where=moved > 0)
        label = f"{tr.method} (lr {tr.lr:g})"
        for ax, y in zip(axes, (tr.ema_acc, share, tr.mean_level, tr.saturated), strict=True):
            ax.plot(t, y, label=label)
    titles = ("online accuracy (EMA)", "share of level changes that are increases",
              "mean level code (LSB)", "fraction of cells at a range end")
    for ax, title in zip(axes, titles, strict=True):
        ax.set(title=title, xlabel="samples")
        ax.grid(alpha=0.3)
    axes[1].axhline(0.5, color="grey", lw=0.8, ls=":")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Output layer under per-sample SGD (seed {traces[0].seed}, windows of "
                 f"{traces[0].window} samples)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
