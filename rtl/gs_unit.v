// Gram-Schmidt unit: modified Gram-Schmidt of an int8 vector against the first RANK
// columns of a factor matrix (Q1.(F-1)), then the residual's squared norm.
// Specification: docs/hw-spec.md section 5 step 1; golden model
// pysim/hw/lrt_unit.py:LrtUnit.gram_schmidt. 2*RANK+1 vector passes of
// ceil(N/LANES) + PASS_OVH cycles each: done_o is high for one cycle after the
// (2*RANK+1)*(ceil(N/LANES)+PASS_OVH)-th edge following the one that samples start_i.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module gs_unit #(
    parameter int N        = 64,
    parameter int RANK     = 4,
    parameter int LANES    = 8,
    parameter int F        = 16,
    parameter int G        = 8,
    parameter int PASS_OVH = 2,
    parameter int CW       = 40,  // coefficient width (signed)
    parameter int RES_W    = 8 + G + ($clog2(N) + 1) / 2 + 2  // residual width (signed)
) (
    input  wire                  clk_i,
    input  wire                  rst_i,
    input  wire                  start_i,
    input  wire [N*8-1:0]        v_i,     // int8 vector, held while busy
    input  wire [N*RANK*F-1:0]   q_i,     // Q[i][j] at (i*RANK + j)*F, held while busy
    output reg  [RANK*CW-1:0]    coef_o,
    output wire [N*RES_W-1:0]    res_o,
    output reg  [63:0]           norm2_o,
    output reg                   done_o
);
    `include "fixed_fns.vh"
    localparam int PASS  = (N + LANES - 1) / LANES + PASS_OVH;
    localparam int JW    = $clog2(RANK + 1);


    reg signed [RES_W-1:0] res_q [0:N-1];
    genvar gi;
    generate
        for (gi = 0; gi < N; gi = gi + 1) begin : g_res
            assign res_o[gi*RES_W +: RES_W] = res_q[gi];
        end
    endgenerate

    localparam logic [1:0] S_IDLE = 2'd0, S_DOT = 2'd1, S_AXPY = 2'd2, S_NORM = 2'd3;
    reg [1:0]          state_q;
    reg [JW-1:0]       j_q;
    reg [15:0]         wait_q;
    reg signed [CW-1:0] c_q;

    // Pass results, computed from the state at the pass's first edge.
    reg signed [127:0] dot_c, norm_c;
    reg signed [RES_W-1:0] axpy_c [0:N-1];
    integer i;
    always @* begin
        dot_c = '0;
        norm_c = '0;
        for (i = 0; i < N; i = i + 1) begin
            dot_c = dot_c + 128'($signed(q_i[(i*RANK + 32'(j_q))*F +: F])) * 128'(res_q[i]);
            norm_c = norm_c + 128'(res_q[i]) * 128'(res_q[i]);
            axpy_c[i] = RES_W'(128'(res_q[i]) -
                        rne(128'($signed(q_i[(i*RANK + 32'(j_q))*F +: F])) * 128'(c_q), F - 1));
        end
    end

    wire first = wait_q == 16'(PASS - 1);

    always @(posedge clk_i) begin
        if (rst_i) begin
            state_q <= S_IDLE;
            done_o <= 1'b0;
            j_q <= '0;
            wait_q <= '0;
            c_q <= '0;
            coef_o <= '0;
            norm2_o <= '0;
            for (i = 0; i < N; i = i + 1) res_q[i] <= '0;
        end else begin
            done_o <= 1'b0;
            case (state_q)
                S_IDLE: if (start_i) begin
                    for (i = 0; i < N; i = i + 1)
                        res_q[i] <= RES_W'($signed(v_i[i*8 +: 8])) <<< G;
                    j_q <= '0;
                    state_q <= (RANK > 0) ? S_DOT : S_NORM;
                    wait_q <= 16'(PASS - 1);
                end
                S_DOT: begin
                    if (first) begin
                        c_q <= CW'(rne(dot_c, F - 1));
                        coef_o[32'(j_q)*CW +: CW] <= CW'(rne(dot_c, F - 1));
                    end
                    if (wait_q == 0) begin
                        state_q <= S_AXPY;
                        wait_q <= 16'(PASS - 1);
                    end else wait_q <= wait_q - 1'b1;
                end
                S_AXPY: begin
                    if (first)
                        for (i = 0; i < N; i = i + 1) res_q[i] <= axpy_c[i];
                    if (wait_q == 0) begin
                        wait_q <= 16'(PASS - 1);
                        if (j_q == JW'(RANK - 1)) begin
                            state_q <= S_NORM;
                        end else begin
                            j_q <= j_q + 1'b1;
                            state_q <= S_DOT;
                        end
                    end else wait_q <= wait_q - 1'b1;
                end
                S_NORM: begin
                    if (first) norm2_o <= 64'(norm_c);
                    if (wait_q == 0) begin
                        state_q <= S_IDLE;
                        done_o <= 1'b1;
                    end else wait_q <= wait_q - 1'b1;
                end
                default: state_q <= S_IDLE;
            endcase
        end
    end
endmodule

`resetall
