"""Energy per adapted sample: the shared pricing, the crossover study, lifetime, the page."""

import math

import numpy as np

from pysim.experiments import crossover, crossover_report
from pysim.experiments.suite_tables import (
    energy_nj,
    energy_note,
    fmt_years,
    headline_table,
    lifetime_table,
    lifetime_years,
)
from pysim.hw.params import AccelConfig
from pysim.nvm import Crossbar
from pysim.rules import SGD, MiniBatchSGD, energy_pj


def stat(v):
    return {"mean": v, "std": 0.0, "values": [v]}


def row(method, rule, acc, max_writes):
    return {"method": method, "rule": rule, "ema_acc": stat(acc), "mean_acc": stat(acc),
            "test_acc": stat(acc), "max_writes": stat(max_writes), "total_writes": stat(0),
            "max_pixel_writes": stat(max_writes), "aux_words": 0,
            "energy_pj_per_sample": {"mac": 0, "sram": 0, "nvm": 0},
            "lifetime_years": None, "lr": 0.01, "max_norm": False}


def study(name):
    rows = [row("inference", "none", 0.5, 0), row("sgd-sr", "sgd", 0.88, 600),
            row("minibatch", "minibatch", 0.87, 90), row("mixed", "mixed", 0.86, 300),
            row("lrt-unbiased", "lrt", 0.9, 100)]
    rows[2]["aux_words"] = rows[3]["aux_words"] = 4736  # the acceptance table divides by it
    rows[4]["aux_words"] = 816
    return {"name": name, "network": "mlp", "device": "rram", "samples": 20000, "seeds": [0],
            "rows": rows, "jobs": []}


def test_energy_pj_prices_the_counters_as_job_result_did():
    tech = AccelConfig.load("default").energy
    xb = Crossbar.from_preset("rram", (8, 12), np.random.default_rng(0))
    rule = MiniBatchSGD(xb, 0.5, batch=3)
    rng = np.random.default_rng(1)
    for _ in range(7):
        rule.step(rng.standard_normal((1, 1, 8)), rng.standard_normal((1, 1, 12)))
    s = rule.stats
    e = energy_pj(s, tech)
    # Job.result's former inline sums, term for term.
    assert e["mac"] == s.macs * tech.lane_mac_pj
    assert e["sram"] == s.aux_reads * tech.sram_read_pj + s.aux_writes * tech.sram_write_pj
    assert e["nvm"] == s.nvm.energy_pj and e["nvm"] > 0


def test_job_result_energy_is_the_shared_pricing():
    import inspect

    from pysim.experiments import job
    src = inspect.getsource(job.Job.result)
    assert "energy_pj(rule.stats, tech)" in src and "lane_mac_pj" not in src


def test_crossover_width_finder():
    w = [16, 32, 64, 128, 256]
    assert crossover.crossover_width(w, [5, 4, 3, 2, 1], [1, 2, 3.5, 4, 5]) == 64
    # below at a small width, above in the middle: only the tail that stays below counts
    assert crossover.crossover_width(w, [0, 9, 1, 1, 1], [1, 1, 2, 2, 2]) == 64
    assert crossover.crossover_width(w, [1, 1, 1, 1, 9], [2, 2, 2, 2, 2]) is None
    assert crossover.crossover_width(w, [0] * 5, [1] * 5) == 16


def test_crossover_study_small_widths_runs_and_formats(tmp_path):
    opt = crossover.Options(widths=(16, 64), presets=("rram", "ideal"), samples=100)
    rows = crossover.run(opt)
    assert {r["rule"] for r in rows} == {"sgd", "minibatch", "mixed", "lrt", "lrt_hw"}
    for r in rows:
        e = r["energy_pj"]
        assert e["total"] == e["mac"] + e["sram"] + e["nvm"]
    ideal = [r for r in rows if r["preset"] == "ideal"]
    assert all(r["energy_pj"]["nvm"] == 0 for r in ideal)  # zero NVM energy is drawn
    # per-sample SGD writes every sample at rms 1 LSB per-sample updates
    sgd = [r for r in rows if r["rule"] == "sgd" and r["preset"] == "rram"]
    assert all(r["writes_per_sample"] > 0 for r in sgd)
    # SGD's MACs are the dense outer product, priced as the model prices them
    tech = AccelConfig.load("default").energy
    r = next(r for r in sgd if r["n_out"] == 16 and r["n_in"] == 16)
    assert math.isclose(r["energy_pj"]["mac"], 16 * 16 * tech.lane_mac_pj)
    lines = crossover_report.section(rows, tmp_path / "img" / "c.png", "img/c.png", 1.0)
    text = "\n".join(lines)
    assert (tmp_path / "img" / "c.png").exists()
    assert "| rram | square | 4 | pysim.hw |" in text and "On rram" in text
    assert "LRT r = 4 (pysim.hw)" in text and "float accounting" in text


def test_crossover_hw_column_is_the_accelerators_stats_priced():
    """The pysim.hw column is the bit-accurate accelerator's own counters, priced by
    pysim.hw.energy: rebuild them here from the stats of a run of the same commands."""
    from pysim.hw.energy import energy_pj as hw_energy
    opt = crossover.Options(widths=(16,), shapes=("square",), presets=("rram",),
                            ranks=(2,), rules=("lrt", "lrt_hw"))
    rows = crossover.run(opt)
    hw = next(r for r in rows if r["rule"] == "lrt_hw")
    flt = next(r for r in rows if r["rule"] == "lrt")
    e = hw["energy_pj"]
    assert e["total"] == e["mac"] + e["sram"] + e["nvm"] > 0
    assert hw["cycles_per_sample"] > 0
    # the accelerator commits the same stream: it writes, on the order the float rule does
    assert hw["writes_per_sample"] > 0 and flt["writes_per_sample"] > 0
    assert 0.5 < hw["writes_per_sample"] / flt["writes_per_sample"] < 2
    # the read-compare at commit is in the hardware's NVM figure, not in the float one
    dev = crossover.DeviceConfig.load("rram")
    stats = {k: 0 for k in ("macs", "infer_macs", "sfu_cycles", "sram_reads", "sram_writes",
                            "nvm_writes", "nvm_pulses", "nvm_reads")}
    stats["nvm_reads"] = 16 * 16
    assert math.isclose(hw_energy(stats, dev, AccelConfig.load("default").energy)["total"],
                        16 * 16 * dev.read_energy_pj)
    assert e["nvm"] * hw["samples"] >= 16 * 16 * dev.read_energy_pj


def test_stale_crossover_cache_is_recomputed(tmp_path, monkeypatch):
    import json

    from pysim.experiments.suite import crossover_section
    from pysim.store import write_json
    small = crossover.run(crossover.Options(widths=(16, 32), presets=("rram",),
                                            rules=("sgd", "lrt")))
    calls = []
    monkeypatch.setattr(crossover, "run", lambda: calls.append(1) or small)
    cache = tmp_path / "crossover.json"
    write_json(cache, {"rows": [], "cpu_s": 1.0})  # an older version's cache: no version
    crossover_section(tmp_path / "docs" / "results.md", cache)
    assert calls == [1] and json.loads(cache.read_text())["version"] == crossover.VERSION
    crossover_section(tmp_path / "docs" / "results.md", cache)
    assert calls == [1]  # the current version is reused


def test_lifetime_formatting_handles_no_writes_and_infinite_endurance():
    assert lifetime_years(0, 100, 1e6, 1.0) == math.inf
    assert lifetime_years(5, 100, math.inf, 1.0) == math.inf
    y = lifetime_years(100, 100, 1e6, 1.0)
    assert math.isclose(y, 1e6 / (3600 * 24 * 365.25))
    assert math.isclose(lifetime_years(100, 100, 1e6, 100.0), y / 100)
    assert fmt_years(math.inf).startswith("∞")
    s = study("mlp_rotation")
    s["rows"][1] = row("sgd-sr", "sgd", 0.88, 0)  # a method that never writes
    text = "\n".join(lifetime_table({"mlp_rotation": s}))
    assert "∞ (no writes)" in text and "1e+06" in text


def test_headline_total_is_mac_sram_nvm_of_the_rows():
    s = study("mlp_rotation")
    for i, r in enumerate(s["rows"]):
        r["energy_pj_per_sample"] = {"mac": 1000.0 * i, "sram": 250.0, "nvm": 125.5 * i}
    text = "\n".join(headline_table({"mlp_rotation": s}))
    lrt = next(r for r in s["rows"] if r["method"] == "lrt-unbiased")
    total = (lrt["energy_pj_per_sample"]["mac"] + lrt["energy_pj_per_sample"]["sram"]
             + lrt["energy_pj_per_sample"]["nvm"]) / 1e3
    assert energy_nj(lrt) == total
    assert f"{total:.3g} nJ" in text
    note = "\n".join(energy_note({"mlp_rotation": s}))
    assert f"{total:.3g} nJ" in note and "% MACs" in note


def test_sgd_rule_runs_on_crossbar():  # the stream's lr gives writes
    rng = np.random.default_rng(0)
    dy, x = crossover.stream(4, 6, 5, rng)
    xb = Crossbar.from_preset("rram", (4, 6), np.random.default_rng(0))
    lr = crossover.learning_rate(dy, x, xb.lsb, 1.0)
    rule = SGD(xb, lr)
    for t in range(5):
        rule.step(dy[t][None, None], x[t][None, None])
    assert rule.stats.nvm.cells_written > 0


def test_results_page_takes_the_crossover_once_from_its_cache(tmp_path):
    from pysim.experiments.suite import results_page
    from pysim.store import write_json
    rows = crossover.run(crossover.Options(widths=(16, 32), presets=("rram",)))
    out, docs = tmp_path / "out", tmp_path / "docs" / "results.md"
    out.mkdir()
    write_json(out / "crossover.json", {"rows": rows, "cpu_s": 2.0,
                                        "version": crossover.VERSION})
    page = results_page({"mlp_rotation": study("mlp_rotation")}, out, docs, crossover=True)
    assert "crossover study" in page and "img/crossover.png" in page
    assert (tmp_path / "docs" / "img" / "crossover.png").exists()
    assert "Lifetime" in page and "Energy per adapted sample" in page
