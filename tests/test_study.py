"""Studies: the same results from the local process pool and from a Dask cluster; several
studies on one pool; a failing study does not stop the others."""

import json

import pytest

from pysim.experiment import experiment_from_mapping
from pysim.study import run_studies, run_study

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


def test_studies_share_a_pool_and_a_failure_stays_local(tmp_path):
    good = small_study()
    bad = experiment_from_mapping(tiny(
        name="bad", data={"dataset": "mnist", "mnist_images": str(tmp_path / "none-images"),
                          "mnist_labels": str(tmp_path / "none-labels")},
        methods=[{"name": "sgd", "rule": "sgd", "lr": [0.01, 0.05]}]))
    res_good, res_bad = run_studies([good, bad], [tmp_path / "good", tmp_path / "bad"],
                                    workers=2)
    assert isinstance(res_bad, RuntimeError) and "rerun the same command" in str(res_bad)
    assert res_good == run_study(good, tmp_path / "alone", workers=1)
    assert (tmp_path / "good" / "results.json").exists()
    assert not (tmp_path / "bad" / "results.json").exists()
