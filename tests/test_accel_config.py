"""Accelerator YAML (configs/accel): validation names the field and the fix."""

import pytest

from pysim.config import ConfigError
from pysim.hw.params import AccelConfig, accel_from_mapping

BAD = [
    ({"arch": {"rank": 70}}, "arch.rank = 70: must be ≤ 8"),
    ({"arch": {"n_in": 3, "rank": 4}}, r"arch.rank = 4: must be ≤ min\(n_in, n_out\) = 3"),
    ({"arch": {"f_bits": 24}}, "arch.f_bits = 24: must be ≤ 20"),
    ({"arch": {"wc_bits": 16}}, "arch.wc_bits = 16: must be ≥ f_bits"),
    ({"arch": {"lanes": 0}}, "arch.lanes = 0: must be ≥ 1"),
    ({"arch": {"acc_bits": 40}}, "arch.acc_bits = 40: must be ≤ 32"),
    ({"arch": {"lane": 8}}, "unknown field; fix: did you mean 'lanes'"),
    ({"energy": {"lane_mac_pj": -1}}, "energy.lane_mac_pj = -1.0: must be ≥ 0.0"),
    ({"energy": {"clock_mhz": 0}}, "energy.clock_mhz = 0.0: must be > 0.0"),
    ({"colour": "red"}, "unknown field"),
]


@pytest.mark.parametrize(("data", "match"), BAD, ids=[m for _, m in BAD])
def test_malformed_accel_config(data, match):
    with pytest.raises(ConfigError, match=match):
        accel_from_mapping(data, "accel.yaml")


def test_default_accel_loads_and_unknown_preset_is_named():
    assert AccelConfig.load().arch.rank == 4
    with pytest.raises(ConfigError, match="unknown preset; fix: use one of \\['default'"):
        AccelConfig.load("nonexistent")
