"""Tables and plots of a study (``python -m pysim report DIR`` regenerates them)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..store import read_json


def fmt_life(v) -> str:
    """Lifetime in years for tables: ∞ when no cell is ever written."""
    return "∞" if v is None else (f"{v:.3g}" if v < 1e6 else f"{v:.1e}")


# Marks a weight rule whose tuned runs never changed a level (not a result of the rule).
DEGENERATE = " (degenerate: never wrote)"


def _row(summary: dict, name: str) -> dict | None:
    return next((r for r in summary["rows"] if r["method"] == name), None)


def best(summary: dict, rule: str) -> dict | None:
    """The most accurate row of a rule (its variants: max-norm, rounding, rank...), not
    counting degenerate tunings (never wrote)."""
    cands = [r for r in summary["rows"] if r["rule"] == rule and not r.get("degenerate")]
    return max(cands, key=lambda r: r["ema_acc"]["mean"]) if cands else None


def acc(row: dict) -> float:
    return row["ema_acc"]["mean"]


def mean_std(stat: dict | None) -> str:
    """``mean ± std`` of an aggregated statistic (3 decimals), "–" when absent."""
    return "–" if stat is None else f"{stat['mean']:.3f} ± {stat['std']:.3f}"


def markdown_table(summary: dict) -> str:
    lines = [f"### {summary['name']} — {summary['network']} on {summary['device']}, "
             f"{summary['samples']} samples, seeds {summary['seeds']}",
             "",
             "| method | lr | online acc (end) | online acc (mean) | test acc | max writes/cell "
             "| total writes | max per-pixel | aux words | energy/sample MAC / SRAM / NVM (pJ) "
             "| lifetime (y) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary["rows"]:
        e = r["energy_pj_per_sample"]
        lr = "-" if r["rule"] == "none" else f"{r['lr']:g}"
        lines.append(
            f"| {r['method']}{DEGENERATE if r.get('degenerate') else ''} | {lr} "
            f"| {mean_std(r['ema_acc'])} | {mean_std(r.get('mean_acc'))}"
            f" | {mean_std(r['test_acc'])}"
            f" | {r['max_writes']['mean']:.0f} | {r['total_writes']['mean']:.0f}"
            f" | {r['max_pixel_writes']['mean']:.0f} | {r['aux_words']}"
            f" | {e['mac']:.0f} / {e['sram']:.0f} / {e['nvm']:.0f}"
            f" | {fmt_life(r['lifetime_years'])} |")
    return "\n".join(lines) + "\n"


def write_csv(summary: dict, path: Path) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["method", "lr", "ema_acc_mean", "ema_acc_std", "mean_acc_mean",
                    "test_acc_mean",
                    "test_acc_std", "max_writes_mean", "total_writes_mean",
                    "max_pixel_writes_mean", "aux_words", "mac_pj", "sram_pj", "nvm_pj",
                    "lifetime_years"])
        for r in summary["rows"]:
            e = r["energy_pj_per_sample"]
            w.writerow([r["method"], r["lr"], r["ema_acc"]["mean"], r["ema_acc"]["std"],
                        r.get("mean_acc", {}).get("mean"), r["test_acc"]["mean"],
                        r["test_acc"]["std"], r["max_writes"]["mean"],
                        r["total_writes"]["mean"], r["max_pixel_writes"]["mean"],
                        r["aux_words"], e["mac"], e["sram"], e["nvm"], r["lifetime_years"]])


def plots(summary: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_method: dict[str, list] = {}
    for job in summary["jobs"]:
        by_method.setdefault(job["method"], []).append(job["curve"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    colors = plt.get_cmap("tab20").colors
    for k, (name, curves) in enumerate(by_method.items()):
        style = {"color": colors[(2 * k) % 20 if k < 10 else (2 * k + 1) % 20],
                 "linestyle": "--" if "maxnorm" in name else "-"}
        t = [c["t"] for c in curves[0]]
        acc = np.mean([[c["ema_acc"] for c in cur] for cur in curves], axis=0)
        writes = np.mean([[c["max_writes"] for c in cur] for cur in curves], axis=0)
        axes[0].plot(t, acc, label=name, **style)
        axes[1].plot(t, np.maximum(writes, 0.5), label=name, **style)
    axes[0].set(xlabel="samples", ylabel="online accuracy (EMA)",
                title=f"{summary['name']}: accuracy")
    axes[1].set(xlabel="samples", ylabel="worst-case writes per cell (0 drawn at 0.5)",
                yscale="log", title="worst-case cell writes (level changes)")
    axes[0].legend(fontsize=7)
    axes[0].grid(alpha=0.3)
    axes[1].grid(alpha=0.3)
    fig.tight_layout()
    p1 = out / "accuracy_writes.png"
    fig.savefig(p1, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 4))
    names = [r["method"] for r in summary["rows"]]
    bottom = np.zeros(len(names))
    for key in ("mac", "sram", "nvm"):
        vals = np.array([r["energy_pj_per_sample"][key] for r in summary["rows"]])
        ax.bar(names, vals, bottom=bottom, label=key.upper())
        bottom += vals
    ax.set(ylabel="pJ per adapted sample", title="energy split")
    ax.tick_params(axis="x", rotation=45, labelsize=7)
    ax.legend()
    fig.tight_layout()
    p2 = out / "energy.png"
    fig.savefig(p2, dpi=110)
    plt.close(fig)
    return [p1, p2]


def write_report(summary: dict, out: str | Path) -> str:
    out = Path(out)
    table = markdown_table(summary)
    (out / "table.md").write_text(table)
    write_csv(summary, out / "results.csv")
    plots(summary, out)
    return table


def report_dir(out: str | Path) -> str:
    path = Path(out) / "results.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `python -m pysim run CONFIG --out "
                                f"{out}` first")
    return write_report(read_json(path), out)
