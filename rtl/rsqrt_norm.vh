// The rsqrt's normalisation (docs/hw-spec.md section 4, step 1), split over the start edge
// so that no register holds the whole operand: at start, the 64-bit window of t whose
// upper half holds t's leading word (rsq_window), latched with its base word; in stage 1,
// the window's even shift to tn in [2^30, 2^32) and the exponent (rsq_norm). The bits
// below the window are never among tn's 32 (tn truncates), so the result is that of the
// whole operand; tests/test_rtl_proofs.py proves it for every operand. Included inside a
// module that defines TW (operand width); RW is the width of a base word's index.

localparam int RSQ_NW = (TW + 31) / 32 < 2 ? 2 : (TW + 31) / 32;  // 32-bit words, >= 2
localparam int RW = (RSQ_NW > 2) ? $clog2(RSQ_NW) : 1;
// base word b: the leading non-zero word less one (0 when t < 2^64)
function automatic [RW-1:0] rsq_base(input [TW-1:0] t);
    reg [RSQ_NW*32-1:0] tp;
    integer k;
    begin
        tp = (RSQ_NW * 32)'(t);
        rsq_base = '0;
        for (k = 2; k < RSQ_NW; k = k + 1) if (|tp[k*32 +: 32]) rsq_base = RW'(k - 1);
    end
endfunction
function automatic [63:0] rsq_window(input [TW-1:0] t, input [RW-1:0] b);  // t[32b +: 64]
    reg [RSQ_NW*32-1:0] tp;
    begin
        tp = (RSQ_NW * 32)'(t);
        rsq_window = tp[32*b +: 64];
    end
endfunction
// {tn, e}: tn = the window shifted by sh = 32 - bitlen(w) (minus 1 if odd) to 32 bits,
// e = 40 - (sh - 32 b)/2; the whole shift's 32 b is even and leaves the parity. The shift
// is an unsigned amount each way; no size cast sits inside an expression (Yosys sizes
// N'(x) at x's width there: docs/architecture.md, "Synthesis reads the RTL as simulated").
function automatic [39:0] rsq_norm(input [63:0] w, input [RW-1:0] b);
    reg [6:0] bl, rs, ls;
    reg [7:0] eb;
    reg [31:0] wr;
    integer k;
    begin
        bl = '0;
        for (k = 0; k < 64; k = k + 1) if (w[k]) bl = 7'(k + 1);
        rs = (bl - 7'd31) & 7'h7E;  // right, when bitlen > 32
        ls = (7'd32 - bl) & 7'h7E;  // left, when bitlen <= 32 (w's upper half is zero)
        eb = 8'({b, 4'd0});         // 16 b
        wr = 32'(w >> rs);
        if (bl > 7'd32) rsq_norm = {wr, 8'd40 + {2'd0, rs[6:1]} + eb};
        else rsq_norm = {w[31:0] << ls, 8'd40 - {2'd0, ls[6:1]} + eb};
    end
endfunction
