"""Experiment runner: determinism, checkpoints (SIGKILL + resume), hw engine, config errors."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from pysim.config import ConfigError
from pysim.experiments.run import run_job
from pysim.experiments.schema import ExperimentCfg, expand_methods, experiment_from_mapping

ROOT = Path(__file__).resolve().parent.parent


def tiny(**over):
    cfg = {
        "name": "tiny", "network": "mlp", "device": "rram", "seeds": [0],
        "data": {"dataset": "digits", "n_train": 300, "n_test": 100},
        "stream": {"samples": 600, "eval_every": 100, "test_images": 50},
        "pretrain": {"epochs": 2, "lr": 0.05, "qat_epochs": 1},
        "scenario": {"every": 200, "segments": [{"rotate": 0}, {"rotate": 25}],
                     "drift_sigma_per_1m": 1000.0},
        "tuning": {"samples": 200},
        "methods": [{"name": "lrt", "rule": "lrt", "lr": [0.05], "batch": 10,
                     "mode": "unbiased"}],
    }
    for k, v in over.items():
        cfg[k] = v
    return cfg


def test_tuning_stream_squeezes_the_segment_schedule():
    from pysim.experiments.schema import tuning_cfg

    raw = tiny(stream={"samples": 20000, "eval_every": 1000},
               scenario={"every": 5000, "segments": [{"rotate": 0}, {"rotate": 20}],
                         "drift_sigma_per_1m": 1.0},
               tuning={"samples": 4000})
    cfg = experiment_from_mapping(raw)
    t = tuning_cfg(cfg)
    assert t.scenario.every == 1000 and t.scenario.drift_sigma_per_1m == 1.0
    assert t.stream.eval_every == 1000 and t.methods == cfg.methods
    m = expand_methods(cfg)[0]
    from pysim.experiments.jobstore import job_id
    assert job_id(t, m, 1000, 0.05, 4000) != job_id(cfg, m, 1000, 0.05, 4000)
    raw["tuning"] = {"samples": 4000, "compress": False}
    assert tuning_cfg(experiment_from_mapping(raw)).scenario.every == 5000


def test_stochastic_round_only_where_a_rule_rounds():
    raw = tiny(methods=[{"name": "m", "rule": "mixed", "stochastic_round": True}])
    with pytest.raises(ConfigError, match=r"stochastic_round.*sgd, minibatch or lrt"):
        experiment_from_mapping(raw)
    raw = tiny(methods=[{"name": "h", "rule": "lrt", "hw": True, "stochastic_round": True}])
    with pytest.raises(ConfigError, match="accelerator rounds to nearest"):
        experiment_from_mapping(raw)
    raw = tiny(methods=[{"name": "t", "rule": "sgd", "write_threshold": 2}])
    with pytest.raises(ConfigError, match=r"write_threshold.*only the float LRT"):
        experiment_from_mapping(raw)


def test_quant_section_sets_the_deployed_grids(tmp_path):
    """``quant.act_max`` reaches pretraining and the deployed network (the CNN configs
    widen it), and a different range is a different job."""
    from pysim.experiments.job import Job
    from pysim.experiments.jobstore import job_id
    cfg = experiment_from_mapping(tiny(quant={"act_max": 8.0, "grad_max": 0.5}))
    method = expand_methods(cfg)[0]
    job = Job(cfg, method, 0, 0.05, 10, tmp_path)
    for q in [job.net.quant] + [layer.quant for layer in job.net.affine]:
        assert (q.act_step, q.grad_step) == (8.0 / 128, 0.5 / 128)
    default = experiment_from_mapping(tiny())
    assert job_id(cfg, method, 0, 0.05, 10) != job_id(default, expand_methods(default)[0], 0,
                                                      0.05, 10)


def test_image_cache_is_bounded_and_changes_no_result(tmp_path, monkeypatch):
    import pysim.experiments.job as ex
    cfg = experiment_from_mapping(tiny())
    method = expand_methods(cfg)[0]
    cached = ex.Job(cfg, method, 0, 0.05, 300, tmp_path)
    first = cached.run(tmp_path, checkpoint=False)
    assert len(cached.runs[0].images) > 0
    monkeypatch.setattr(ex, "IMAGE_CACHE_BYTES", 10 * 64 * 8)  # room for ten 8×8 images
    bounded = ex.Job(cfg, method, 0, 0.05, 300, tmp_path)
    assert bounded.run(tmp_path, checkpoint=False) == first
    assert len(bounded.runs[0].images) == 10


def test_every_method_sees_the_same_samples_and_drift(tmp_path):
    """Stochastic rounding and LRT's random signs draw from the method's own stream: the
    sample stream and the drift of a seed are the same for every method."""
    from pysim.experiments.job import Job
    cfg = experiment_from_mapping(tiny(methods=[
        {"name": "inference", "rule": "none"},
        {"name": "sgd-sr", "rule": "sgd", "stochastic_round": True, "lr": [0.05]},
        {"name": "lrt", "rule": "lrt", "lr": [0.05], "batch": 10, "mode": "unbiased"}]))
    states = []
    for method in expand_methods(cfg):
        job = Job(cfg, method, 0, 0.05, 300, tmp_path)
        job.run(tmp_path, checkpoint=False)
        states.append((job.rng.bit_generator.state,
                       [xb.drift_rngs[0].bit_generator.state for xb in job.xbars]))
        if method.cfg.rule != "none":
            assert sum(r.stats.commits for r in job.rules if r is not None) > 0
    assert states[1] == states[0] and states[2] == states[0]


def test_changed_config_does_not_reuse_a_result(tmp_path):
    a = experiment_from_mapping(tiny())
    raw = tiny()
    raw["scenario"] = {**raw["scenario"], "drift_sigma_per_1m": 2000.0}
    b = experiment_from_mapping(raw)
    ra = run_job(a, expand_methods(a)[0], 0, 0.05, 600, tmp_path, verbose=False)
    rb = run_job(b, expand_methods(b)[0], 0, 0.05, 600, tmp_path, verbose=False)
    assert ra["job"] != rb["job"]
    assert ra["curve"] != rb["curve"]


def test_job_is_deterministic(tmp_path):
    cfg = experiment_from_mapping(tiny())
    m = expand_methods(cfg)[0]
    a = run_job(cfg, m, 0, 0.05, 600, tmp_path / "a", verbose=False)
    b = run_job(cfg, m, 0, 0.05, 600, tmp_path / "b", verbose=False)
    assert a == b
    assert a["max_writes"] > 0 and len(a["curve"]) == 6


def test_sigkill_then_resume_gives_the_uninterrupted_result(tmp_path):
    cfg_path = tmp_path / "tiny.yaml"
    # Long enough (~4 s of stream) that the kill, at most 1 s after the first
    # checkpoint, always lands before the end.
    raw = tiny(stream={"samples": 12000, "eval_every": 400, "test_images": 50})
    cfg_path.write_text(yaml.safe_dump(raw))
    cmd = [sys.executable, "-m", "pysim", "run", str(cfg_path), "--out"]
    ref = subprocess.run(cmd + [str(tmp_path / "ref")], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert ref.returncode == 0, ref.stderr
    out = tmp_path / "killed"
    proc = subprocess.Popen(cmd + [str(out)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    rng = np.random.default_rng(int(time.time()))
    deadline = time.time() + 120
    while not list((out / "ckpt").glob("*.npz")) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(float(rng.uniform(0.0, 1.0)))  # a random point after the first checkpoint
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "results.json").exists(), "the run ended before the kill"
    again = subprocess.run(cmd + [str(out)], capture_output=True, text=True, cwd=ROOT,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    a = json.loads((tmp_path / "ref" / "results.json").read_text())
    b = json.loads((out / "results.json").read_text())
    assert a["jobs"] == b["jobs"]


def test_corrupted_checkpoint_is_set_aside_and_the_job_rerun(tmp_path, capsys):
    cfg = experiment_from_mapping(tiny())
    m = expand_methods(cfg)[0]
    from pysim.experiments.jobstore import job_id

    whole = run_job(cfg, m, 0, 0.05, 600, tmp_path / "whole", verbose=False)
    ckpt = tmp_path / "ckpt" / f"{job_id(cfg, m, 0, 0.05, 600)}.npz"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"not a state file")
    assert run_job(cfg, m, 0, 0.05, 600, tmp_path, verbose=False) == whole
    assert f"{ckpt}: unreadable state file" in capsys.readouterr().err
    assert ckpt.with_name(ckpt.name + ".damaged").read_bytes() == b"not a state file"


def test_foreign_checkpoint_is_set_aside(tmp_path, capsys):
    from pysim.experiments.jobstore import CKPT_MAGIC, job_id
    from pysim.store import save_state

    cfg = experiment_from_mapping(tiny())
    m = expand_methods(cfg)[0]
    ckpt = tmp_path / "ckpt" / f"{job_id(cfg, m, 0, 0.05, 600)}.npz"
    save_state(ckpt, (CKPT_MAGIC, "someone-else", None), "job-checkpoint")
    run_job(cfg, m, 0, 0.05, 600, tmp_path, verbose=False)
    assert "checkpoint of another job ('someone-else'" in capsys.readouterr().err
    assert ckpt.with_name(ckpt.name + ".damaged").exists()


def test_hw_engine_matches_float_lrt_and_counts_the_same_writes(tmp_path):
    raw = tiny(device="ideal", stream={"samples": 1500, "eval_every": 500, "test_images": 100},
               scenario={"every": 500, "segments": [{"rotate": 0}, {"rotate": 20}]})
    raw["methods"] = [{"name": "lrt", "rule": "lrt", "lr": 0.05, "batch": 10},
                      {"name": "lrt-hw", "rule": "lrt", "lr": 0.05, "batch": 10, "hw": True}]
    cfg = experiment_from_mapping(raw)
    fl, hw = (run_job(cfg, m, 0, 0.05, 1500, tmp_path, verbose=False)
              for m in expand_methods(cfg))
    assert len(hw["hw_check"]) == 2  # both layers of the MLP, a slot each
    # (without max-norm the hidden layer's steps are small: the ρ gate refuses most)
    assert sum(c["commits"] for c in hw["hw_check"]) > 50
    for check in hw["hw_check"]:
        assert check["commits"] >= 1
        assert check["cells_written_hw"] == check["cells_written_float"]
    assert abs(hw["final_ema_acc"] - fl["final_ema_acc"]) < 0.05


def test_example_configs_load():
    for path in sorted((ROOT / "configs" / "experiments").glob("*.yaml")):
        cfg = ExperimentCfg.load(path)
        assert expand_methods(cfg)


BAD = [
    ({"network": "resnet"}, "network = 'resnet': must be one of"),
    ({"seeds": [0, -1]}, "seeds"),
    ({"seeds": []}, "seeds"),
    ({"netwrok": "mlp"}, "unknown field; fix: did you mean 'network'"),
    ({"stream": {"samples": 0}}, "stream.samples = 0: must be ≥ 1"),
    ({"stream": {"ema": 1.5}}, "stream.ema = 1.5: must be ≤"),
    ({"stream": {"eval_every": "often"}}, "stream.eval_every = 'often': must be int"),
    ({"data": {"dataset": "cifar"}}, "data.dataset"),
    ({"data": {"dataset": "mnist"}}, "mnist needs both IDX files"),
    ({"pretrain": {"lr": -0.1}}, "pretrain.lr = -0.1: must be > 0.0"),
    ({"scenario": {"segments": []}}, "scenario.segments"),
    ({"scenario": {"segments": [{"spin": 3}]}}, "unknown transform"),
    ({"scenario": {"segments": [{"scale": 0}]}}, r"segments\[0\].scale = 0.0: must be > 0"),
    ({"scenario": {"segments": [{"shift": 3}]}}, r"segments\[0\].shift = 3: must be list"),
    ({"scenario": {"segments": [{"classes": []}]}}, r"classes = \[\]: must not be empty"),
    ({"scenario": {"stuck_fraction": 2.0}}, "scenario.stuck_fraction = 2.0: must be ≤ 1.0"),
    ({"quant": {"act_max": 0}}, "quant.act_max = 0"),
    ({"quant": {"grad_bits": 8}}, "quant.grad_bits"),
    ({"methods": []}, "methods = \\[\\]: must be a non-empty list"),
    ({"methods": [{"name": "x", "rule": "adam"}]}, r"methods\[0\].rule = 'adam'"),
    ({"methods": [{"name": "x", "rule": "lrt", "batch": 0}]}, r"methods\[0\].batch = 0"),
    ({"methods": [{"name": "x", "rule": "lrt", "lr": [0.1, -1]}]},
     r"methods\[0\].lr\[1\] = -1.0: must be > 0"),
    ({"methods": [{"name": "x", "rule": "lrt", "mode": "exact"}]}, r"methods\[0\].mode"),
    ({"methods": [{"rule": "lrt"}]}, r"methods\[0\].name = <missing>: is required"),
    ({"methods": [{"name": "x", "rule": "lrt", "rho_min": 1.5}]}, r"methods\[0\].rho_min"),
    ({"methods": [{"name": "x", "rule": "lrt", "kappa_th": 0}]}, r"methods\[0\].kappa_th = 0"),
    ({"methods": [{"name": "x", "rule": "lrt", "hw": "yes"}]}, r"methods\[0\].hw = 'yes'"),
]


@pytest.mark.parametrize(("over", "match"), BAD, ids=[m for _, m in BAD])
def test_malformed_experiment_configs(over, match):
    raw = tiny()
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    with pytest.raises(ConfigError, match=match):
        experiment_from_mapping(raw, "exp.yaml")
