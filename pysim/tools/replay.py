"""Replay jobs of a finished suite and compare their results byte for byte.

A job's result depends only on its config, seed, method and learning rate (its id hashes
all of them), so a refactoring that changes no behaviour must reproduce every stored job
file exactly. This tool picks jobs from a reference suite folder (what ``nox -s
experiments`` wrote), runs them again from their study's YAML into a fresh folder — in
stacked groups, as the suite does, so that grouped and single runs are both exercised — and
reports each file as identical or not::

    python -m pysim.tools.replay out/suite --only mlp_rotation cnn_rotation --max-jobs 40

Jobs are taken cheapest first within each study, up to ``--max-jobs`` a study;
``--samples-max`` skips longer jobs. Exit status 1 if any file
differs, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from ..config import preset_dir
from ..experiments.jobstore import job_id
from ..experiments.run import run_stacked
from ..experiments.schema import ExperimentCfg, expand_methods, tuning_cfg
from ..experiments.study import stack_groups
from ..store import DamagedStateError, read_json

CONFIGS = preset_dir("experiments")


def study_tasks(cfg: ExperimentCfg, jobs_dir: Path) -> list[tuple]:
    """The (cfg, method, seed, lr, samples) of every job file in ``jobs_dir`` that the
    study ``cfg`` makes today (a file whose id no longer matches is not replayable and
    left out: its config changed since; a damaged file is left out and left where it
    is, with a warning)."""
    methods = {m.name: m for m in expand_methods(cfg)}
    tcfg = tuning_cfg(cfg)
    tasks = []
    for path in sorted(jobs_dir.glob("*.json")):
        try:
            result = read_json(path)
        except DamagedStateError as exc:
            print(f"warning: skipped {exc}", file=sys.stderr)
            continue
        if result.get("method") not in methods:
            continue
        m = methods[result["method"]]
        seed, lr, samples = result["seed"], result["lr"], result["samples"]
        for c in (cfg, tcfg):
            if job_id(c, m, seed, lr, samples) == path.stem:
                tasks.append((c, m, seed, lr, samples))
                break
    return tasks


def pick(tasks: list[tuple], budget: int, samples_max: int | None) -> list[tuple]:
    """Up to ``budget`` tasks, cheapest first (fewest samples), no longer than
    ``samples_max`` samples."""
    ok = [t for t in tasks if samples_max is None or t[4] <= samples_max]
    return sorted(ok, key=lambda t: (t[4], t[1].name, t[2], t[3]))[:budget]


def replay(reference: Path, names: list[str], out: Path, budget: int,
           samples_max: int | None) -> tuple[int, list[str]]:
    """Rerun the picked jobs (``budget`` a study) of studies ``names`` into ``out``;
    return how many ran and the ids whose files differ from the reference's."""
    ran, differ = 0, []
    for name in names:
        cfg = ExperimentCfg.load(CONFIGS / f"{name}.yaml")
        tasks = pick(study_tasks(cfg, reference / name / "jobs"), budget, samples_max)
        for group in stack_groups(tasks):
            runs = [tasks[i][1:4] for i in group]
            c, samples = tasks[group[0]][0], tasks[group[0]][4]
            start = time.monotonic()
            run_stacked(c, runs, samples, out / name, verbose=False,
                      pretrained=out / "pretrained")
            for m, seed, lr in runs:
                jid = job_id(c, m, seed, lr, samples)
                same = ((out / name / "jobs" / f"{jid}.json").read_bytes()
                        == (reference / name / "jobs" / f"{jid}.json").read_bytes())
                print(f"{name:<24} {jid:<60} {'identical' if same else 'DIFFERS'}",
                      flush=True)
                if not same:
                    differ.append(jid)
            ran += len(runs)
            print(f"  ({len(runs)} job(s) in {time.monotonic() - start:.0f} s)",
                  file=sys.stderr, flush=True)
    return ran, differ


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reference", type=Path, help="a suite output folder (e.g. out/suite)")
    ap.add_argument("--only", nargs="*", help="study names (default: every study there)")
    ap.add_argument("--max-jobs", type=int, default=30, help="jobs a study at most")
    ap.add_argument("--samples-max", type=int, help="skip jobs longer than this")
    ap.add_argument("--out", type=Path, help="where to run (default: a temporary folder)")
    args = ap.parse_args(argv)
    # Without --only: every folder with jobs whose study has a config today.
    names = args.only or sorted(p.name for p in args.reference.iterdir()
                                if (p / "jobs").is_dir() and (CONFIGS / f"{p.name}.yaml").is_file())
    bad = [n for n in names if not (args.reference / n / "jobs").is_dir()
           or not (CONFIGS / f"{n}.yaml").is_file()]
    if bad:
        print(f"error: no study {bad} with jobs in {args.reference} and a config in "
              f"{CONFIGS}: check --only", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        ran, differ = replay(args.reference, names, out, args.max_jobs, args.samples_max)
    print(f"replay: {ran} job(s), {ran - len(differ)} identical, {len(differ)} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
