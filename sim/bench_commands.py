"""Speed of the RTL per command (run by ``pysim.tools.hw_bench.command_speed``, part of
``nox -s bench``; not a test): simulated cycles and wall time of long commands (UPDATE,
bound by the simulator) and short ones (INJECT, READ_W, NOP, bound by cocotb's
round trips), measured on the RTL alone (no model beside it). Writes the figures to the
JSON file named by PYSIM_BENCH_OUT."""

from __future__ import annotations

import json
import os
import time

import cocotb
import numpy as np
from cocotb.utils import get_sim_time
from harness import runner
from harness.bench import clock_and_reset
from harness.host import IDLE, Host


@cocotb.test()
async def command_speed(dut):
    from pysim.hw import driver as d
    from pysim.hw.isa import Op, Reg

    p = runner.params()
    n_in, n_out = p["N_IN"], p["N_OUT"]
    await clock_and_reset(dut, IDLE)
    host = Host(dut)
    rng = np.random.default_rng(0)
    await host.command(d.simple(Op.NOP))  # returns once the memories are cleared
    await host.command(d.set_cfg(Reg.KAPPA_Q4, 0))  # every sample absorbed
    kinds = {
        "UPDATE": (40, lambda i: d.update(rng.integers(-128, 128, n_in),
                                          rng.integers(-128, 128, n_out))),
        "INJECT": (200, lambda i: d.inject(i % n_out, rng.integers(-128, 128, n_in))),
        "READ_W": (200, lambda i: d.simple(Op.READ_W, i % n_out)),
        "NOP": (200, lambda i: d.simple(Op.NOP)),
    }
    out = {}
    for name, (n, make) in kinds.items():
        words = [make(i) for i in range(n)]
        c0, t0 = get_sim_time("ns") / 10, time.perf_counter()
        for w in words:
            await host.command(w)
        cycles, wall = get_sim_time("ns") / 10 - c0, time.perf_counter() - t0
        out[name] = {"commands": n, "cycles_each": cycles / n, "ms_each": 1e3 * wall / n,
                     "cycles_per_s": cycles / wall}
    with open(os.environ["PYSIM_BENCH_OUT"], "w") as f:
        json.dump(out, f)
