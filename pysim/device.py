"""An NVM technology as the crossbar model sees it (``configs/devices/*.yaml``): levels,
pulses, energies, latency, endurance, write noise, drift, faults and write-verify.
What each field does to a write is in :mod:`pysim.nvm`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from .config import NAME_PATTERN, from_mapping, load_yaml, resolve_preset, spec


@dataclass(frozen=True)
class DeviceConfig:
    """One NVM technology. Energies in pJ, latency in ns, rates per 1e6 steps."""

    name: str = spec(kind=str, pattern=NAME_PATTERN, doc="preset name")
    bits: int = spec(kind=int, lo=1, hi=16, doc="bits per weight (2**bits levels)",
                     fix="use 1..16 bits per weight")
    w_max: float = spec(kind=float, lo=0.0, lo_open=True, default=1.0,
                        doc="weights span [-w_max, w_max]")
    quantizer: str = spec(kind=str, choices=("auto", "mid_tread", "mid_rise"), default="auto",
                          doc="auto = mid_rise for bits <= 2, else mid_tread")
    pulses: str = spec(kind=str, choices=("single", "per_level", "per_bit"), default="single",
                       doc="pulses per written cell: 1, |level change|, or flipped bits")
    write_energy_per_pulse_pj: float = spec(kind=float, lo=0.0, default=0.0)
    write_energy_per_cell_pj: float = spec(kind=float, lo=0.0, default=0.0)
    read_energy_pj: float = spec(kind=float, lo=0.0, default=0.0, doc="per cell read")
    write_latency_ns: float = spec(kind=float, lo=0.0, default=0.0, doc="per pulse")
    endurance: float = spec(kind=float, lo=0.0, lo_open=True, default=math.inf,
                            allow_inf=True, doc="writes a cell survives; .inf for none",
                            fix="use a positive number of writes, or .inf")
    write_noise_lsb: float = spec(kind=float, lo=0.0, default=0.0,
                                  doc="std of the programmed value, in LSB")
    drift_sigma_per_1m: float = spec(kind=float, lo=0.0, default=0.0,
                                     doc="analog random-walk std per 1e6 steps, in w_max units")
    flip_rate_per_1m: float = spec(kind=float, lo=0.0, default=0.0,
                                   doc="random bit flips per code bit per 1e6 steps")
    stuck_fraction: float = spec(kind=float, lo=0.0, hi=1.0, default=0.0,
                                 doc="cells stuck at the lowest/highest level")
    write_verify: int = spec(kind=int, lo=0, hi=1000, default=0,
                             doc="max re-program attempts after a read-back mismatch (0: off)")
    description: str = spec(kind=str, default="")

    @property
    def mid_rise(self) -> bool:
        return self.quantizer == "mid_rise" or (self.quantizer == "auto" and self.bits <= 2)

    @classmethod
    def load(cls, name_or_path: str | Path) -> DeviceConfig:
        """Load a preset by name (``configs/devices/<name>.yaml``) or a YAML path."""
        path = resolve_preset(name_or_path, "devices")
        return from_mapping(cls, load_yaml(path), str(path))


def load_device_from_mapping(data: dict, source: str = "<mapping>") -> DeviceConfig:
    """Validate an in-memory device mapping (as a YAML file would give)."""
    return from_mapping(DeviceConfig, data, source)
