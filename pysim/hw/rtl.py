"""Where the specification meets the RTL: which Verilog files make each block, and how
:class:`~pysim.hw.params.ArchParams` fields map to the Verilog parameters.

The one list and the one mapping: the cocotb harness, the demo, the bench and the
synthesis flow all take them from here, so that adding a block or a parameter is one edit.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from .params import ArchParams

# Block → the blocks it instantiates (rtl/<block>.v each). Include files (*.vh) are found
# on the include path, not listed.
CHILDREN: dict[str, tuple[str, ...]] = {
    "accel_top": ("accel_seq", "cmd_decode", "accel_stats", "lrt_unit", "commit_unit",
                  "mac_array", "nvm_crossbar", "rsqrt"),
    "accel_seq": (),
    "accel_stats": (),
    "cmd_decode": (),
    "lrt_unit": ("vec_unit", "factor_mem", "core_svd", "reduce_ok", "scalar_mul",
                 "rsqrt_share"),
    "factor_mem": ("ram_1r1w",),
    "commit_unit": ("commit_scale",),
    "commit_scale": ("scalar_mul", "rsqrt_share"),
    "core_svd": ("scalar_mul", "sort_net", "rsqrt_share"),
    "sort_net": (),
    "scalar_mul": (),
    "reduce_ok": ("scalar_mul", "rsqrt_share"),
    "rsqrt_share": ("rsqrt",),
    "vec_unit": ("ram_1r1w",),
    "ram_1r1w": (),
    "rsqrt": (),
    "mac_array": (),
    "nvm_crossbar": (),
}

# Verilog parameter → ArchParams field; the same names in every block that has them.
PARAMS: dict[str, str] = {
    "N_IN": "n_in", "N_OUT": "n_out", "RANK": "rank", "LANES": "lanes", "F": "f_bits",
    "G": "g_bits", "WC": "wc_bits", "SWEEPS": "sweeps", "WB": "w_bits", "CNT_W": "cnt_bits",
    "SIG_W": "sigma_bits", "ACC_W": "acc_bits", "GW": "gw_bits", "LAYERS": "layers",
}


def blocks_of(block: str) -> list[str]:
    """``block`` and every block below it, each once, ``block`` first."""
    if block not in CHILDREN:
        raise ValueError(f"unknown RTL block {block!r}; known: {sorted(CHILDREN)}")
    out = [block]
    for child in CHILDREN[block]:
        out += [b for b in blocks_of(child) if b not in out]
    return out


def sources(block: str) -> list[str]:
    """The Verilog files (names under rtl/) that build ``block``, its own file first."""
    return [f"{b}.v" for b in blocks_of(block)]


def includes_digest(rtl: Path) -> str:
    """SHA-256 over the names and contents of the include files (``*.vh``) in ``rtl``:
    they are found on the include path, not listed as sources, so a build that must follow
    them (the cocotb harness, the netlist cache) stamps this."""
    h = hashlib.sha256()
    for f in sorted(rtl.glob("*.vh")):
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def rtl_params(arch: ArchParams, names: tuple[str, ...] | None = None) -> dict[str, int]:
    """Verilog parameters of ``arch`` (all of :data:`PARAMS`, or only ``names``)."""
    names = tuple(PARAMS) if names is None else names
    unknown = [n for n in names if n not in PARAMS]
    if unknown:
        raise ValueError(f"no ArchParams field for Verilog parameter(s) {unknown}")
    return {n: getattr(arch, PARAMS[n]) for n in names}


def arch_of(params: dict[str, int], **fields) -> ArchParams:
    """ArchParams with the fields that ``params`` (Verilog names) set, then ``fields``
    (ArchParams names) for what a block does not take; defaults elsewhere."""
    unknown = [n for n in params if n not in PARAMS]
    if unknown:
        raise ValueError(f"no ArchParams field for Verilog parameter(s) {unknown}")
    values = {PARAMS[n]: int(v) for n, v in params.items()} | fields
    return dataclasses.replace(ArchParams(), **values)
