"""The benchmark's adaptation rows (pysim.bench.bench_jobs): one timed job per method,
and three as lanes."""

from pysim.bench import bench_jobs
from pysim.experiment import ExperimentCfg, expand_methods
from pysim.suite import CONFIGS


def test_adaptation_rows_time_every_method_of_the_study():
    rows = bench_jobs("mlp_rotation", samples=30)
    methods = expand_methods(ExperimentCfg.load(CONFIGS / "mlp_rotation.yaml"))
    assert [r["method"] for r in rows] == [m.name for m in methods]
    assert all(r["samples"] == 30 and r["cpu_us_per_sample"] > 0 for r in rows)
    assert all(r["lanes"] == 3 and r["cpu_us_per_lane_sample"] > 0 for r in rows)
    assert all(r["lr"] in m.grid for r, m in zip(rows, methods, strict=True))
