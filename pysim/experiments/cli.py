"""Command line: ``python -m pysim run CONFIG [--out DIR] [--workers N] [--scheduler ADDR]``
and ``python -m pysim report DIR``. CONFIG is a YAML file or the name of a study in
``configs/experiments/`` (``python -m pysim run quick``), which an installed wheel ships."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import ConfigError, resolve_preset


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pysim", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="run a study from a YAML file (resumes if interrupted)")
    run.add_argument("config", type=Path,
                     help="a study's YAML file, or a name in configs/experiments (quick)")
    run.add_argument("--out", type=Path, help="output folder (default: out/<name>)")
    run.add_argument("--workers", type=int, default=1, help="local worker processes")
    run.add_argument("--scheduler", help="Dask scheduler address (runs the jobs there)")
    rep = sub.add_parser("report", help="regenerate tables and plots from DIR/results.json")
    rep.add_argument("dir", type=Path)
    args = ap.parse_args(argv)
    try:
        if args.cmd == "run":
            from .report import write_report
            from .schema import ExperimentCfg
            from .study import run_study

            cfg = ExperimentCfg.load(resolve_preset(args.config, "experiments"))
            out = args.out or Path("out") / cfg.name
            summary = run_study(cfg, out, max(1, args.workers), args.scheduler)
            print(write_report(summary, out))
            print(f"results, CSV, table and plots in {out}/")
        else:
            from .report import report_dir

            print(report_dir(args.dir))
    except (ConfigError, FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
