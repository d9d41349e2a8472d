"""Yosys's reading of an RTL block, written back as Verilog for simulation.

The synthesis figures (:mod:`pysim.tools.synth`) are those of the netlist Yosys builds
from the RTL, not of the RTL that Icarus and Verilator simulate. Where Yosys's front end
reads a construct differently (Yosys 0.23 sizes ``N'(x)`` inside an expression at x's
width: ``a + N'(x)`` keeps a carry, and inside a concatenation it moves the operands
beside it), the figures
describe other hardware. ``netlist(block, params)`` elaborates a block as the synthesis
flow does (``chparam -set``, ``hierarchy``, ``proc``, ``flatten``) and writes it out;
``nox -s cocotb -- --netlist`` (and ``sim/test_netlists.py``) run the benches on it, so
the pysim comparison covers what Yosys synthesises.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..hw.rtl import includes_digest, sources
from .synth import run_yosys

SCRIPT = """read_verilog -sv -I{rtl} {files}
chparam {chparam} {top}
hierarchy -check -top {top}
proc
flatten
opt_clean
rename -top {top}
check -assert
write_verilog -noattr {out}
"""


def netlist(block: str, params: dict, rtl: Path, out_dir: Path,
            timeout: float = 600.0) -> Path:
    """Yosys's elaboration of ``rtl/<block>.v`` at ``params``, flattened, as one Verilog
    module named ``block`` with the same ports (``out_dir/<block>.v``). Rebuilt when the
    sources or the parameters change (their hash is kept beside it)."""
    files = [rtl / s for s in sources(block)]
    digest = hashlib.sha256(repr(sorted(params.items())).encode())
    for f in files:
        digest.update(f.name.encode() + f.read_bytes())
    digest.update(includes_digest(rtl).encode())
    out_dir.mkdir(parents=True, exist_ok=True)
    out, stamp = out_dir / f"{block}.v", out_dir / f"{block}.sha256"
    if out.exists() and stamp.exists() and stamp.read_text() == digest.hexdigest():
        return out
    chparam = " ".join(f"-set {k} {int(v)}" for k, v in sorted(params.items()))
    script = SCRIPT.format(rtl=rtl, files=" ".join(str(f) for f in files), top=block,
                           chparam=chparam, out=out.name)
    err = run_yosys(script, out_dir, f"netlist_{block}", timeout)
    if err:
        raise RuntimeError(f"yosys could not elaborate {block} {params} ({err}); its log: "
                           f"{out_dir / f'netlist_{block}.log'}")
    stamp.write_text(digest.hexdigest())
    return out
