"""Float64 streaming low-rank training (the seed's SKS: Streaming Kronecker Sum).

A layer's summed weight gradient ``G = sum_i dy_i x_i^T`` (n_out × n_in) is kept as
``L diag(sigma) R^T`` with orthonormal ``L`` (n_out × r), ``R`` (n_in × r) and
``sigma >= 0`` descending. Each sample costs O((n_out + n_in) r^2): one Gram-Schmidt
pass per side, an (r+1)×(r+1) core SVD, and the reduction back to rank r:

* ``biased``   — drop the smallest singular value (best rank-r fit, biased);
* ``unbiased`` — Benzing et al.'s optimal Kronecker sum (ICML 2019): the tail of
  the spectrum is mixed into equal-valued slots with random signs, so that the
  expected approximation equals the exact sum with minimum variance.

The κ-skip (the seed's guard): a sample is not absorbed when
``sigma_1 > kappa_th * |res_dy| * |res_x|``, i.e. when its new direction is too weak
to matter against the current spectrum (this drops its in-span part too, as the
seed does; pass ``kappa_th=np.inf`` to absorb everything).

Numerics: Gram-Schmidt is one classical pass (two matrix-vector products), repeated
once when cancellation removed more than 1 - 1/√2 of the vector (the DGKS criterion)
— the standard way to keep the bases orthonormal to machine precision over long
streams.
"""

from __future__ import annotations

import math

import numpy as np

_DGKS = 1.0 / math.sqrt(2.0)
_EPS_RES = 1e-12  # residual/|v| below this after the re-pass counts as zero


def _check_vector(v, n: int, name: str) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    if a.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def gram_schmidt(Qt: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Project ``v`` off the orthonormal *rows* of ``Qt`` (classical GS, DGKS re-pass).

    Returns ``(coefficients, residual, residual_norm)`` with
    ``v = Qt.T @ coefficients + residual`` and ``Qt @ residual ≈ 0``. Each pass is two
    matrix-vector products (CGS); the second pass (CGS2) runs only when the first
    cancelled more than 1 - 1/√2 of ``v``, which is what keeps classical GS as
    orthogonal as the modified one (Giraud et al. 2005, "twice is enough").
    """
    coef = Qt @ v
    res = v - coef @ Qt
    norm0 = math.sqrt(float(v @ v))
    norm = math.sqrt(float(res @ res))
    if norm <= _DGKS * norm0:
        c2 = Qt @ res
        coef += c2
        res -= c2 @ Qt
        norm = math.sqrt(float(res @ res))
        if norm <= _EPS_RES * norm0:
            # What is left is rounding noise of v's in-span part, not a new direction;
            # normalising it would put a non-orthogonal row into the basis.
            res[:] = 0.0
            norm = 0.0
    return coef, res, norm


def reduce_rank(sigma: np.ndarray, mode: str, signs: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Reduce a descending spectrum of length q to rank r = q - 1.

    Returns ``(M, sigma_r)``: the new factors are ``U @ M`` and ``V @ M`` with values
    ``sigma_r``, where ``U``, ``V`` hold the q singular vectors. ``M`` (q × r) has
    orthonormal columns. In ``unbiased`` mode ``E[M diag(sigma_r) M^T] = diag(sigma)``
    over the ±1 ``signs`` (length q; only the tail's entries are used).
    """
    q = sigma.shape[0]
    r = q - 1
    if mode == "biased" or sigma[-1] <= 0.0:
        return np.eye(q, r), sigma[:r].copy()
    # Smallest m whose tail can be spread evenly over k = q - 1 - m slots with every
    # slot value s1/k >= each tail value (so all mixing weights are ≤ 1); m = r - 1
    # always qualifies (sigma_r ≥ 0), so the search ends.
    tail = np.cumsum(sigma[::-1])[::-1]  # tail[m] = sum_{j>=m} sigma_j
    m = int(np.argmax((r - np.arange(r)) * sigma[:r] <= tail[:r]))
    k = r - m
    s1 = float(tail[m])
    x0 = np.sqrt(np.maximum(1.0 - sigma[m:] * (k / s1), 0.0))
    x0 *= 1.0 / math.sqrt(float(x0 @ x0))  # exact unit norm by construction; remove rounding
    w = x0.copy()
    w[0] -= 1.0
    ww = float(w @ w)
    H = np.eye(k + 1)
    if ww > 0.0:
        H -= (w[:, None] * w) * (2.0 / ww)  # Householder: H e1 = x0
    M = np.zeros((q, r))
    M[:m, :m] = np.eye(m)
    M[m:, m:] = signs[m:, None] * H[:, 1:]  # columns ⟂ x0, row norms² = sigma_j k/s1
    sigma_r = np.empty(r)
    sigma_r[:m] = sigma[:m]
    sigma_r[m:] = s1 / k
    return M, sigma_r


class LowRankAccumulator:
    """Streaming rank-``rank`` approximation of ``sum_i dy_i x_i^T``.

    Parameters
    ----------
    n_out, n_in : layer size (dy has n_out entries, x has n_in).
    rank : r, 1 ≤ r ≤ min(n_out, n_in).
    mode : ``"biased"`` or ``"unbiased"`` (needs ``rng`` for the random signs).
    rng : ``numpy.random.Generator``; the only source of randomness.
    kappa_th : κ-skip threshold (seed default 100; ``np.inf`` disables).
    """

    def __init__(self, n_out: int, n_in: int, rank: int, mode: str = "biased",
                 rng: np.random.Generator | None = None, kappa_th: float = 100.0):
        for name, val in (("n_out", n_out), ("n_in", n_in), ("rank", rank)):
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)):
                raise TypeError(f"{name} must be an integer, got {val!r}")
        if n_out < 1 or n_in < 1:
            raise ValueError(f"n_out and n_in must be ≥ 1, got ({n_out}, {n_in})")
        if not 1 <= rank <= min(n_out, n_in):
            raise ValueError(f"rank must be in 1..min(n_out, n_in) = 1..{min(n_out, n_in)}, "
                             f"got {rank}")
        if mode not in ("biased", "unbiased"):
            raise ValueError(f"mode must be 'biased' or 'unbiased', got {mode!r}")
        if mode == "unbiased" and rng is None:
            raise ValueError("mode='unbiased' draws random signs: pass "
                             "rng=np.random.default_rng(seed)")
        if not (kappa_th > 0):  # also rejects NaN
            raise ValueError(f"kappa_th must be > 0 (np.inf disables the skip), got {kappa_th}")
        self.n_out, self.n_in, self.rank = int(n_out), int(n_in), int(rank)
        self.mode, self.rng, self.kappa_th = mode, rng, float(kappa_th)
        self.reset()

    def reset(self) -> None:
        """Forget everything accumulated (after a commit)."""
        q = self.rank + 1
        # Bases stored transposed with one spare row for the new direction: the
        # rotation [L u] @ M is then a single (r × q) @ (q × n) product.
        self._Lt = np.zeros((q, self.n_out))
        self._Rt = np.zeros((q, self.n_in))
        self._s = np.zeros(self.rank)
        self.samples_seen = 0
        self.samples_absorbed = 0

    @property
    def aux_words(self) -> int:
        """Numbers stored between samples: r·(n_out + n_in) factor entries + r values."""
        return self.rank * (self.n_out + self.n_in + 1)

    @property
    def scratch_words(self) -> int:
        """Transient numbers during one update: the new column pair and the q×q core."""
        q = self.rank + 1
        return self.n_out + self.n_in + 3 * q * q

    def macs_per_update(self) -> int:
        """Multiply-accumulates of one absorbed sample (Gram-Schmidt, rotation; core ≈ 10 q³)."""
        q, n = self.rank + 1, self.n_out + self.n_in
        return 2 * self.rank * n + n + n * q * self.rank + 10 * q ** 3

    def update(self, dy, x) -> bool:
        """Fold one sample ``dy x^T`` into the factorisation; return whether it was absorbed."""
        dy = _check_vector(dy, self.n_out, "dy")
        x = _check_vector(x, self.n_in, "x")
        return self._update(dy, x)

    def _update(self, dy: np.ndarray, x: np.ndarray) -> bool:
        self.samples_seen += 1
        r = self.rank
        Lt, Rt = self._Lt, self._Rt
        cl, rl, nl = gram_schmidt(Lt[:r], dy)
        cr, rr, nr = gram_schmidt(Rt[:r], x)
        if self._s[0] > self.kappa_th * nl * nr:
            return False
        self.samples_absorbed += 1
        if not (np.any(cl) or nl) or not (np.any(cr) or nr):
            return True  # a zero outer product changes nothing
        a = np.empty(r + 1)
        a[:r], a[r] = cl, nl
        b = np.empty(r + 1)
        b[:r], b[r] = cr, nr
        core = a[:, None] * b
        core.flat[0:r * (r + 2):r + 2] += self._s  # diagonal (i, i), i < r
        uc, sc, vct = np.linalg.svd(core)
        signs = None
        if self.mode == "unbiased":
            signs = 1.0 - 2.0 * self.rng.integers(0, 2, size=r + 1)
        mix, self._s = reduce_rank(sc, self.mode, signs)
        # A zero residual leaves a zero row: its direction carries no weight anyway.
        Lt[r] = rl * (1.0 / nl) if nl > 0.0 else 0.0
        Rt[r] = rr * (1.0 / nr) if nr > 0.0 else 0.0
        Lt[:r] = (uc @ mix).T @ Lt
        Rt[:r] = (vct.T @ mix).T @ Rt
        return True

    def update_batch(self, dY, X) -> np.ndarray:
        """Fold k samples in order (rows of ``dY`` (k × n_out) and ``X`` (k × n_in)).

        Identical to k calls of :meth:`update`; returns the absorbed flags.
        """
        dY = np.asarray(dY, dtype=float)
        X = np.asarray(X, dtype=float)
        if dY.ndim != 2 or dY.shape[1] != self.n_out:
            raise ValueError(f"dY must have shape (k, {self.n_out}), got {dY.shape}")
        if X.ndim != 2 or X.shape[1] != self.n_in:
            raise ValueError(f"X must have shape (k, {self.n_in}), got {X.shape}")
        if dY.shape[0] != X.shape[0]:
            raise ValueError(f"dY and X must have the same number of rows, got "
                             f"{dY.shape[0]} and {X.shape[0]}")
        if not (np.all(np.isfinite(dY)) and np.all(np.isfinite(X))):
            raise ValueError("dY or X contains NaN or inf")
        return np.array([self._update(d, v) for d, v in zip(dY, X, strict=True)], dtype=bool)

    def factors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(L, sigma, R)``: orthonormal columns, ``sigma`` ≥ 0 descending (copies)."""
        r = self.rank
        return self._Lt[:r].T.copy(), self._s.copy(), self._Rt[:r].T.copy()

    def matrix(self) -> np.ndarray:
        """The approximated sum ``L diag(sigma) R^T`` (n_out × n_in)."""
        r = self.rank
        return (self._Lt[:r].T * self._s) @ self._Rt[:r]

    def decay(self, factor: float) -> None:
        """Scale the accumulated sum by ``factor`` (the seed's discount on a gated commit)."""
        if not 0.0 <= factor <= 1.0:
            raise ValueError(f"factor must be in [0, 1], got {factor}")
        self._s *= factor
