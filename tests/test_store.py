"""Stored state: no pickle, a content hash, damage named and set aside, results unchanged."""

import hashlib
import io
import json
import os
import pickle
import re
import zipfile

import numpy as np
import pytest

from pysim.experiments.job import Job
from pysim.experiments.jobstore import job_id
from pysim.experiments.run import run_job as _run_job
from pysim.experiments.schema import expand_methods, experiment_from_mapping
from pysim.store import (
    DamagedStateError,
    load_state,
    read_json,
    read_json_or_none,
    save_state,
    write_json,
)

from .test_experiment import tiny

SAMPLES = 300


@pytest.fixture(scope="module")
def cfg():
    return experiment_from_mapping(tiny(
        stream={"samples": SAMPLES, "eval_every": 100, "test_images": 30},
        methods=[{"name": "lrt", "rule": "lrt", "lr": [0.05], "batch": 10, "mode": "unbiased"},
                 {"name": "sgd-sr", "rule": "sgd", "lr": [0.05], "stochastic_round": True}]))


def run_job(cfg, out, k=0):
    m = expand_methods(cfg)[k]
    return _run_job(cfg, m, 0, 0.05, SAMPLES, out, verbose=False)


@pytest.fixture(scope="module")
def whole(cfg, tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    return [run_job(cfg, out, k) for k in range(2)]


def ckpt_path(cfg, out, k=0):
    return out / "ckpt" / f"{job_id(cfg, expand_methods(cfg)[k], 0, 0.05, SAMPLES)}.npz"


def checkpoint_at(cfg, out, k=0, t=200):
    """A job killed after its checkpoint at sample ``t``: its checkpoint is on disk."""
    class Killed(Exception):
        pass

    def stop(job):
        if job.t == t:
            raise Killed
    job = Job(cfg, expand_methods(cfg)[k], 0, 0.05, SAMPLES, out)
    with pytest.raises(Killed):
        job.run(out, stop)
    return ckpt_path(cfg, out, k)


@pytest.mark.parametrize("k", [0, 1])
def test_resuming_a_stored_checkpoint_gives_the_uninterrupted_result(cfg, whole, tmp_path, k):
    path = checkpoint_at(cfg, tmp_path, k)
    with zipfile.ZipFile(path) as z:  # no pickle inside: npy members and JSON only
        assert all(name.endswith(".npy") for name in z.namelist())
    assert run_job(cfg, tmp_path, k) == whole[k]


def _payload(marker):
    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))
    return pickle.dumps(Payload())


def test_a_planted_pickle_never_runs(cfg, whole, tmp_path, capsys):
    marker = tmp_path / "ran"
    ckpt = ckpt_path(cfg, tmp_path)
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(_payload(marker))
    ckpt.with_suffix(".pkl").write_bytes(_payload(marker))  # an old-style name: never read
    pre = tmp_path / "pretrained"
    pre.mkdir()
    assert run_job(cfg, tmp_path) == whole[0]
    nets = sorted(pre.glob("*.npz"))
    assert nets
    for net in nets:
        net.write_bytes(_payload(marker))
    ckpt.write_bytes(_payload(marker))  # the job must start again: it reads the network
    (tmp_path / "jobs" / f"{ckpt.stem}.json").unlink()
    assert run_job(cfg, tmp_path) == whole[0]
    assert not marker.exists()
    err = capsys.readouterr().err
    assert f"{ckpt}: unreadable state file" in err and "set aside as" in err
    assert f"{nets[0]}: unreadable state file" in err


def test_an_object_array_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "ran"
    buf = io.BytesIO()
    np.save(buf, np.array([None, 1], dtype=object), allow_pickle=True)
    path = tmp_path / "x.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("__meta__.npy", buf.getvalue())
    with pytest.raises(DamagedStateError, match=r"x\.npz: unreadable state file"):
        load_state(path, "job-checkpoint")
    assert not marker.exists()


def _zero_sector_in_array(path, member, offset):
    """Zero 512 bytes inside ``member``'s data (an npy member stored uncompressed)."""
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
    start = raw.index(b"\x93NUMPY", info.header_offset)
    header = int.from_bytes(raw[start + 8:start + 10], "little")
    data = start + 10 + header
    at = data + min(offset, max(0, info.file_size - (data - start) - 512))
    raw[at:at + 512] = bytes(512)
    path.write_bytes(bytes(raw))


def test_a_zeroed_sector_in_any_array_is_detected_and_the_file_named(cfg, tmp_path):
    path = checkpoint_at(cfg, tmp_path)
    good = path.read_bytes()
    with zipfile.ZipFile(path) as z:
        big = [i.filename for i in z.infolist() if i.file_size > 2048]
    assert big
    for member in big[:6] + ["__meta__.npy"]:
        for offset in (0, 1000):
            path.write_bytes(good)
            _zero_sector_in_array(path, member, offset)
            if path.read_bytes() == good:
                continue  # that sector held zeros already
            with pytest.raises(DamagedStateError, match=re.escape(str(path))):
                load_state(path, "job-checkpoint")


def test_a_damaged_checkpoint_or_network_is_set_aside_and_the_result_unchanged(
        cfg, whole, tmp_path):
    path = checkpoint_at(cfg, tmp_path)
    with zipfile.ZipFile(path) as z:
        member = max(z.infolist(), key=lambda i: i.file_size).filename
    _zero_sector_in_array(path, member, 100)
    nets = sorted((tmp_path / "pretrained").glob("*.npz"))
    with zipfile.ZipFile(nets[0]) as z:
        big = max(z.infolist(), key=lambda i: i.file_size).filename
    _zero_sector_in_array(nets[0], big, 0)
    assert run_job(cfg, tmp_path) == whole[0]
    assert path.with_name(path.name + ".damaged").exists()
    assert nets[0].with_name(nets[0].name + ".damaged").exists()


def test_damaged_job_results_are_set_aside_and_recomputed(cfg, whole, tmp_path, capsys):
    run_job(cfg, tmp_path)
    job = tmp_path / "jobs" / f"{ckpt_path(cfg, tmp_path).stem}.json"
    text = job.read_text()
    job.write_text(text[: len(text) // 2])  # truncated
    assert run_job(cfg, tmp_path) == whole[0]
    assert "unreadable JSON" in capsys.readouterr().err
    digit = text.index('"final_ema_acc": ') + len('"final_ema_acc": 0.')
    changed = text[:digit] + ("1" if text[digit] != "1" else "2") + text[digit + 1:]
    job.write_text(changed)  # one digit: still valid JSON
    assert read_json_or_none(job) is None
    assert "content hash mismatch" in capsys.readouterr().err
    assert run_job(cfg, tmp_path) == whole[0]


def test_a_damaged_study_summary_is_named(tmp_path):
    from pysim.experiments.report import report_dir

    write_json(tmp_path / "results.json", {"name": "x", "rows": []})
    text = (tmp_path / "results.json").read_text().replace('"x"', '"y"')
    (tmp_path / "results.json").write_text(text)
    with pytest.raises(DamagedStateError, match=r"results\.json: content hash mismatch"):
        report_dir(tmp_path)
    (tmp_path / "results.json").write_text(json.dumps({"name": "x"}))  # an older pysim's
    with pytest.raises(DamagedStateError, match="no content hash"):
        read_json(tmp_path / "results.json")


def test_unknown_classes_and_other_kinds_are_refused(tmp_path):
    path = tmp_path / "s.npz"
    save_state(path, {"a": np.arange(3), "b": (1.5, -0.0, float("nan"))}, "test")
    back = load_state(path, "test")
    assert back["b"][1] == 0.0 and np.signbit(back["b"][1]) and np.isnan(back["b"][2])
    with pytest.raises(DamagedStateError, match="holds 'test'"):
        load_state(path, "job-checkpoint")
    with pytest.raises(TypeError, match="only pysim's own classes"):
        save_state(path, {"f": zipfile.ZipInfo()}, "test")
    # A description naming a class pysim does not store, with a correct hash.
    with np.load(path, allow_pickle=False) as z:
        members = {k: z[k] for k in z.files}
    meta = json.loads(members["__meta__"].tobytes())
    meta["root"] = {"$o": "subprocess.Popen", "id": 0, "d": {}}
    body = json.dumps(meta).encode()
    members["__meta__"] = np.frombuffer(body, np.uint8)
    members["__digest__"] = np.frombuffer(hashlib.sha256(body).hexdigest().encode(), np.uint8)
    np.savez(path, **members)
    with pytest.raises(DamagedStateError, match=r"'subprocess\.Popen' is not one pysim stores"):
        load_state(path, "test")


def test_a_changed_value_in_a_well_formed_archive_fails_its_hash(tmp_path):
    """The zip's own CRC catches torn bytes; an archive rewritten cleanly with one value
    changed passes it, and only the recorded SHA-256 catches that."""
    path = tmp_path / "s.npz"
    save_state(path, {"w": np.arange(50.0)}, "test")
    with np.load(path, allow_pickle=False) as z:
        members = {k: z[k] for k in z.files}
    key = next(k for k in members if not k.startswith("__"))
    members[key] = members[key].copy()
    members[key][7] += 1.0
    np.savez(path, **members)
    with pytest.raises(DamagedStateError, match=rf"{key} hash mismatch"):
        load_state(path, "test")


def test_a_damaged_zip_directory_is_refused_and_leaves_no_open_file(tmp_path):
    path = tmp_path / "s.npz"
    save_state(path, {"w": np.arange(50.0)}, "test")
    raw = path.read_bytes()
    path.write_bytes(raw[:-30])  # the end of the central directory cut off
    with pytest.raises(DamagedStateError, match="unreadable state file"):
        load_state(path, "test")  # filterwarnings=error: a leaked file would fail here


def test_shared_containers_enums_and_builtin_subclasses_are_refused_at_save(tmp_path):
    import enum

    shared = [1, 2]
    loop: dict = {}
    loop["self"] = loop
    for bad in ({"a": shared, "b": shared}, loop, {"e": enum.IntEnum("E", "X").X}):
        with pytest.raises(TypeError):
            save_state(tmp_path / "x.npz", bad, "test")
    assert not (tmp_path / "x.npz").exists()
