"""Timing of a vector pass on the P lanes, shared by every block that runs one: a pass
over n elements takes ``ceil(n/P)`` issue cycles plus ``PASS_OVH`` (SRAM read, multiply,
adder tree) to drain (docs/hw-spec.md §7)."""

from __future__ import annotations

PASS_OVH = 2        # pipeline fill of a vector pass: SRAM read, multiply, adder tree


def blocks(n: int, p: int) -> int:
    """Words of P elements that hold n elements: ``ceil(n/p)`` (cycles of one pass)."""
    return -(-n // p)
