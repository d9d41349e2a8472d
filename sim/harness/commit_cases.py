"""Random COMMIT cases for the commit benches (commit_scale, commit_unit): a stream's
factors after a few samples, and the commit's settings and max-norm trackers."""

from __future__ import annotations

import copy


def commit_case(rng, stream, regs: dict):
    """Fold 1–5 random samples into ``stream`` (a :class:`pysim.hw.lrt_unit.LrtUnit`) and
    return a copy of it to commit and the registers of the commit: max-norm on or off,
    any learning rate, and (with max-norm, mostly) trackers from earlier commits."""
    from pysim.hw.isa import N_STATS, Reg

    a = stream.a
    for _ in range(int(rng.integers(1, 6))):
        stream.update(rng.integers(-128, 128, a.n_in), rng.integers(-128, 128, a.n_out),
                      regs, [0] * N_STATS)
    model = copy.deepcopy(stream)
    cfg = dict(regs)
    cfg[Reg.MAXNORM] = int(rng.integers(0, 2))
    cfg[Reg.LR_MANT] = int(rng.integers(0, 1 << 16))
    cfg[Reg.LR_SHIFT] = int(rng.choice([int(rng.integers(0, 64)), 20, 30, 40]))
    if cfg[Reg.MAXNORM] and rng.random() < 0.6:
        model.mn_steps = int(rng.integers(1, 100))
        model.ema = [int(v) for v in rng.integers(1, 1 << 40, 2)]
    return model, cfg
