"""Hostile input at the float model's edges and in the MNIST files a user points to: bad
numbers raise before any state changes, files that are devices, FIFOs or bombs are refused
(docs/guarantees.md; the config side is tests/test_hostile.py)."""

import math
import os
from pathlib import Path

import numpy as np
import pytest

from pysim.lrt import LowRankAccumulator
from pysim.nvm import Crossbar
from pysim.rules import LRT, SGD, MiniBatchSGD, MixedPrecision, make_rule


# --- numbers at the float model's edges ----------------------------------------------------
def _xbar(shape=(4, 6)) -> Crossbar:
    return Crossbar.from_preset("rram", shape)


def _rules():
    return [SGD(_xbar(), 0.1), MiniBatchSGD(_xbar(), 0.1, 4), MixedPrecision(_xbar(), 0.1),
            LRT(_xbar(), 0.1, 4, rank=2)]


def _state(rule) -> tuple:
    xb = rule.xbar
    extra = rule.chi.copy() if isinstance(rule, MixedPrecision) else None
    acc = rule.acc.matrix() if isinstance(rule, LRT) else None
    return (xb.codes().copy(), xb.write_counts.copy(), rule.stats.as_dict(), extra, acc)


def _same(a: tuple, b: tuple) -> bool:
    return all((x is None and y is None) or np.array_equal(x, y) if not isinstance(x, dict)
               else x == y for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(("dy", "x", "error", "match"), [
    (np.full(4, 1e200), np.ones(6), OverflowError, "dy has entries up to 1e\\+200"),
    (np.ones(4), np.full(6, -1e300), OverflowError, "x has entries up to 1e\\+300"),
    (np.ones(4) + 1j, np.ones(6), TypeError, "dy must hold real numbers, got dtype complex"),
    (np.ones(4), np.ones(6, bool), TypeError, "x must hold real numbers, got dtype bool"),
    (np.array(["1"] * 4), np.ones(6), TypeError, "dy must hold real numbers"),
    (np.r_[np.ones(3), np.nan], np.ones(6), ValueError, "dy contains NaN or inf"),
])
def test_bad_terms_raise_and_leave_every_rule_unchanged(dy, x, error, match):
    for rule in _rules():
        before = _state(rule)
        with pytest.raises(error, match=match):
            rule.step(dy, x)
        assert _same(before, _state(rule)), rule.name


def test_an_overflowing_sample_is_not_absorbed_by_the_accumulator():
    acc = LowRankAccumulator(4, 6, 2, kappa_th=np.inf)
    acc.update(np.ones(4), np.ones(6))
    before = acc.matrix()
    with pytest.raises(OverflowError, match="dy has entries"):
        acc.update(np.full(4, 1e160), np.full(6, 1e160))
    with pytest.raises(TypeError, match="dY must hold real numbers"):
        acc.update_batch(np.ones((1, 4), complex), np.ones((1, 6)))
    np.testing.assert_array_equal(acc.matrix(), before)
    assert acc.samples_seen == 1


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("rule_name", ["sgd", "minibatch", "mixed", "lrt"])
def test_an_update_that_overflows_is_refused_before_any_write(rule_name):
    params = {"lr": 1e300} | ({"batch": 1} if rule_name in ("minibatch", "lrt") else {})
    rule = make_rule(rule_name, _xbar(), **params)
    before = _state(rule)[:3]
    big = np.full(4, 2.0 ** 249)
    with pytest.raises(FloatingPointError, match=r"is not finite .*nothing was written"):
        rule.step(big[None, None], np.full((1, 1, 6), 2.0 ** 249))
    after = _state(rule)
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])


def test_a_huge_finite_update_saturates_instead_of_wrapping():
    rule = SGD(_xbar(), 1e100)
    rule.step(np.ones((1, 1, 4)), np.ones((1, 1, 6)))  # ΔW = 1e100 per cell: all to the bottom
    assert (rule.xbar.codes() == rule.xbar.k_min).all()


def test_crossbar_write_refuses_nan_and_complex_and_keeps_its_levels():
    xb = _xbar()
    before = xb.codes().copy()
    w = np.zeros((4, 6))
    w[1, 2] = np.nan
    with pytest.raises(ValueError, match="w_target contains NaN or inf"):
        xb.write(w)
    with pytest.raises(TypeError, match="w_target must hold real numbers"):
        xb.write(np.zeros((4, 6), complex))
    np.testing.assert_array_equal(xb.codes(), before)


@pytest.mark.parametrize(("lr", "error", "match"), [
    (True, TypeError, "lr must be a real number, got True"),
    (np.bool_(True), TypeError, "lr must be a real number"),
    (1 + 0j, TypeError, "lr must be a real number"),
    ("0.1", TypeError, "lr must be a real number"),
    (0.0, ValueError, "lr must be > 0.0"),
    (math.inf, ValueError, "lr must be a finite number"),
])
def test_learning_rates_are_real_positive_finite_numbers(lr, error, match):
    with pytest.raises(error, match=match):
        SGD(_xbar(), lr)


@pytest.mark.parametrize("lr", [np.float32(0.1), np.float64(0.1), np.int64(1), 1])
def test_numpy_learning_rates_are_accepted(lr):
    rule = SGD(_xbar(), lr)
    assert rule.lr == float(lr)


# --- MNIST files a user points to ----------------------------------------------------------
def _idx(path: Path, array: np.ndarray, code: int = 0x08) -> Path:
    import struct

    body = array.astype({0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[code]).tobytes()
    path.write_bytes(struct.pack(">BBBB", 0, 0, code, array.ndim)
                     + struct.pack(f">{array.ndim}I", *array.shape) + body)
    return path


def test_idx_files_that_are_devices_or_fifos_are_refused(tmp_path):
    from pysim.data import read_idx

    link = tmp_path / "zero.idx"
    link.symlink_to("/dev/zero")
    with pytest.raises(ValueError, match=r"zero.idx: not a regular file"):
        read_idx(link)
    fifo = tmp_path / "fifo.idx"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"fifo.idx: not a regular file"):
        read_idx(fifo)


def test_a_gzip_bomb_idx_is_refused(tmp_path, monkeypatch):
    import gzip

    from pysim import data

    monkeypatch.setattr(data, "MAX_IDX_BYTES", 1 << 16)
    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(gzip.compress(b"\0\0\x08\x01" + b"\0" * (1 << 20)))
    with pytest.raises(ValueError, match=r"bomb.gz: more than 65536 bytes"):
        data.read_idx(bomb)


def test_mnist_labels_and_images_outside_their_range_are_refused(tmp_path):
    from pysim.data import load_mnist

    imgs = _idx(tmp_path / "img", np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match=r"lab: MNIST labels are integers 0..9"):
        load_mnist(imgs, _idx(tmp_path / "lab", np.array([1, 12, 3]), 0x0C))
    with pytest.raises(ValueError, match=r"fimg: MNIST images are unsigned bytes"):
        load_mnist(_idx(tmp_path / "fimg", np.full((3, 4, 4), np.nan), 0x0D),
                   _idx(tmp_path / "ok", np.array([1, 2, 3])))
