"""Hypothesis fuzz of pysim.hw.accel: random command streams never raise, every error
leaves the state exactly as it was, every response echoes its opcode.

Default run: 300 streams; `nox -s fuzz` runs 10,000 (PYSIM_FUZZ_EXAMPLES).
"""

import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pysim.hw.accel import Accelerator
from pysim.hw.isa import Err, Op, Stat
from pysim.hw.params import ArchParams

ARCH = ArchParams(n_in=9, n_out=5, rank=2, lanes=4, sweeps=2)
EXAMPLES = int(os.environ.get("PYSIM_FUZZ_EXAMPLES", "300"))
word = st.integers(0, (1 << 32) - 1)


@st.composite
def command(draw):
    if draw(st.integers(0, 9)) == 0:  # raw garbage
        return draw(st.lists(word, min_size=1, max_size=6))
    op = draw(st.sampled_from(list(Op) + [0x55]))
    operand = draw(st.one_of(st.integers(0, 12), st.integers(0, 0xFFFF)))
    header = (int(op) << 24) | operand
    if draw(st.integers(0, 19)) == 0:
        header |= draw(st.integers(1, 255)) << 16  # reserved bits
    n = {Op.SET_CFG: 1, Op.LOAD_W: 3, Op.INJECT: 3, Op.INFER: 3, Op.UPDATE: 5,
         Op.SET_STUCK: 1}.get(op, 0)
    n = max(0, n + draw(st.sampled_from([0, 0, 0, 0, -1, 1])))
    if op in (Op.LOAD_W, Op.INJECT, Op.INFER, Op.UPDATE) and draw(st.booleans()):
        payload = [int(v) for v in draw(st.lists(st.integers(0, 127), min_size=n, max_size=n))]
        payload = [v | v << 8 | v << 16 | v << 24 for v in payload]  # small, legal values
    else:
        payload = draw(st.lists(word, min_size=n, max_size=n))
    return [header, *payload]


def same_state(a: dict, b: dict) -> bool:
    return all(np.array_equal(a[k], b[k]) if isinstance(a[k], np.ndarray) else a[k] == b[k]
               for k in a)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(command(), min_size=1, max_size=25))
def test_random_command_streams(stream):
    acc = Accelerator(ARCH)
    for words in stream:
        before, stats = acc.snapshot(), list(acc.stats)
        resp = acc.execute(words)
        assert resp[0] >> 24 == words[0] >> 24
        err = Err((resp[0] >> 16) & 0xFF)
        if err != Err.OK:
            assert len(resp) == 1
            assert same_state(before, acc.snapshot())
            stats[Stat.ERRORS] += 1
            stats[Stat.CYCLES] += 1
            assert acc.stats == stats
        assert all(0 <= w < 1 << 32 for w in resp)
