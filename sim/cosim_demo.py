"""Co-simulation of the demo: a digits adaptation job whose every layer runs its LRT on
rtl/accel_top.v under the simulator, a layer slot each, every command checked against
pysim.hw.

Run by ``python -m pysim.experiments.demo`` (``nox -s demo``) through the cocotb runner, not by
pytest. The job is the same `pysim.experiments.job.Job` the Python columns run; only its
accelerator (``pysim.hw.engine.Device``, shared by the layers' rules) is attached to the
RTL, so the RTL column must equal the pysim.hw column exactly.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cocotb
from cocotb.task import bridge, resume
from cocotb.utils import get_sim_time
from harness.bench import clock_and_reset
from harness.host import IDLE, Host


@cocotb.test()
async def cosim(dut):
    from pysim.experiments.demo import with_samples
    from pysim.experiments.job import Job
    from pysim.experiments.schema import ExperimentCfg, expand_methods
    from pysim.store import atomic_write

    cfg = with_samples(ExperimentCfg.load(os.environ["PYSIM_DEMO_CONFIG"]),
                       int(os.environ.get("PYSIM_DEMO_SAMPLES", "0")))
    out = Path(os.environ["PYSIM_DEMO_OUT"])
    sim = os.environ.get("PYSIM_DEMO_SIM", "icarus")
    method = next(m for m in expand_methods(cfg) if m.cfg.hw)
    seed = int(os.environ.get("PYSIM_DEMO_SEED") or cfg.seeds[0])
    samples = cfg.stream.samples
    await clock_and_reset(dut, IDLE)
    host = Host(dut)
    rtl = resume(host.command)
    t0 = time.time()

    def cycles() -> int:
        return int(get_sim_time("ns") // 10)  # the bench's clock is 10 ns

    def progress(job):
        """For the demo's progress line (a file: this process's output goes to a log)."""
        c = job.runs[0].curve[-1]
        rate = cycles() / max(time.time() - t0, 1e-9)
        atomic_write(out / "progress.json", json.dumps(
            {"t": job.t, "samples": job.samples, "acc": c["ema_acc"], "sim": sim,
             "cycles": cycles(), "rate": rate}).encode())

    def run():
        job = Job(cfg, method, seed, method.grid[0], samples, out)
        device = job.rules[-1].device
        device.attach(rtl)
        result = job.run(out, progress, checkpoint=False)[0]
        result["method"] = "lrt-rtl"
        result["rtl_mismatches"] = device.mismatches
        return result

    result = await bridge(run)()
    result |= {"simulator": sim, "sim_cycles": cycles(), "sim_seconds": time.time() - t0}
    atomic_write(out / "rtl.json", json.dumps(result, indent=1).encode())
