"""The suite's results page: derived ratios and the acceptance table from study summaries."""

from pysim.experiments.report import best
from pysim.experiments.suite import derived, results_page
from pysim.experiments.suite_tables import acceptance_table, headline_table, notes


def stat(v):
    return {"mean": v, "std": 0.0, "values": [v]}


def row(method, rule, acc, max_writes, pixel=None, aux=0):
    return {"method": method, "rule": rule, "ema_acc": stat(acc), "mean_acc": stat(acc),
            "test_acc": stat(acc), "max_writes": stat(max_writes), "total_writes": stat(0),
            "max_pixel_writes": stat(max_writes if pixel is None else pixel),
            "aux_words": aux, "energy_pj_per_sample": {"mac": 0, "sram": 0, "nvm": 0},
            "lifetime_years": None, "lr": 0.01, "max_norm": False}


def summary(name, rows, inference_curve=(0.9, 0.5)):
    jobs = [{"method": "inference", "curve": [{"ema_acc": inference_curve[0]},
                                               {"ema_acc": inference_curve[1]}]}]
    return {"name": name, "network": "mlp", "device": "rram", "samples": 20000, "seeds": [0],
            "rows": rows, "jobs": jobs}


def study(name, lrt_acc=0.9, lrt_writes=100, sgd_writes=600):
    return summary(name, [
        row("inference", "none", 0.5, 0),
        row("sgd", "sgd", 0.6, 10),  # rounds away: less accurate, so not "the" SGD
        row("sgd-sr", "sgd", 0.88, sgd_writes),
        row("minibatch", "minibatch", 0.87, 90, aux=4736),
        row("lrt-biased", "lrt", 0.8, 5, aux=816),
        row("lrt-unbiased", "lrt", lrt_acc, lrt_writes, aux=816),
    ])


def test_best_is_the_most_accurate_variant_and_brings_its_writes():
    s = study("mlp_rotation")
    assert best(s, "sgd")["method"] == "sgd-sr"
    assert best(s, "lrt")["method"] == "lrt-unbiased"
    text = "\n".join(derived(s))
    assert "physical 6.0×" in text and "LRT − inference-only: +40.0 pt" in text
    assert "816/4736 = 0.172" in text


def test_acceptance_rows_are_measured_and_judged():
    done = {"mlp_rotation": study("mlp_rotation", sgd_writes=400),      # 4× < 5×
            "mlp_analog_drift": study("mlp_analog_drift", lrt_writes=0)}  # floored at 1
    lines = acceptance_table(done)
    rot = next(ln for ln in lines if "physical (MLP) | mlp_rotation" in ln)
    assert "| 4.0× | no |" in rot
    drift = next(ln for ln in lines if "physical (MLP) | mlp_analog_drift" in ln)
    assert "| 600.0× | yes |" in drift
    assert any("mlp_digital_drift | ≥ 5× | not run" in ln for ln in lines)
    assert any("rotation: LRT − inference-only | mlp_rotation | ≥ +30 pt | +40.0 pt | yes" in ln
               for ln in lines)
    assert any("| 0.0098 | yes |" in ln for ln in lines)  # 4·2561 / (512·2048)


def test_results_page_explains_the_mild_drift_gap(tmp_path):
    done = {n: study(n) for n in ("mlp_analog_drift", "mlp_digital_drift")}
    text = "\n".join(notes(done))
    assert "σ = 0.14 w_max" in text and "2 % of the bits flip" in text
    assert "inference-only 0.900 → 0.500 (-40.0 pt; +40 pt would be 90 %)" in text
    page = results_page(done, tmp_path / "out", tmp_path / "docs" / "results.md")
    assert (tmp_path / "docs" / "results.md").read_text() == page
    assert page.index("Acceptance figures") < page.index("How to read these numbers")


def test_conv_interval_table_pairs_the_commit_intervals():
    from pysim.experiments.suite_tables import conv_interval_table
    s = summary("cnn_rotation", [
        row("sgd-sr-maxnorm", "sgd", 0.9, 6000),
        row("lrt-unbiased-maxnorm", "lrt", 0.81, 1500),
        row("lrt-unbiased-bconv100-maxnorm", "lrt", 0.80, 190),
        row("minibatch-bconv100-maxnorm", "minibatch", 0.85, 200)])
    lines = conv_interval_table({"cnn_rotation": s})
    body = [ln for ln in lines if ln.startswith("| cnn_rotation")]
    assert [ln.split(" | ")[1:3] for ln in body] == [
        ["lrt-unbiased-maxnorm", "10"], ["lrt-unbiased-bconv100-maxnorm", "100"],
        ["minibatch-bconv100-maxnorm", "100"]]  # per-sample SGD is not a batched rule
    assert "| 1,500 |" in body[0] and "| 190 |" in body[1]
    assert conv_interval_table({"mlp_rotation": s}) == []


def test_headline_table_takes_each_rules_best_variant_and_the_configs_labels():
    done = {"mlp_analog_drift": study("mlp_analog_drift"), "mlp_rotation": study("mlp_rotation")}
    lines = headline_table(done)
    rot = next(ln for ln in lines if ln.startswith("| rotation"))
    # Angles from configs/experiments/mlp_rotation.yaml; SGD is the accurate sgd-sr row.
    assert rot.startswith("| rotation 0/20/-20/30° | 0.500 | 0.880 / 600 / 0 nJ | – | "
                          "0.870 / 90 / 0 nJ |")
    assert rot.endswith("| 0.900 / 100 / 0 nJ |")
    assert any(ln.startswith("| mild analog drift (σ₀ = 1/1M) |") for ln in lines)
    assert "| aux memory (words) | 0 | 0 | – | 4736 | 816 |" in lines
    assert headline_table({"mlp_control": study("mlp_control")}) == []


def test_extended_studies_are_skipped_by_default_and_run_alone_with_extended(tmp_path):
    from pysim.experiments.suite import CONFIGS, study_names
    for name, extended in (("a_long", True), ("b_short", False), ("c_plain", None),
                           ("quick", False)):
        text = "name: x\n" + ("" if extended is None else f"extended: {str(extended).lower()}\n")
        (tmp_path / f"{name}.yaml").write_text(text)
    (tmp_path / "d_broken.yaml").write_text("name: [unclosed\n")  # fails where it is loaded
    assert study_names(tmp_path) == ["b_short", "c_plain", "d_broken"]
    assert study_names(tmp_path, extended=True) == ["a_long"]
    assert study_names(tmp_path, only=["a_long", "c_plain"]) == ["c_plain"]
    assert study_names(tmp_path, only=["a_long"], extended=True) == ["a_long"]
    # The shipped presets: the seed-geometry CNN studies are the extended ones.
    ext = study_names(CONFIGS, extended=True)
    assert ext == ["cnn28_rotation", "cnn28_seed_digital_drift", "cnn28_seed_drift"]
    assert not set(ext) & set(study_names(CONFIGS)) and "mlp_rotation" in study_names(CONFIGS)


def test_results_page_shows_the_seed_geometry_section_only_with_its_studies(tmp_path):
    done = {"mlp_analog_drift": study("mlp_analog_drift")}
    page = results_page(done, tmp_path / "out", tmp_path / "docs" / "results.md")
    assert "seed's geometry" not in page
    done["cnn28_seed_drift"] = study("cnn28_seed_drift")
    page = results_page(done, tmp_path / "out", tmp_path / "docs" / "results.md")
    # Its data label comes from the shipped config.
    assert "| cnn28_seed_drift | digits resampled to 28×28 (a stand-in for MNIST) |" in page
