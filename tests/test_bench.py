"""The benchmark's adaptation rows (pysim.tools.bench.bench_jobs): one timed job per method,
three stacked, and the suite's stacked groups; and the page of a run's figures."""

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


def _figures() -> dict:
    """One bench run's figures, a row of each (the shapes pysim.tools.bench writes)."""
    return {
        "machine": "test cpu, 2 cores",
        "float_lrt": [{"n_out": 10, "n_in": 64, "rank": 4,
                       "lrt_biased_all_samples_per_s": 29342.4,
                       "lrt_unbiased_all_samples_per_s": 20000.0,
                       "lrt_biased_kappa100_samples_per_s": 31000.0,
                       "lrt_unbiased_kappa100_samples_per_s": 25000.0,
                       "dense_samples_per_s": 90000.0, "lrt_aux_words": 300,
                       "dense_aux_words": 640}],
        "float_lrt_conv": [{"n_out": 8, "n_in": 9, "terms": 36, "correlated": True,
                            "windowed_samples_per_s": 3959.0, "per_term_samples_per_s": 1672.0,
                            "absorbed_frac": 0.25}],
        "jobs": [{"study": "mlp_rotation", "method": "sgd", "lr": 0.03, "samples": 2000,
                  "jobs": 3, "cpu_us_per_sample": 149.2, "cpu_us_per_job_sample_stacked": 92.0,
                  "group_jobs": 12, "cpu_us_per_job_sample_grouped": 86.0}],
        "hw": {"error_curve": {"10x64": {"16": {"64": {"vs_float": 2 ** -9.9, "excess": 0.0},
                                                "256": {"vs_float": 2 ** -9.5,
                                                        "excess": 1e-4}}}},
               "orthonormality": {"256": 1e-4},
               "cycles": [{"layer": "10x64", "mean": 1186.0, "max": 1250,
                           "formula_worst": 1300, "lower_bound": 278, "forward": 83,
                           "dense_update": 80, "model_samples_per_s": 50.0}]},
        "rtl": {"cocotb_clock": {"icarus": {"cycles_per_s": 11489.0},
                                 "verilator": {"cycles_per_s": 35724.0}, "ratio": 3.11},
                "hdl_clock": {"icarus": {"cycles_per_s": 11016.0}, "verilator": None}},
        "rtl_commands": {"icarus-cocotb": {"NOP": {"cycles_each": 3, "ms_each": 0.33,
                                                   "cycles_per_s": 9000.0}}},
        "synth": {"params": {"N_IN": 16}, "native": True, "seconds": 325.0, "timeout": 300.0,
                  "blocks": {"mac_array": {"cells": 3139, "flipflops": 289, "depth": 61,
                                           "muls": [[8, 8]]},
                             "calibration": {"cells": 7777, "depth": 109,
                                             "muls": [[32, 32]]}}},
    }


def test_the_bench_page_shows_each_figure_of_the_run_and_its_command(tmp_path):
    import json

    from pysim.tools import bench_page

    figs = _figures()
    page = bench_page.render(figs, figs["machine"])
    for text in ("test cpu, 2 cores", "29,342", "3,959", "| mlp_rotation | sgd | 2,000 | 149 "
                 "| 92 (3) | 86 (12) |", "2^-9.9", "1,186", "| cocotb | 11,489 | 35,724 | 3.11× |",
                 "| HDL | 11,016 | – | – |", "0.33 ms", "3,139", "7,777",
                 "python -m pysim.tools.synth", "do not edit by hand"):
        assert text in page, text
    assert "Not measured" not in page
    del figs["rtl"], figs["synth"]
    assert bench_page.render(figs).count("Not measured in this run") == 2
    (tmp_path / "bench.json").write_text(json.dumps(_figures()))
    assert bench_page.main([str(tmp_path / "bench.json"), "--out", str(tmp_path / "b.md")]) == 0
    assert (tmp_path / "b.md").read_text() == page
    (tmp_path / "bad.json").write_text("{}")
    assert bench_page.main([str(tmp_path / "bad.json")]) == 2
