"""cocotb benches of rtl/accel_top.v against pysim.hw.accel.Accelerator (full system).

* ``command_streams``: seeded random command streams — every opcode, every error code
  (bad opcode, reserved bits, operands out of range, short/long payloads, locked
  registers, COMMIT with nothing accumulated), SET_CFG of every register — each
  response compared word for word with the model's.
* ``fuzz_streams``: many short random streams from reset (20 by default, 2,000 in
  ``nox -s fuzz``), each response and the end state compared.
* ``digits_adaptation``: a digits stream through the command interface: the host runs
  INFER, forms the softmax gradient, sends UPDATE, and COMMITs every 40 samples, in
  biased then unbiased mode (with max-norm, ρ gating both ways, endurance and pulses
  set); afterwards every crossbar level, every per-cell write counter and every stats
  counter (cycles included) must equal the model's. With layer slots (the LAYERS = 3
  set) every slot adapts its own weights on the same stream, the host selecting each
  slot with SET_CFG LAYER before its INFER, UPDATE and COMMIT, and every slot's state
  is compared.
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
import pytest
from harness import runner
from harness.bench import each_seed, reset
from harness.commands import random_command
from harness.host import IDLE, Host


def arch_of(p):
    from pysim.hw.rtl import arch_of as from_rtl

    return from_rtl(p)


async def check(host, model, words, where):
    from pysim.hw import driver as d

    want = model.execute(words)
    got = await host.command(words)
    assert got == want, f"{where}: command {[hex(w) for w in words[:3]]}...: rtl " \
        f"{[hex(w) for w in got]} model {[hex(w) for w in want]} ({d.parse(want)[1].name})"
    return got


async def compare_state(host, model, where):
    """Every stats counter, and every slot's crossbar levels, write counters and σ, read
    through commands."""
    from pysim.hw import driver as d
    from pysim.hw.isa import Op, Reg, Stat

    for slot in range(model.arch.layers):
        await check(host, model, d.set_cfg(Reg.LAYER, slot), f"{where} LAYER {slot}")
        for row in range(model.arch.n_out):
            await check(host, model, d.simple(Op.READ_W, row), f"{where} READ_W {row}")
            await check(host, model, d.simple(Op.READ_WCNT, row), f"{where} READ_WCNT {row}")
        await check(host, model, d.simple(Op.READ_LRT, 2 << 14), f"{where} sigma {slot}")
    for s in Stat:
        await check(host, model, d.simple(Op.READ_STATS, s), f"{where} stat {s.name}")


@cocotb.test()
async def command_streams(dut):
    from pysim.hw.accel import Accelerator

    arch = arch_of(runner.params())
    host = Host(dut)
    async for rng in each_seed(dut, IDLE):
        model = Accelerator(arch)
        for i in range(runner.iterations(120)):
            words = random_command(rng, arch.n_in, arch.n_out)
            await check(host, model, words, f"command {i}")
        await compare_state(host, model, "end")

@cocotb.test()
async def fuzz_streams(dut):
    """Many short random command streams, each from reset: every response, and the
    state read back at each stream's end, equal the model's
    (PYSIM_FUZZ_STREAMS streams; `nox -s fuzz` runs 2,000)."""
    from pysim.hw import driver as d
    from pysim.hw.accel import Accelerator
    from pysim.hw.isa import Op, Stat

    arch = arch_of(runner.params())
    host = Host(dut)
    streams = int(os.environ.get("PYSIM_FUZZ_STREAMS", "20"))
    async for rng in each_seed(dut, IDLE):
        for k in range(streams):
            if k:
                await reset(dut, IDLE)
            model = Accelerator(arch)
            for i in range(int(rng.integers(3, 12))):
                await check(host, model, random_command(rng, arch.n_in, arch.n_out),
                            f"stream {k} command {i}")
            for s in (Stat.CYCLES, Stat.ERRORS, Stat.NVM_WRITES, Stat.SAMPLES):
                await check(host, model, d.simple(Op.READ_STATS, s),
                            f"stream {k} {s.name}")
    dut._log.info(f"{streams} random command streams per seed: 0 mismatches")

@cocotb.test()
async def digits_adaptation(dut):
    from sklearn.datasets import load_digits

    from pysim.hw import driver as d
    from pysim.hw.accel import Accelerator
    from pysim.hw.isa import Op, Reg

    arch = arch_of(runner.params())
    host = Host(dut)
    digits = load_digits()
    n_in, n_out = arch.n_in, arch.n_out
    feats = np.clip(np.rint(digits.data[:, :n_in] * 7), 0, 127).astype(int)
    labels = digits.target % n_out
    async for rng in each_seed(dut, IDLE):
        model = Accelerator(arch)
        slots = range(arch.layers)

        async def select(slot, where, model=model):
            if arch.layers > 1:
                await check(host, model, d.set_cfg(Reg.LAYER, slot), f"{where} LAYER")

        for slot in slots:
            await select(slot, f"load slot {slot}")
            W0 = rng.integers(-6, 7, (n_out, n_in))
            for row in range(n_out):
                await check(host, model, d.load_w(row, W0[row]), f"load {row}")
        n = runner.iterations(150)
        for mode, maxnorm in ((0, 0), (1, 1)):
            for reg, v in ((Reg.MODE, mode), (Reg.MAXNORM, maxnorm), (Reg.LR_MANT, 1 << 15),
                           (Reg.LR_SHIFT, 12 if maxnorm else 30), (Reg.PULSE_MODE, 1 + mode),
                           (Reg.ENDURANCE, 40), (Reg.WLAT, 3), (Reg.LFSR_SEED, 0x1234),
                           (Reg.RHO_COUNT, 5)):
                await check(host, model, d.set_cfg(reg, v), f"mode {mode} cfg {reg.name}")
            for i in range(n):
                k = int(rng.integers(len(labels)))
                x = feats[k]
                for slot in slots:
                    where = f"mode {mode} sample {i} slot {slot}"
                    await select(slot, where)
                    y = np.array([d.to_signed(v) for v in
                                  (await check(host, model, d.infer(x), where))[1:]])
                    z = y / max(1.0, np.abs(y).max()) * 4
                    prob = np.exp(z - z.max())
                    prob /= prob.sum()
                    prob[labels[k]] -= 1.0
                    dy = np.clip(np.rint(prob * 127), -128, 127).astype(int)
                    await check(host, model, d.update(x, dy), f"{where} update")
                    if i % 40 == 39:
                        await check(host, model, d.simple(Op.COMMIT), f"{where} commit")
            for slot in slots:
                await select(slot, f"mode {mode} end slot {slot}")
                await check(host, model, d.simple(Op.COMMIT), f"mode {mode} final commit")
                await check(host, model, d.simple(Op.RESET_LRT), f"mode {mode} reset")
        await compare_state(host, model, "end")
        if n >= 120:  # the full-system target: at least 3 commits per slot in the default run
            assert model.stats_dict()["commits"] >= 3 * arch.layers


PARAMS = [dict(N_IN=64, N_OUT=10, RANK=4, LANES=8, F=16, WC=24, SWEEPS=4),
          dict(N_IN=16, N_OUT=8, RANK=2, LANES=3, F=14, WC=20, SWEEPS=3, LAYERS=3)]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"{p['N_IN']}x{p['N_OUT']}r{p['RANK']}")
def test_accel_top(params, cocotb_opts):
    runner.run("accel_top", params, **cocotb_opts)
