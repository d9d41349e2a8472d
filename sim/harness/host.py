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
        # Handles and triggers looked up once: the host runs thousands of commands.
        self.fall = FallingEdge(dut.clk_i)
        self.rsp_start = RisingEdge(dut.rsp_valid_o)
        self.ready, self.valid = dut.cmd_ready_o, dut.cmd_valid_i
        self.data, self.last = dut.cmd_data_i, dut.cmd_last_i
        self.rvalid, self.rdata, self.rlast = dut.rsp_valid_o, dut.rsp_data_o, dut.rsp_last_o

    async def command(self, words: list[int]) -> list[int]:
        n = len(words)
        await self.fall
        self.valid.value = 1
        self.data.value = int(words[0])
        self.last.value = int(n == 1)
        i = 0
        while i < n:
            ready = int(self.ready.value)  # decides whether the next rising edge takes it
            await self.fall
            if ready:
                i += 1
                if i < n:
                    self.data.value = int(words[i])
                    if i == n - 1:
                        self.last.value = 1
        self.valid.value = 0
        self.last.value = 0
        out = []
        while True:
            if not int(self.rvalid.value):
                # The command runs: let the simulator go until the response starts, with
                # no Python per cycle (a long UPDATE or COMMIT is thousands of cycles).
                await self.rsp_start
                await self.fall
                continue
            out.append(int(self.rdata.value))
            if int(self.rlast.value):
                return out  # the next rising edge takes the last word
            await self.fall
