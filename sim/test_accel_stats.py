"""cocotb bench of rtl/accel_stats.v: the stats counters and the events that feed them.

Model: the Stat counters as pysim.hw counts them (docs/hw-spec.md §3 and §7), driven by
random events, several at once (the datapath enables every cycle; a command's end with
them), clears at random, and every counter read back through the read port. The full
system bench (test_accel_top) checks the same counters against Accelerator itself.
"""

from __future__ import annotations

import cocotb
import pytest
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge
from harness import runner
from harness.bench import each_seed

EVENTS = ("clear_i", "cycle_i", "error_i", "macs_i", "reads_i", "writes_i", "rsq_i", "nvm_i",
          "nvm_written_i", "nvm_pulses_i", "nvm_blocked_i", "nvm_reads_i", "exec_i", "infer_i",
          "update_i", "absorbed_i", "folded_i", "rotations_i", "scale_i", "maxnorm_i",
          "gated_i", "committed_i")


def model_step(st: list[int], ev: dict, arch) -> None:
    """One cycle of the counters (pysim.hw.isa.Stat order), as the spec defines them."""
    from pysim.hw.fixed import RSQ_CYCLES as RSQ
    from pysim.hw.isa import Stat
    from pysim.hw.passes import PASS_OVH as OVH
    from pysim.hw.passes import blocks

    if ev["clear_i"]:
        st[:] = [0] * len(st)
        st[Stat.CYCLES] = 1
        return
    r, q = arch.rank, arch.rank + 1
    bo, bi = blocks(arch.n_out, arch.lanes), blocks(arch.n_in, arch.lanes)
    st[Stat.CYCLES] += ev["cycle_i"]
    st[Stat.ERRORS] += ev["error_i"]
    st[Stat.MACS] += ev["macs_i"]
    st[Stat.SRAM_READS] += ev["reads_i"]
    st[Stat.SRAM_WRITES] += ev["writes_i"]
    st[Stat.RSQRT] += ev["rsq_i"]
    st[Stat.NVM_READS] += ev["nvm_reads_i"]
    if ev["nvm_i"]:
        st[Stat.NVM_WRITES] += ev["nvm_written_i"]
        st[Stat.NVM_PULSES] += ev["nvm_pulses_i"]
        st[Stat.NVM_BLOCKED] += ev["nvm_blocked_i"]
    if ev["infer_i"]:
        st[Stat.INFER_MACS] += arch.n_in * arch.n_out
        st[Stat.INFER_CYCLES] += ev["exec_i"]
    if ev["update_i"]:
        st[Stat.SAMPLES] += 1
        st[Stat.ABSORBED] += ev["absorbed_i"]
        st[Stat.LRT_CYCLES] += ev["exec_i"]
        st[Stat.ROTATIONS] += ev["rotations_i"]
        vec = (2 * r + 1) * (bo + bi + 2 * OVH)
        if ev["folded_i"]:
            vec += (bo + bi + 2 * OVH) + r * q * (bo + bi) + 2 * OVH
        st[Stat.SFU_CYCLES] += ev["exec_i"] - 1 - vec
    if ev["scale_i"]:
        st[Stat.SFU_CYCLES] += (RSQ + 2 * r * (RSQ + 1) + 8 + RSQ + 2 + r if ev["maxnorm_i"]
                                else RSQ + 1 + 2 + r)
        st[Stat.GATED] += ev["gated_i"]
        if ev["gated_i"]:
            st[Stat.COMMIT_CYCLES] += ev["exec_i"]
    if ev["committed_i"]:
        st[Stat.COMMITS] += 1
        st[Stat.COMMIT_CYCLES] += ev["exec_i"] + 1


@cocotb.test()
async def matches_model(dut):
    from pysim.hw.isa import N_STATS
    from pysim.hw.rtl import arch_of

    arch = arch_of(runner.params())
    idle = {name: 0 for name in EVENTS} | {"rd_idx_i": 0}
    async for rng in each_seed(dut, idle):
        st = [0] * N_STATS
        for cyc in range(runner.iterations(500)):
            await FallingEdge(dut.clk_i)
            ev = {name: 0 for name in EVENTS}
            ev |= {"cycle_i": int(rng.integers(0, 2)), "macs_i": int(rng.integers(0, 64)),
                   "reads_i": int(rng.integers(0, 64)), "writes_i": int(rng.integers(0, 64)),
                   "rsq_i": int(rng.integers(0, 2)), "exec_i": int(rng.integers(400, 5000))}
            kind = int(rng.integers(0, 8))
            if kind == 0 and rng.random() < 0.1:
                ev["clear_i"] = 1
            elif kind == 1:
                ev |= {"nvm_i": 1, "nvm_written_i": int(rng.integers(0, 8)),
                       "nvm_pulses_i": int(rng.integers(0, 8)),
                       "nvm_blocked_i": int(rng.integers(0, 8)),
                       "nvm_reads_i": int(rng.integers(0, 2)) * arch.n_in}
            elif kind == 2:
                ev |= {"infer_i": 1, "nvm_reads_i": arch.n_in * arch.n_out}
            elif kind == 3:
                ev |= {"update_i": 1, "absorbed_i": int(rng.integers(0, 2)),
                       "folded_i": int(rng.integers(0, 2)),
                       "rotations_i": int(rng.integers(0, 40))}
            elif kind == 4:
                ev |= {"scale_i": 1, "maxnorm_i": int(rng.integers(0, 2)),
                       "gated_i": int(rng.integers(0, 2))}
            elif kind == 5:
                ev["committed_i"] = 1
            elif kind == 6:
                ev["error_i"] = 1
            for name, v in ev.items():
                getattr(dut, name).value = v
            idx = int(rng.integers(0, N_STATS))
            dut.rd_idx_i.value = idx
            await ReadOnly()
            assert int(dut.rd_o.value) == st[idx] % (1 << 64), f"cycle {cyc}: stat {idx}"
            model_step(st, ev, arch)
            await RisingEdge(dut.clk_i)


PARAMS = [dict(N_IN=64, N_OUT=10, RANK=4, LANES=8), dict(N_IN=16, N_OUT=8, RANK=2, LANES=3)]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"{p['N_IN']}x{p['N_OUT']}r{p['RANK']}")
def test_accel_stats(params, cocotb_opts):
    runner.run("accel_stats", params, **cocotb_opts)
