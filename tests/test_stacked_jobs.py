"""Stacked jobs: J jobs in lockstep (stacked crossbars, rules, networks, one Job) compute,
job for job, bit for bit what each job computes alone (J = 1)."""

import copy
import dataclasses
import json

import numpy as np
import pytest

from pysim.device import load_device_from_mapping
from pysim.experiments.job import Job, stackable
from pysim.experiments.jobstore import job_id
from pysim.experiments.run import run_stacked
from pysim.experiments.schema import expand_methods, experiment_from_mapping
from pysim.experiments.study import MAX_STACK, stack_groups
from pysim.network import Network, build
from pysim.nn import Quant
from pysim.nvm import Crossbar
from pysim.rules import LRT, SGD, MaxNorm, MiniBatchSGD, MixedPrecision, RuleStats
from pysim.store import load_state, save_state

from .test_experiment import tiny

SEED = 20261126


def noisy_device(**kw):
    """Every per-job random draw and count: write noise, write-verify, stuck cells,
    wear-out, per-level pulses, analog drift and bit flips."""
    base = {"name": "t", "bits": 4, "pulses": "per_level", "write_energy_per_pulse_pj": 2.0,
            "write_energy_per_cell_pj": 10.0, "write_latency_ns": 5.0, "endurance": 6,
            "write_noise_lsb": 0.4, "write_verify": 2, "stuck_fraction": 0.1,
            "drift_sigma_per_1m": 500.0, "flip_rate_per_1m": 200.0}
    return load_device_from_mapping(base | kw, "<test>")


def singles(dev, lanes, shape=(5, 7)):
    """``lanes`` one-job crossbars of ``dev``, each on its own generators (the same every
    call)."""
    return [Crossbar(dev, shape, np.random.default_rng([SEED, i]),
                     drift_rng=np.random.default_rng([SEED, i, 1])) for i in range(lanes)]


def assert_same_cells(lane_xb, single):
    for i, xb in enumerate(single):
        assert xb.jobs == 1
        np.testing.assert_array_equal(lane_xb.g[i], xb.g[0])
        np.testing.assert_array_equal(lane_xb.write_counts[i], xb.write_counts[0])
        np.testing.assert_array_equal(lane_xb.codes()[i], xb.codes()[0])
        np.testing.assert_array_equal(lane_xb.read()[i], xb.read()[0])


def test_lane_crossbar_writes_and_drifts_like_its_single_crossbars():
    print(f"seed {SEED}")
    dev, lanes = noisy_device(), 3
    single = singles(dev, lanes)
    lane = Crossbar.stack(singles(dev, lanes))
    rng = np.random.default_rng(SEED)
    size = 5 * 7
    for rnd in range(12):
        fresh = rng.integers(lane.k_min, lane.k_max + 1, (lanes, 5, 7))
        target = np.where(rng.random(fresh.shape) < 0.5, lane.codes(), fresh)
        target[rnd % lanes] = lane.codes()[rnd % lanes]  # a lane that writes nothing
        cells = np.flatnonzero(target != lane.codes())
        report = lane.write_cells(cells, target.reshape(-1)[cells])
        for i, xb in enumerate(single):
            mine = cells[(cells >= i * size) & (cells < (i + 1) * size)] - i * size
            want = xb.write_cells(mine, target[i].reshape(-1)[mine])
            assert report.job(i) == want.job(0)
        assert_same_cells(lane, single)
        lane.drift(7)
        for xb in single:
            xb.drift(7)
        assert_same_cells(lane, single)
    assert lane.write_counts.max() >= dev.endurance  # wear-out was reached and blocked


@pytest.mark.parametrize("kind", ["sgd", "sgd-sr-maxnorm", "minibatch-sr-maxnorm",
                                  "minibatch", "mixed-maxnorm", "lrt-unbiased-maxnorm",
                                  "lrt-biased-sr", "lrt-unbiased-threshold",
                                  "lrt-biased-threshold-feedback-maxnorm"])
def test_lane_rules_equal_single_rules(kind):
    print(f"seed {SEED}")
    dev = noisy_device(bits=6, endurance=1e9)
    lanes, lrs = 3, ([0.05, 0.001, 1.0] if kind.startswith("lrt") else [0.3, 0.05, 1.0])
    sr, norm = "-sr" in kind, "maxnorm" in kind

    def make(xb, lr, rng):
        if kind.startswith("sgd"):
            return SGD(xb, lr, norm, sr, rng)
        if kind.startswith("minibatch"):
            return MiniBatchSGD(xb, lr, 3, norm, sr, rng)
        if kind.startswith("lrt"):
            # rho_min gates some lanes' commits while others write; discount < 1 decays.
            return LRT(xb, lr, 4, rank=2, mode=kind.split("-")[1], rng=rng, rho_min=0.2,
                       max_norm=norm, discount=0.5, stochastic_round=sr,
                       write_threshold=2 if "threshold" in kind else 1,
                       error_feedback=2 if "feedback" in kind else 0)
        return MixedPrecision(xb, lr, norm)

    rngs = [np.random.default_rng([SEED, i, 2]) for i in range(lanes)]
    lane_rngs = [np.random.default_rng([SEED, i, 2]) for i in range(lanes)]
    single = [make(xb, lr, r) for xb, lr, r in zip(singles(dev, lanes), lrs, rngs,
                                                                  strict=True)]
    lane = make(Crossbar.stack(singles(dev, lanes)), lrs, lane_rngs)
    assert_lane_rule_steps_like(lane, single)
    if kind.startswith("lrt"):
        assert sum(r.stats.gated for r in single) > 0


def assert_lane_rule_steps_like(lane, single):
    """Step lane rule ``lane`` and its single rules on the same random terms; every write
    report, counter and cell must agree lane for lane."""
    lanes = len(single)
    data = np.random.default_rng(SEED)
    for t in range(40):
        terms = 1 + t % 3  # several outer-product terms per sample, as a conv layer's
        dY = data.normal(0, 1, (lanes, terms, 5)) * (data.random((lanes, terms, 5)) < 0.7)
        X = data.normal(0, 1, (lanes, terms, 7)) * (data.random((lanes, terms, 7)) < 0.7)
        report = lane.step(dY, X)
        for i, rule in enumerate(single):
            assert report.job(i) == rule.step(dY[i:i + 1], X[i:i + 1]).job(0)
    assert_same_cells(lane.xbar, [r.xbar for r in single])
    for i, rule in enumerate(single):
        assert lane.stats.as_dict(i) == rule.stats.as_dict()
        np.testing.assert_array_equal(lane.pixel_writes[i], rule.pixel_writes[0])
    assert sum(r.stats.commits for r in single) > 0
    if isinstance(lane, LRT):
        assert [acc.samples_absorbed for acc in lane.accs] == \
            [r.acc.samples_absorbed for r in single]


@pytest.mark.parametrize("rule", ["sgd", "minibatch", "mixed", "lrt"])
def test_lanes_with_options_of_their_own_equal_single_rules(rule):
    """Max-norm, stochastic rounding and LRT's mode one per lane (the methods of one lane
    key share a job): each lane still runs its own single rule's numbers."""
    print(f"seed {SEED}")
    dev = noisy_device(bits=6, endurance=1e9)
    lrs = [0.3, 0.05, 1.0, 0.1] if rule != "lrt" else [0.05, 0.001, 1.0, 0.01]
    norm = [False, True, True, False]
    sr = [True, False, True, False] if rule != "mixed" else [False] * 4
    mode = ["biased", "unbiased", "unbiased", "biased"]

    def make(xb, lr, rng, norm, sr, mode):
        if rule == "sgd":
            return SGD(xb, lr, norm, sr, rng)
        if rule == "minibatch":
            return MiniBatchSGD(xb, lr, 3, norm, sr, rng)
        if rule == "lrt":
            return LRT(xb, lr, 4, rank=2, mode=mode, rng=rng, rho_min=0.2, max_norm=norm,
                       discount=0.5, stochastic_round=sr)
        return MixedPrecision(xb, lr, norm)

    def rngs():
        return [np.random.default_rng([SEED, i, 2]) for i in range(len(lrs))]
    single = [make(*args) for args in zip(singles(dev, len(lrs)), lrs, rngs(), norm, sr, mode,
                                          strict=True)]
    lane = make(Crossbar.stack(singles(dev, len(lrs))), lrs, rngs(), norm, sr, mode)
    assert_lane_rule_steps_like(lane, single)


def test_lanes_reject_what_they_cannot_run():
    dev = noisy_device()
    with pytest.raises(ValueError, match="one lr per job"):
        SGD(Crossbar.stack(singles(dev, 2)), [0.1])
    with pytest.raises(ValueError, match=r"one rng per job.*single generator"):
        SGD(Crossbar.stack(singles(dev, 2)), 0.1, stochastic_round=True,
            rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="one max_norm per job"):
        MixedPrecision(Crossbar.stack(singles(dev, 2)), 0.1, max_norm=[True])
    with pytest.raises(ValueError, match="one flag per job"):
        MaxNorm(jobs=2, active=[True])
    with pytest.raises(ValueError, match="share their device, shape and range"):
        Crossbar.stack(singles(dev, 1) + singles(dev, 1, shape=(5, 6)))


def deployed(arch, lanes):
    nets = [build(arch, np.random.default_rng([SEED, i]), Quant(act_max=8.0))
            for i in range(lanes)]
    dev = noisy_device(bits=8, endurance=1e9)
    for i, net in enumerate(nets):
        net.deploy(dev, np.random.default_rng([SEED, i, 3]))
        for layer in net.affine:
            layer.b = np.random.default_rng([SEED, i, 4]).normal(0, 0.3, layer.b.shape)
    return nets


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_lane_network_steps_like_its_single_networks(arch):
    print(f"seed {SEED}")
    lanes = 3
    single = deployed(arch, lanes)
    lane = Network.stack(deployed(arch, lanes))
    data = np.random.default_rng(SEED)
    for _ in range(20):
        images = data.uniform(0, 1, (lanes, 8, 8))
        labels = data.integers(0, 10, lanes)
        loss, correct = lane.step(images, labels)
        for layer in lane.layers:
            layer.update_digital(0.05)
        for i, net in enumerate(single):
            want_loss, want_correct = net.step(images[i:i + 1], labels[i:i + 1])
            for layer in net.layers:
                layer.update_digital(0.05)
            assert (loss[i], bool(correct[i])) == (want_loss[0], bool(want_correct[0]))
            for a, b in zip(lane.affine, net.affine, strict=True):
                np.testing.assert_array_equal(a.terms[0][i], b.terms[0][0])
                np.testing.assert_array_equal(a.terms[1][i], b.terms[1][0])
                np.testing.assert_array_equal(a.b[i], b.b[0])
            for a, b in zip(lane.layers, net.layers, strict=True):
                for name in ("gamma", "beta", "mean", "sq"):  # batch norm's registers
                    if hasattr(b, name):
                        np.testing.assert_array_equal(getattr(a, name)[i],
                                                      getattr(b, name)[0])
        np.testing.assert_array_equal(
            lane.predict(images), [net.predict(images[i:i + 1])[0]
                                   for i, net in enumerate(single)])
    with pytest.raises(ValueError, match="deploy each one first"):
        Network.stack([build(arch, np.random.default_rng(0), Quant())] * 2)


def lane_cfg(**over):
    return experiment_from_mapping(tiny(
        seeds=[0, 1],
        scenario={"every": 200, "segments": [{"rotate": 0}, {"noise": 0.1},
                                             {"classes": [1, 2, 3]}],
                  "drift_sigma_per_1m": 1000.0, "flips_per_1m": 100.0},
        methods=[{"name": "inference", "rule": "none"},
                 {"name": "bias", "rule": "bias"},
                 {"name": "sgd-sr", "rule": "sgd", "stochastic_round": True,
                  "lr": [0.01, 0.05], "max_norm": [True]},
                 {"name": "sgd", "rule": "sgd", "lr": [0.05], "max_norm": [False, True]},
                 {"name": "minibatch", "rule": "minibatch", "lr": [0.05], "batch": 10},
                 {"name": "mixed", "rule": "mixed", "lr": [0.05]},
                 {"name": "lrt", "rule": "lrt", "lr": [0.05], "batch": 10, "mode": "unbiased"},
                 {"name": "lrt-biased", "rule": "lrt", "lr": [0.05], "batch": 10,
                  "max_norm": [False, True]},
                 {"name": "lrt-hw", "rule": "lrt", "lr": [0.05], "batch": 10, "hw": True}],
        **over))


@pytest.mark.parametrize("name", ["inference", "bias", "sgd-sr-maxnorm", "minibatch",
                                  "mixed", "lrt", "cnn-sgd", "cnn-lrt"])
def test_a_lane_job_gives_each_lane_its_single_jobs_result(tmp_path, name):
    cfg = lane_cfg()
    if name.startswith("cnn-"):
        cfg = dataclasses.replace(cfg, network="cnn", stream=dataclasses.replace(
            cfg.stream, samples=300, eval_every=100))
        name = {"cnn-sgd": "sgd-sr-maxnorm", "cnn-lrt": "lrt"}[name]
    method = next(m for m in expand_methods(cfg) if m.name == name)
    runs = [(0, 0.05), (1, 0.05), (0, 0.01)]  # seeds of a final run, lrs of a tuning run
    assert stackable(cfg, method)
    n = cfg.stream.samples
    lanes = Job.stack(cfg, [(method, s, lr) for s, lr in runs], n, tmp_path).run(
        tmp_path, checkpoint=False)
    for (seed, lr), got in zip(runs, lanes, strict=True):
        want = Job(cfg, method, seed, lr, n, tmp_path).run(tmp_path, checkpoint=False)[0]
        assert json.dumps(got) == json.dumps(want)


@pytest.mark.parametrize("names", [("sgd", "sgd-maxnorm", "sgd-sr-maxnorm"),
                                   ("lrt", "lrt-biased", "lrt-biased-maxnorm")])
def test_a_lane_job_of_several_methods_gives_each_its_single_jobs_result(tmp_path, names):
    cfg = lane_cfg()
    methods = {m.name: m for m in expand_methods(cfg)}
    runs = [(methods[name], seed, lr) for name, (seed, lr) in
            zip(names, [(0, 0.05), (1, 0.05), (0, 0.01)], strict=True)]
    n = cfg.stream.samples
    lanes = Job.stack(cfg, runs, n, tmp_path).run(tmp_path, checkpoint=False)
    for (method, seed, lr), got in zip(runs, lanes, strict=True):
        want = Job(cfg, method, seed, lr, n, tmp_path).run(tmp_path, checkpoint=False)[0]
        assert got["method"] == method.name
        assert json.dumps(got) == json.dumps(want)
    with pytest.raises(ValueError, match="differ in more than"):
        Job.stack(cfg, [(methods["sgd"], 0, 0.05), (methods["mixed"], 0, 0.05)], n, tmp_path)


def test_an_interrupted_lane_job_resumes_to_the_uninterrupted_result(tmp_path):
    cfg = lane_cfg()
    methods = {m.name: m for m in expand_methods(cfg)}
    method = methods["sgd-sr-maxnorm"]  # beside plain SGD: lanes of two methods
    runs = [(methods["sgd"], 0, 0.05), (method, 1, 0.01), (method, 0, 0.05)]
    whole = run_stacked(cfg, runs, 600, tmp_path / "whole", verbose=False)
    assert [r["method"] for r in whole] == ["sgd", "sgd-sr-maxnorm", "sgd-sr-maxnorm"]

    class Killed(Exception):
        pass

    def crash(job):
        if job.t == 300:
            raise Killed  # after the checkpoint at sample 300
    out = tmp_path / "cut"
    job = Job.stack(cfg, runs, 600, out)
    with pytest.raises(Killed):
        job.run(out, crash)
    assert len(list((out / "ckpt").glob("*stack3*.npz"))) == 1
    assert run_stacked(cfg, runs, 600, out, verbose=False) == whole
    # A finished lane is read back, the others run again as lanes: the same results.
    (out / "jobs" / f"{job_id(cfg, method, 1, 0.01, 600)}.json").unlink()
    assert run_stacked(cfg, runs, 600, out, verbose=False) == whole


def test_the_study_submits_lane_capable_jobs_together():
    cfg = lane_cfg()
    methods = {m.name: m for m in expand_methods(cfg)}
    tasks = [(cfg, methods[n], s, lr, 600) for n, s, lr in
             [("sgd-sr-maxnorm", 0, 0.01), ("lrt-hw", 0, 0.05), ("sgd-sr-maxnorm", 0, 0.05),
              ("lrt-hw", 1, 0.05), ("mixed", 0, 0.05), ("sgd-sr-maxnorm", 1, 0.05),
              ("sgd", 0, 0.05), ("lrt", 0, 0.05), ("sgd-maxnorm", 1, 0.05),
              ("lrt-biased-maxnorm", 0, 0.05)]]
    # SGD with and without max-norm and stochastic rounding: one lane key; so are biased
    # and unbiased LRT; mixed precision and the accelerator model stand alone.
    assert sorted(stack_groups(tasks)) == [[0, 2, 5, 6, 8], [1], [3], [4], [7, 9]]
    tasks.append((cfg, methods["sgd"], 0, 0.05, 300))  # another stream length
    assert [10] in stack_groups(tasks)
    many = [(cfg, methods["sgd"], s, 0.05, 600) for s in range(MAX_STACK + 3)]
    assert sorted(map(len, stack_groups(many))) == [(MAX_STACK + 3) // 2, (MAX_STACK + 4) // 2]
    assert sorted(i for g in stack_groups(many) for i in g) == list(range(MAX_STACK + 3))
    assert stackable(dataclasses.replace(cfg, network="cnn"), methods["lrt"])
    assert not stackable(cfg, methods["lrt-hw"])


def test_lane_stats_and_checkpoints_round_trip(tmp_path):
    stats = RuleStats.zeros(2)
    stats.macs += 5
    stats.commits[1] += 1
    want = RuleStats.zeros(1)
    want.commits += 1
    want.macs += 5
    assert stats.job(1).as_dict() == want.as_dict() == stats.as_dict(1)
    assert stats.as_dict(0)["commits"] == 0
    lane = Crossbar.stack(singles(noisy_device(), 2))
    save_state(tmp_path / "x.npz", lane, "test")
    again = load_state(tmp_path / "x.npz", "test")
    assert again.jobs == 2 and again.rngs[1].random() == copy.deepcopy(lane.rngs[1]).random()
