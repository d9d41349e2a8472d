// The rsqrt a block uses: its own unit when the block stands alone (EXT = 0), or the one
// shared unit of the accelerator, reached through the block's rsq_* ports (EXT = 1).
// accel_top holds that unit; UPDATE's phases and COMMIT never ask at the same time.
// Specification: docs/hw-spec.md section 4 (rsqrt); bench sim/test_rsqrt_share.py.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module rsqrt_share #(
    parameter bit EXT = 1'b0,
    parameter int TW  = 128
) (
    input  wire          clk_i,
    input  wire          rst_i,
    input  wire          start_i,     // the block's request
    input  wire [TW-1:0] t_i,
    output wire [25:0]   y_o,         // the answer, as rsqrt.v gives it
    output wire [7:0]    e_o,
    output wire          done_o,
    input  wire [25:0]   ext_y_i,     // the shared unit's answer (EXT = 1)
    input  wire [7:0]    ext_e_i,
    input  wire          ext_done_i
);
    generate
        if (EXT) begin : g_shared
            wire unused_own = ^{clk_i, rst_i, start_i, t_i};  // the request leaves the block
            assign y_o = ext_y_i;
            assign e_o = ext_e_i;
            assign done_o = ext_done_i;
        end else begin : g_own
            wire unused_ext = ^{ext_y_i, ext_e_i, ext_done_i};
            rsqrt #(.TW(TW)) u_rsqrt (
                .clk_i(clk_i), .rst_i(rst_i), .start_i(start_i), .t_i(t_i),
                .y_o(y_o), .e_o(e_o), .done_o(done_o));
        end
    endgenerate
endmodule

`resetall
