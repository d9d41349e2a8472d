"""Float LRT (pysim.lrt): exactness, unbiasedness, orthonormality, batch ≡ stream, bad input."""

import numpy as np
import pytest

from pysim.lrt import LowRankAccumulator, SignDraws, reduce_rank


def low_rank_stream(rng, n_out, n_in, true_rank, n):
    A = rng.normal(size=(n_out, true_rank))
    B = rng.normal(size=(n_in, true_rank))
    return [(A @ rng.normal(size=true_rank), B @ rng.normal(size=true_rank)) for _ in range(n)]


def exact_sum(samples):
    return sum(np.outer(d, x) for d, x in samples)


@pytest.mark.parametrize(("n_out", "n_in", "rank", "true_rank"),
                         [(10, 64, 4, 4), (10, 64, 4, 1), (64, 256, 8, 6), (7, 5, 3, 3)])
def test_biased_is_exact_when_sum_has_rank_at_most_r(n_out, n_in, rank, true_rank):
    rng = np.random.default_rng(1)
    samples = low_rank_stream(rng, n_out, n_in, true_rank, 300)
    acc = LowRankAccumulator(n_out, n_in, rank, kappa_th=np.inf)
    assert acc.update_batch(*map(np.array, zip(*samples, strict=True))).all()
    G = exact_sum(samples)
    assert np.linalg.norm(acc.matrix() - G) <= 1e-9 * np.linalg.norm(G)


def test_biased_is_best_rank_r_fit_of_a_single_batch_only_approximately():
    """Streaming truncation is not the batch SVD in general: the error must be nonzero
    for a full-rank sum, yet no worse than a few times the optimal truncation error."""
    rng = np.random.default_rng(2)
    samples = [(rng.normal(size=10), rng.normal(size=64)) for _ in range(100)]
    acc = LowRankAccumulator(10, 64, 4, kappa_th=np.inf)
    for d, x in samples:
        acc.update(d, x)
    G = exact_sum(samples)
    s = np.linalg.svd(G, compute_uv=False)
    opt = np.sqrt(np.sum(s[4:] ** 2))
    err = np.linalg.norm(acc.matrix() - G)
    assert opt < err < 3 * opt


def test_unbiased_mean_converges_like_one_over_sqrt_n():
    n_out, n_in, rank = 8, 16, 2
    rng = np.random.default_rng(3)
    samples = [(rng.normal(size=n_out), rng.normal(size=n_in)) for _ in range(12)]
    G = exact_sum(samples)
    mats = []
    for seed in range(1600):
        acc = LowRankAccumulator(n_out, n_in, rank, "unbiased", np.random.default_rng(seed),
                                 kappa_th=np.inf)
        for d, x in samples:
            acc.update(d, x)
        mats.append(acc.matrix())
    mats = np.array(mats)
    errs = {n: np.linalg.norm(mats[:n].mean(0) - G) / np.linalg.norm(G) for n in (100, 400, 1600)}
    # 1/sqrt(N): each 4x more seeds halves the error (allow generous statistical slack).
    assert errs[400] < 0.75 * errs[100]
    assert errs[1600] < 0.75 * errs[400]
    assert errs[1600] < 0.1
    # ...whereas the biased estimate has a fixed, larger error.
    acc = LowRankAccumulator(n_out, n_in, rank, kappa_th=np.inf)
    for d, x in samples:
        acc.update(d, x)
    assert np.linalg.norm(acc.matrix() - G) / np.linalg.norm(G) > 3 * errs[1600]


def test_reduce_rank_unbiased_expectation_is_exact():
    sigma = np.array([5.0, 2.0, 1.5, 0.3, 0.1])
    rng = np.random.default_rng(4)
    total = np.zeros((5, 5))
    n = 4000
    for _ in range(n):
        signs = 1.0 - 2.0 * rng.integers(0, 2, size=5)
        M, s = reduce_rank(sigma, "unbiased", signs)
        assert np.allclose(M.T @ M, np.eye(4), atol=1e-12)
        assert np.all(np.diff(s) <= 1e-12)
        assert np.all(s >= 0)
        total += (M * s) @ M.T
    assert np.allclose(total / n, np.diag(sigma), atol=0.06)
    # The kept head is exact: sigma_1 is far above the tail's even share.
    assert s[0] == 5.0


@pytest.mark.parametrize("mode", ["biased", "unbiased"])
def test_orthonormal_after_10000_updates(mode):
    rng = np.random.default_rng(5)
    acc = LowRankAccumulator(10, 64, 4, mode, rng, kappa_th=np.inf)
    dY = rng.normal(size=(10000, 10)) * np.exp(rng.normal(size=(10000, 1)))
    X = np.maximum(rng.normal(size=(10000, 64)), 0)
    acc.update_batch(dY, X)
    L, s, R = acc.factors()
    assert np.abs(L.T @ L - np.eye(4)).max() < 1e-10
    assert np.abs(R.T @ R - np.eye(4)).max() < 1e-10
    assert np.all(s >= 0)
    assert np.all(np.diff(s) <= 0)


@pytest.mark.parametrize("mode", ["biased", "unbiased"])
def test_update_batch_equals_repeated_update(mode):
    rng = np.random.default_rng(6)
    dY, X = rng.normal(size=(50, 12)), rng.normal(size=(50, 30))
    a = LowRankAccumulator(12, 30, 3, mode, np.random.default_rng(7))
    b = LowRankAccumulator(12, 30, 3, mode, np.random.default_rng(7))
    flags = a.update_batch(dY, X)
    flags_b = [b.update(d, x) for d, x in zip(dY, X, strict=True)]
    assert list(flags) == flags_b
    # Rows projected together round differently from one at a time: equal to ~1e-14.
    for fa, fb in zip(a.factors(), b.factors(), strict=True):
        np.testing.assert_allclose(fa, fb, rtol=1e-12, atol=1e-12)


def test_conv_like_rows_equal_repeated_update():
    """A convolution's sample: many pixel terms, a third of them zero, most κ-skipped
    once the spectrum has grown — the batched projection must take the same decisions.

    Biased mode: unbiased mode leaves exactly equal singular values, whose singular
    vectors are any basis of their subspace; which one LAPACK returns depends on
    rounding, and the random mixing of the next reduction acts on that basis — two
    equally valid trajectories that part after a few samples.
    """
    rng = np.random.default_rng(9)
    a = LowRankAccumulator(8, 9, 4, "biased", np.random.default_rng(1))
    b = LowRankAccumulator(8, 9, 4, "biased", np.random.default_rng(1))
    flags_a, flags_b = [], []
    for _ in range(40):
        dY = rng.normal(size=(36, 8)) * (rng.random((36, 1)) < 0.66)
        X = np.maximum(rng.normal(size=(36, 9)), 0.0)
        flags_a += list(a.update_batch(dY, X))
        flags_b += [b.update(d, x) for d, x in zip(dY, X, strict=True)]
    assert flags_a == flags_b
    assert 0.02 < np.mean(flags_a) < 0.9  # both skipped and absorbed rows were exercised
    assert (a.samples_seen, a.samples_absorbed) == (b.samples_seen, b.samples_absorbed)
    for fa, fb in zip(a.factors(), b.factors(), strict=True):
        np.testing.assert_allclose(fa, fb, rtol=1e-10, atol=1e-10)


def test_row_and_vector_gram_schmidt_agree():
    from pysim.lrt import gram_schmidt, gram_schmidt_rows
    rng = np.random.default_rng(10)
    Qt = np.linalg.qr(rng.normal(size=(20, 3)))[0].T
    V = np.vstack([rng.normal(size=(4, 20)), Qt[1] * 2.0, np.zeros(20),
                   Qt[0] + 1e-9 * rng.normal(size=20)])  # generic, in-span, zero, nearly
    C, Res, N = gram_schmidt_rows(Qt, V)
    for v, c, res, n in zip(V, C, Res, N, strict=True):
        c1, res1, n1 = gram_schmidt(Qt, v)
        np.testing.assert_allclose(c, c1, atol=1e-14)
        np.testing.assert_allclose(res, res1, atol=1e-14)
        assert n == pytest.approx(n1, abs=1e-14)
        np.testing.assert_allclose(c @ Qt + res, v, atol=1e-13)
    assert N[4] == 0.0 and N[5] == 0.0  # in-span rounding noise is zeroed, not normalised


def test_kappa_skip_refuses_weak_new_directions():
    acc = LowRankAccumulator(4, 4, 1, kappa_th=100.0)
    assert acc.update(np.array([1.0, 0, 0, 0]) * 100, np.array([1.0, 0, 0, 0]) * 100)
    # Residual product 1 against sigma_1 = 1e4: 1e4 > 100 * 1 -> skipped, state unchanged.
    before = acc.factors()
    assert not acc.update(np.array([0, 1.0, 0, 0]), np.array([0, 1.0, 0, 0]))
    for f0, f1 in zip(before, acc.factors(), strict=True):
        np.testing.assert_array_equal(f0, f1)
    assert (acc.samples_seen, acc.samples_absorbed) == (2, 1)
    # A strong sample is absorbed.
    assert acc.update(np.array([0, 50.0, 0, 0]), np.array([0, 50.0, 0, 0]))


def test_aux_words_and_no_dense_array():
    acc = LowRankAccumulator(512, 2048, 4)
    assert acc.aux_words == 4 * (512 + 2048 + 1)
    rng = np.random.default_rng(8)
    acc.update(rng.normal(size=512), rng.normal(size=2048))
    # The state holds only the factors: nothing of n_out*n_in size.
    sizes = [v.size for v in vars(acc).values() if isinstance(v, np.ndarray)]
    assert max(sizes) < 512 * 2048 // 10


def test_reset_clears_state():
    rng = np.random.default_rng(9)
    acc = LowRankAccumulator(5, 6, 2)
    acc.update(rng.normal(size=5), rng.normal(size=6))
    acc.reset()
    assert not acc.matrix().any()
    assert acc.samples_seen == 0


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"rank": 0}, r"rank must be in 1..min\(n_out, n_in\) = 1..5"),
    ({"rank": 6}, r"rank must be in 1..min\(n_out, n_in\) = 1..5"),
    ({"rank": 2.0}, "rank must be an integer"),
    ({"mode": "exact"}, "mode must be"),
    ({"mode": "unbiased"}, "pass rng="),
    ({"kappa_th": 0.0}, "kappa_th must be > 0"),
    ({"kappa_th": float("nan")}, "kappa_th must be a number, got NaN"),
])
def test_bad_constructor_arguments(kwargs, match):
    args = {"n_out": 5, "n_in": 7, "rank": 2} | kwargs
    with pytest.raises((ValueError, TypeError), match=match):
        LowRankAccumulator(**args)


@pytest.mark.parametrize(("dy", "x", "match"), [
    (np.zeros(4), np.zeros(7), r"dy must have shape \(5,\)"),
    (np.zeros(5), np.zeros((7, 1)), r"x must have shape \(7,\)"),
    (np.array([1, 2, np.nan, 0, 0]), np.zeros(7), "dy contains NaN"),
    (np.zeros(5), np.full(7, np.inf), "x contains NaN or inf"),
])
def test_bad_sample_is_rejected_and_state_kept(dy, x, match):
    rng = np.random.default_rng(10)
    acc = LowRankAccumulator(5, 7, 2)
    acc.update(rng.normal(size=5), rng.normal(size=7))
    before = acc.factors()
    with pytest.raises(ValueError, match=match):
        acc.update(dy, x)
    for f0, f1 in zip(before, acc.factors(), strict=True):
        np.testing.assert_array_equal(f0, f1)
    assert acc.samples_seen == 1


def test_sign_draws_in_blocks_equal_one_draw_per_term():
    """SignDraws relies on numpy's integers(0, 2) using one 32-bit half per value and
    keeping the spare half between calls: blocks (crossing their boundaries at odd
    offsets) must give exactly the per-call signs, and so the same factorisation."""
    a, b = np.random.default_rng(21), np.random.default_rng(21)
    blocks = SignDraws(b, block=11)
    sizes = np.random.default_rng(0).integers(1, 9, size=500)
    for q in sizes:
        np.testing.assert_array_equal(blocks.take(int(q)), 1.0 - 2.0 * a.integers(0, 2, size=q))
    rng = np.random.default_rng(5)
    terms = [(rng.normal(size=12), rng.normal(size=30)) for _ in range(400)]
    plain = LowRankAccumulator(12, 30, 3, "unbiased", np.random.default_rng(8))
    ahead = LowRankAccumulator(12, 30, 3, "unbiased", SignDraws(np.random.default_rng(8)))
    for dy, x in terms:
        plain.update(dy, x)
        ahead.update(dy, x)
    for u, v in zip(plain.factors(), ahead.factors(), strict=True):
        np.testing.assert_array_equal(u, v)
    with pytest.raises(ValueError, match="block"):
        SignDraws(np.random.default_rng(0), block=0)
