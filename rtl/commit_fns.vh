// Functions of the commit pass (rtl/commit_unit.v), included inside that module after
// its localparams: they use its widths (F, LANES, LN_W, WB, AC_W, CAP). The model is
// pysim/hw/commit_unit.py:delta_levels.

// One lane of a memory word, by comparison (a mux, no index arithmetic).
function automatic [F-1:0] lane_of(input [LANES*F-1:0] word, input [LN_W-1:0] lane);
    integer e;
    begin
        lane_of = '0;
        for (e = 0; e < LANES; e = e + 1) if (e == 32'(lane)) lane_of = word[e*F +: F];
    end
endfunction

// dk = -clamp(rshift(acc, SH)) of a finished sum: a rounded right shift when SH > 0, a
// saturating left shift when SH < 0, clamped to +-CAP and negated (model: delta_levels).
// Only WB + 1 bits of the shifted value survive the clamp, so the full-width rounding
// increment and the magnitude compares are never formed: whether the value leaves
// [-CAP, CAP] is a sign-extension test on the bits above WB (an AND/OR tree, not a carry
// chain), and the increment runs over WB + 1 bits. tests/test_rtl_proofs.py proves it equal,
// for every accumulator value and shift, to the plain form written with full-width adds.
localparam int FW = AC_W + 1;
localparam int SW = $clog2(FW + 1);  // a shift amount below FW
localparam logic signed [WB:0] CAP_W = CAP[WB:0];
// One right shifter serves both directions (per lane; the masks depend on sh alone): by
// sh when SH > 0, by k = WB - ns when SH < 0 (ns = -sh, at most WB).
function automatic signed [WB:0] dk_of(input signed [AC_W-1:0] acc, input integer sh);
    reg signed [FW-1:0] a, q;
    reg [FW-1:0] hi;
    reg [SW-1:0] am, mk;
    reg rs, below, inc;
    integer k;
    begin
        a = {acc[AC_W-1], acc};
        rs = sh > 0 && sh < AC_W;
        k = (-sh >= WB) ? 0 : WB + sh;
        am = rs ? sh[SW-1:0] : k[SW-1:0];
        mk = rs ? am - 1'b1 : am;
        q = a >>> am;
        below = |(a & ~({FW{1'b1}} << mk));  // a's bits below mk
        dk_of = '0;
        if (rs) begin
            inc = a[mk] & (below | q[0]);  // round half even
            // q + inc clamps to CAP exactly when q >= CAP, to -CAP when q <= -CAP - 1;
            // hi is 0 or -1 exactly when q is in [-2^WB, 2^WB).
            hi = q >>> WB;
            if (!q[FW-1] && (hi != 0 || &q[WB-1:0])) dk_of = -CAP_W;
            else if (q[FW-1] && (!(&hi) || q[WB-1:0] == 0)) dk_of = CAP_W;
            else dk_of = -(q[WB:0] + {{WB{1'b0}}, inc});
        end else if (sh <= 0) begin
            // |a| << ns saturates exactly when |a| >= 2^k: q = a >>> k is not 0 or -1, or
            // -1 with bits of a below k
            if (q == 0 || (&q && below)) dk_of = -(a[WB:0] <<< (WB - k));
            else dk_of = !a[FW-1] ? -CAP_W : CAP_W;
        end
    end
endfunction
