"""Studies: the same results from the local process pool and from a Dask cluster; several
studies on one pool; a failing study does not stop the others."""


import pytest

from pysim.experiments.schema import experiment_from_mapping
from pysim.experiments.study import run_studies, run_study
from pysim.store import read_json

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
    assert read_json(tmp_path / "dask" / "results.json") == local
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


def test_studies_can_share_their_pretrained_networks(tmp_path):
    """The suite pretrains a (network, data, device, seed) once for all its studies: the
    same results as studies that pretrain on their own."""
    a = small_study()
    b = experiment_from_mapping(tiny(
        name="other", seeds=[0, 1],
        methods=[{"name": "mixed", "rule": "mixed", "lr": [0.05]}]))
    shared = run_studies([a, b], [tmp_path / "a", tmp_path / "b"], workers=1,
                         pretrained=tmp_path / "pre")
    # Seeds 0, 1 and the tuning seed, once for both studies; none in the study folders.
    assert len(list((tmp_path / "pre").glob("mlp-*.npz"))) == 3
    assert not list(tmp_path.glob("[ab]/pretrained/*.npz"))
    alone = run_studies([a, b], [tmp_path / "a2", tmp_path / "b2"], workers=1)
    assert shared == alone


def test_each_study_is_reported_as_it_finishes_and_a_report_error_stays_local(tmp_path):
    a = small_study()
    b = experiment_from_mapping(tiny(name="other", seeds=[0],
                                     methods=[{"name": "mixed", "rule": "mixed"}]))
    seen = []

    def report(summary, out):
        seen.append(summary["name"])
        if summary["name"] == "other":
            raise OSError("disk full")
    res_a, res_b = run_studies([a, b], [tmp_path / "a", tmp_path / "b"], workers=1,
                               on_done=report)
    assert sorted(seen) == ["other", "tiny"] and res_a["name"] == "tiny"
    assert isinstance(res_b, RuntimeError) and "disk full" in str(res_b)
    assert (tmp_path / "b" / "results.json").exists()  # nothing computed is lost
