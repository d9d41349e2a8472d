"""Studies: the same results from the local process pool and from a Dask cluster."""

import json

import pytest

from pysim.experiment import experiment_from_mapping
from pysim.study import run_study

from .test_experiment import tiny


def small_study():
    return experiment_from_mapping(tiny(
        seeds=[0, 1],
        methods=[{"name": "sgd", "rule": "sgd", "lr": [0.01, 0.05]},
                 {"name": "lrt", "rule": "lrt", "lr": [0.05], "batch": 10}]))


def test_dask_cluster_gives_the_local_result(tmp_path):
    distributed = pytest.importorskip("distributed")
    cfg = small_study()
    local = run_study(cfg, tmp_path / "pool", workers=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        remote = run_study(cfg, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert remote == local
    assert json.loads((tmp_path / "dask" / "results.json").read_text()) == local
    assert [r["lr"] for r in local["rows"]] and len(local["jobs"]) == 4
