"""The accelerator as update rules: every dense layer's LRT run on one :class:`Accelerator`.

The float network keeps computing the forward and backward passes. The accelerator holds
each dense layer in a layer slot (docs/hw-spec.md §3.1); for its layer, an :class:`HwLRT`
selects the slot, sends each sample's int8 activations and gradients through UPDATE and
applies the low-rank update to the slot's crossbar through COMMIT. The layer's
float-level :class:`~pysim.nvm.Crossbar` (which models drift and noise) and the slot's
crossbar are kept equal: before a COMMIT the host pushes the current levels in with
INJECT (uncounted), after it the host reads the new levels back and writes them to the
float crossbar, whose write-on-change counts must match the accelerator's NVM_WRITES
(checked in ``check``). A layer smaller than the slot sits in its top-left corner, the
rest zero (§3.1).

Given an executor (the RTL through cocotb, ``sim/cosim_demo.py``) attached to the
:class:`Device`, every command runs on the RTL and on the model, and the responses must
agree word for word.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from ..config import from_mapping
from ..nvm import Crossbar
from ..rules import UpdateRule
from . import driver as d
from .accel import Accelerator
from .isa import N_STATS, Err, Op, Reg, Stat
from .params import AccelConfig, ArchParams


def slot_arch(accel: AccelConfig, shapes: list[tuple[int, int]], rank: int, bits: int,
              source: str = "the accelerator's layers") -> ArchParams:
    """The accelerator that holds layers of ``shapes`` ((n_out, n_in) each), one slot per
    layer: slots as large as the largest layer, the method's rank, the device's level
    width. Validated as a config is (ConfigError naming the field)."""
    n_out = max(s[0] for s in shapes)
    n_in = max(s[1] for s in shapes)
    return from_mapping(ArchParams, dataclasses.asdict(accel.arch) | {
        "n_out": n_out, "n_in": n_in, "rank": rank, "w_bits": bits, "layers": len(shapes)},
        source, "arch.")


def hw_layers(layers, last_only: bool) -> list[int]:
    """Indices of the layers that ``hw: true`` puts on the accelerator, in slot order: the
    dense ones (convolutions keep the float LRT), only the last with ``last_only``."""
    last = len(layers) - 1
    return [k for k, layer in enumerate(layers) if layer.__class__.__name__ != "Conv2D"
            and (not last_only or k == last)]


def network_device(layers, xbars, accel: AccelConfig, rank: int, last_only: bool,
                   rng: np.random.Generator) -> tuple[Device, list[int], int]:
    """``hw: true``: one accelerator with a slot per layer of :func:`hw_layers`, the indices
    of those layers in slot order, and the LFSR seed, drawn from ``rng`` (the rule stream)."""
    ks = hw_layers(layers, last_only)
    arch = slot_arch(accel, [xbars[k].shape for k in ks], rank, xbars[-1].device.bits)
    return Device(arch, accel), ks, int(rng.integers(1, 65535))


class Device:
    """One accelerator shared by the layers' rules: its model, the optional external
    executor (the RTL), and the set-up log replayed when that executor attaches."""

    def __init__(self, arch: ArchParams, accel: AccelConfig):
        self.model = Accelerator(AccelConfig(accel.name, accel.description, arch, accel.energy))
        self.external: Callable[[list[int]], list[int]] | None = None
        self.mismatches = 0
        self._init_log: list[tuple[list[int], list[int]]] = []

    def attach(self, execute: Callable[[list[int]], list[int]]) -> None:
        """Route every later command to ``execute`` too (the RTL); replay the set-up."""
        for words, resp in self._init_log:
            if execute(words) != resp:
                raise RuntimeError(f"RTL and pysim.hw disagree during set-up on "
                                   f"{Op(words[0] >> 24).name}")
        self.external = execute

    def cmd(self, words: list[int]) -> list[int]:
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
    """LRT of one dense layer in slot ``slot`` of a shared :class:`Device`.

    ``stats`` and :meth:`hw_stats` hold this layer's share of the accelerator's counters:
    what its own commands added (the padding of a layer smaller than the slot included,
    as the hardware spends it)."""

    name = "lrt_hw"

    def __init__(self, crossbar: Crossbar, lr: float, batch: int, layer, quant,
                 device: Device, slot: int, mode: str = "biased", kappa_th: float = 100.0,
                 rho_min: float = 0.01, max_norm: bool = False, seed: int = 0xACE1):
        if crossbar.jobs != 1:
            raise ValueError(f"the accelerator runs one job, not {crossbar.jobs}")
        super().__init__(crossbar, lr)
        self.device, self.slot = device, int(slot)
        a = device.model.arch
        if self.n_out > a.n_out or self.n_in > a.n_in or not 0 <= self.slot < a.layers:
            raise ValueError(f"a {self.n_out}×{self.n_in} layer does not fit slot {slot} of "
                             f"{a.layers} slots of {a.n_out}×{a.n_in}")
        self.own = [0] * N_STATS  # this layer's share of the accelerator's counters
        self.batch, self.layer, self.quant = int(batch), layer, quant
        self.pending = 0
        # Gradient terms arrive as alpha·g x^T (stored-weight units); the hardware sees
        # int8 codes g/grad_step and x/act_step, so one code product is worth
        # alpha·grad_step·act_step stored units, lsb of them per level.
        unit = layer.alpha * quant.grad_step * quant.act_step
        # With max-norm the step is scale-free: lr stored units = lr/lsb levels.
        lr_levels = lr / crossbar.lsb if max_norm else lr * unit / crossbar.lsb
        mant, shift = lr_registers(lr_levels)
        # The layer's own registers, written before each of its COMMITs when another
        # layer left different values.
        self.regs = {Reg.RHO_COUNT: math.ceil(rho_min * self.n_out * self.n_in),
                     Reg.LR_MANT: mant, Reg.LR_SHIFT: shift}
        kappa = 0 if math.isinf(kappa_th) else min(0xFFFF, round(kappa_th * 16))
        # Shared by every slot: the method's settings (equal for all its layers).
        self._ensure(Reg.LAYER, self.slot)
        self._ensure(Reg.MODE, int(mode == "unbiased"))
        self._ensure(Reg.MAXNORM, int(max_norm))
        self._ensure(Reg.KAPPA_Q4, kappa)
        if slot == 0:
            self._cmd(d.set_cfg(Reg.LFSR_SEED, seed % 0xFFFF or 1))
        self._sync_levels()
        self.check = {"commits": 0, "cells_written_hw": 0, "cells_written_float": 0}

    @property
    def aux_words(self) -> int:
        """The layer's LRT state, r·(n_out + n_in + 1) words, as the float LRT counts it
        (the slot allocates its full N_OUT×N_IN size; docs/hw-spec.md §3.1)."""
        return self.device.model.arch.rank * (self.n_out + self.n_in + 1)

    def _cmd(self, words: list[int]) -> list[int]:
        before = list(self.device.model.stats)
        resp = self.device.cmd(words)
        for i, (b, a) in enumerate(zip(before, self.device.model.stats, strict=True)):
            self.own[i] += a - b
        return resp

    def _ensure(self, reg: Reg, value: int) -> None:
        """SET_CFG ``reg`` unless it already holds ``value`` (another layer may have left a
        different one: the registers are shared)."""
        if self.device.model.regs[reg] != value:
            self._cmd(d.set_cfg(reg, value))

    def _pad(self, codes: np.ndarray, n: int) -> np.ndarray:
        return np.concatenate([codes, np.zeros(n - len(codes), codes.dtype)])

    def _sync_levels(self) -> None:
        n_in = self.device.model.arch.n_in
        for row, codes in enumerate(self.xbar.codes()[0]):
            self._cmd(d.inject(row, self._pad(codes, n_in)))

    def _step(self, dY, X):
        a = self.device.model.arch
        self._ensure(Reg.LAYER, self.slot)
        # Recover the int8 codes the network quantised to (exact: both are on the grids).
        g = dY[0] / self.layer.alpha
        for gy, x in zip(g, X[0], strict=True):
            dy_codes = np.clip(np.rint(gy / self.quant.grad_step), -128, 127).astype(int)
            x_codes = np.clip(np.rint(x / self.quant.act_step), -128, 127).astype(int)
            self._cmd(d.update(self._pad(x_codes, a.n_in), self._pad(dy_codes, a.n_out)))
        self._mirror_counters()
        self.pending += 1
        if self.pending % self.batch:
            return self._no_write()
        self._sync_levels()
        for reg, value in self.regs.items():
            self._ensure(reg, value)
        before = self.device.model.stats[Stat.NVM_WRITES]
        info, payload = d.parse(self._cmd(d.simple(Op.COMMIT)))[2:]
        if not info & 1:
            self.stats.gated += 1
            self._mirror_counters()
            return self._no_write()
        self.stats.commits += 1
        target = np.array([d.unpack_int8(d.parse(self._cmd(d.simple(Op.READ_W, r)))[3],
                                         a.n_in)[:self.n_in] for r in range(self.n_out)])
        changed = target != self.xbar.codes()[0]
        self.pixel_writes += changed
        report = self.xbar.write_codes(target)
        self.check["commits"] += 1
        self.check["cells_written_hw"] += int(payload[1])
        self.check["cells_written_float"] += report.cells_written.item()
        if self.device.model.stats[Stat.NVM_WRITES] - before != payload[1]:
            raise RuntimeError("accelerator's NVM_WRITES disagrees with its COMMIT response")
        self._mirror_counters()
        return report

    def _mirror_counters(self) -> None:
        """Copy this layer's share of the event counters into the rule's (energy)."""
        self.stats.macs[0] = self.own[Stat.MACS]
        self.stats.aux_reads[0] = self.own[Stat.SRAM_READS]
        self.stats.aux_writes[0] = self.own[Stat.SRAM_WRITES]
        self.stats.absorbed[0] = self.own[Stat.ABSORBED]

    def hw_stats(self) -> dict[str, int]:
        """This layer's share of the accelerator's stats counters (names as READ_STATS')."""
        return {s.name.lower(): self.own[s] for s in Stat}
