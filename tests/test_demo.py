"""The demo end to end on a short stream: every method, and the classifier layer's LRT
co-simulated on rtl/accel_top.v under Icarus, checked against pysim.hw."""

import json
import shutil

import pytest

from pysim.experiments import demo


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs Icarus Verilog")
def test_short_demo_runs_the_rtl_and_matches_the_model(tmp_path):
    assert demo.main(["--samples", "24", "--out", str(tmp_path), "--workers", "1",
                      "--sim", "icarus"]) == 0
    report = (tmp_path / "report.md").read_text()
    for name in ("demo_drift", "demo_rotation"):
        assert (tmp_path / f"{name}.png").exists()
        rtl = json.loads((tmp_path / name / "rtl.json").read_text())
        assert rtl["samples"] == 24 and rtl["rtl_mismatches"] == 0
        assert rtl["simulator"] == "icarus" and rtl["sim_cycles"] > 0
        assert (tmp_path / name / "rtl-icarus.log").stat().st_size > 0  # the simulator's output
        assert rtl["total_writes"] > 0  # the RTL committed to its crossbar
        assert f"### {name}" in report
    assert report.count("| lrt-rtl |") == 2
