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

import itertools
import math

import numpy as np
from scipy.linalg.lapack import dgesdd as _dgesdd

from .checks import real_array, real_scalar
from .signs import SignDraws, signs_from

_DGKS = 1.0 / math.sqrt(2.0)
_EPS_RES = 1e-12  # residual/|v| below this after the re-pass counts as zero
_WINDOW = 64  # most rows projected together (a conv layer's pixel terms of one sample)
# Singular values of the core closer than this (relative to the largest) are one tied
# group (see _canonical_ties); exact ties from the unbiased reduction differ by ulps.
TIE_TOL = 1e-9
# Relative slack of the reduction's "every mixing weight ≤ 1" test, which holds with
# equality on a tied tail and must not flip on the last bit of a sum.
_MIX_TOL = 1e-12


def _check_vector(v, n: int, name: str) -> np.ndarray:
    a = real_array(v, name)
    if a.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {a.shape}")
    return a


def gram_schmidt(Qt: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Project ``v`` off the orthonormal *rows* of ``Qt``: :func:`gram_schmidt_rows` for
    one vector, with 1-D dot products (the per-sample path of a dense layer, where the
    row version's overhead would be a third of the update)."""
    coef = Qt @ v
    res = v - coef @ Qt
    n0sq = float(v @ v)
    nsq = float(res @ res)
    if nsq <= _DGKS ** 2 * n0sq:
        c2 = Qt @ res
        coef += c2
        res -= c2 @ Qt
        nsq = float(res @ res)
        if nsq <= _EPS_RES ** 2 * n0sq:
            res[:] = 0.0
            nsq = 0.0
    return coef, res, math.sqrt(nsq)


def gram_schmidt_rows(Qt: np.ndarray, V: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project every row of ``V`` (k × n) off the orthonormal *rows* of ``Qt`` (r × n).

    Classical GS with the DGKS re-pass: returns ``(coefficients (k × r), residuals
    (k × n), residual norms (k,))`` with ``V = coefficients @ Qt + residuals`` and
    ``Qt @ residual ≈ 0``. Each pass is two matrix products (CGS); a second pass (CGS2)
    runs when some row's first pass cancelled more than 1 - 1/√2 of its norm (applied to
    all rows of the call: re-projecting an already orthogonal residual only removes
    rounding), which is what keeps classical GS as orthogonal as the modified one
    (Giraud et al. 2005, "twice is enough").
    """
    coef = V @ Qt.T
    res = V - coef @ Qt
    n0sq = (V * V).sum(axis=1)
    nsq = (res * res).sum(axis=1)
    if (nsq <= _DGKS ** 2 * n0sq).any():
        c2 = res @ Qt.T
        coef += c2
        res -= c2 @ Qt
        nsq = (res * res).sum(axis=1)
        # What is left is rounding noise of v's in-span part, not a new direction;
        # normalising it would put a non-orthogonal row into the basis.
        noise = nsq <= _EPS_RES ** 2 * n0sq
        if noise.any():
            res[noise] = 0.0
            nsq[noise] = 0.0
    return coef, res, np.sqrt(nsq)


def _svd(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``numpy.linalg.svd`` of a small square matrix through LAPACK's dgesdd directly
    (half numpy's call overhead on the (r+1)-square core)."""
    u, s, vt, info = _dgesdd(a)
    if info != 0:
        raise np.linalg.LinAlgError(f"SVD did not converge (dgesdd info {info})")
    return u, s, vt


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
    M = np.eye(q, r)
    if mode == "biased" or sigma[-1] <= 0.0:
        return M, sigma[:r].copy()
    # Smallest m whose tail can be spread evenly over k = q - 1 - m slots with every
    # slot value s1/k >= each tail value (so all mixing weights are ≤ 1); m = r - 1
    # always qualifies (sigma_r ≥ 0). Scalar Python: q is rank + 1, a handful of values.
    sig = sigma.tolist()
    tail = list(itertools.accumulate(reversed(sig)))[::-1]  # tail[m] = sum_{j>=m} sigma_j
    m = next((i for i in range(r) if (r - i) * sig[i] <= tail[i] * (1.0 + _MIX_TOL)), r - 1)
    k = r - m
    s1 = tail[m]
    x0 = np.sqrt(np.maximum(1.0 - sigma[m:] * (k / s1), 0.0))
    x0 *= 1.0 / math.sqrt(float(x0 @ x0))  # exact unit norm by construction; remove rounding
    w = x0.copy()
    w[0] -= 1.0
    ww = float(w @ w)
    # Householder H = I - 2 w w^T / ww maps e1 to x0; its other k columns span x0's
    # complement: H[:, 1:] = I[:, 1:] - (2 / ww) w w[1:]^T. Scalar Python: k ≤ rank
    # entries a side, where numpy's per-call overhead would dominate.
    wl, sg = w.tolist(), signs[m:].tolist()
    f = 2.0 / ww if ww > 0.0 else 0.0
    b = [v * f for v in wl[1:]]
    # Row norms² = sigma_j k / s1.
    M[m:, m:] = [[s * ((1.0 if i == j + 1 else 0.0) - wi * bj) for j, bj in enumerate(b)]
                 for i, (wi, s) in enumerate(zip(wl, sg, strict=True))]
    sigma_r = sigma[:r].copy()
    sigma_r[m:] = s1 / k
    return M, sigma_r


def _canonical_ties(u: np.ndarray, s: np.ndarray, vt: np.ndarray, ref: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The core's SVD with canonical signs, and a canonical basis in every group of tied
    singular values, so that the unbiased reduction's realisation is a continuous
    function of its input (an ulp in, an ulp-sized change out; tested).

    Within a group G of equal values σ the singular vectors are not defined: any
    ``U_G Q, V_G Q`` with Q orthogonal is an SVD too, and LAPACK picks one that the last
    bit of the input decides. The unbiased reduction then mixes *those* vectors with
    random signs, so an ulp (another BLAS kernel, another summation order) becomes a
    different trajectory. Here Q is the orthogonal polar factor of ``U_Gᵀ·ref_G`` (``ref``
    a fixed generic q×q matrix): ``U_G Q`` is the basis of span(U_G) nearest ``ref_G``,
    a function of the subspace alone, so it moves by ulps when the input does. Rotating
    V_G by the same Q and setting the group's values to their mean (they differ by less
    than TIE_TOL·σ₁) leaves ``U diag(s) Vᵀ`` unchanged to that tolerance, and the
    reduction's expectation with it.
    """
    if s[0] <= 0.0:
        return u, s, vt
    # Each pair (u_i, v_i) is defined up to a common sign, which LAPACK also leaves to
    # the last bits; the reduction's random signs act on rows of the mixing matrix, so a
    # flipped pair is another realisation. Convention: u_iᵀ·ref_i > 0.
    for i, d in enumerate((u * ref).sum(axis=0).tolist()):
        if d < 0.0:
            u[:, i] *= -1.0
            vt[i] *= -1.0
    # Scalar Python: q is rank + 1, a handful of values.
    sl = s.tolist()
    tol = TIE_TOL * sl[0]
    tied = [a - b <= tol for a, b in itertools.pairwise(sl)]
    if not any(tied):
        return u, s, vt
    i, q = 0, len(sl)
    while i < q - 1:
        if not tied[i]:
            i += 1
            continue
        j = i
        while j < q - 1 and tied[j]:
            j += 1
        g = slice(i, j + 1)
        w, _, zt = _svd(u[:, g].T @ ref[:, g])
        rot = w @ zt
        u[:, g] = u[:, g] @ rot
        vt[g, :] = rot.T @ vt[g, :]
        s[g] = sum(sl[i:j + 1]) / (j + 1 - i)
        i = j + 1
    return u, s, vt


class LowRankAccumulator:
    """Streaming rank-``rank`` approximation of ``sum_i dy_i x_i^T``.

    Parameters
    ----------
    n_out, n_in : layer size (dy has n_out entries, x has n_in).
    rank : r, 1 ≤ r ≤ min(n_out, n_in).
    mode : ``"biased"`` or ``"unbiased"`` (needs ``rng`` for the random signs).
    rng : ``numpy.random.Generator``, or :class:`SignDraws` on a stream of its own; the only
        source of randomness.
    kappa_th : κ-skip threshold (seed default 100; ``np.inf`` disables).
    """

    def __init__(self, n_out: int, n_in: int, rank: int, mode: str = "biased",
                 rng: np.random.Generator | SignDraws | None = None,
                 kappa_th: float = 100.0):
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
        kappa_th = real_scalar(kappa_th, "kappa_th", lo=0.0, lo_open=True,
                               allow_inf=True)  # np.inf disables the skip
        self.n_out, self.n_in, self.rank = int(n_out), int(n_in), int(rank)
        self.mode, self.rng, self.kappa_th = mode, rng, kappa_th
        # The fixed generic reference of _canonical_ties (its own seed: drawing it from
        # rng would move the signs).
        self._tie_ref = np.random.default_rng(0x7E5).standard_normal((rank + 1, rank + 1))
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
        return bool(self._update_rows(dy[None, :], x[None, :])[0])

    def update_batch(self, dY, X) -> np.ndarray:
        """Fold k samples in order (rows of ``dY`` (k × n_out) and ``X`` (k × n_in)).

        The same as k calls of :meth:`update` (up to rounding: rows are projected
        together); returns the absorbed flags.
        """
        dY = real_array(dY, "dY")
        X = real_array(X, "X")
        if dY.ndim != 2 or dY.shape[1] != self.n_out:
            raise ValueError(f"dY must have shape (k, {self.n_out}), got {dY.shape}")
        if X.ndim != 2 or X.shape[1] != self.n_in:
            raise ValueError(f"X must have shape (k, {self.n_in}), got {X.shape}")
        if dY.shape[0] != X.shape[0]:
            raise ValueError(f"dY and X must have the same number of rows, got "
                             f"{dY.shape[0]} and {X.shape[0]}")
        return self._update_rows(dY, X)

    def _update_rows(self, dY: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Sequential semantics, batched arithmetic: the bases change only when a term is
        absorbed, so the rows up to the next absorbed one can be projected in one matrix
        product (a convolution's pixel terms are mostly κ-skipped or zero; `nox -s bench`,
        conv rows). The window adapts: it doubles while nothing is
        absorbed and shrinks to the last gap when something is, down to one row, which
        takes the vector path; so a stream where most rows are absorbed costs what
        row-by-row updates cost."""
        k = dY.shape[0]
        flags = np.zeros(k, bool)
        i, w = 0, min(k, 8)
        while i < k:
            if w == 1:
                code = self._update_one(dY[i], X[i])
                flags[i] = code > 0
                i, w = i + 1, 1 if code == 2 else 2
                continue
            end = min(k, i + w)
            j = self._pass(dY[i:end], X[i:end], flags[i:end])
            if j < 0:
                i, w = end, min(2 * w, _WINDOW)
            else:
                i, w = i + j + 1, j + 1
        self.samples_seen += k
        self.samples_absorbed += int(np.count_nonzero(flags))
        return flags

    def _update_one(self, dy: np.ndarray, x: np.ndarray) -> int:
        """One term: 0 κ-skipped, 1 absorbed without change (a zero term), 2 absorbed."""
        r = self.rank
        cl, rl, nl = gram_schmidt(self._Lt[:r], dy)
        cr, rr, nr = gram_schmidt(self._Rt[:r], x)
        if self._s[0] > self.kappa_th * nl * nr:
            return 0
        if not (nl or cl.any()) or not (nr or cr.any()):
            return 1
        self._rotate(cl, rl, nl, cr, rr, nr)
        return 2

    def _pass(self, dY: np.ndarray, X: np.ndarray, flags: np.ndarray) -> int:
        """Project rows against the current bases, mark the absorbed ones in ``flags``
        up to the first that changes the factorisation, absorb that one; return its
        index, or -1 if no row changed anything (all κ-skipped or zero)."""
        r = self.rank
        cl, rl, nl = gram_schmidt_rows(self._Lt[:r], dY)
        cr, rr, nr = gram_schmidt_rows(self._Rt[:r], X)
        s0 = self._s[0]
        if s0 > 0.0 and self.kappa_th < math.inf:
            take = s0 <= self.kappa_th * nl * nr
        else:  # nothing to compare against, or the skip is off: absorb every row
            take = np.ones(len(nl), bool)
        # A zero outer product is "absorbed" but changes nothing, so the projections of
        # the rows after it still hold.
        real = take & ((nl > 0.0) | cl.any(axis=1)) & ((nr > 0.0) | cr.any(axis=1))
        if not real.any():
            flags[:] = take
            return -1
        j = int(real.argmax())
        flags[:j + 1] = take[:j + 1]
        self._rotate(cl[j], rl[j], nl[j], cr[j], rr[j], nr[j])
        return j

    def _rotate(self, cl, rl, nl, cr, rr, nr) -> None:
        """Absorb one term given its projections: (r+1)-square core SVD, rank reduction,
        rotation of both bases."""
        r = self.rank
        Lt, Rt = self._Lt, self._Rt
        core = np.multiply.outer(np.concatenate((cl, (nl,))), np.concatenate((cr, (nr,))))
        # Adding the whole diag(sigma) block, zeros included, is part of the numbers: it
        # turns -0.0 off-diagonal entries into +0.0, which the SVD sees (adding sigma on
        # the diagonal alone moved unbiased LRT results in the last bits).
        core[:r, :r] += np.diag(self._s)
        uc, sc, vct = _svd(core)
        signs = None
        if self.mode == "unbiased":
            # Only the unbiased reduction makes ties (its equal tail values); biased
            # LRT's cores have distinct values and keep LAPACK's vectors.
            uc, sc, vct = _canonical_ties(uc, sc, vct, self._tie_ref)
            signs = signs_from(self.rng, r + 1)
        mix, self._s = reduce_rank(sc, self.mode, signs)
        # A zero residual leaves a zero row: its direction carries no weight anyway.
        Lt[r] = rl * (1.0 / nl) if nl > 0.0 else 0.0
        Rt[r] = rr * (1.0 / nr) if nr > 0.0 else 0.0
        Lt[:r] = (uc @ mix).T @ Lt
        Rt[:r] = (vct.T @ mix).T @ Rt

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
        self._s *= real_scalar(factor, "factor", lo=0.0, hi=1.0)
