"""Energy from event counts: stats counters × per-event energies (pJ).

Never constants in code: the technology energies come from the accelerator YAML
(``configs/accel/*.yaml``, section ``energy``) and the NVM energies from the device
YAML (``configs/devices/*.yaml``).
"""

from __future__ import annotations

from ..nvm import DeviceConfig
from .isa import Stat
from .params import EnergyParams


def energy_pj(stats: list[int] | dict[str, int], device: DeviceConfig,
              tech: EnergyParams) -> dict[str, float]:
    """Energy per component in pJ: ``mac`` (LRT lanes + inference MACs + scalar unit),
    ``sram`` (factor memory), ``nvm_write`` (cells and pulses), ``nvm_read``, ``total``.
    """
    if isinstance(stats, dict):
        get = lambda s: stats[s.name.lower()]  # noqa: E731
    else:
        get = lambda s: stats[s]  # noqa: E731
    out = {
        "mac": (get(Stat.MACS) * tech.lane_mac_pj + get(Stat.INFER_MACS) * tech.infer_mac_pj
                + get(Stat.SFU_CYCLES) * tech.sfu_cycle_pj),
        "sram": get(Stat.SRAM_READS) * tech.sram_read_pj
        + get(Stat.SRAM_WRITES) * tech.sram_write_pj,
        "nvm_write": (get(Stat.NVM_WRITES) * device.write_energy_per_cell_pj
                      + get(Stat.NVM_PULSES) * device.write_energy_per_pulse_pj),
        "nvm_read": get(Stat.NVM_READS) * device.read_energy_pj,
    }
    out["total"] = sum(out.values())
    return out


def seconds(stats: list[int] | dict[str, int], tech: EnergyParams) -> float:
    """Execution time of the counted cycles at the configured clock (s)."""
    cycles = stats["cycles"] if isinstance(stats, dict) else stats[Stat.CYCLES]
    return cycles / (tech.clock_mhz * 1e6)
