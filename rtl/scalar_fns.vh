// Helpers of the scalar unit's stage 2 (docs/hw-spec.md sections 4 and 5), included
// inside a module: a leading-zero counter, round half to even by a variable shift, and
// saturation, at the widths the scalar unit's products need (no 128-bit arithmetic).
// The model is pysim/hw/fixed.py (bitlen, rshift, sat).

function automatic [6:0] bitlen96(input [95:0] a);  // a leading-zero counter
    integer k;
    begin
        bitlen96 = '0;
        for (k = 0; k < 96; k = k + 1) if (a[k]) bitlen96 = 7'(k + 1);
    end
endfunction
// rne96 apart: {inc, q} with q = a >>> s and rne96(a, s) = q + inc, so that a use adds
// only over the bits it keeps, and a saturation tests q's upper bits instead of the sum's.
// The shifter carries one bit below a: the guard lands there, and each stage ORs the
// bits it drops into the sticky bit (constant masks; no mask decoded from s).
function automatic [96:0] rq96(input signed [95:0] a, input [6:0] s);
    reg signed [96:0] x;
    reg sticky;
    integer k;
    begin
        x = {a, 1'b0};
        sticky = 1'b0;
        for (k = 0; k < 7; k = k + 1)
            if (s[k]) begin
                sticky = sticky | (|(x & ~(~97'd0 << (1 << k))));
                x = x >>> (1 << k);
            end
        rq96 = {x[0] & (sticky | x[1]), x[96:1]};
    end
endfunction
// a * 2^-s rounded half to even (s < 96). A shift is never negative for a nonzero
// operand: rsqrt exponents are >= 25 but for rsqrt(0) = (0, 0).
function automatic signed [95:0] rne96(input signed [95:0] a, input [6:0] s);
    reg [96:0] r;
    begin
        r = rq96(a, s);
        rne96 = r[95:0] + {95'd0, r[96]};
    end
endfunction
// sat64(q + inc, w) of rq96's {inc, q}, w <= 32 a constant: whether q + inc leaves
// [-2^(w-1), 2^(w-1)) is a sign-extension test on q's bits from w - 1 up (an AND/OR tree);
// the sum runs over 32 bits. (q = -2^(w-1) - 1 with inc gives -2^(w-1) either way.)
function automatic signed [31:0] satw(input [96:0] r, input integer w);
    reg signed [95:0] hi;
    reg [31:0] lo;
    begin
        hi = $signed(r[95:0]) >>> (w - 1);
        lo = ~(~32'd0 << (w - 1));   // 2^(w-1) - 1
        if (!r[95] && (hi != 0 || ((r[31:0] & lo) == lo && r[96]))) satw = lo;
        else if (r[95] && !(&hi)) satw = ~lo;
        else satw = r[31:0] + {31'd0, r[96]};
    end
endfunction
// min(q + inc, 2^22) of rq96's {inc, q} (unsigned, the sum modulo 2^96): the compare
// tests q's bits, the sum runs over 23 bits.
function automatic [22:0] min22(input [96:0] r);
    reg gt;
    begin
        gt = (|r[95:23] || (r[22] && (|r[21:0] || r[96]))) && !(&r[95:0] && r[96]);
        min22 = gt ? 23'h400000 : r[22:0] + {22'd0, r[96]};
    end
endfunction
function automatic signed [63:0] rne64(input signed [63:0] a, input [6:0] s);
    reg signed [63:0] q;
    reg guard, sticky;
    begin
        if (s == 0) rne64 = a;
        else begin
            q = a >>> s;
            guard = a[s-1];
            sticky = (s > 1) ? |(a & ~(~64'd0 << (s - 7'd1))) : 1'b0;
            rne64 = q + {63'd0, guard & (sticky | q[0])};
        end
    end
endfunction
function automatic [6:0] shr(input [7:0] e, input integer k);  // max(0, e - k)
    shr = (32'(e) > k) ? 7'(32'(e) - k) : 7'd0;
endfunction
