"""The update rules' common part: counters, max-norm, the base class and the checks.

Weight-update rules for a layer whose weights live in an NVM :class:`Crossbar`.

Every rule consumes one sample's gradient factors ``(dy, x)`` (the layer gradient is
``dy x^T``, n_out × n_in) through :meth:`UpdateRule.step` and keeps the same
counters in :class:`RuleStats`: NVM writes (from the crossbar's write reports),
auxiliary-memory words, SRAM word traffic and multiply-accumulates. A sample may be
several outer-product terms (a convolution: one term per output pixel, rows of 2-D
``dy``/``x``); batch sizes count samples, not terms.

Besides the physical count (the crossbar's ``write_counts``: level changes), each rule
keeps the seed's count in ``pixel_writes`` (``count_version 2`` of its code): SGD and
mixed precision add, per cell and sample, the number of terms whose activation and
gradient are both non-zero; the batched rules add one per non-zero cell of each
written update.

Weight changes are applied as whole level steps: ``Δk = round(-update / lsb)``
(round half to even) is added to each cell's stored level and the crossbar writes
only cells whose level changes. A sub-LSB update therefore rounds away unless the
rule accumulates it (mini-batch, mixed precision, LRT) — which is the point — or
rounds stochastically (``stochastic_round``: SGD, mini-batch, LRT), which keeps it in
expectation and writes a cell with probability |update| / lsb.

Learning-rate scaling for batched rules (``B_eff`` = samples since the last write):

* no max-norm: ``ΔW = lr · G_sum / sqrt(B_eff)``
* max-norm:    ``ΔW = lr · sqrt(B_eff) · maxnorm(G_sum)``

Both are the seed's square-root rule: the learning rate on the *mean* gradient grows
as ``sqrt(B_eff)``; with ``B = 1`` they reduce to per-sample SGD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..arrays import draw_per_job, fast_clip
from ..checks import real_array, real_scalar
from ..nvm import Crossbar, WriteReport
from ..signs import SignDraws


class MaxNorm:
    """Divide a tensor by max(current max|x| + eps, bias-corrected EMA of that max).

    The seed's stand-in for Adam (docs/seed.md §3): one scalar of state per tensor and
    job. The tensor has a leading job axis (J jobs in lockstep, see
    :class:`UpdateRule`); each job keeps its own scalar (the step count is shared).
    ``active`` (one flag per job) marks the jobs that use max-norm; the others pass
    through unchanged (divided by 1.0, which is exact).
    """

    def __init__(self, beta: float = 0.999, eps: float = 1e-4, jobs: int = 1, active=None):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1), got {beta}")
        if active is not None and len(active) != jobs:
            raise ValueError(f"active needs one flag per job ({jobs}), got {active!r}")
        self.beta, self.eps = beta, eps
        self.step = 0
        self.jobs = jobs
        self.active = None if active is None else np.array(active, bool)
        self.ema = np.full(jobs, eps)

    @classmethod
    def stack(cls, norms: list[MaxNorm]) -> MaxNorm:
        """One tracker of the jobs of ``norms`` (trackers at the same step, every job
        active), in order."""
        first = norms[0]
        if any(n.step != first.step or n.active is not None for n in norms):
            raise ValueError("stacked MaxNorm trackers must be at the same step, every job "
                             "active")
        out = cls(first.beta, first.eps, sum(n.jobs for n in norms))
        out.step = first.step
        out.ema = np.concatenate([n.ema for n in norms])
        return out

    def scale(self, current_max: np.ndarray) -> np.ndarray:
        """Advance the tracker with ``current_max`` = max|x| (one per job); return the
        divisors."""
        self.step += 1
        cur = current_max + self.eps
        self.ema = self.beta * self.ema + (1.0 - self.beta) * cur
        corrected = self.ema / (1.0 - self.beta ** self.step)
        return np.maximum(cur, corrected)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        job_max = np.abs(x).reshape(self.jobs, -1).max(axis=1, initial=0.0)
        scale = self.scale(job_max)
        if self.active is not None:
            scale = np.where(self.active, scale, 1.0)
        return x / scale.reshape((self.jobs,) + (1,) * (x.ndim - 1))


@dataclass
class RuleStats:
    """Counters of one rule, one entry per job (arrays of length J). MACs and SRAM
    traffic in words; NVM as write reports."""

    samples: np.ndarray
    commits: np.ndarray       # write operations on the crossbar
    gated: np.ndarray         # commit attempts refused by the ρ_min gate
    absorbed: np.ndarray      # LRT samples folded in (not κ-skipped)
    macs: np.ndarray
    aux_reads: np.ndarray
    aux_writes: np.ndarray
    nvm: WriteReport

    @classmethod
    def zeros(cls, jobs: int) -> RuleStats:
        ints = {k: np.zeros(jobs, np.int64) for k in
                ("samples", "commits", "gated", "absorbed", "macs", "aux_reads", "aux_writes")}
        return cls(**ints, nvm=WriteReport.zeros(jobs))

    def job(self, i: int) -> RuleStats:
        """Job ``i``'s counters (a one-job RuleStats of copies)."""
        def pick(v):
            return v[i:i + 1].copy()
        nvm = WriteReport(**{k: pick(v) for k, v in self.nvm.__dict__.items()})
        return RuleStats(**{k: pick(v) for k, v in self.__dict__.items() if k != "nvm"},
                         nvm=nvm)

    def as_dict(self, i: int = 0) -> dict:
        """Job ``i``'s counters as plain numbers; the NVM fields prefixed ``nvm_``."""
        d = {k: v[i].item() for k, v in self.__dict__.items() if k != "nvm"}
        d.update({f"nvm_{k}": v for k, v in self.nvm.job(i).items()})
        return d


def energy_pj(stats: RuleStats, tech) -> dict[str, float]:
    """Energy of a rule's counters in pJ: {mac, sram, nvm}.

    ``tech`` is the accelerator's :class:`pysim.hw.params.EnergyParams` (pJ per
    multiply-accumulate of its MAC lanes, per SRAM word read / written); the NVM part is
    the crossbar's own write energy. One array entry per job of ``stats``. The one
    place this sum is made: :meth:`pysim.experiments.job.Job.result` and
    :mod:`pysim.experiments.crossover` both call it, so the results page and the crossover
    study cannot price counts apart.
    """
    return {"mac": stats.macs * tech.lane_mac_pj,
            "sram": (stats.aux_reads * tech.sram_read_pj
                     + stats.aux_writes * tech.sram_write_pj),
            "nvm": stats.nvm.energy_pj}


class UpdateRule:
    """Base class: holds the crossbar, the learning rate and the counters.

    The rule runs the J jobs of its crossbar (:class:`Crossbar`, J ≥ 1) in lockstep:
    ``lr`` and ``rng`` are one per job (or one value for all, but never one generator for
    several jobs), the gradient terms carry a leading job axis (J × terms × n), every
    array of state too, random draws come from each job's generator, and ``stats``
    holds one entry per job (:meth:`RuleStats.job`). The options ``max_norm`` and
    ``stochastic_round`` (and LRT's ``mode``) may be one per job too. Each job computes
    what it would alone on its own crossbar, lr, rng and options, bit for bit (tested):
    one call per sample for J jobs is what makes the suite's many small jobs cheaper.
    """

    name = "rule"

    def __init__(self, crossbar: Crossbar, lr, stochastic_round=False, rng=None):
        self.jobs = crossbar.jobs
        lrs = [real_scalar(v, "lr", lo=0.0, lo_open=True) for v in per_job(lr, self.jobs, "lr")]
        rngs = per_job(rng, self.jobs, "rng")
        srs = [bool(v) for v in per_job(stochastic_round, self.jobs, "stochastic_round")]
        if any(sr and r is None for sr, r in zip(srs, rngs, strict=True)):
            raise ValueError("stochastic_round draws random numbers: pass rng=")
        self.stochastic_round = any(srs)
        # Jobs that round stochastically beside jobs that round to nearest.
        self._sr_jobs = np.array(srs) if any(srs) and not all(srs) else None
        self.xbar = crossbar
        self.rng = rngs  # one generator (or None) per job
        self.n_out, self.n_in = crossbar.shape
        self.lr = np.array(lrs, float).reshape(-1, 1, 1)
        self.stats = RuleStats.zeros(self.jobs)
        self._pixel = np.zeros(crossbar.cell_shape, np.int64)
        self._pairs: list[tuple[np.ndarray, np.ndarray]] = []  # not yet in _pixel
        self._pair_rows = 0

    # Per-sample rules note each term's non-zero masks and count them in one product
    # when the counts are read (or every ``_FLUSH_ROWS`` terms): an outer product per
    # sample and layer was a twentieth of an SGD step.
    _FLUSH_ROWS = 4096

    @property
    def pixel_writes(self) -> np.ndarray:
        """The seed's per-pixel write count per cell (see module docstring)."""
        self._fold_pairs()
        return self._pixel

    @pixel_writes.setter
    def pixel_writes(self, value: np.ndarray) -> None:
        # ``pixel_writes += x`` reads through the getter, which folded the pending terms;
        # any other assignment replaces the counts, pending terms included.
        self._pairs, self._pair_rows = [], 0
        self._pixel = value

    def _fold_pairs(self) -> None:
        if self._pairs:
            dm = np.concatenate([d for d, _ in self._pairs], axis=-2).astype(np.float32)
            xm = np.concatenate([x for _, x in self._pairs], axis=-2).astype(np.float32)
            self._pairs, self._pair_rows = [], 0
            # float32 sums of 0/1 products are exact below 2**24 terms per fold.
            self._pixel += np.matmul(dm.swapaxes(-1, -2), xm).astype(np.int64)

    @property
    def aux_words(self) -> int:
        """Words of auxiliary (non-NVM) memory the rule keeps between samples."""
        return 0

    def step(self, dy, x) -> WriteReport:
        """Consume one sample's gradient ``sum_p dy_p x_p^T``; return the NVM write it caused.

        ``dy``, ``x``: J × terms × n (one term per row, per job); the write report holds
        one entry per job.
        """
        dY, X = check_terms(dy, x, self.n_out, self.n_in, self.jobs)
        self.stats.samples += 1
        report = self._step(dY, X)
        self.stats.nvm += report
        return report

    def _step(self, dY: np.ndarray, X: np.ndarray) -> WriteReport:
        raise NotImplementedError

    def _count_pixel_pairs(self, dY: np.ndarray, X: np.ndarray) -> None:
        self._pairs.append((dY != 0, X != 0))
        self._pair_rows += dY.shape[-2]
        if self._pair_rows >= self._FLUSH_ROWS:
            self._fold_pairs()

    def _level_steps(self, delta_w: np.ndarray) -> np.ndarray:
        """Whole level steps that move the weights by ``-delta_w``.

        Round half to even, or with ``stochastic_round`` up with probability equal to the
        fractional part, so that ``E[steps] = -delta_w / lsb`` and a sub-LSB update is
        not lost on average (Gupta et al. 2015) — at the price of writing more often.
        """
        # Dividing by -lsb rounds as negating and dividing by lsb (IEEE rounding is
        # symmetric): one pass fewer over the array, the same numbers.
        x = self._bounded(delta_w / -self.xbar.lsb, "ΔW")
        if not self.stochastic_round:
            return np.rint(x, out=x).astype(np.int64)
        if self._sr_jobs is None:
            u = draw_per_job(self.rng, lambda r: r.random(x.shape[-2:]))
            return np.floor(x + u).astype(np.int64)
        # Only the stochastic jobs draw (from their own generators, as they would alone).
        u = np.stack([r.random(x.shape[-2:]) if sr else np.zeros(x.shape[-2:])
                      for r, sr in zip(self.rng, self._sr_jobs.tolist(), strict=True)])
        return np.where(self._sr_jobs[:, None, None], np.floor(x + u),
                        np.rint(x)).astype(np.int64)

    def _bounded(self, steps: np.ndarray, what: str) -> np.ndarray:
        """``steps`` (float, in levels) if finite, clipped to ±2**(bits+1): a step past the
        level range changes nothing (the write clips it), but a huge one would wrap
        around in int64. An inf or NaN (the learning rate times the gradient overflowed)
        is refused before anything is written."""
        bound = float(2 << self.xbar.device.bits)
        top = float(np.abs(steps).max(initial=0.0))
        if not top <= bound:
            if not math.isfinite(top):
                raise FloatingPointError(
                    f"{what} of the {self.name} rule is not finite (the learning rate times "
                    "the gradient overflowed float64); nothing was written: lower the "
                    "learning rate or scale the gradient")
            steps = np.clip(steps, -bound, bound)
        return steps

    def _apply(self, steps: np.ndarray) -> WriteReport:
        """Add integer level ``steps`` to the stored levels (clipped) and write the changes."""
        # nonzero of a bool mask: a quarter of the time numpy takes on int64 steps.
        cells = (steps.reshape(-1) != 0).nonzero()[0]
        if cells.size == 0:
            return self._no_write()
        xb = self.xbar
        self.stats.commits += xb.job_counts(cells) > 0
        # Only the cells with a step can change (SGD steps a few hundred of thousands).
        now = xb.codes().reshape(-1)[cells]
        new = fast_clip(now + steps.reshape(-1)[cells], xb.k_min, xb.k_max)
        moved = new != now  # a step past the end of the range changes nothing
        return xb.write_cells(cells[moved], new[moved])

    def _no_write(self) -> WriteReport:
        """What :meth:`step` returns for a sample that writes nothing."""
        return self.xbar.empty_report()

    def _max_norm(self, max_norm) -> MaxNorm | None:
        """The tracker of ``max_norm`` (one flag per job, or one for all), None if no job
        uses it."""
        on = [bool(v) for v in per_job(max_norm, self.jobs, "max_norm")]
        if not any(on):
            return None
        return MaxNorm(jobs=self.jobs, active=None if all(on) else on)

    def _apply_batched(self, steps: np.ndarray) -> WriteReport:
        """:meth:`_apply` for the batched rules, which count one write per non-zero cell."""
        self.pixel_writes += steps != 0
        return self._apply(steps)



def check_terms(dy, x, n_out: int, n_in: int, jobs: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate one sample's terms of J jobs; return float arrays J × terms × n_out and
    J × terms × n_in."""
    dY = real_array(dy, "dy")
    X = real_array(x, "x")
    if dY.ndim != 3 or dY.shape[0] != jobs or dY.shape[2] != n_out:
        raise ValueError(f"dy must have shape ({jobs}, terms, {n_out}), got {dY.shape}")
    if X.ndim != 3 or X.shape[:2] != dY.shape[:2] or X.shape[2] != n_in:
        raise ValueError(f"x must have shape ({jobs}, {dY.shape[1]}, {n_in}), got {X.shape}")
    if dY.shape[1] == 0:
        raise ValueError("dy and x need at least one term")
    return dY, X


def outer_sum(dY: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``sum_p dy_p x_p^T`` of one sample's terms, per job (numpy's matmul loops over the
    job axis with the kernel of a single 2-D product: a job's sum does not depend on the
    jobs beside it; tested)."""
    return np.matmul(dY.transpose(0, 2, 1), X)


def check_count(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer ≥ 1, got {value!r}")


def batch_scaled(g_sum: np.ndarray, lr, b_eff: int, norm: MaxNorm | None) -> np.ndarray:
    if norm is None:
        return (lr / math.sqrt(b_eff)) * g_sum
    if norm.active is None:
        return (lr * math.sqrt(b_eff)) * norm(g_sum)
    # Jobs with and without max-norm: each job its own factor.
    factor = np.where(norm.active[:, None, None], lr * math.sqrt(b_eff), lr / math.sqrt(b_eff))
    return factor * norm(g_sum)


def per_job(value, jobs: int, name: str) -> list:
    """A rule option as one value per job: a list of J values, or one value (not a
    generator: each job draws from its own) for all of them."""
    if isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim):
        if len(value) != jobs:
            raise ValueError(f"{jobs} job(s) need one {name} per job, got {len(value)}")
        return list(value)
    if isinstance(value, (np.random.Generator, SignDraws)) and jobs > 1:
        raise ValueError(f"{jobs} jobs need one {name} per job, got a single generator")
    return [value] * jobs
