"""Command set of the accelerator: opcodes, error codes, registers, stats counters.

The single source of these numbers: ``docs/hw-spec.md`` tables and the RTL's
``rtl/accel_defs.vh`` are generated from / checked against this module.

Command framing (32-bit words, the last word of a command flagged by ``last``):
header ``[31:24] opcode | [23:16] reserved (0) | [15:0] operand``, then the
payload. Every command returns a response header
``[31:24] opcode | [23:16] error | [15:0] info`` followed by its payload words
(none on error).
"""

from __future__ import annotations

from enum import IntEnum


class Op(IntEnum):
    NOP = 0x00
    SET_CFG = 0x01     # operand: register; payload: 1 word
    GET_CFG = 0x02     # operand: register; response: 1 word
    LOAD_W = 0x03      # operand: row; payload: ceil(N_IN/4) words of packed int8 codes
    READ_W = 0x04      # operand: row; response: ceil(N_IN/4) words
    INFER = 0x05       # payload: x packed; response: N_OUT words (int32 y = W x)
    UPDATE = 0x06      # payload: x packed, then dy packed; info bit0 = absorbed
    COMMIT = 0x07      # info bit0 = written; response: [nonzero count, cells written]
    RESET_LRT = 0x08   # clear L, R, sigma and the pending-sample count
    READ_STATS = 0x09  # operand: counter; response: 2 words (low, high)
    READ_WCNT = 0x0A   # operand: row; response: N_IN words (per-cell write counters)
    INJECT = 0x0B      # operand: row; payload: codes packed — set levels, not counted
    SET_STUCK = 0x0C   # operand: row; payload: ceil(N_IN/32) words of stuck flags
    READ_LRT = 0x0D    # operand: [15:14] 0=L row, 1=R row, 2=sigma; [13:0] row
    CLEAR_STATS = 0x0E


class Err(IntEnum):
    OK = 0
    BAD_OPCODE = 1     # unknown opcode
    BAD_OPERAND = 2    # row/register/counter out of range, reserved bits set, bad value
    BAD_LENGTH = 3     # payload shorter or longer than the opcode needs
    COMMIT_EMPTY = 4   # COMMIT with no sample accumulated since the last write
    CFG_LOCKED = 5     # SET_CFG of MODE/MAXNORM while samples are pending


class Reg(IntEnum):
    MODE = 0        # 0 biased, 1 unbiased (locked while samples pending)
    LFSR_SEED = 1   # 16-bit, non-zero; writing it reloads the LFSR
    KAPPA_Q4 = 2    # κ·16 (16-bit); 0 disables the κ-skip
    RHO_COUNT = 3   # minimum non-zero cells for a COMMIT to write (0..N_OUT·N_IN)
    LR_MANT = 4     # 16-bit learning-rate mantissa
    LR_SHIFT = 5    # learning rate = LR_MANT · 2**-LR_SHIFT (0..63), in level steps
    MAXNORM = 6     # 0/1 (locked while samples pending)
    ENDURANCE = 7   # writes before a cell sticks (32-bit; 0 = unlimited)
    PULSE_MODE = 8  # 0 single, 1 per level step, 2 per flipped bit
    WLAT = 9        # NVM write latency, cycles per written row (0..255)
    LAYER = 10      # the layer slot that row, UPDATE, COMMIT and READ_LRT commands address


REG_RESET = {Reg.MODE: 0, Reg.LFSR_SEED: 0xACE1, Reg.KAPPA_Q4: 1600, Reg.RHO_COUNT: 0,
             Reg.LR_MANT: 0, Reg.LR_SHIFT: 0, Reg.MAXNORM: 0, Reg.ENDURANCE: 0,
             Reg.PULSE_MODE: 0, Reg.WLAT: 0, Reg.LAYER: 0}
REG_LOCKED = (Reg.MODE, Reg.MAXNORM)


class Stat(IntEnum):
    CYCLES = 0        # cycles executing commands (not waiting on the host)
    LRT_CYCLES = 1    # UPDATE execution cycles
    INFER_CYCLES = 2
    COMMIT_CYCLES = 3
    MACS = 4          # vector-lane multiply-accumulates
    SFU_CYCLES = 5    # cycles of the scalar unit (core, Jacobi, sort, reduction, scale)
    RSQRT = 6         # reciprocal-square-root operations
    SRAM_READS = 7    # factor SRAM words read
    SRAM_WRITES = 8   # factor SRAM words written
    NVM_READS = 9     # crossbar cells read
    NVM_WRITES = 10   # crossbar cells whose level changed
    NVM_PULSES = 11
    NVM_BLOCKED = 12  # writes refused by stuck or worn-out cells
    SAMPLES = 13
    ABSORBED = 14
    COMMITS = 15      # COMMITs that wrote
    GATED = 16        # COMMITs refused by the ρ gate
    ROTATIONS = 17    # Jacobi rotations applied (not skipped)
    ERRORS = 18
    INFER_MACS = 19   # int8 multiply-accumulates of INFER


N_STATS = len(Stat)
STAT_WIDTH = 64
