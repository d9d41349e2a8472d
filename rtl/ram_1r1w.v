// One SRAM bank: one synchronous read port and one write port, DEPTH words of W bits.
// The read data register loads only when the read port is enabled, so it holds the last
// word read (an SRAM macro's output latch does the same); a read and a write of the same
// address in one cycle return the old word. Written so that Yosys infers a $mem with one
// read and one write port. No reset: the owner clears the contents by writing them.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module ram_1r1w #(
    parameter int W     = 32,
    parameter int DEPTH = 16,
    parameter int AW    = (DEPTH > 1) ? $clog2(DEPTH) : 1
) (
    input  wire          clk_i,
    input  wire          re_i,
    input  wire [AW-1:0] raddr_i,
    output reg  [W-1:0]  rdata_o,
    input  wire          we_i,
    input  wire [AW-1:0] waddr_i,
    input  wire [W-1:0]  wdata_i
);
    reg [W-1:0] mem_q [0:DEPTH-1];

    always @(posedge clk_i) begin
        if (we_i) mem_q[waddr_i] <= wdata_i;
        if (re_i) rdata_o <= mem_q[raddr_i];
    end
endmodule

`resetall
