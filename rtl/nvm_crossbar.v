// NVM crossbar, behavioural: LAYERS slots of N_OUT x N_IN signed WB-bit level codes,
// write-on-change, saturating per-cell write counters, endurance and stuck-at freezing,
// pulse counting. Both ports address the slot layer_i (the LAYER register).
// Specification: docs/hw-spec.md section 8; golden model pysim/hw/nvm_crossbar.py.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module nvm_crossbar #(
    parameter int N_IN  = 64,
    parameter int N_OUT = 10,
    parameter int WB    = 8,   // level-code width (signed)
    parameter int CNT_W = 32,  // per-cell write counter width (saturating)
    parameter int LAYERS = 1,  // slots
    parameter int ROW_W = (N_OUT > 1) ? $clog2(N_OUT) : 1,
    parameter int LY_W  = (LAYERS > 1) ? $clog2(LAYERS) : 1,
    parameter int SUM_W = $clog2(N_IN * (1 << WB) + 1) + 1
) (
    input  wire                   clk_i,
    input  wire                   rst_i,
    input  wire [LY_W-1:0]        layer_i,
    // Row read: combinational view of the array (the MAC array and READ_W use it).
    input  wire [ROW_W-1:0]       rd_row_i,
    output wire [N_IN*WB-1:0]     rd_codes_o,
    output wire [N_IN*CNT_W-1:0]  rd_counts_o,
    // Row write: accepted whenever valid (ready is constant), result one cycle later.
    input  wire                   wr_valid_i,
    output wire                   wr_ready_o,
    input  wire [1:0]             wr_op_i,      // 0 counted write, 1 inject, 2 set stuck
    input  wire [ROW_W-1:0]       wr_row_i,
    input  wire [N_IN*WB-1:0]     wr_codes_i,
    input  wire [N_IN-1:0]        wr_flags_i,
    input  wire [31:0]            endurance_i,  // 0: unlimited
    input  wire [1:0]             pulse_mode_i, // 0 single, 1 per level step, 2 per bit
    output reg                    wr_done_o,
    output reg  [SUM_W-1:0]       wr_written_o,
    output reg  [SUM_W-1:0]       wr_blocked_o,
    output reg  [SUM_W-1:0]       wr_pulses_o
);
    localparam int CELLS = LAYERS * N_IN * N_OUT;
    localparam logic [CNT_W-1:0] CNT_MAX = {CNT_W{1'b1}};

    reg signed [WB-1:0]  code_q  [0:CELLS-1];
    reg [CNT_W-1:0]      count_q [0:CELLS-1];
    reg                  stuck_q [0:CELLS-1];

    assign wr_ready_o = 1'b1;

    localparam int IDX_W = (CELLS > 1) ? $clog2(CELLS) : 1;
    // First cell of a row of the selected slot (constant multipliers: address decode).
    wire [IDX_W-1:0] slot_row = IDX_W'(layer_i) * IDX_W'(N_OUT);
    wire [IDX_W-1:0] rd_base  = (slot_row + IDX_W'(rd_row_i)) * IDX_W'(N_IN);
    wire [IDX_W-1:0] wr_base  = (slot_row + IDX_W'(wr_row_i)) * IDX_W'(N_IN);

    genvar g;
    generate
        for (g = 0; g < N_IN; g = g + 1) begin : g_rd
            assign rd_codes_o[g*WB +: WB]        = code_q[rd_base + IDX_W'(g)];
            assign rd_counts_o[g*CNT_W +: CNT_W] = count_q[rd_base + IDX_W'(g)];
        end
    endgenerate

    localparam int PW    = WB + 1;  // pulses of one cell: up to 2^WB - 1 level steps

    // Per-column decision for the addressed row (combinational).
    wire [N_IN-1:0] do_w, block_w;
    wire [PW-1:0]   pulses_w [0:N_IN-1];
    generate
        for (g = 0; g < N_IN; g = g + 1) begin : g_col
            wire [IDX_W-1:0]     idx    = wr_base + IDX_W'(g);
            wire signed [WB-1:0] cur    = code_q[idx];
            wire signed [WB-1:0] tgt    = wr_codes_i[g*WB +: WB];
            wire                 change = tgt != cur;
            wire                 frozen = stuck_q[idx] || (endurance_i != 32'd0 &&
                                          {32'd0, count_q[idx]} >= {{CNT_W{1'b0}}, endurance_i});
            wire signed [WB:0]   diff   = {tgt[WB-1], tgt} - {cur[WB-1], cur};
            wire [WB-1:0]        flips  = tgt ^ cur;
            assign do_w[g]    = change && !frozen;
            assign block_w[g] = change && frozen;
            assign pulses_w[g] = (pulse_mode_i == 2'd0) ? PW'(1) :
                                 (pulse_mode_i == 2'd1) ? (diff[WB] ? PW'(-diff) : PW'(diff)) :
                                 PW'($countones(flips));
        end
    endgenerate

    reg [SUM_W-1:0] n_wr_d, n_bl_d, n_pu_d;
    integer i;
    always @* begin
        n_wr_d = '0;
        n_bl_d = '0;
        n_pu_d = '0;
        for (i = 0; i < N_IN; i = i + 1) begin
            n_wr_d = n_wr_d + SUM_W'(do_w[i]);
            n_bl_d = n_bl_d + SUM_W'(block_w[i]);
            if (do_w[i]) n_pu_d = n_pu_d + SUM_W'(pulses_w[i]);
        end
    end

    integer c;
    always @(posedge clk_i) begin
        if (rst_i) begin
            for (c = 0; c < CELLS; c = c + 1) begin
                code_q[c]  <= '0;
                count_q[c] <= '0;
                stuck_q[c] <= 1'b0;
            end
            wr_done_o    <= 1'b0;
            wr_written_o <= '0;
            wr_blocked_o <= '0;
            wr_pulses_o  <= '0;
        end else begin
            wr_done_o <= wr_valid_i;
            if (wr_valid_i) begin
                for (c = 0; c < N_IN; c = c + 1) begin
                    case (wr_op_i)
                        2'd1: code_q[32'(wr_base) + c]
                                  <= wr_codes_i[c*WB +: WB];
                        2'd2: stuck_q[32'(wr_base) + c] <= wr_flags_i[c];
                        default: if (do_w[c]) begin
                            code_q[32'(wr_base) + c]
                                <= wr_codes_i[c*WB +: WB];
                            if (count_q[32'(wr_base) + c] != CNT_MAX)
                                count_q[32'(wr_base) + c]
                                    <= count_q[32'(wr_base) + c] + 1'b1;
                        end
                    endcase
                end
                wr_written_o <= (wr_op_i == 2'd0) ? n_wr_d : '0;
                wr_blocked_o <= (wr_op_i == 2'd0) ? n_bl_d : '0;
                wr_pulses_o  <= (wr_op_i == 2'd0) ? n_pu_d : '0;
            end
        end
    end
endmodule

`resetall
