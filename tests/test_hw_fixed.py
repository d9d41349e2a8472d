"""Fixed-point primitives (pysim.hw.fixed): rounding, saturation, rsqrt, LFSR."""

import math

import numpy as np
import pytest

from pysim.hw.fixed import (
    LFSR_TAPS,
    lfsr_step,
    recip_small,
    rshift,
    rshift_np,
    rsqrt,
    sat,
    sat_np,
    usat,
)


@pytest.mark.parametrize(("a", "s", "expected"), [
    (5, 1, 2), (7, 1, 4), (-5, 1, -2), (-7, 1, -4), (6, 2, 2), (10, 2, 2), (14, 2, 4),
    (-10, 2, -2), (9, 2, 2), (3, 0, 3), (3, -2, 12), (-(1 << 70) - 1, 70, -1),
])
def test_rshift_rounds_half_to_even(a, s, expected):
    assert rshift(a, s) == expected


def test_rshift_np_matches_scalar_and_is_unbiased():
    rng = np.random.default_rng(0)
    a = rng.integers(-(1 << 40), 1 << 40, 20000)
    for s in (1, 3, 17):
        v = rshift_np(a, s)
        assert all(int(x) == rshift(int(y), s) for x, y in zip(v[:500], a[:500], strict=True))
        # Half-even has no bias: the mean rounding error over all residues is ~0.
        err = v * (1 << s) - a
        assert abs(err.mean()) < 0.02 * (1 << s)
    ties = np.arange(-64, 64) * 2 + 1  # all odd: every one a tie at s = 1
    assert rshift_np(ties, 1).sum() == sum(rshift(int(t), 1) for t in ties)


def test_saturation_never_wraps():
    assert sat(1 << 40, 16) == 32767 and sat(-(1 << 40), 16) == -32768
    assert usat(-5, 8) == 0 and usat(1 << 20, 8) == 255
    np.testing.assert_array_equal(sat_np(np.array([1 << 50, -(1 << 50), 7]), 8), [127, -128, 7])


def test_rsqrt_relative_error_and_range():
    rng = np.random.default_rng(1)
    ts = [1, 2, 3, 4, 1 << 30, (1 << 32) - 1, 1 << 32, (1 << 64) - 1, (1 << 100) + 12345]
    ts += [int(v) for v in rng.integers(1, 1 << 62, 3000)] + list(range(1, 3000))
    worst = 0.0
    for t in ts:
        y, e = rsqrt(t)
        assert (1 << 24) <= y <= (1 << 25)
        worst = max(worst, abs(y * 2.0 ** -e * math.sqrt(t) - 1.0))
    assert worst < 2.0 ** -22
    assert rsqrt(0) == (0, 0)
    with pytest.raises(ValueError, match="negative"):
        rsqrt(-1)


def test_lfsr_is_maximal_length():
    state, seen = 1, set()
    for _ in range(65535):
        seen.add(state)
        _, state = lfsr_step(state)
    assert len(seen) == 65535 and state == 1
    assert LFSR_TAPS == 0xB400


def test_recip_table():
    assert [recip_small(k) for k in (1, 2, 3, 4)] == [1 << 24, 1 << 23, 5592405, 1 << 22]
