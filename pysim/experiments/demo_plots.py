"""The demo's figure (``nox -s demo``): accuracy over the stream with the shifts marked,
worst-case writes per cell, energy per adapted sample by part, and lifetime."""

from __future__ import annotations

import math
from pathlib import Path

from .schema import ExperimentCfg


def shift_points(cfg: ExperimentCfg) -> list[int]:
    """Samples at which the stream moves to its next segment (none with one segment)."""
    sc, n = cfg.scenario, cfg.stream.samples
    if len(sc.segments) < 2:
        return []
    return list(range(sc.every, n, sc.every))


def _accuracy(ax, cfg: ExperimentCfg, results: dict[str, dict]) -> None:
    for label, r in results.items():
        t = [c["t"] for c in r["curve"]]
        ax.plot(t, [c["ema_acc"] for c in r["curve"]], "--" if label == "lrt-rtl" else "-",
                label=label)
    for k, t in enumerate(shift_points(cfg)):
        ax.axvline(t, color="k", lw=0.8, ls=":", label="input shift" if k == 0 else None)
    ax.set(xlabel="samples", ylabel="online accuracy (EMA)", title=cfg.name, ylim=(0, 1))
    ax.legend(fontsize=7)


def _writes(ax, results: dict[str, dict]) -> None:
    """Worst-case writes per cell on a symmetric-log axis: zero stays zero (inference)."""
    for label, r in results.items():
        t = [c["t"] for c in r["curve"]]
        ax.plot(t, [c["max_writes"] for c in r["curve"]],
                "--" if label == "lrt-rtl" else "-", label=label)
    ax.set_yscale("symlog", linthresh=1)
    ax.set_ylim(bottom=0)
    ax.set(xlabel="samples", ylabel="worst-case writes per cell",
           title="worst-case cell writes (level changes)")


def _energy(ax, results: dict[str, dict]) -> None:
    """Energy per adapted sample, stacked: MAC, SRAM, NVM (pJ)."""
    names = list(results)
    bottom = [0.0] * len(names)
    for part in ("mac", "sram", "nvm"):
        vals = [results[n]["energy_pj_per_sample"][part] for n in names]
        ax.bar(names, vals, bottom=bottom, label=part.upper())
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set(ylabel="pJ per sample", title="energy per adapted sample")
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    ax.legend(fontsize=7)


def _lifetime(ax, results: dict[str, dict]) -> None:
    """Years until the first cell reaches its endurance; ∞ when nothing is written."""
    names = list(results)
    years = [results[n]["lifetime_years"] for n in names]
    finite = [y for y in years if y is not None and math.isfinite(y)]
    top = max(finite) * 10 if finite else 1.0
    ax.bar(names, [top if y is None else y for y in years],
           color=["lightgrey" if y is None else "C0" for y in years])
    for i, y in enumerate(years):
        if y is None:
            ax.text(i, top, "∞ (no writes)", ha="center", va="bottom", fontsize=7)
    ax.set_yscale("log")
    ax.set(ylabel="years", title="lifetime until the first cell wears out")
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)


def plot(cfg: ExperimentCfg, results: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    _accuracy(axes[0, 0], cfg, results)
    _writes(axes[0, 1], results)
    _energy(axes[1, 0], results)
    _lifetime(axes[1, 1], results)
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
