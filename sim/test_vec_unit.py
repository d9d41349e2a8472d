"""cocotb bench of rtl/vec_unit.v against pysim.hw.vec_unit (gram_schmidt, normalise,
rotate).

Each transaction runs one UPDATE's vector work as lrt_unit sequences it: Gram–Schmidt of
dy against L and of x against R, normalisation of both residuals into the scratch
columns, rotation of both factors. Stimulus: factor states of a running LRT stream and
random orthonormal ones with a zeroed column; random and full-scale int8 samples;
rotations as the core hands them over and random Q2.22 ones that saturate. Covered:
coefficients, squared norms, every factor word after each run, each run's cycle count,
and the lane and memory-port enables (their totals are the model's MAC and SRAM counts).

The memories are modelled here: q banks per factor, a word of P elements, data in the
cycle after the address; a bank's read register holds its word until the bank is read
again (before the first read it holds random bits). The sample port answers the same way.
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from harness import runner
from harness.bench import each_seed, pack, start_and_wait, unpack

OP_GS, OP_NRM, OP_ROT = 0, 1, 2


class Banks:
    """L, R (all q columns) and the sample as the vector unit's memories."""

    def __init__(self, dut, L, R, q: int, p: int, f: int, rng):
        self.dut, self.q, self.p, self.f = dut, q, p, f
        self.mem = {0: self.words(L), 1: self.words(R)}
        self.hold = {s: [int(rng.integers(0, 1 << 62)) % (1 << (p * f)) for _ in range(q)]
                     for s in (0, 1)}
        self.v = {0: [], 1: []}
        self.v_hold = 0
        self.pending = None
        self.macs = self.reads = self.writes = 0

    def words(self, M) -> list[list[int]]:
        n = M.shape[0]
        return [[pack([int(M[b * self.p + i, k]) if b * self.p + i < n else 0
                       for i in range(self.p)], self.f)
                 for b in range(-(-n // self.p))] for k in range(self.q)]

    def matrix(self, side: int, n: int) -> np.ndarray:
        cols = [np.concatenate([unpack(w, self.p, self.f, True) for w in bank])[:n]
                for bank in self.mem[side]]
        return np.stack(cols, axis=1)

    def set_sample(self, side: int, v) -> None:
        self.v[side] = [pack(v[b:b + self.p], 8) for b in range(0, len(v), self.p)]

    def cycle(self) -> None:
        """At a falling edge: last cycle's reads land in the read registers; this cycle's
        reads are taken before this cycle's write (read-first), which is then applied."""
        d = self.dut
        if self.pending is not None:
            side, words, v_word = self.pending
            for k, word in enumerate(words):
                if word is not None:
                    self.hold[side][k] = word
            if v_word is not None:
                self.v_hold = v_word
        w = self.p * self.f
        d.l_rdata_i.value = sum(x << (k * w) for k, x in enumerate(self.hold[0]))
        d.r_rdata_i.value = sum(x << (k * w) for k, x in enumerate(self.hold[1]))
        d.v_rdata_i.value = self.v_hold
        side, addr, ren = int(d.f_side_o.value), int(d.f_addr_o.value), int(d.f_ren_o.value)
        words = [self.mem[side][k][addr] if ren >> k & 1 else None for k in range(self.q)]
        v_word = self.v[int(d.v_side_o.value)][int(d.v_addr_o.value)] \
            if int(d.v_en_o.value) else None
        self.pending = (side, words, v_word)
        wen = int(d.f_wen_o.value)
        if wen:
            side, addr = int(d.f_wside_o.value), int(d.f_waddr_o.value)
            for k in range(self.q):
                if wen >> k & 1:
                    self.mem[side][k][addr] = int(d.f_wdata_o.value)
        self.macs += int(d.macs_o.value)
        self.reads += int(d.reads_o.value)
        self.writes += int(d.writes_o.value)


@cocotb.test()
async def matches_golden_model(dut):
    from pysim.hw import vec_unit
    from pysim.hw.isa import REG_RESET, Reg
    from pysim.hw.lrt_unit import LrtUnit
    from pysim.hw.rtl import arch_of

    p = runner.params()
    arch = arch_of(p)
    cw = max(vec_unit.coef_bits(arch, arch.n_out), vec_unit.coef_bits(arch, arch.n_in))
    assert cw <= 32, f"coefficients of {cw} bits would be cut to the core's 32"
    idle = {"start_i": 0, "op_i": 0, "side_i": 0, "y_i": 0, "e_i": 0, "t_i": 0,
            "v_rdata_i": 0, "l_rdata_i": 0, "r_rdata_i": 0, "x_lane_i": 0}
    async for rng in each_seed(dut, idle):
        stream = LrtUnit(arch)
        regs = dict(REG_RESET)
        regs[Reg.KAPPA_Q4] = 0
        for it in range(runner.iterations(12)):
            await check_passes(dut, arch, rng, *stimulus(rng, it, stream, arch, regs),
                               f"iteration {it}")


@cocotb.test()
async def lends_lanes_to_commit(dut):
    """COMMIT's products on the idle lanes (commit_unit's lane_* ports): operands with the
    valid bit in one cycle, each lane's signed product on p_lane_o the next, F + LGW bits;
    a quarter of the operands at full scale (the most negative values)."""
    from cocotb.triggers import FallingEdge

    from pysim.hw.commit_unit import LG_BITS as lgw
    from pysim.hw.rtl import arch_of

    arch = arch_of(runner.params())
    lanes, f = arch.lanes, arch.f_bits
    idle = {"start_i": 0, "op_i": 0, "side_i": 0, "y_i": 0, "e_i": 0, "t_i": 0,
            "v_rdata_i": 0, "l_rdata_i": 0, "r_rdata_i": 0, "x_lane_i": 0}
    pw = f + lgw
    async for rng in each_seed(dut, idle):
        await FallingEdge(dut.clk_i)
        for it in range(runner.iterations(40)):
            a = rng.integers(-(1 << (f - 1)), 1 << (f - 1), lanes)
            b = rng.integers(-(1 << (lgw - 1)), 1 << (lgw - 1), lanes)
            if it % 4 == 3:
                a[rng.random(lanes) < 0.5] = -(1 << (f - 1))
                b[rng.random(lanes) < 0.5] = -(1 << (lgw - 1))
            dut.x_lane_i.value = ((1 << (lanes * pw)) | (pack(a, f) << (lanes * lgw))
                                  | pack(b, lgw))
            await FallingEdge(dut.clk_i)
            dut.x_lane_i.value = 0
            got = unpack(int(dut.p_lane_o.value), lanes, pw, True)
            want = [int(x) * int(y) for x, y in zip(a, b, strict=True)]
            assert list(got) == want, f"iteration {it}: products"


def stimulus(rng, it: int, stream, arch, regs):
    """Factors (a stream's, or random orthonormal columns with one zeroed), a sample
    (every fourth at full scale), and rotations (every fourth with large entries, which
    drive the saturation path)."""
    from pysim.hw.isa import N_STATS

    n_in, n_out, r, q = arch.n_in, arch.n_out, arch.rank, arch.q
    lim = 1 << (arch.f_bits - 1)
    if it % 3 == 2:
        L, R = (np.clip(np.rint(np.linalg.qr(rng.normal(size=(n, q)))[0] * lim),
                        -lim, lim - 1).astype(np.int64) for n in (n_out, n_in))
        L[:, rng.integers(0, r)] = 0
    else:
        for _ in range(int(rng.integers(1, 4))):
            stream.update(rng.integers(-128, 128, n_in), rng.integers(-128, 128, n_out),
                          regs, [0] * N_STATS)
        L, R = stream.L.copy(), stream.R.copy()
    full = it % 4 == 3
    x = rng.choice([-128, 127], n_in) if full else rng.integers(-128, 128, n_in)
    dy = rng.integers(-128, 128, n_out)
    if it % 4 == 1:
        T_L, T_R = (rng.integers(-(1 << 23), 1 << 23, (q, r)) for _ in range(2))
    else:
        T_L, T_R = (np.rint(np.linalg.qr(rng.normal(size=(q, q)))[0][:, :r]
                            * (1 << 22)).astype(np.int64) for _ in range(2))
    return L, R, x, dy, T_L, T_R


async def check_passes(dut, arch, rng, L, R, x, dy, T_L, T_R, where: str) -> None:
    """Gram–Schmidt of dy and x, normalisation and rotation of both sides on the RTL and
    the model: coefficients, norms, cycles, the factors in the banks, and the enables."""
    from pysim.hw import vec_unit
    from pysim.hw.fixed import rsqrt
    from pysim.hw.isa import N_STATS, Stat

    r = arch.rank
    mem = Banks(dut, L, R, arch.q, arch.lanes, arch.f_bits, rng)
    mem.set_sample(0, dy)
    mem.set_sample(1, x)
    Lm, Rm = L.copy(), R.copy()
    st = [0] * N_STATS
    runs = []
    for side, M, v in ((0, Lm, dy), (1, Rm, x)):
        coef, res, n2, cyc = vec_unit.gram_schmidt(arch, M, v, st)
        runs.append((coef, res, n2))
        edges = await start_and_wait(dut, {"op_i": OP_GS, "side_i": side}, each_cycle=mem.cycle)
        assert edges == cyc, f"{where}: GS side {side} rtl {edges}, model {cyc}"
    assert list(unpack(int(dut.cl_o.value), r, 32, True)) == runs[0][0], f"{where}: c_l"
    assert list(unpack(int(dut.cr_o.value), r, 32, True)) == runs[1][0], f"{where}: c_r"
    assert int(dut.n2l_o.value) == runs[0][2], f"{where}: |res_l|^2"
    assert int(dut.n2r_o.value) == runs[1][2], f"{where}: |res_r|^2"
    for side, M, (_, res, n2) in ((0, Lm, runs[0]), (1, Rm, runs[1])):
        y, e = rsqrt(n2)
        M[:, r], cyc = vec_unit.normalise(arch, res, y, e, st)
        edges = await start_and_wait(dut, {"op_i": OP_NRM, "side_i": side, "y_i": y, "e_i": e},
                                     each_cycle=mem.cycle)
        assert edges == cyc, f"{where}: normalise side {side}"
    for side, M, T in ((0, Lm, T_L), (1, Rm, T_R)):
        cyc = vec_unit.rotate(arch, M, T, st)
        edges = await start_and_wait(dut, {"op_i": OP_ROT, "side_i": side,
                                           "t_i": pack(T.reshape(-1), 24)},
                                     each_cycle=mem.cycle)
        assert edges == cyc, f"{where}: rotate side {side}"
    assert np.array_equal(mem.matrix(0, arch.n_out), Lm), f"{where}: L"
    assert np.array_equal(mem.matrix(1, arch.n_in), Rm), f"{where}: R"
    assert (mem.macs, mem.reads, mem.writes) == \
        (st[Stat.MACS], st[Stat.SRAM_READS], st[Stat.SRAM_WRITES]), where


PARAMS = [dict(N_IN=64, N_OUT=10, RANK=4, LANES=8, F=16, G=8),
          dict(N_IN=16, N_OUT=8, RANK=2, LANES=3, F=14, G=8),
          dict(N_IN=21, N_OUT=5, RANK=2, LANES=5, F=12, G=6)]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"{p['N_IN']}x{p['N_OUT']}r{p['RANK']}")
def test_vec_unit(params, cocotb_opts):
    runner.run("vec_unit", params, **cocotb_opts)
