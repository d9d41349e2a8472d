"""Shared cocotb driver pieces: clock and reset, per-seed runs, start/done transactions,
bus packing."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable

import numpy as np
from cocotb import start_soon
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from harness import runner


def start_clock(dut) -> None:
    """A 10 ns clock on ``clk_i``, unless the HDL makes it (``runner.run(clocked=True)``)."""
    if not os.environ.get(runner.HDL_CLOCK):
        start_soon(Clock(dut.clk_i, 10, unit="ns", impl="gpi").start())


async def clock_and_reset(dut, idle: dict[str, int], cycles: int = 2) -> None:
    """Start a 10 ns clock on ``clk_i``, drive ``idle`` values, hold ``rst_i`` ``cycles``."""
    start_clock(dut)
    await reset(dut, idle, cycles)


async def each_seed(dut, idle: dict[str, int]) -> AsyncIterator[np.random.Generator]:
    """One seeded stimulus generator per seed of this simulation, each after a reset.

    A run covers the seeds ``seed .. seed + n - 1`` (``--seed``, ``--seeds n``) in one
    simulator process, so a thousand seeds cost one build and one start-up. The seed
    being run is recorded for the runner, which names it if the run fails; the first
    seed's stimulus is exactly what ``--seed`` alone gives.
    """
    start_clock(dut)
    for k, seed in enumerate(runner.seeds()):
        runner.record_seed(seed)
        if k:  # the previous seed may have ended at any phase: drive on a falling edge
            await FallingEdge(dut.clk_i)
        await reset(dut, idle)
        yield np.random.default_rng(seed)
    runner.record_seed(None)


async def reset(dut, idle: dict[str, int], cycles: int = 2) -> None:
    """Drive ``idle`` values and hold ``rst_i`` for ``cycles`` rising edges."""
    dut.rst_i.value = 1
    for name, value in idle.items():
        getattr(dut, name).value = value
    for _ in range(cycles):
        await RisingEdge(dut.clk_i)
    dut.rst_i.value = 0


async def start_and_wait(dut, inputs: dict[str, int],
                         each_cycle: Callable[[], None] | None = None,
                         strobe: str = "start_i") -> int:
    """Drive ``inputs`` with ``strobe`` (``start_i``) for one edge, then wait for ``done_o``.

    Inputs change on falling edges. ``each_cycle`` runs at every falling edge while the
    block works (e.g. a memory answering an address), the first one in the cycle after
    the start edge. Returns the number of rising edges after the one that sampled the
    strobe until ``done_o`` was seen: the block's latency in the spec's sense.
    """
    await FallingEdge(dut.clk_i)
    for name, value in inputs.items():
        getattr(dut, name).value = value
    getattr(dut, strobe).value = 1
    await RisingEdge(dut.clk_i)
    edges = 0
    while True:
        await FallingEdge(dut.clk_i)
        getattr(dut, strobe).value = 0
        if each_cycle is not None:
            each_cycle()
        if int(dut.done_o.value):
            return edges
        await RisingEdge(dut.clk_i)
        edges += 1


def scrambler(dut, rng: np.random.Generator, names: tuple[str, ...]) -> Callable[[], None]:
    """An ``each_cycle`` for :func:`start_and_wait` that drives random values on the inputs
    ``names`` every cycle after the start edge: a block that latched its operands at
    ``start`` (the spec's contract) gives the same result; one that reads them later, or
    counts cycles and computes at the end, does not."""
    ports = [(getattr(dut, n), len(getattr(dut, n))) for n in names]

    def scramble() -> None:
        for port, width in ports:
            port.value = int.from_bytes(rng.bytes((width + 7) // 8), "little") % (1 << width)
    return scramble


def pack(values, width: int) -> int:
    """Concatenate integers into one bus value, element 0 in the low bits."""
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & ((1 << width) - 1)) << (i * width)
    return word


def unpack(word: int, n: int, width: int, signed: bool) -> np.ndarray:
    """Inverse of :func:`pack`."""
    out = []
    for i in range(n):
        v = (word >> (i * width)) & ((1 << width) - 1)
        if signed and v >> (width - 1):
            v -= 1 << width
        out.append(v)
    return np.array(out, dtype=np.int64)
