"""The synthesis figures (pysim.tools.synth): parsing Yosys's output, and the flow itself on
small designs whose figures are known (native Yosys; CI installs it)."""

import shutil
import subprocess
from pathlib import Path

import pytest

from pysim.hw import rtl
from pysim.tools import synth, synth_refs

RTL = Path(__file__).resolve().parents[1] / "rtl"


def test_base_names_of_derived_modules():
    assert synth.base_name("$paramod$1a2b3c\\lrt_unit") == "lrt_unit"
    assert synth.base_name("$paramod\\gs_unit\\N=s32'00000000000000000000000000010000") == \
        "gs_unit"
    assert synth.base_name("accel_top") == "accel_top"


def test_module_list_of_yosys_ls():
    text = "\n3 modules:\n  $paramod$1a\\gs_unit\n  accel_top\n  mac_array\n\n"
    assert synth.module_list(text) == ["$paramod$1a\\gs_unit", "accel_top", "mac_array"]


def test_coarse_figures_find_multipliers_dividers_memories_and_registers():
    netlist = {"modules": {"\\top": {"cells": {
        "a": {"type": "$mul", "parameters": {"A_WIDTH": 32, "B_WIDTH": "10000"}},
        "b": {"type": "$mod", "parameters": {}},
        "c": {"type": "$div", "parameters": {}},
        "d": {"type": "$mem_v2", "parameters": {"WIDTH": 48, "SIZE": 16, "RD_PORTS": 1,
                                                 "WR_PORTS": 1}},
        "e": {"type": "$sdffe", "parameters": {"WIDTH": 65}},
        "f": {"type": "$dff", "parameters": {"WIDTH": 3}},
        "g": {"type": "$memrd_v2", "parameters": {"WIDTH": 48}},
    }}}}
    got = synth.coarse_figures(netlist, "top")
    assert got["muls"] == [(32, 16)] and got["divs"] == 2 and got["widest_reg"] == 65
    assert got["mems"] == [{"name": "", "width": 48, "depth": 16, "read_ports": 1,
                            "write_ports": 1}]


def test_fine_figures_and_depth_parse():
    stat = {"modules": {"m": {"num_cells_by_type": {"$_AND_": 10, "$_DFF_P_": 4,
                                                     "$_SDFFE_PP0P_": 2, "$mem_v2": 1}}}}
    assert synth.fine_figures(stat, "m") == (16, 6)
    text = "...\nLongest topological path in $paramod\\x\\N=1 (length=42):\n  0: a\n"
    assert synth.ltp_depth(text) == 42
    assert synth.ltp_depth("no path") is None


def test_table_states_the_update_unit_against_the_mac_array():
    figs = {"mac_array": synth.Figures(cells=1000, flipflops=10, depth=50),
            "lrt_unit": synth.Figures(cells=15000, muls=[(16, 20)] * 4, depth=80),
            "commit_unit": synth.Figures(cells=5000, muls=[(32, 32)], divs=1, depth=60,
                                         widest_reg=48),
            "calibration": synth.Figures(cells=7000, muls=[(32, 32)], depth=100),
            "add64": synth.Figures(cells=600, depth=200),  # a reference, not a block
            "mul16x20": synth.Figures(cells=600, flipflops=72, muls=[(16, 20)], depth=300),
            "mul32x32": synth.Figures(cells=7000, flipflops=128, muls=[(32, 32)])}
    text = "\n".join(synth.table(figs))
    assert "registered 64-bit add (reference)" in text
    # the multipliers alone: 4 × (600 - 72) + (7000 - 128) = 8,984 cells of the 20,000
    assert "5 $mul, each synthesised alone without its registers: 8,984 cells = 9.0× the " \
           "MAC array; the rest 11,016 = 11.0×" in text
    assert "mul16x20" in text and "$mul of this shape" in text
    assert "20,000 cells = 20.0× the MAC array's 1,000" in text
    assert "5 $mul (0 wider than 32 bits), 1 $div/$mod, widest register 48 bits" in text
    assert "deepest path: lrt_unit 80 gate levels = 0.8×" in text
    assert "multi-port" not in text
    assert synth.is_ported({"name": "u_svd.a_q", "read_ports": 4, "write_ports": 2})
    assert not synth.is_ported({"name": "u_xbar.code_q", "read_ports": 8, "write_ports": 9})
    assert not synth.is_ported({"name": "u_mem.mem_q", "read_ports": 1, "write_ports": 1})
    ported = [{"width": 24, "depth": 9, "read_ports": 10, "write_ports": 2},
              {"width": 64, "depth": 3, "read_ports": 2, "write_ports": 6}]
    figs["lrt_unit"].ported, figs["lrt_unit"].ported_bits = ported, 24 * 9 + 64 * 3
    figs["commit_unit"].mems = [{"width": 8, "depth": 16, "read_ports": 1, "write_ports": 1}]
    figs["commit_unit"].mem_bits = 128
    assert "2 multi-port arrays (408 bits, ≤10R6W) counted as the flip-flops and " \
           "multiplexers they map to; 1 ≤1R1W memories (128 bits) not" in \
           "\n".join(synth.table(figs))
    failed = dict(figs, commit_unit=synth.Figures(error="timed out after 5 s"))
    assert "not all blocks synthesised" in "\n".join(synth.table(failed))


@pytest.mark.skipif(shutil.which("yosys") is None,
                    reason="native Yosys missing (apt-get install -y yosys; .ci/run does)")
def test_native_flow_measures_a_multiplier_and_infers_a_memory(tmp_path):
    (tmp_path / "c.v").write_text(synth_refs.CALIBRATION)
    cal = synth.synth_one(f"read_verilog {tmp_path / 'c.v'}\n", "calib_mac32",
                          tmp_path / "cal", timeout=600)
    assert cal.error is None, cal.error
    assert cal.muls == [(32, 32)] and cal.divs == 0 and cal.flipflops == 192
    assert cal.widest_reg == 64 and cal.depth and cal.depth > 40
    assert 3000 < cal.cells < 20000  # one 32×32 multiplier in generic gates
    (tmp_path / "m.v").write_text("""
module ram1r1w #(parameter W = 24, D = 32) (
    input wire clk_i, input wire we_i, input wire [4:0] wa_i, input wire [4:0] ra_i,
    input wire [W-1:0] wd_i, output reg [W-1:0] rd_o);
    reg [W-1:0] mem_q [0:D-1];
    always @(posedge clk_i) begin
        if (we_i) mem_q[wa_i] <= wd_i;
        rd_o <= mem_q[ra_i];
    end
endmodule
""")
    ram = synth.synth_one(f"read_verilog {tmp_path / 'm.v'}\n", "ram1r1w", tmp_path / "ram",
                          timeout=600)
    assert ram.error is None, ram.error
    assert ram.mems == [{"name": "mem_q", "width": 24, "depth": 32, "read_ports": 1,
                         "write_ports": 1}]
    assert ram.mem_bits == 24 * 32 and not ram.muls and not ram.ported


@pytest.mark.skipif(shutil.which("yosys") is None,
                    reason="native Yosys missing (apt-get install -y yosys; .ci/run does)")
def test_native_flow_counts_a_multi_port_array_as_logic(tmp_path):
    # Two read ports: a register file, not a memory macro. It becomes flip-flops and
    # multiplexers in the cells, unless --keep-ported (the earlier measure).
    (tmp_path / "r.v").write_text("""
module rf2r #(parameter W = 8, D = 8) (
    input wire clk_i, input wire we_i, input wire [2:0] wa_i, input wire [2:0] ra_i,
    input wire [2:0] rb_i, input wire [W-1:0] wd_i, output reg [W-1:0] a_o, b_o);
    reg [W-1:0] rf_q [0:D-1];
    always @(posedge clk_i) begin
        if (we_i) rf_q[wa_i] <= wd_i;
        a_o <= rf_q[ra_i];
        b_o <= rf_q[rb_i];
    end
endmodule
""")
    load = f"read_verilog {tmp_path / 'r.v'}\n"
    rf = synth.synth_one(load, "rf2r", tmp_path / "rf", timeout=600)
    kept = synth.synth_one(load, "rf2r", tmp_path / "rf-kept", timeout=600, keep_ported=True)
    assert rf.error is None and kept.error is None, (rf.error, kept.error)
    assert not rf.mems and rf.mem_bits == 0 and rf.ported_bits == 64
    assert rf.ported == [{"name": "rf_q", "width": 8, "depth": 8, "read_ports": 2,
                          "write_ports": 1}]
    assert rf.flipflops >= 64 + 16 and rf.cells > kept.cells + 64  # the words are cells now
    assert kept.mem_bits == 64 and kept.mems[0]["read_ports"] == 2 and not kept.ported
    # The crossbar's arrays (instance u_xbar) are the device: they stay memories.
    (tmp_path / "x.v").write_text("""
module two (input wire clk_i, input wire we_i, input wire [2:0] wa_i, ra_i, rb_i,
            input wire [7:0] wd_i, output wire [7:0] a_o, b_o, c_o, d_o);
    rf2r u_xbar (.clk_i(clk_i), .we_i(we_i), .wa_i(wa_i), .ra_i(ra_i), .rb_i(rb_i),
                 .wd_i(wd_i), .a_o(a_o), .b_o(b_o));
    rf2r u_rf (.clk_i(clk_i), .we_i(we_i), .wa_i(wa_i), .ra_i(ra_i), .rb_i(rb_i),
               .wd_i(wd_i), .a_o(c_o), .b_o(d_o));
endmodule
""")
    two = synth.synth_one(load + f"read_verilog {tmp_path / 'x.v'}\n", "two",
                          tmp_path / "two", timeout=600)
    assert two.error is None, two.error
    assert [m["name"] for m in two.mems] == ["u_xbar.rf_q"]
    assert [m["name"] for m in two.ported] == ["u_rf.rf_q"]


@pytest.mark.skipif(shutil.which("yosys") is None,
                    reason="needs Yosys (apt-get install -y yosys; CI installs it)")
def test_native_flow_keeps_a_register_file_at_its_declared_size(tmp_path):
    # A 3-entry file initialised entry by entry (constant addresses 0, 1, 2, as a reset
    # or core_svd's V = I does): Yosys's wide-port merging would pad it to 4 entries, and
    # the fourth entry's flip-flops and multiplexers would count. The flow does not widen.
    (tmp_path / "i.v").write_text("""
module rf3 (input wire clk_i, input wire init_i, input wire we_i, input wire [1:0] wa_i,
            input wire [1:0] ra_i, rb_i, input wire [7:0] wd_i, output reg [7:0] a_o, b_o);
    reg [7:0] rf_q [0:2];
    integer k;
    always @(posedge clk_i) begin
        if (init_i) for (k = 0; k < 3; k = k + 1) rf_q[k] <= 8'(k + 1);
        else if (we_i) rf_q[wa_i] <= wd_i;
        a_o <= rf_q[ra_i];
        b_o <= rf_q[rb_i];
    end
endmodule
""")
    rf = synth.synth_one(f"read_verilog -sv {tmp_path / 'i.v'}\n", "rf3", tmp_path / "rf3",
                         timeout=600)
    assert rf.error is None, rf.error
    assert [(m["name"], m["depth"]) for m in rf.ported] == [("rf_q", 3)]
    assert rf.flipflops == 3 * 8 + 2 * 8


# The blocks Yosys elaborates on their own: accel_top and lrt_unit are left out because
# they only add their children (core_svd alone takes about 40 s), which are all here.
ELABORATED = sorted(set(rtl.CHILDREN) - {"accel_top", "lrt_unit"})


@pytest.mark.skipif(shutil.which("yosys") is None,
                    reason="needs Yosys (apt-get install -y yosys; CI installs it)")
def test_every_block_elaborates_in_yosys(tmp_path):
    """Yosys reads and elaborates every block (a simulator accepts constructs Yosys
    rejects, e.g. a function call it takes for a constant expression): the synthesis
    flow of `nox -s bench` cannot break unseen."""
    failed = {}
    for block in ELABORATED:
        files = " ".join(str(RTL / s) for s in rtl.sources(block))
        proc = subprocess.run(["yosys", "-q", "-p", f"read_verilog -sv -I{RTL} {files}; "
                               f"hierarchy -check -top {block}"],
                              capture_output=True, text=True, timeout=600, cwd=tmp_path)
        if proc.returncode:
            failed[block] = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
    assert not failed, f"Yosys could not elaborate: {failed}"
