"""Accelerator top level (pysim.hw.accel): commands, errors, commit, wear, timing, stats."""

import numpy as np
import pytest

from pysim.hw import driver as d
from pysim.hw import timing
from pysim.hw.accel import Accelerator
from pysim.hw.isa import N_STATS, Err, Op, Reg, Stat
from pysim.hw.params import AccelConfig, ArchParams


def accel(**arch):
    return Accelerator(ArchParams(**arch))


def ok(resp):
    op, err, info, payload = d.parse(resp)
    assert err == Err.OK, (Op(op).name, err)
    return info, payload


def load_random(acc, rng, lo=-20, hi=20):
    W = rng.integers(lo, hi, (acc.arch.n_out, acc.arch.n_in))
    for i, row in enumerate(W):
        ok(acc.execute(d.load_w(i, row)))
    return W


def test_load_read_and_infer():
    acc = accel(n_in=43, n_out=5, acc_bits=16)
    rng = np.random.default_rng(0)
    W = load_random(acc, rng, -128, 128)
    for i in range(5):
        _, words = ok(acc.execute(d.simple(Op.READ_W, i)))
        np.testing.assert_array_equal(d.unpack_int8(words, 43), W[i])
    x = rng.integers(-128, 128, 43)
    _, y = ok(acc.execute(d.infer(x)))
    y = np.array([d.to_signed(v) for v in y])
    np.testing.assert_array_equal(y, np.clip(W @ x, -(1 << 15), (1 << 15) - 1))
    assert np.any(np.abs(W @ x) > 1 << 15)  # the saturation path was exercised


def test_deterministic_for_a_seed():
    def run():
        acc = Accelerator()
        rng = np.random.default_rng(1)
        out = [acc.execute(d.set_cfg(Reg.MODE, 1)), acc.execute(d.set_cfg(Reg.LFSR_SEED, 77))]
        load_random(acc, rng)
        out += [acc.execute(d.set_cfg(Reg.LR_MANT, 40000)),
                acc.execute(d.set_cfg(Reg.LR_SHIFT, 30))]
        for _ in range(30):
            out.append(acc.execute(d.update(rng.integers(-128, 128, 64),
                                            rng.integers(-128, 128, 10))))
        out.append(acc.execute(d.simple(Op.COMMIT)))
        return out, acc.stats_dict(), acc.xbar.codes.copy()
    a, b = run(), run()
    assert a[0] == b[0] and a[1] == b[1]
    np.testing.assert_array_equal(a[2], b[2])
    assert a[1]["nvm_writes"] > 640  # the commit wrote (besides the 640 loads)


def commit_setup(rho=0, lr_shift=28, maxnorm=0, seed=2, n=40):
    acc = Accelerator()
    rng = np.random.default_rng(seed)
    load_random(acc, rng)
    for reg, v in ((Reg.LR_MANT, 1 << 15), (Reg.LR_SHIFT, lr_shift), (Reg.RHO_COUNT, rho),
                   (Reg.MAXNORM, maxnorm)):
        ok(acc.execute(d.set_cfg(reg, v)))
    for _ in range(n):
        ok(acc.execute(d.update(rng.integers(-128, 128, 64), rng.integers(-128, 128, 10))))
    return acc


def test_commit_applies_the_scaled_low_rank_update():
    acc = commit_setup()
    L, s, R = acc.lrt.as_float()
    M = (L * s) @ R.T
    shift = int(np.rint(np.log2(2 ** 15 * np.abs(M).max() / (10 * np.sqrt(40)))))
    ok(acc.execute(d.set_cfg(Reg.LR_SHIFT, shift)))  # steps of about ±10 levels
    before = acc.xbar.codes.copy()
    want = -np.rint(2.0 ** (15 - shift) * M / np.sqrt(40))  # lr · L σ R^T / sqrt(B)
    info, (nonzero, written) = ok(acc.execute(d.simple(Op.COMMIT)))
    assert info == 1
    dk = acc.xbar.codes - before
    assert np.abs(want).max() >= 5
    assert np.mean(dk == want) > 0.99
    assert np.abs(dk - want).max() <= 1
    assert nonzero == np.count_nonzero(dk) == written
    assert acc.lrt.pending == 0 and not any(acc.lrt.sigma)


def test_rho_gate_refuses_then_accepts():
    acc = commit_setup(rho=640, lr_shift=40)  # tiny step: few cells would change
    snap = acc.snapshot()
    info, (nonzero, written) = ok(acc.execute(d.simple(Op.COMMIT)))
    assert info == 0 and written == 0 and 0 <= nonzero < 640
    assert acc.stats[Stat.GATED] == 1
    np.testing.assert_array_equal(acc.xbar.codes, snap["codes"][0])
    assert acc.lrt.pending == 40  # keeps accumulating: B grows
    ok(acc.execute(d.set_cfg(Reg.RHO_COUNT, 0)))
    ok(acc.execute(d.set_cfg(Reg.LR_SHIFT, 26)))
    info, (nonzero, written) = ok(acc.execute(d.simple(Op.COMMIT)))
    assert info == 1 and written > 0 and acc.stats[Stat.COMMITS] == 1


def test_maxnorm_commit_matches_the_normalised_product():
    acc = commit_setup(maxnorm=1, lr_shift=15 - 2)  # lr = 4 levels per max-normed unit
    L, s, R = acc.lrt.as_float()
    d_l = max(np.abs(L[:, t]).max() * np.sqrt(s[t]) for t in range(4))
    d_r = max(np.abs(R[:, t]).max() * np.sqrt(s[t]) for t in range(4))
    want = -np.rint(4 * np.sqrt(40) * ((L * s) @ R.T) / (d_l * d_r))  # first step: EMA = max
    before = acc.xbar.codes.copy()
    ok(acc.execute(d.simple(Op.COMMIT)))
    dk = acc.xbar.codes - before
    assert np.abs(want).max() >= 10
    assert np.mean(dk == want) > 0.99 and np.abs(dk - want).max() <= 1
    assert acc.lrt.mn_steps == 1 and acc.lrt.ema[0] > 0


def test_endurance_sticks_and_counters_saturate():
    acc = accel(n_in=4, n_out=2, cnt_bits=8)
    ok(acc.execute(d.set_cfg(Reg.ENDURANCE, 3)))
    for k in range(6):
        acc.execute(d.load_w(0, [k + 1, 0, 0, 0]))
    _, counts = ok(acc.execute(d.simple(Op.READ_WCNT, 0)))
    assert counts[0] == 3 and acc.xbar.codes[0, 0] == 3
    assert acc.stats[Stat.NVM_BLOCKED] == 3
    ok(acc.execute(d.set_cfg(Reg.ENDURANCE, 0)))
    for k in range(300):
        acc.execute(d.load_w(1, [k % 2, 0, 0, 0]))
    assert acc.xbar.counts[1, 0] == 255  # 8-bit counter saturates, never wraps


def test_stuck_cells_refuse_writes_and_inject_is_uncounted():
    acc = accel(n_in=40, n_out=2)
    flags = np.zeros(40, bool)
    flags[[3, 33]] = True
    ok(acc.execute(d.set_stuck(1, flags)))
    ok(acc.execute(d.inject(1, np.full(40, 5))))
    assert acc.xbar.counts.sum() == 0 and np.all(acc.xbar.codes[1] == 5)
    _, (written,) = ok(acc.execute(d.load_w(1, np.full(40, -7))))
    assert written == 38 and acc.xbar.codes[1, 3] == 5 and acc.stats[Stat.NVM_BLOCKED] == 2


@pytest.mark.parametrize(("mode", "pulses"), [(0, 2), (1, 3 + 5), (2, 2 + 3)])
def test_pulse_modes(mode, pulses):
    acc = accel(n_in=4, n_out=1, w_bits=4)
    ok(acc.execute(d.set_cfg(Reg.PULSE_MODE, mode)))
    ok(acc.execute(d.load_w(0, [1, 0, 0, 0])))
    base = acc.stats[Stat.NVM_PULSES]
    ok(acc.execute(d.load_w(0, [4, -5, 0, 0])))
    assert acc.stats[Stat.NVM_PULSES] - base == pulses


def error_cases():
    hdr = d.header
    return [
        ("bad opcode", [0x7F000000], Err.BAD_OPCODE),
        ("reserved bits", [hdr(Op.NOP) | 0x10000], Err.BAD_OPERAND),
        ("operand on NOP", [hdr(Op.NOP, 1)], Err.BAD_OPERAND),
        ("short SET_CFG", [hdr(Op.SET_CFG, Reg.MODE)], Err.BAD_LENGTH),
        ("long NOP", [hdr(Op.NOP), 0], Err.BAD_LENGTH),
        ("short UPDATE", d.update(np.zeros(64, int), np.zeros(10, int))[:-1], Err.BAD_LENGTH),
        ("unknown register", d.set_cfg(99, 0), Err.BAD_OPERAND),
        ("mode 2", d.set_cfg(Reg.MODE, 2), Err.BAD_OPERAND),
        ("zero LFSR seed", d.set_cfg(Reg.LFSR_SEED, 0), Err.BAD_OPERAND),
        ("rho too large", d.set_cfg(Reg.RHO_COUNT, 641), Err.BAD_OPERAND),
        ("lr shift 64", d.set_cfg(Reg.LR_SHIFT, 64), Err.BAD_OPERAND),
        ("row out of range", d.load_w(10, np.zeros(64, int)), Err.BAD_OPERAND),
        ("stats index", d.simple(Op.READ_STATS, N_STATS), Err.BAD_OPERAND),
        ("lrt select 3", d.simple(Op.READ_LRT, 3 << 14), Err.BAD_OPERAND),
        ("R row out of range", d.simple(Op.READ_LRT, (1 << 14) | 64), Err.BAD_OPERAND),
        ("locked mode", d.set_cfg(Reg.MODE, 1), Err.CFG_LOCKED),
        ("locked maxnorm", d.set_cfg(Reg.MAXNORM, 1), Err.CFG_LOCKED),
    ]


@pytest.mark.parametrize(("name", "words", "err"), error_cases(), ids=lambda v: str(v)[:20])
def test_errors_leave_state_unchanged(name, words, err):
    acc = Accelerator()
    rng = np.random.default_rng(3)
    load_random(acc, rng)
    ok(acc.execute(d.update(rng.integers(-128, 128, 64), rng.integers(-128, 128, 10))))
    snap, stats = acc.snapshot(), list(acc.stats)
    _, got, info, payload = d.parse(acc.execute(words))
    assert got == err and payload == [] and info == 0
    after = acc.snapshot()
    for key, value in snap.items():
        assert np.array_equal(after[key], value) if isinstance(value, np.ndarray) \
            else after[key] == value, key
    stats[Stat.ERRORS] += 1
    stats[Stat.CYCLES] += timing.SIMPLE_CYCLES
    assert acc.stats == stats


def test_commit_with_nothing_accumulated_is_an_error():
    acc = Accelerator()
    _, err, _, _ = d.parse(acc.execute(d.simple(Op.COMMIT)))
    assert err == Err.COMMIT_EMPTY and acc.stats[Stat.ERRORS] == 1


def test_illegal_python_input_raises():
    acc = Accelerator()
    for bad in ([], [1 << 32], [-1], ["x"], [1.5], "abc"):
        with pytest.raises(ValueError, match=r"32-bit|non-empty"):
            acc.execute(bad)
    with pytest.raises(ValueError, match="int8"):
        d.update(np.full(64, 200), np.zeros(10, int))


def test_read_stats_matches_counters_and_clear():
    acc = commit_setup(n=5)
    for s in Stat:
        _, (lo, hi) = ok(acc.execute(d.simple(Op.READ_STATS, s)))
        # The value is read during execution, before READ_STATS's own cycle is counted.
        want = acc.stats[s] - (timing.SIMPLE_CYCLES if s == Stat.CYCLES else 0)
        assert lo | hi << 32 == want, s.name
    ok(acc.execute(d.simple(Op.CLEAR_STATS)))
    assert acc.stats == [timing.SIMPLE_CYCLES] + [0] * (N_STATS - 1)


@pytest.mark.parametrize("seed", range(3))
def test_cycle_formulas_for_every_command(seed):
    rng = np.random.default_rng(200 + seed)
    arch = ArchParams(n_in=int(rng.integers(4, 70)), n_out=int(rng.integers(3, 20)),
                      rank=int(rng.integers(1, 4)), lanes=int(rng.choice([2, 5, 8])),
                      sweeps=int(rng.integers(2, 5)))
    acc = Accelerator(arch)
    mode, maxnorm, wlat = int(rng.integers(0, 2)), int(rng.integers(0, 2)), int(rng.integers(0, 9))
    for reg, v in ((Reg.MODE, mode), (Reg.MAXNORM, maxnorm), (Reg.WLAT, wlat),
                   (Reg.LR_MANT, 1 << 15), (Reg.LR_SHIFT, 26)):
        ok(acc.execute(d.set_cfg(reg, v)))

    def cycles_of(words):
        before = list(acc.stats)
        resp = acc.execute(words)
        return resp, acc.stats[Stat.CYCLES] - before[Stat.CYCLES], before

    for row in range(arch.n_out):
        resp, c, _ = cycles_of(d.load_w(row, rng.integers(-9, 9, arch.n_in)))
        assert c == timing.row_cycles(arch, wlat if ok(resp)[1][0] else 0)
    for step in range(30):
        x, dy = rng.integers(-128, 128, arch.n_in), rng.integers(-128, 128, arch.n_out)
        resp, c, before = cycles_of(d.update(x, dy))
        rot = acc.stats[Stat.ROTATIONS] - before[Stat.ROTATIONS]
        absorbed = bool(ok(resp)[0])
        assert c == timing.update_cycles(arch, absorbed, False, rot, bool(mode), acc.lrt.last_k)
        if step % 10 == 9:
            resp, c, _ = cycles_of(d.simple(Op.COMMIT))
            info, _ = ok(resp)
            rows = int(np.count_nonzero(acc.xbar.counts.max(axis=1) > 0))  # upper bound only
            want = [timing.commit_cycles(arch, bool(maxnorm), bool(info), n, wlat)
                    for n in range(rows + 1)]
            assert c in want
    assert cycles_of(d.infer(rng.integers(-128, 128, arch.n_in)))[1] == timing.infer_cycles(arch)
    assert cycles_of(d.simple(Op.RESET_LRT))[1] == timing.reset_cycles(arch)
    assert cycles_of(d.simple(Op.READ_W, 0))[1] == timing.row_cycles(arch)
    assert cycles_of(d.simple(Op.NOP))[1] == timing.SIMPLE_CYCLES


def test_accel_config_loads_by_name():
    cfg = AccelConfig.load("default")
    assert cfg.arch.n_in == 64 and cfg.energy.infer_mac_pj > 0


def test_energy_from_counters():
    from pysim.hw.energy import energy_pj
    from pysim.nvm import DeviceConfig
    acc = commit_setup(n=10)
    ok(acc.execute(d.simple(Op.COMMIT)))
    dev, tech = DeviceConfig.load("rram"), AccelConfig.load("default").energy
    e = energy_pj(acc.stats, dev, tech)
    s = acc.stats
    assert e["nvm_write"] == pytest.approx(s[Stat.NVM_WRITES] * 10.9 + s[Stat.NVM_PULSES] * 1.0)
    assert e["sram"] == pytest.approx((s[Stat.SRAM_READS] + s[Stat.SRAM_WRITES]) * 2.5)
    assert e["total"] == pytest.approx(e["mac"] + e["sram"] + e["nvm_write"] + e["nvm_read"])
    assert energy_pj(acc.stats_dict(), dev, tech) == e
    assert energy_pj(acc.stats, DeviceConfig.load("ideal"), tech)["nvm_write"] == 0.0


def _slot_commands(rng, arch, n=33):
    """A slot's own stream: weights, settings, samples and commits."""
    cmds = [d.load_w(i, row) for i, row in
            enumerate(rng.integers(-20, 20, (arch.n_out, arch.n_in)))]
    cmds += [d.set_cfg(Reg.LR_MANT, 1 << 15), d.set_cfg(Reg.LR_SHIFT, 26)]
    for i in range(n):
        cmds.append(d.update(rng.integers(-128, 128, arch.n_in),
                             rng.integers(-128, 128, arch.n_out)))
        if i % 10 == 9:
            cmds.append(d.simple(Op.COMMIT))
    return cmds


@pytest.mark.parametrize("mode", [0, 1])
def test_layer_slots_behave_as_separate_accelerators(mode):
    """Two slots fed interleaved streams end where two one-slot accelerators fed one
    stream each end: levels, counters, factors, σ, every response; the shared stats are
    the sum plus one cycle per SET_CFG LAYER. In unbiased mode the one LFSR runs on
    through both slots' samples, so the separate accelerators get its state handed over."""
    arch = ArchParams(n_in=24, n_out=6, rank=3, lanes=4, layers=2)
    one = ArchParams(n_in=24, n_out=6, rank=3, lanes=4)
    rng = np.random.default_rng(5)
    streams = [_slot_commands(rng, one), _slot_commands(rng, one)]
    both, alone = Accelerator(arch), [Accelerator(one), Accelerator(one)]
    ok(both.execute(d.set_cfg(Reg.MODE, mode)))
    for a in alone:
        ok(a.execute(d.set_cfg(Reg.MODE, mode)))
    switches, lfsr = 0, both.lrt.lfsr
    for i in range(max(map(len, streams))):
        for slot, stream in enumerate(streams):
            if i >= len(stream):
                continue
            ok(both.execute(d.set_cfg(Reg.LAYER, slot)))
            switches += 1
            alone[slot].lrt.lfsr = lfsr
            assert both.execute(stream[i]) == alone[slot].execute(stream[i])
            lfsr = both.lrt.lfsr
            assert alone[slot].lrt.lfsr == lfsr
    snap = both.snapshot()
    for slot, a in enumerate(alone):
        s = a.snapshot()
        for key in ("L", "R", "codes", "counts", "stuck"):
            np.testing.assert_array_equal(snap[key][slot], s[key][0])
        for key in ("sigma", "pending", "mn"):
            assert snap[key][slot] == s[key][0]
    want = [x + y for x, y in zip(alone[0].stats, alone[1].stats, strict=True)]
    want[Stat.CYCLES] += switches - 1  # the MODE writes: one on `both`, two on `alone`
    assert both.stats == want
    assert both.stats[Stat.COMMITS] >= 4 and any(snap["pending"])


def test_layer_register_limits_and_locks():
    acc = Accelerator(ArchParams(n_in=8, n_out=4, rank=2, lanes=2, layers=3))
    assert d.parse(acc.execute(d.set_cfg(Reg.LAYER, 3)))[1] == Err.BAD_OPERAND
    ok(acc.execute(d.set_cfg(Reg.LAYER, 2)))
    assert ok(acc.execute(d.simple(Op.GET_CFG, Reg.LAYER)))[1] == [2]
    ok(acc.execute(d.update(np.arange(8) - 4, np.arange(4) - 2)))
    ok(acc.execute(d.set_cfg(Reg.LAYER, 0)))
    # slot 2 is pending: the settings its accumulation depends on stay locked
    assert d.parse(acc.execute(d.set_cfg(Reg.MODE, 1)))[1] == Err.CFG_LOCKED
    assert d.parse(acc.execute(d.simple(Op.COMMIT)))[1] == Err.COMMIT_EMPTY  # slot 0 is empty
    assert d.parse(accel(n_in=8, n_out=4, rank=2).execute(d.set_cfg(Reg.LAYER, 1)))[1] \
        == Err.BAD_OPERAND
