"""Sessions: `nox -s tests` (the README's test command), `lint`, `bench`.

Every session installs the package editable into its own virtualenv, so a fresh
machine needs only `pip install nox`.
"""

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """Run the pytest suite (golden model; cocotb benches join as RTL lands)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff over the Python code."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", "pysim", "tests", "noxfile.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Print throughput and memory figures of the golden model (see pysim/bench.py)."""
    session.install("-e", ".[bench]")
    session.run("python", "-m", "pysim.bench", *session.posargs)


@nox.session
def experiments(session: nox.Session) -> None:
    """The digits suite (configs/experiments/*.yaml) and docs/results.md; resumable."""
    session.install("-e", ".")
    session.run("python", "-m", "pysim.suite", *session.posargs)
