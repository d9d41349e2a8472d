"""Accelerator parameters (`configs/accel/*.yaml`): architecture and energy figures.

The architecture block fixes every width and size of the datapath; the RTL takes the
same values as Verilog parameters. Ranges are what the RTL can build.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config import (
    NAME_PATTERN,
    ConfigError,
    from_mapping,
    load_yaml,
    resolve_preset,
    section,
    spec,
)


@dataclass(frozen=True)
class ArchParams:
    """Sizes and widths. Widths in bits; Q formats in docs/hw-spec.md."""

    # Sizes: the crossbar, the rank, the MAC lanes.
    n_in: int = spec(kind=int, lo=1, hi=4096, default=64, doc="crossbar columns (x length)")
    n_out: int = spec(kind=int, lo=1, hi=4096, default=10, doc="crossbar rows (dy, y length)")
    rank: int = spec(kind=int, lo=1, hi=8, default=4, doc="LRT rank r (q = r + 1 ≤ 9)")
    lanes: int = spec(kind=int, lo=1, hi=64, default=8, doc="MAC lanes P")
    # The LRT unit's fixed point (docs/fixed-point.md).
    f_bits: int = spec(kind=int, lo=8, hi=20, default=16, doc="factor width F (L, R in Q1.F-1)")
    g_bits: int = spec(kind=int, lo=0, hi=12, default=8, doc="Gram-Schmidt guard bits G")
    wc_bits: int = spec(kind=int, lo=10, hi=26, default=24, doc="core mantissa width Wc")
    sweeps: int = spec(kind=int, lo=1, hi=8, default=4, doc="Jacobi sweeps S")
    # Storage and counter widths.
    w_bits: int = spec(kind=int, lo=2, hi=8, default=8, doc="weight level-code width")
    cnt_bits: int = spec(kind=int, lo=8, hi=32, default=32, doc="per-cell write counter width")
    sigma_bits: int = spec(kind=int, lo=40, hi=64, default=64, doc="sigma register width")
    acc_bits: int = spec(kind=int, lo=16, hi=32, default=32, doc="inference accumulator width")
    # The commit's scale, and the layer slots.
    gw_bits: int = spec(kind=int, lo=12, hi=24, default=20, doc="commit scale mantissa width")
    layers: int = spec(kind=int, lo=1, hi=16, default=1,
                       doc="layer slots: crossbars and factor banks of n_out x n_in each")

    @property
    def q(self) -> int:
        return self.rank + 1

    def validate(self, source: str, prefix: str = "arch.") -> None:
        if self.rank > min(self.n_in, self.n_out):
            raise ConfigError(source, f"{prefix}rank", self.rank,
                              f"must be ≤ min(n_in, n_out) = {min(self.n_in, self.n_out)}",
                              "lower rank or enlarge the layer")
        if self.wc_bits < self.f_bits + 2:
            raise ConfigError(source, f"{prefix}wc_bits", self.wc_bits,
                              f"must be ≥ f_bits + 2 = {self.f_bits + 2} (core precision "
                              "below the factors' loses accuracy)", "raise wc_bits")
        if self.f_bits + self.gw_bits + 16 + self.rank.bit_length() > 62:
            raise ConfigError(source, f"{prefix}gw_bits", self.gw_bits,
                              "commit accumulator would exceed 62 bits", "lower gw_bits or f_bits")


@dataclass(frozen=True)
class EnergyParams:
    """Energy per event in pJ (technology figures; sources in the YAML comments)."""

    lane_mac_pj: float = spec(kind=float, lo=0.0, default=0.0, doc="one vector-lane MAC")
    sfu_cycle_pj: float = spec(kind=float, lo=0.0, default=0.0, doc="one scalar-unit cycle")
    sram_read_pj: float = spec(kind=float, lo=0.0, default=0.0, doc="one factor word read")
    sram_write_pj: float = spec(kind=float, lo=0.0, default=0.0, doc="one factor word write")
    infer_mac_pj: float = spec(kind=float, lo=0.0, default=0.0, doc="one int8 inference MAC")
    clock_mhz: float = spec(kind=float, lo=0.0, lo_open=True, default=200.0,
                            doc="clock for time figures")


@dataclass(frozen=True)
class AccelConfig:
    name: str = spec(kind=str, default="accel", pattern=NAME_PATTERN)
    description: str = spec(kind=str, default="")
    arch: ArchParams = field(default_factory=ArchParams)
    energy: EnergyParams = field(default_factory=EnergyParams)

    @classmethod
    def load(cls, name_or_path: str | Path = "default") -> AccelConfig:
        path = resolve_preset(name_or_path, "accel")
        return accel_from_mapping(load_yaml(path), str(path))


def accel_from_mapping(data, source: str = "<mapping>") -> AccelConfig:
    """Validate an accelerator mapping with ``arch`` and ``energy`` sections."""
    if not isinstance(data, dict):
        raise ConfigError(source, "<top level>", data, "must be a mapping",
                          "write 'name:', 'arch:' and 'energy:' sections")
    known = {"name", "description", "arch", "energy"}
    for key in data:
        if not isinstance(key, str) or key not in known:
            raise ConfigError(source, str(key), data[key], "unknown field",
                              f"known fields: {sorted(known)}")
    top = {k: data[k] for k in ("name", "description") if k in data}
    base = from_mapping(AccelConfig, top, source)
    arch = from_mapping(ArchParams, section(data.get("arch"), source, "arch"), source, "arch.")
    energy = from_mapping(EnergyParams, section(data.get("energy"), source, "energy"), source,
                          "energy.")
    return AccelConfig(base.name, base.description, arch, energy)
