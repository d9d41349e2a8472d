// Rounding of the vector unit's lanes (rtl/vec_unit.v), included inside that module after
// its localparams: they use its widths (PW, RW, F). The model is pysim/hw/fixed.py
// (rshift, sat) as pysim/hw/lrt_unit.py applies it per lane.

// a * 2^-s rounded half to even, for s >= 1 (s >= PW gives 0); s <= 0 returns a,
// which then saturates: only the normalise shift can be <= 0, and then |a| >= 2^24.
function automatic signed [PW-1:0] rne_p(input signed [PW-1:0] a, input integer s);
    reg signed [PW-1:0] qv;
    reg guard, sticky, up;
    begin
        if (s <= 0) rne_p = a;
        else if (s >= PW) rne_p = '0;
        else begin
            qv = a >>> s;
            guard = a[s-1];
            sticky = (s > 1) ? |(a & ((PW'(1) << (s - 1)) - PW'(1))) : 1'b0;
            up = guard & (sticky | qv[0]);
            rne_p = qv + {{(PW - 1){1'b0}}, up};
        end
    end
endfunction
// rne_p to the residual's width: a function, not a cast inside the subtraction
// (Yosys sizes N'(x) at x's width there: docs/architecture.md).
function automatic [RW-1:0] rne_rw(input signed [PW-1:0] a, input integer s);
    rne_rw = RW'(rne_p(a, s));
endfunction
// sat(rne_p(a, s), F) without the PW-bit sum and compares: q + inc leaves [-2^(F-1),
// 2^(F-1)) exactly when q's bits from F - 1 up are not all equal, or q = 2^(F-1) - 1 with
// the increment (a sign-extension test, an AND/OR tree); the sum runs over F bits. The
// shift is clamped once to [0, PW] in SB bits, so that the shifters are SB stages deep
// (not the 32 of an integer shift); a shift >= PW gives q = 0 apart.
// tests/test_rtl_proofs.py proves it equal to the plain form for every a and s.
localparam int SB = $clog2(PW + 1);  // rne_sat's clamped shift
function automatic signed [F-1:0] rne_sat(input signed [PW-1:0] a, input integer s);
    reg signed [PW-1:0] q, hi, m;
    reg [SB-1:0] sc;
    reg inc, mid;
    begin
        mid = s > 0 && s < PW;
        sc = mid ? SB'(s) : '0;
        if (s >= PW) q = '0;
        else q = a >>> sc;  // (a statement: in a ?: beside '0 the shift would be logical)
        m = ~({PW{1'b1}} << sc);   // the bits shifted out: the guard is the top one
        inc = mid && |(a & (m ^ (m >> 1))) && (|(a & (m >> 1)) || q[0]);
        hi = q >>> (F - 1);
        if (!q[PW-1] && (hi != 0 || (&q[F-2:0] && inc))) rne_sat = {1'b0, {(F - 1){1'b1}}};
        else if (q[PW-1] && !(&hi)) rne_sat = {1'b1, {(F - 1){1'b0}}};
        else rne_sat = q[F-1:0] + {{(F - 1){1'b0}}, inc};
    end
endfunction
