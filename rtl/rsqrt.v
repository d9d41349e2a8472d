// Reciprocal square root unit: t^-1/2 ~= y * 2^-e, five pipeline-free cycles, one
// multiplier (27x27) used by four of them.
// Specification: docs/hw-spec.md section 4; golden model pysim/hw/fixed.py:rsqrt.
// start_i is sampled at a rising edge (t_i's leading 64-bit window latched); done_o is
// high for one cycle after the fifth following edge (RSQ_CYCLES = 5: normalise, seed,
// three Newton multiplies), with y_o/e_o valid from then until the next start.
// rsqrt(0) = (0, 0).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module rsqrt #(
    parameter int TW = 128  // operand width (unsigned)
) (
    input  wire          clk_i,
    input  wire          rst_i,
    input  wire          start_i,
    input  wire [TW-1:0] t_i,
    output reg  [25:0]   y_o,   // Q1.24 in [1, 2]
    output reg  [7:0]    e_o,
    output reg           done_o
);
    `include "rsqrt_rom.vh"

    // Round half to even of a right shift by a constant amount S (S >= 2).
    function automatic [63:0] rne64(input [79:0] a, input integer s);
        reg [79:0] q;
        reg guard, sticky;
        begin
            q = a >> s;
            guard = a[s-1];
            sticky = |(a & ((80'd1 << (s - 1)) - 80'd1));
            rne64 = 64'(q + {79'd0, guard & (sticky | q[0])});
        end
    endfunction

    // The operand's leading 64-bit window, latched at start (no register holds all of t),
    // then normalised in stage 1.
    `include "rsqrt_norm.vh"
    reg [63:0]   win_q;
    reg [RW-1:0] base_q;
    wire [RW-1:0] base_c = rsq_base(t_i);
    wire [39:0]   norm_c = rsq_norm(win_q, base_q);

    reg [2:0]        stage_q;
    reg [31:0]       tn_q;
    reg [25:0]       y0_q;
    reg [26:0]       sq_q;
    reg [26:0]       p_q;
    reg              zero_q;

    wire [6:0]  idx  = tn_q[31:25];
    wire [15:0] frac = tn_q[24:9];
    wire        unused_tn = |tn_q[5:0];  // below the Newton step's 26-bit operand
    // One multiplier, shared by the four steps that multiply (one a cycle): the ROM
    // chord's slope, y0^2, the Newton step's m*y0^2 and y0*(3 - m*y0^2).
    reg  [26:0] mul_x, mul_y;
    wire [53:0] prod = 54'(mul_x) * 54'(mul_y);
    always @* begin
        case (stage_q)
            3'd2: {mul_x, mul_y} = {27'(rsqrt_slope(idx)), 27'(frac)};
            3'd3: {mul_x, mul_y} = {27'(y0_q), 27'(y0_q)};
            3'd4: {mul_x, mul_y} = {27'(tn_q[31:6]), sq_q};
            3'd5: {mul_x, mul_y} = {27'(y0_q), 27'(27'd50331648 - p_q)};
            default: {mul_x, mul_y} = '0;
        endcase
    end

    always @(posedge clk_i) begin
        if (rst_i) begin
            stage_q <= '0;
            done_o  <= 1'b0;
            win_q   <= '0;
            base_q  <= '0;
            tn_q    <= '0;
            y0_q    <= '0;
            sq_q    <= '0;
            p_q     <= '0;
            zero_q  <= 1'b0;
            y_o     <= '0;
            e_o     <= '0;
        end else begin
            done_o <= 1'b0;
            case (stage_q)
                3'd0: if (start_i) begin
                    win_q   <= rsq_window(t_i, base_c);
                    base_q  <= base_c;
                    stage_q <= 3'd1;
                end
                3'd1: begin  // normalise: even shift, tn in [2^30, 2^32)
                    {tn_q, e_o} <= norm_c;
                    zero_q  <= win_q == '0;
                    stage_q <= 3'd2;
                end
                3'd2: begin  // seed from the ROM chord
                    y0_q    <= rsqrt_base(idx) - 26'(prod >> 16);
                    stage_q <= 3'd3;
                end
                3'd3: begin  // sq = rshift(y0^2, 24)
                    sq_q    <= 27'(rne64({26'd0, prod}, 24));
                    stage_q <= 3'd4;
                end
                3'd4: begin  // p = rshift(tn[31:6] * sq, 26)
                    p_q     <= 27'(rne64({26'd0, prod}, 26));
                    stage_q <= 3'd5;
                end
                3'd5: begin  // y = rshift(y0 * (3*2^24 - p), 25)
                    y_o     <= zero_q ? 26'd0 :
                               26'(rne64({26'd0, prod}, 25));
                    if (zero_q) e_o <= 8'd0;
                    done_o  <= 1'b1;
                    stage_q <= 3'd0;
                end
                default: stage_q <= 3'd0;
            endcase
        end
    end
endmodule

`resetall
