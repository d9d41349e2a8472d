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

// dk of a finished sum: -rshift(acc, SH), or a saturating left shift when SH < 0.
// (No size casts here: Yosys 0.23 rejects them inside this function.)
localparam logic signed [127:0] CAP_X = 128'(CAP);
function automatic signed [WB:0] finish(input signed [AC_W-1:0] acc, input integer sh);
    reg signed [127:0] a, d, mag;
    begin
        a = {{(128 - AC_W){acc[AC_W-1]}}, acc};
        if (sh >= 0) begin
            d = -rne(a, (sh >= 63) ? 126 : sh);
        end else begin
            mag = (a < 0) ? -a : a;
            if (mag > (CAP_X >>> (-sh))) d = (a < 0) ? CAP_X : -CAP_X;
            else d = -(a <<< (-sh));
        end
        if (d > CAP_X) d = CAP_X;
        if (d < -CAP_X) d = -CAP_X;
        finish = d[WB:0];
    end
endfunction
