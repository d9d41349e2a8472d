"""cocotb bench of rtl/commit_unit.v against LrtUnit.commit_scale + delta_levels.

Stimulus: factor states of a running LRT stream, random learning-rate registers
(including shifts that make every step round away and ones that saturate), max-norm
on and off, first and later max-norm commits. Each transaction runs the counting pass
(``start_i``: scale chain + pass) and then the write pass (``pass_i``), whose rows stream
out one at a time. Covered: the 1/sqrt(B) and max-norm scale chains, the column scan,
tracker updates, coefficient normalisation, rounding and saturation of dk, the non-zero
count, both passes' cycle counts, and the lane and memory-port enables (their totals are
the model's MAC and SRAM-read counts).

The factor memories are modelled here: q banks per factor, a word of P elements, data one
cycle after the address. A bank that was not enabled answers with random data, so the
block can only get right what it really read, on the cycle it read it. Between the two
passes the bench overwrites L and R with other values: the write pass must stream the dk
of what it reads then (the proof that the pass reads the memories, not a copy).
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from harness import runner
from harness.bench import each_seed, pack, start_and_wait, unpack
from harness.commit_cases import commit_case


class FactorMemory:
    """L and R as the commit unit's banks: word (bank t, block b) = P elements of column t."""

    def __init__(self, dut, L, R, r: int, p: int, f: int, rng):
        self.dut, self.r, self.p, self.f, self.rng = dut, r, p, f, rng
        self.set(L, R)
        self.prev = None
        self.macs = self.reads = 0
        self.rows: list[tuple[int, np.ndarray]] = []

    def set(self, L, R) -> None:
        """Load both factors; words are packed once here (the bench runs every cycle)."""
        self.words = {side: {(t, b): self.word(np.asarray(M), t, b)
                             for t in range(self.r) for b in range(-(-len(M) // self.p))}
                      for side, M in (("L", L), ("R", R))}

    def word(self, M, t: int, b: int) -> int:
        col = [int(M[b * self.p + k, t]) if b * self.p + k < M.shape[0] else 0
               for k in range(self.p)]
        return pack(col, self.f)

    def garbage(self, n: int) -> int:
        return int(self.rng.integers(0, 1 << 62)) % (1 << (n * self.f))

    def cycle(self, n_in: int, wb: int) -> None:
        """At a falling edge: answer last cycle's reads, note this cycle's, count enables."""
        d = self.dut
        words = []
        l_addr, l_en, r_addr, r_bank, r_en = self.prev or (0, 0, 0, 0, 0)
        for t in range(self.r):
            words.append(self.words["L"][t, l_addr] if l_en >> t & 1
                         else self.garbage(self.p))
        d.l_rdata_i.value = sum(w << (t * self.p * self.f) for t, w in enumerate(words))
        d.r_rdata_i.value = self.words["R"][r_bank, r_addr] if r_en else self.garbage(self.p)
        self.prev = (int(d.l_addr_o.value), int(d.l_en_o.value), int(d.r_addr_o.value),
                     int(d.r_bank_o.value), int(d.r_en_o.value))
        self.macs += int(d.macs_o.value)
        self.reads += int(d.reads_o.value)
        if int(d.row_valid_o.value):
            self.rows.append((int(d.row_o.value),
                              unpack(int(d.row_dk_o.value), n_in, wb + 1, True)))


@cocotb.test()
async def matches_golden_model(dut):

    from pysim.hw.isa import N_STATS, REG_RESET, Reg, Stat
    from pysim.hw.lrt_unit import LrtUnit
    from pysim.hw.rtl import arch_of

    p = runner.params()
    n_in, r, wb = p["N_IN"], p["RANK"], p["WB"]
    arch = arch_of(p)
    idle = {"start_i": 0, "pass_i": 0, "l_rdata_i": 0, "r_rdata_i": 0, "sigma_i": 0,
            "b_i": 0, "lr_mant_i": 0, "lr_shift_i": 0, "maxnorm_i": 0, "mn_steps_i": 0,
            "ema_l_i": 0, "ema_r_i": 0, "smul_p_i": 0, "s2_q_i": 0}
    async for rng in each_seed(dut, idle):
        stream = LrtUnit(arch)
        regs = dict(REG_RESET)
        for it in range(runner.iterations(16)):  # each: both passes
            model, cfg = commit_case(rng, stream, regs)
            mn_in, ema_in = model.mn_steps, list(model.ema)
            st = [0] * N_STATS
            g, sh, c_scale = model.commit_scale(cfg, st)
            dk, c_pass = model.delta_levels(g, sh, st)
            mem = FactorMemory(dut, model.L[:, :r], model.R[:, :r], r, arch.lanes, arch.f_bits,
                               rng)
            edges = await start_and_wait(dut, {
                "sigma_i": pack(model.sigma, 64), "b_i": model.pending,
                "lr_mant_i": cfg[Reg.LR_MANT], "lr_shift_i": cfg[Reg.LR_SHIFT],
                "maxnorm_i": cfg[Reg.MAXNORM], "mn_steps_i": mn_in,
                "ema_l_i": ema_in[0], "ema_r_i": ema_in[1]},
                each_cycle=lambda m=mem: m.cycle(n_in, wb))
            where = f"iteration {it}: maxnorm {cfg[Reg.MAXNORM]} lr {cfg[Reg.LR_MANT]}" \
                    f"*2^-{cfg[Reg.LR_SHIFT]} B {model.pending}"
            assert int(dut.nonzero_o.value) == int(np.count_nonzero(dk)), where
            assert int(dut.mn_steps_o.value) == model.mn_steps, where
            if cfg[Reg.MAXNORM]:
                assert [int(dut.ema_l_o.value), int(dut.ema_r_o.value)] == model.ema, where
            assert edges == c_scale + c_pass, f"{where}: rtl {edges}, model {c_scale + c_pass}"
            assert not mem.rows, f"{where}: the counting pass streamed rows"
            assert (mem.macs, mem.reads) == (st[Stat.MACS], st[Stat.SRAM_READS]), where

            await check_write_pass(dut, arch, rng, model, mem, g, sh, where)


async def check_write_pass(dut, arch, rng, model, mem, g, sh, where: str) -> None:
    """The write pass over other factors (it must read them, not reuse the first): its
    cycles, the rows it streams in order, their Δk, the non-zero count and the enables."""
    from pysim.hw.isa import N_STATS, Stat

    r, f = arch.rank, arch.f_bits
    L2 = rng.integers(-(1 << (f - 1)), 1 << (f - 1), (arch.n_out, r))
    R2 = rng.integers(-(1 << (f - 1)), 1 << (f - 1), (arch.n_in, r))
    model.L[:, :r], model.R[:, :r] = L2, R2
    st2 = [0] * N_STATS
    dk2, c_pass2 = model.delta_levels(g, sh, st2)
    mem.set(L2, R2)
    mem.macs = mem.reads = 0
    edges = await start_and_wait(dut, {}, each_cycle=lambda m=mem: m.cycle(arch.n_in,
                                                                            arch.w_bits),
                                 strobe="pass_i")
    assert edges == c_pass2, f"{where}: write pass rtl {edges}, model {c_pass2}"
    assert [row for row, _ in mem.rows] == list(range(arch.n_out)), where
    got = np.array([dk_row for _, dk_row in mem.rows])
    assert np.array_equal(got, dk2), where
    assert int(dut.nonzero_o.value) == int(np.count_nonzero(dk2)), where
    assert (mem.macs, mem.reads) == (st2[Stat.MACS], st2[Stat.SRAM_READS]), where


# The third set spreads a row's Lg_t over two lane words (r > P): Lg_0 then comes from
# lg_q, not from the lanes' product register.
PARAMS = [dict(N_IN=64, N_OUT=10, RANK=4, LANES=8, WB=8),
          dict(N_IN=11, N_OUT=6, RANK=2, LANES=3, WB=4),
          dict(N_IN=7, N_OUT=5, RANK=4, LANES=3, WB=6)]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"{p['N_IN']}x{p['N_OUT']}")
def test_commit_unit(params, cocotb_opts):
    runner.run("commit_unit", params, **cocotb_opts)
