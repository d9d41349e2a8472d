"""The results page's findings: the seed's claims checked one by one (:mod:`.claims`), the
gap to tuned SGD, why round-to-nearest SGD collapses, and how the weight grid shapes every
write ratio.

Every figure and verdict here is computed from the studies' results (and the collapse
traces, :mod:`pysim.experiments.diagnostics`): nothing is typed in. A row whose study has not run
says so.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..config import preset_dir
from ..store import read_json_or_none, write_json
from .claims import claims_table, points, writes_mean, writes_ratio
from .report import acc, best

CONFIGS = preset_dir("experiments")
# The weight-grid sweep: mlp_rotation at each multiple of the seed's alpha.
WSCALE = (("mlp_wscale_0p5", 0.5), ("mlp_rotation", 1.0), ("mlp_wscale_2", 2.0),
          ("mlp_wscale_4", 4.0))
RULES = (("sgd", "per-sample SGD"), ("mixed", "mixed precision"), ("minibatch", "mini-batch"),
         ("lrt", "LRT"))
COLLAPSE = {"study": "mlp_rotation", "lr": 0.03, "seed": 0}


GAP_STUDIES = ("mlp_rotation_beyond", "mlp_seed_drift_beyond")
# The target for an LRT variant beyond the seed: accuracy within this many points of tuned
# per-sample SGD, at least this many times fewer worst-case writes, at most this fraction
# of the mini-batch accumulator's memory.
GAP_TARGET = {"points": 1.0, "writes_x": 20.0, "memory": 0.2}


def sections(done: dict[str, dict], out: Path, img: Path) -> list[str]:
    """All findings sections, in page order."""
    return (claims_table(done) + gap_section(done) + collapse_section(out, img, done)
            + weight_grid_section(done))


# --- 2. why round-to-nearest SGD collapses -------------------------------------------------
def collapse_section(out: Path, img: Path, done: dict[str, dict]) -> list[str]:
    """Trace the output layer under per-sample SGD (rounding to nearest, with and without
    max-norm, and stochastic) on mlp_rotation; cached in ``out/diagnostics``."""
    if COLLAPSE["study"] not in done:
        return []
    traces = _collapse_traces(out)
    from .diagnostics import plot_traces

    plot_traces(traces, img / "collapse.png")
    lines = ["### Why round-to-nearest per-sample SGD collapses\n",
             f"`{COLLAPSE['study']}`, seed {COLLAPSE['seed']}, every variant at lr "
             f"{COLLAPSE['lr']:g} (`pysim.experiments.diagnostics`); the output layer's "
             "crossbar read "
             f"every {traces[0].window} samples: the share of its level changes that are "
             "increases, its mean level code and the fraction of its cells at a range "
             "end.\n",
             "| method | online acc (end) | increases / all level changes | mean level first → "
             "last window | cells at a range end first → last window |",
             "|---|---|---|---|---|"]
    for tr in traces:
        lines.append(f"| {tr.method} | {tr.ema_acc[-1]:.3f} | {tr.up_fraction:.3f} | "
                     f"{tr.mean_level[0]:+.1f} → {tr.mean_level[-1]:+.1f} | "
                     f"{tr.saturated[0]:.3f} → {tr.saturated[-1]:.3f} |")
    rtn = next(t for t in traces if t.method == "sgd")
    sr = next((t for t in traces if t.method == "sgd-sr"), None)
    one_signed = rtn.up_fraction > 0.75 and rtn.saturated[-1] > 2 * rtn.saturated[0]
    if one_signed:
        text = (f"Rounding to nearest keeps only the update entries above half a level. In "
                f"the output layer those are the true class's row, (p − 1)·x, one-signed: "
                f"{100 * rtn.up_fraction:.0f} % of the level changes are increases, the "
                f"mean level climbs from {rtn.mean_level[0]:+.1f} to "
                f"{rtn.mean_level[-1]:+.1f} and the cells at a range end grow from "
                f"{100 * rtn.saturated[0]:.0f} % to {100 * rtn.saturated[-1]:.0f} %: the "
                "class scores lose their differences and accuracy falls to chance.")
        if sr is not None:
            text += (f" Stochastic rounding keeps the small entries in expectation: "
                     f"{100 * sr.up_fraction:.0f} % increases, mean level "
                     f"{sr.mean_level[0]:+.1f} → {sr.mean_level[-1]:+.1f}, "
                     f"{100 * sr.saturated[-1]:.0f} % at a range end, online accuracy "
                     f"{sr.ema_acc[-1]:.3f}.")
    else:
        text = ("This run does not show a one-signed drift of the output layer "
                f"({100 * rtn.up_fraction:.0f} % increases); the collapse has another cause "
                "here.")
    return lines + ["", f"- {text}", "", "![collapse](img/collapse.png)", ""]


def _collapse_traces(out: Path):
    from .diagnostics import Trace, collapse_traces
    from .schema import ExperimentCfg

    cache = out / "diagnostics" / "collapse.json"
    cfg = ExperimentCfg.load(CONFIGS / f"{COLLAPSE['study']}.yaml")
    from .jobstore import RESULT_VERSION

    key = {"cfg": str(cfg), "version": RESULT_VERSION, **COLLAPSE}
    data = read_json_or_none(cache)
    if data is not None and data.get("key") == json.loads(json.dumps(key)):
        return [Trace(**{k: tuple(v) if isinstance(v, list) else v for k, v in t.items()})
                for t in data["traces"]]
    traces = collapse_traces(cfg, out / "diagnostics", COLLAPSE["lr"], COLLAPSE["seed"],
                             pretrained=out / "pretrained")
    from .diagnostics import trace_json
    write_json(cache, {"key": key, "traces": [trace_json(t) for t in traces]})
    return traces


# --- 3. the weight grid ---------------------------------------------------------------------
def weight_grid_section(done: dict[str, dict]) -> list[str]:
    """Each rule's accuracy, worst-case writes and saturated cells at ×0.5 … ×4 the seed's
    alpha (mlp_rotation and configs/experiments/mlp_wscale_*.yaml)."""
    runs = [(name, scale, done[name]) for name, scale in WSCALE if name in done]
    if len(runs) < 2:
        return []
    lines = ["### Weight-grid sensitivity (MLP, rotation; configs/experiments/"
             "mlp_wscale_*.yaml)\n",
             "Each layer's alpha (stored level → weight) at a multiple of the seed's "
             "2^floor(log2 √(6/fan_in)); a larger alpha is a coarser grid with fewer cells at "
             "the range ends. Cells: online accuracy (end) / worst-case writes per cell / "
             "fraction of cells at a range end at the end of the stream; degenerate tunings "
             "(never wrote) are not results and are left out.\n",
             "| alpha × | inference only | " + " | ".join(t for _, t in RULES)
             + " | SGD ÷ LRT worst-case writes |", "|---" * (len(RULES) + 3) + "|"]
    for _, scale, s in runs:
        inf = best(s, "none")
        cells = [f"{acc(inf):.3f} / 0 / {inf['saturated_fraction']['mean']:.2f}"
                 if inf and "saturated_fraction" in inf else "–"]
        for rule, _ in RULES:
            r = best(s, rule)
            cells.append("–" if r is None else
                         f"{acc(r):.3f} / {writes_mean(r):,.0f} / "
                         f"{r.get('saturated_fraction', {}).get('mean', float('nan')):.2f}")
        ratio = writes_ratio(best(s, "sgd"), best(s, "lrt"))
        cells.append("–" if ratio is None else f"{ratio:.1f}×")
        lines.append(f"| {scale:g} | " + " | ".join(cells) + " |")
    degenerate = [f"{s['name']}: {r['method']}" for _, _, s in runs for r in s["rows"]
                  if r.get("degenerate")]
    lines.append("")
    if degenerate:
        lines.append("- Degenerate tunings left out: " + ", ".join(degenerate) + ".")
    at = {scale: s for _, scale, s in runs}
    if 1.0 in at:
        inf1 = best(at[1.0], "none")
        sat = "" if inf1 is None or "saturated_fraction" not in inf1 else (
            f" At ×1, {100 * inf1['saturated_fraction']['mean']:.0f} % of the deployed "
            "network's cells sit at a range end (inference-only, end of the stream).")
        lines.append("- The headline tables use ×1, the seed's alpha, so that write counts "
                     "and ratios compare with the seed's." + sat)
    return lines + [""]


# --- 4. closing the gap to tuned SGD --------------------------------------------------------
def gap_section(done: dict[str, dict]) -> list[str]:
    """Each LRT variant of the beyond-the-seed studies against tuned per-sample SGD (the
    most accurate SGD variant) and the mini-batch accumulator, with the target met or
    not; then which variant meets it in every study, or the front as measured."""
    runs = [(n, done[n]) for n in GAP_STUDIES if n in done]
    if not runs:
        return []
    t = GAP_TARGET
    lines = ["### Beyond the seed: closing the gap to tuned per-sample SGD (configs/"
             "experiments/mlp_*_beyond.yaml)\n",
             f"Target: online accuracy (end) within {t['points']:g} pt of tuned per-sample "
             f"SGD, ≥ {t['writes_x']:g}× fewer worst-case writes per cell, aux memory ≤ "
             f"{t['memory']:g} of the mini-batch accumulator's; same grid, seeds and stream.\n",
             "| study | variant | online acc (end) | − tuned SGD | SGD ÷ variant worst-case "
             "writes | aux ÷ mini-batch | meets |", "|---|---|---|---|---|---|---|"]
    met: dict[str, list[bool]] = {}
    for name, s in runs:
        sgd, mb = best(s, "sgd"), best(s, "minibatch")
        for r in s["rows"]:
            if r["rule"] != "lrt" or r.get("degenerate") or sgd is None or mb is None:
                continue
            d, x = points(r, sgd), writes_ratio(sgd, r)
            mem = r["aux_words"] / mb["aux_words"]
            ok = d >= -t["points"] and x >= t["writes_x"] and mem <= t["memory"]
            met.setdefault(r["method"], []).append(ok)
            lines.append(f"| {name} | {r['method']} | {acc(r):.3f} ± {r['ema_acc']['std']:.3f}"
                         f" | {d:+.1f} pt | {x:.1f}× | {mem:.3f} | {'yes' if ok else 'no'} |")
    winners = [m for m, oks in met.items() if len(oks) == len(runs) and all(oks)]
    lines.append("")
    if winners:
        lines.append(f"- Meets the target in every study: {', '.join(winners)}.")
    else:
        lines.append("- No variant meets all three targets in every study. " + _front(runs))
    return lines + [""]


def _front(runs) -> str:
    """Per study, the most accurate variant at ≥ the writes target, and the variant with
    the most writes saved among those within the accuracy target (if any)."""
    t, parts = GAP_TARGET, []
    for name, s in runs:
        sgd = best(s, "sgd")
        rows = [r for r in s["rows"] if r["rule"] == "lrt" and not r.get("degenerate")]
        frugal = [r for r in rows if writes_ratio(sgd, r) >= t["writes_x"]]
        close = [r for r in rows if points(r, sgd) >= -t["points"]]
        part = f"{name}: "
        if frugal:
            f = max(frugal, key=acc)
            part += (f"at ≥ {t['writes_x']:g}× fewer writes the best is {f['method']} "
                     f"({points(f, sgd):+.1f} pt)")
        if close:
            c = max(close, key=lambda r: writes_ratio(sgd, r))
            part += (f"{'; ' if frugal else ''}within {t['points']:g} pt the most frugal is "
                     f"{c['method']} ({writes_ratio(sgd, c):.1f}× fewer writes)")
        parts.append(part)
    return "The front as measured — " + "; ".join(parts) + "."


# --- the CNN at the seed's geometry ---------------------------------------------------------
SEED_GEOMETRY = ("cnn28_rotation", "cnn28_seed_drift", "cnn28_seed_digital_drift")


def data_label(data) -> str:
    """Where a study's images come from, as the page names it (``data``: a DataCfg)."""
    if data.dataset == "mnist":
        src = "MNIST (IDX files)"
        return src if data.image_size in (None, 28) else f"{src} resampled to " \
            f"{data.image_size}×{data.image_size}"
    h, w = data.image_shape
    if data.image_size is None:
        return f"digits {h}×{w}"
    return f"digits resampled to {h}×{w} (a stand-in for MNIST)"


def _config_label(name: str) -> str:
    from .schema import ExperimentCfg

    try:
        return data_label(ExperimentCfg.load(CONFIGS / f"{name}.yaml").data)
    except Exception as exc:  # the page still shows the numbers
        return f"(config not readable: {exc})"


def seed_geometry_section(done: dict[str, dict], sources: dict[str, str] | None = None,
                          names: tuple[str, ...] = SEED_GEOMETRY) -> list[str]:
    """The CNN whose first conv layer has the seed's 26×26 = 676 output pixels: worst-case
    writes per cell of the most accurate tuned per-sample SGD variant ÷ the most accurate
    LRT variant, physical (level changes) and the seed's per-pixel count, per study, with
    the data source. Empty unless one of ``names`` has results; ``sources`` maps a study
    to its data label (default: read from its config)."""
    lines = []
    for name in names:
        s = done.get(name)
        if s is None:
            continue
        sgd, lrt = best(s, "sgd"), best(s, "lrt")
        src = (sources or {}).get(name) or _config_label(name)
        if sgd is None or lrt is None:
            lines.append(f"| {name} | {src} | {s['samples']:,} | – | – | – | – |")
            continue
        phys = writes_ratio(sgd, lrt, "max_writes")
        pix = writes_ratio(sgd, lrt, "max_pixel_writes")
        lines.append(
            f"| {name} | {src} | {s['samples']:,} | {sgd['method']} ({acc(sgd):.3f}) "
            f"| {lrt['method']} ({acc(lrt):.3f}) "
            f"| {writes_mean(sgd):,.0f} ÷ {writes_mean(lrt):,.0f} = {phys:,.1f}× "
            f"| {writes_mean(sgd, 'max_pixel_writes'):,.0f} ÷ "
            f"{writes_mean(lrt, 'max_pixel_writes'):,.0f} = {pix:,.1f}× |")
    if not lines:
        return []
    return ["### The CNN at the seed's geometry (28×28 images: conv1 has 26×26 = 676 output "
            "pixels; configs/experiments/cnn28_*.yaml, `--extended`)\n",
            "Worst-case writes per cell, the most accurate tuned per-sample SGD variant ÷ the "
            "most accurate LRT variant (online accuracy at the end in brackets), mean over the "
            "seeds: physical = level changes of a cell; per-pixel = the seed's count, in which "
            "SGD writes a conv cell once per output pixel of a sample (one rank-1 term each). "
            "LRT counts are floored at 1.\n",
            "| study | data | samples | SGD | LRT | physical SGD ÷ LRT | per-pixel SGD ÷ LRT |",
            "|---|---|---|---|---|---|---|"] + lines + [""]
