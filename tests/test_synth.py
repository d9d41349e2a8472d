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



# The commit's dk in its plain form, as the model writes it (delta_levels): the sum
# shifted with full-width rounding and compares, then clamped and negated.
PLAIN_DK = """
localparam logic signed [FW-1:0] CAP_F = FW'(CAP);
function automatic signed [FW-1:0] shifted(input signed [AC_W-1:0] acc, input integer sh);
    reg signed [FW-1:0] a, q, v;
    reg [FW-1:0] mag;
    reg guard, sticky, big;
    integer ns;
    begin
        a = {acc[AC_W-1], acc};
        mag = (a < 0) ? -a : a;
        v = '0;
        if (sh > 0 && sh < AC_W) begin
            q = a >>> sh;
            guard = a[sh-1];
            sticky = |(a & ~({FW{1'b1}} << (sh - 1)));
            v = q + {{(FW - 1){1'b0}}, guard & (sticky | q[0])};
        end else if (sh == 0) begin
            v = a;
        end else if (sh < 0) begin
            ns = (-sh >= WB) ? WB : -sh;
            big = (-sh >= WB) ? (a != 0) : (mag > (CAP_F >> ns));
            if (big) v = (a < 0) ? -CAP_F : CAP_F;
            else v = a <<< ns;
        end
        shifted = v;
    end
endfunction
function automatic signed [WB:0] finish(input signed [FW-1:0] v);
    reg signed [WB:0] c;
    begin
        if (v > CAP_F) c = CAP_F[WB:0];
        else if (v < -CAP_F) c = -CAP_F[WB:0];
        else c = v[WB:0];
        finish = -c;
    end
endfunction
"""


@pytest.mark.skipif(shutil.which("yosys") is None,
                    reason="needs Yosys (apt-get install -y yosys; CI installs it)")
@pytest.mark.parametrize(("ac_w", "wb"), [(51, 4), (50, 6), (30, 3), (40, 1)])
def test_commit_dk_equals_its_plain_form_for_every_input(tmp_path, ac_w, wb):
    """commit_fns.vh's dk_of(acc, sh) forms dk without full-width rounding or compares (it
    is on commit_unit's longest path); Yosys's SAT solver proves it equal to the plain form
    for every accumulator value and every 16-bit shift at these widths."""
    (tmp_path / "plain.vh").write_text(PLAIN_DK)  # FW comes from commit_fns.vh
    (tmp_path / "m.sv").write_text(f"""
module m (input wire signed [{ac_w}-1:0] acc, input wire signed [15:0] shs, output wire ok);
    localparam int AC_W = {ac_w}; localparam int WB = {wb}; localparam int F = 14;
    localparam int LANES = 3; localparam int LN_W = 2; localparam int CAP = (1 << WB) - 1;
    `include "commit_fns.vh"
    `include "plain.vh"
    wire integer sh = 32'(shs);
    assign ok = dk_of(acc, sh) == finish(shifted(acc, sh));
    always @* assert(ok);
endmodule
""")
    _sat_proves(tmp_path)


# The scalar unit's rounding as hw-spec section 4 writes it: rne96 or rne64, then the use's
# saturation (core U products: sat64 to 24 bits; reduce_ok's x0: min with 2^22).
PLAIN_ROUND = """
function automatic signed [63:0] sat64(input signed [63:0] a, input integer w);
    reg signed [63:0] hi;
    begin
        hi = (64'sd1 <<< (w - 1)) - 64'sd1;
        sat64 = (a > hi) ? hi : ((a < -hi - 64'sd1) ? -hi - 64'sd1 : a);
    end
endfunction
function automatic signed [95:0] plain_rne96(input signed [95:0] a, input [6:0] s);
    reg signed [95:0] q;
    reg guard, sticky;
    begin
        if (s == 0) plain_rne96 = a;
        else begin
            q = a >>> s;
            guard = a[s-1];
            sticky = (s > 1) ? |(a & ~(~96'd0 << (s - 7'd1))) : 1'b0;
            plain_rne96 = q + {95'd0, guard & (sticky | q[0])};
        end
    end
endfunction
function automatic [22:0] plain_min22(input signed [95:0] a, input [6:0] s);
    reg [95:0] v;
    begin
        v = plain_rne96(a, s);
        plain_min22 = (v > 96'h400000) ? 23'h400000 : v[22:0];
    end
endfunction
function automatic [31:0] plain_sat(input signed [63:0] a, input [6:0] s, input integer w);
    reg [63:0] v;
    begin
        v = sat64(rne64(a, s), w);
        plain_sat = v[31:0];
    end
endfunction
"""


@pytest.mark.skipif(shutil.which("yosys") is None,
                    reason="needs Yosys (apt-get install -y yosys; CI installs it)")
def test_split_rounding_equals_rne_and_saturation_for_every_input(tmp_path):
    """scalar_fns.vh's rq96 keeps the rounding increment apart from the shifted value (its
    shifter collects the sticky bit stage by stage), so that a use adds only over the bits
    it keeps and saturates by testing the shifted value's upper bits. Yosys's SAT solver
    proves, for every operand and every shift the uses make (below 96; below 64 for a
    64-bit operand): the sum is the plain rne96's (and rne96's);
    satw equals sat64(rne64(...), w) for w = 23, 24, 27 (core entries, V and U); min22
    equals min(rne96(...), 2^22)."""
    (tmp_path / "plain.vh").write_text(PLAIN_ROUND)
    (tmp_path / "m.sv").write_text("""
module m (input wire signed [95:0] a, input wire [6:0] s, output wire ok);
    `include "scalar_fns.vh"
    `include "plain.vh"
    wire [96:0] r = rq96(a, s), r64 = rq96({{32{a[63]}}, a[63:0]}, s);
    wire [95:0] sum = r[95:0] + {95'd0, r[96]};
    assign ok = s >= 96 || (sum == plain_rne96(a, s) && rne96(a, s) == sum
                            && min22(r) == plain_min22(a, s)
                            && (s >= 64 || (satw(r64, 24) == plain_sat(a[63:0], s, 24)
                                            && satw(r64, 23) == plain_sat(a[63:0], s, 23)
                                            && satw(r64, 27) == plain_sat(a[63:0], s, 27))));
    always @* assert(ok);
endmodule
""")
    _sat_proves(tmp_path)


PLAIN_LANE = """
localparam logic signed [PW-1:0] HI = PW'((1 << (F - 1)) - 1);
function automatic signed [F-1:0] plain_lane(input signed [PW-1:0] a, input integer s);
    reg signed [PW-1:0] v;
    begin
        v = rne_p(a, s);
        plain_lane = (v > HI) ? F'(HI) : ((v < -HI - PW'(1)) ? F'(-HI - PW'(1)) : F'(v));
    end
endfunction
"""


@pytest.mark.skipif(shutil.which("yosys") is None,
                    reason="needs Yosys (apt-get install -y yosys; CI installs it)")
@pytest.mark.parametrize(("pw", "f"), [(47, 14), (60, 16), (30, 8)])
def test_lane_rounding_equals_rne_then_saturation_for_every_input(tmp_path, pw, f):
    """vec_fns.vh's rne_sat(a, s) (a lane's normalise and rotation results) tests the
    shifted value's upper bits instead of forming the full-width sum and compares; Yosys's
    SAT solver proves it equal to sat(rne_p(a, s), F) for every product and every shift."""
    (tmp_path / "plain.vh").write_text(PLAIN_LANE)
    (tmp_path / "m.sv").write_text(f"""
module m (input wire signed [{pw}-1:0] a, input wire signed [15:0] ss, output wire ok);
    localparam int PW = {pw}; localparam int F = {f}; localparam int RW = {pw};
    `include "vec_fns.vh"
    `include "plain.vh"
    wire integer s = 32'(ss);
    assign ok = rne_sat(a, s) == plain_lane(a, s);
    always @* assert(ok);
endmodule
""")
    _sat_proves(tmp_path)


def _sat_proves(tmp_path: Path) -> None:
    """Yosys's SAT solver proves every assert of ``tmp_path/m.sv`` (which includes from
    rtl/ and from ``tmp_path``) for every input."""
    proc = subprocess.run(["yosys", "-q", "-p", f"read_verilog -sv -formal -I{RTL} "
                           f"-I{tmp_path} m.sv; prep -top m; flatten; "
                           "sat -prove-asserts -verify"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, (proc.stderr or proc.stdout)[-2000:]


PLAIN_RSQ_NORM = """
// docs/hw-spec.md section 4, rsqrt step 1 on the whole operand.
function automatic [39:0] plain_norm(input [TW-1:0] t);
    integer k, b, sh;
    reg [TW+31:0] tw;
    begin
        b = 0;
        for (k = 0; k < TW; k = k + 1) if (t[k]) b = k + 1;
        sh = 32 - b;
        if (sh % 2 != 0) sh = sh - 1;
        tw = (TW + 32)'(t);
        tw = (sh < 0) ? tw >> (-sh) : tw << sh;
        plain_norm = {tw[31:0], 8'(40 - sh / 2)};
    end
endfunction
"""


@pytest.mark.skipif(shutil.which("yosys") is None,
                    reason="needs Yosys (apt-get install -y yosys; CI installs it)")
@pytest.mark.parametrize("tw", [128, 96, 64, 40])
def test_rsqrt_window_normalises_as_the_whole_operand_for_every_input(tmp_path, tw):
    """rsqrt.v latches only the operand's leading 64-bit window at start (rsqrt_norm.vh);
    Yosys's SAT solver proves that tn, e and the zero test are those of the whole operand
    (hw-spec section 4, step 1) for every operand of these widths."""
    (tmp_path / "plain.vh").write_text(PLAIN_RSQ_NORM)
    (tmp_path / "m.sv").write_text(f"""
module m (input wire [{tw}-1:0] t, output wire ok);
    localparam int TW = {tw};
    `include "rsqrt_norm.vh"
    `include "plain.vh"
    wire [RW-1:0] b = rsq_base(t);
    wire [63:0] w = rsq_window(t, b);
    assign ok = rsq_norm(w, b) == plain_norm(t) && (w == 0) == (t == 0);
    always @* assert(ok);
endmodule
""")
    _sat_proves(tmp_path)
