"""Timing shared by the blocks: a vector pass on the P lanes over n elements takes
``ceil(n/P)`` issue cycles plus ``PASS_OVH`` (SRAM read, multiply, adder tree) to drain;
n products on the scalar unit's ``SCALAR_MULS`` multipliers take ``issues(n)`` cycles
(docs/hw-spec.md §5 and §7)."""

from __future__ import annotations

PASS_OVH = 2        # pipeline fill of a vector pass: SRAM read, multiply, adder tree
SCALAR_MULS = 2     # multipliers of the scalar unit (core SVD, reduction, norms)


def blocks(n: int, p: int) -> int:
    """Words of P elements that hold n elements: ``ceil(n/p)`` (cycles of one pass)."""
    return -(-n // p)


def issues(n: int) -> int:
    """Cycles that issue n products on the scalar unit's multipliers."""
    return blocks(n, SCALAR_MULS)
