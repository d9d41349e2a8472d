"""Host-side driver: build command words and parse responses (docs/hw-spec.md §3).

Used by the experiments, the tests and the cocotb benches alike, so that all of them
speak to the model and to the RTL through the same encoding.
"""

from __future__ import annotations

import numpy as np

from .isa import Err, Op, Reg


def words_for(n: int, per_word: int) -> int:
    return -(-n // per_word)


def pack_int8(values) -> list[int]:
    """Pack int8 values little-endian, four per 32-bit word (zero padded)."""
    v = np.asarray(values, dtype=np.int64)
    if v.size and (v.min() < -128 or v.max() > 127):
        raise ValueError("int8 values must lie in [-128, 127]")
    b = (v & 0xFF).astype(np.uint64)
    b = np.concatenate([b, np.zeros((-b.size) % 4, np.uint64)]).reshape(-1, 4)
    return [int(w) for w in (b[:, 0] | b[:, 1] << 8 | b[:, 2] << 16 | b[:, 3] << 24)]


def unpack_int8(words: list[int], n: int) -> np.ndarray:
    """Inverse of :func:`pack_int8` for the first ``n`` values."""
    w = np.asarray(words, dtype=np.int64)
    b = np.stack([(w >> s) & 0xFF for s in (0, 8, 16, 24)], axis=1).reshape(-1)[:n]
    return np.where(b >= 128, b - 256, b).astype(np.int64)


def header(op: Op | int, operand: int = 0) -> int:
    return (int(op) << 24) | (operand & 0xFFFF)


def set_cfg(reg: Reg, value: int) -> list[int]:
    return [header(Op.SET_CFG, reg), int(value)]


def load_w(row: int, codes) -> list[int]:
    return [header(Op.LOAD_W, row)] + pack_int8(codes)


def inject(row: int, codes) -> list[int]:
    return [header(Op.INJECT, row)] + pack_int8(codes)


def set_stuck(row: int, flags) -> list[int]:
    flags = np.asarray(flags, bool)
    words = [0] * words_for(flags.size, 32)
    for j in np.flatnonzero(flags):
        words[j // 32] |= 1 << (j % 32)
    return [header(Op.SET_STUCK, row)] + words


def infer(x) -> list[int]:
    return [header(Op.INFER)] + pack_int8(x)


def update(x, dy) -> list[int]:
    return [header(Op.UPDATE)] + pack_int8(x) + pack_int8(dy)


def simple(op: Op, operand: int = 0) -> list[int]:
    """A command without payload (NOP, COMMIT, RESET_LRT, READ_*, CLEAR_STATS)."""
    return [header(op, operand)]


def parse(response: list[int]) -> tuple[int, Err, int, list[int]]:
    """``(opcode, error, info, payload)`` of a response."""
    h = response[0]
    return h >> 24, Err((h >> 16) & 0xFF), h & 0xFFFF, list(response[1:])


def to_signed(v: int, bits: int = 32) -> int:
    return v - (1 << bits) if v >> (bits - 1) else v
