"""The results page's findings: the seed's claims checked one by one, why round-to-nearest
SGD collapses, and how the weight grid shapes every write ratio.

Every figure and verdict here is computed from the studies' results (and the collapse
traces, :mod:`pysim.experiments.diagnostics`): nothing is typed in. A row whose study has not run
says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from ..config import preset_dir
from ..store import read_json_or_none, write_json
from .report import _row, acc, best

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


# --- helpers ------------------------------------------------------------------------------
def _writes(row: dict, key: str = "max_writes") -> float:
    return row[key]["mean"]


def _ratio(num: dict | None, den: dict | None, key: str = "max_writes") -> float | None:
    if num is None or den is None:
        return None
    return _writes(num, key) / max(_writes(den, key), 1.0)


def _pt(a: dict | None, b: dict | None) -> float | None:
    return None if a is None or b is None else 100 * (acc(a) - acc(b))


def _spread(*rows: dict | None) -> float:
    """The larger seed-to-seed std of the rows' end accuracy, in points."""
    return 100 * max((r["ema_acc"]["std"] for r in rows if r is not None), default=0.0)


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "not run"
    return f"{v:,.0f}×" if unit == "x" else f"{v:+.1f} pt"


# --- 1. the seed's claims -----------------------------------------------------------------
def claims_table(done: dict[str, dict]) -> list[str]:
    """One row per claim of the seed: our figure, the verdict, why, and the config."""
    rows = [row(done) for row in CLAIMS]
    lines = ["### The seed's claims, checked\n",
             "Each claim of the LRT paper against what this suite measures (most accurate "
             "variant of each rule, tuned on the same grid; writes are worst-case level "
             "changes per cell, physical, and the seed's per-pixel count). Verdicts: "
             "*reproduced*, *refuted*, or *depends* (on what, in the reason).\n",
             "| claim | our figure | verdict | reason | config |", "|---|---|---|---|---|"]
    lines += [f"| {c} | {f} | {v} | {r} | {cfg} |" for c, f, v, r, cfg in rows]
    return lines + [""]


def _claim_writes(done):
    """≈1,000× fewer worst-case writes than per-sample SGD."""
    figs, ratios = [], {}
    for name in ("mlp_rotation", "mlp_seed_drift", "cnn_rotation", "cnn_analog_drift"):
        s = done.get(name)
        if s is None:
            continue
        sgd, lrt = best(s, "sgd"), best(s, "lrt")
        phys, pix = _ratio(sgd, lrt), _ratio(sgd, lrt, "max_pixel_writes")
        if phys is None:
            continue
        ratios[name] = (phys, pix)
        extra = f", per-pixel {pix:,.0f}×" if name.startswith("cnn") else ""
        figs.append(f"{name}: {phys:,.0f}×{extra}")
    if not ratios:
        return ("≈1,000× fewer worst-case writes per cell than SGD", "not run", "–", "–",
                "mlp_rotation, cnn_*")
    physical = max(p for p, _ in ratios.values())
    pixel = max((x for n, (_, x) in ratios.items() if n.startswith("cnn") and x), default=0.0)
    if physical >= 500:
        verdict, why = "reproduced", "the physical count reaches it"
    elif pixel >= 500:
        verdict = "depends"
        why = (f"on the counting: only the seed's per-pixel count on a conv layer reaches "
               f"it; counting level changes the largest ratio is {physical:,.0f}×, and the "
               "layers here are small (the seed's CNN has 26×26 output pixels per term)")
    else:
        verdict = "refuted at this scale"
        why = (f"the largest ratio is {max(physical, pixel):,.0f}×; the seed's figure comes "
               "from conv layers with many more output pixels per sample")
    return ("≈1,000× fewer worst-case writes per cell than SGD", "; ".join(figs), verdict,
            why, "mlp_rotation, mlp_seed_drift, cnn_rotation, cnn_analog_drift")


def _claim_drift(done):
    """LRT beats SGD under drift."""
    figs, beats_tuned, beats_seed = [], [], []
    for name in ("mlp_seed_drift", "mlp_seed_digital_drift"):
        s = done.get(name)
        if s is None or best(s, "lrt") is None:
            continue
        lrt, tuned, plain = best(s, "lrt"), best(s, "sgd"), _row(s, "sgd")
        d_tuned, d_plain = _pt(lrt, tuned), _pt(lrt, plain)
        figs.append(f"{name}: LRT {acc(lrt):.3f}, − tuned SGD ({tuned['method']}) "
                    f"{_fmt(d_tuned, 'pt')}, − round-to-nearest SGD {_fmt(d_plain, 'pt')}")
        beats_tuned.append(d_tuned > _spread(lrt, tuned))
        beats_seed.append(d_plain is not None and d_plain > _spread(lrt, plain))
    if not figs:
        return ("LRT beats SGD under drift", "not run", "–", "–", "mlp_seed_drift")
    if all(beats_tuned):
        verdict, why = "reproduced", "LRT ends above the best tuned per-sample SGD"
    elif all(beats_seed):
        verdict = "refuted against tuned SGD"
        why = ("it holds against the seed's baseline (per-sample SGD rounding to nearest, "
               "no max-norm) only; per-sample SGD with stochastic rounding or max-norm, "
               "tuned on the same grid, ends at least as high")
    else:
        verdict = "refuted"
        why = "per-sample SGD tuned on the same grid ends at least as high, even rounding " \
              "to nearest"
    return ("LRT beats SGD under drift", "; ".join(figs), verdict, why,
            "mlp_seed_drift, mlp_seed_digital_drift")


def _claim_control(done):
    """≈2 pt loss with no shift."""
    s = done.get("mlp_control")
    if s is None or best(s, "lrt") is None:
        return ("LRT loses ≈2 pt with no shift", "not run", "–", "–", "mlp_control")
    lrt, inf, sgd = best(s, "lrt"), best(s, "none"), best(s, "sgd")
    d_inf, d_sgd = _pt(lrt, inf), _pt(lrt, sgd)
    fig = f"LRT − inference-only {_fmt(d_inf, 'pt')}, − tuned SGD {_fmt(d_sgd, 'pt')}"
    if d_inf is not None and -4.0 <= d_inf <= 0.0:
        verdict, why = "reproduced", "LRT ends a little below inference-only"
    elif d_inf is not None and d_inf > 0:
        verdict = "refuted"
        why = ("LRT gains here: the deployed network is not at its best on the online "
               "pool (quantisation after pretraining on 600 images), so adapting helps even "
               "without a shift")
    else:
        verdict, why = "refuted", "LRT loses more than the seed reports"
    return ("LRT loses ≈2 pt with no shift", fig, verdict, why, "mlp_control")


def _claim_memory(done):
    """Aux memory r(n+m) per layer instead of B(n+m) or n·m."""
    s = done.get("mlp_rotation")
    lrt, mb = (None, None) if s is None else (best(s, "lrt"), best(s, "minibatch"))
    if lrt is None or mb is None:
        return ("auxiliary memory r·(n_out+n_in) per layer", "not run", "–", "–",
                "mlp_rotation")
    from .schema import ExperimentCfg, expand_methods, layer_shapes

    cfg = ExperimentCfg.load(CONFIGS / "mlp_rotation.yaml")
    rank = next(m.cfg.rank for m in expand_methods(cfg) if m.name == lrt["method"])
    formula = sum(rank * (n_out + n_in + 1) for n_out, n_in in layer_shapes("mlp", (8, 8)))
    fig = (f"LRT {lrt['aux_words']:,} words, mini-batch {mb['aux_words']:,} "
           f"({lrt['aux_words'] / mb['aux_words']:.2f}×); formula r·(n_out+n_in+1) summed "
           f"over the layers: {formula:,}")
    ok = formula == lrt["aux_words"]
    return ("auxiliary memory r·(n_out+n_in) per layer", fig,
            "reproduced" if ok else "refuted",
            "the counted words equal the formula (σ adds r per layer)" if ok
            else "the counted words differ from the formula", "mlp_rotation")


def _claim_table1(done):
    """Biased vs unbiased: with max-norm the choice barely matters."""
    figs, small = [], []
    for name, s in done.items():
        names = ("lrt-biased-maxnorm", "lrt-unbiased-maxnorm")
        b, u = (_row(s, n) for n in names)
        if b is None or u is None or b.get("degenerate") or u.get("degenerate"):
            continue
        d = _pt(u, b)
        figs.append(f"{name} {d:+.1f}")
        small.append(abs(d) <= max(2 * _spread(b, u), 1.0))
    if not figs:
        return ("biased vs unbiased reduction barely matters with max-norm", "not run", "–",
                "–", "mlp_*")
    n_ok = sum(small)
    verdict = "reproduced" if n_ok == len(small) else "depends" if n_ok else "refuted"
    why = (f"unbiased − biased (both with max-norm), pt: within the seed spread in {n_ok} "
           f"of {len(small)} studies")
    return ("biased vs unbiased reduction barely matters with max-norm",
            "; ".join(figs[:6]) + (" …" if len(figs) > 6 else ""), verdict, why,
            "every study with lrt-biased and lrt-unbiased")


def _claim_guards(done):
    """The κ-skip and the ρ gate do not cost accuracy."""
    s = done.get("mlp_beyond")
    base = None if s is None else _row(s, "lrt-r4-maxnorm")
    if base is None:
        return ("κ-skip (κ_th = 100) and ρ gate (ρ_min = 0.01) are harmless", "not run", "–",
                "–", "mlp_beyond")
    parts, ok = [], []
    for name, what in (("lrt-r4-nokappa-maxnorm", "no κ-skip"), ("lrt-r4-rho0-maxnorm",
                                                                 "no ρ gate")):
        r = _row(s, name)
        if r is None:
            continue
        d = 100 * (r["mean_acc"]["mean"] - base["mean_acc"]["mean"])
        parts.append(f"{what}: {d:+.1f} pt mean online acc, "
                     f"{_ratio(r, base):.2f}× worst-case writes")
        ok.append(abs(d) <= max(2 * _spread(r, base), 1.0))
    verdict = "reproduced" if ok and all(ok) else "depends" if any(ok) else "refuted"
    return ("κ-skip (κ_th = 100) and ρ gate (ρ_min = 0.01) are harmless", "; ".join(parts),
            verdict, "removing a guard moves accuracy by no more than the seed-to-seed "
            "spread" if verdict == "reproduced" else "see the mlp_beyond table",
            "mlp_beyond")


def _claim_maxnorm(done):
    """Max-norm helps LRT."""
    figs, helps = [], []
    for name in ("mlp_rotation", "mlp_seed_drift", "mlp_seed_digital_drift", "mlp_control"):
        s = done.get(name)
        if s is None:
            continue
        for mode in ("biased", "unbiased"):
            a, b = _row(s, f"lrt-{mode}-maxnorm"), _row(s, f"lrt-{mode}")
            if a is None or b is None:
                continue
            d = _pt(a, b)
            figs.append(f"{name} {mode} {d:+.1f}")
            helps.append(d > 0)
    if not figs:
        return ("max-norm helps LRT", "not run", "–", "–", "mlp_*")
    n = sum(helps)
    verdict = "reproduced" if n == len(helps) else "depends" if n else "refuted"
    return ("max-norm helps LRT", "with − without max-norm, pt: " + "; ".join(figs), verdict,
            f"max-norm raises LRT's end accuracy in {n} of {len(helps)} cases", "mlp_*")


def _claim_bits(done):
    """1–2-bit weights fail; accuracy grows with rank at 8 bits."""
    sweeps = {int(n.removeprefix("sweep_rank_bits")): s for n, s in done.items()
              if n.startswith("sweep_rank_bits")}
    if 2 not in sweeps or 8 not in sweeps:
        return ("1–2-bit weights fail; accuracy grows with rank", "not run", "–", "–",
                "sweep_rank_bits*")
    inf2 = _row(sweeps[2], "inference")
    lrt2 = best(sweeps[2], "lrt")
    by_rank = [(int(r["method"].split("-r")[1].split("-")[0]), acc(r))
               for r in sweeps[8]["rows"] if r["rule"] == "lrt" and not r.get("degenerate")]
    by_rank.sort()
    fig = (f"2 bits: inference {acc(inf2):.3f}, best LRT "
           f"{'degenerate' if lrt2 is None else f'{acc(lrt2):.3f}'}; 8 bits by rank: "
           + ", ".join(f"r={r} {a:.3f}" for r, a in by_rank))
    fails = lrt2 is None or acc(lrt2) < 0.3
    grows = len(by_rank) > 1 and by_rank[-1][1] >= by_rank[0][1]
    verdict = "reproduced" if fails and grows else "depends" if fails or grows else "refuted"
    return ("1–2-bit weights fail; accuracy grows with rank", fig, verdict,
            ("2-bit weights " + ("fail" if fails else "still adapt") + "; at 8 bits the "
             "highest rank is " + ("at least" if grows else "below") + " the lowest"),
            "sweep_rank_bits2/4/6/8")


CLAIMS: tuple[Callable, ...] = (_claim_writes, _claim_drift, _claim_control, _claim_memory,
                                _claim_table1, _claim_guards, _claim_maxnorm, _claim_bits)


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
                         f"{acc(r):.3f} / {_writes(r):,.0f} / "
                         f"{r.get('saturated_fraction', {}).get('mean', float('nan')):.2f}")
        ratio = _ratio(best(s, "sgd"), best(s, "lrt"))
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
            d, x = _pt(r, sgd), _ratio(sgd, r)
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
        frugal = [r for r in rows if _ratio(sgd, r) >= t["writes_x"]]
        close = [r for r in rows if _pt(r, sgd) >= -t["points"]]
        part = f"{name}: "
        if frugal:
            f = max(frugal, key=acc)
            part += (f"at ≥ {t['writes_x']:g}× fewer writes the best is {f['method']} "
                     f"({_pt(f, sgd):+.1f} pt)")
        if close:
            c = max(close, key=lambda r: _ratio(sgd, r))
            part += (f"{'; ' if frugal else ''}within {t['points']:g} pt the most frugal is "
                     f"{c['method']} ({_ratio(sgd, c):.1f}× fewer writes)")
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
        phys = _ratio(sgd, lrt, "max_writes")
        pix = _ratio(sgd, lrt, "max_pixel_writes")
        lines.append(
            f"| {name} | {src} | {s['samples']:,} | {sgd['method']} ({acc(sgd):.3f}) "
            f"| {lrt['method']} ({acc(lrt):.3f}) "
            f"| {_writes(sgd):,.0f} ÷ {_writes(lrt):,.0f} = {phys:,.1f}× "
            f"| {_writes(sgd, 'max_pixel_writes'):,.0f} ÷ "
            f"{_writes(lrt, 'max_pixel_writes'):,.0f} = {pix:,.1f}× |")
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
