"""A job's result depends only on its config, seed and method: not on the lane group it
runs in, nor on the number of workers; and unbiased LRT's realisation is a continuous
function of its input (an ulp in, not a different trajectory out)."""

import numpy as np
import pytest

from pysim import lrt
from pysim.experiments.job import Job
from pysim.experiments.run import run_job
from pysim.experiments.schema import expand_methods, experiment_from_mapping
from pysim.experiments.study import run_study
from pysim.lrt import LowRankAccumulator
from pysim.store import write_json

from .test_experiment import tiny

# Every rule and option a lane can carry: rounding to nearest and stochastic, max-norm
# on and off, mini-batch, mixed precision, biased and unbiased LRT, error feedback.
METHODS = [
    {"name": "sgd", "rule": "sgd", "lr": [0.05], "max_norm": [False, True]},
    {"name": "sgd-sr", "rule": "sgd", "lr": [0.05], "stochastic_round": True},
    {"name": "minibatch", "rule": "minibatch", "lr": [0.05], "batch": 10},
    {"name": "mixed", "rule": "mixed", "lr": [0.05], "max_norm": [True]},
    {"name": "lrt-biased", "rule": "lrt", "lr": [0.05], "batch": 10, "mode": "biased",
     "max_norm": [False, True]},
    {"name": "lrt-unbiased", "rule": "lrt", "lr": [0.05], "batch": 10, "mode": "unbiased",
     "max_norm": [False, True]},
    {"name": "lrt-ef", "rule": "lrt", "lr": [0.05], "batch": 10, "error_feedback": 1},
]


@pytest.fixture(scope="module")
def cfg():
    return experiment_from_mapping(tiny(seeds=[0, 1, 2], methods=METHODS,
                                        stream={"samples": 400, "eval_every": 100,
                                                "test_images": 30},
                                        tuning={"samples": 100}))


def job_files(out) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((out / "jobs").glob("*.json"))}


def test_jobs_alone_in_lanes_of_3_and_12_and_on_1_or_2_workers_give_identical_files(
        cfg, tmp_path):
    one = run_study(cfg, tmp_path / "w1", workers=1)
    two = run_study(cfg, tmp_path / "w2", workers=2)
    assert one == two
    files = job_files(tmp_path / "w1")
    assert files == job_files(tmp_path / "w2")
    finals = [(m, s, one["rows"][i]["lr"]) for i, m in enumerate(expand_methods(cfg))
              for s in cfg.seeds]
    # Alone: every final job on its own.
    for m, s, lr in finals:
        run_job(cfg, m, s, lr, cfg.stream.samples, tmp_path / "alone", verbose=False)
    assert job_files(tmp_path / "alone") == {k: v for k, v in files.items()
                                              if k in job_files(tmp_path / "alone")}
    assert len(job_files(tmp_path / "alone")) == len(finals)
    # In lanes of 3 (one method, its seeds) and of 12 (four LRT methods × three seeds,
    # mixing biased and unbiased, with and without max-norm).
    by_name = {m.name: m for m in expand_methods(cfg)}
    lrts = [n for n in by_name if n.startswith("lrt-biased") or n.startswith("lrt-unbiased")]
    groups = [[r for r in finals if r[0].name == "lrt-unbiased-maxnorm"],
              [r for r in finals if r[0].name in lrts]]
    assert [len(g) for g in groups] == [3, 12]
    for k, group in enumerate(groups):
        out = tmp_path / f"lanes{k}"
        results = Job.stack(cfg, group, cfg.stream.samples, out).run(out, checkpoint=False)
        for (m, s, _), res in zip(group, results, strict=True):
            write_json(out / "again.json", res)  # the file this result makes
            assert (out / "again.json").read_text() == files[f"{res['job']}.json"], (m.name, s)


def _stream(acc, n, perturb_at=None, seed=0):
    data = np.random.default_rng(seed)
    for t in range(n):
        dy = data.normal(size=acc.n_out) * (data.random(acc.n_out) < 0.5)
        x = np.abs(data.normal(size=acc.n_in)) * (data.random(acc.n_in) < 0.6)
        if t == perturb_at:  # one ulp on one entry: another BLAS kernel would do as much
            k = int(np.argmax(np.abs(dy)))
            dy[k] = np.nextafter(dy[k], np.inf)
        acc.update(dy, x)
    return acc.matrix()


@pytest.mark.parametrize(("n_out", "n_in"), [(10, 64), (64, 64)])
def test_an_ulp_does_not_change_the_unbiased_trajectory(n_out, n_in):
    def run(perturb_at):
        acc = LowRankAccumulator(n_out, n_in, 4, "unbiased", np.random.default_rng(5))
        return _stream(acc, 2000, perturb_at)

    a, b = run(None), run(10)
    assert np.linalg.norm(a - b) / np.linalg.norm(a) < 1e-6


def test_without_canonical_ties_an_ulp_gives_another_trajectory(monkeypatch):
    """The failure the canonical ties prevent, shown on the same stream."""
    monkeypatch.setattr(lrt, "_canonical_ties", lambda u, s, vt, ref: (u, s, vt))

    def run(perturb_at):
        acc = LowRankAccumulator(10, 64, 4, "unbiased", np.random.default_rng(5))
        return _stream(acc, 2000, perturb_at)

    a, b = run(None), run(10)
    assert np.linalg.norm(a - b) / np.linalg.norm(a) > 1e-2


def test_canonical_ties_depend_on_the_subspace_not_on_lapacks_basis():
    rng = np.random.default_rng(1)
    q = 5
    u, _ = np.linalg.qr(rng.normal(size=(q, q)))
    v, _ = np.linalg.qr(rng.normal(size=(q, q)))
    s = np.array([9.0, 4.0, 4.0, 4.0, 1.0])
    ref = rng.normal(size=(q, q))
    # Another valid SVD of the same matrix: rotate the tied block, flip a pair's sign.
    rot, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    u2, v2 = u.copy(), v.copy()
    u2[:, 1:4] = u[:, 1:4] @ rot
    v2[:, 1:4] = v[:, 1:4] @ rot
    u2[:, 0] *= -1
    v2[:, 0] *= -1
    s2 = s.copy()
    s2[2] = np.nextafter(s2[2], 0.0)  # ties from the reduction differ by ulps
    a = lrt._canonical_ties(u.copy(), s.copy(), v.T.copy(), ref)
    b = lrt._canonical_ties(u2, s2, v2.T.copy(), ref)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, atol=1e-12)
    np.testing.assert_allclose((a[0] * a[1]) @ a[2], (u * s) @ v.T, atol=1e-12)
