"""A whole study: tune every method on its grid, run the reported seeds, aggregate.

Jobs run in parallel on a local process pool (``workers``) or on a Dask cluster
(``scheduler`` address, needs the ``distributed`` package). Finished jobs are on disk,
so a rerun of the same command skips them and resumes the unfinished ones from their
checkpoints; a job that fails does not lose the others' results.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from .experiment import ExperimentCfg, Method, _atomic_write, expand_methods, run_job


def _submit_all(tasks: list[tuple], out: Path, workers: int, scheduler: str | None) -> list:
    """Run ``run_job(*task, out)`` for every task; return results in task order.

    Failures are collected, not raised, until every task has had its chance.
    """
    results: list = [None] * len(tasks)
    errors = []
    if scheduler:
        try:
            from distributed import Client
        except ImportError as exc:
            raise RuntimeError("--scheduler needs Dask: pip install distributed") from exc
        with Client(scheduler) as client:
            futures = [client.submit(run_job, *t, str(out), pure=False) for t in tasks]
            for i, fut in enumerate(futures):
                try:
                    results[i] = fut.result()
                except Exception as exc:  # keep going: other jobs' results must not be lost
                    errors.append((tasks[i], exc))
    elif workers <= 1:
        for i, t in enumerate(tasks):
            try:
                results[i] = run_job(*t, out)
            except Exception as exc:
                errors.append((t, exc))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futs = {pool.submit(run_job, *t, out): i for i, t in enumerate(tasks)}
            for fut in as_completed(futs):
                i = futs[fut]
                try:
                    results[i] = fut.result()
                except Exception as exc:
                    errors.append((tasks[i], exc))
    for task, exc in errors:
        print(f"job {task[1].name} seed {task[2]} lr {task[3]} failed: {exc}", file=sys.stderr)
    if errors:
        raise RuntimeError(f"{len(errors)} job(s) failed; finished results are kept in {out}; "
                           "fix the cause and rerun the same command to resume")
    return results


def tune(cfg: ExperimentCfg, methods: list[Method], out: Path, workers: int,
         scheduler: str | None) -> dict[str, float]:
    """Best lr per method: highest final online EMA accuracy on the tuning stream."""
    tasks = [(cfg, m, cfg.tuning.seed, lr, cfg.tuning.samples)
             for m in methods if len(m.grid) > 1 for lr in m.grid]
    print(f"tuning: {len(tasks)} jobs ({cfg.tuning.samples} samples, seed {cfg.tuning.seed})",
          file=sys.stderr)
    results = _submit_all(tasks, out, workers, scheduler)
    best: dict[str, tuple[float, float]] = {}
    for (_, m, _, lr, _), r in zip(tasks, results, strict=True):
        score = r["final_ema_acc"]
        if m.name not in best or score > best[m.name][0]:
            best[m.name] = (score, lr)
    chosen = {m.name: (best[m.name][1] if m.name in best else m.grid[0]) for m in methods}
    return chosen


def run_study(cfg: ExperimentCfg, out: str | Path, workers: int = 1,
              scheduler: str | None = None) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    methods = expand_methods(cfg)
    lrs = tune(cfg, methods, out, workers, scheduler)
    tasks = [(cfg, m, s, lrs[m.name], cfg.stream.samples) for m in methods for s in cfg.seeds]
    print(f"final runs: {len(tasks)} jobs ({cfg.stream.samples} samples, seeds {cfg.seeds})",
          file=sys.stderr)
    results = _submit_all(tasks, out, workers, scheduler)
    summary = aggregate(cfg, methods, lrs, results)
    _atomic_write(out / "results.json", json.dumps(summary, indent=1).encode())
    return summary


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
        rows.append({"method": m.name, "rule": m.cfg.rule, "max_norm": m.max_norm,
                     "lr": lrs[m.name], "grid": list(m.grid),
                     "ema_acc": stat("final_ema_acc"), "test_acc": stat("final_test_acc"),
                     "max_writes": stat("max_writes"), "total_writes": stat("total_writes"),
                     "max_pixel_writes": stat("max_pixel_writes"),
                     "aux_words": rs[0]["aux_words"], "energy_pj_per_sample": energy,
                     "lifetime_years": None if any(v is None for v in life) else min(life),
                     "hw_check": [c for r in rs for c in r.get("hw_check", [])]})
    return {"name": cfg.name, "description": cfg.description, "network": cfg.network,
            "device": cfg.device, "seeds": cfg.seeds, "samples": cfg.stream.samples,
            "rows": rows, "jobs": results}
