"""The synthesis table of :mod:`pysim.tools.synth`: one row per block and the checks of
the update unit against the resource targets (docs/architecture.md says what each figure
means)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .synth_refs import REFERENCES, is_multiplier_row, multiplier_row

if TYPE_CHECKING:
    from .synth import Figures

# What each block is, in the order the table prints them.
BLOCKS = {"mac_array": "MAC array (forward pass)",
          "lrt_unit": "low-rank update unit (UPDATE), with its sub-blocks",
          "vec_unit": "  vector unit: Gram-Schmidt, normalise, rotate",
          "factor_mem": "  L and R banks with their clear",
          "ram_1r1w": "  memory bank (each instance)",
          "core_svd": "  (r+1)×(r+1) core and Jacobi SVD, on the scalar unit",
          "scalar_mul": "  the scalar unit's two 32×32 multipliers", "sort_net": "  sort of σ",
          "reduce_ok": "  unbiased reduction, on the scalar unit", "rsqrt": "  rsqrt",
          "commit_unit": "COMMIT: column scan, ΔW passes, with its scale chain",
          "commit_scale": "  scale chain, on the shared scalar pair",
          "nvm_crossbar": "crossbar array model + write controller",
          "cmd_decode": "command decoder and error checks", "accel_stats": "stats counters",
          "accel_seq": "sequencer: command and response buffers, registers, FSM",
          "accel_top": "the whole accelerator, one run"}
UPDATE_UNIT = ("lrt_unit", "commit_unit")


# The NVM crossbar's cell arrays are the device the accelerator writes, not its logic:
# they stay memories whatever their ports (a crossbar reads a whole row at once).
DEVICE, DEVICE_MODULE = "u_xbar", "nvm_crossbar"  # its instance in accel_top, its module


def is_ported(mem: dict) -> bool:
    """An array with more than one read or one write port: logic, not a memory macro
    (the crossbar's cells excepted)."""
    return ((mem["read_ports"] > 1 or mem["write_ports"] > 1)
            and not mem.get("name", "").startswith(f"{DEVICE}."))


def _muls(f: Figures) -> str:
    if not f.muls:
        return "0"
    a, b = max(f.muls, key=lambda w: w[0] * w[1])
    return f"{len(f.muls)} (≤{a}×{b})"


def _ports(mems: list[dict]) -> str:
    """The most read and the most write ports of any of ``mems``: '8R6W'."""
    return (f"{max(m['read_ports'] for m in mems)}R"
            f"{max(m['write_ports'] for m in mems)}W")


def _mems(f: Figures) -> str:
    if not f.mems:
        return "0"
    return f"{f.mem_bits:,} ({len(f.mems)}, ≤{_ports(f.mems)})"


def table(figs: dict[str, Figures]) -> list[str]:
    """The per-block table and the checks against the resource targets."""
    cal = figs.get("calibration")
    head = (f"  {'block':<14}{'cells':>11}{'flip-flops':>12}{'mem bits':>22}{'$mul':>14}"
            f"{'$div/$mod':>10}{'widest reg':>11}{'depth':>7}{'×cal':>6}   what")
    lines = [head]
    names = [k for b in list(BLOCKS) + list(REFERENCES) for k in figs
             if k.split("#")[0] == b]
    names += [k for k in figs if k not in names]  # a block added without a description
    for name in names:
        f = figs[name]
        what = (REFERENCES[name][2] if name in REFERENCES
                else "registered signed multiply alone (reference: the update unit's "
                     "$mul of this shape)" if is_multiplier_row(name)
                else BLOCKS.get(name.split("#")[0], ""))
        if f.error:
            why = f.error.splitlines()[-1]
            words = (f"; before ABC: $mul {_muls(f)}, $div/$mod {f.divs}, widest reg "
                     f"{f.widest_reg}" if f.muls or f.widest_reg else "")
            lines.append(f"  {name:<14}{'—':>11}   {what}: Yosys failed ({why}){words}")
            continue
        rel = (f"{f.depth / cal.depth:.1f}" if cal and cal.depth and f.depth is not None
               else "—")
        lines.append(f"  {name:<14}{f.cells:>11,}{f.flipflops:>12,}{_mems(f):>22}"
                     f"{_muls(f):>14}{f.divs:>10}{f.widest_reg:>11}"
                     f"{f.depth if f.depth is not None else '—':>7}{rel:>6}   {what}")
    lines += checks(figs)
    return lines


def checks(figs: dict[str, Figures]) -> list[str]:
    """The resource targets of the update unit, as measured (docs/architecture.md)."""
    mac, cal = figs.get("mac_array"), figs.get("calibration")
    upd = [figs.get(n) for n in UPDATE_UNIT]
    if not mac or not all(upd) or mac.error or any(u.error for u in upd):
        return ["  (update unit vs MAC array: not all blocks synthesised)"]
    cells = sum(u.cells for u in upd)
    out = [f"  update unit (lrt_unit + commit_unit): {cells:,} cells = "
           f"{cells / mac.cells:.1f}× the MAC array's {mac.cells:,} (target ≤ 25×)"]
    ported = [m for u in upd for m in u.ported]
    banks = [m for u in upd for m in u.mems]
    if ported:
        ports = _ports(ported)
        bits, kept = sum(u.ported_bits for u in upd), sum(u.mem_bits for u in upd)
        out.append(f"  update unit: {len(ported)} multi-port arrays ({bits:,} bits, ≤{ports}) "
                   f"counted as the flip-flops and multiplexers they map to; {len(banks)} "
                   f"≤1R1W memories ({kept:,} bits) not")
    elif any(is_ported(m) for m in banks):
        out.append("  update unit: multi-port arrays left as $mem, outside the cells "
                   "(--keep-ported, the earlier measure)")
    divs = sum(u.divs for u in upd)
    muls = [m for u in upd for m in u.muls]
    wide = [m for m in muls if max(m) > 32]
    out.append(f"  update unit: {len(muls)} $mul ({len(wide)} wider than 32 bits), "
               f"{divs} $div/$mod, widest register "
               f"{max(u.widest_reg for u in upd)} bits")
    refs = [figs.get(multiplier_row(a, b)) for a, b in muls]
    if muls and all(r and not r.error for r in refs):
        alone = sum(r.cells - r.flipflops for r in refs)
        out.append(f"  update unit's {len(muls)} $mul, each synthesised alone without its "
                   f"registers: {alone:,} cells = {alone / mac.cells:.1f}× the MAC array; "
                   f"the rest {cells - alone:,} = {(cells - alone) / mac.cells:.1f}×")
    if cal and cal.depth:
        worst = max((f.depth or 0, n) for n, f in figs.items()
                    if n not in REFERENCES and not is_multiplier_row(n) and not f.error)
        out.append(f"  deepest path: {worst[1]} {worst[0]} gate levels = "
                   f"{worst[0] / cal.depth:.1f}× the calibration's {cal.depth} (target ≤ 1.5×)")
    return out
