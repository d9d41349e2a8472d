// Rotation pass of one factor: [Q u] (N x (RANK+1), Q1.(F-1)) times T ((RANK+1) x RANK,
// Q2.22), rounded half to even and saturated back to F bits.
// Specification: docs/hw-spec.md section 5 step 11; golden model
// pysim/hw/lrt_unit.py:LrtUnit.rotate (one side). RANK*(RANK+1)*ceil(N/LANES) + PASS_OVH
// cycles: done_o is high for one cycle after that many edges following start.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module rot_unit #(
    parameter int N        = 64,
    parameter int RANK     = 4,
    parameter int LANES    = 8,
    parameter int F        = 16,
    parameter int PASS_OVH = 2
) (
    input  wire                        clk_i,
    input  wire                        rst_i,
    input  wire                        start_i,
    input  wire [N*(RANK+1)*F-1:0]     q_i,   // [Q u][i][k] at (i*(RANK+1) + k)*F
    input  wire [(RANK+1)*RANK*24-1:0] t_i,   // T[k][t] at (k*RANK + t)*24
    output reg  [N*RANK*F-1:0]         q_o,   // new Q[i][t] at (i*RANK + t)*F
    output reg                         done_o
);
    `include "fixed_fns.vh"
    localparam int Q      = RANK + 1;
    localparam int CYCLES = RANK * Q * ((N + LANES - 1) / LANES) + PASS_OVH;
    localparam int CS     = 22;


    function automatic signed [F-1:0] sat_f(input signed [127:0] a);
        sat_f = F'(sat(a, F));
    endfunction

    reg [N*RANK*F-1:0] next_c;
    reg signed [127:0] acc;
    integer i, t, k;
    always @* begin
        next_c = '0;
        for (i = 0; i < N; i = i + 1)
            for (t = 0; t < RANK; t = t + 1) begin
                acc = '0;
                for (k = 0; k < Q; k = k + 1)
                    acc = acc + 128'($signed(q_i[(i*Q + k)*F +: F])) *
                                128'($signed(t_i[(k*RANK + t)*24 +: 24]));
                next_c[(i*RANK + t)*F +: F] = sat_f(rne(acc, CS));
            end
    end

    reg        busy_q;
    reg [15:0] wait_q;
    always @(posedge clk_i) begin
        if (rst_i) begin
            busy_q <= 1'b0;
            wait_q <= '0;
            done_o <= 1'b0;
            q_o <= '0;
        end else begin
            done_o <= 1'b0;
            if (!busy_q) begin
                if (start_i) begin
                    busy_q <= 1'b1;
                    wait_q <= 16'(CYCLES - 1);
                end
            end else begin
                // The operands are held while busy; the result is taken at the last edge.
                if (wait_q == 0) begin
                    q_o <= next_c;
                    busy_q <= 1'b0;
                    done_o <= 1'b1;
                end else wait_q <= wait_q - 1'b1;
            end
        end
    end
endmodule

`resetall
