// Descending sort of the core's q singular values by a bubble network: passes
// p = 0..q-2, compare-exchanges i = 0..q-2-p, one a cycle (q(q-1)/2 cycles), stable.
// Specification: docs/hw-spec.md section 5 step 9; golden model pysim/hw/core_svd.py
// (sort). start_i is sampled at a rising edge (sig_i must hold until done_o); done_o is
// high for one cycle after the last compare-exchange, order_o holds until the next start.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module sort_net #(
    parameter int Q  = 5,
    parameter int SW = 32   // value width (unsigned)
) (
    input  wire            clk_i,
    input  wire            rst_i,
    input  wire            start_i,
    input  wire [Q*SW-1:0] sig_i,
    output reg             done_o,
    output wire [Q*4-1:0]  order_o   // column indices, descending value
);
    localparam int QW = $clog2(Q);
    localparam int NCE = Q * (Q - 1) / 2;

    reg [QW-1:0] order_q [0:Q-1];
    reg [7:0]    ce_q;              // compare-exchange index
    reg          busy_q;
    wire [SW-1:0] sig_w [0:Q-1];
    genvar gi;
    generate
        for (gi = 0; gi < Q; gi = gi + 1) begin : g_out
            assign order_o[gi*4 +: 4] = 4'(order_q[gi]);
            assign sig_w[gi] = sig_i[gi*SW +: SW];
        end
    endgenerate

    // Network position of compare-exchange ce_q: pass p, index i.
    integer i_c, n_c, pass_c;
    always @* begin
        i_c = 32'(ce_q);
        n_c = Q - 1;
        for (pass_c = 0; pass_c < Q - 1; pass_c = pass_c + 1)
            if (i_c >= n_c && n_c > 0) begin
                i_c = i_c - n_c;
                n_c = n_c - 1;
            end
    end
    wire [QW-1:0] ord_a = order_q[i_c];
    wire [QW-1:0] ord_b = order_q[i_c + 1];
    wire [SW-1:0] sig_a = sig_w[ord_a];
    wire [SW-1:0] sig_b = sig_w[ord_b];

    integer x;
    always @(posedge clk_i) begin
        if (rst_i) begin
            done_o <= 1'b0;
            busy_q <= 1'b0;
            ce_q <= '0;
            for (x = 0; x < Q; x = x + 1) order_q[x] <= QW'(x);
        end else begin
            done_o <= 1'b0;
            if (start_i && !busy_q) begin
                for (x = 0; x < Q; x = x + 1) order_q[x] <= QW'(x);
                ce_q <= '0;
                busy_q <= 1'b1;
            end else if (busy_q) begin
                if (sig_a < sig_b) begin
                    order_q[i_c] <= ord_b;
                    order_q[i_c + 1] <= ord_a;
                end
                ce_q <= ce_q + 1'b1;
                if (ce_q == 8'(NCE - 1)) begin
                    busy_q <= 1'b0;
                    done_o <= 1'b1;
                end
            end
        end
    end
endmodule

`resetall
