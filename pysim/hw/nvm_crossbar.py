"""NVM crossbar as the accelerator sees it: integer level codes, write-on-change,
saturating per-cell write counters, endurance and stuck-at cells, pulse counting.

Specification of ``rtl/nvm_crossbar.v``. Drift, write noise and manufacturing faults
are the host's business (the float-level :class:`pysim.nvm.Crossbar` models them);
the host applies their effect through INJECT (set levels, uncounted) and SET_STUCK.
"""

from __future__ import annotations

import numpy as np

from .isa import Reg, Stat
from .params import ArchParams


class HwCrossbar:
    def __init__(self, arch: ArchParams):
        self.a = arch
        shape = (arch.n_out, arch.n_in)
        self.codes = np.zeros(shape, np.int64)
        self.counts = np.zeros(shape, np.int64)
        self.stuck = np.zeros(shape, bool)

    @property
    def code_range(self) -> tuple[int, int]:
        half = 1 << (self.a.w_bits - 1)
        return -half, half - 1

    def write(self, rows: slice | int, target: np.ndarray, regs: dict, stats: list[int]
              ) -> tuple[int, int]:
        """Write-on-change of ``target`` into ``rows``; returns (cells written, rows written).

        A cell is frozen when stuck or when ENDURANCE ≠ 0 and its count ≥ ENDURANCE;
        a change aimed at a frozen cell is counted as blocked. Counters saturate at
        2**cnt_bits - 1. Pulses: PULSE_MODE 0 → 1, 1 → |Δlevel|, 2 → flipped code bits.
        """
        cur = self.codes[rows]
        cnt = self.counts[rows]
        target = np.asarray(target, np.int64).reshape(cur.shape)
        change = target != cur
        end = regs[Reg.ENDURANCE]
        frozen = self.stuck[rows] | ((cnt >= end) if end else False)
        do = change & ~frozen
        stats[Stat.NVM_READS] += cur.size
        stats[Stat.NVM_BLOCKED] += int(np.count_nonzero(change & frozen))
        n = int(np.count_nonzero(do))
        mode = regs[Reg.PULSE_MODE]
        if mode == 0:
            pulses = n
        elif mode == 1:
            pulses = int(np.abs(target - cur)[do].sum())
        else:
            mask = (1 << self.a.w_bits) - 1
            flips = ((target & mask) ^ (cur & mask))[do]
            pulses = int(sum(bin(int(v)).count("1") for v in flips))
        stats[Stat.NVM_WRITES] += n
        stats[Stat.NVM_PULSES] += pulses
        cur[do] = target[do]
        cmax = (1 << self.a.cnt_bits) - 1
        cnt[do] = np.minimum(cnt[do] + 1, cmax)
        self.codes[rows] = cur
        self.counts[rows] = cnt
        rows_written = int(np.count_nonzero(do.reshape(-1, self.a.n_in).any(axis=1)))
        return n, rows_written
