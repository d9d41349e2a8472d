// Accelerator sequencer: the command buffer, the registers, the response buffer and the
// state machine that runs a command through its cycles (docs/hw-spec.md sections 3 and
// 7). It starts the blocks through the phase strobes, waits for their done signals or
// counts the spec's fixed cycles, and builds each response from the blocks' outputs.
// Golden model: the command handling of pysim/hw/accel.py:Accelerator (checked through
// accel_top's bench, sim/test_accel_top.py: the sequencer has no behaviour apart from the
// blocks it sequences).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module accel_seq #(
    parameter int N_IN = 64, N_OUT = 10, RANK = 4, LANES = 8, LAYERS = 1,
    parameter int F = 16, WB = 8, CNT_W = 32, SIG_W = 64, ACC_W = 32,
    // derived: buffer and port sizes (accel_top passes its own)
    parameter int MAXP = (N_IN + 3) / 4 + (N_OUT + 3) / 4,
    parameter int NREG = 11,
    parameter int XBW  = $clog2(N_IN * (1 << WB) + 1) + 1,
    parameter int BMAX = ((N_OUT + LANES - 1) / LANES > (N_IN + LANES - 1) / LANES)
                         ? (N_OUT + LANES - 1) / LANES : (N_IN + LANES - 1) / LANES,
    parameter int BM_W = (BMAX > 1) ? $clog2(BMAX) : 1
) (
    input  wire                        clk_i,
    input  wire                        rst_i,
    input  wire                        cmd_valid_i,
    output wire                        cmd_ready_o,
    input  wire [31:0]                 cmd_data_i,
    input  wire                        cmd_last_i,
    output wire                        rsp_valid_o,
    input  wire                        rsp_ready_i,
    output wire [31:0]                 rsp_data_o,
    output wire                        rsp_last_o,
    // the command in hand, for the decoder, and its verdict
    output wire [31:0]                 hdr_o,
    output wire [(MAXP+1)*32-1:0]      buf_o,
    output wire [15:0]                 nw_o,
    input  wire [7:0]                  err_i,
    output wire [NREG*32-1:0]          regs_o,     // register n at n*32
    // phases: the command's execution cycle, and the waits on the blocks
    output wire                        exec_o,     // S_EXEC (err_i decides what runs)
    output wire                        wmac_o,     // INFER: the MAC array runs
    output wire                        wlrt_o,     // UPDATE: the LRT unit runs
    output wire                        wcm_o,      // COMMIT: the scale pass runs
    output wire                        clear_o,    // a written COMMIT's factors clear next
    output wire                        count_o,    // this edge is an execution cycle
    output wire [31:0]                 exec_cycles_o,
    output wire                        ev_loadw_o, // LOAD_W's row write lands
    output wire                        ev_commit_o,// a written COMMIT ends
    output wire                        cm_wr_done_o,
    // READ_LRT's factor row: the memory word to read
    output reg  [BM_W-1:0]             rl_word_o,
    // the blocks' answers
    input  wire                        busy_i,     // the LRT unit clears after reset
    input  wire                        mac_done_i,
    input  wire [N_OUT*ACC_W-1:0]      mac_y_i,
    input  wire                        lrt_done_i,
    input  wire                        lrt_absorbed_i,
    input  wire                        cm_done_i,
    input  wire                        cm_gated_i,
    input  wire [31:0]                 cm_nonzero_i,
    input  wire [31:0]                 cm_mn_steps_i,
    input  wire [63:0]                 cm_ema_l_i,
    input  wire [63:0]                 cm_ema_r_i,
    output wire [31:0]                 mn_steps_o,  // the slot's max-norm trackers
    output wire [63:0]                 ema_l_o,
    output wire [63:0]                 ema_r_o,
    input  wire                        cm_row_valid_i,
    input  wire                        xb_done_i,
    input  wire [XBW-1:0]              xb_written_i,
    input  wire [N_IN*WB-1:0]          xb_codes_i,
    input  wire [N_IN*CNT_W-1:0]       xb_counts_i,
    input  wire [RANK*SIG_W-1:0]       sigma_i,
    input  wire [RANK*LANES*F-1:0]     fl_rdata_i,  // the first RANK banks' words
    input  wire [RANK*LANES*F-1:0]     fr_rdata_i,
    input  wire [63:0]                 stat_i
);
    /* verilator lint_off UNUSEDPARAM */
    `include "accel_defs.vh"
    /* verilator lint_on UNUSEDPARAM */

    localparam int R     = RANK;
    localparam int OVH   = 2;
    localparam int BO    = (N_OUT + LANES - 1) / LANES;
    localparam int BI    = (N_IN + LANES - 1) / LANES;
    localparam int XW    = (N_IN + 3) / 4;
    localparam int MAXR  = ((N_IN > N_OUT) ? N_IN : N_OUT) + 2 * RANK + 2;
    localparam int PASS  = N_OUT * ((R + LANES - 1) / LANES + R * BI) + OVH;
    localparam int BUF_W = $clog2(MAXP + 1);
    localparam int RSP_W = $clog2(MAXR + 1);
    localparam int LY_W  = (LAYERS > 1) ? $clog2(LAYERS) : 1;
    localparam int LN_W  = (LANES > 1) ? $clog2(LANES) : 1;

    localparam logic [3:0] S_RECV = 4'd0, S_EXEC = 4'd1, S_WLRT = 4'd2, S_WMAC = 4'd3,
                           S_WCM = 4'd4, S_WPASS = 4'd5, S_WLAT = 4'd6, S_CLEAR = 4'd7,
                           S_WAITN = 4'd8, S_RESP = 4'd9, S_LWLAT = 4'd10;
    reg [3:0]  state_q;
    reg [31:0] hdr_q;
    reg [31:0] buf_q [0:MAXP];
    reg [15:0] nw_q;          // payload words received (saturating)
    reg [31:0] rsp_q [0:MAXR];
    reg [15:0] rlen_q, ridx_q;
    reg [31:0] wait_q, exec_q;
    reg        first_q;       // the next command word is a header
    reg [31:0] reg_q [0:NREG-1];

    assign cmd_ready_o = state_q == S_RECV && !busy_i;  // not while clearing after reset
    assign rsp_valid_o = state_q == S_RESP;
    assign rsp_data_o  = rsp_q[ridx_q[RSP_W-1:0]];
    assign rsp_last_o  = ridx_q == rlen_q - 1'b1;
    assign hdr_o = hdr_q;
    assign nw_o = nw_q;
    assign exec_cycles_o = exec_q;
    genvar gb;
    generate
        for (gb = 0; gb <= MAXP; gb = gb + 1) begin : g_buf
            assign buf_o[gb*32 +: 32] = buf_q[gb];
        end
        for (gb = 0; gb < NREG; gb = gb + 1) begin : g_reg
            assign regs_o[gb*32 +: 32] = reg_q[gb];
        end
    endgenerate
    wire [7:0]      op      = hdr_q[31:24];
    wire [15:0]     operand = hdr_q[15:0];
    wire [LY_W-1:0] layer   = LY_W'(reg_q[REG_LAYER]);
    wire            last    = wait_q == 1;  // the last cycle of a counted wait

    assign exec_o  = state_q == S_EXEC;
    assign wmac_o  = state_q == S_WMAC;
    assign wlrt_o  = state_q == S_WLRT;
    assign wcm_o   = state_q == S_WCM;
    assign clear_o = state_q == S_WPASS && last;

    // READ_LRT of a factor row: its word (a comparison per word, no divider) and lane.
    reg  [LN_W-1:0] rl_lane;
    integer b;
    always @* begin
        rl_word_o = '0;
        rl_lane = LN_W'(operand[13:0]);
        for (b = 1; b < BMAX; b = b + 1)
            if (operand[13:0] >= 14'(b * LANES)) begin
                rl_word_o = BM_W'(b);
                rl_lane = LN_W'(operand[13:0] - 14'(b * LANES));
            end
    end
    reg  rl_fill_q, rl_side_q;   // the row's words land in the response next cycle
    reg  [LN_W-1:0] rl_lane_q;
    wire [F-1:0] fl_el [0:R*LANES-1];  // the first R banks' elements, bank-major
    wire [F-1:0] fr_el [0:R*LANES-1];
    generate
        for (gb = 0; gb < R * LANES; gb = gb + 1) begin : g_el
            assign fl_el[gb] = fl_rdata_i[gb*F +: F];
            assign fr_el[gb] = fr_rdata_i[gb*F +: F];
        end
    endgenerate

    // The max-norm trackers, one set per slot.
    reg  [31:0] mn_steps_q [0:LAYERS-1];
    reg  [63:0] ema_l_q [0:LAYERS-1];
    reg  [63:0] ema_r_q [0:LAYERS-1];
    assign mn_steps_o = mn_steps_q[layer];
    assign ema_l_o = ema_l_q[layer];
    assign ema_r_o = ema_r_q[layer];

    // A written COMMIT's rows and cells, as the crossbar reports them.
    reg [31:0] cells_written_q, rows_written_q;
    reg        cm_wr_q;  // last cycle's crossbar write was a row of the write pass
    assign cm_wr_done_o = cm_wr_q && xb_done_i;
    wire [31:0] cells_written_d = cells_written_q + (cm_wr_done_o ? 32'(xb_written_i) : 32'd0);
    wire [31:0] rows_written_d = rows_written_q +
                                 ((cm_wr_done_o && xb_written_i != 0) ? 32'd1 : 32'd0);
    // The NVM write latency, WLAT cycles per row written, counted row by row (no
    // multiplier): rows_left_q rows still to wait for.
    reg  [31:0] rows_left_q;
    wire        no_wlat = reg_q[REG_WLAT] == 0 || rows_written_d == 0;
    assign ev_loadw_o = state_q == S_WAITN && last && op == OP_LOAD_W;
    assign ev_commit_o = (state_q == S_CLEAR && last && op == OP_COMMIT && no_wlat) ||
                         (state_q == S_WLAT && last && rows_left_q == 1);
    reg count;
    assign count_o = count;
    always @* begin
        case (state_q)
            S_EXEC, S_WPASS, S_WLAT, S_CLEAR, S_WAITN, S_LWLAT: count = 1'b1;
            S_WLRT: count = !lrt_done_i;
            S_WMAC: count = !mac_done_i;
            S_WCM:  count = !cm_done_i;
            default: count = 1'b0;
        endcase
    end

    task automatic respond(input [7:0] e, input [15:0] info, input [15:0] len);
        begin
            rsp_q[0] <= {op, e, info};
            rlen_q <= len + 16'd1;
            ridx_q <= '0;
            state_q <= S_RESP;
        end
    endtask

    task automatic commit_done;
        begin
            rsp_q[2] <= cells_written_d;
            respond(ERR_OK, 16'd1, 16'd2);
        end
    endtask

    // A countdown of ``n`` cycles in state ``s`` (the spec's fixed cycles).
    task automatic wait_in(input [3:0] s, input [31:0] n);
        begin
            state_q <= s;
            wait_q <= n;
        end
    endtask

    integer k;
    always @(posedge clk_i) begin
        if (rst_i) begin
            state_q <= S_RECV;
            nw_q <= '0;
            first_q <= 1'b1;
            hdr_q <= '0;
            rlen_q <= '0;
            ridx_q <= '0;
            wait_q <= '0;
            exec_q <= '0;
            rl_fill_q <= 1'b0;
            rl_side_q <= 1'b0;
            rl_lane_q <= '0;
            cm_wr_q <= 1'b0;
            cells_written_q <= '0;
            rows_written_q <= '0;
            rows_left_q <= '0;
            for (k = 0; k < LAYERS; k = k + 1) begin
                mn_steps_q[k] <= '0;
                ema_l_q[k] <= '0;
                ema_r_q[k] <= '0;
            end
            for (k = 0; k <= MAXP; k = k + 1) buf_q[k] <= '0;
            for (k = 0; k <= MAXR; k = k + 1) rsp_q[k] <= '0;
            for (k = 0; k < NREG; k = k + 1) reg_q[k] <= '0;
            reg_q[REG_LFSR_SEED] <= 32'hACE1;
            reg_q[REG_KAPPA_Q4] <= 32'd1600;
        end else begin
            rl_fill_q <= 1'b0;
            if (rl_fill_q)
                for (k = 0; k < R; k = k + 1)
                    rsp_q[1 + k] <= rl_side_q ? 32'($signed(fr_el[k*LANES + 32'(rl_lane_q)]))
                                              : 32'($signed(fl_el[k*LANES + 32'(rl_lane_q)]));
            // Rows of the write pass land in the crossbar one cycle after they stream out.
            cm_wr_q <= cm_row_valid_i;
            if (cm_wr_done_o) begin
                cells_written_q <= cells_written_d;
                rows_written_q <= rows_written_d;
            end
            if (count) exec_q <= exec_q + 1'b1;
            if (wait_q != 0 && !last) wait_q <= wait_q - 1'b1;
            case (state_q)
                S_RECV: if (cmd_valid_i && cmd_ready_o) begin
                    if (first_q) hdr_q <= cmd_data_i;
                    else begin
                        if (nw_q <= 16'(MAXP)) buf_q[nw_q[BUF_W-1:0]] <= cmd_data_i;
                        if (nw_q != 16'hFFFF) nw_q <= nw_q + 1'b1;
                    end
                    first_q <= cmd_last_i;
                    if (cmd_last_i) begin
                        state_q <= S_EXEC;
                        exec_q <= '0;
                    end
                end
                S_EXEC: if (err_i != ERR_OK) respond(err_i, 16'd0, 16'd0);
                    else execute();
                S_WAITN: if (last) row_done();  // row operations: ceil(N_IN/P) cycles
                S_LWLAT: if (last) respond(ERR_OK, 16'd0, 16'd1);
                S_WMAC: if (mac_done_i) begin
                    for (k = 0; k < N_OUT; k = k + 1)
                        rsp_q[1 + k] <= 32'($signed(mac_y_i[k*ACC_W +: ACC_W]));
                    respond(ERR_OK, 16'd0, 16'(N_OUT));
                end
                S_WLRT: if (lrt_done_i) respond(ERR_OK, {15'd0, lrt_absorbed_i}, 16'd0);
                S_WCM: if (cm_done_i) begin
                    mn_steps_q[layer] <= cm_mn_steps_i;
                    ema_l_q[layer] <= cm_ema_l_i;
                    ema_r_q[layer] <= cm_ema_r_i;
                    rsp_q[1] <= cm_nonzero_i;
                    rsp_q[2] <= 32'd0;
                    if (cm_gated_i) respond(ERR_OK, 16'd0, 16'd2);
                    else begin  // accel_top starts the write pass at this edge
                        cells_written_q <= '0;
                        rows_written_q <= '0;
                        wait_in(S_WPASS, 32'(PASS));
                    end
                end
                // The write pass: each row goes to the crossbar as it is done.
                S_WPASS: if (last) wait_in(S_CLEAR, 32'(BO + BI));
                // Factors cleared; the last row's write completes meanwhile.
                S_CLEAR: if (last) begin
                    if (op != OP_COMMIT) respond(ERR_OK, 16'd0, 16'd0);
                    else if (no_wlat) commit_done();
                    else begin
                        wait_in(S_WLAT, reg_q[REG_WLAT]);
                        rows_left_q <= rows_written_d;
                    end
                end
                S_WLAT: if (last) begin  // NVM write latency of the rows written
                    if (rows_left_q == 1) commit_done();
                    else begin
                        wait_in(S_WLAT, reg_q[REG_WLAT]);
                        rows_left_q <= rows_left_q - 1'b1;
                    end
                end
                S_RESP: if (rsp_ready_i) begin
                    if (ridx_q == rlen_q - 1'b1) begin
                        state_q <= S_RECV;
                        nw_q <= '0;
                    end
                    ridx_q <= ridx_q + 1'b1;
                end
                default: state_q <= S_RECV;
            endcase
        end
    end

    // S_EXEC of a command without error: answer it now or start its wait.
    task automatic execute;
        begin
            case (op)
                OP_NOP: respond(ERR_OK, 16'd0, 16'd0);
                OP_SET_CFG: begin
                    reg_q[operand[3:0]] <= buf_q[0];
                    respond(ERR_OK, 16'd0, 16'd0);
                end
                OP_GET_CFG: begin
                    rsp_q[1] <= reg_q[operand[3:0]];
                    respond(ERR_OK, 16'd0, 16'd1);
                end
                OP_READ_STATS: begin
                    rsp_q[1] <= stat_i[31:0];
                    rsp_q[2] <= stat_i[63:32];
                    respond(ERR_OK, 16'd0, 16'd2);
                end
                OP_CLEAR_STATS: respond(ERR_OK, 16'd0, 16'd0);  // accel_stats clears now
                OP_READ_LRT: begin
                    if (operand[15:14] == 2'd2)
                        for (k = 0; k < 2 * R; k = k + 1)
                            rsp_q[1 + k] <= (k % 2 == 0)
                                ? sigma_i[(k / 2)*SIG_W +: 32]
                                : 32'(sigma_i[(k / 2)*SIG_W + 32 +: SIG_W - 32]);
                    rl_fill_q <= operand[15:14] != 2'd2;
                    rl_side_q <= operand[15:14] == 2'd1;
                    rl_lane_q <= rl_lane;
                    respond(ERR_OK, 16'd0, (operand[15:14] == 2'd2) ? 16'(2 * R) : 16'(R));
                end
                OP_LOAD_W, OP_READ_W, OP_READ_WCNT, OP_INJECT, OP_SET_STUCK:
                    wait_in(S_WAITN, 32'(BI));
                OP_INFER: state_q <= S_WMAC;
                OP_UPDATE: state_q <= S_WLRT;
                OP_COMMIT: state_q <= S_WCM;
                OP_RESET_LRT: wait_in(S_CLEAR, 32'(BO + BI));
                default: respond(ERR_BAD_OPCODE, 16'd0, 16'd0);
            endcase
        end
    endtask

    // The end of a row operation: its response (+ WLAT after a LOAD_W that wrote).
    task automatic row_done;
        begin
            case (op)
                OP_LOAD_W: begin
                    rsp_q[1] <= 32'(xb_written_i);
                    if (xb_written_i != 0 && reg_q[REG_WLAT] != 0)
                        wait_in(S_LWLAT, reg_q[REG_WLAT]);
                    else respond(ERR_OK, 16'd0, 16'd1);
                end
                OP_READ_W: begin
                    for (k = 0; k < XW; k = k + 1)
                        rsp_q[1 + k] <= {byte_of(4*k + 3), byte_of(4*k + 2),
                                         byte_of(4*k + 1), byte_of(4*k)};
                    respond(ERR_OK, 16'd0, 16'(XW));
                end
                OP_READ_WCNT: begin
                    for (k = 0; k < N_IN; k = k + 1)
                        rsp_q[1 + k] <= 32'(xb_counts_i[k*CNT_W +: CNT_W]);
                    respond(ERR_OK, 16'd0, 16'(N_IN));
                end
                default: respond(ERR_OK, 16'd0, 16'd0);
            endcase
        end
    endtask

    // Level code ``i`` of the row read, sign-extended to a byte (0 past the row's end).
    function automatic [7:0] byte_of(input integer i);
        byte_of = (i < N_IN) ? 8'($signed(xb_codes_i[i*WB +: WB])) : 8'd0;
    endfunction
endmodule

`resetall
