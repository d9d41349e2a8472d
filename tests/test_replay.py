"""pysim.tools.replay: jobs of a finished suite, run again, compared byte for byte."""

from pysim.experiments.run import run_stacked
from pysim.experiments.schema import ExperimentCfg, expand_methods, tuning_cfg
from pysim.store import write_json
from pysim.tools import replay


def test_replay_finds_identical_jobs_and_reports_a_changed_one(tmp_path, capsys):
    cfg = ExperimentCfg.load(replay.CONFIGS / "quick.yaml")
    tcfg = tuning_cfg(cfg)
    sgd = next(m for m in expand_methods(cfg) if m.name == "sgd")
    ref = tmp_path / "ref"
    runs = [(sgd, cfg.tuning.seed, lr) for lr in sgd.grid]
    results = run_stacked(tcfg, runs, cfg.tuning.samples, ref / "quick", verbose=False,
                          pretrained=ref / "pretrained")
    assert len(replay.study_tasks(cfg, ref / "quick" / "jobs")) == len(runs)
    args = [str(ref), "--only", "quick", "--max-jobs", "5", "--out", str(tmp_path / "again")]
    assert replay.main(args) == 0
    assert f"{len(runs)} identical, 0 differ" in capsys.readouterr().out
    # A reference result that another behaviour made (a valid file, other numbers): found,
    # exit status 1, and the reference left as it was.
    path = ref / "quick" / "jobs" / f"{results[0]['job']}.json"
    write_json(path, results[0] | {"final_ema_acc": results[0]["final_ema_acc"] + 2 ** -40})
    changed = path.read_bytes()
    assert replay.main(args[:-2] + ["--out", str(tmp_path / "third")]) == 1
    assert "DIFFERS" in capsys.readouterr().out
    assert path.read_bytes() == changed
    assert replay.main([str(ref), "--only", "no_such_study"]) == 2
