// The scalar unit's two multipliers (A and B). Each multiplies the magnitudes of two
// signed operands and registers the 64-bit product with its sign: the client's next
// cycle (its stage 2) adds, rounds, saturates and writes the result. The magnitudes are
// at most 32 bits (the clients keep |operand| < 2^32), so each multiplier is an
// unsigned 32x32 one and the sign costs an XOR here and a negation in stage 2.
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
            reg [63:0] ma_q, mb_q;
            reg        na_q, nb_q;
            always @(posedge clk_i) begin
                if (rst_i) begin
                    {ma_q, mb_q, na_q, nb_q} <= '0;
                end else begin
                    ma_q <= 64'(mag(xa_i)) * 64'(mag(ya_i));
                    mb_q <= 64'(mag(xb_i)) * 64'(mag(yb_i));
                    na_q <= xa_i[OW-1] ^ ya_i[OW-1];
                    nb_q <= xb_i[OW-1] ^ yb_i[OW-1];
                end
            end
            assign pa_o = na_q ? -$signed({1'b0, ma_q}) : $signed({1'b0, ma_q});
            assign pb_o = nb_q ? -$signed({1'b0, mb_q}) : $signed({1'b0, mb_q});
        end
    endgenerate
endmodule

`resetall
