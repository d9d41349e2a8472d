"""The crossover study's presentation: the markdown table, the summary sentences, the
plot and the results-page section, from the rows :func:`pysim.experiments.crossover.run`
computes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .crossover import ACCOUNTING, BASELINES, LRT_RULES, SHAPES, crossovers, series


def fmt_width(w: int | None) -> str:
    return "none ≤ max width" if w is None else f"{w}"


def _columns(rows: list[dict]) -> list[tuple[str, int | None, str]]:
    """(rule, rank, heading) of every series present: the baselines, then LRT per rank
    under float accounting and on pysim.hw."""
    cols = [("sgd", None, "per-sample SGD"), ("minibatch", None, "mini-batch"),
            ("mixed", None, "mixed precision")]
    for rule in LRT_RULES:
        for k in sorted({r["rank"] for r in rows if r["rule"] == rule}):
            cols.append((rule, k, f"LRT r = {k} ({ACCOUNTING[rule]})"))
    return [c for c in cols if any(r["rule"] == c[0] for r in rows)]


def table(rows: list[dict], preset: str = "rram") -> list[str]:
    """Markdown: per shape and width, nJ per adapted sample (MAC+SRAM+NVM) of each rule on
    ``preset``, then the crossover widths of every preset."""
    cols = _columns(rows)
    lines = [f"Energy per adapted sample on `{preset}`, nJ total (MAC / SRAM / NVM), from each "
             "rule's own counters on the synthetic stream:\n",
             "| layer (n_out × n_in) | " + " | ".join(c[2] for c in cols) + " |",
             "|---" * (len(cols) + 1) + "|"]
    for shape in sorted({r["shape"] for r in rows}, key=SHAPES.index):
        for w in sorted({r["width"] for r in rows}):
            cells, dims = [], None
            for rule, rank, _ in cols:
                m = [r for r in rows if r["preset"] == preset and r["shape"] == shape
                     and r["width"] == w and r["rule"] == rule
                     and (rank is None or r["rank"] == rank)]
                if not m:
                    cells.append("–")
                    continue
                e, dims = m[0]["energy_pj"], (m[0]["n_out"], m[0]["n_in"])
                cells.append(f"{e['total'] / 1e3:.3g} ({e['mac'] / 1e3:.2g} / "
                             f"{e['sram'] / 1e3:.2g} / {e['nvm'] / 1e3:.2g})")
            if dims:
                lines.append(f"| {dims[0]} × {dims[1]} | " + " | ".join(cells) + " |")
    cx = crossovers(rows)
    lines += ["", "Crossover: smallest layer width (n_in) from which LRT's energy per sample "
              "stays below the baseline's up to the largest width run:\n",
              "| preset | shape | rank | LRT priced by | vs per-sample SGD | vs mini-batch | "
              "vs mixed precision |", "|---|---|---|---|---|---|---|"]
    for (p, s, k, rule) in sorted({key[:4] for key in cx}):
        lines.append(f"| {p} | {s} | {k} | {ACCOUNTING[rule]} | "
                     + " | ".join(fmt_width(cx[(p, s, k, rule, b)])
                                  if (p, s, k, rule, b) in cx else "–" for b in BASELINES)
                     + " |")
    return lines + [""]


def summary_text(rows: list[dict], preset: str = "rram") -> str:
    """One generated sentence per rank and accounting naming the crossover widths on
    ``preset``."""
    cx = crossovers(rows)
    names = {"sgd": "per-sample SGD", "minibatch": "mini-batch", "mixed": "mixed precision"}
    out = []
    for (p, s, k, rule) in sorted({key[:4] for key in cx}):
        if p != preset:
            continue
        run_ = [b for b in BASELINES if (p, s, k, rule, b) in cx]
        parts = [f"below {names[b]} from width {cx[(p, s, k, rule, b)]}"
                 if cx[(p, s, k, rule, b)] is not None
                 else f"not below {names[b]} at the largest width" for b in run_]
        out.append(f"On {p}, {s} layers, r = {k}, priced by {ACCOUNTING[rule]}, LRT's energy "
                   "per sample is " + "; ".join(parts) + ".")
    return " ".join(out)


def hw_ratio_text(rows: list[dict], preset: str = "rram") -> str:
    """How the accelerator's own counts compare with the float accounting of LRT."""
    pairs = []
    for r in rows:
        if r["rule"] != "lrt_hw" or r["preset"] != preset:
            continue
        f = [q for q in rows if q["rule"] == "lrt" and q["preset"] == preset
             and (q["shape"], q["width"], q["rank"]) == (r["shape"], r["width"], r["rank"])]
        if f and f[0]["energy_pj"]["total"] > 0:
            pairs.append(r["energy_pj"]["total"] / f[0]["energy_pj"]["total"])
    if not pairs:
        return ""
    return (f"The accelerator's stats price LRT at {min(pairs):.2g}–{max(pairs):.2g}× its "
            f"float accounting on {preset} (median {float(np.median(pairs)):.2g}×): the "
            "hardware moves whole factor words through SRAM in every pass, runs the core "
            "on a scalar unit cycle by cycle, and reads every cell to compare at commit; "
            "the float accounting counts only the update's arithmetic and factor elements.")


def plot(rows: list[dict], path: Path, preset: str = "rram") -> Path:
    """Log-log energy per sample against width, one line per rule, LRT r = 4 and 8
    (dashed: priced by the accelerator's stats);
    a zero energy is drawn at the axis floor (a log axis has no zero)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    shapes = [s for s in SHAPES if any(r["shape"] == s for r in rows)]
    fig, axes = plt.subplots(1, len(shapes), figsize=(6 * len(shapes), 4.5), squeeze=False)
    pos = [r["energy_pj"]["total"] for r in rows if r["energy_pj"]["total"] > 0]
    floor = min(pos) / 2 if pos else 1.0
    for ax, shape in zip(axes[0], shapes, strict=True):
        for rule, rank, label in _columns(rows):
            w, e = series(rows, preset, shape, rule, rank)
            if w:
                ax.loglog(w, [max(v, floor) / 1e3 for v in e], marker="o", label=label,
                          linestyle="--" if rule == "lrt_hw" else "-")
        ax.set_xlabel("layer width n_in")
        ax.set_ylabel("nJ per adapted sample")
        ax.set_title(f"{preset}, {shape} layers")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _write_share(rows: list[dict], rule: str, preset: str = "rram") -> float:
    """Mean over ``preset``'s runs of cells written per sample ÷ cells of the layer."""
    v = [r["writes_per_sample"] / (r["n_out"] * r["n_in"]) for r in rows
         if r["rule"] == rule and r["preset"] == preset]
    return float(np.mean(v)) if v else 0.0


def section(rows: list[dict], img: Path, rel: str, cpu_s: float) -> list[str]:
    """The results page's crossover section (table, text, plot)."""
    plot(rows, img)
    rates = [f"{names} {100 * _write_share(rows, rule):.0f}%" for rule, names in
             (("sgd", "per-sample SGD"), ("minibatch", "mini-batch"),
              ("mixed", "mixed precision"), ("lrt", "LRT"))]
    rate_text = ("Write rate of the stream (cells written per sample ÷ cells, mean over the "
                 "RRAM runs): " + ", ".join(rates) + ". NVM energy scales with it: a "
                 "gentler stream (smaller `update_lsb`) moves the crossover against SGD to "
                 "larger widths.\n")
    return (["### Energy per adapted sample against layer size (crossover study)\n",
             "`python -m pysim.experiments.crossover`: "
             f"{len({(r['preset']) for r in rows})} device presets, "
             f"{len({r['width'] for r in rows})} widths, square and 10-output layers, "
             f"{rows[0]['samples']} samples of a synthetic "
             f"rank-1 gradient stream per run (rms per-sample update {rows[0]['update_lsb']:g} "
             f"LSB; see the module docstring); {cpu_s:.0f} CPU-s.\n", rate_text,
             summary_text(rows) + "\n", hw_ratio_text(rows) + "\n"]
            + table(rows) + [f"![crossover]({rel})\n"])
