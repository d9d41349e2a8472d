"""The (r+1)×(r+1) core: block-floating assembly, one-sided Jacobi, singular values and
left vectors, sort — the specification of ``rtl/core_svd.v`` (docs/hw-spec.md §5). The
core ``A`` is block floating point (|A| < 2**(Wc-1), one exponent per sample, Wc+3 bits
during rotations); ``c, s, U, V`` are Q2.22.

Every product runs on the scalar unit's two 32×32 multipliers (``SCALAR_MULS``): a
product issued in one cycle is rounded and written in the next (stage 2), so n
products cost ``ceil(n/2)`` issue cycles and a phase whose result the next step reads
drains one more cycle. The cycle counts below are the RTL's schedule (§5, "How the core
runs")."""

from __future__ import annotations

from .fixed import CS, RSQ_CYCLES, bitlen, rshift, rsqrt, sat
from .isa import Stat
from .params import ArchParams
from .passes import issues


def core(a: ArchParams, sigma: list[int], av: list[int], bv: list[int]
         ) -> tuple[list[list[int]], int, int]:
    """``C = diag(sigma, 0) + a b^T`` in block floating point: ``A = rshift(C, E)``.

    E makes the bound ``max|a|·max|b| + sigma_0`` fit Wc-1 magnitude bits.
    Cycles: 1 (max|a|, max|b|) + 1 (their product) + ceil(q²/2) (entries, two a cycle;
    the first cycle also forms E) + 1 (the last entries' stage 2).
    """
    q = a.q
    bound = max(abs(v) for v in av) * max(abs(v) for v in bv) + sigma[0]
    E = max(0, bitlen(bound) - (a.wc_bits - 1))
    A = [[rshift(av[i] * bv[j] + (sigma[i] if i == j < a.rank else 0), E)
          for j in range(q)] for i in range(q)]
    return A, E, 3 + issues(q * q)


def jacobi(a: ArchParams, A: list[list[int]], stats: list[int]
           ) -> tuple[list[list[int]], list[list[int]], int]:
    """One-sided (Hestenes) Jacobi: ``sweeps`` row-cyclic sweeps over pairs (i < j).

    Per pair: alpha, beta, gamma (3q products, ceil(3q/2) cycles and 1 to drain) and
    the skip test (3 cycles: the rescale; ga'², al'·be' and d, g; the compare): rescale
    by a common shift so the largest is < 2**31, skip when
    ``gamma'² <= (alpha'·beta') >> 2Wc`` (columns orthogonal to 2**-Wc). Otherwise
    (1 + (RSQ + 1) + 1 + (RSQ + 1) + 1 + 4q cycles: h² and its rsqrt, cos2 and sin2,
    the rsqrt of cc4, c and s, 8q products): ``d = beta'-alpha'``, ``g = 2 gamma'``
    rounded to 30 bits, ``h^-1 = rsqrt(d²+g²)``, ``cos2 = |d| h^-1``,
    ``sin2 = sgn(d) g h^-1`` (Q.22, sgn(0)=+1), ``cc4 = (2**22 + cos2) << 1`` =
    cos²θ in Q.24, ``(y,e) = rsqrt(cc4)``, ``c = rshift(cc4·y, e-10)``,
    ``s = rshift(sin2·y, e-11)``; columns i, j of A and V rotate as
    ``(c·a_i - s·a_j, s·a_i + c·a_j) >> 22``, saturated.
    """
    q = a.q
    aw, vw = a.wc_bits + 3, CS + 2
    V = [[(1 << CS) if i == j else 0 for j in range(q)] for i in range(q)]
    dots = issues(3 * q) + 1 + 3
    rot = 1 + (RSQ_CYCLES + 1) + 1 + (RSQ_CYCLES + 1) + 1 + issues(8 * q)
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


def post(a: ArchParams, A: list[list[int]], stats: list[int]
         ) -> tuple[list[int], list[list[int]], int]:
    """Singular values and left vectors: ``alpha_j = |A_j|²``, ``(y,e) = rsqrt(alpha_j)``,
    ``sigma_j = rshift(alpha_j·y, e)``, ``U_j = rshift(A_j·y, e-22)``. A column with
    ``alpha_j << 2(Wc-2) < max alpha`` (σ_j < 2**-(Wc-2) σ_max) is flushed to zero.
    Cycles, whatever the data: ceil(q²/2) + 1 (alpha, and its drain) + 1 (max alpha;
    rsqrt(alpha_0) starts) + q·(RSQ + 1) (each column's rsqrt answers, sigma_j's two
    halves are multiplied and the next column's rsqrt starts; U_j's ceil(q/2) products
    follow while it runs) + 1 (the last sigma's stage 2).
    """
    q = a.q
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
    return sig, U, issues(q * q) + 3 + q * (RSQ_CYCLES + 1)


def sort(a: ArchParams, sig: list[int]) -> tuple[list[int], int]:
    """Descending order by a bubble network of q(q-1)/2 compare-exchanges (stable)."""
    q = a.q
    order = list(range(q))
    for p in range(q - 1):
        for i in range(q - 1 - p):
            if sig[order[i]] < sig[order[i + 1]]:
                order[i], order[i + 1] = order[i + 1], order[i]
    return order, q * (q - 1) // 2
