"""Low-rank update unit: the state of the bit-accurate LRT (factors, σ, LFSR, pending
count, max-norm trackers) and the per-sample fold that runs the blocks in order.

This module is the specification of ``rtl/lrt_unit.v`` (docs/hw-spec.md §4-§6); each
block's arithmetic is the module of the same name as its RTL file (``vec_unit``,
``core_svd``, ``reduce_ok``, ``commit_unit``), pure functions of their operands. The
methods below of the same names hand the unit's state to them.
Formats (F = f_bits, G = g_bits, Wc = wc_bits, CS = 22):

* ``L`` (N_OUT × q), ``R`` (N_IN × q): signed F-bit Q1.(F-1); column r is the scratch
  slot for the new unit direction;
* ``sigma``: r unsigned ``sigma_bits`` integers in units of 2**-2G · LSB_dy · LSB_x;
* Gram-Schmidt residuals and coefficients: integers in units of 2**-G input LSB;
* core ``A`` (q × q): block floating point, |A| < 2**(Wc-1) with one exponent E per
  sample, held in Wc+3 bits (growth during rotations);
* ``c, s``, ``V``, ``U``, Householder ``H``, mixing ``M``, rotations ``T``: Q2.22.

Every function returns its cycle count; counters go into ``stats`` (indexed by
:class:`~pysim.hw.isa.Stat`). Cycle constants: a vector pass over n elements costs
``ceil(n/P) + PASS_OVH``; an rsqrt costs ``RSQ_CYCLES``; other scalar steps one
cycle each as listed per phase.
"""

from __future__ import annotations

import numpy as np

from . import commit_unit, core_svd, reduce_ok, vec_unit
from .fixed import RSQ_CYCLES, rshift, rsqrt, usat
from .isa import Reg, Stat
from .params import ArchParams


class LrtUnit:
    """State and arithmetic of the low-rank update unit."""

    def __init__(self, arch: ArchParams):
        self.a = arch
        self.lfsr = 0xACE1
        self.last_k = None
        self.mn_steps = 0
        self.ema = [0, 0]
        self.reset()

    def reset(self) -> None:
        """RESET_LRT and every successful COMMIT: zero factors, sigma and the sample count."""
        a = self.a
        self.L = np.zeros((a.n_out, a.q), np.int64)
        self.R = np.zeros((a.n_in, a.q), np.int64)
        self.sigma = [0] * a.rank
        self.pending = 0

    # --- per-sample update ----------------------------------------------------------
    def update(self, x: np.ndarray, dy: np.ndarray, regs: dict, stats: list[int]
               ) -> tuple[bool, int]:
        """Fold one int8 sample; return ``(absorbed, cycles)``."""
        a, r = self.a, self.a.rank
        self.last_k = None  # slots of the unbiased reduction (for the timing formula)
        stats[Stat.SAMPLES] += 1
        self.pending += 1
        cl, rl, n2l, cyc_l = self.gram_schmidt(self.L, dy, stats)
        cr, rr, n2r, cyc_r = self.gram_schmidt(self.R, x, stats)
        yl, el = rsqrt(n2l)
        yr, er = rsqrt(n2r)
        nl, nr = rshift(n2l * yl, el), rshift(n2r * yr, er)
        stats[Stat.RSQRT] += 2
        # rsqrt of the dy norm overlaps the x-side Gram-Schmidt; the x norm's rsqrt, n_r's
        # rounding and KAPPA_Q4·n_l·n_r on the scalar unit's two multipliers, and the κ
        # compare follow it (docs/hw-spec.md §7).
        sfu = RSQ_CYCLES + 5
        vec = cyc_l + cyc_r
        kappa = regs[Reg.KAPPA_Q4]
        if kappa and (self.sigma[0] << 4) > kappa * nl * nr:
            return self._done(False, vec, sfu, stats)
        stats[Stat.ABSORBED] += 1
        if (n2l == 0 and not any(cl)) or (n2r == 0 and not any(cr)):
            return self._done(True, vec, sfu, stats)  # zero outer product: nothing to fold
        # Unit directions into the scratch column r (one pass per side).
        self.L[:, r], cyc = vec_unit.normalise(a, rl, yl, el, stats)
        vec += cyc
        self.R[:, r], cyc = vec_unit.normalise(a, rr, yr, er, stats)
        vec += cyc
        A, E, cyc = self.core(cl + [nl], cr + [nr])
        sfu += cyc
        A, V, cyc = self.jacobi(A, stats)
        sfu += cyc
        sig_c, U, cyc = self.post(A, stats)
        sfu += cyc
        order, cyc = self.sort(sig_c)
        sfu += cyc
        if regs[Reg.MODE]:
            T_L, T_R, new_sig, cyc = self.reduce_unbiased(sig_c, order, U, V, stats)
            cyc += 2  # hand-offs core SVD -> reduction -> rotation
        else:
            T_L, T_R, new_sig = reduce_ok.select_biased(r, sig_c, order, U, V)
            cyc = 1  # hand-off core SVD -> rotation
        sfu += cyc
        vec += self.rotate(np.array(T_L, np.int64), np.array(T_R, np.int64), stats)
        self.sigma = [usat(s << E, a.sigma_bits) for s in new_sig]
        sfu += 1  # write-back of the rotated factors and sigma
        return self._done(True, vec, sfu, stats)

    @staticmethod
    def _done(absorbed: bool, vec: int, sfu: int, stats: list[int]) -> tuple[bool, int]:
        stats[Stat.SFU_CYCLES] += sfu
        return absorbed, vec + sfu

    # --- the blocks, on this unit's state ---------------------------------------------
    def gram_schmidt(self, Q: np.ndarray, v: np.ndarray, stats: list[int]):
        return vec_unit.gram_schmidt(self.a, Q, v, stats)

    def core(self, av: list[int], bv: list[int]):
        return core_svd.core(self.a, self.sigma, av, bv)

    def jacobi(self, A: list[list[int]], stats: list[int]):
        return core_svd.jacobi(self.a, A, stats)

    def post(self, A: list[list[int]], stats: list[int]):
        return core_svd.post(self.a, A, stats)

    def sort(self, sig: list[int]):
        return core_svd.sort(self.a, sig)

    def reduce_unbiased(self, sig: list[int], order: list[int], U, V, stats: list[int]):
        """:func:`pysim.hw.reduce_ok.reduce_unbiased`; keeps the LFSR and the slot count."""
        T_L, T_R, new_sig, cycles, self.lfsr, k = reduce_ok.reduce_unbiased(
            self.a, self.lfsr, sig, order, U, V, stats)
        if k is not None:
            self.last_k = k
        return T_L, T_R, new_sig, cycles

    def rotate(self, T_L: np.ndarray, T_R: np.ndarray, stats: list[int]) -> int:
        return (vec_unit.rotate(self.a, self.L, T_L, stats)
                + vec_unit.rotate(self.a, self.R, T_R, stats))

    # --- commit -----------------------------------------------------------------------
    def commit_scale(self, regs: dict, stats: list[int]) -> tuple[list[int], int, int]:
        """:func:`pysim.hw.commit_unit.commit_scale`; keeps the max-norm trackers."""
        g, sh, cycles, (self.mn_steps, self.ema) = commit_unit.commit_scale(
            self.a, self.L, self.R, self.sigma, self.pending, (self.mn_steps, self.ema),
            regs, stats)
        return g, sh, cycles

    def delta_levels(self, g: list[int], sh: int, stats: list[int]) -> tuple[np.ndarray, int]:
        return commit_unit.delta_levels(self.a, self.L, self.R, g, sh, stats)

    # --- for comparison with the float level ---------------------------------------------
    def as_float(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(L, sigma, R)`` in real units: sigma in LSB_dy·LSB_x."""
        a = self.a
        scale = 2.0 ** -(a.f_bits - 1)
        sig = np.array([float(s) for s in self.sigma]) * 2.0 ** (-2 * a.g_bits)
        return self.L[:, :a.rank] * scale, sig, self.R[:, :a.rank] * scale
