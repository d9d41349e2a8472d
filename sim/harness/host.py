"""The host side of ``accel_top``'s command interface (docs/hw-spec.md §3), for cocotb:
the full-system bench and the demo's co-simulation drive the RTL through it."""

from __future__ import annotations

from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

# Inputs of accel_top while no command is sent (responses always accepted).
IDLE = {"cmd_valid_i": 0, "cmd_data_i": 0, "cmd_last_i": 0, "rsp_ready_i": 1}


class Host:
    """Sends one command's words (valid/ready/last) and collects its response words."""

    def __init__(self, dut):
        self.dut = dut

    async def command(self, words: list[int]) -> list[int]:
        dut = self.dut
        for i, w in enumerate(words):
            await FallingEdge(dut.clk_i)
            dut.cmd_valid_i.value = 1
            dut.cmd_data_i.value = int(w)
            dut.cmd_last_i.value = int(i == len(words) - 1)
            while True:
                await ReadOnly()
                ready = int(dut.cmd_ready_o.value)
                await RisingEdge(dut.clk_i)
                if ready:
                    break
                await FallingEdge(dut.clk_i)
        await FallingEdge(dut.clk_i)
        dut.cmd_valid_i.value = 0
        dut.cmd_last_i.value = 0
        out = []
        while True:
            await ReadOnly()
            if not out and not int(dut.rsp_valid_o.value):
                # The command runs: let the simulator go until the response starts, with
                # no Python per cycle (a long UPDATE or COMMIT is thousands of cycles).
                await RisingEdge(dut.rsp_valid_o)
                await ReadOnly()
            if int(dut.rsp_valid_o.value):
                out.append(int(dut.rsp_data_o.value))
                last = int(dut.rsp_last_o.value)
                await RisingEdge(dut.clk_i)
                if last:
                    return out
            else:
                await RisingEdge(dut.clk_i)
