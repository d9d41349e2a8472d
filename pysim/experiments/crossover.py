"""Layer-size crossover: energy per adapted sample of each rule against layer width.

For dense layers ``n_out × n_in`` each rule (:mod:`pysim.rules`) runs on a short seeded
synthetic gradient stream on a :class:`~pysim.nvm.Crossbar` of a device preset, and its
own counters are priced by :func:`pysim.rules.energy_pj` — the function
:meth:`pysim.experiments.job.Job.result` uses — so the figures are the model's counts, not a
formula typed beside it.

Synthetic stream: one rank-1 term ``dy xᵀ`` per sample, ``x = relu(N(0, 1))`` (half the
activations zero, as after a ReLU), ``dy ~ N(0, 1/n_out)``. The learning rate is set
per shape so that the rms per-sample update ``lr·|dy_i x_j|`` is ``update_lsb`` level
steps (default 1): per-sample SGD then writes a large share of the cells every sample,
as in the digits studies (where its worst cell sees about one write per sample), and the
batched rules see the same gradient scale. It is a parameter (:class:`Options`).

LRT is priced twice. *Float accounting*: the float rule's counters (a lane MAC per
multiply of the update's own arithmetic, an SRAM word per factor element moved). *pysim.hw*:
the same stream quantised to the accelerator's int8 codes (one fixed scale per stream for x
and for dy, as the network's quantisers use) and run through the bit-accurate model of the
accelerator (:class:`pysim.hw.accel.Accelerator`, the RTL's specification) sized to the
layer, its stats counters priced by :func:`pysim.hw.energy.energy_pj` — lane MACs and
scalar-unit cycles, factor-memory words, the commit's NVM writes and pulses, and the
read-compare of every cell the commit passes (a cost the float accounting leaves out).

Run alone: ``python -m pysim.experiments.crossover --out DIR`` (a markdown table and a PNG).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import preset_dir
from ..hw import driver
from ..hw.accel import Accelerator
from ..hw.energy import energy_pj as hw_energy_pj
from ..hw.engine import lr_registers
from ..hw.isa import Err, Op, Reg
from ..hw.params import AccelConfig
from ..nvm import Crossbar, DeviceConfig
from ..rules import LRT, SGD, MiniBatchSGD, MixedPrecision, energy_pj

PRESETS = tuple(sorted(p.stem for p in preset_dir("devices").glob("*.yaml")))
BASELINES = ("sgd", "minibatch", "mixed")
LRT_RULES = ("lrt", "lrt_hw")  # float accounting, the bit-accurate accelerator's stats
ACCOUNTING = {"lrt": "float accounting", "lrt_hw": "pysim.hw"}
PULSE_MODE = {"single": 0, "per_level": 1, "per_bit": 2}  # docs/hw-spec.md, Reg.PULSE_MODE
VERSION = 2  # of the rows' content: a cache of another version is recomputed
SHAPES = ("square", "classifier")


@dataclass(frozen=True)
class Options:
    """What the crossover study runs.

    ``widths``: n_in of each layer. ``shapes``: ``square`` (n_out = n_in) and
    ``classifier`` (n_out = 10, a 10-class output layer like the MLP's and CNN's last
    layer — the shape most unlike the square one). ``samples``: adapted samples per run
    (one commit of B = 100 by default: the batched rules write once; all counts are per
    sample). ``update_lsb``: rms per-sample update in level steps (sets lr). Widths above
    ``other_max_width`` run on ``full_preset`` only: a 2048-wide square layer is most of
    the study's CPU time, and the suite's budget is < 2 CPU-minutes for the whole study.
    """

    widths: tuple[int, ...] = (16, 32, 64, 128, 256, 512, 1024, 2048)
    shapes: tuple[str, ...] = SHAPES
    ranks: tuple[int, ...] = (4, 8)
    presets: tuple[str, ...] = PRESETS
    batch: int = 100
    samples: int = 100
    full_preset: str = "rram"
    other_max_width: int = 1024
    update_lsb: float = 1.0
    seed: int = 0
    accel: str = "default"
    rules: tuple[str, ...] = field(default=("sgd", "minibatch", "mixed", "lrt", "lrt_hw"))


def layer_shape(shape: str, width: int) -> tuple[int, int]:
    """(n_out, n_in) of a layer of ``width`` inputs."""
    return (width, width) if shape == "square" else (10, width)


def stream(n_out: int, n_in: int, samples: int, rng: np.random.Generator
           ) -> tuple[np.ndarray, np.ndarray]:
    """``samples`` rank-1 gradient terms: dy (samples × n_out), x (samples × n_in)."""
    x = np.maximum(rng.standard_normal((samples, n_in)), 0.0)
    dy = rng.standard_normal((samples, n_out)) / math.sqrt(n_out)
    return dy, x


def learning_rate(dy: np.ndarray, x: np.ndarray, lsb: float, update_lsb: float) -> float:
    """lr such that the rms per-sample update ``lr·dy_i x_j`` is ``update_lsb`` LSBs."""
    rms = math.sqrt(float(np.mean(dy ** 2)) * float(np.mean(x ** 2)))
    return update_lsb * lsb / rms


def make_rule(name: str, xbar: Crossbar, lr: float, batch: int, rank: int,
              rng: np.random.Generator):
    """One rule as the digits studies build it (round to nearest, no max-norm)."""
    if name == "sgd":
        return SGD(xbar, lr)
    if name == "minibatch":
        return MiniBatchSGD(xbar, lr, batch)
    if name == "mixed":
        return MixedPrecision(xbar, lr)
    return LRT(xbar, lr, batch, rank=rank, rng=rng)


def setup(preset: str, n_out: int, n_in: int, opt: Options
          ) -> tuple[np.ndarray, np.ndarray, Crossbar, float]:
    """What every rule of one (preset, shape) sees: the stream (dy, x), a fresh crossbar
    with the same initial levels, and the learning rate."""
    dy, x = stream(n_out, n_in, opt.samples, np.random.default_rng([opt.seed, n_out, n_in]))
    xbar = Crossbar(DeviceConfig.load(preset), (n_out, n_in), np.random.default_rng(opt.seed))
    return dy, x, xbar, learning_rate(dy, x, xbar.lsb, opt.update_lsb)


def run_one(rule: str, preset: str, n_out: int, n_in: int, rank: int, opt: Options,
            tech) -> dict:
    """Energy per adapted sample (pJ: mac, sram, nvm, total) and writes of one run."""
    dy, x, xbar, lr = setup(preset, n_out, n_in, opt)
    r = make_rule(rule, xbar, lr, opt.batch, rank, np.random.default_rng(opt.seed + 1))
    for t in range(opt.samples):
        r.step(dy[t][None, None], x[t][None, None])  # one job, one term
    e = {k: v.item() / opt.samples for k, v in energy_pj(r.stats, tech).items()}
    e["total"] = e["mac"] + e["sram"] + e["nvm"]
    return {"rule": rule, "preset": preset, "samples": opt.samples,
            "update_lsb": opt.update_lsb, "n_out": n_out, "n_in": n_in,
            "rank": rank if rule == "lrt" else None, "lr": lr, "energy_pj": e,
            "writes_per_sample": r.stats.nvm.cells_written.item() / opt.samples}


def int8_scale(v: np.ndarray) -> float:
    """Step of a symmetric int8 quantiser that maps the stream's largest |v| to 127."""
    m = float(np.abs(v).max())
    return m / 127 if m > 0 else 1.0


def run_hw(preset: str, n_out: int, n_in: int, rank: int, opt: Options,
           accel: AccelConfig) -> dict:
    """LRT on :class:`~pysim.hw.accel.Accelerator` (sized to the layer) over the same
    stream and initial levels as :func:`run_one` (:func:`setup`); energy per adapted sample
    from its stats (pJ: mac = lane MACs + scalar-unit cycles, sram, nvm = writes and the
    read-compare)."""
    dy, x, xbar, lr = setup(preset, n_out, n_in, opt)
    device = xbar.device
    x_step, dy_step = int8_scale(x), int8_scale(dy)
    arch = dataclasses.replace(accel.arch, n_out=n_out, n_in=n_in, rank=rank,
                               w_bits=device.bits)
    arch.validate(f"crossover {n_out}×{n_in} r = {rank}")
    hw = Accelerator(AccelConfig(accel.name, accel.description, arch, accel.energy))
    # One code product is x_step·dy_step stored units, lsb of them per level.
    mant, shift = lr_registers(lr * x_step * dy_step / xbar.lsb)
    config = [driver.set_cfg(Reg.LR_MANT, mant), driver.set_cfg(Reg.LR_SHIFT, shift),
              driver.set_cfg(Reg.PULSE_MODE, PULSE_MODE[device.pulses]),
              driver.set_cfg(Reg.RHO_COUNT, math.ceil(0.01 * n_out * n_in))]
    config += [driver.inject(row, codes) for row, codes in enumerate(xbar.codes()[0])]
    config.append(driver.simple(Op.CLEAR_STATS))
    x_codes = np.clip(np.rint(x / x_step), -128, 127).astype(int)
    dy_codes = np.clip(np.rint(dy / dy_step), -128, 127).astype(int)
    cmds = config + [driver.update(x_codes[t], dy_codes[t]) for t in range(opt.samples)]
    cmds += [driver.simple(Op.COMMIT)] * (opt.samples // opt.batch)
    for words in cmds:
        if driver.parse(hw.execute(words))[1] != Err.OK:
            raise RuntimeError(f"accelerator refused {Op(words[0] >> 24).name} in the "
                               f"crossover run {preset} {n_out}×{n_in} r = {rank}")
    st = hw.stats_dict()
    p = hw_energy_pj(st, device, accel.energy)
    e = {"mac": p["mac"], "sram": p["sram"], "nvm": p["nvm_write"] + p["nvm_read"]}
    e = {k: v / opt.samples for k, v in e.items()}
    e["total"] = e["mac"] + e["sram"] + e["nvm"]
    return {"rule": "lrt_hw", "preset": preset, "samples": opt.samples,
            "update_lsb": opt.update_lsb, "n_out": n_out, "n_in": n_in, "rank": rank,
            "lr": lr, "energy_pj": e, "writes_per_sample": st["nvm_writes"] / opt.samples,
            "cycles_per_sample": st["cycles"] / opt.samples}


def run(opt: Options = Options()) -> list[dict]:
    """Every (preset, shape, width, rule[, rank]) run of ``opt``."""
    accel = AccelConfig.load(opt.accel)
    tech = accel.energy
    rows = []
    for preset in opt.presets:
        for shape in opt.shapes:
            for w in opt.widths:
                if preset != opt.full_preset and w > opt.other_max_width:
                    continue
                n_out, n_in = layer_shape(shape, w)
                for rule in opt.rules:
                    for rank in (opt.ranks if rule in LRT_RULES else (0,)):
                        row = (run_hw(preset, n_out, n_in, rank, opt, accel)
                               if rule == "lrt_hw" else
                               run_one(rule, preset, n_out, n_in, rank, opt, tech))
                        row["shape"], row["width"] = shape, w
                        rows.append(row)
    return rows


def crossover_width(widths, lrt: list[float], base: list[float]) -> int | None:
    """Smallest width from which LRT's energy stays strictly below the baseline's at every
    larger width; None if it is not below at the largest width."""
    found = None
    for w, a, b in sorted(zip(widths, lrt, base, strict=True), reverse=True):
        if a < b:
            found = w
        else:
            break
    return found


def series(rows, preset, shape, rule, rank=None):
    """(widths, total energies in pJ) of one rule's rows, by width."""
    sel = [r for r in rows if r["preset"] == preset and r["shape"] == shape
           and r["rule"] == rule and (rank is None or r["rank"] == rank)]
    sel.sort(key=lambda r: r["width"])
    return [r["width"] for r in sel], [r["energy_pj"]["total"] for r in sel]


def crossovers(rows: list[dict]) -> dict:
    """{(preset, shape, rank, lrt rule, baseline): crossover width or None}."""
    out = {}
    for preset in sorted({r["preset"] for r in rows}):
        for shape in sorted({r["shape"] for r in rows}):
            for rank in sorted({r["rank"] for r in rows if r["rule"] in LRT_RULES}):
                for lrt_rule in LRT_RULES:
                    w, lrt = series(rows, preset, shape, lrt_rule, rank)
                    for b in BASELINES:
                        wb, base = series(rows, preset, shape, b)
                        if lrt and wb == w:
                            out[(preset, shape, rank, lrt_rule, b)] = crossover_width(
                                w, lrt, base)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("out/crossover"))
    ap.add_argument("--widths", type=int, nargs="*")
    args = ap.parse_args(argv)
    opt = Options() if not args.widths else Options(widths=tuple(args.widths))
    t0 = time.process_time()
    rows = run(opt)
    cpu = time.process_time() - t0
    args.out.mkdir(parents=True, exist_ok=True)
    from .crossover_report import section

    text = "\n".join(section(rows, args.out / "crossover.png", "crossover.png", cpu))
    (args.out / "crossover.md").write_text(text)
    print(text)
    print(f"crossover: {cpu:.1f} CPU-s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
