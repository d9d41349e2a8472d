"""Running jobs: one job, or a group of jobs stacked in one :class:`~.job.Job`;
resumable from checkpoints, each result written to its own file.

Jobs are pure functions of (config, method, seed, lr, samples): each writes its result
to ``<out>/jobs/<job>.json`` and checkpoints its whole state to ``<out>/ckpt/<job>.npz``
every ``eval_every`` samples (write to a temporary file, then rename), so a killed run
resumes to exactly the result an uninterrupted one gives. Stored state is never a pickle
and carries its hash (:mod:`pysim.store`): a damaged checkpoint, pretrained network or
job result is set aside and computed again.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from ..store import atomic_write, load_or_none, read_json, read_json_or_none, write_json
from .job import Job, load_checkpoint, why_not_stacked
from .jobstore import job_id, stack_id
from .schema import ExperimentCfg, Method


def run_job(cfg: ExperimentCfg, method: Method, seed: int, lr: float, samples: int,
            out: str | Path, verbose: bool = True) -> dict:
    """Run (or resume, or just return) one job; the result is also written to disk."""
    return run_stacked(cfg, [(method, seed, lr)], samples, out, verbose)[0]


def run_stacked(cfg: ExperimentCfg, runs: list[tuple[Method, int, float]], samples: int,
              out: str | Path, verbose: bool = True, pretrained: str | Path | None = None
              ) -> list[dict]:
    """Run (or resume, or just return) the jobs ``runs`` = [(method, seed, lr), ...],
    those not finished yet stacked in one :class:`Job` when their methods allow (one
    :func:`stack_key`, :func:`stackable`), else one after another; results in the
    order of ``runs``, each also written to disk as its own job's. ``pretrained``: see
    :meth:`Job.stack`."""
    out = Path(out)
    ids = [job_id(cfg, m, seed, lr, samples) for m, seed, lr in runs]
    done = {jid: out / "jobs" / f"{jid}.json" for jid in ids}
    results = {jid: read_json_or_none(path) for jid, path in done.items()}
    todo = [(run, jid) for run, jid in zip(runs, ids, strict=True) if results[jid] is None]
    together = len(todo) > 1 and why_not_stacked(cfg, [m for (m, _, _), _ in todo]) is None
    groups = [todo] if together else [[t] for t in todo]
    for group in groups:
        _run_group(cfg, [run for run, _ in group], [jid for _, jid in group],
                   samples, out, verbose, pretrained)
    return [results[jid] if results[jid] is not None else read_json(done[jid]) for jid in ids]


def _run_group(cfg, runs, ids, samples, out: Path, verbose: bool, pretrained) -> None:
    """Run (or resume) ``runs`` as one :class:`Job` and write each run's result as its
    job's (``ids``)."""
    key = stack_id(ids)
    ckpt = out / "ckpt" / f"{key}.npz"
    with threadpool_limits(limits=1, user_api="blas"):  # pretraining too: see Job.run
        job = (load_or_none(lambda p: load_checkpoint(p, key), ckpt)
               or Job.stack(cfg, runs, samples, out, pretrained))

    def progress(j):
        if verbose:
            bar = "#" * int(20 * j.t / j.samples)
            for run in j.runs:
                c = run.curve[-1]
                print(f"  {run.method.name:<28} seed {run.seed} lr {run.lr:<8g} [{bar:<20}] "
                      f"{j.t}/{j.samples} acc {c['ema_acc']:.3f} max writes "
                      f"{c['max_writes']}", file=sys.stderr, flush=True)

    start = time.process_time()
    results = job.run(out, progress)
    # CPU seconds of this process only (a resumed job's earlier part is not counted;
    # stacked jobs share theirs equally); kept beside the result, not in it, so that results
    # stay bit-identical across runs.
    cpu = (time.process_time() - start) / len(runs)
    for jid, result in zip(ids, results, strict=True):
        atomic_write(out / "jobs" / f"{jid}.cpu_s", f"{cpu:.1f}\n".encode())
        write_json(out / "jobs" / f"{jid}.json", result)
