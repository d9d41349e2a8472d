"""Update rules (pysim.rules): write behaviour, accumulation, gating, counters, bad input."""

import math

import numpy as np
import pytest

from pysim.device import load_device_from_mapping
from pysim.lrt import SignDraws
from pysim.nvm import Crossbar
from pysim.rules import LRT, SGD, MaxNorm, MiniBatchSGD, MixedPrecision, make_rule
from pysim.store import load_state, save_state


def step(rule, dy, x):
    """One sample of a one-job rule: ``dy``, ``x`` one term (1-D) or one per row."""
    return rule.step(np.atleast_2d(dy)[None], np.atleast_2d(x)[None])


def xbar(shape=(4, 6), bits=8):
    dev = load_device_from_mapping({"name": "t", "bits": bits, "write_energy_per_pulse_pj": 1.0})
    return Crossbar(dev, shape)


def test_sgd_rounds_away_sub_lsb_updates_and_writes_large_ones():
    xb = xbar()
    rule = SGD(xb, lr=0.1)
    lsb = xb.lsb  # 1/128
    small = step(rule, np.full(4, 0.1), np.full(6, 0.1 * lsb))  # 1e-3 lsb per cell
    assert small.cells_written == 0
    big = step(rule, np.array([1.0, 0, 0, 0]), np.array([10 * lsb, 0, 0, 0, 0, 0]))
    assert big.cells_written == 1
    assert xb.codes()[0][0, 0] == -1  # W <- W - lr*g = -1 LSB
    assert rule.stats.samples == 2
    assert rule.stats.macs == 2 * 24
    assert rule.aux_words == 0


def test_stochastic_rounding_keeps_sub_lsb_sgd_updates_in_expectation():
    """0.3 LSB per sample rounds away to nearest; stochastically it moves a cell by
    0.3 LSB per sample on average (binomial), and writes about 30 % of the samples."""
    n = 2000
    det = SGD(xbar((1, 1), bits=16), lr=1.0)
    xb = xbar((1, 1), bits=16)
    sr = SGD(xb, lr=1.0, stochastic_round=True, rng=np.random.default_rng(5))
    writes = 0
    for _ in range(n):
        step(det, np.ones(1), np.full(1, 0.3 * xb.lsb))
        writes += step(sr, np.ones(1), np.full(1, 0.3 * xb.lsb)).cells_written
    assert det.stats.nvm.cells_written == 0
    mean, sd = -0.3 * n, math.sqrt(n * 0.3 * 0.7)
    assert abs(xb.codes()[0][0, 0] - mean) < 4 * sd
    assert writes == -xb.codes()[0][0, 0]  # every write is one level down
    with pytest.raises(ValueError, match="rng="):
        SGD(xbar(), lr=0.1, stochastic_round=True)


def test_minibatch_writes_every_b_samples_and_accumulates_sub_lsb():
    xb = xbar()
    rule = MiniBatchSGD(xb, lr=1.0, batch=16)
    g_cell = 0.2 * xb.lsb  # each sample moves a cell by 0.2 LSB: SGD would never write
    for i in range(16):
        rep = step(rule, np.ones(4), np.full(6, g_cell))
        assert rep.cells_written == (24 if i == 15 else 0)
    # lr * sum / sqrt(B) = 16 * 0.2 / 4 = 0.8 LSB -> one level down everywhere
    assert np.all(xb.codes()[0] == -1)
    assert rule.aux_words == 24
    assert rule.stats.commits == 1


def test_mixed_precision_keeps_the_remainder():
    xb = xbar((1, 3))
    rule = MixedPrecision(xb, lr=1.0)
    lsb = xb.lsb
    x = np.array([0.25, 0.5, 1.25]) * lsb
    for _ in range(5):
        step(rule, np.ones(1), x)
    applied = xb.codes()[0][0] * lsb
    np.testing.assert_allclose(applied + rule.chi[0, 0], -5 * x)
    assert np.all(np.abs(rule.chi) < lsb)
    np.testing.assert_array_equal(xb.codes()[0][0], [-1, -2, -6])


def test_lrt_equals_minibatch_when_the_gradient_has_rank_at_most_r():
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(10, 2)), rng.normal(size=(64, 2))
    stream = [(A @ rng.normal(size=2) * 0.1, B @ rng.normal(size=2) * 0.1) for _ in range(200)]
    xa, xm = xbar((10, 64)), xbar((10, 64))
    lrt = LRT(xa, lr=5.0, batch=20, rank=4, kappa_th=np.inf, rho_min=0.0)
    mb = MiniBatchSGD(xm, lr=5.0, batch=20)
    for dy, x in stream:
        step(lrt, dy, x)
        step(mb, dy, x)
    assert lrt.stats.commits == 10
    np.testing.assert_array_equal(xa.codes()[0], xm.codes()[0])
    np.testing.assert_array_equal(xa.write_counts, xm.write_counts)
    assert lrt.aux_words == 4 * (10 + 64 + 1) < mb.aux_words == 640


def test_lrt_write_threshold_leaves_small_steps_unwritten():
    """Same stream as mini-batch equality above: with a 2-level threshold exactly the
    cells whose commit step is ±1 level stay where they are."""
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(10, 2)), rng.normal(size=(64, 2))
    stream = [(A @ rng.normal(size=2) * 0.1, B @ rng.normal(size=2) * 0.1) for _ in range(20)]
    xa, xt = xbar((10, 64)), xbar((10, 64))
    plain = LRT(xa, lr=5.0, batch=20, rank=4, kappa_th=np.inf, rho_min=0.0)
    thr = LRT(xt, lr=5.0, batch=20, rank=4, kappa_th=np.inf, rho_min=0.0, write_threshold=2)
    for dy, x in stream:
        step(plain, dy, x)
        step(thr, dy, x)
    moved = xa.codes()[0]  # one commit from level 0
    assert np.any(np.abs(moved) == 1) and np.any(np.abs(moved) >= 2)
    np.testing.assert_array_equal(xt.codes()[0], np.where(np.abs(moved) >= 2, moved, 0))
    assert xt.write_counts.sum() == np.count_nonzero(np.abs(moved) >= 2)
    with pytest.raises(ValueError, match="write_threshold"):
        LRT(xbar(), lr=0.1, batch=2, write_threshold=0)


def test_lrt_rho_min_gates_sparse_commits_and_grows_b_eff():
    xb = xbar((10, 10))
    lrt = LRT(xb, lr=1.0, batch=4, rank=2, kappa_th=np.inf, rho_min=0.05)
    tiny = 0.05 * xb.lsb
    for _ in range(4):
        step(lrt, np.eye(10)[0], np.eye(10)[0] * tiny)  # one cell, far below an LSB
    assert lrt.stats.gated == 1
    assert lrt.stats.commits == 0
    assert lrt.b_eff == 4
    # Accumulation continues: a denser, larger gradient then commits and resets.
    for _ in range(4):
        step(lrt, np.ones(10), np.ones(10) * 0.5 * xb.lsb)
    assert lrt.stats.commits == 1
    assert lrt.b_eff == 0
    assert xb.write_counts.sum() > 5


def test_lrt_max_norm_bounds_the_update():
    xb = xbar((6, 8))
    lrt = LRT(xb, lr=2 * xb.lsb, batch=4, rank=2, max_norm=True, rho_min=0.0,
              kappa_th=np.inf)
    rng = np.random.default_rng(1)
    for _ in range(4):
        step(lrt, rng.normal(size=6) * 1e3, rng.normal(size=8) * 1e3)
    # Max-norm makes the step independent of the gradient's scale: at most
    # lr * sqrt(B) * 1 = 4 LSB per cell, whatever the 1e6-sized gradient.
    assert np.abs(xb.codes()[0]).max() <= 4


def test_maxnorm_tracks_the_bias_corrected_max():
    mn = MaxNorm(beta=0.9, eps=0.0)
    out = mn(np.array([2.0, -4.0]))
    np.testing.assert_allclose(out, [0.5, -1.0])
    # A small tensor is divided by the remembered (larger) max, not its own.
    out = mn(np.array([1.0]))
    assert out[0] < 1.0


def test_counts_and_unbiased_mode_are_deterministic_for_a_seed():
    def run(seed):
        xb = xbar((10, 64))
        rule = LRT(xb, lr=0.5, batch=10, rank=4, mode="unbiased",
                   rng=np.random.default_rng(seed))
        rng = np.random.default_rng(99)
        for _ in range(100):
            step(rule, rng.normal(size=10) * 0.1, rng.normal(size=64) * 0.1)
        return xb.codes()[0], rule.stats.as_dict()
    (c1, s1), (c2, s2) = run(3), run(3)
    np.testing.assert_array_equal(c1, c2)
    assert s1 == s2
    assert s1["nvm_cells_written"] > 0


@pytest.mark.parametrize(("name", "params", "match"), [
    ("adam", {"lr": 0.1}, "unknown update rule 'adam'"),
    ("sgd", {"lr": -1.0}, "lr must be > 0.0"),
    ("sgd", {"lr": math.nan}, "lr must be a number, got NaN"),
    ("minibatch", {"lr": 0.1, "batch": 0}, "batch must be an integer ≥ 1"),
    ("lrt", {"lr": 0.1, "batch": 10, "rank": 7}, "rank must be in 1..min"),
    ("lrt", {"lr": 0.1, "batch": 10, "rho_min": 2.0}, "rho_min must be ≤ 1.0"),
])
def test_bad_rule_parameters(name, params, match):
    with pytest.raises(ValueError, match=match):
        make_rule(name, xbar((4, 6)), **params)


def test_bad_sample_leaves_rule_untouched():
    xb = xbar()
    rule = MiniBatchSGD(xb, lr=0.1, batch=3)
    step(rule, np.ones(4), np.ones(6))
    acc = rule.acc.copy()
    with pytest.raises(ValueError, match="x contains NaN"):
        step(rule, np.ones(4), np.array([1, 2, 3, np.nan, 5, 6]))
    np.testing.assert_array_equal(rule.acc, acc)
    assert rule.stats.samples == 1
    assert rule.pending == 1


def test_lrt_stochastic_rounding_is_unbiased():
    rng = np.random.default_rng(11)
    total = 0
    for _ in range(200):
        xb = xbar((4, 4))
        lrt = LRT(xb, lr=1.0, batch=1, rank=1, kappa_th=np.inf, rho_min=0.0, rng=rng,
                  stochastic_round=True)
        step(lrt, np.ones(4), np.ones(4) * 0.3 * xb.lsb)  # ΔW = 0.3 LSB per cell
        total += xb.codes()[0].sum()
    # Round-to-nearest would never move; stochastic rounding moves 30 % of cells down.
    assert total / (200 * 16) == pytest.approx(-0.3, abs=0.03)


def test_multi_term_sample_equals_the_summed_gradient():
    rng = np.random.default_rng(12)
    dY, X = rng.normal(size=(5, 4)), rng.normal(size=(5, 6))
    a = xbar()
    step(SGD(a, lr=0.1), dY, X)  # one sample of five terms: one write of their sum
    want = np.clip(np.rint(-0.1 * (dY.T @ X) / a.lsb), a.k_min, a.k_max)
    np.testing.assert_array_equal(a.codes()[0], want)
    rule = SGD(xbar(), lr=0.1)
    step(rule, dY, X)
    np.testing.assert_array_equal(rule.pixel_writes[0], (dY != 0).T.astype(int) @ (X != 0))


def test_per_pixel_counts_folded_later_equal_counting_every_sample(tmp_path):
    """SGD and mixed precision note each term's masks and count them when read (or every
    ``_FLUSH_ROWS`` terms): the counts must equal a per-sample sum of outer products, also
    across a fold boundary and a checkpoint taken between folds."""
    rng = np.random.default_rng(31)
    for make in (lambda: SGD(xbar(), lr=0.05), lambda: MixedPrecision(xbar(), lr=0.05)):
        rule = make()
        rule._FLUSH_ROWS = 7  # fold every few samples (a conv sample has several rows)
        want = np.zeros((4, 6), np.int64)
        for t in range(60):
            k = int(rng.integers(1, 4))
            dY = rng.normal(size=(k, 4)) * (rng.random((k, 4)) < 0.5)
            X = rng.normal(size=(k, 6)) * (rng.random((k, 6)) < 0.5)
            step(rule, dY, X)
            want += (dY != 0).T.astype(np.int64) @ (X != 0)
            if t == 30:
                assert rule._pairs, "the test should checkpoint with terms not yet folded"
                save_state(tmp_path / "rule.npz", rule, "test")
                rule = load_state(tmp_path / "rule.npz", "test")
        np.testing.assert_array_equal(rule.pixel_writes[0], want)
        assert not rule._pairs


def test_lrt_with_stochastic_rounding_refuses_block_drawn_signs():
    with pytest.raises(ValueError, match="SignDraws"):
        LRT(xbar(), lr=0.1, batch=2, mode="unbiased", stochastic_round=True,
            rng=SignDraws(np.random.default_rng(0)))


def test_error_feedback_carries_the_fraction_of_a_level_to_the_next_commit():
    """ΔW of 1.4 and 0.4 levels each commit: rounding alone writes 1 and 0 levels every
    time; with the residual carried (rank 1 fits a 2×1 residual exactly) five commits
    write 7 and 2 levels, the sums of the updates."""
    def run(feedback):
        xb = Crossbar(load_device_from_mapping({"name": "t", "bits": 8}), (2, 1))
        lr = 1.0
        rule = LRT(xb, lr, 1, rank=1, rho_min=0.0, kappa_th=np.inf, error_feedback=feedback)
        before = xb.codes()[0].copy()
        for _ in range(5):
            step(rule, np.array([-1.4, -0.4]) * xb.lsb / lr, np.array([1.0]))
        return (xb.codes()[0] - before).ravel().tolist(), rule

    plain, _ = run(0)
    carried, rule = run(1)
    assert plain == [5, 0]
    assert carried == [7, 2]
    assert rule.aux_words == 1 * (2 + 1 + 1) + 1 * (2 + 1 + 1)  # rank-1 LRT + rank-1 residual
    assert rule.stats.macs > run(0)[1].stats.macs


def test_error_feedback_rank_is_checked():
    with pytest.raises(ValueError, match=r"error_feedback must be a rank 0\.\.2"):
        LRT(xbar((2, 6)), 0.1, 4, rank=1, error_feedback=3)
