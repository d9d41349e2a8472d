// MAC array: the forward pass y = W x over the crossbar's level codes.
// P lanes take P columns of one row per cycle; exact sums saturate to ACC_W bits.
// Specification: docs/hw-spec.md sections 7 and 9; golden model pysim/hw/mac_array.py.
// Timing: start_i is sampled at a rising edge; done_o is high for one cycle after the
// (N_OUT*ceil(N_IN/P) + PASS_OVH)-th following edge, with y_o valid from then on.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module mac_array #(
    parameter int N_IN     = 64,
    parameter int N_OUT    = 10,
    parameter int WB       = 8,
    parameter int LANES    = 8,
    parameter int ACC_W    = 32,
    parameter int PASS_OVH = 2,
    parameter int ROW_W    = (N_OUT > 1) ? $clog2(N_OUT) : 1
) (
    input  wire                   clk_i,
    input  wire                   rst_i,
    input  wire                   start_i,
    input  wire [N_IN*8-1:0]      x_i,       // int8 activations, held while busy_o
    output wire [ROW_W-1:0]       row_o,     // crossbar row being read
    input  wire [N_IN*WB-1:0]     codes_i,   // that row's level codes
    output reg  [N_OUT*ACC_W-1:0] y_o,
    output wire                   busy_o,
    output reg                    done_o
);
    localparam int BLOCKS = (N_IN + LANES - 1) / LANES;
    localparam int SUM_W  = 8 + WB + $clog2(N_IN + 1) + 1;
    localparam int BLK_W  = (BLOCKS > 1) ? $clog2(BLOCKS) : 1;
    localparam int OVH_W  = $clog2(PASS_OVH + 2);
    // Saturation compares at a width that holds both the exact sum and the ACC_W limits.
    localparam int CMP_W  = ((SUM_W > ACC_W) ? SUM_W : ACC_W) + 1;
    localparam logic signed [CMP_W-1:0] Y_MAX = (CMP_W'(1) <<< (ACC_W - 1)) - 1;
    localparam logic signed [CMP_W-1:0] Y_MIN = -(CMP_W'(1) <<< (ACC_W - 1));

    localparam logic [1:0] S_IDLE = 2'd0, S_RUN = 2'd1, S_DRAIN = 2'd2;
    reg [1:0]               state_q;
    reg [ROW_W-1:0]         row_q;
    reg [BLK_W-1:0]         blk_q;
    reg [OVH_W-1:0]         ovh_q;
    reg signed [SUM_W-1:0]  acc_q;

    assign row_o  = row_q;
    assign busy_o = state_q != S_IDLE;

    // Sum of this block's P products (lanes past N_IN contribute nothing).
    reg signed [SUM_W-1:0] block_sum;
    integer l, col;
    always @* begin
        block_sum = '0;
        for (l = 0; l < LANES; l = l + 1) begin
            col = blk_q * LANES + l;
            if (col < N_IN)
                block_sum = block_sum + SUM_W'($signed(codes_i[col*WB +: WB]))
                                      * SUM_W'($signed(x_i[col*8 +: 8]));
        end
    end

    wire signed [SUM_W-1:0] row_sum = acc_q + block_sum;
    wire signed [CMP_W-1:0] row_wide = CMP_W'(row_sum);
    wire last_blk = blk_q == BLK_W'(BLOCKS - 1);

    always @(posedge clk_i) begin
        if (rst_i) begin
            state_q <= S_IDLE;
            row_q   <= '0;
            blk_q   <= '0;
            ovh_q   <= '0;
            acc_q   <= '0;
            done_o  <= 1'b0;
            y_o     <= '0;
        end else begin
            done_o <= 1'b0;
            case (state_q)
                S_IDLE: if (start_i) begin
                    state_q <= S_RUN;
                    row_q   <= '0;
                    blk_q   <= '0;
                    acc_q   <= '0;
                end
                S_RUN: begin
                    if (last_blk) begin
                        y_o[row_q*ACC_W +: ACC_W] <= (row_wide > Y_MAX) ? Y_MAX[ACC_W-1:0] :
                                                     (row_wide < Y_MIN) ? Y_MIN[ACC_W-1:0] :
                                                     row_wide[ACC_W-1:0];
                        acc_q <= '0;
                        blk_q <= '0;
                        if (row_q == ROW_W'(N_OUT - 1)) begin
                            state_q <= S_DRAIN;
                            ovh_q   <= '0;
                        end else begin
                            row_q <= row_q + 1'b1;
                        end
                    end else begin
                        acc_q <= row_sum;
                        blk_q <= blk_q + 1'b1;
                    end
                end
                S_DRAIN: begin
                    // The pipeline fill of the spec's pass (PASS_OVH cycles).
                    if (ovh_q == OVH_W'(PASS_OVH - 1)) begin
                        state_q <= S_IDLE;
                        done_o  <= 1'b1;
                    end
                    ovh_q <= ovh_q + 1'b1;
                end
                default: state_q <= S_IDLE;
            endcase
        end
    end
endmodule

`resetall
