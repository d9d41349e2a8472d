"""The host side of ``accel_top``'s command interface (docs/hw-spec.md §3), for cocotb:
the full-system bench and the demo's co-simulation drive the RTL through it."""

from __future__ import annotations

from cocotb.triggers import FallingEdge, RisingEdge

# Inputs of accel_top while no command is sent (responses always accepted).
IDLE = {"cmd_valid_i": 0, "cmd_data_i": 0, "cmd_last_i": 0, "rsp_ready_i": 1}


class Host:
    """Sends one command's words (valid/ready/last) and collects its response words.

    One Python wake-up per word, at the falling clock edge: ``cmd_ready_o``,
    ``rsp_valid_o``, ``rsp_data_o`` and ``rsp_last_o`` come from registers, so what they
    show at a falling edge is what the next rising edge acts on (``rsp_ready_i`` is held
    high). While a command executes, nothing wakes Python until the response starts.
    """

    def __init__(self, dut):
        self.dut = dut

    async def command(self, words: list[int]) -> list[int]:
        dut = self.dut
        await FallingEdge(dut.clk_i)
        i = 0
        while i < len(words):
            ready = int(dut.cmd_ready_o.value)  # decides whether the next rising edge takes it
            dut.cmd_valid_i.value = 1
            dut.cmd_data_i.value = int(words[i])
            dut.cmd_last_i.value = int(i == len(words) - 1)
            await FallingEdge(dut.clk_i)
            i += ready
        dut.cmd_valid_i.value = 0
        dut.cmd_last_i.value = 0
        out = []
        while True:
            if not int(dut.rsp_valid_o.value):
                # The command runs: let the simulator go until the response starts, with
                # no Python per cycle (a long UPDATE or COMMIT is thousands of cycles).
                await RisingEdge(dut.rsp_valid_o)
                await FallingEdge(dut.clk_i)
                continue
            out.append(int(dut.rsp_data_o.value))
            if int(dut.rsp_last_o.value):
                return out  # the next rising edge takes the last word
            await FallingEdge(dut.clk_i)
