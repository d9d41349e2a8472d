"""Low-rank update unit: the bit-accurate per-sample LRT update and the commit scale.

This module is the specification of ``rtl/lrt_unit.v`` (docs/hw-spec.md §4-§6).
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

from .fixed import (
    RECIP_W,
    RSQ_CYCLES,
    bitlen,
    lfsr_step,
    recip_small,
    rshift,
    rshift_np,
    rsqrt,
    sat,
    sat_np,
    usat,
)
from .isa import Reg, Stat
from .params import ArchParams

PASS_OVH = 2        # pipeline fill of a vector pass: SRAM read, multiply, adder tree
CS = 22             # fraction bits of c, s, U, V, H, M, T (Q2.22)
EMA_SHIFT = 10      # max-norm tracker: beta = 1 - 2**-10
SCALE_W = 24        # mantissa width of the commit scale chain


def blocks(n: int, p: int) -> int:
    return -(-n // p)


def mul_norm(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """Multiply two (mantissa, exponent) numbers, renormalise the mantissa to 24 bits."""
    p = a[0] * b[0]
    z = max(0, bitlen(p) - SCALE_W)
    return rshift(p, z), a[1] + b[1] + z


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
    def gram_schmidt(self, Q: np.ndarray, v: np.ndarray, stats: list[int]
                     ) -> tuple[list[int], np.ndarray, int, int]:
        """MGS of int8 ``v`` against Q's first r columns (2r+1 vector passes).

        ``res = v << G``; per column j: ``c_j = rshift(Q_j·res, F-1)``,
        ``res -= rshift(Q_j·c_j, F-1)``; then ``norm2 = res·res``.
        """
        a = self.a
        res = v.astype(np.int64) << np.int64(a.g_bits)
        coef = []
        for j in range(a.rank):
            col = Q[:, j]
            c = rshift(int(col @ res), a.f_bits - 1)
            res = res - rshift_np(col * c, a.f_bits - 1)
            coef.append(c)
        norm2 = int(res @ res)
        n = v.shape[0]
        stats[Stat.MACS] += (2 * a.rank + 1) * n
        stats[Stat.SRAM_READS] += 2 * a.rank * n
        return coef, res, norm2, (2 * a.rank + 1) * (blocks(n, a.lanes) + PASS_OVH)

    def update(self, x: np.ndarray, dy: np.ndarray, regs: dict, stats: list[int]
               ) -> tuple[bool, int]:
        """Fold one int8 sample; return ``(absorbed, cycles)``."""
        a, r, q = self.a, self.a.rank, self.a.q
        self.last_k = None  # slots of the unbiased reduction (for the timing formula)
        stats[Stat.SAMPLES] += 1
        self.pending += 1
        cl, rl, n2l, cyc_l = self.gram_schmidt(self.L, dy, stats)
        cr, rr, n2r, cyc_r = self.gram_schmidt(self.R, x, stats)
        yl, el = rsqrt(n2l)
        yr, er = rsqrt(n2r)
        nl, nr = rshift(n2l * yl, el), rshift(n2r * yr, er)
        stats[Stat.RSQRT] += 2
        # rsqrt of the dy norm overlaps the x-side Gram-Schmidt; the x norm's rsqrt, its
        # capture and the κ compare follow it (docs/hw-spec.md §7).
        sfu = RSQ_CYCLES + 2
        vec = cyc_l + cyc_r
        kappa = regs[Reg.KAPPA_Q4]
        if kappa and (self.sigma[0] << 4) > kappa * nl * nr:
            return self._done(False, vec, sfu, stats)
        stats[Stat.ABSORBED] += 1
        if (n2l == 0 and not any(cl)) or (n2r == 0 and not any(cr)):
            return self._done(True, vec, sfu, stats)  # zero outer product: nothing to fold
        # Unit directions into the scratch column r (one pass per side).
        f = a.f_bits
        self.L[:, r] = sat_np(rshift_np(rl * yl, el - (f - 1)), f)
        self.R[:, r] = sat_np(rshift_np(rr * yr, er - (f - 1)), f)
        n_all = a.n_out + a.n_in
        vec += blocks(a.n_out, a.lanes) + blocks(a.n_in, a.lanes) + 2 * PASS_OVH
        stats[Stat.MACS] += n_all
        stats[Stat.SRAM_WRITES] += n_all
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
            keep = order[:r]
            T_L = [[U[i][k] for k in keep] for i in range(q)]
            T_R = [[V[i][k] for k in keep] for i in range(q)]
            new_sig, cyc = [sig_c[k] for k in keep], 1  # hand-off core SVD -> rotation
        sfu += cyc
        vec += self.rotate(np.array(T_L, np.int64), np.array(T_R, np.int64), stats)
        self.sigma = [usat(s << E, a.sigma_bits) for s in new_sig]
        sfu += 1  # write-back of the rotated factors and sigma
        return self._done(True, vec, sfu, stats)

    @staticmethod
    def _done(absorbed: bool, vec: int, sfu: int, stats: list[int]) -> tuple[bool, int]:
        stats[Stat.SFU_CYCLES] += sfu
        return absorbed, vec + sfu

    def core(self, av: list[int], bv: list[int]) -> tuple[list[list[int]], int, int]:
        """``C = diag(sigma, 0) + a b^T`` in block floating point: ``A = rshift(C, E)``.

        E makes the bound ``max|a|·max|b| + sigma_0`` fit Wc-1 magnitude bits.
        Cycles: 1 (exponent) + q·ceil(q/P) (entries, q per row on the lanes).
        """
        a, q = self.a, self.a.q
        bound = max(abs(v) for v in av) * max(abs(v) for v in bv) + self.sigma[0]
        E = max(0, bitlen(bound) - (a.wc_bits - 1))
        A = [[rshift(av[i] * bv[j] + (self.sigma[i] if i == j < a.rank else 0), E)
              for j in range(q)] for i in range(q)]
        return A, E, 1 + q * blocks(q, a.lanes)

    def jacobi(self, A: list[list[int]], stats: list[int]
               ) -> tuple[list[list[int]], list[list[int]], int]:
        """One-sided (Hestenes) Jacobi: ``sweeps`` row-cyclic sweeps over pairs (i < j).

        Per pair: alpha, beta, gamma (3 q-long dots, ceil(3q/P) cycles) and the skip
        test (1 cycle): rescale by a common shift so the largest is < 2**31, skip when
        ``gamma'² <= (alpha'·beta') >> 2Wc`` (columns orthogonal to 2**-Wc). Otherwise
        (1 + RSQ + 1 + RSQ + 1 + ceil(8q/P) cycles): ``d = beta'-alpha'``, ``g = 2 gamma'``
        rounded to 30 bits, ``h^-1 = rsqrt(d²+g²)``, ``cos2 = |d| h^-1``,
        ``sin2 = sgn(d) g h^-1`` (Q.22, sgn(0)=+1), ``cc4 = (2**22 + cos2) << 1`` =
        cos²θ in Q.24, ``(y,e) = rsqrt(cc4)``, ``c = rshift(cc4·y, e-10)``,
        ``s = rshift(sin2·y, e-11)``; columns i, j of A and V rotate as
        ``(c·a_i - s·a_j, s·a_i + c·a_j) >> 22``, saturated.
        """
        a, q = self.a, self.a.q
        aw, vw = a.wc_bits + 3, CS + 2
        V = [[(1 << CS) if i == j else 0 for j in range(q)] for i in range(q)]
        dots = blocks(3 * q, a.lanes) + 1
        rot = 1 + RSQ_CYCLES + 1 + RSQ_CYCLES + 1 + blocks(8 * q, a.lanes)
        cycles = 0
        for _ in range(a.sweeps):
            for i in range(q - 1):
                for j in range(i + 1, q):
                    cycles += dots
                    alpha = sum(A[k][i] * A[k][i] for k in range(q))
                    beta = sum(A[k][j] * A[k][j] for k in range(q))
                    gamma = sum(A[k][i] * A[k][j] for k in range(q))
                    sh = max(0, bitlen(max(alpha, beta, abs(gamma))) - 31)
                    al, be, ga = alpha >> sh, beta >> sh, gamma >> sh
                    if ga * ga <= (al * be) >> (2 * a.wc_bits):
                        continue
                    cycles += rot
                    stats[Stat.ROTATIONS] += 1
                    stats[Stat.RSQRT] += 2
                    d, g = be - al, 2 * ga
                    sh2 = max(0, bitlen(max(abs(d), abs(g))) - 30)
                    d, g = rshift(d, sh2), rshift(g, sh2)
                    y, e = rsqrt(d * d + g * g)
                    cos2 = rshift(abs(d) * y, e - CS)
                    sin2 = rshift((g if d >= 0 else -g) * y, e - CS)
                    cc4 = ((1 << CS) + cos2) << 1
                    y2, e2 = rsqrt(cc4)
                    c = rshift(cc4 * y2, e2 - (CS + 2) // 2 + 2)
                    s = rshift(sin2 * y2, e2 - (CS + 2) // 2 + 1)
                    for M, w in ((A, aw), (V, vw)):
                        for k in range(q):
                            u, v = M[k][i], M[k][j]
                            M[k][i] = sat(rshift(c * u - s * v, CS), w)
                            M[k][j] = sat(rshift(s * u + c * v, CS), w)
        return A, V, cycles

    def post(self, A: list[list[int]], stats: list[int]
             ) -> tuple[list[int], list[list[int]], int]:
        """Singular values and left vectors: ``alpha_j = |A_j|²``, ``(y,e) = rsqrt(alpha_j)``,
        ``sigma_j = rshift(alpha_j·y, e)``, ``U_j = rshift(A_j·y, e-22)``. A column with
        ``alpha_j << 2(Wc-2) < max alpha`` (σ_j < 2**-(Wc-2) σ_max) is flushed to zero.
        Cycles: q·ceil(q/P) + q·(RSQ + ceil(q/P) + 1), whatever the data.
        """
        a, q = self.a, self.a.q
        alpha = [sum(A[k][j] * A[k][j] for k in range(q)) for j in range(q)]
        amax = max(alpha)
        sig = [0] * q
        U = [[0] * q for _ in range(q)]
        for j in range(q):
            if alpha[j] == 0 or (alpha[j] << (2 * (a.wc_bits - 2))) < amax:
                continue
            y, e = rsqrt(alpha[j])
            sig[j] = rshift(alpha[j] * y, e)
            for k in range(q):
                U[k][j] = sat(rshift(A[k][j] * y, e - CS), CS + 2)
        stats[Stat.RSQRT] += q
        pq = blocks(q, a.lanes)
        return sig, U, q * pq + q * (RSQ_CYCLES + pq + 1)

    def sort(self, sig: list[int]) -> tuple[list[int], int]:
        """Descending order by a bubble network of q(q-1)/2 compare-exchanges (stable)."""
        q = self.a.q
        order = list(range(q))
        for p in range(q - 1):
            for i in range(q - 1 - p):
                if sig[order[i]] < sig[order[i + 1]]:
                    order[i], order[i + 1] = order[i + 1], order[i]
        return order, q * (q - 1) // 2

    def reduce_unbiased(self, sig: list[int], order: list[int], U, V, stats: list[int]):
        """Optimal Kronecker sum on integers (docs/hw-spec.md §5, step 10).

        Draws q LFSR bits first (signs of the sorted rows, 1 = negative). With
        ``s`` sorted descending: ``m`` = smallest index < r with ``(r-m)·s_m <= sum_{j>=m}
        s_j``; ``k = r - m``, ``s1 = sum_{j>=m} s_j``. ``x0_j = sqrt((s1 - k s_j)/s1)``
        (Q.22 via two rsqrt), Householder ``H = I - v v^T/v_0`` with ``v = x0 + e1``,
        mixing ``M = [I_m, 0; 0, diag(signs)·H[:, 1:]]``; ``T = U_sorted·M``,
        slot values ``s1/k`` through a reciprocal table.
        """
        a, r, q = self.a, self.a.rank, self.a.q
        bits = []
        for _ in range(q):
            bit, self.lfsr = lfsr_step(self.lfsr)
            bits.append(bit)
        s = [sig[o] for o in order]
        tail = [0] * (q + 1)
        for j in range(q - 1, -1, -1):
            tail[j] = tail[j + 1] + s[j]
        m = 0
        for m in range(r):
            if (r - m) * s[m] <= tail[m]:
                break
        cycles = q + r + 1
        Us = [[U[i][o] for o in order] for i in range(q)]
        Vs = [[V[i][o] for o in order] for i in range(q)]
        if tail[m] == 0:
            return ([row[:r] for row in Us], [row[:r] for row in Vs], s[:r], cycles)
        k, s1 = r - m, tail[m]
        self.last_k = k
        y1, e1 = rsqrt(s1)
        x0 = []
        for j in range(m, q):
            num = s1 - k * s[j]
            y2, e2 = rsqrt(num)
            root = rshift(num * y2, e2 - 24)              # sqrt(num) in Q.24
            x0.append(min(rshift(root * y1, e1 + 24 - CS), 1 << CS))
        v = [x0[0] + (1 << CS)] + x0[1:]
        y3, e3 = rsqrt(v[0])
        inv = rshift(y3 * y3, 2 * e3 - 2 * CS)           # 1/v_0 in Q.22
        M = [[0] * r for _ in range(q)]
        for p in range(m):
            M[p][p] = 1 << CS
        for b in range(1, k + 1):
            vb_inv = rshift(v[b] * inv, CS)
            for a_ in range(k + 1):
                h = (1 << CS if a_ == b else 0) - rshift(v[a_] * vb_inv, CS)
                M[m + a_][m + b - 1] = -h if bits[m + a_] else h
        T_L = [[rshift(sum(Us[i][p] * M[p][t] for p in range(q)), CS) for t in range(r)]
               for i in range(q)]
        T_R = [[rshift(sum(Vs[i][p] * M[p][t] for p in range(q)), CS) for t in range(r)]
               for i in range(q)]
        slot = rshift(s1 * recip_small(k), RECIP_W)
        stats[Stat.RSQRT] += k + 3
        cycles += (RSQ_CYCLES + (k + 1) * (RSQ_CYCLES + 3) + RSQ_CYCLES + 1
                   + k * (1 + blocks(k + 1, a.lanes)) + 1 + 2 * r * blocks(q * q, a.lanes))
        return T_L, T_R, s[:m] + [slot] * k, cycles

    def rotate(self, T_L: np.ndarray, T_R: np.ndarray, stats: list[int]) -> int:
        """``[L u] <- sat_F(rshift([L u]·T_L, 22))`` and the same for R (r·q MACs per row)."""
        a, r, q = self.a, self.a.rank, self.a.q
        f = a.f_bits
        self.L[:, :r] = sat_np(rshift_np(self.L @ T_L, CS), f)
        self.R[:, :r] = sat_np(rshift_np(self.R @ T_R, CS), f)
        n_all = a.n_out + a.n_in
        stats[Stat.MACS] += n_all * q * r
        stats[Stat.SRAM_READS] += n_all * q
        stats[Stat.SRAM_WRITES] += n_all * r
        return r * q * (blocks(a.n_out, a.lanes) + blocks(a.n_in, a.lanes)) + 2 * PASS_OVH

    # --- commit -----------------------------------------------------------------------
    def commit_scale(self, regs: dict, stats: list[int]) -> tuple[list[int], int, int]:
        """Per-rank coefficients ``g_t`` and shift ``SH`` with
        ``Δk_ij = -rshift(sum_t L_it R_jt g_t, SH)`` (docs/hw-spec.md §6), so that
        ``Δk ≈ -lr/sqrt(B) · L_real diag(sigma_real) R_real^T`` with sigma_real in
        LSB_dy·LSB_x units (no max-norm).

        Scale ``lr/sqrt(B)`` or, with max-norm, ``lr·sqrt(B)/(d_L d_R)`` as a 24-bit
        mantissa chain; ``B`` = samples since the last write. Returns (g, SH, cycles).
        """
        a, r = self.a, self.a.rank
        B = self.pending
        yb, eb = rsqrt(B)
        scale = (regs[Reg.LR_MANT], -regs[Reg.LR_SHIFT])
        stats[Stat.RSQRT] += 1
        cycles = RSQ_CYCLES
        if regs[Reg.MAXNORM]:
            cur = []
            for M in (self.L, self.R):
                cmax = [int(np.max(np.abs(M[:, t]))) for t in range(r)]
                roots = []
                for t in range(r):
                    ys, es = rsqrt(self.sigma[t])
                    roots.append(rshift(self.sigma[t] * ys, es))
                cur.append(max(cmax[t] * roots[t] for t in range(r)))
            stats[Stat.RSQRT] += 2 * r + 1
            stats[Stat.SRAM_READS] += r * (a.n_out + a.n_in)
            div = []
            for side in (0, 1):
                if self.mn_steps == 0:
                    self.ema[side] = cur[side]
                else:
                    self.ema[side] += rshift(cur[side] - self.ema[side], EMA_SHIFT)
                div.append(max(cur[side], self.ema[side]))
            self.mn_steps += 1
            yd, ed = rsqrt(div[0] * div[1])
            scale = mul_norm(scale, (B, 0))
            scale = mul_norm(scale, (yb, -eb))
            scale = mul_norm(scale, (yd, -ed))
            scale = mul_norm(scale, (yd, -ed))
            vec = r * (blocks(a.n_out, a.lanes) + blocks(a.n_in, a.lanes)) + 2 * PASS_OVH
            cycles += vec + 2 * r * (RSQ_CYCLES + 1) + 4 + RSQ_CYCLES + 4
            stats[Stat.SFU_CYCLES] += cycles - vec
        else:
            scale = mul_norm(scale, (yb, -eb))
            cycles += 1
            stats[Stat.SFU_CYCLES] += cycles
        # Without max-norm, Δk = lr/sqrt(B)·sum_t L_t R_t sigma_t in real units: the
        # factors' 2**-(F-1) and sigma's 2**-2G come off the shift. With max-norm both
        # cancel against the divisors d_L, d_R, which carry the same units.
        units = 0 if regs[Reg.MAXNORM] else 2 * (a.f_bits - 1) + 2 * a.g_bits
        zs = max(0, bitlen(self.sigma[0]) - SCALE_W)
        sm = [rshift(s, zs) for s in self.sigma]
        zg = max(0, bitlen(sm[0] * scale[0]) - (a.gw_bits - 1))
        g = [rshift(v * scale[0], zg) for v in sm]
        exponent = scale[1] + zs + zg
        cycles += 2 + r
        stats[Stat.SFU_CYCLES] += 2 + r
        return g, units - exponent, cycles

    def delta_levels(self, g: list[int], sh: int, stats: list[int]) -> tuple[np.ndarray, int]:
        """One commit pass: the level steps ``Δk`` (N_OUT × N_IN), saturated to ±(2**w_bits-1).

        Per row: ``Lg_t = L_it·g_t`` (ceil(r/P) cycles), then per block of P columns
        r MAC cycles. Cycles: N_OUT·(ceil(r/P) + r·ceil(N_IN/P)) + PASS_OVH.
        """
        a, r = self.a, self.a.rank
        Lg = self.L[:, :r] * np.array(g, np.int64)
        acc = Lg @ self.R[:, :r].T
        cap = (1 << a.w_bits) - 1
        if sh >= 0:
            dk = -rshift_np(acc, sh)
        else:
            big = np.abs(acc) > (cap >> -sh)
            dk = -np.where(big, np.sign(acc) * cap, acc << np.int64(-sh))
        dk = np.clip(dk, -cap, cap)
        n_cells = a.n_out * a.n_in
        stats[Stat.MACS] += a.n_out * r + n_cells * r
        stats[Stat.SRAM_READS] += a.n_out * r + n_cells * r
        return dk, a.n_out * (blocks(r, a.lanes) + r * blocks(a.n_in, a.lanes)) + PASS_OVH

    # --- for comparison with the float level ---------------------------------------------
    def as_float(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(L, sigma, R)`` in real units: sigma in LSB_dy·LSB_x."""
        a = self.a
        scale = 2.0 ** -(a.f_bits - 1)
        sig = np.array([float(s) for s in self.sigma]) * 2.0 ** (-2 * a.g_bits)
        return self.L[:, :a.rank] * scale, sig, self.R[:, :a.rank] * scale
