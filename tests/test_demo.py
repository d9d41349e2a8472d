"""The demo end to end on a short stream: every method, and both layers' LRT co-simulated
on rtl/accel_top.v (a layer slot each) under Icarus, checked against pysim.hw; the
seeds table made from its output, and the targets that table checks."""

import json
import shutil

import pytest

from pysim.experiments import demo, demo_seeds


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs Icarus Verilog")
def test_short_demo_runs_the_rtl_and_matches_the_model(tmp_path, capsys):
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
        assert len(rtl["hw_stats"]) == 2  # both layers ran on the accelerator
        assert all(s["samples"] == 24 for s in rtl["hw_stats"])
        assert f"### {name}" in report
    assert report.count("| lrt-rtl |") == 2
    capsys.readouterr()
    assert demo_seeds.main([str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "| demo_drift | 0 |" in table and "| demo_rotation | 0 |" in table


def _results(inf, sgd_w, mb, rtl, rtl_w, aux=816, aux_mb=4736):
    def r(acc, writes=0, aux_words=0):
        return {"final_ema_acc": acc, "max_writes": writes, "aux_words": aux_words}
    return {"inference": r(inf), "sgd": r(0.9, sgd_w), "minibatch": r(mb, 0, aux_mb),
            "lrt-float": r(0.8), "rtl": r(rtl, rtl_w, aux)}


def test_seed_table_checks_the_demo_targets():
    assert demo_seeds.targets("demo_drift", _results(0.4, 3000, 0.88, 0.84, 200)) == []
    missed = demo_seeds.targets("demo_drift", _results(0.6, 900, 0.88, 0.79, 200, aux=1000))
    assert missed == ["accuracy < 0.80", "< 30 pt above inference",
                      "writes < 5× fewer than SGD's", "aux > 0.2 of mini-batch's"]
    assert demo_seeds.targets("demo_rotation", _results(0.48, 3000, 0.79, 0.75, 200)) == []
    assert demo_seeds.targets("demo_rotation", _results(0.55, 3000, 0.85, 0.75, 200)) == [
        "< 25 pt above inference", "> 5 pt below mini-batch"]
