"""NVM crossbar (pysim.nvm): quantisation, write-on-change, wear, pulses, faults, presets."""

import dataclasses
import math

import numpy as np
import pytest

from pysim.config import ConfigError, preset_names
from pysim.device import DeviceConfig, load_device_from_mapping
from pysim.nvm import Crossbar
from pysim.rules import SGD


def device(**kw):
    base = {"name": "t", "bits": 4, "write_energy_per_pulse_pj": 2.0,
            "write_energy_per_cell_pj": 10.0}
    return load_device_from_mapping(base | kw, "<test>")


def test_every_preset_loads_and_builds():
    names = preset_names("devices")
    assert {"ideal", "rram", "pcm", "stt_mram", "fefet"} <= set(names)
    for name in names:
        xb = Crossbar.from_preset(name, (3, 4), rng=np.random.default_rng(0))
        assert xb.device.name == name
        assert xb.read().shape == xb.cell_shape == (1, 3, 4)  # one job


def test_quantise_round_to_nearest_and_clip():
    xb = Crossbar(device(), (1, 6))  # 4 bits, lsb = 1/8, codes -8..7
    w = np.array([[0.0, 0.06, 0.07, -0.2, 5.0, -5.0]])
    np.testing.assert_array_equal(xb.quantize(w), [[0, 0, 1, -2, 7, -8]])
    assert xb.lsb == 0.125


def test_mid_rise_for_two_bits():
    xb = Crossbar(device(bits=2), (1, 4))
    assert xb.device.mid_rise
    xb.write(np.array([[-1.0, -0.3, 0.3, 1.0]]))
    np.testing.assert_allclose(xb.read()[0], [[-0.75, -0.25, 0.25, 0.75]])


def test_write_only_cells_whose_level_changes():
    xb = Crossbar(device(), (2, 3))
    w = np.array([[0.5, -0.25, 0.0], [0.125, 0.0, -1.0]])
    rep = xb.program(w)
    assert rep.cells_written == 4  # two cells already at level 0
    np.testing.assert_array_equal(xb.write_counts[0], [[1, 1, 0], [1, 0, 1]])
    # A change smaller than half an LSB rounds to the same level: nothing is written.
    rep = xb.write(w + 0.05)
    assert rep.cells_written == 0
    assert rep.energy_pj == 0.0
    w2 = w.copy()
    w2[0, 0] += 0.125
    rep = xb.write(w2)
    assert rep.cells_written == 1
    assert rep.pulses == 1
    assert rep.energy_pj == pytest.approx(10.0 + 2.0)
    assert xb.write_counts[0, 0, 0] == 2


@pytest.mark.parametrize(("rule", "expected_pulses"), [("single", 2), ("per_level", 3 + 5),
                                                       ("per_bit", 2 + 3)])
def test_pulse_rules(rule, expected_pulses):
    xb = Crossbar(device(pulses=rule), (1, 2))
    xb.write_codes(np.array([[1, 0]]))       # 0001, 0000
    rep = xb.write_codes(np.array([[4, -5]]))  # 1 -> 4: 3 levels, bits 0001^0100 = 2 flips
    # 0 -> -5: 5 levels, 0000 ^ 1011 = 3 flips
    assert rep.pulses == expected_pulses
    assert rep.energy_pj == pytest.approx(2 * 10.0 + expected_pulses * 2.0)


def test_endurance_sticks_cells_at_their_level():
    xb = Crossbar(device(endurance=3), (1, 2))
    for k in (1, 2, 3):
        rep = xb.write_codes(np.array([[k, 0]]))
        assert rep.cells_written == 1
    rep = xb.write_codes(np.array([[5, 1]]))
    assert rep.cells_written == 1
    assert rep.blocked == 1
    np.testing.assert_array_equal(xb.codes()[0], [[3, 1]])
    np.testing.assert_array_equal(xb.write_counts[0], [[3, 1]])


def test_stuck_at_faults_pin_extreme_levels():
    xb = Crossbar(device(stuck_fraction=0.3), (40, 40), rng=np.random.default_rng(1))
    frac = xb.stuck.mean()
    assert 0.2 < frac < 0.4
    assert set(np.unique(xb.codes()[xb.stuck])) == {xb.k_min, xb.k_max}
    rep = xb.write(np.zeros((40, 40)))
    assert rep.blocked == int(xb.stuck.sum())
    assert np.all(xb.write_counts[xb.stuck] == 0)


def test_write_noise_is_seeded_and_lands_near_target():
    a = Crossbar(device(write_noise_lsb=0.4), (20, 20), rng=np.random.default_rng(2))
    b = Crossbar(device(write_noise_lsb=0.4), (20, 20), rng=np.random.default_rng(2))
    a.write_codes(np.full((20, 20), 3))
    b.write_codes(np.full((20, 20), 3))
    np.testing.assert_array_equal(a.read(), b.read())
    err = a.codes() - 3
    assert np.abs(err).max() <= 2
    assert 0 < np.count_nonzero(err) < 400


def test_analog_drift_is_a_random_walk():
    xb = Crossbar(device(bits=8, drift_sigma_per_1m=1.0), (100, 100), rng=np.random.default_rng(3))
    xb.drift(250_000)
    std = xb.read().std()
    assert std == pytest.approx(1.0 * math.sqrt(0.25), rel=0.1)
    # Drifted levels differ from the programmed zero: the controller sees them.
    assert np.count_nonzero(xb.codes()) > 5000


def test_drift_stream_does_not_depend_on_the_writes():
    # Write noise draws a data-dependent amount; with a drift_rng of its own, two
    # crossbars written differently still drift by exactly the same amounts.
    dev = device(bits=8, write_noise_lsb=0.3, drift_sigma_per_1m=5.0, flip_rate_per_1m=0.0)
    a, b = (Crossbar(dev, (8, 8), rng=np.random.default_rng(k),
                     drift_rng=np.random.default_rng(7)) for k in (1, 2))
    a.write_codes(np.full((8, 8), 5))
    b.write_codes(np.eye(8, dtype=np.int64))
    before = a.g.copy(), b.g.copy()
    a.drift(1000)
    b.drift(1000)
    np.testing.assert_allclose(a.g - before[0], b.g - before[1], rtol=0, atol=1e-12)
    assert np.any(a.g != before[0])


def test_bit_flips_change_levels_at_the_stated_rate():
    xb = Crossbar(device(bits=8, flip_rate_per_1m=100.0), (50, 50), rng=np.random.default_rng(4))
    flips = xb.drift(1000)  # p = 0.1 per bit
    assert flips == pytest.approx(0.1 * 8 * 2500, rel=0.1)
    assert np.count_nonzero(xb.codes()) > 0.5 * 2500
    assert xb.codes().min() >= xb.k_min
    assert xb.codes().max() <= xb.k_max


def test_stochastic_device_needs_rng():
    with pytest.raises(ValueError, match="pass rng="):
        Crossbar(device(write_noise_lsb=0.1), (2, 2))


@pytest.mark.parametrize(("codes", "match"), [
    (np.zeros((2, 3), np.int64), "shape"),
    (np.full((2, 2), 8), r"outside \[-8, 7\]"),
    (np.zeros((2, 2)), "must be integers"),
])
def test_bad_write_rejected_state_kept(codes, match):
    xb = Crossbar(device(), (2, 2))
    xb.write_codes(np.array([[1, 2], [3, 4]]))
    before = xb.codes().copy(), xb.write_counts.copy()
    with pytest.raises(ValueError, match=match):
        xb.write_codes(codes)
    np.testing.assert_array_equal(xb.codes(), before[0])
    np.testing.assert_array_equal(xb.write_counts, before[1])


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown preset; fix: use one of \[.*'rram'"):
        Crossbar.from_preset("unobtainium", (2, 2))


@pytest.mark.parametrize(("field", "value", "match"), [
    ("bits", 0, "bits = 0: must be ≥ 1"),
    ("bits", 2.5, "must be int, got float"),
    ("bits", True, "not a boolean"),
    ("endurance", 0, "endurance = 0.0: must be > 0.0"),
    ("write_energy_per_pulse_pj", -1.0, "must be ≥ 0.0"),
    ("pulses", "many", "must be one of"),
    ("stuck_fraction", 1.5, "must be ≤ 1.0"),
    ("bitz", 4, "unknown field; fix: did you mean 'bits'"),
])
def test_malformed_device_mapping(field, value, match):
    with pytest.raises(ConfigError, match=match):
        device(**{field: value})


def test_malformed_yaml_file_names_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nbits: [4\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: line \d+, column \d+"):
        DeviceConfig.load(p)
    p.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        DeviceConfig.load(p)
    p.write_text("bits: 4\n")
    with pytest.raises(ConfigError, match="name = <missing>: is required"):
        DeviceConfig.load(p)


def test_write_verify_retries_until_the_level_reads_back():
    noisy = {"write_noise_lsb": 0.6}
    plain = Crossbar(device(**noisy), (30, 30), rng=np.random.default_rng(7))
    verified = Crossbar(device(**noisy, write_verify=20), (30, 30), rng=np.random.default_rng(7))
    target = np.full((30, 30), 3)
    r_plain, r_ver = plain.write_codes(target), verified.write_codes(target)
    assert np.count_nonzero(plain.codes() != 3) > 50
    assert np.count_nonzero(verified.codes() != 3) == 0
    assert r_ver.cells_written == r_plain.cells_written == 900  # one write per cell
    assert r_ver.pulses > r_plain.pulses and r_ver.energy_pj > r_plain.energy_pj
    assert verified.write_counts.max() == 1


@pytest.mark.parametrize("name", preset_names("devices"))
def test_a_level_reads_back_as_itself(name):
    """Without write noise the crossbar takes a written cell's level to be its target
    instead of reading it back: that needs nearest(value(k)) == k for every level."""
    for bits in range(1, 11):
        for w_max in (1.0, 0.7, 3.3, 1e-3):
            dev = dataclasses.replace(DeviceConfig.load(name), bits=bits, write_noise_lsb=0.0,
                                      stuck_fraction=0.0)
            xb = Crossbar(dev, (1, 1), np.random.default_rng(0), w_max=w_max)
            k = np.arange(xb.k_min, xb.k_max + 1)
            np.testing.assert_array_equal(xb._nearest_codes(xb.level_value(k)), k)


@pytest.mark.parametrize(("noise", "verify"), [(0.0, 0), (0.4, 0), (0.4, 2)])
def test_views_patched_after_rule_writes_equal_a_fresh_read(noise, verify):
    """codes() and read() are patched per write, not recomputed: after every write of an
    update rule (steps past the range's ends included) they must equal a recompute from
    the conductances, and the write counts must count exactly the changed levels."""
    dev = dataclasses.replace(DeviceConfig.load("rram"), bits=4, write_noise_lsb=noise,
                              write_verify=verify, endurance=40)
    xb = Crossbar(dev, (6, 9), np.random.default_rng(1))
    xb.program(np.random.default_rng(2).uniform(-1, 1, xb.shape))
    rule = SGD(xb, lr=1.0)
    rng = np.random.default_rng(3)
    for _ in range(300):
        xb.codes(), xb.read()  # the cached views that the write patches
        before, counts = xb.codes().copy(), xb.write_counts.copy()
        steps = rng.integers(-3, 4, xb.shape) * (rng.random(xb.shape) < 0.3)
        rule._apply(steps)
        fresh_codes, fresh_read = xb._nearest_codes(xb.g), xb._readout(xb.g)
        np.testing.assert_array_equal(xb.codes(), fresh_codes)
        np.testing.assert_array_equal(xb.read(), fresh_read)
        if noise == 0.0:
            want = np.clip(before + steps, xb.k_min, xb.k_max)
            worn = counts >= dev.endurance
            np.testing.assert_array_equal(xb.codes(), np.where(worn, before, want))
            np.testing.assert_array_equal(xb.write_counts - counts,
                                          (xb.codes() != before).astype(int))
