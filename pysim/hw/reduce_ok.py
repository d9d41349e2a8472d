"""The unbiased rank reduction (optimal Kronecker sum on integers): the specification of
``rtl/reduce_ok.v`` (docs/hw-spec.md §5, step 10). H, M, T are Q2.22."""

from __future__ import annotations

from .fixed import CS, RECIP_W, RSQ_CYCLES, lfsr_step, recip_small, rshift, rsqrt
from .isa import Stat
from .params import ArchParams
from .passes import issues


def reduce_unbiased(a: ArchParams, lfsr: int, sig: list[int], order: list[int], U, V,
                    stats: list[int]):
    """Optimal Kronecker sum on integers (docs/hw-spec.md §5, step 10).

    Draws q LFSR bits first (signs of the sorted rows, 1 = negative). With
    ``s`` sorted descending: ``m`` = smallest index < r with ``(r-m)·s_m <= sum_{j>=m}
    s_j``; ``k = r - m``, ``s1 = sum_{j>=m} s_j``. ``x0_j = sqrt((s1 - k s_j)/s1)``
    (Q.22 via two rsqrt), Householder ``H = I - v v^T/v_0`` with ``v = x0 + e1``,
    mixing ``M = [I_m, 0; 0, diag(signs)·H[:, 1:]]``; ``T = U_sorted·M``,
    slot values ``s1/k`` through a reciprocal table.

    Returns ``(T_L, T_R, new sigma, cycles, lfsr, k)``; ``k`` is None for a zero tail.

    Cycles: :func:`cycles`.
    """
    r, q = a.rank, a.q
    bits = []
    for _ in range(q):
        bit, lfsr = lfsr_step(lfsr)
        bits.append(bit)
    s = [sig[o] for o in order]
    tail = [0] * (q + 1)
    for j in range(q - 1, -1, -1):
        tail[j] = tail[j + 1] + s[j]
    m = 0
    for m in range(r):
        if (r - m) * s[m] <= tail[m]:
            break
    Us = [[U[i][o] for o in order] for i in range(q)]
    Vs = [[V[i][o] for o in order] for i in range(q)]
    if tail[m] == 0:
        return ([row[:r] for row in Us], [row[:r] for row in Vs], s[:r], cycles(a, None), lfsr,
                None)
    k, s1 = r - m, tail[m]
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
    return T_L, T_R, s[:m] + [slot] * k, cycles(a, k), lfsr, k


def select_biased(r: int, sig: list[int], order: list[int], U, V):
    """The biased reduction: the r largest singular values and their columns of U, V.

    Returns ``(T_L, T_R, new_sig)`` (q × r Q2.22 rotations, r values in core units). In
    the RTL this is ``reduce_ok``'s ``load_i``: one edge, on the registers and
    multiplexers that hold T and the values for the unbiased path too.
    """
    keep = order[:r]
    return ([[row[k] for k in keep] for row in U], [[row[k] for k in keep] for row in V],
            [sig[k] for k in keep])


def cycles(a: ArchParams, k: int | None) -> int:
    """Cycles of the reduction with k slots (None: a zero tail), the scalar unit's
    schedule (docs/hw-spec.md §5, "How the reduction runs"):
    q (the tail sums, one add a cycle) + r (the m test, one p a cycle; ``k·s`` is a
    shift-add) + 1 (the decision; the columns t < m of T are the sorted U, V and are
    copied). Unless the tail is zero: (k+3)·(RSQ+1) for the rsqrt of s1, of the k+1
    numerators and of v_0 (each next one starts when the last answers; root and x0 use
    the two multipliers on a numerator's halves and on root's, while the next runs) +
    1 (inv; the slot value's two halves) + k·(2 + ceil((k+1)/2)) (per Householder column
    ``v_b·inv``, a cycle to round it, then its k+1 products two a cycle) + 1 (drain) +
    q·k·(k+1) (T's columns t >= m: one term of T_L and of T_R a cycle, on the two
    multipliers; M's other entries are zero) + 1 (the last term's stage 2).
    """
    r, q = a.rank, a.q
    n = q + r + 1
    if k is not None:
        n += ((k + 3) * (RSQ_CYCLES + 1) + 1 + k * (2 + issues(k + 1)) + 1
              + q * k * (k + 1) + 1)
    return n
