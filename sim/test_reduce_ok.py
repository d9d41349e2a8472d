"""cocotb bench of rtl/reduce_ok.v against LrtUnit.reduce_unbiased (pysim.hw).

Stimulus: the (sigma, order, U, V, LFSR) operands an unbiased LRT stream hands the
reduction, plus a zero tail (the first samples). Covered: the m rule, x0 through two
rsqrt, the Householder columns with signs, T products, slot values, the LFSR stream,
the zero-tail path and the data-dependent cycle count; and the biased selection
(``load_i``): T and the values in one edge, the LFSR and slot count untouched.
"""

from __future__ import annotations

import cocotb
import pytest
from harness import runner
from harness.bench import each_seed, pack, scrambler, start_and_wait, unpack

IDLE = {"start_i": 0, "load_i": 0, "sig_i": 0, "order_i": 0, "u_i": 0, "v_i": 0,
        "lfsr_i": 0, "s2_q_i": 0}


def inputs(sig, order, U, V) -> dict[str, int]:
    """The operand ports for sigma, the order and U, V (rows of q entries)."""
    return {"sig_i": pack(sig, 32), "order_i": pack(order, 4),
            "u_i": pack([v for row in U for v in row], 24),
            "v_i": pack([v for row in V for v in row], 24)}


def operands(arch, rng, n):
    from pysim.hw.isa import N_STATS, REG_RESET, Reg
    from pysim.hw.lrt_unit import LrtUnit

    unit = LrtUnit(arch)
    regs = dict(REG_RESET)
    regs[Reg.KAPPA_Q4], regs[Reg.MODE] = 0, 1
    seen = []
    real = unit.reduce_unbiased

    def recording(sig, order, U, V, stats):
        seen.append((list(sig), list(order), [r[:] for r in U], [r[:] for r in V], unit.lfsr))
        return real(sig, order, U, V, stats)

    unit.reduce_unbiased = recording
    q = arch.q
    seen.append(([0] * q, list(range(q)), [[0] * q for _ in range(q)],
                 [[(1 << 22) if i == j else 0 for j in range(q)] for i in range(q)], 0xACE1))
    while len(seen) < n:
        unit.update(rng.integers(-128, 128, arch.n_in), rng.integers(-128, 128, arch.n_out),
                    regs, [0] * N_STATS)
    return seen


@cocotb.test()
async def matches_golden_model(dut):
    from pysim.hw.isa import N_STATS
    from pysim.hw.lrt_unit import LrtUnit
    from pysim.hw.rtl import arch_of

    arch = arch_of(runner.params(), n_in=12, n_out=9)  # the reduction's size is q, not n
    r, q = arch.rank, arch.q
    async for rng in each_seed(dut, IDLE):
        ops = operands(arch, rng, runner.iterations(40))
        for i, (sig, order, U, V, lfsr) in enumerate(ops):
            model = LrtUnit(arch)
            model.lfsr = lfsr
            T_L, T_R, new, cycles = model.reduce_unbiased(sig, order, U, V, [0] * N_STATS)
            # Every other set: σ, the order and the LFSR seed change every cycle after
            # start; the results must still be those latched at start. U and V are not
            # latched: the unit reads them from core_svd's output registers, which hold
            # them until the next sample, when it forms T (rtl/reduce_ok.v, the ports).
            noise = scrambler(dut, rng, ("sig_i", "order_i", "lfsr_i")) if i % 2 else None
            edges = await start_and_wait(dut, inputs(sig, order, U, V) | {"lfsr_i": lfsr},
                                         each_cycle=noise)
            where = f"operand set {i}: sigma={sig} order={order}"
            tl = unpack(int(dut.tl_o.value), q * r, 24, True)
            tr = unpack(int(dut.tr_o.value), q * r, 24, True)
            assert list(tl) == [v for row in T_L for v in row], where
            assert list(tr) == [v for row in T_R for v in row], where
            assert list(unpack(int(dut.sig_o.value), r, 40, False)) == new, where
            assert int(dut.lfsr_o.value) == model.lfsr, where
            assert int(dut.k_o.value) == (model.last_k or 0), where
            assert edges == cycles, f"{where}: rtl {edges} cycles, model {cycles}"


@cocotb.test()
async def biased_load_selects_sorted_columns(dut):
    """load_i while idle: T_L, T_R and the values are the sorted first r columns, at
    that edge; an unbiased run before leaves its LFSR and k, which the load keeps."""
    from cocotb.triggers import FallingEdge, RisingEdge

    from pysim.hw.reduce_ok import select_biased
    from pysim.hw.rtl import arch_of

    arch = arch_of(runner.params(), n_in=12, n_out=9)
    r, q = arch.rank, arch.q
    async for rng in each_seed(dut, IDLE):
        for i, (sig, order, U, V, lfsr) in enumerate(operands(arch, rng,
                                                              runner.iterations(20))):
            if i % 3 == 1:  # an unbiased run first: its LFSR and k must stay
                await start_and_wait(dut, inputs(sig, order, U, V) | {"lfsr_i": lfsr})
            order = [int(k) for k in rng.permutation(q)]  # any order, not only sorted
            await FallingEdge(dut.clk_i)
            kept = (int(dut.lfsr_o.value), int(dut.k_o.value))
            for name, value in (inputs(sig, order, U, V) | {"load_i": 1}).items():
                getattr(dut, name).value = value
            await RisingEdge(dut.clk_i)
            await FallingEdge(dut.clk_i)
            dut.load_i.value = 0
            dut.order_i.value = pack(list(rng.permutation(q)), 4)  # read at the edge only
            T_L, T_R, new = select_biased(r, sig, order, U, V)
            where = f"load {i}: sigma={sig} order={order}"
            assert list(unpack(int(dut.tl_o.value), q * r, 24, True)) == \
                [v for row in T_L for v in row], where
            assert list(unpack(int(dut.tr_o.value), q * r, 24, True)) == \
                [v for row in T_R for v in row], where
            assert list(unpack(int(dut.sig_o.value), r, 40, False)) == new, where
            assert (int(dut.lfsr_o.value), int(dut.k_o.value)) == kept, where
            assert not int(dut.done_o.value), where


PARAMS = [dict(RANK=4), dict(RANK=2), dict(RANK=8)]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"r{p['RANK']}")
def test_reduce_ok(params, cocotb_opts):
    runner.run("reduce_ok", params, **cocotb_opts)
