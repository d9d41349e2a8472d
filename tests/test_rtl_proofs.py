"""SAT proofs that the RTL's rounding and normalisation helpers (commit_fns.vh, scalar_fns.vh,
vec_fns.vh, rsqrt_norm.vh) equal their plain forms for every input (Yosys's ``sat``)."""

import shutil
import subprocess
from pathlib import Path

import pytest

RTL = Path(__file__).resolve().parents[1] / "rtl"


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
