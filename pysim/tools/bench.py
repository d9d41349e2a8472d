"""Benchmarks: `python -m pysim.tools.bench [--seconds S] [--json PATH]` (run by `nox -s bench`).

Every figure is measured in the run that prints it. Float LRT throughput is given
with κ-skip disabled (every sample absorbed: the worst case) and with the seed's
κ_th = 100 on the same random stream, beside a dense n_out × n_in accumulator
(the mini-batch baseline's per-sample work) and the words each keeps. The adaptation
rows time one job of every method of the MLP and CNN rotation studies (what the
digits suite, `nox -s experiments`, spends its CPU minutes on).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from ..experiments.job import Job, stackable
from ..experiments.schema import ExperimentCfg, expand_methods
from ..experiments.study import stack_groups
from ..experiments.suite import CONFIGS
from ..lrt import LowRankAccumulator
from . import bench_page, hw_bench, synth

SHAPES = [(10, 64, 4), (512, 2048, 4), (128, 1152, 8)]
# The digits CNN's conv layers: (n_out, n_in, rank, pixel terms per sample).
CONV_SHAPES = [(8, 9, 4, 36), (16, 72, 4, 16)]
# Studies whose jobs the adaptation rows time, and samples per job (full, --quick).
JOB_STUDIES = {"mlp_rotation": (3000, 500), "cnn_rotation": (1000, 200)}


def _rate(fn, n_samples: int, seconds: float) -> float:
    """Samples per second of ``fn(i)`` over at least ``seconds`` (whole passes)."""
    done, t0 = 0, time.perf_counter()
    while True:
        for i in range(n_samples):
            fn(i)
        done += n_samples
        dt = time.perf_counter() - t0
        if dt >= seconds:
            return done / dt


def bench_lrt(n_out: int, n_in: int, rank: int, seconds: float, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    n = 512
    dY = rng.normal(size=(n, n_out))
    X = np.maximum(rng.normal(size=(n, n_in)), 0.0)  # ReLU activations
    row = {"n_out": n_out, "n_in": n_in, "rank": rank}
    for mode in ("biased", "unbiased"):
        for kappa in (np.inf, 100.0):
            acc = LowRankAccumulator(n_out, n_in, rank, mode, np.random.default_rng(seed), kappa)
            rate = _rate(lambda i, a=acc: a._update_rows(dY[i:i + 1], X[i:i + 1]), n, seconds)
            key = f"lrt_{mode}_{'all' if np.isinf(kappa) else 'kappa100'}"
            row[key + "_samples_per_s"] = rate
            row[key + "_absorbed_frac"] = acc.samples_absorbed / acc.samples_seen
    dense = np.zeros((n_out, n_in))

    def dense_step(i):
        dense.__iadd__(np.outer(dY[i], X[i]))

    row["dense_samples_per_s"] = _rate(dense_step, n, seconds)
    row["lrt_aux_words"] = LowRankAccumulator(n_out, n_in, rank).aux_words
    row["dense_aux_words"] = n_out * n_in
    return row


def bench_conv_lrt(n_out: int, n_in: int, rank: int, terms: int, seconds: float,
                   correlated: bool, seed: int = 0) -> dict:
    """A conv layer's sample: ``terms`` pixel terms, a third with zero gradient (ReLU),
    folded in with κ_th = 100 and reset every 10 samples (the conv layers' commit
    interval) — windowed projection (what the rules run) against one term at a time
    (the vector path), unbiased mode. ``correlated``: the terms are mixtures of three
    fixed directions per side plus 5 % noise (most are κ-skipped, as a real layer's
    pixel terms are); otherwise independent (most are absorbed)."""
    rng = np.random.default_rng(seed)
    n = 64
    if correlated:
        dY = rng.normal(size=(n, terms, 3)) @ rng.normal(size=(3, n_out))
        X = rng.normal(size=(n, terms, 3)) @ rng.normal(size=(3, n_in))
        dY += 0.05 * rng.normal(size=dY.shape) * np.abs(dY).mean()
        X += 0.05 * rng.normal(size=X.shape) * np.abs(X).mean()
    else:
        dY = rng.normal(size=(n, terms, n_out))
        X = rng.normal(size=(n, terms, n_in))
    dY *= rng.random((n, terms, 1)) < 0.66
    X = np.maximum(X, 0.0)
    row = {"n_out": n_out, "n_in": n_in, "rank": rank, "terms": terms,
           "correlated": correlated}
    acc = LowRankAccumulator(n_out, n_in, rank, "unbiased", np.random.default_rng(seed))
    absorbed = [0, 0]

    def windowed(i):
        if i % 10 == 0:
            acc.reset()
        flags = acc._update_rows(dY[i], X[i])
        absorbed[0] += int(flags.sum())
        absorbed[1] += len(flags)

    row["windowed_samples_per_s"] = _rate(windowed, n, seconds)
    row["absorbed_frac"] = absorbed[0] / absorbed[1]
    one = LowRankAccumulator(n_out, n_in, rank, "unbiased", np.random.default_rng(seed))

    def per_term(i):
        if i % 10 == 0:
            one.reset()
        for d, x in zip(dY[i], X[i], strict=True):
            one._update_one(d, x)

    row["per_term_samples_per_s"] = _rate(per_term, n, seconds)
    return row


def bench_jobs(study: str, samples: int, seeds: int = 3) -> list[dict]:
    """CPU time per adapted sample of one job (seed 0, the middle of its lr grid, every
    step of the study's loop: forward, backward, update rule, crossbar writes, drift,
    evaluation) for every method of ``configs/experiments/<study>.yaml``; per job of
    ``seeds`` jobs (seeds 0, 1, ...) of the method stacked in one Job; and per job of the
    stacked groups the suite forms from a final run of every method (``group_jobs`` jobs:
    the methods of one stack key, ``seeds`` seeds each)."""
    cfg = ExperimentCfg.load(CONFIGS / f"{study}.yaml")
    methods = expand_methods(cfg)

    def lr(m):
        return m.grid[len(m.grid) // 2]

    def per_job_us(runs, tmp: Path) -> float:
        job = Job.stack(cfg, runs, samples, tmp)
        t0 = time.process_time()
        job.run(tmp, checkpoint=False)
        return 1e6 * (time.process_time() - t0) / samples / len(runs)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for m in methods:
            row = {"study": study, "method": m.name, "lr": lr(m), "samples": samples,
                   "jobs": seeds if stackable(cfg, m) else 1}
            runs = [(m, s, lr(m)) for s in range(row["jobs"])]
            row["cpu_us_per_sample"] = per_job_us(runs[:1], Path(tmp))  # pretrains first
            row["cpu_us_per_job_sample_stacked"] = per_job_us(runs, Path(tmp))
            rows.append(row)
        tasks = [(cfg, m, s, lr(m), samples) for m in methods for s in range(seeds)]
        by_method: dict = {}
        for group in stack_groups(tasks):
            us = per_job_us([tasks[i][1:4] for i in group], Path(tmp))
            for i in group:
                by_method.setdefault(tasks[i][1].name, []).append((us, len(group)))
    for row in rows:  # a method split over two groups (MAX_STACK) gets their mean
        got = by_method[row["method"]]
        row["group_jobs"] = max(n for _, n in got)
        row["cpu_us_per_job_sample_grouped"] = sum(us for us, _ in got) / len(got)
    return rows


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.0, help="time per measurement (s)")
    ap.add_argument("--json", type=Path, default=Path("bench.json"), help="where to write figures")
    ap.add_argument("--quick", action="store_true", help="fewer widths and samples")
    ap.add_argument("--no-rtl", action="store_true", help="skip the RTL speed rows")
    ap.add_argument("--no-synth", action="store_true", help="skip the Yosys cell counts")
    ap.add_argument("--synth-timeout", type=float, default=600.0,
                    help="seconds of Yosys a block at most (default 600)")
    ap.add_argument("--page", type=Path, help="also write the figures' page here "
                    "(docs/bench.md: pysim.tools.bench_page)")
    return ap.parse_args(argv)


def _float_figures(seconds: float) -> tuple[list[dict], list[dict]]:
    """The float LRT rows (dense layers, then a conv layer's sample), printed."""
    rows = [bench_lrt(*shape, seconds=seconds) for shape in SHAPES]
    print(f"Float LRT vs dense accumulator ({platform.processor() or platform.machine()}, "
          f"numpy {np.__version__}); samples/s, higher is better")
    head = (f"{'layer (n_out×n_in, r)':<22}{'LRT biased':>12}{'LRT unbiased':>14}"
            f"{'  κ=100 b/u':>18}{'dense acc':>12}{'LRT words':>11}{'dense words':>13}"
            f"{'ratio':>8}")
    print(head)
    print("-" * len(head))
    for r in rows:
        name = f"{r['n_out']}×{r['n_in']}, r={r['rank']}"
        k100 = (f"{r['lrt_biased_kappa100_samples_per_s']:,.0f}/"
                f"{r['lrt_unbiased_kappa100_samples_per_s']:,.0f}")
        print(f"{name:<22}{r['lrt_biased_all_samples_per_s']:>12,.0f}"
              f"{r['lrt_unbiased_all_samples_per_s']:>14,.0f}{k100:>18}"
              f"{r['dense_samples_per_s']:>12,.0f}{r['lrt_aux_words']:>11,}"
              f"{r['dense_aux_words']:>13,}{r['lrt_aux_words'] / r['dense_aux_words']:>8.3f}")
    print("LRT columns absorb every sample (κ-skip off); 'κ=100 b/u' uses the seed's skip "
          "(biased/unbiased).")
    conv = [bench_conv_lrt(*shape, seconds=seconds, correlated=c)
            for shape in CONV_SHAPES for c in (True, False)]
    print("\nFloat LRT on a conv layer's sample (pixel terms, a third zero; unbiased, κ=100); "
          "samples/s")
    print(f"{'layer (n_out×n_in, terms)':<40}{'windowed':>10}{'term by term':>14}"
          f"{'absorbed':>10}")
    for r in conv:
        kind = "correlated" if r["correlated"] else "independent"
        name = f"{r['n_out']}×{r['n_in']}, {r['terms']} {kind} terms"
        print(f"{name:<40}{r['windowed_samples_per_s']:>10,.0f}"
              f"{r['per_term_samples_per_s']:>14,.0f}{r['absorbed_frac']:>10.2f}")
    return rows, conv


def _job_figures(quick: bool) -> list[dict]:
    """:func:`bench_jobs` of every study of JOB_STUDIES, printed."""
    jobs = [r for study, n in JOB_STUDIES.items()
            for r in bench_jobs(study, n[1] if quick else n[0])]
    print("\nAdaptation jobs (seed 0, middle of the lr grid, CPU µs per sample, lower is "
          "better; the digits suite's cost): one job / per job of its 3 seeds stacked "
          "/ per job of the suite's stacked group (its jobs)")
    for study in JOB_STUDIES:
        these = [r for r in jobs if r["study"] == study]
        print(f"{study} ({these[0]['samples']} samples): " + ", ".join(
            f"{r['method']} {r['cpu_us_per_sample']:.0f} / {r['cpu_us_per_job_sample_stacked']:.0f}"
            f" / {r['cpu_us_per_job_sample_grouped']:.0f} ({r['group_jobs']})"
            for r in these))
    return jobs


def main(argv: list[str] | None = None) -> dict:
    args = _args(argv)
    rows, conv = _float_figures(args.seconds)
    result = {"float_lrt": rows, "float_lrt_conv": conv, "jobs": _job_figures(args.quick),
              "hw": hw_bench.report(quick=args.quick)}
    if not args.no_rtl:
        result["rtl"] = hw_bench.rtl_report()
        result["rtl_commands"] = hw_bench.command_report()
    if not args.no_synth:
        # A bound a block: the behavioural update blocks run ABC for far longer.
        result["synth"] = synth.report(dict(hw_bench.RTL_SMALL), timeout=args.synth_timeout)
        if result["synth"]:
            result["synth"]["timeout"] = args.synth_timeout
    result["machine"] = (f"{platform.processor() or platform.machine()}, "
                         f"{os.cpu_count()} cores, numpy {np.__version__}")
    args.json.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.json}")
    if args.page:
        args.page.write_text(bench_page.render(result, result["machine"]))
        print(f"wrote {args.page}")
    return result


if __name__ == "__main__":
    main()
