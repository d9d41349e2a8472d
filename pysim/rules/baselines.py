"""The baselines: per-sample SGD, mini-batch SGD and mixed precision (rules of
:mod:`pysim.rules.base`)."""

from __future__ import annotations

import numpy as np

from ..nvm import Crossbar
from .base import UpdateRule, batch_scaled, check_count, outer_sum


class SGD(UpdateRule):
    """Per-sample SGD: every sample writes every cell whose level step is non-zero."""

    name = "sgd"

    def __init__(self, crossbar: Crossbar, lr: float, max_norm: bool | list[bool] = False,
                 stochastic_round: bool | list[bool] = False, rng=None):
        super().__init__(crossbar, lr, stochastic_round, rng)
        self.norm = self._max_norm(max_norm)

    def _step(self, dY, X):
        g = outer_sum(dY, X)
        self.stats.macs += self.n_out * self.n_in * dY.shape[-2]
        self._count_pixel_pairs(dY, X)
        if self.norm is not None:
            g = self.norm(g)
        return self._apply(self._level_steps(self.lr * g))


class MiniBatchSGD(UpdateRule):
    """Dense n_out × n_in accumulator, written to the crossbar every ``batch`` samples."""

    name = "minibatch"

    def __init__(self, crossbar: Crossbar, lr: float, batch: int,
                 max_norm: bool | list[bool] = False,
                 stochastic_round: bool | list[bool] = False, rng=None):
        super().__init__(crossbar, lr, stochastic_round, rng)
        check_count(batch, "batch")
        self.batch = int(batch)
        self.norm = self._max_norm(max_norm)
        self.acc = np.zeros(self.xbar.cell_shape)
        self.pending = 0

    @property
    def aux_words(self) -> int:
        return self.n_out * self.n_in

    def _step(self, dY, X):
        self.acc += outer_sum(dY, X)
        self.pending += 1
        n = self.n_out * self.n_in
        self.stats.macs += n * dY.shape[-2]
        self.stats.aux_reads += n
        self.stats.aux_writes += n
        if self.pending < self.batch:
            return self._no_write()
        delta = batch_scaled(self.acc, self.lr, self.pending, self.norm)
        self.stats.macs += n
        self.stats.aux_reads += n
        report = self._apply_batched(self._level_steps(delta))
        self.acc[:] = 0.0
        self.pending = 0
        return report


class MixedPrecision(UpdateRule):
    """Nandakumar et al. (2020): a high-precision χ per weight; write when |χ| ≥ 1 LSB.

    χ accumulates ``-lr · dy x^T``; each cell with |χ| ≥ lsb receives
    ``trunc(χ / lsb)`` level steps and χ keeps the remainder.
    """

    name = "mixed"

    def __init__(self, crossbar: Crossbar, lr: float, max_norm: bool | list[bool] = False):
        super().__init__(crossbar, lr)
        self.norm = self._max_norm(max_norm)
        self.chi = np.zeros(self.xbar.cell_shape)

    @property
    def aux_words(self) -> int:
        return self.n_out * self.n_in

    def _step(self, dY, X):
        g = outer_sum(dY, X)
        self._count_pixel_pairs(dY, X)
        if self.norm is not None:
            g = self.norm(g)
        chi = self.chi - self.lr * g
        # Checked before the accumulator takes it: an overflow leaves the state as it was.
        steps = np.trunc(self._bounded(chi / self.xbar.lsb, "the accumulated update"))
        self.chi = chi
        n = self.n_out * self.n_in
        self.stats.macs += n * dY.shape[-2]
        self.stats.aux_reads += n
        self.stats.aux_writes += n
        if not np.any(steps):
            return self._no_write()
        self.chi -= steps * self.xbar.lsb
        return self._apply(steps.astype(np.int64))
