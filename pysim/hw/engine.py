"""The accelerator as an update rule: a network layer's LRT run on :class:`Accelerator`.

The float network keeps computing the forward and backward passes; for the layer it
holds, the accelerator receives each sample's int8 activations and gradients through
UPDATE and applies the low-rank update to its crossbar through COMMIT. The layer's
float-level :class:`~pysim.nvm.Crossbar` (which models drift and noise) and the
accelerator's crossbar are kept equal: before a COMMIT the host pushes the current
levels in with INJECT (uncounted), after it the host reads the new levels back and
writes them to the float crossbar, whose write-on-change counts must match the
accelerator's NVM_WRITES (checked in ``check``).

Given ``execute`` (the RTL through cocotb, ``sim/cosim_demo.py``), every command runs
on the RTL and on the model, and the responses must agree word for word.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from ..config import from_mapping
from ..nvm import Crossbar, WriteReport
from ..rules import UpdateRule
from . import driver as d
from .accel import Accelerator
from .isa import Err, Op, Reg, Stat
from .params import AccelConfig, ArchParams


def lr_registers(lr_levels: float) -> tuple[int, int]:
    """(LR_MANT, LR_SHIFT) with LR_MANT·2**-LR_SHIFT ≈ lr_levels, mantissa in [2**15, 2**16)."""
    if not (lr_levels > 0 and math.isfinite(lr_levels)):
        raise ValueError(f"learning rate {lr_levels} cannot be encoded")
    shift = 15 - math.floor(math.log2(lr_levels))
    if not 0 <= shift <= 63:
        raise ValueError(f"learning rate {lr_levels:g} level steps is outside the LR "
                         "registers' range 2**-48 .. 2**15")
    return min(round(lr_levels * 2.0 ** shift), 0xFFFF), shift


class HwLRT(UpdateRule):
    """LRT of one dense layer on the bit-accurate accelerator (or on the RTL)."""

    name = "lrt_hw"

    def __init__(self, crossbar: Crossbar, lr: float, batch: int, layer, quant,
                 accel: AccelConfig, rank: int = 4, mode: str = "biased",
                 kappa_th: float = 100.0, rho_min: float = 0.01, max_norm: bool = False,
                 seed: int = 0xACE1, execute: Callable[[list[int]], list[int]] | None = None):
        super().__init__(crossbar, lr)
        n_out, n_in = crossbar.shape
        # The accelerator takes the layer's shape, the rank and the device's level width.
        # Checked as a config would be: the layer, rank or weight width may be beyond
        # what the accelerator builds, and the model must not run outside its spec.
        arch = from_mapping(ArchParams, dataclasses.asdict(accel.arch) | {
            "n_out": n_out, "n_in": n_in, "rank": rank, "w_bits": crossbar.device.bits},
            f"HwLRT on a {n_out}×{n_in} layer", "arch.")
        self.model = Accelerator(AccelConfig(accel.name, accel.description, arch, accel.energy))
        # With an external executor (the RTL through cocotb) every command also runs on
        # the model, and any difference in any response word stops the run.
        self.external = execute
        self.mismatches = 0
        self._init_log: list[tuple[list[int], list[int]]] = []
        self.batch, self.layer, self.quant = int(batch), layer, quant
        self.pending = 0
        # Gradient terms arrive as alpha·g x^T (stored-weight units); the hardware sees
        # int8 codes g/grad_step and x/act_step, so one code product is worth
        # alpha·grad_step·act_step stored units, lsb of them per level.
        unit = layer.alpha * quant.grad_step * quant.act_step
        # With max-norm the step is scale-free: lr stored units = lr/lsb levels.
        lr_levels = lr / crossbar.lsb if max_norm else lr * unit / crossbar.lsb
        mant, shift = lr_registers(lr_levels)
        kappa = 0 if math.isinf(kappa_th) else min(0xFFFF, round(kappa_th * 16))
        self._cmd(d.set_cfg(Reg.MODE, int(mode == "unbiased")))
        self._cmd(d.set_cfg(Reg.MAXNORM, int(max_norm)))
        self._cmd(d.set_cfg(Reg.LFSR_SEED, seed % 0xFFFF or 1))
        self._cmd(d.set_cfg(Reg.KAPPA_Q4, kappa))
        self._cmd(d.set_cfg(Reg.RHO_COUNT, math.ceil(rho_min * n_out * n_in)))
        self._cmd(d.set_cfg(Reg.LR_MANT, mant))
        self._cmd(d.set_cfg(Reg.LR_SHIFT, shift))
        self._sync_levels()
        self.check = {"commits": 0, "cells_written_hw": 0, "cells_written_float": 0}

    @property
    def aux_words(self) -> int:
        return self.model.arch.rank * (self.n_out + self.n_in + 1)

    def attach(self, execute: Callable[[list[int]], list[int]]) -> None:
        """Route every later command to ``execute`` too (the RTL); replay the set-up."""
        for words, resp in self._init_log:
            if execute(words) != resp:
                raise RuntimeError(f"RTL and pysim.hw disagree during set-up on "
                                   f"{Op(words[0] >> 24).name}")
        self.external = execute

    def _cmd(self, words: list[int]) -> list[int]:
        resp = self.model.execute(words)
        if self.external is None and self.model.stats[Stat.SAMPLES] == 0:
            self._init_log.append((list(words), list(resp)))
        if self.external is not None:
            other = self.external(words)
            if other != resp:
                self.mismatches += 1
                raise RuntimeError(f"RTL and pysim.hw disagree on {Op(words[0] >> 24).name}: "
                                   f"rtl {other} model {resp}")
        err = d.parse(resp)[1]
        if err != Err.OK:
            raise RuntimeError(f"accelerator refused {Op(words[0] >> 24).name}: {err.name}")
        return resp

    def _sync_levels(self) -> None:
        for row, codes in enumerate(self.xbar.codes()):
            self._cmd(d.inject(row, codes))

    def _step(self, dY, X):
        # Recover the int8 codes the network quantised to (exact: both are on the grids).
        g = dY / self.layer.alpha
        for gy, x in zip(g, X, strict=True):
            dy_codes = np.clip(np.rint(gy / self.quant.grad_step), -128, 127).astype(int)
            x_codes = np.clip(np.rint(x / self.quant.act_step), -128, 127).astype(int)
            self._cmd(d.update(x_codes, dy_codes))
        self._mirror_counters()
        self.pending += 1
        if self.pending % self.batch:
            return WriteReport()
        self._sync_levels()
        before = self.model.stats[Stat.NVM_WRITES]
        info, payload = d.parse(self._cmd(d.simple(Op.COMMIT)))[2:]
        if not info & 1:
            self.stats.gated += 1
            return WriteReport()
        self.stats.commits += 1
        target = np.array([d.unpack_int8(d.parse(self._cmd(d.simple(Op.READ_W, r)))[3],
                                         self.n_in) for r in range(self.n_out)])
        changed = target != self.xbar.codes()
        self.pixel_writes += changed
        report = self.xbar.write_codes(target)
        self.check["commits"] += 1
        self.check["cells_written_hw"] += int(payload[1])
        self.check["cells_written_float"] += report.cells_written
        if self.model.stats[Stat.NVM_WRITES] - before != payload[1]:
            raise RuntimeError("accelerator's NVM_WRITES disagrees with its COMMIT response")
        self._mirror_counters()
        return report

    def _mirror_counters(self) -> None:
        """Copy the accelerator's event counters into the rule's (energy accounting)."""
        st = self.model.stats
        self.stats.macs = st[Stat.MACS]
        self.stats.aux_reads = st[Stat.SRAM_READS]
        self.stats.aux_writes = st[Stat.SRAM_WRITES]
        self.stats.absorbed = st[Stat.ABSORBED]

    def hw_stats(self) -> dict[str, int]:
        return self.model.stats_dict()
