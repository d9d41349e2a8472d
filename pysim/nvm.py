"""NVM crossbar model: quantised levels, write-on-change, per-cell wear, energy.

A *cell* here is the storage of one weight: ``2**bits`` levels. For binary
technologies (STT-MRAM, binary FeFET) a weight is ``bits`` one-bit cells, and the
``per_bit`` pulse rule counts the flipped bits of the level code as pulses.

Level codes are signed integers ``k`` in ``[-2**(bits-1), 2**(bits-1) - 1]``. The
stored weight is ``k * lsb`` (mid-tread, zero representable) or ``(k + 0.5) * lsb``
(mid-rise, the seed's choice for 1–2-bit weights), with ``lsb = w_max / 2**(bits-1)``.

Each cell holds an analog value ``g`` (weight units). Programming a level sets
``g`` exactly on the level (plus optional write noise); drift moves it off. The
stored level of a cell is ``round(g)`` in level units, which is what a read-compare
controller sees, so write-on-change compares the target level with that.

Write-verify (``write_verify`` > 0): after programming, cells whose read-back level
misses the target are re-programmed, up to that many times; the extra pulses and
energy are counted, the write count stays one per level change.

Wear: a cell whose write count has reached ``endurance`` is stuck: further writes
leave its level unchanged, are not counted as writes, and are reported as
``blocked``. Stuck-at faults (``stuck_fraction``) pin cells at the lowest or highest
level from fabrication on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .arrays import fast_clip, popcount, read_only
from .checks import real_array
from .device import DeviceConfig
from .drift import drift


@dataclass
class WriteReport:
    """What one write operation did, one entry per job of the crossbar (arrays of length
    J). Energy in pJ, latency in ns (pulses in series)."""

    cells_written: np.ndarray
    pulses: np.ndarray
    energy_pj: np.ndarray
    blocked: np.ndarray  # writes refused by worn-out or stuck-at cells
    latency_ns: np.ndarray

    @classmethod
    def zeros(cls, jobs: int) -> WriteReport:
        """The report of J jobs that wrote nothing."""
        ints = [np.zeros(jobs, np.int64) for _ in range(3)]
        return cls(ints[0], ints[1], np.zeros(jobs), ints[2], np.zeros(jobs))

    def __iadd__(self, other: WriteReport) -> WriteReport:
        self.cells_written += other.cells_written
        self.pulses += other.pulses
        self.energy_pj += other.energy_pj
        self.blocked += other.blocked
        self.latency_ns += other.latency_ns
        return self

    def job(self, i: int) -> dict:
        """Job ``i``'s figures as plain numbers."""
        return {k: v[i].item() for k, v in self.__dict__.items()}


class Crossbar:
    """The NVM cells holding one layer's weight matrix, for J ≥ 1 jobs at once.

    Every per-cell array (``g``, ``write_counts``, ``stuck``, :meth:`codes`,
    :meth:`read`) has a leading *job axis*: shape ``(J, n_out, n_in)``. A crossbar
    built directly (or with :meth:`from_preset`) is one job, J = 1; :meth:`stack` joins
    the crossbars of J jobs of one layer so that they run in lockstep as one object, and
    every write report holds one entry per job. Each job draws from its own generators
    what it would alone, in the same order, so its numbers do not depend on the jobs
    beside it (tested).

    ``w_max`` overrides the device's weight range (a layer's scale factor). ``rng``
    seeds write noise and stuck-at faults, and drift unless ``drift_rng`` is given: a
    stream of its own draws the same drift whatever the writes drew (experiments
    compare methods under identical drift). Flat cell indices run over all jobs
    (job-major).
    """

    def __init__(self, device: DeviceConfig, shape: tuple[int, int],
                 rng: np.random.Generator | None = None, w_max: float | None = None,
                 drift_rng: np.random.Generator | None = None):
        shape = tuple(int(s) for s in np.atleast_1d(shape))
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"shape must be two positive sizes (n_out, n_in), got {shape}")
        self.device, self.shape = device, shape
        self.w_max = device.w_max if w_max is None else w_max
        if not (self.w_max > 0 and math.isfinite(self.w_max)):
            raise ValueError(f"w_max must be positive and finite, got {self.w_max}")
        drifts = device.drift_sigma_per_1m > 0 or device.flip_rate_per_1m > 0
        if rng is None and (device.write_noise_lsb > 0 or device.stuck_fraction > 0
                            or (drifts and drift_rng is None)):
            raise ValueError(f"device '{device.name}' is stochastic (noise, drift or "
                             "stuck-at faults): pass rng=np.random.default_rng(seed)")
        self.rngs = [rng]
        self.drift_rngs = [rng if drift_rng is None else drift_rng]
        cells = (1, *shape)
        self.g = np.full(cells, self.level_value(np.zeros(cells, np.int64)))
        self.write_counts = np.zeros(cells, np.int64)
        self.stuck = np.zeros(cells, bool)
        if device.stuck_fraction > 0:
            self.stuck = rng.random(shape)[None] < device.stuck_fraction
            high = rng.random(shape)[None] < 0.5
            pinned = np.where(high, self.k_max, self.k_min)
            self.g = np.where(self.stuck, self.level_value(pinned), self.g)
        # codes() and read() of the current g, read-only, cleared by what changes g (a layer
        # reads its weights several times per sample; the cells change rarely).
        self._views: dict = {}
        self._set_job_starts()

    @classmethod
    def stack(cls, xbars: list[Crossbar]) -> Crossbar:
        """One crossbar holding the jobs of ``xbars`` (crossbars of one device, shape and
        range) in order: copies of their cells, their generators by reference."""
        first = xbars[0]
        if any(xb.device != first.device or xb.shape != first.shape
               or xb.w_max != first.w_max for xb in xbars):
            raise ValueError("stacked crossbars must share their device, shape and range")
        out = cls.__new__(cls)
        out.device, out.shape, out.w_max = first.device, first.shape, first.w_max
        out.rngs = [r for xb in xbars for r in xb.rngs]
        out.drift_rngs = [r for xb in xbars for r in xb.drift_rngs]
        for name in ("g", "write_counts", "stuck"):
            setattr(out, name, np.concatenate([getattr(xb, name) for xb in xbars]))
        out._views = {}
        out._set_job_starts()
        return out

    def _set_job_starts(self) -> None:
        # Where each job's flat cell indices start, and the end: every write splits by them.
        self._job_starts = np.arange(self.jobs + 1) * (self.shape[0] * self.shape[1])

    @property
    def jobs(self) -> int:
        """J, the number of jobs (the length of the job axis)."""
        return len(self.rngs)

    @property
    def cell_shape(self) -> tuple[int, int, int]:
        """Shape of the per-cell arrays: ``(J, n_out, n_in)``."""
        return (self.jobs, *self.shape)

    @classmethod
    def from_preset(cls, name_or_path: str | Path, shape: tuple[int, int],
                    rng: np.random.Generator | None = None,
                    w_max: float | None = None) -> Crossbar:
        return cls(DeviceConfig.load(name_or_path), shape, rng, w_max)

    # --- quantisation -------------------------------------------------------------
    @property
    def k_min(self) -> int:
        return -(1 << (self.device.bits - 1))

    @property
    def k_max(self) -> int:
        return (1 << (self.device.bits - 1)) - 1

    @property
    def lsb(self) -> float:
        """Weight change of one level step (weight units)."""
        return self.w_max / (1 << (self.device.bits - 1))

    @property
    def _offset(self) -> float:
        return 0.5 if self.device.mid_rise else 0.0

    def level_value(self, codes: np.ndarray) -> np.ndarray:
        """The stored weight of level codes ``codes`` (weight units, on the level)."""
        return (codes + self._offset) * self.lsb

    def quantize(self, w: np.ndarray) -> np.ndarray:
        """Level codes nearest to weights ``w`` (round half to even, clipped)."""
        w = np.asarray(w, dtype=float)
        if not np.all(np.isfinite(w)):
            raise ValueError("weights contain NaN or inf")
        return self._nearest_codes(w)

    def _nearest_codes(self, values: np.ndarray) -> np.ndarray:
        codes = np.rint(values / self.lsb - self._offset)
        return fast_clip(codes, self.k_min, self.k_max).astype(np.int64)

    # --- access -------------------------------------------------------------------
    def codes(self) -> np.ndarray:
        """Stored level of every cell as a read-compare controller sees it (read-only)."""
        if "codes" not in self._views:
            self._views["codes"] = read_only(self._nearest_codes(self.g))
        return self._views["codes"]

    def read(self) -> np.ndarray:
        """Analog weights as the MAC array sees them (clipped to the weight range; read-only)."""
        if "read" not in self._views:
            self._views["read"] = read_only(self._readout(self.g))
        return self._views["read"]

    def _readout(self, g: np.ndarray) -> np.ndarray:
        """What the MAC array sees of conductances ``g``: clipped to the weight range."""
        return fast_clip(g, -self.w_max, self.w_max)

    def read_energy_pj(self, n_cell_reads: int) -> float:
        return n_cell_reads * self.device.read_energy_pj

    def program(self, w: np.ndarray) -> WriteReport:
        """Deploy weights ``w`` (float, weight units): same write-on-change as :meth:`write`.

        Deployment wears cells like any other write; callers that want adaptation-only
        counts subtract the counters saved after this call.
        """
        return self.write(w)

    def write(self, w_target: np.ndarray) -> WriteReport:
        """Quantise ``w_target`` and write only the cells whose level changes.

        ``w_target``: weights of shape ``(J, n_out, n_in)``, or ``(n_out, n_in)`` for the
        same weights in every job."""
        w_target = self._per_cell(real_array(w_target, "w_target"), "w_target")
        return self.write_codes(self.quantize(w_target))

    def write_codes(self, target: np.ndarray) -> WriteReport:
        """Write integer level codes (shaped as :meth:`write`'s weights); cells already at
        their target are not touched."""
        target = self._per_cell(np.asarray(target), "target codes")
        if not np.issubdtype(target.dtype, np.integer):
            raise ValueError(f"target codes must be integers, got dtype {target.dtype}")
        if target.size and (target.min() < self.k_min or target.max() > self.k_max):
            raise ValueError(f"target codes outside [{self.k_min}, {self.k_max}] for "
                             f"{self.device.bits}-bit cells")
        return self._write_codes(target)

    def _per_cell(self, a: np.ndarray, what: str) -> np.ndarray:
        """``a`` as a per-cell array: ``(J, n_out, n_in)`` as it is, ``(n_out, n_in)``
        repeated for every job."""
        if a.shape == self.shape:
            return np.broadcast_to(a, self.cell_shape)
        if a.shape != self.cell_shape:
            raise ValueError(f"{what} have shape {a.shape}, crossbar is {self.cell_shape} "
                             f"(or {self.shape} for every job)")
        return a

    def _write_codes(self, target: np.ndarray) -> WriteReport:
        """:meth:`write_codes` for callers that built ``target`` in range themselves (the
        update rules, once per sample)."""
        # Work on the changed cells only (flat indices, C order): a sample changes a few
        # cells of thousands, and per-sample cost is what bounds the experiments.
        cells = np.flatnonzero(target != self.codes())
        return self.write_cells(cells, target.reshape(-1)[cells].astype(np.int64))

    def write_cells(self, cells: np.ndarray, new: np.ndarray) -> WriteReport:
        """Program cells ``cells`` (ascending flat indices of cells whose level changes;
        over all jobs) to levels ``new`` (int64, in range).

        The update rules' write path: they know the changed cells without comparing every
        cell, which is what bounds the experiments' speed. Not checked: a cell listed
        twice, a level out of range or an unchanged cell breaks the counts;
        :meth:`write_codes` checks its input and finds the changed cells itself."""
        if cells.size == 0:
            return self.empty_report()
        g, counts = self._flat("g"), self._flat("write_counts")
        frozen = self.stuck.reshape(-1)[cells] | (counts[cells] >= self.device.endurance)
        blocked = 0
        if frozen.any():
            blocked = np.bincount(self._job_of(cells[frozen]), minlength=self.jobs)
            keep = ~frozen
            cells, new = cells[keep], new[keep]
        if cells.size == 0:
            return self.empty_report(blocked=blocked)
        old = self.codes().reshape(-1)[cells]
        g[cells] = self._programmed(new, cells)
        counts[cells] += 1
        pulses, pulsed, programs = self._verify(g, cells, new, self._pulses(old, new))
        # Without write noise a programmed cell holds its level exactly, so the new codes
        # are the targets (what the read-back would give: tested for every preset).
        self._patch_views(cells, None if self.device.write_noise_lsb > 0 else new)
        return self._report(cells, pulses, pulsed, programs, blocked)

    def _verify(self, g: np.ndarray, cells: np.ndarray, new: np.ndarray, pulses: np.ndarray):
        """Write-verify: read back, re-program the cells that missed their level; each
        attempt costs its pulses (from the level read back to the target) and energy.
        Returns every pulse count, the cell of each, and the cells of each attempt."""
        pulsed, programs = cells, [cells]
        todo, want = cells, new
        for _ in range(self.device.write_verify):
            got = self._nearest_codes(g[todo])
            miss = got != want
            if not miss.any():
                break
            todo, want = todo[miss], want[miss]
            pulses = np.concatenate([pulses, self._pulses(got[miss], want)])
            pulsed = np.concatenate([pulsed, todo])
            g[todo] = self._programmed(want, todo)
            programs.append(todo)
        return pulses, pulsed, programs

    def _report(self, cells, pulses, pulsed, programs, blocked) -> WriteReport:
        """The report of a write of ``cells``, job by job."""
        dev, jobs = self.device, self.jobs
        bounds = self._job_bounds(cells)
        n = bounds[1:] - bounds[:-1]
        blocked = blocked + np.zeros(jobs, np.int64)
        total_pulses = np.zeros(jobs, np.int64)
        longest = np.zeros(jobs)
        if len(programs) == 1:  # one pass: pulses follow the ascending cells, job by job
            n_programs, has = n, n > 0
            total_pulses[has] = np.add.reduceat(pulses, bounds[:-1][has])
            longest[has] = np.maximum.reduceat(pulses, bounds[:-1][has])
        else:
            n_programs = sum(np.bincount(self._job_of(p), minlength=jobs) for p in programs)
            job = self._job_of(pulsed)
            np.add.at(total_pulses, job, pulses)
            np.maximum.at(longest, job, pulses)
        energy = (n_programs * dev.write_energy_per_cell_pj
                  + total_pulses * dev.write_energy_per_pulse_pj)
        # Rows are written in parallel in a crossbar; latency is the longest pulse train.
        return WriteReport(n, total_pulses, energy, blocked, longest * dev.write_latency_ns)

    def empty_report(self, blocked=0) -> WriteReport:
        """The report of a write that programmed nothing (``blocked``: the refused writes,
        per job or one number for all): what an update rule returns for a sample that
        writes nothing."""
        report = WriteReport.zeros(self.jobs)
        report.blocked += blocked
        return report

    def _job_of(self, cells: np.ndarray) -> np.ndarray:
        return cells // (self.shape[0] * self.shape[1])

    def _job_bounds(self, cells: np.ndarray) -> np.ndarray:
        """Where each job's cells start in ascending flat indices ``cells`` (J + 1
        entries: job i's are ``cells[b[i]:b[i + 1]]``)."""
        return cells.searchsorted(self._job_starts)

    def job_counts(self, cells: np.ndarray) -> np.ndarray:
        """How many of ascending flat indices ``cells`` fall in each job (for the update
        rules' per-job counters)."""
        bounds = self._job_bounds(cells)
        return bounds[1:] - bounds[:-1]

    def _flat(self, name: str) -> np.ndarray:
        """A flat view of array field ``name`` (made contiguous first if it is not), so
        that writes through it reach the field."""
        a = getattr(self, name)
        if not a.flags.c_contiguous:
            a = np.ascontiguousarray(a)
            setattr(self, name, a)
        return a.reshape(-1)

    def _patch_views(self, cells: np.ndarray, codes_now: np.ndarray | None = None) -> None:
        """New read-only views after ``cells`` (flat indices) changed: copies of the old
        ones with those cells recomputed (the same values a full recompute gives; a new
        array, so that holders of the old one see a change). ``codes_now``: the cells'
        levels if the caller knows them."""
        views, self._views = self._views, {}
        g = self.g.reshape(-1)[cells]
        if "codes" in views:
            codes = views["codes"].copy()
            codes.reshape(-1)[cells] = self._nearest_codes(g) if codes_now is None else codes_now
            self._views["codes"] = read_only(codes)
        if "read" in views:
            read = views["read"].copy()
            read.reshape(-1)[cells] = self._readout(g)
            self._views["read"] = read_only(read)

    def _programmed(self, codes: np.ndarray, cells: np.ndarray | None = None) -> np.ndarray:
        """Analog values a program operation leaves: the levels plus write noise (``cells``,
        ascending flat indices, tell each draw's job)."""
        value = self.level_value(codes).astype(float)
        if self.device.write_noise_lsb > 0:
            sigma = self.device.write_noise_lsb * self.lsb
            bounds = self._job_bounds(cells)
            noise = np.concatenate([rng.normal(0.0, sigma, hi - lo) for rng, lo, hi in
                                    zip(self.rngs, bounds[:-1], bounds[1:], strict=True)])
            value = value + noise
        return value

    def _pulses(self, old: np.ndarray, new: np.ndarray) -> np.ndarray:
        rule = self.device.pulses
        if rule == "single":
            return np.ones_like(old)
        if rule == "per_level":  # NeuroSim: one pulse per level step
            return np.abs(new - old)
        mask = (1 << self.device.bits) - 1  # per_bit: flipped bits of the two's-complement code
        return popcount((old & mask) ^ (new & mask))

    # --- faults over time ---------------------------------------------------------
    def drift(self, steps: int) -> int:
        """Advance time by ``steps`` samples (:func:`pysim.drift.drift`): analog random walk
        and random bit flips of the live cells; returns the number of bit flips applied."""
        g, flips = drift(self, steps)
        if g is not None:
            self.g = g
            self._views.clear()
        return flips

