"""The LRT rule: a layer's rank-r streaming gradient sum
(:class:`pysim.lrt.LowRankAccumulator`), written to its crossbar every ``batch`` samples."""

from __future__ import annotations

import math

import numpy as np

from ..checks import real_scalar
from ..lrt import LowRankAccumulator
from ..nvm import Crossbar, WriteReport
from ..signs import SignDraws
from .base import MaxNorm, UpdateRule, check_count, per_job


class LRT(UpdateRule):
    """Low-rank training: a rank-r streaming gradient sum, written every ``batch`` samples.

    On each commit attempt ``ΔW`` (see module docstring, max-norm applied to
    ``L·sqrt(σ)`` and ``R·sqrt(σ)`` separately as the seed's ``norm_uv='post'``) is
    quantised to level steps (round to nearest, or stochastically with
    ``stochastic_round``, see :meth:`UpdateRule._level_steps`);
    cells whose step is smaller than ``write_threshold`` levels are left alone (a
    variant beyond the seed); the update is written only if at least ``rho_min`` of the cells
    would change, otherwise the sum keeps accumulating (scaled by ``discount``) and
    ``B_eff`` keeps growing.

    Error feedback (``error_feedback = k`` > 0, beyond the seed): what a write leaves out
    — each cell's fraction of a level, and the whole update of cells under
    ``write_threshold`` — is carried to the next commit as a rank-k matrix in level units
    (k·(n_out + n_in + 1) more words), added to that commit's update before it is
    rounded: a sigma-delta loop, so sub-level updates add up instead of being lost at
    every commit. The rank-k fit is :data:`EF_ITERS` steps of subspace iteration (a
    hardware-sized operation: 2·n_out·n_in·k MACs a step), warm-started from the last
    commit's right factor.
    """

    EF_ITERS = 2

    name = "lrt"

    def __init__(self, crossbar: Crossbar, lr: float, batch: int, rank: int = 4,
                 mode: str | list[str] = "biased", rng=None,
                 kappa_th: float = 100.0, rho_min: float = 0.01,
                 max_norm: bool | list[bool] = False, discount: float = 1.0,
                 stochastic_round: bool | list[bool] = False, write_threshold: int = 1,
                 error_feedback: int = 0):
        jobs = crossbar.jobs
        sources = per_job(rng, jobs, "rng")
        if any(sr and isinstance(src, SignDraws) for sr, src in
               zip(per_job(stochastic_round, jobs, "stochastic_round"), sources, strict=True)):
            raise ValueError("stochastic_round draws from rng besides the signs: pass the "
                             "Generator itself, not SignDraws")
        super().__init__(crossbar, lr, stochastic_round, rng)
        check_count(batch, "batch")
        check_count(write_threshold, "write_threshold")
        self.write_threshold = int(write_threshold)
        if isinstance(error_feedback, bool) or not isinstance(error_feedback, (int, np.integer)) \
                or not 0 <= error_feedback <= min(crossbar.shape):
            raise ValueError(f"error_feedback must be a rank 0..{min(crossbar.shape)}, got "
                             f"{error_feedback!r}")
        self.ef_rank = int(error_feedback)
        rho_min = real_scalar(rho_min, "rho_min", lo=0.0, hi=1.0)
        discount = real_scalar(discount, "discount", lo=0.0, hi=1.0)
        # One accumulator, pair of max-norm trackers and B_eff per job: the absorptions
        # and commit decisions of jobs diverge, so each job runs its own accumulator
        # (with its own mode and max-norm choice).
        self.accs = [LowRankAccumulator(self.n_out, self.n_in, rank, md, src, kappa_th)
                     for md, src in zip(per_job(mode, jobs, "mode"), sources, strict=True)]
        self.batch, self.rho_min, self.discount = int(batch), float(rho_min), float(discount)
        self.norms = [(MaxNorm(), MaxNorm()) if on else None
                      for on in per_job(max_norm, jobs, "max_norm")]
        # The carried residual of each job: (P, V), P·Vᵀ in levels; None before a write.
        self.ef: list[tuple[np.ndarray, np.ndarray] | None] = [None for _ in sources]
        self.b_effs = [0.0 for _ in sources]
        self.pending = 0

    @property
    def acc(self) -> LowRankAccumulator:
        """Job 0's accumulator (they all have the same shape)."""
        return self.accs[0]

    @property
    def b_eff(self) -> float:
        """Samples summed since the last write (job 0's)."""
        return self.b_effs[0]

    @property
    def aux_words(self) -> int:
        return self.acc.aux_words + self.ef_rank * (self.n_out + self.n_in + 1)

    def _step(self, dY, X):
        r, nm = self.acc.rank, self.n_out + self.n_in
        n = dY.shape[-2]
        n_abs = np.array([np.count_nonzero(acc._update_rows(dY[i], X[i]))
                          for i, acc in enumerate(self.accs)])
        # Gram-Schmidt reads both bases for every term; an absorbed term also rotates and
        # rewrites them, a skipped one costs its projections and residual norms only.
        self.stats.absorbed += n_abs
        self.stats.aux_reads += r * nm * (n + n_abs)
        self.stats.aux_writes += (r * nm + r) * n_abs
        self.stats.macs += (self.acc.macs_per_update() * n_abs
                            + (2 * r * nm + nm) * (n - n_abs))
        self.pending += 1
        if self.pending % self.batch:
            return self._no_write()
        return self._commit()

    def _delta_w(self, job: int = 0) -> np.ndarray:
        """The learning-rate-scaled update of this commit attempt (weight units) of
        ``job``.

        Advances the max-norm trackers, so call it once per attempt.
        """
        L, s, R = self.accs[job].factors()
        b_eff = self.b_effs[job] + self.batch
        lr = float(self.lr[job, 0, 0])
        norms = self.norms[job]
        if norms is None:
            return (lr / math.sqrt(b_eff)) * ((L * s) @ R.T)
        root = np.sqrt(s)
        Ln = norms[0](L * root)
        Rn = norms[1](R * root)
        return (lr * math.sqrt(b_eff)) * (Ln @ Rn.T)

    def _commit(self) -> WriteReport:
        jobs = range(self.jobs)
        deltas = [self._delta_w(i) for i in jobs]
        if self.ef_rank:
            lsb = self.xbar.lsb
            deltas = [d if ef is None else d - lsb * (ef[0] @ ef[1].T)
                      for d, ef in zip(deltas, self.ef, strict=True)]
            self._count_ef([ef is not None for ef in self.ef], passes=1, reads=True)
        steps = self._level_steps(np.stack(deltas))
        if self.write_threshold > 1:
            # Per-cell write threshold: a cell moves only if its update is at least that
            # many levels; the smaller parts are dropped with the accumulator (no residue).
            steps[np.abs(steps) < self.write_threshold] = 0
        self.stats.macs += self.n_out * self.n_in * self.acc.rank
        self.stats.aux_reads += self.acc.aux_words
        written = []
        for i in jobs:
            self.b_effs[i] += self.batch
            mine = steps[i]
            if np.count_nonzero(mine) < self.rho_min * mine.size or not np.any(mine):
                self.stats.gated[i] += 1
                mine[...] = 0  # this job keeps accumulating
                if self.discount < 1.0:
                    self.accs[i].decay(self.discount)
                    self.b_effs[i] *= self.discount
            else:
                written.append(i)
        if not written:
            return self._no_write()
        report = self._apply_batched(steps)
        for i in written:
            self.accs[i].reset()
            self.b_effs[i] = 0.0
            if self.ef_rank:
                self.ef[i] = self._residual_fit(deltas[i] / -self.xbar.lsb - steps[i], self.ef[i])
        if self.ef_rank:
            self._count_ef([i in written for i in jobs], passes=2 * self.EF_ITERS + 1,
                           writes=True)
        return report

    def _count_ef(self, jobs: list[bool], passes: int, reads: bool = False,
                  writes: bool = False) -> None:
        """Error feedback's work in the jobs marked True: ``passes`` n_out×n_in×k
        products, and a read or a write of its k·(n_out + n_in) factor words."""
        on = np.array(jobs, np.int64)
        words = self.ef_rank * (self.n_out + self.n_in)
        self.stats.macs += on * passes * self.n_out * self.n_in * self.ef_rank
        self.stats.aux_reads += on * words * reads
        self.stats.aux_writes += on * words * writes

    def _residual_fit(self, e: np.ndarray, last) -> tuple[np.ndarray, np.ndarray]:
        """Rank-``ef_rank`` fit (P, V) of the residual ``e`` (levels) by subspace
        iteration warm-started from the last fit's V; counts its MACs."""
        k = self.ef_rank
        if last is None:
            # A fixed start, the first k DCT-II basis vectors (orthogonal): no random
            # draws, so error feedback leaves the rule's random stream as it was.
            i = np.arange(self.n_in)[:, None] + 0.5
            v = np.cos(np.pi * i * np.arange(k) / self.n_in)
        else:
            v = last[1]
        for _ in range(self.EF_ITERS):
            u = np.linalg.qr(e @ v)[0]
            v = np.linalg.qr(e.T @ u)[0]
        p = e @ v
        return p, v
