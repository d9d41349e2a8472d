// The scalar unit's two multipliers (A and B). Each multiplies the magnitudes of two
// signed operands and registers the signed product: the client's next cycle (its stage
// 2) adds, rounds, saturates and writes the result. The magnitudes are at most 32 bits
// (the clients keep |operand| < 2^32), so each multiplier is an unsigned 32x32 one; the
// sign costs an XOR of one operand and two addends of the same multiply-add.
// One unit serves the norms, core_svd and reduce_ok of an UPDATE (lrt_unit owns it;
// EXT = 1 in the blocks that borrow it). Specification: docs/hw-spec.md section 5,
// "How the core runs"; bench sim/test_scalar_mul.py.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module scalar_mul #(
    parameter bit EXT = 1'b0,  // the products come from the shared unit (ext_p*_i)
    parameter int OW  = 34     // operand width, signed
) (
    input  wire                 clk_i,
    input  wire                 rst_i,
    input  wire signed [OW-1:0] xa_i,
    input  wire signed [OW-1:0] ya_i,
    input  wire signed [OW-1:0] xb_i,
    input  wire signed [OW-1:0] yb_i,
    output wire signed [64:0]   pa_o,  // xa*ya of the previous cycle
    output wire signed [64:0]   pb_o,
    input  wire signed [64:0]   ext_pa_i,  // the shared unit's products (EXT = 1)
    input  wire signed [64:0]   ext_pb_i
);
    function automatic [31:0] mag(input signed [OW-1:0] v);
        mag = 32'(v[OW-1] ? -v : v);
    endfunction

    generate
        if (EXT) begin : g_shared
            // The operands leave the block through its own ports; a block that is not
            // issuing drives zeros, so the owner ORs its clients' operands.
            wire unused_own = ^{clk_i, rst_i, xa_i, ya_i, xb_i, yb_i};
            assign pa_o = ext_pa_i;
            assign pb_o = ext_pb_i;
        end else begin : g_own
            wire unused_ext = ^{ext_pa_i, ext_pb_i};
            // The sign is applied inside the multiply-add, not after the register: with
            // A, B the magnitudes, the low 64 bits of -(A*B) are (~A)*B + B - B*2^32 (the
            // sign bit is registered beside them), so the value is two's complement when
            // it is registered and no client's path starts with a 65-bit negation (a
            // carry chain as long as the product).
            wire        na = xa_i[OW-1] ^ ya_i[OW-1];
            wire        nb = xb_i[OW-1] ^ yb_i[OW-1];
            wire [31:0] a1 = mag(xa_i), b1 = mag(ya_i), a2 = mag(xb_i), b2 = mag(yb_i);
            wire [31:0] c1 = a1 ^ {32{na}}, c2 = a2 ^ {32{nb}};  // A, or ~A when negative
            reg  [63:0] pa_q, pb_q;  // the product's low 64 bits
            reg         sa_q, sb_q;  // its sign: negative and non-zero
            always @(posedge clk_i) begin
                if (rst_i) begin
                    {pa_q, pb_q, sa_q, sb_q} <= '0;
                end else begin
                    pa_q <= 64'(c1) * 64'(b1) +
                            (na ? 64'(b1) - (64'(b1) << 32) : 64'd0);
                    pb_q <= 64'(c2) * 64'(b2) +
                            (nb ? 64'(b2) - (64'(b2) << 32) : 64'd0);
                    sa_q <= na && a1 != 0 && b1 != 0;
                    sb_q <= nb && a2 != 0 && b2 != 0;
                end
            end
            assign pa_o = {sa_q, pa_q};
            assign pb_o = {sb_q, pb_q};
        end
    endgenerate
endmodule

`resetall
