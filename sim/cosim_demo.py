"""Co-simulation of the demo: a digits adaptation job whose classifier layer runs its LRT
on rtl/accel_top.v under the simulator, every command checked against pysim.hw.

Run by ``python -m pysim.experiments.demo`` (``nox -s demo``) through the cocotb runner, not by
pytest. The job is the same `pysim.experiments.job.Job` the Python columns run; only the
accelerator engine of its last layer is attached to the RTL (``HwLRT.attach``), so the
RTL column must equal the pysim.hw column exactly.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import cocotb
from cocotb.task import bridge, resume
from harness.bench import clock_and_reset
from harness.host import IDLE, Host


@cocotb.test()
async def cosim(dut):
    import dataclasses

    from pysim.experiments.job import Job
    from pysim.experiments.schema import ExperimentCfg, expand_methods
    from pysim.store import atomic_write

    cfg = ExperimentCfg.load(os.environ["PYSIM_DEMO_CONFIG"])
    n = int(os.environ.get("PYSIM_DEMO_SAMPLES", "0"))
    if n:
        cfg = dataclasses.replace(cfg, stream=dataclasses.replace(
            cfg.stream, samples=n, eval_every=max(1, n // 10)))
    out = Path(os.environ["PYSIM_DEMO_OUT"])
    method = next(m for m in expand_methods(cfg) if m.cfg.hw)
    seed, samples = cfg.seeds[0], cfg.stream.samples
    await clock_and_reset(dut, IDLE)
    host = Host(dut)
    rtl = resume(host.command)

    def progress(job):
        c = job.runs[0].curve[-1]
        bar = "#" * int(30 * job.t / job.samples)
        print(f"  RTL (Icarus) [{bar:<30}] {job.t}/{job.samples} acc {c['ema_acc']:.3f}",
              file=sys.stderr, flush=True)

    def run():
        job = Job(cfg, method, seed, method.grid[0], samples, out)
        engine = job.rules[-1]
        engine.attach(rtl)
        result = job.run(out, progress, checkpoint=False)
        result["method"] = "lrt-rtl"
        result["rtl_mismatches"] = engine.mismatches
        return result

    result = await bridge(run)()
    atomic_write(out / "rtl.json", json.dumps(result, indent=1).encode())
