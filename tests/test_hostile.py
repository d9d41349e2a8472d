"""Hostile input: every malformed config is refused at load with the field's path named;
config files are read only when they are small regular files; names never become paths
outside the output folder (docs/guarantees.md; numbers and MNIST files:
tests/test_hostile_numbers.py)."""

import copy
import math
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from pysim.config import MAX_CONFIG_BYTES, ConfigError, load_yaml
from pysim.experiments.schema import ExperimentCfg
from pysim.hw.params import AccelConfig
from pysim.nvm import DeviceConfig

ROOT = Path(__file__).resolve().parent.parent


def experiment(**over) -> dict:
    cfg = {
        "name": "tiny", "network": "mlp", "device": "rram", "seeds": [0, 1],
        "data": {"dataset": "digits", "n_train": 300, "n_test": 100},
        "stream": {"samples": 600, "eval_every": 100, "test_images": 50},
        "pretrain": {"epochs": 1, "lr": 0.05, "qat_epochs": 1},
        "scenario": {"every": 200, "segments": [{"rotate": 0}, {"rotate": 25}]},
        "tuning": {"samples": 200, "seed": 1000},
        "methods": [{"name": "sgd", "rule": "sgd", "lr": [0.01, 0.1]},
                    {"name": "lrt", "rule": "lrt", "lr": [0.05], "batch": 10,
                     "max_norm": [False, True]}],
    }
    for path, value in over.items():
        node, keys = cfg, path.split("/")
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node.setdefault(k, {})
        last = keys[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return cfg


def device(**over) -> dict:
    base = yaml.safe_load((ROOT / "configs/devices/rram.yaml").read_text())
    return base | over


def accel(**over) -> dict:
    base = copy.deepcopy(yaml.safe_load((ROOT / "configs/accel/default.yaml").read_text()))
    for path, value in over.items():
        section, _, key = path.partition("/")
        if key:
            base[section][key] = value
        else:
            base[section] = value
    return base


HW = {"name": "hw", "rule": "lrt", "hw": True, "lr": [0.05], "batch": 10}

# (kind, mapping, the field path the message must name)
HOSTILE = [
    # experiment: top level
    ("experiment", experiment(name="../../x"), r"name = '\.\./\.\./x'"),
    ("experiment", experiment(name="/tmp/abs"), r"name = '/tmp/abs'"),
    ("experiment", experiment(name=""), "name = ''"),
    ("experiment", experiment(name=7), "name = 7"),
    ("experiment", experiment(seeds=[True]), r"seeds\[0\] = True"),
    ("experiment", experiment(seeds=[0, 0]), r"seeds\[1\] = 0: repeats seeds\[0\]"),
    ("experiment", experiment(seeds=[]), "seeds = \\[\\]: must not be empty"),
    ("experiment", experiment(seeds=[-1]), r"seeds\[0\] = -1"),
    ("experiment", experiment(seeds=[1.5]), r"seeds\[0\] = 1.5"),
    ("experiment", experiment(seeds=[2 ** 70]), r"seeds\[0\]"),
    ("experiment", experiment(seeds=3), "seeds = 3"),
    ("experiment", experiment(seeds=[1000]), "tuning.seed = 1000: is one of the reported"),
    ("experiment", experiment(bits=True), "bits = True"),
    ("experiment", experiment(device="no_such_device"), "device = 'no_such_device'"),
    ("experiment", experiment(accel="no_such_accel"), "accel = 'no_such_accel'"),
    ("experiment", experiment(network=["mlp"]), r"network = \['mlp'\]"),
    # experiment: sections
    ("experiment", experiment(data=[]), "data = \\[\\]: must be a mapping"),
    ("experiment", experiment(stream=0), "stream = 0: must be a mapping"),
    ("experiment", experiment(**{"data/n_train": 1700}), "data.n_test = 100"),
    ("experiment", experiment(**{"data/image_size": 4}), "data.image_size = 4"),
    ("experiment", experiment(**{"data/image_size": 28.0}), r"data.image_size = 28.0"),
    ("experiment", experiment(**{"data/image_size": True}), "data.image_size = True"),
    ("experiment", experiment(extended="yes"), "extended = 'yes'"),
    ("experiment", experiment(**{"stream/samples": 2 ** 64}), "stream.samples"),
    ("experiment", experiment(**{"stream/ema": math.nan}), "stream.ema = nan: is NaN"),
    ("experiment", experiment(**{"stream/adaptation_rate": math.inf}),
     "stream.adaptation_rate = inf: must be finite"),
    ("experiment", experiment(**{"pretrain/epochs": 10 ** 9}), "pretrain.epochs"),
    ("experiment", experiment(**{"pretrain/lr": "fast"}), "pretrain.lr = 'fast'"),
    ("experiment", experiment(**{"tuning/compress": "yes"}), "tuning.compress = 'yes'"),
    ("experiment", experiment(**{"quant/act_max": -1.0}), "quant.act_max = -1.0"),
    # experiment: scenario segments, every depth
    ("experiment", experiment(**{"scenario/segments": [{"rotate": math.nan}]}),
     r"scenario.segments\[0\].rotate = nan: is NaN"),
    ("experiment", experiment(**{"scenario/segments": [{"rotate": math.inf}]}),
     r"scenario.segments\[0\].rotate = inf: must be finite"),
    ("experiment", experiment(**{"scenario/segments": [{"rotate": True}]}),
     r"scenario.segments\[0\].rotate = True"),
    ("experiment", experiment(**{"scenario/segments": [{}, {"shift": [1, "a"]}]}),
     r"scenario.segments\[1\].shift\[1\] = 'a'"),
    ("experiment", experiment(**{"scenario/segments": [{"shift": [1, math.nan]}]}),
     r"scenario.segments\[0\].shift\[1\] = nan"),
    ("experiment", experiment(**{"scenario/segments": [{"shift": [1, 2, 3]}]}),
     r"scenario.segments\[0\].shift = \[1, 2, 3\]: must be \[dy, dx\]"),
    ("experiment", experiment(**{"scenario/segments": [{"classes": [1, True]}]}),
     r"scenario.segments\[0\].classes\[1\] = True"),
    ("experiment", experiment(**{"scenario/segments": [{"classes": [12]}]}),
     r"scenario.segments\[0\].classes\[0\] = 12: is not a label"),
    ("experiment", experiment(**{"scenario/segments": [{"classes": [3, 3]}]}),
     r"scenario.segments\[0\].classes\[1\] = 3: repeats"),
    ("experiment", experiment(**{"scenario/segments": [{"noise": -0.1}]}),
     r"scenario.segments\[0\].noise = -0.1"),
    ("experiment", experiment(**{"scenario/segments": [[1, 2]]}),
     r"scenario.segments\[0\] = \[1, 2\]: must be a mapping"),
    ("experiment", experiment(**{"scenario/segments": [{1: 2}]}), r"scenario.segments\[0\].1"),
    # experiment: methods, nested lists and cross-field rules
    ("experiment", experiment(methods={"name": "x"}), "methods = .*must be a non-empty list"),
    ("experiment", experiment(**{"methods/0": "sgd"}), r"methods\[0\] = 'sgd'"),
    ("experiment", experiment(**{"methods/1/max_norm": ["no"]}),
     r"methods\[1\].max_norm\[0\] = 'no'"),
    ("experiment", experiment(**{"methods/1/max_norm": []}),
     r"methods\[1\].max_norm = \[\]: must not be empty"),
    ("experiment", experiment(**{"methods/1/max_norm": [True, True]}),
     r"methods\[1\].max_norm\[1\] = True: repeats"),
    ("experiment", experiment(**{"methods/1/max_norm": 1}), r"methods\[1\].max_norm = 1"),
    ("experiment", experiment(**{"methods/0/lr": [True]}), r"methods\[0\].lr\[0\] = True"),
    ("experiment", experiment(**{"methods/0/lr": True}), r"methods\[0\].lr = True"),
    ("experiment", experiment(**{"methods/0/lr": [0.1, math.nan]}),
     r"methods\[0\].lr\[1\] = nan"),
    ("experiment", experiment(**{"methods/0/lr": [0.1, 0.1]}), r"methods\[0\].lr\[1\] = 0.1"),
    ("experiment", experiment(**{"methods/0/lr": []}), r"methods\[0\].lr = \[\]"),
    ("experiment", experiment(**{"methods/0/lr": [[0.1]]}), r"methods\[0\].lr\[0\] = \[0.1\]"),
    ("experiment", experiment(**{"methods/0/name": "a/b"}), r"methods\[0\].name = 'a/b'"),
    ("experiment", experiment(**{"methods/0/name": ".."}), r"methods\[0\].name = '\.\.'"),
    ("experiment", experiment(**{"methods/0/name": "lrt"}),
     r"methods\[1\].name = 'lrt': gives the method name 'lrt', which methods\[0\]"),
    ("experiment", experiment(**{"methods/0/name": "lrt-maxnorm"}),
     r"methods\[1\].name = 'lrt': gives the method name 'lrt-maxnorm'"),
    ("experiment", experiment(**{"methods/1/rank": 11}),
     r"methods\[1\].rank = 11: exceeds the smallest layer"),
    ("experiment", experiment(**{"methods/1/rank": 0}), r"methods\[1\].rank = 0"),
    ("experiment", experiment(**{"methods/1/error_feedback": 11}),
     r"methods\[1\].error_feedback = 11: exceeds the smallest layer"),
    ("experiment", experiment(**{"methods/0/error_feedback": 1}),
     r"methods\[0\].error_feedback = 1: only the float LRT rule"),
    ("experiment", experiment(**{"methods/1/batch": 2.5}), r"methods\[1\].batch = 2.5"),
    ("experiment", experiment(**{"methods/1/kappa_th": math.nan}), r"methods\[1\].kappa_th"),
    ("experiment", experiment(**{"methods/1/rho_min": math.inf}), r"methods\[1\].rho_min"),
    ("experiment", experiment(**{"methods/1/write_threshold": 2, "methods/1/rule": "sgd"}),
     r"methods\[1\].write_threshold = 2"),
    ("experiment", experiment(**{"methods/0/hw": True}), r"methods\[0\].hw = True: the "
     "accelerator runs LRT only"),
    # hw: true against the accelerator's own limits
    ("experiment", experiment(methods=[HW | {"rank": 9}]), r"methods\[0\].rank = 9: must be ≤ 8"),
    ("experiment", experiment(methods=[HW], bits=12), "bits = 12: must be ≤ 8"),
    ("experiment", experiment(methods=[HW], bits=1), "bits = 1: must be ≥ 2"),
    ("experiment", experiment(methods=[HW | {"stochastic_round": True}]),
     r"methods\[0\].stochastic_round = True"),
    ("experiment", experiment(methods=[HW | {"write_threshold": 3}]),
     r"methods\[0\].write_threshold = 3"),
    ("experiment", experiment(methods=[HW | {"rank": 9}], network="cnn"),
     r"methods\[0\].rank = 9: exceeds the smallest layer it adapts \(8"),
    # device presets
    ("device", device(name="../rram"), r"name = '\.\./rram'"),
    ("device", device(bits=0), "bits = 0"),
    ("device", device(bits=True), "bits = True"),
    ("device", device(bits=2 ** 64), "bits = "),
    ("device", device(w_max=math.nan), "w_max = nan"),
    ("device", device(w_max=math.inf), "w_max = inf: must be finite"),
    ("device", device(endurance=math.nan), "endurance = nan"),
    ("device", device(endurance=-1.0), "endurance = -1.0"),
    ("device", device(pulses="many"), "pulses = 'many'"),
    ("device", device(quantizer=None), "quantizer = None"),
    ("device", device(write_noise_lsb=[0.1]), r"write_noise_lsb = \[0.1\]"),
    ("device", device(stuck_fraction=1.5), "stuck_fraction = 1.5"),
    ("device", device(read_energy_pj=-1e-3), "read_energy_pj = -0.001"),
    ("device", device(write_verify=1.0), "write_verify = 1.0"),
    ("device", device(colour="red"), "colour = 'red': unknown field"),
    # accelerator presets
    ("accel", accel(name="a b"), "name = 'a b'"),
    ("accel", accel(**{"arch/rank": 9}), "arch.rank = 9"),
    ("accel", accel(**{"arch/rank": True}), "arch.rank = True"),
    ("accel", accel(**{"arch/lanes": 0}), "arch.lanes = 0"),
    ("accel", accel(**{"arch/f_bits": 16.5}), "arch.f_bits = 16.5"),
    ("accel", accel(**{"arch/wc_bits": 16}), "arch.wc_bits = 16"),
    ("accel", accel(**{"arch/n_in": 5000}), "arch.n_in = 5000"),
    ("accel", accel(**{"arch/sweeps": [4]}), r"arch.sweeps = \[4\]"),
    ("accel", accel(**{"energy/lane_mac_pj": math.nan}), "energy.lane_mac_pj = nan"),
    ("accel", accel(**{"energy/clock_mhz": math.inf}), "energy.clock_mhz = inf"),
    ("accel", accel(**{"energy/clock_mhz": 0}), "energy.clock_mhz = 0"),
    ("accel", accel(arch=[]), "arch = \\[\\]: must be a mapping"),
    ("accel", accel(energy="cheap"), "energy = 'cheap': must be a mapping"),
    ("accel", accel(extra=1), "extra"),
]

LOADERS = {"experiment": ExperimentCfg.load, "device": DeviceConfig.load,
           "accel": AccelConfig.load}


def test_there_are_at_least_sixty_hostile_configs_across_the_three_kinds():
    kinds = [k for k, _, _ in HOSTILE]
    assert len(HOSTILE) >= 60
    assert {kinds.count(k) >= 10 for k in LOADERS} == {True}


@pytest.mark.parametrize(("kind", "data", "field"), HOSTILE,
                         ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(HOSTILE)])
def test_hostile_config_is_refused_naming_the_field(tmp_path, kind, data, field):
    path = tmp_path / f"{kind}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(ConfigError) as err:
        LOADERS[kind](path)
    message = str(err.value)
    assert message.startswith(str(path)), message
    assert re.search(field, message), message
    assert "; fix: " in message


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_the_base_of_each_kind_loads(tmp_path, kind):
    """The hostile cases fail because of their one change, not because the base is bad."""
    base = {"experiment": experiment(), "device": device(), "accel": accel()}[kind]
    path = tmp_path / f"{kind}.yaml"
    path.write_text(yaml.safe_dump(base))
    LOADERS[kind](path)


def test_every_shipped_config_loads():
    for folder, load in (("experiments", ExperimentCfg.load), ("demo", ExperimentCfg.load),
                         ("devices", DeviceConfig.load), ("accel", AccelConfig.load)):
        for path in sorted((ROOT / "configs" / folder).glob("*.yaml")):
            load(path)


# --- the file itself ------------------------------------------------------------------------
def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("name: rram\nbits: 8\nw_max: 1.0\nbits: 4\n")
    with pytest.raises(ConfigError, match=r"dup.yaml: line 4 = 'bits': key given twice "
                                          r"\(first on line 2\)"):
        DeviceConfig.load(path)


def test_a_nested_key_given_twice_is_refused(tmp_path):
    text = yaml.safe_dump(experiment()).replace("  every: 200\n", "  every: 200\n  every: 300\n")
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="'every': key given twice"):
        ExperimentCfg.load(path)


def test_merge_keys_may_override_what_they_bring(tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text("base: &b {rotate: 0, scale: 1.0}\nx: {<<: *b, rotate: 20}\n")
    assert load_yaml(path)["x"] == {"rotate": 20, "scale": 1.0}


def test_a_device_file_behind_a_symlink_is_refused(tmp_path):
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    with pytest.raises(ConfigError, match="is not a regular file"):
        DeviceConfig.load(link)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    outcome = []

    def load():
        try:
            ExperimentCfg.load(fifo)
        except ConfigError as exc:
            outcome.append(str(exc))

    reader = threading.Thread(target=load, daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # unblock the reader before failing
        with open(fifo, "w"):
            pass
        pytest.fail("loading a FIFO blocked")
    assert outcome and "is not a regular file" in outcome[0]


def test_a_directory_and_a_huge_file_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="is not a regular file"):
        load_yaml(tmp_path)
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * MAX_CONFIG_BYTES + "\n")
    with pytest.raises(ConfigError, match=f"is larger than {MAX_CONFIG_BYTES} bytes"):
        load_yaml(big)


def test_binary_and_alias_bombs_are_refused(tmp_path):
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_yaml(binary)
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match="more than 100000 values once YAML aliases"):
        load_yaml(bomb)


def test_yaml_python_tags_never_construct_objects(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "tag.yaml"
    path.write_text(f"name: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ConfigError, match="YAML syntax error"):
        load_yaml(path)
    assert not marker.exists()


# --- names never become paths outside the output folder --------------------------------------
def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("where", ["name", "methods/0/name"])
@pytest.mark.parametrize("name", ["../../escape", "/tmp/pysim-escape", "a/../../b", "..",
                                  ".hidden", "x\x00y", "x\ny"])
def test_hostile_names_create_no_file_anywhere(tmp_path, where, name):
    work = tmp_path / "work"
    out = work / "a" / "b" / "out"
    work.mkdir()
    cfg = work / "exp.yaml"
    cfg.write_text(yaml.safe_dump(experiment(**{where: name})))
    before = _tree(tmp_path)
    run = subprocess.run([sys.executable, "-m", "pysim", "run", str(cfg), "--out", str(out)],
                         capture_output=True, text=True, cwd=work, timeout=120)
    assert run.returncode == 2, run.stderr
    assert "is not a valid name" in run.stderr
    assert _tree(tmp_path) == before
    assert not Path("/tmp/pysim-escape").exists()


def test_a_study_writes_only_inside_its_output_folder(tmp_path):
    """A whole (short) study run: every file it creates is under --out."""
    from pysim.experiments.study import run_study

    raw = experiment(**{"stream/samples": 60, "stream/eval_every": 30, "tuning/samples": 30,
                        "data/n_train": 60, "data/n_test": 30, "seeds": [0]})
    raw["methods"] = [{"name": "lrt", "rule": "lrt", "lr": [0.05], "batch": 10}]
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(raw))
    cfg = ExperimentCfg.load(tmp_path / "exp.yaml")
    out = tmp_path / "out"
    before = _tree(tmp_path)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        run_study(cfg, out, workers=1)
    finally:
        os.chdir(cwd)
    created = _tree(tmp_path) - before
    assert created and all(p == "out" or p.startswith("out/") for p in created), created


def test_job_ids_refuse_unsafe_method_names():
    import dataclasses

    from pysim.experiments.jobstore import job_id
    from pysim.experiments.schema import expand_methods, experiment_from_mapping

    cfg = experiment_from_mapping(experiment())
    m = dataclasses.replace(expand_methods(cfg)[0], name="../x")
    with pytest.raises(ValueError, match="not a safe file name"):
        job_id(cfg, m, 0, 0.1, 10)
