// Functions of the commit pass (rtl/commit_unit.v), included inside that module after
// its localparams: they use its widths (F, LANES, LN_W, WB, AC_W, CAP). The model is
// pysim/hw/commit_unit.py:delta_levels.

// One lane of a memory word, by comparison (a mux, no index arithmetic).
function automatic [F-1:0] lane_of(input [LANES*F-1:0] word, input [LN_W-1:0] lane);
    integer e;
    begin
        lane_of = '0;
        for (e = 0; e < LANES; e = e + 1) if (LN_W'(e) == lane) lane_of = word[e*F +: F];
    end
endfunction

// rshift(acc, SH) of a finished sum, or a saturating left shift when SH < 0, at
// the accumulator's width plus one: a shift of AC_W or more rounds every sum to 0, and a
// left shift that does not saturate leaves |value| <= CAP. The clamp is symmetric, so the
// value is clamped first and negated at WB + 1 bits.
// (No size casts here: Yosys 0.23 rejects them inside this function.)
localparam int FW = AC_W + 1;
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
            sticky = |(a & ~({FW{1'b1}} << (sh - 1)));  // the bits below the guard
            v = q + {{(FW - 1){1'b0}}, guard & (sticky | q[0])};
        end else if (sh == 0) begin
            v = a;
        end else if (sh < 0) begin
            ns = (-sh >= WB) ? WB : -sh;     // from WB on, only a zero sum does not saturate
            big = (-sh >= WB) ? (a != 0) : (mag > (CAP_F >> ns));
            if (big) v = (a < 0) ? -CAP_F : CAP_F;
            else v = a <<< ns;
        end
        shifted = v;
    end
endfunction
// dk = -clamp(v); it is 0 exactly when v is.
function automatic signed [WB:0] finish(input signed [FW-1:0] v);
    reg signed [WB:0] c;
    begin
        if (v > CAP_F) c = CAP_F[WB:0];
        else if (v < -CAP_F) c = -CAP_F[WB:0];
        else c = v[WB:0];
        finish = -c;
    end
endfunction
