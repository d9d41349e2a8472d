"""The results page's findings: claims, collapse trace, weight grid — from study rows."""

from pathlib import Path

from pysim.experiments import claims, findings
from pysim.experiments.diagnostics import Trace
from pysim.experiments.report import best


def stat(v, std=0.0):
    return {"mean": v, "std": std, "values": [v]}


def row(method, rule, acc, max_writes, pixel=None, aux=0, total=None, sat=0.1):
    return {"method": method, "rule": rule, "ema_acc": stat(acc), "mean_acc": stat(acc),
            "test_acc": stat(acc), "max_writes": stat(max_writes),
            "total_writes": stat(max_writes if total is None else total),
            "max_pixel_writes": stat(max_writes if pixel is None else pixel),
            "aux_words": aux, "energy_pj_per_sample": {"mac": 0, "sram": 0, "nvm": 0},
            "lifetime_years": None, "lr": 0.01, "max_norm": False,
            "saturated_fraction": stat(sat),
            "degenerate": rule not in ("none", "bias") and (total == 0)}


def study(name, rows):
    return {"name": name, "network": "mlp", "device": "rram", "samples": 20000, "seeds": [0],
            "rows": rows, "jobs": []}


def mlp(name, lrt=0.87, sgd=0.92, plain=0.87, lrt_writes=190, sgd_writes=12000):
    return study(name, [
        row("inference", "none", 0.4, 0, total=0),
        row("sgd", "sgd", plain, 9000),
        row("sgd-sr", "sgd", sgd, sgd_writes),
        row("minibatch-maxnorm", "minibatch", 0.88, 190, aux=4736),
        row("lrt-biased", "lrt", lrt - 0.05, 150, aux=816),
        row("lrt-biased-maxnorm", "lrt", lrt - 0.01, 180, aux=816),
        row("lrt-unbiased", "lrt", lrt - 0.04, 170, aux=816),
        row("lrt-unbiased-maxnorm", "lrt", lrt, lrt_writes, aux=816),
    ])


def verdicts(done):
    return {r[0]: r[2] for r in (c(done) for c in claims.CLAIMS)}


def test_claims_have_one_row_each_and_say_not_run_without_data():
    lines = claims.claims_table({})
    assert len([ln for ln in lines if ln.startswith("| ") and "not run" in ln]) == 8


def test_drift_claim_is_refuted_against_tuned_sgd_but_holds_against_the_seeds_baseline():
    done = {"mlp_seed_drift": mlp("mlp_seed_drift", lrt=0.867, sgd=0.925, plain=0.80)}
    assert verdicts(done)["LRT beats SGD under drift"] == "refuted against tuned SGD"
    done = {"mlp_seed_drift": mlp("mlp_seed_drift", lrt=0.95, sgd=0.925, plain=0.80)}
    assert verdicts(done)["LRT beats SGD under drift"] == "reproduced"


def test_write_claim_depends_on_the_counting():
    cnn = mlp("cnn_rotation", lrt_writes=1500, sgd_writes=5300)
    cnn["rows"][2]["max_pixel_writes"] = stat(5300 * 220.0)
    cnn["rows"][-1]["max_pixel_writes"] = stat(1500.0)
    v = verdicts({"mlp_rotation": mlp("mlp_rotation"), "cnn_rotation": cnn})
    assert v["≈1,000× fewer worst-case writes per cell than SGD"] == "depends"


def test_control_claim_refuted_when_lrt_gains():
    done = {"mlp_control": mlp("mlp_control", lrt=0.466)}
    assert verdicts(done)["LRT loses ≈2 pt with no shift"] == "refuted"


def test_memory_claim_checks_the_formula():
    v = verdicts({"mlp_rotation": mlp("mlp_rotation")})
    assert v["auxiliary memory r·(n_out+n_in) per layer"] == "reproduced"  # 4·(129+75) = 816


def test_degenerate_rows_are_never_a_rules_best():
    s = study("x", [row("lrt-a", "lrt", 0.9, 0, total=0), row("lrt-b", "lrt", 0.5, 3)])
    assert best(s, "lrt")["method"] == "lrt-b"


def test_weight_grid_section_reports_each_scale_and_leaves_out_degenerate_tunings():
    done = {n: mlp(n) for n, _ in findings.WSCALE}
    done["mlp_wscale_4"]["rows"].append(row("mixed", "mixed", 0.99, 0, total=0))
    text = "\n".join(findings.weight_grid_section(done))
    for scale in ("| 0.5 |", "| 1 |", "| 2 |", "| 4 |"):
        assert scale in text
    assert "Degenerate tunings left out: mlp_wscale_4: mixed" in text
    assert "0.990" not in text
    assert "63.2×" in text  # 12000 / 190


def test_collapse_section_states_the_mechanism_only_when_the_trace_shows_it(tmp_path,
                                                                             monkeypatch):
    def tr(name, ups, downs, levels, sat):
        n = len(ups)
        return Trace(name, 0.03, 0, 250, tuple(range(250, 250 * n + 1, 250)), tuple(ups),
                     tuple(downs), tuple(levels), tuple(sat), tuple([0.5] * n))

    one_signed = [tr("sgd", [90, 95], [5, 1], [0.0, 80.0], [0.2, 0.7]),
                  tr("sgd-sr", [50, 50], [50, 50], [-4.0, -4.0], [0.1, 0.1])]
    monkeypatch.setattr(findings, "_collapse_traces", lambda out: one_signed)
    text = "\n".join(findings.collapse_section(tmp_path, tmp_path, {"mlp_rotation": {}}))
    assert "one-signed: 97 % of the level changes are increases" in text  # 185 of 191
    assert (tmp_path / "collapse.png").exists()
    balanced = [tr("sgd", [50, 50], [50, 50], [0.0, 1.0], [0.2, 0.2])]
    monkeypatch.setattr(findings, "_collapse_traces", lambda out: balanced)
    text = "\n".join(findings.collapse_section(tmp_path, tmp_path, {"mlp_rotation": {}}))
    assert "does not show a one-signed drift" in text


def test_tracing_a_job_changes_nothing_it_computes(tmp_path):
    import yaml

    from pysim.experiments.diagnostics import trace
    from pysim.experiments.job import Job
    from pysim.experiments.schema import ExperimentCfg, expand_methods

    raw = yaml.safe_load(Path(findings.CONFIGS / "quick.yaml").read_text())
    raw["stream"] = {"samples": 200, "eval_every": 100, "test_images": 20}
    raw["pretrain"] = {"epochs": 1, "qat_epochs": 1}
    raw["data"] = {"dataset": "digits", "n_train": 100, "n_test": 40}
    raw["methods"] = [{"name": "sgd", "rule": "sgd", "lr": [0.03]}]
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    cfg = ExperimentCfg.load(tmp_path / "c.yaml")
    method = expand_methods(cfg)[0]
    tr = trace(cfg, method, 0, 0.3, tmp_path, window=50)
    assert tr.t == (50, 100, 150, 200)
    job = Job(cfg, method, 0, 0.3, 200, tmp_path)
    plain = job.run(tmp_path, checkpoint=False)[0]
    assert tr.ema_acc[-1] == plain["final_ema_acc"]
    codes = job.xbars[-1].codes()
    assert tr.mean_level[-1] == float(codes.mean())
    assert sum(tr.up) + sum(tr.down) > 0


def test_gap_section_judges_each_variant_and_reports_the_front_when_none_wins():
    def gap_study(name, ef_acc):
        s = mlp(name, lrt=0.87, sgd=0.925, sgd_writes=12000, lrt_writes=190)
        s["rows"].append(row("lrt-ef1-maxnorm", "lrt", ef_acc, 200, aux=900))
        return s

    done = {n: gap_study(n, 0.92) for n in findings.GAP_STUDIES}
    text = "\n".join(findings.gap_section(done))
    assert "| mlp_rotation_beyond | lrt-ef1-maxnorm | 0.920 ± 0.000 | -0.5 pt | 60.0× | " \
           "0.190 | yes |" in text
    assert "Meets the target in every study: lrt-ef1-maxnorm." in text
    done["mlp_seed_drift_beyond"] = gap_study("mlp_seed_drift_beyond", 0.90)
    text = "\n".join(findings.gap_section(done))
    assert "No variant meets all three targets in every study" in text
    assert "mlp_seed_drift_beyond: at ≥ 20× fewer writes the best is lrt-ef1-maxnorm " \
           "(-2.5 pt)" in text


def test_seed_geometry_section_reports_physical_and_per_pixel_ratios():
    cnn = study("cnn28_rotation", [
        row("inference", "none", 0.5, 0, total=0),
        row("sgd-maxnorm", "sgd", 0.7, 5000, pixel=400000),
        row("sgd-sr-maxnorm", "sgd", 0.85, 4000, pixel=3_000_000),
        row("lrt-biased-maxnorm", "lrt", 0.80, 150, pixel=150, aux=700),
        row("lrt-unbiased-maxnorm", "lrt", 0.82, 200, pixel=200, aux=700)])
    drift = study("cnn28_seed_drift", [
        row("sgd-sr-maxnorm", "sgd", 0.9, 900, pixel=90000),
        row("lrt-unbiased-maxnorm", "lrt", 0.9, 0, pixel=0, total=5)])  # floored at 1
    lines = findings.seed_geometry_section(
        {"cnn28_rotation": cnn, "cnn28_seed_drift": drift, "mlp_rotation": mlp("mlp_rotation")},
        sources={"cnn28_rotation": "MNIST (IDX files)", "cnn28_seed_drift": "digits stand-in"})
    body = [ln for ln in lines if ln.startswith("| cnn28")]
    # The most accurate variant of each rule, not the one with the most writes.
    assert body[0] == ("| cnn28_rotation | MNIST (IDX files) | 20,000 | sgd-sr-maxnorm (0.850) "
                       "| lrt-unbiased-maxnorm (0.820) | 4,000 ÷ 200 = 20.0× "
                       "| 3,000,000 ÷ 200 = 15,000.0× |")
    assert body[1].startswith("| cnn28_seed_drift | digits stand-in |")
    assert "900 ÷ 0 = 900.0×" in body[1] and "90,000 ÷ 0 = 90,000.0×" in body[1]
    assert "676 output pixels" in lines[0]
    # Shown only when those studies have results; a study without an LRT row shows dashes.
    assert findings.seed_geometry_section({"mlp_rotation": mlp("mlp_rotation")}) == []
    only_sgd = study("cnn28_seed_drift", [row("sgd-sr-maxnorm", "sgd", 0.9, 900)])
    lines = findings.seed_geometry_section({"cnn28_seed_drift": only_sgd},
                                           sources={"cnn28_seed_drift": "x"})
    assert "| cnn28_seed_drift | x | 20,000 | – | – | – | – |" in lines


def test_data_label_names_the_source():
    from pysim.experiments.schema import DataCfg
    assert findings.data_label(DataCfg()) == "digits 8×8"
    assert findings.data_label(DataCfg(image_size=28)) == ("digits resampled to 28×28 "
                                                           "(a stand-in for MNIST)")
    assert findings.data_label(DataCfg(dataset="mnist", mnist_images="a",
                                       mnist_labels="b")) == "MNIST (IDX files)"
