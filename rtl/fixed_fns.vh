// Fixed-point helpers shared by the datapath blocks (docs/hw-spec.md section 4), included
// inside a module. The model is pysim/hw/fixed.py (rshift, sat, bitlen).

// a * 2^-s rounded half to even; s <= 0 shifts left exactly; s >= 126 gives 0 (operands
// stay below 2^125 in magnitude).
function automatic signed [127:0] rne(input signed [127:0] a, input integer s);
    reg signed [127:0] q;
    reg guard, sticky;
    begin
        if (s <= 0) begin
            rne = a <<< (-s);
        end else if (s >= 126) begin
            rne = '0;
        end else begin
            q = a >>> s;
            guard = a[s-1];
            sticky = (s > 1) ? |(a & ((128'sd1 <<< (s - 1)) - 128'sd1)) : 1'b0;
            rne = q + {127'd0, guard & (sticky | q[0])};
        end
    end
endfunction

// Saturate to a signed w-bit value.
function automatic signed [127:0] sat(input signed [127:0] a, input integer w);
    reg signed [127:0] hi;
    begin
        hi = (128'sd1 <<< (w - 1)) - 128'sd1;
        sat = (a > hi) ? hi : ((a < -hi - 128'sd1) ? -hi - 128'sd1 : a);
    end
endfunction

// Bits of an unsigned value (0 for 0): a leading-zero counter.
function automatic integer bitlen(input [127:0] a);
    integer k;
    begin
        bitlen = 0;
        for (k = 0; k < 128; k = k + 1)
            if (a[k]) bitlen = k + 1;
    end
endfunction
