"""The seed's claims, checked one by one against the suite's results (the first findings
section of the results page), and the small helpers every findings section uses.
Every figure and verdict is computed from the studies' results; a row whose study has
not run says so."""

from __future__ import annotations

from collections.abc import Callable

from ..config import preset_dir
from .report import _row, acc, best

CONFIGS = preset_dir("experiments")


# --- helpers ------------------------------------------------------------------------------
def writes_mean(row: dict, key: str = "max_writes") -> float:
    return row[key]["mean"]


def writes_ratio(num: dict | None, den: dict | None, key: str = "max_writes") -> float | None:
    if num is None or den is None:
        return None
    return writes_mean(num, key) / max(writes_mean(den, key), 1.0)


def points(a: dict | None, b: dict | None) -> float | None:
    return None if a is None or b is None else 100 * (acc(a) - acc(b))


def acc_spread(*rows: dict | None) -> float:
    """The larger seed-to-seed std of the rows' end accuracy, in points."""
    return 100 * max((r["ema_acc"]["std"] for r in rows if r is not None), default=0.0)


def fmt_figure(v: float | None, unit: str) -> str:
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
        phys, pix = writes_ratio(sgd, lrt), writes_ratio(sgd, lrt, "max_pixel_writes")
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
        d_tuned, d_plain = points(lrt, tuned), points(lrt, plain)
        figs.append(f"{name}: LRT {acc(lrt):.3f}, − tuned SGD ({tuned['method']}) "
                    f"{fmt_figure(d_tuned, 'pt')}, − round-to-nearest SGD "
                    f"{fmt_figure(d_plain, 'pt')}")
        beats_tuned.append(d_tuned > acc_spread(lrt, tuned))
        beats_seed.append(d_plain is not None and d_plain > acc_spread(lrt, plain))
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
    d_inf, d_sgd = points(lrt, inf), points(lrt, sgd)
    fig = f"LRT − inference-only {fmt_figure(d_inf, 'pt')}, − tuned SGD {fmt_figure(d_sgd, 'pt')}"
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
        d = points(u, b)
        figs.append(f"{name} {d:+.1f}")
        small.append(abs(d) <= max(2 * acc_spread(b, u), 1.0))
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
                     f"{writes_ratio(r, base):.2f}× worst-case writes")
        ok.append(abs(d) <= max(2 * acc_spread(r, base), 1.0))
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
            d = points(a, b)
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
