"""cocotb bench of rtl/cmd_decode.v against the checks of pysim.hw.accel.Accelerator.

Stimulus: random commands of every opcode, legal and illegal (bad opcodes, lengths,
operands, codes, registers, stuck flags beyond N_IN, READ_LRT selectors), with and without
samples pending in the addressed slot or in another one (COMMIT on an empty accumulator,
MODE/MAXNORM locked while any slot is pending; LAYER's limit in the LAYERS = 3 set).
Covered: the error code the model answers with, and for a legal command the payload's
int8 vectors.
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from cocotb.triggers import Timer
from harness import runner
from harness.bench import pack
from harness.commands import random_command


@cocotb.test()
async def matches_golden_model(dut):
    from pysim.hw.accel import Accelerator
    from pysim.hw.isa import Op
    from pysim.hw.rtl import arch_of

    p = runner.params()
    arch = arch_of(p)
    n_in, n_out = arch.n_in, arch.n_out
    maxp = -(-n_in // 4) + -(-n_out // 4)
    for seed in runner.seeds():  # combinational: no clock, no reset
        runner.record_seed(seed)
        rng = np.random.default_rng(seed)
        for it in range(runner.iterations(300)):
            words = random_command(rng, n_in, n_out)
            pending = int(rng.choice([0, 0, 1, int(rng.integers(2, 1 << 31))]))
            model = Accelerator(arch)
            model.lrt.pending = pending
            other = arch.layers > 1 and rng.random() < 0.3  # another slot pending
            if other:
                model.units[-1].pending += 7
            locked = int(any(u.pending for u in model.units))
            want = (model.execute(words)[0] >> 16) & 0xFF
            payload = words[1:maxp + 2]
            dut.hdr_i.value = words[0]
            dut.buf_i.value = pack(payload + [0] * (maxp + 1 - len(payload)), 32)
            dut.nw_i.value = min(len(words) - 1, 0xFFFF)
            dut.pending_i.value = pending
            dut.locked_i.value = locked
            await Timer(1, unit="ns")
            where = f"command {it} {[hex(w) for w in words[:3]]} pending {pending} " \
                    f"other slot pending {other}"
            assert int(dut.err_o.value) == want, \
                f"{where}: rtl error {int(dut.err_o.value)}, model {want}"
            if want == 0 and words[0] >> 24 == Op.UPDATE:
                raw = np.frombuffer(np.array(words[1:], "<u4").tobytes(), np.int8)
                x_words = -(-n_in // 4)
                assert int(dut.x_o.value) == pack(raw[:n_in], 8), where
                assert int(dut.dy_o.value) == pack(raw[4 * x_words:4 * x_words + n_out],
                                                   8), where
    runner.record_seed(None)


PARAMS = [dict(N_IN=64, N_OUT=10, WB=8), dict(N_IN=37, N_OUT=5, WB=4, LAYERS=3)]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"{p['N_IN']}x{p['N_OUT']}w{p['WB']}")
def test_cmd_decode(params, cocotb_opts):
    runner.run("cmd_decode", params, **cocotb_opts)
