"""The main job: ``nox -s demo`` (``python -m pysim.experiments.demo``).

On the embedded digits data, for each scenario in ``configs/demo/`` (the crossbar
drifts; the input distribution shifts): pretrain an MLP, deploy it to RRAM crossbars,
stream samples, and let the classifier layer adapt with

* inference only, per-sample SGD and mini-batch SGD (baselines, Python),
* float LRT (``pysim.lrt``), LRT on the bit-accurate accelerator (``pysim.hw``),
* LRT on the RTL accelerator (``rtl/accel_top.v``) under Icarus through cocotb, every
  command checked against ``pysim.hw`` — the run stops at the first difference.

Prints one table per scenario, writes ``out/demo/report.md`` and PNG plots.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ..config import checkout_path, preset_dir
from ..hw.params import AccelConfig
from ..hw.rtl import rtl_params
from .report import fmt_life
from .run import run_job
from .schema import ExperimentCfg, expand_methods

COMPARED = ("curve", "final_ema_acc", "final_test_acc", "max_writes", "total_writes",
            "energy_pj_per_sample", "hw_check", "hw_stats")


def run_rtl(cfg_path: Path, cfg: ExperimentCfg, out: Path, sim: str | None,
            samples: int | None) -> dict:
    from harness import runner

    checkout_path("rtl", needed_by="pysim.experiments.demo's RTL run")
    runner.run("accel_top", rtl_params(AccelConfig.load(cfg.accel).arch), seed=1, sim=sim,
               test_module="cosim_demo",
               env={"PYSIM_DEMO_CONFIG": str(cfg_path.resolve()),
                    "PYSIM_DEMO_OUT": str(out.resolve()),
                    "PYSIM_DEMO_SAMPLES": str(samples or 0)})
    return json.loads((out / "rtl.json").read_text())


def check_identical(hw: dict, rtl: dict) -> None:
    diff = [k for k in COMPARED if hw.get(k) != rtl.get(k)]
    if diff or rtl.get("rtl_mismatches"):
        raise SystemExit(f"RTL and pysim.hw disagree on {diff} "
                         f"({rtl.get('rtl_mismatches')} command mismatches): stopping")


def row(name: str, r: dict, samples: int) -> dict:
    e = r["energy_pj_per_sample"]
    hw = r.get("hw_stats") or []
    cyc = "-"
    if hw:
        s = hw[0]
        cyc = f"{(s['lrt_cycles'] + s['commit_cycles']) / samples:.0f}"
    return {"method": name, "start": r["curve"][0]["ema_acc"], "end": r["final_ema_acc"],
            "test": r["final_test_acc"], "max_writes": r["max_writes"],
            "total_writes": r["total_writes"], "mac": e["mac"], "sram": e["sram"],
            "nvm": e["nvm"], "cycles": cyc, "aux": r["aux_words"],
            "life": fmt_life(r["lifetime_years"])}


def table(name: str, rows: list[dict]) -> str:
    lines = [f"### {name}", "",
             "| method | online acc start → end | test acc | worst-case writes/cell | total "
             "writes | energy/sample MAC / SRAM / NVM (pJ) | LRT-unit cycles/sample | aux "
             "words | lifetime (y) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['start']:.3f} → {r['end']:.3f} | {r['test']:.3f} | "
                     f"{r['max_writes']} | {r['total_writes']} | {r['mac']:.0f} / "
                     f"{r['sram']:.0f} / {r['nvm']:.0f} | {r['cycles']} | {r['aux']} | "
                     f"{r['life']} |")
    return "\n".join(lines) + "\n"


def plot(name: str, results: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for label, r in results.items():
        t = [c["t"] for c in r["curve"]]
        style = "--" if label == "lrt-rtl" else "-"
        axes[0].plot(t, [c["ema_acc"] for c in r["curve"]], style, label=label)
        axes[1].plot(t, [max(c["max_writes"], 0.5) for c in r["curve"]], style, label=label)
    axes[0].set(xlabel="samples", ylabel="online accuracy (EMA)", title=name)
    axes[1].set(xlabel="samples", ylabel="worst-case writes per cell", yscale="log",
                title="worst-case cell writes (level changes)")
    axes[0].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("out/demo"))
    ap.add_argument("--sim", default=None, help="icarus (default) or verilator")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--samples", type=int, default=None, help="override the stream length")
    args = ap.parse_args(argv)
    try:  # before minutes of Python work: the RTL column needs the checkout's benches
        for part in ("rtl", "sim"):
            checkout_path(part, needed_by="python -m pysim.experiments.demo (its RTL column)")
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    report = ["# Demo: on-device adaptation with the classifier layer in RTL", "",
              "Made by `nox -s demo` (`python -m pysim.experiments.demo`); configs in "
              "`configs/demo/`. "
              "Energy from the `rram` preset and `configs/accel/default.yaml`. The RTL column "
              "ran on Icarus through cocotb; its every response equalled `pysim.hw`'s.", ""]
    for cfg_path in sorted(preset_dir("demo").glob("*.yaml")):
        cfg = ExperimentCfg.load(cfg_path)
        if args.samples:
            cfg = dataclasses.replace(cfg, stream=dataclasses.replace(
                cfg.stream, samples=args.samples, eval_every=max(1, args.samples // 10)))
        out = args.out / cfg.name
        seed, n = cfg.seeds[0], cfg.stream.samples
        methods = expand_methods(cfg)
        print(f"== {cfg.name}: {cfg.description}", file=sys.stderr, flush=True)
        t0 = time.time()
        with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
            futs = {m.name: pool.submit(run_job, cfg, m, seed, m.grid[0], n, out)
                    for m in methods}
            results = {name: f.result() for name, f in futs.items()}
        print(f"   Python methods done in {time.time() - t0:.0f} s; RTL co-simulation "
              f"({n} samples) ...", file=sys.stderr, flush=True)
        hw_name = next(m.name for m in methods if m.cfg.hw)
        rtl = run_rtl(cfg_path, cfg, out, args.sim, args.samples)
        check_identical(results[hw_name], rtl)
        results["lrt-rtl"] = rtl
        labels = {m.name: m.name for m in methods}
        labels[hw_name] = "lrt (pysim.hw)"
        rows = [row(labels.get(k, k), r, n) for k, r in results.items()]
        text = table(f"{cfg.name} — {cfg.description}", rows)
        print(text)
        png = args.out / f"{cfg.name}.png"
        plot(cfg.name, results, png)
        report += [text, f"![{cfg.name}]({png.name})", ""]
        inf = results["inference"]["final_ema_acc"]
        best = rtl["final_ema_acc"]
        sgd = next(r for k, r in results.items() if k.startswith("sgd"))
        mb = next(r for k, r in results.items() if k.startswith("minibatch"))
        summary = (f"RTL LRT − inference-only: {100 * (best - inf):+.1f} pt; worst-case writes "
                   f"per cell, SGD ÷ RTL LRT: "
                   f"{sgd['max_writes'] / max(rtl['max_writes'], 1):.1f}×; aux memory LRT ÷ "
                   f"mini-batch: {rtl['aux_words']}/{mb['aux_words']} = "
                   f"{rtl['aux_words'] / mb['aux_words']:.2f}.")
        print(summary)
        report.append(summary + "\n")
    (args.out / "report.md").write_text("\n".join(report))
    print(f"report and plots in {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
