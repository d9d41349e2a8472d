"""Top level of the accelerator: command stream in, responses out, all state and stats.

Specification of ``rtl/accel_top.v`` (docs/hw-spec.md §3). A command is a list of
32-bit words (its last word carries the stream's ``last`` flag). The device never
raises on a bad command: it answers with an error code and leaves its state as it
was, except the CYCLES (+1) and ERRORS (+1) counters. Host-side misuse of this Python
API (a word that is not a 32-bit integer) raises ``ValueError``.

With ``layers`` > 1 the accelerator holds that many layer slots (docs/hw-spec.md §3.1):
each has its own crossbar, factors, σ, pending count and max-norm trackers; the LAYER
register picks the slot that the row commands, UPDATE, COMMIT, RESET_LRT and READ_LRT
address. The registers, the stats counters and the LFSR are shared: one LFSR whose
state carries over when the slot changes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .driver import pack_int8, unpack_int8, words_for
from .isa import N_STATS, REG_LOCKED, REG_RESET, Err, Op, Reg, Stat
from .lrt_unit import LrtUnit
from .mac_array import infer
from .nvm_crossbar import HwCrossbar
from .params import AccelConfig, ArchParams
from .passes import blocks

_NO_OPERAND = (Op.NOP, Op.INFER, Op.UPDATE, Op.COMMIT, Op.RESET_LRT, Op.CLEAR_STATS)
_ROW_OPS = (Op.LOAD_W, Op.READ_W, Op.READ_WCNT, Op.INJECT, Op.SET_STUCK)
_REG_LIMIT = {Reg.MODE: 1, Reg.LFSR_SEED: 0xFFFF, Reg.KAPPA_Q4: 0xFFFF, Reg.LR_MANT: 0xFFFF,
              Reg.LR_SHIFT: 63, Reg.MAXNORM: 1, Reg.ENDURANCE: 0xFFFFFFFF,
              Reg.PULSE_MODE: 2, Reg.WLAT: 255}


class Accelerator:
    """Bit- and cycle-accurate model of ``accel_top``.

    ``Accelerator("default")`` loads ``configs/accel/default.yaml``; an
    :class:`ArchParams` or :class:`AccelConfig` may be given instead.
    """

    def __init__(self, config: AccelConfig | ArchParams | str | Path = "default"):
        if isinstance(config, ArchParams):
            config = AccelConfig(arch=config)
        elif not isinstance(config, AccelConfig):
            config = AccelConfig.load(config)
        self.config = config
        self.arch = a = config.arch
        self.regs = {r: v for r, v in REG_RESET.items()}
        self.units = [LrtUnit(a) for _ in range(a.layers)]
        self.lrt.lfsr = self.regs[Reg.LFSR_SEED]
        self.xbars = [HwCrossbar(a) for _ in range(a.layers)]
        self.stats = [0] * N_STATS
        self.x_words = words_for(a.n_in, 4)
        self.dy_words = words_for(a.n_out, 4)

    @property
    def lrt(self) -> LrtUnit:
        """The selected slot's LRT state."""
        return self.units[self.regs[Reg.LAYER]]

    @property
    def xbar(self) -> HwCrossbar:
        """The selected slot's crossbar."""
        return self.xbars[self.regs[Reg.LAYER]]

    # --- the command interface ------------------------------------------------------
    def run(self, commands: list[list[int]]) -> list[list[int]]:
        """Execute commands in order; return one response (list of words) per command."""
        return [self.execute(c) for c in commands]

    def execute(self, words: list[int]) -> list[int]:
        """Execute one command; return its response words (header first)."""
        words = _check_words(words)
        op_code, reserved, operand = words[0] >> 24, (words[0] >> 16) & 0xFF, words[0] & 0xFFFF
        payload = words[1:]
        try:
            op = Op(op_code)
        except ValueError:
            return self._error(op_code, Err.BAD_OPCODE)
        need = self._payload_words(op)
        if len(payload) != need:
            return self._error(op, Err.BAD_LENGTH)
        if reserved or (op in _NO_OPERAND and operand):
            return self._error(op, Err.BAD_OPERAND)
        if op in _ROW_OPS and operand >= self.arch.n_out:
            return self._error(op, Err.BAD_OPERAND)
        handler = getattr(self, f"_op_{op.name.lower()}")
        result = handler(operand, payload)
        if isinstance(result, Err):
            return self._error(op, result)
        info, out, cycles = result
        self._count(1 + cycles)
        return [(op << 24) | (info & 0xFFFF)] + out

    def _payload_words(self, op: Op) -> int:
        a = self.arch
        return {Op.SET_CFG: 1, Op.LOAD_W: self.x_words, Op.INFER: self.x_words,
                Op.UPDATE: self.x_words + self.dy_words, Op.INJECT: self.x_words,
                Op.SET_STUCK: words_for(a.n_in, 32)}.get(op, 0)

    def _error(self, op: int, err: Err) -> list[int]:
        self.stats[Stat.ERRORS] += 1
        self._count(1)
        return [(int(op) << 24) | (int(err) << 16)]

    def _count(self, cycles: int) -> None:
        self.stats[Stat.CYCLES] += cycles

    def _codes(self, payload: list[int]) -> np.ndarray | Err:
        codes = unpack_int8(payload, self.arch.n_in)
        lo, hi = self.xbar.code_range
        if codes.min() < lo or codes.max() > hi:
            return Err.BAD_OPERAND
        return codes

    # --- opcodes: each returns (info, response payload, cycles) or an Err ------------------
    def _op_nop(self, operand, payload):
        return 0, [], 0

    def _op_set_cfg(self, operand, payload):
        value = payload[0]
        try:
            reg = Reg(operand)
        except ValueError:
            return Err.BAD_OPERAND
        sized = {Reg.RHO_COUNT: self.arch.n_out * self.arch.n_in,  # limits set by the arch
                 Reg.LAYER: self.arch.layers - 1}
        limit = sized[reg] if reg in sized else _REG_LIMIT[reg]
        if value > limit or (reg == Reg.LFSR_SEED and value == 0):
            return Err.BAD_OPERAND
        # MODE and MAXNORM apply to every slot's accumulation, so no slot may be pending.
        if reg in REG_LOCKED and any(u.pending for u in self.units):
            return Err.CFG_LOCKED
        lfsr = self.lrt.lfsr
        self.regs[reg] = value
        self.lrt.lfsr = value if reg == Reg.LFSR_SEED else lfsr  # one LFSR for all slots
        return 0, [], 0

    def _op_get_cfg(self, operand, payload):
        try:
            reg = Reg(operand)
        except ValueError:
            return Err.BAD_OPERAND
        return 0, [self.regs[reg]], 0

    def _op_load_w(self, row, payload):
        codes = self._codes(payload)
        if isinstance(codes, Err):
            return codes
        n, _ = self.xbar.write(row, codes, self.regs, self.stats)
        wlat = self.regs[Reg.WLAT] if n else 0
        return 0, [n], blocks(self.arch.n_in, self.arch.lanes) + wlat

    def _op_read_w(self, row, payload):
        return 0, pack_int8(self.xbar.codes[row]), blocks(self.arch.n_in, self.arch.lanes)

    def _op_read_wcnt(self, row, payload):
        return (0, [int(c) for c in self.xbar.counts[row]],
                blocks(self.arch.n_in, self.arch.lanes))

    def _op_inject(self, row, payload):
        codes = self._codes(payload)
        if isinstance(codes, Err):
            return codes
        self.xbar.codes[row] = codes
        return 0, [], blocks(self.arch.n_in, self.arch.lanes)

    def _op_set_stuck(self, row, payload):
        n = self.arch.n_in
        if n % 32 and payload[-1] >> (n % 32):
            return Err.BAD_OPERAND  # flag bits beyond N_IN
        flags = [(payload[j // 32] >> (j % 32)) & 1 for j in range(n)]
        self.xbar.stuck[row] = np.array(flags, bool)
        return 0, [], blocks(n, self.arch.lanes)

    def _op_infer(self, operand, payload):
        x = unpack_int8(payload, self.arch.n_in)
        y, cycles = infer(self.xbar.codes, x, self.arch, self.stats)
        self.stats[Stat.INFER_CYCLES] += 1 + cycles
        return 0, [int(v) & 0xFFFFFFFF for v in y], cycles

    def _op_update(self, operand, payload):
        x = unpack_int8(payload[:self.x_words], self.arch.n_in)
        dy = unpack_int8(payload[self.x_words:], self.arch.n_out)
        absorbed, cycles = self.lrt.update(x, dy, self.regs, self.stats)
        self.stats[Stat.LRT_CYCLES] += 1 + cycles
        return int(absorbed), [], cycles

    def _op_commit(self, operand, payload):
        if self.lrt.pending == 0:
            return Err.COMMIT_EMPTY
        g, sh, cycles = self.lrt.commit_scale(self.regs, self.stats)
        dk, pass_cycles = self.lrt.delta_levels(g, sh, self.stats)
        cycles += pass_cycles
        nonzero = int(np.count_nonzero(dk))
        written = 0
        if nonzero == 0 or nonzero < self.regs[Reg.RHO_COUNT]:
            self.stats[Stat.GATED] += 1
            info = 0
        else:
            dk, pass_cycles = self.lrt.delta_levels(g, sh, self.stats)
            lo, hi = self.xbar.code_range
            target = np.clip(self.xbar.codes + dk, lo, hi)
            written, rows = self.xbar.write(slice(None), target, self.regs, self.stats)
            cycles += pass_cycles + rows * self.regs[Reg.WLAT] + self._clear_cycles()
            self.lrt.reset()
            self.stats[Stat.COMMITS] += 1
            info = 1
        self.stats[Stat.COMMIT_CYCLES] += 1 + cycles
        return info, [nonzero, written], cycles

    def _clear_cycles(self) -> int:
        a = self.arch
        return blocks(a.n_out, a.lanes) + blocks(a.n_in, a.lanes)

    def _op_reset_lrt(self, operand, payload):
        self.lrt.reset()
        return 0, [], self._clear_cycles()

    def _op_read_stats(self, index, payload):
        if index >= N_STATS:
            return Err.BAD_OPERAND
        v = self.stats[index] & ((1 << 64) - 1)
        return 0, [v & 0xFFFFFFFF, v >> 32], 0

    def _op_clear_stats(self, operand, payload):
        self.stats = [0] * N_STATS
        return 0, [], 0

    def _op_read_lrt(self, operand, payload):
        sel, row = operand >> 14, operand & 0x3FFF
        r = self.arch.rank
        if sel == 0 and row < self.arch.n_out:
            return 0, [int(v) & 0xFFFFFFFF for v in self.lrt.L[row, :r]], 0
        if sel == 1 and row < self.arch.n_in:
            return 0, [int(v) & 0xFFFFFFFF for v in self.lrt.R[row, :r]], 0
        if sel == 2 and row == 0:
            out = []
            for s in self.lrt.sigma:
                out += [s & 0xFFFFFFFF, s >> 32]
            return 0, out, 0
        return Err.BAD_OPERAND

    # --- convenience ------------------------------------------------------------------
    def stats_dict(self) -> dict[str, int]:
        return {s.name.lower(): self.stats[s] for s in Stat}

    def snapshot(self) -> dict:
        """Every piece of state, for equality checks (e.g. after a rejected command);
        per-slot state stacked along a leading slot axis."""
        u, x = self.units, self.xbars
        return {"regs": dict(self.regs), "lfsr": self.lrt.lfsr,
                "L": np.stack([v.L for v in u]), "R": np.stack([v.R for v in u]),
                "sigma": [list(v.sigma) for v in u], "pending": [v.pending for v in u],
                "mn": [(v.mn_steps, tuple(v.ema)) for v in u],
                "codes": np.stack([v.codes for v in x]), "counts": np.stack([v.counts for v in x]),
                "stuck": np.stack([v.stuck for v in x])}


def _check_words(words) -> list[int]:
    if isinstance(words, (str, bytes)) or not hasattr(words, "__len__") or len(words) == 0:
        raise ValueError("a command is a non-empty list of 32-bit words")
    out = []
    for w in words:
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or not 0 <= w < 1 << 32:
            raise ValueError(f"command word {w!r} is not a 32-bit unsigned integer")
        out.append(int(w))
    return out
