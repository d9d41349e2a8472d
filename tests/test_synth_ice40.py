"""The iCE40 figures (pysim.tools.synth_ice40): parsing Yosys's stat, the UP5K verdict, and
the mapping itself on small designs whose iCE40 cells are known (native Yosys)."""

import shutil

import pytest

from pysim.tools import synth_refs
from pysim.tools.synth_ice40 import (
    UP5K,
    Ice40,
    ice40_blocks,
    ice40_figures,
    ice40_lines,
    ice40_report,
    overflows,
)


def test_figures_sum_each_kind_of_ice40_cell():
    fig = ice40_figures({"\\SB_LUT4": 100, "SB_CARRY": 30, "SB_DFF": 5, "SB_DFFESR": 7,
                         "SB_MAC16": 2, "SB_RAM40_4K": 1, "SB_RAM40_4KNR": 2,
                         "SB_SPRAM256KA": 1, "SB_IO": 9})
    assert (fig.luts, fig.carries, fig.flipflops) == (100, 30, 12)
    assert (fig.dsps, fig.ebrs, fig.sprams) == (2, 3, 1)


def test_the_verdict_names_every_resource_over_the_device():
    assert overflows(Ice40(luts=UP5K["LUT4"], flipflops=10, dsps=8, ebrs=30)) == []
    over = overflows(Ice40(luts=10_560, flipflops=100, dsps=10, ebrs=3))
    assert over == ["LUT4 10,560 > 5,280 (2.00×)", "DSP 10 > 8 (1.25×)"]
    lines = ice40_lines({"small": Ice40(luts=10), "big": Ice40(luts=10_560),
                         "broken": Ice40(error="timed out after 5 s")})
    assert lines[1].endswith("fits") and "does not fit: LUT4 10,560" in lines[2]
    assert "not mapped: timed out" in lines[3]


@pytest.mark.skipif(shutil.which("yosys") is None,
                    reason="native Yosys missing (apt-get install -y yosys; .ci/run does)")
def test_native_mapping_puts_a_wide_multiply_on_dsp_tiles_and_a_ram_in_block_ram(tmp_path):
    (tmp_path / "c.v").write_text(synth_refs.CALIBRATION)
    (tmp_path / "m.v").write_text("""
module ram256 (input wire clk_i, input wire we_i, input wire [7:0] wa_i,
               input wire [7:0] ra_i, input wire [15:0] wd_i, output reg [15:0] rd_o);
    reg [15:0] mem_q [0:255];
    always @(posedge clk_i) begin
        if (we_i) mem_q[wa_i] <= wd_i;
        rd_o <= mem_q[ra_i];
    end
endmodule
""")
    figs = ice40_blocks({"cal": (f"read_verilog {tmp_path / 'c.v'}\n", "calib_mac32"),
                         "ram": (f"read_verilog {tmp_path / 'm.v'}\n", "ram256")},
                        tmp_path, timeout=600)
    cal, ram = figs["cal"], figs["ram"]
    assert cal.error is None and ram.error is None, (cal.error, ram.error)
    assert cal.dsps == 4  # a 32×32 product is four 16×16 tiles
    assert ram.ebrs == 1 and ram.dsps == 0  # 4 Kbit: one block RAM


def test_ice40_report_refuses_an_unknown_block(tmp_path, capsys):
    if shutil.which("yosys") is None:
        pytest.skip("native Yosys missing (apt-get install -y yosys; .ci/run does)")
    from pysim.tools.hw_bench import RTL_SMALL

    assert ice40_report(dict(RTL_SMALL), tmp_path, only=["no_such_block"]) is None
    assert "no_such_block" in capsys.readouterr().err
