"""The benchmark's adaptation rows (pysim.tools.bench.bench_jobs): one timed job per method,
three as lanes, and the suite's lane groups."""

from pysim.experiments.schema import ExperimentCfg, expand_methods
from pysim.experiments.suite import CONFIGS
from pysim.tools.bench import bench_jobs


def test_adaptation_rows_time_every_method_of_the_study():
    rows = bench_jobs("mlp_rotation", samples=30)
    methods = expand_methods(ExperimentCfg.load(CONFIGS / "mlp_rotation.yaml"))
    assert [r["method"] for r in rows] == [m.name for m in methods]
    assert all(r["samples"] == 30 and r["cpu_us_per_sample"] > 0 for r in rows)
    assert all(r["jobs"] == 3 and r["cpu_us_per_job_sample_stacked"] > 0 for r in rows)
    assert all(r["lr"] in m.grid for r, m in zip(rows, methods, strict=True))
    # The suite's lane groups: SGD with and without max-norm and stochastic rounding run
    # as one job of 4 methods × 3 seeds; mixed precision with and without max-norm, 2 × 3.
    groups = {r["method"]: r["group_jobs"] for r in rows}
    assert groups["sgd"] == groups["sgd-sr-maxnorm"] == 12 and groups["mixed"] == 6
    assert all(r["cpu_us_per_job_sample_grouped"] > 0 for r in rows)
