"""Studies: tune every method on its grid, run the reported seeds, aggregate.

Jobs run in parallel on a local process pool (``workers``) or on a Dask cluster
(``scheduler`` address, needs the ``distributed`` package). Several studies share one
pool (:func:`run_studies`, the suite): a study's final runs are submitted as soon as
its own tuning has finished, so no worker waits for another study's slowest job.
Finished jobs are on disk, so a rerun of the same command skips them and resumes the
unfinished ones from their checkpoints; a job that fails does not lose the others'
results, and a study that fails does not stop the others.
"""

from __future__ import annotations

import contextlib
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..store import write_json
from .job import stack_key, stackable
from .run import run_stacked
from .schema import ExperimentCfg, Method, expand_methods, tuning_cfg


class _Serial:
    """An executor that runs each job in the calling process when it is submitted."""

    def submit(self, fn, *args) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args))
        except Exception as exc:  # reported by the caller like a worker's failure
            fut.set_exception(exc)
        return fut


@contextlib.contextmanager
def _executor(workers: int, scheduler: str | None):
    if scheduler:
        try:
            from distributed import Client
        except ImportError as exc:
            raise RuntimeError("--scheduler needs Dask: pip install distributed") from exc
        with Client(scheduler) as client:
            yield client.get_executor(pure=False)
    elif workers <= 1:
        yield _Serial()
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield pool


@dataclass
class _Study:
    """Book-keeping of one study while its jobs run."""

    cfg: ExperimentCfg
    out: Path
    methods: list[Method]
    phase: str = "tune"
    tasks: list[tuple] = field(default_factory=list)
    results: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    left: int = 0
    lrs: dict = field(default_factory=dict)
    summary: dict | Exception | None = None  # the result, or what stopped the study

    def tuning_tasks(self) -> list[tuple]:
        tcfg = tuning_cfg(self.cfg)
        return [(tcfg, m, self.cfg.tuning.seed, lr, self.cfg.tuning.samples)
                for m in self.methods if len(m.grid) > 1 for lr in m.grid]

    def final_tasks(self) -> list[tuple]:
        return [(self.cfg, m, s, self.lrs[m.name], self.cfg.stream.samples)
                for m in self.methods for s in self.cfg.seeds]


def _cost(task: tuple) -> float:
    """Rough relative run time of a job, to start the long ones first."""
    cfg, m, _, _, samples = task
    per = {"none": 0.2, "bias": 0.3, "lrt": 2.5}.get(m.cfg.rule, 1.0)
    return samples * per * (10 if cfg.network == "cnn" else 1)


# Most jobs in one stacked group. A job's cost falls with the jobs beside it (the per-sample
# Python work is shared) until its arrays leave the cache: MLP tuning of SGD, 2,000
# samples, µs per job and sample: 110 at 7 jobs, 95–105 at 14, 138 at 28 (one-off
# measurement, 2 cores).
MAX_STACK = 14


def stack_groups(tasks: list[tuple]) -> list[list[int]]:
    """Task indices submitted together: the jobs that can run stacked in one Job
    (:func:`~pysim.experiments.job.stackable`, one
    :func:`~pysim.experiments.job.stack_key`: the seeds of a final run, the learning rates
    of a tuning run, of a method with and without max-norm, say), every other job alone."""
    groups: dict = {}
    for i, (cfg, m, _, _, samples) in enumerate(tasks):
        key = (stack_key(m), samples) if stackable(cfg, m) else i
        groups.setdefault(key, []).append(i)
    out = []
    for group in groups.values():  # split into near-equal parts of at most MAX_STACK
        parts = -(-len(group) // MAX_STACK)
        out += [group[k * len(group) // parts:(k + 1) * len(group) // parts]
                for k in range(parts)]
    return out



def run_studies(cfgs: list[ExperimentCfg], outs: list[str | Path], workers: int = 1,
                scheduler: str | None = None, pretrained: str | Path | None = None,
                on_done=None) -> list[dict | Exception]:
    """Run several studies on one pool; return each one's summary, or the error that
    stopped it (its finished jobs stay on disk for a rerun). ``pretrained``: one folder
    of pretrained networks for all of them (default: each study's ``out/pretrained``).
    ``on_done(summary, out)`` runs as each study finishes (its report, while the
    workers go on with the others); an error there fails that study only."""
    studies = [_Study(cfg, Path(out), expand_methods(cfg)) for cfg, out in zip(cfgs, outs,
                                                                             strict=True)]
    for st in studies:
        st.out.mkdir(parents=True, exist_ok=True)
    with _executor(workers, scheduler) as ex:
        pool = _Pool(ex, pretrained, on_done)
        for st in studies:
            pool.start(st, st.tuning_tasks())
        pool.drain()
    return [st.summary for st in studies]


class _Pool:
    """The studies' jobs on one executor: each study runs its tuning phase, then its final
    runs, then reports; jobs of a phase go out in stacked groups, largest first."""

    def __init__(self, ex, pretrained, on_done):
        self.ex, self.pretrained, self.on_done = ex, pretrained, on_done
        self.running: dict = {}

    def start(self, st: _Study, tasks: list[tuple]) -> None:
        st.tasks, st.results, st.left = tasks, [None] * len(tasks), len(tasks)
        what = (f"tuning: {len(tasks)} jobs ({st.cfg.tuning.samples} samples, seed "
                f"{st.cfg.tuning.seed})" if st.phase == "tune" else
                f"final runs: {len(tasks)} jobs ({st.cfg.stream.samples} samples, "
                f"seeds {st.cfg.seeds})")
        print(f"{st.cfg.name}: {what}", file=sys.stderr, flush=True)
        if not tasks:
            self.advance(st)
        for group in sorted(stack_groups(tasks), key=lambda g: -sum(_cost(tasks[i]) for i in g)):
            cfg, _, _, _, samples = tasks[group[0]]
            runs = [(tasks[i][1], tasks[i][2], tasks[i][3]) for i in group]
            fut = self.ex.submit(run_stacked, cfg, runs, samples, str(st.out), True,
                                 self.pretrained and str(self.pretrained))
            self.running[fut] = (st, group)

    def advance(self, st: _Study) -> None:
        """Called when every job of the study's current phase has ended."""
        if st.errors:
            for task, exc in st.errors:
                print(f"{st.cfg.name}: job {task[1].name} seed {task[2]} lr {task[3]} "
                      f"failed: {exc}", file=sys.stderr)
            st.summary = RuntimeError(
                f"{st.cfg.name}: {len(st.errors)} job(s) failed; finished results are "
                f"kept in {st.out}; fix the cause and rerun the same command to resume")
            st.phase = "done"
        elif st.phase == "tune":
            st.lrs = choose_lrs(st.methods, st.tasks, st.results)
            st.phase = "final"
            self.start(st, st.final_tasks())
        else:
            self.finish(st)

    def finish(self, st: _Study) -> None:
        st.summary = aggregate(st.cfg, st.methods, st.lrs, st.results)
        write_json(st.out / "results.json", st.summary)
        st.phase = "done"
        if self.on_done is not None:
            try:
                self.on_done(st.summary, st.out)
            except Exception as exc:  # the results are on disk; others go on
                st.summary = RuntimeError(f"{st.cfg.name}: {exc}; its results are in "
                                          f"{st.out}, rerun to rebuild the report")

    def drain(self) -> None:
        """Collect results as jobs finish until every study is done."""
        while self.running:
            done, _ = wait(list(self.running), return_when=FIRST_COMPLETED)
            for fut in done:
                st, group = self.running.pop(fut)
                try:
                    for i, result in zip(group, fut.result(), strict=True):
                        st.results[i] = result
                except Exception as exc:  # keep going: other jobs' results must not be lost
                    st.errors.extend((st.tasks[i], exc) for i in group)
                st.left -= len(group)
                if st.left == 0:
                    self.advance(st)


def run_study(cfg: ExperimentCfg, out: str | Path, workers: int = 1,
              scheduler: str | None = None) -> dict:
    """One study (``python -m pysim run``); raises if any of its jobs failed."""
    (result,) = run_studies([cfg], [out], workers, scheduler)
    if isinstance(result, Exception):
        raise result
    return result


def choose_lrs(methods: list[Method], tasks: list[tuple], results: list[dict]
               ) -> dict[str, float]:
    """Best lr per method: highest mean online accuracy over the tuning stream."""
    best: dict[str, tuple[float, float]] = {}
    for (_, m, _, lr, _), r in zip(tasks, results, strict=True):
        score = r["mean_online_acc"]
        if m.name not in best or score > best[m.name][0]:
            best[m.name] = (score, lr)
    return {m.name: (best[m.name][1] if m.name in best else m.grid[0]) for m in methods}


def aggregate(cfg: ExperimentCfg, methods: list[Method], lrs: dict, results: list[dict]) -> dict:
    rows = []
    for m in methods:
        rs = [r for r in results if r["method"] == m.name]
        def stat(key, rs=rs):
            v = np.array([r[key] for r in rs], float)
            return {"mean": float(v.mean()), "std": float(v.std()), "values": v.tolist()}
        energy = {k: float(np.mean([r["energy_pj_per_sample"][k] for r in rs]))
                  for k in ("mac", "sram", "nvm")}
        life = [r["lifetime_years"] for r in rs]
        # A weight rule whose tuned runs never change a level did not adapt: its accuracy
        # is inference-only's under another name, not a result of the rule.
        degenerate = m.cfg.rule not in ("none", "bias") and all(
            r["total_writes"] == 0 for r in rs)
        rows.append({"method": m.name, "rule": m.cfg.rule, "max_norm": m.max_norm,
                     "lr": lrs[m.name], "grid": list(m.grid), "degenerate": degenerate,
                     "saturated_fraction": stat("saturated_fraction"),
                     "ema_acc": stat("final_ema_acc"), "mean_acc": stat("mean_online_acc"),
                     "test_acc": stat("final_test_acc"),
                     "max_writes": stat("max_writes"), "total_writes": stat("total_writes"),
                     "max_pixel_writes": stat("max_pixel_writes"),
                     "aux_words": rs[0]["aux_words"], "energy_pj_per_sample": energy,
                     "lifetime_years": None if any(v is None for v in life) else min(life),
                     "hw_check": [c for r in rs for c in r.get("hw_check", [])]})
    return {"name": cfg.name, "description": cfg.description, "network": cfg.network,
            "device": cfg.device, "seeds": cfg.seeds, "samples": cfg.stream.samples,
            "rows": rows, "jobs": results}
