"""Figures of the bit-accurate model, for `nox -s bench` (called from pysim.tools.bench).

* accuracy of L·diag(σ)·Rᵀ against the float LRT over factor widths and sample counts;
* orthonormality drift over a long accumulation;
* LRT-unit cycles per absorbed sample against the forward pass, measured and by formula;
* model throughput (samples/s).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..hw.accel import Accelerator
from ..hw.driver import update
from ..hw.isa import N_STATS, REG_RESET, Reg, Stat
from ..hw.lrt_unit import LrtUnit
from ..hw.params import ArchParams
from ..hw.timing import infer_cycles, update_cycles, update_lower_bound
from ..lrt import LowRankAccumulator


def _unit(n_out: int, n_in: int, **arch) -> tuple[LrtUnit, dict, list[int]]:
    regs = dict(REG_RESET)
    regs[Reg.KAPPA_Q4] = 0
    return LrtUnit(ArchParams(n_in=n_in, n_out=n_out, **arch)), regs, [0] * N_STATS


def error_curve(n_out: int, n_in: int, widths, checkpoints, seeds=3, wc_extra=8,
                **arch) -> dict:
    """Worst-seed errors at each (F, samples), core width Wc = F + ``wc_extra`` (at most 26)
    and other ``arch`` parameters (``sweeps=3``) as given (docs/fixed-point.md uses these):
    ``vs_float`` = |M_hw - M_float| / |M_float|;
    ``excess`` = (|M_hw - G| - |M_float - G|) / |G|, how much worse than the float LRT
    the hardware approximates the exact sum G (negative: better).

    ``vs_float`` also counts near-ties in the spectrum, where the two drop different
    but equally good directions; ``excess`` measures only the loss of quality.
    """
    out = {}
    for f in widths:
        worst = {n: [0.0, -np.inf] for n in checkpoints}
        for seed in range(seeds):
            u, regs, st = _unit(n_out, n_in, f_bits=f, wc_bits=min(f + wc_extra, 26),
                                  **arch)
            ref = LowRankAccumulator(n_out, n_in, 4, kappa_th=np.inf)
            rng = np.random.default_rng(seed)
            G = np.zeros((n_out, n_in))
            for i in range(1, max(checkpoints) + 1):
                x, dy = rng.integers(-128, 128, n_in), rng.integers(-128, 128, n_out)
                u.update(x, dy, regs, st)
                ref.update(dy.astype(float), x.astype(float))
                G += np.outer(dy, x)
                if i in worst:
                    L, s, R = u.as_float()
                    M, Mh = ref.matrix(), (L * s) @ R.T
                    vs = np.linalg.norm(Mh - M) / np.linalg.norm(M)
                    ex = (np.linalg.norm(Mh - G) - np.linalg.norm(M - G)) / np.linalg.norm(G)
                    worst[i] = [max(worst[i][0], vs), max(worst[i][1], ex)]
        out[f] = worst
    return out


def orthonormality(n_out: int, n_in: int, checkpoints, seed: int = 0) -> dict[int, float]:
    u, regs, st = _unit(n_out, n_in)
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(1, max(checkpoints) + 1):
        u.update(rng.integers(-128, 128, n_in), rng.integers(-128, 128, n_out), regs, st)
        if i in checkpoints:
            L, _, R = u.as_float()
            r = L.shape[1]
            out[i] = float(max(np.abs(L.T @ L - np.eye(r)).max(),
                               np.abs(R.T @ R - np.eye(r)).max()))
    return out


def cycles_table(n_samples: int = 200, seed: int = 0) -> list[dict]:
    """Measured UPDATE cycles (default κ, random int8 data) and formula figures."""
    rows = []
    rng = np.random.default_rng(seed)
    rot_per_sample = None
    for n_out, n_in in ((10, 64), (64, 256)):
        acc = Accelerator(ArchParams(n_in=n_in, n_out=n_out))
        cyc = []
        t0 = time.perf_counter()
        for _ in range(n_samples):
            before = acc.stats[Stat.LRT_CYCLES]
            absorbed = acc.execute(update(rng.integers(-128, 128, n_in),
                                          rng.integers(-128, 128, n_out)))[0] & 1
            if absorbed:
                cyc.append(acc.stats[Stat.LRT_CYCLES] - before)
        dt = time.perf_counter() - t0
        a = acc.arch
        rot_per_sample = acc.stats[Stat.ROTATIONS] / acc.stats[Stat.ABSORBED]
        worst = update_cycles(a, True, rotations=a.sweeps * a.q * (a.q - 1) // 2)
        rows.append({"layer": f"{n_out}x{n_in}", "mean": float(np.mean(cyc)), "max": max(cyc),
                     "formula_worst": worst, "lower_bound": update_lower_bound(a),
                     "forward": infer_cycles(a), "dense_update": -(-n_out * n_in // a.lanes),
                     "model_samples_per_s": n_samples / dt})
    a = ArchParams(n_in=2048, n_out=512)
    typical = update_cycles(a, True, rotations=round(rot_per_sample))
    worst = update_cycles(a, True, rotations=a.sweeps * a.q * (a.q - 1) // 2)
    rows.append({"layer": "512x2048 (formula)", "mean": typical, "max": worst,
                 "formula_worst": worst, "lower_bound": update_lower_bound(a),
                 "forward": infer_cycles(a), "dense_update": -(-512 * 2048 // a.lanes),
                 "model_samples_per_s": None})
    return rows


def report(quick: bool = False) -> dict:
    widths = (8, 12, 16, 20) if quick else (8, 10, 12, 14, 16, 18, 20)
    checkpoints = (64, 256) if quick else (64, 256, 1024)
    result = {"error_curve": {}, "orthonormality": {}, "cycles": cycles_table()}
    print("\nBit-accurate model (pysim.hw), default arch: P=8 lanes, r=4, S=4, Wc=F+8")
    for shape in ((10, 64), (64, 256)):
        curve = error_curve(*shape, widths, checkpoints)
        result["error_curve"][f"{shape[0]}x{shape[1]}"] = {
            f: {n: {"vs_float": e[0], "excess": e[1]} for n, e in v.items()}
            for f, v in curve.items()}
        print(f"layer {shape[0]}x{shape[1]}, worst of 3 seeds: log2 |M_hw-M_fl|/|M_fl|  and  "
              "excess approximation error of the exact sum (|M_hw-G|-|M_fl-G|)/|G|")
        print("  F  " + "".join(f"{n:>8} samples{'':>11}" for n in checkpoints))
        for f, v in curve.items():
            print(f"  {f:<3}" + "".join(f"{np.log2(v[n][0]):>10.1f} {v[n][1]:>+12.1e}   "
                                        for n in checkpoints))
    ortho_points = (256, 1024) if quick else (256, 1024, 4096)
    ortho = orthonormality(10, 64, ortho_points)
    result["orthonormality"] = ortho
    print("max |L^T L - I|, |R^T R - I| (10x64, F=16): "
          + ", ".join(f"{n} samples: {v:.1e}" for n, v in ortho.items()))
    print(f"{'layer':<20}{'LRT cyc/abs. sample':>21}{'max':>7}{'worst-case':>12}"
          f"{'bound':>7}{'×bound':>8}{'forward':>9}{'×fwd':>7}{'dense upd.':>12}"
          f"{'model samp/s':>14}")
    for r in result["cycles"]:
        sps = f"{r['model_samples_per_s']:.0f}" if r["model_samples_per_s"] else "-"
        print(f"{r['layer']:<20}{r['mean']:>21.0f}{r['max']:>7}{r['formula_worst']:>12}"
              f"{r['lower_bound']:>7}{r['mean'] / r['lower_bound']:>8.2f}"
              f"{r['forward']:>9}{r['mean'] / r['forward']:>7.2f}{r['dense_update']:>12}"
              f"{sps:>14}")
    print("(cycles: mean/max measured on random int8 data with κ=100; 512x2048 from the "
          "spec's formula at the 64x256 run's rotations per sample; 'bound' = the length-n "
          "multiplies of an absorbed update ((2r+2+r·q)(n_in+n_out)) over P lanes with no "
          "overhead and a free core SVD; 'dense upd.' = n_out·n_in/P, the floor of a dense "
          "SGD/mini-batch update on the same lanes)")
    return result


RTL_SMALL = dict(N_IN=16, N_OUT=8, RANK=2, LANES=3, F=14, WC=20, SWEEPS=3)


def _runner(sim: str):
    """The harness's runner when the checkout's rtl/ and ``sim`` are there; else None,
    said on the output."""
    from ..config import checkout_path

    try:
        checkout_path("rtl", needed_by="the RTL speed rows")
        from harness import runner

        runner.simulator(sim)
    except RuntimeError as exc:
        print(f"  {sim}: skipped ({exc})")
        return None
    return runner


def rtl_speed(sim: str, iterations: int = 120, clocked: bool = False) -> dict | None:
    """Simulated cycles per second of the full-system test (accel_top, 16×8, r=2) on ``sim``;
    None when the simulator, or the checkout's rtl/ and sim/, is missing. Wall time includes
    cocotb and the model. ``clocked``: the HDL-clocked top (``sim/hdl/``) instead of a
    cocotb clock, as the demo runs it."""
    import xml.etree.ElementTree as ET

    runner = _runner(sim)
    if runner is None:
        return None
    t0 = time.perf_counter()
    path = runner.run("accel_top", RTL_SMALL, seed=7, sim=sim, iterations=iterations,
                      clocked=clocked)
    total = time.perf_counter() - t0
    xml = ET.parse(path)
    sim_ns = wall = 0.0
    for case in xml.iter("testcase"):
        wall += float(case.get("time", 0.0))
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        sim_ns += float(props.get("sim_time_stop", 0.0)) - float(props.get("sim_time_start", 0.0))
    cycles = sim_ns / 10.0  # 10 ns clock
    return {"sim": sim, "clocked": clocked, "cycles": cycles, "wall_s": wall,
            "cycles_per_s": cycles / wall, "with_build_s": total}


DEMO_SLOTS = dict(N_IN=64, N_OUT=64, LAYERS=2)  # the demo's accelerator: two 64×64 slots


def command_speed(sim: str, clocked: bool) -> dict | None:
    """Per command, on the demo's accelerator (default widths, two 64×64 slots) and the RTL
    alone: cycles, wall milliseconds and cycles/s of UPDATE, INJECT, READ_W and NOP
    (``sim/bench_commands.py``). None when the simulator or the checkout is missing."""
    import json
    import tempfile

    from ..hw.params import AccelConfig
    from ..hw.rtl import rtl_params

    runner = _runner(sim)
    if runner is None:
        return None
    params = rtl_params(AccelConfig.load("default").arch) | DEMO_SLOTS
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speed.json"
        runner.run("accel_top", params, seed=1, sim=sim, clocked=clocked,
                   test_module="bench_commands", env={"PYSIM_BENCH_OUT": str(path)},
                   log=Path(tmp) / "sim.log")
        return json.loads(path.read_text())


def command_report() -> dict:
    """:func:`command_speed` on both simulators and both clocks, side by side."""
    print("\nRTL per command (accel_top, two 64×64 slots, r=4, P=8; the RTL alone): "
          "cycles, ms and cycles/s")
    out = {}
    for clocked, how in ((False, "cocotb clock"), (True, "HDL clock")):
        for sim in ("icarus", "verilator"):
            r = command_speed(sim, clocked)
            if r is None:
                continue
            out[f"{sim}-{'hdl' if clocked else 'cocotb'}"] = r
            print(f"  {how:<12} {sim:<10} " + "; ".join(
                f"{k} {v['cycles_each']:.0f} cyc {v['ms_each']:.2f} ms "
                f"({v['cycles_per_s']:,.0f}/s)" for k, v in r.items()))
    return out


def rtl_report() -> dict:
    """The full-system test's speed on both simulators, with cocotb's clock (what
    ``nox -s tests`` runs) and with the HDL-clocked top (what the demo runs)."""
    print("\nRTL full-system test (accel_top 16×8, r=2; command streams + digits stream)")
    out = {}
    for clocked, how in ((False, "cocotb clock"), (True, "HDL clock")):
        rows = {s: rtl_speed(s, clocked=clocked) for s in ("icarus", "verilator")}
        for s, r in rows.items():
            if r:
                print(f"  {how:<12} {s:<10} {r['cycles']:>10,.0f} cycles in "
                      f"{r['wall_s']:.1f} s: {r['cycles_per_s']:>9,.0f} cycles/s "
                      f"(with build {r['with_build_s']:.0f} s)")
        if rows["icarus"] and rows["verilator"]:
            ratio = rows["verilator"]["cycles_per_s"] / rows["icarus"]["cycles_per_s"]
            print(f"  {how:<12} Verilator / Icarus speed: {ratio:.2f}×")
            rows["ratio"] = ratio
        out["hdl_clock" if clocked else "cocotb_clock"] = rows
    return out
