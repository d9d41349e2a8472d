"""The digits suite: every study in configs/experiments (but quick), then docs/results.md.

``python -m pysim.experiments.suite [--out out/suite] [--workers 2] [--scheduler ADDR]
[--only NAME ...] [--docs PATH] [--extended]`` (``nox -s experiments``). Studies marked
``extended: true`` (longer ones, e.g. the CNN at the seed's 28×28 geometry) are skipped unless
``--extended`` is given, which runs those alone (``nox -s experiments -- --extended``);
the page shows every study with results on disk. All studies share one pool of workers; each
resumes like ``python -m pysim run``; the results
page is rebuilt from whatever studies have finished, with the command that made it and
the derived ratios the issues ask for (SGD ÷ LRT worst-case writes, aux memory).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from ..config import checkout_path, load_yaml, preset_dir
from ..store import DamagedStateError, read_json, read_json_or_none, write_json
from . import findings
from .report import acc, best, markdown_table, write_report
from .schema import ExperimentCfg
from .study import run_studies
from .suite_tables import (
    acceptance_table,
    beyond_table,
    conv_interval_table,
    energy_note,
    headline_table,
    lifetime_table,
    notes,
    sweep_tables,
)

CONFIGS = preset_dir("experiments")


def is_extended(path: Path) -> bool:
    """Whether the study config at ``path`` says ``extended: true`` (an unreadable one is
    not: it fails where the suite loads it, with the reason)."""
    try:
        raw = load_yaml(path)
    except Exception:
        return False
    return isinstance(raw, dict) and raw.get("extended") is True


def study_names(configs: Path, only: list[str] | None = None, extended: bool = False
                ) -> list[str]:
    """The studies the suite runs: every ``configs/*.yaml`` but ``quick``, either the
    default ones (``extended``: false) or, with ``extended``, only the extended ones;
    ``only`` narrows either set to the names it lists."""
    names = [p.stem for p in sorted(configs.glob("*.yaml"))
             if p.stem != "quick" and is_extended(p) == extended]
    return [n for n in names if n in only] if only else names


def derived(summary: dict) -> list[str]:
    """Ratios and margins: the most accurate LRT variant against the other methods."""
    lrt, sgd, mb, inf = (best(summary, k) for k in ("lrt", "sgd", "minibatch", "none"))
    if lrt is None:
        return []
    out = [f"- most accurate LRT variant: **{lrt['method']}** (online acc {acc(lrt):.3f})"]
    if inf:
        out.append(f"- LRT − inference-only: {100 * (acc(lrt) - acc(inf)):+.1f} pt")
    if sgd:
        out.append(f"- LRT − tuned per-sample SGD ({sgd['method']}): "
                   f"{100 * (acc(lrt) - acc(sgd)):+.1f} pt")
        w_lrt = max(lrt["max_writes"]["mean"], 1)
        p_lrt = max(lrt["max_pixel_writes"]["mean"], 1)
        out.append(f"- worst-case writes per cell, SGD ÷ LRT: physical "
                   f"{sgd['max_writes']['mean'] / w_lrt:.1f}×, seed's per-pixel count "
                   f"{sgd['max_pixel_writes']['mean'] / p_lrt:.1f}× (LRT counts floored at 1)")
    if mb:
        out.append(f"- LRT − mini-batch ({mb['method']}): {100 * (acc(lrt) - acc(mb)):+.1f} pt; "
                   f"aux memory LRT ÷ mini-batch = {lrt['aux_words']}/{mb['aux_words']} = "
                   f"{lrt['aux_words'] / mb['aux_words']:.3f}")
    return out


def crossover_section(docs: Path, cache: Path, fresh: bool = False) -> list[str]:
    """The crossover study, its PNG in ``docs/img``: run when ``fresh`` (a suite run) or
    when ``cache`` is missing, else read from ``cache`` (``--report-only`` reuses it)."""
    from . import crossover, crossover_report

    data = None if fresh else read_json_or_none(cache)
    if data is None or data.get("version") != crossover.VERSION:
        t0 = time.process_time()
        data = {"rows": crossover.run(), "cpu_s": None, "version": crossover.VERSION}
        data["cpu_s"] = time.process_time() - t0
        write_json(cache, data)
    img = docs.parent / "img" / "crossover.png"
    return crossover_report.section(data["rows"], img, "img/crossover.png", data["cpu_s"])


def results_page(done: dict[str, dict], out: Path, docs: Path, crossover: bool = False,
                 fresh_crossover: bool = False) -> str:
    """The results page; ``crossover`` adds the layer-size study (about a CPU-minute; cached
    in ``out/crossover.json``, rerun if ``fresh_crossover``)."""
    img = docs.parent / "img"
    img.mkdir(parents=True, exist_ok=True)
    parts = ["# Results: online adaptation on the embedded digits data\n",
             "Made by `nox -s experiments` (`python -m pysim.experiments.suite --workers 2`), "
             "which runs "
             "every study in `configs/experiments/` except `quick.yaml` and those marked "
             "`extended: true`, which `nox -s experiments -- --extended` runs; rerun it to "
             "reproduce (results depend only on the configs and seeds). Each table: mean ± "
             "std over the seeds; learning rates tuned per method on the same grid and "
             "tuning stream (see each YAML); writes are level changes of cells (physical) "
             "and the seed's per-pixel count; energy per adapted sample from the "
             "`rram` preset and `configs/accel/default.yaml`.\n"]
    parts += acceptance_table(done)
    parts += headline_table(done)
    parts += energy_note(done)
    parts += lifetime_table(done)
    parts += notes(done)
    parts += beyond_table(done)
    parts += conv_interval_table(done)
    parts += findings.seed_geometry_section(done)
    parts += sweep_tables(done)
    parts += findings.sections(done, out, img)
    if crossover:
        parts += crossover_section(docs, out / "crossover.json", fresh_crossover)
    for name, summary in done.items():
        parts.append(markdown_table(summary))
        parts.append("\n".join(derived(summary)) + "\n")
        src = out / name / "accuracy_writes.png"
        if src.exists():
            shutil.copy(src, img / f"{name}.png")
            parts.append(f"![{name}](img/{name}.png)\n")
    text = "\n".join(parts)
    docs.write_text(text)
    return text


def _summary(path: Path, failed: list, name: str) -> dict | None:
    """A study's results.json, or None (the study listed as failed) if it is damaged: a
    rerun of the study rebuilds it from its job files."""
    try:
        return read_json(path)
    except DamagedStateError as exc:
        failed.append(name)
        print(f"{name}: {exc}; rerun the study to rebuild it from its job files",
              file=sys.stderr)
        return None


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("out/suite"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scheduler", help="Dask scheduler address (runs the jobs there)")
    ap.add_argument("--only", nargs="*", help="study names to run (default: all)")
    ap.add_argument("--docs", type=Path,
                    help="the results page (default: docs/results.md of the checkout)")
    ap.add_argument("--extended", action="store_true",
                    help="run the studies marked extended: true (and only those)")
    ap.add_argument("--report-only", action="store_true",
                    help="rebuild tables, plots and the page from finished studies")
    return ap.parse_args(argv)


def _run(args: argparse.Namespace, names: list[str], done: dict, failed: list) -> None:
    """Run the studies ``names`` on one pool (their reports as each finishes); record
    their summaries in ``done`` and the names of those that failed in ``failed``."""
    cfgs, run_names = [], []
    for name in names:
        try:
            cfgs.append(ExperimentCfg.load(CONFIGS / f"{name}.yaml"))
            run_names.append(name)
        except Exception as exc:  # a broken config must not stop the other studies
            failed.append(name)
            print(f"{name} failed: {exc}", file=sys.stderr)
    if not cfgs:
        return
    start = time.monotonic()
    # Studies of one network, data and device pretrain the same networks: once.
    # Each study's tables and plots as soon as it finishes, beside the others' jobs.
    results = run_studies(cfgs, [args.out / n for n in run_names], args.workers,
                          args.scheduler, pretrained=args.out / "pretrained",
                          on_done=write_report)
    for name, res in zip(run_names, results, strict=True):
        if isinstance(res, Exception):
            failed.append(name)
            print(f"{name} failed: {res}", file=sys.stderr)
        else:
            done[name] = res
    kind = "extended studies" if args.extended else "studies"
    print(f"suite: {len(cfgs)} {kind} in {(time.monotonic() - start) / 60:.1f} min "
          f"on {args.workers} workers; CPU minutes of the jobs run into each study "
          "folder:", file=sys.stderr)
    total = 0.0
    for name in run_names:
        cpu = sum(float(p.read_text()) for p in (args.out / name / "jobs").glob("*.cpu_s"))
        total += cpu
        print(f"  {name:<26} {cpu / 60:6.1f}", file=sys.stderr)
    print(f"  {'total':<26} {total / 60:6.1f}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    if args.docs is None:
        try:
            docs = checkout_path("docs", needed_by="python -m pysim.experiments.suite")
            args.docs = docs / "results.md"
        except RuntimeError as exc:
            print(f"error: {exc}; or pass --docs PATH", file=sys.stderr)
            return 2
    names = study_names(CONFIGS, args.only, args.extended)
    done, failed = {}, []
    if args.report_only:  # the page's studies, default and extended alike
        names += study_names(CONFIGS, args.only, not args.extended)
        for name in [n for n in names if (args.out / n / "results.json").exists()]:
            summary = _summary(args.out / name / "results.json", failed, name)
            if summary is not None:
                done[name] = summary
                write_report(summary, args.out / name)
    else:
        _run(args, names, done, failed)
    # The page shows every study with results on disk, not only the ones run now.
    page = {}
    for name in [p.stem for p in sorted(CONFIGS.glob("*.yaml")) if p.stem != "quick"]:
        path = args.out / name / "results.json"
        if name in done:
            page[name] = done[name]
        elif path.exists() and (summary := _summary(path, failed, name)) is not None:
            page[name] = summary
    # A suite run recomputes the crossover once (the code may have changed since the
    # cache); --report-only reuses it.
    print(results_page(page, args.out, args.docs, crossover=True,
                       fresh_crossover=not args.report_only))
    if failed:
        print(f"failed studies: {failed}; rerun to resume", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
