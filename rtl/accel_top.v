// Accelerator top: command interface, registers, error checks, stats counters, and the
// sequencing of the MAC array, the LRT unit, the COMMIT datapath and the NVM crossbar.
// Specification: docs/hw-spec.md section 3 (commands, errors, registers, stats) and 7
// (cycles); golden model pysim/hw/accel.py:Accelerator. A command's words are accepted
// while cmd_ready_o is high; its response is streamed on rsp_* before the next command
// is accepted. CYCLES counts execution cycles only (decode + the spec's cycles).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module accel_top #(
    parameter int N_IN   = 64,
    parameter int N_OUT  = 10,
    parameter int RANK   = 4,
    parameter int LANES  = 8,
    parameter int F      = 16,
    parameter int G      = 8,
    parameter int WC     = 24,
    parameter int SWEEPS = 4,
    parameter int WB     = 8,
    parameter int CNT_W  = 32,
    parameter int SIG_W  = 64,
    parameter int ACC_W  = 32,
    parameter int GW     = 20,
    parameter int LAYERS = 1   // layer slots (docs/hw-spec.md section 3.1)
) (
    input  wire        clk_i,
    input  wire        rst_i,
    input  wire        cmd_valid_i,
    output wire        cmd_ready_o,
    input  wire [31:0] cmd_data_i,
    input  wire        cmd_last_i,
    output wire        rsp_valid_o,
    input  wire        rsp_ready_i,
    output wire [31:0] rsp_data_o,
    output wire        rsp_last_o
);
    // The shared encodings; each includer uses a part of them.
    /* verilator lint_off UNUSEDPARAM */
    `include "accel_defs.vh"
    /* verilator lint_on UNUSEDPARAM */

    localparam int Q     = RANK + 1;
    localparam int R     = RANK;
    localparam int OVH   = 2;
    localparam int BO    = (N_OUT + LANES - 1) / LANES;
    localparam int BI    = (N_IN + LANES - 1) / LANES;
    localparam int XW    = (N_IN + 3) / 4;
    localparam int DW    = (N_OUT + 3) / 4;
    localparam int MAXP  = XW + DW;
    localparam int MAXR  = ((N_IN > N_OUT) ? N_IN : N_OUT) + 2 * RANK + 2;
    localparam int PASS  = N_OUT * ((R + LANES - 1) / LANES + R * BI) + OVH;
    localparam int ROW_W = (N_OUT > 1) ? $clog2(N_OUT) : 1;
    localparam int CELLS = N_OUT * N_IN;
    localparam int BUF_W = $clog2(MAXP + 1);
    localparam int RSP_W = $clog2(MAXR + 1);
    localparam int LY_W  = (LAYERS > 1) ? $clog2(LAYERS) : 1;
    localparam int NREG  = REG_LAYER + 1;

    // ---------------------------------------------------------------- command buffer
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

    assign cmd_ready_o = state_q == S_RECV && !lrt_busy;  // not while clearing after reset
    assign rsp_valid_o = state_q == S_RESP;
    assign rsp_data_o  = rsp_q[ridx_q[RSP_W-1:0]];
    assign rsp_last_o  = ridx_q == rlen_q - 1'b1;

    // ---------------------------------------------------------------- registers, stats
    reg [31:0] reg_q [0:NREG-1];
    wire [LY_W-1:0] layer = LY_W'(reg_q[REG_LAYER]);  // the slot commands address

    // ---------------------------------------------------------------- decode
    wire [7:0]  op      = hdr_q[31:24];
    wire [15:0] operand = hdr_q[15:0];
    wire [31:0] operand32 = {16'd0, operand};  // compared with the int register numbers
    integer j;
    wire [(MAXP+1)*32-1:0] buf_flat;
    genvar gb;
    generate
        for (gb = 0; gb <= MAXP; gb = gb + 1) begin : g_buf
            assign buf_flat[gb*32 +: 32] = buf_q[gb];
        end
    endgenerate
    wire [31:0]       pending;
    wire              locked;
    wire [7:0]        err_c;
    wire [N_IN*8-1:0] x_c;
    wire [N_OUT*8-1:0] dy_c;
    wire [N_IN-1:0]   flags_c;
    cmd_decode #(.N_IN(N_IN), .N_OUT(N_OUT), .WB(WB), .LAYERS(LAYERS)) u_dec (
        .hdr_i(hdr_q), .buf_i(buf_flat), .nw_i(nw_q), .pending_i(pending), .locked_i(locked),
        .err_o(err_c),
        .x_o(x_c), .dy_o(dy_c), .flags_o(flags_c));

    // ---------------------------------------------------------------- crossbar
    reg  [ROW_W-1:0] xb_rd_row;
    wire [N_IN*WB-1:0] xb_codes;
    wire [N_IN*CNT_W-1:0] xb_counts;
    reg              xb_wr_valid;
    reg  [1:0]       xb_wr_op;
    reg  [ROW_W-1:0] xb_wr_row;
    reg  [N_IN*WB-1:0] xb_wr_codes;
    wire             xb_done;
    localparam int XBW = $clog2(N_IN * (1 << WB) + 1) + 1;  // a row's write counts
    wire [XBW-1:0]   xb_written, xb_blocked, xb_pulses;
    wire             unused_xb_ready;
    nvm_crossbar #(.N_IN(N_IN), .N_OUT(N_OUT), .WB(WB), .CNT_W(CNT_W),
                   .LAYERS(LAYERS)) u_xbar (
        .clk_i(clk_i), .rst_i(rst_i), .layer_i(layer), .rd_row_i(xb_rd_row), .rd_codes_o(xb_codes),
        .rd_counts_o(xb_counts), .wr_valid_i(xb_wr_valid), .wr_ready_o(unused_xb_ready),
        .wr_op_i(xb_wr_op), .wr_row_i(xb_wr_row), .wr_codes_i(xb_wr_codes),
        .wr_flags_i(flags_c), .endurance_i(reg_q[REG_ENDURANCE]),
        .pulse_mode_i(reg_q[REG_PULSE_MODE][1:0]), .wr_done_o(xb_done),
        .wr_written_o(xb_written), .wr_blocked_o(xb_blocked), .wr_pulses_o(xb_pulses));

    // ---------------------------------------------------------------- MAC array
    wire mac_start = state_q == S_EXEC && err_c == ERR_OK && op == OP_INFER;
    wire [ROW_W-1:0] mac_row;
    wire [N_OUT*ACC_W-1:0] mac_y;
    wire mac_done, unused_mac_busy;
    mac_array #(.N_IN(N_IN), .N_OUT(N_OUT), .WB(WB), .LANES(LANES), .ACC_W(ACC_W)) u_mac (
        .clk_i(clk_i), .rst_i(rst_i), .start_i(mac_start), .x_i(x_c), .row_o(mac_row),
        .codes_i(xb_codes), .y_o(mac_y), .busy_o(unused_mac_busy), .done_o(mac_done));

    // ---------------------------------------------------------------- LRT unit
    localparam int BO_W = (BO > 1) ? $clog2(BO) : 1;
    localparam int BI_W = (BI > 1) ? $clog2(BI) : 1;
    localparam int T_W  = (R > 1) ? $clog2(R) : 1;
    localparam int CNT_LW = $clog2(((LANES > R) ? LANES : R) + 1);
    localparam int VCNT_W = $clog2(Q * LANES + 1);
    wire lrt_start = state_q == S_EXEC && err_c == ERR_OK && op == OP_UPDATE;
    // RESET_LRT, and a written COMMIT after its write pass: the factor memories are
    // written with zeros during the BO + BI cycles of S_CLEAR.
    wire lrt_clear = (state_q == S_EXEC && err_c == ERR_OK && op == OP_RESET_LRT) ||
                     (state_q == S_WPASS && wait_q == 1);
    wire lrt_lfsr_load = state_q == S_EXEC && err_c == ERR_OK && op == OP_SET_CFG &&
                         operand32 == REG_LFSR_SEED;
    wire lrt_done, lrt_absorbed, lrt_folded, lrt_busy;
    wire [15:0] lrt_rot;
    wire [3:0]  unused_lrt_k;
    wire [VCNT_W-1:0] lrt_macs, lrt_reads, lrt_writes;
    reg  [BO_W-1:0] fl_addr;
    reg  [BI_W-1:0] fr_addr;
    reg  [Q-1:0]    fl_en, fr_en;
    wire [Q*LANES*F-1:0] fl_rdata, fr_rdata;
    wire [R*SIG_W-1:0]   sigma;
    wire [15:0] unused_lfsr_state;  // READ_LRT does not expose the LFSR
    // The one rsqrt: UPDATE (lrt_unit and its core) and COMMIT never run at once.
    wire        lrt_rsq_start, cm_rsq_start;
    wire [127:0] lrt_rsq_t, cm_rsq_t;
    wire [25:0] rsq_y;
    wire [7:0]  rsq_e;
    wire        rsq_done;
    rsqrt #(.TW(128)) u_rsqrt (
        .clk_i(clk_i), .rst_i(rst_i), .start_i(lrt_rsq_start | cm_rsq_start),
        .t_i(lrt_rsq_t | cm_rsq_t), .y_o(rsq_y), .e_o(rsq_e), .done_o(rsq_done));

    lrt_unit #(.EXT_RSQ(1'b1), .N_IN(N_IN), .N_OUT(N_OUT), .RANK(R), .LANES(LANES), .F(F),
               .G(G), .WC(WC), .SWEEPS(SWEEPS), .SIG_W(SIG_W), .LAYERS(LAYERS)) u_lrt (
        .clk_i(clk_i), .rst_i(rst_i), .layer_i(layer), .rsq_start_o(lrt_rsq_start),
        .rsq_t_o(lrt_rsq_t),
        .rsq_y_i(rsq_y), .rsq_e_i(rsq_e), .rsq_done_i(rsq_done), .start_i(lrt_start),
        .x_i(x_c), .dy_i(dy_c), .mode_i(reg_q[REG_MODE][0]),
        .kappa_q4_i(reg_q[REG_KAPPA_Q4][15:0]), .done_o(lrt_done),
        .absorbed_o(lrt_absorbed), .folded_o(lrt_folded), .rotations_o(lrt_rot),
        .k_o(unused_lrt_k), .macs_o(lrt_macs), .reads_o(lrt_reads), .writes_o(lrt_writes),
        .clear_i(lrt_clear), .busy_o(lrt_busy), .lfsr_load_i(lrt_lfsr_load),
        .lfsr_seed_i(buf_q[0][15:0]), .l_addr_i(fl_addr), .l_en_i(fl_en),
        .l_rdata_o(fl_rdata), .r_addr_i(fr_addr), .r_en_i(fr_en), .r_rdata_o(fr_rdata),
        .sigma_o(sigma), .pending_o(pending), .locked_o(locked), .lfsr_o(unused_lfsr_state));

    // READ_LRT of a factor row: its word (a comparison per word, no divider) and lane.
    localparam int BMAX = (BO > BI) ? BO : BI;
    localparam int LN_W = (LANES > 1) ? $clog2(LANES) : 1;
    localparam int BM_W = (BMAX > 1) ? $clog2(BMAX) : 1;
    reg  [BM_W-1:0] rl_word;
    reg  [LN_W-1:0] rl_lane;
    integer b;
    always @* begin
        rl_word = '0;
        rl_lane = LN_W'(operand[13:0]);
        for (b = 1; b < BMAX; b = b + 1)
            if (operand[13:0] >= 14'(b * LANES)) begin
                rl_word = BM_W'(b);
                rl_lane = LN_W'(operand[13:0] - 14'(b * LANES));
            end
    end
    wire rl_read = state_q == S_EXEC && err_c == ERR_OK && op == OP_READ_LRT;
    reg  rl_fill_q, rl_side_q;   // the row's words land in the response next cycle
    reg  [LN_W-1:0] rl_lane_q;
    wire [F-1:0] fl_el [0:Q*LANES-1];
    wire [F-1:0] fr_el [0:Q*LANES-1];
    genvar ge;
    generate
        for (ge = 0; ge < Q * LANES; ge = ge + 1) begin : g_el
            assign fl_el[ge] = fl_rdata[ge*F +: F];
            assign fr_el[ge] = fr_rdata[ge*F +: F];
        end
    endgenerate

    // ---------------------------------------------------------------- COMMIT datapath
    // The commit unit reads L's first RANK banks at once and R one bank at a time.
    wire [BO_W-1:0] cm_l_addr;
    wire [R-1:0]    cm_l_en;
    wire [BI_W-1:0] cm_r_addr;
    wire [T_W-1:0]  cm_r_bank;
    wire            cm_r_en;
    reg  [T_W-1:0]  cm_r_bank_q;   // the bank whose read register answers
    always @(posedge clk_i) if (cm_r_en) cm_r_bank_q <= cm_r_bank;
    always @* begin
        fl_addr = cm_l_addr;
        fl_en = Q'(cm_l_en);
        fr_addr = cm_r_addr;
        fr_en = cm_r_en ? (Q'(1) << cm_r_bank) : '0;
        if (rl_read && operand[15:14] == 2'd0) begin
            fl_addr = BO_W'(rl_word);
            fl_en = {Q{1'b1}};
        end
        if (rl_read && operand[15:14] == 2'd1) begin
            fr_addr = BI_W'(rl_word);
            fr_en = {Q{1'b1}};
        end
    end
    wire cm_start = state_q == S_EXEC && err_c == ERR_OK && op == OP_COMMIT;
    wire cm_gated = cm_nonzero == 0 || cm_nonzero < reg_q[REG_RHO_COUNT];
    wire cm_pass = state_q == S_WCM && cm_done && !cm_gated;  // the write pass
    reg  [31:0] mn_steps_q [0:LAYERS-1];  // the max-norm trackers, one set per slot
    reg  [63:0] ema_l_q [0:LAYERS-1];
    reg  [63:0] ema_r_q [0:LAYERS-1];
    wire        cm_row_valid;
    wire [ROW_W-1:0] cm_row;
    wire [N_IN*(WB+1)-1:0] cm_row_dk;
    wire [CNT_LW-1:0] cm_macs, cm_reads;
    wire [31:0] cm_nonzero, cm_mn_steps;
    wire [63:0] cm_ema_l, cm_ema_r;
    wire cm_done;
    commit_unit #(.EXT_RSQ(1'b1), .N_IN(N_IN), .N_OUT(N_OUT), .RANK(R), .LANES(LANES),
                  .F(F), .G(G), .WB(WB), .GW(GW), .SIG_W(SIG_W)) u_cm (
        .clk_i(clk_i), .rst_i(rst_i), .rsq_start_o(cm_rsq_start), .rsq_t_o(cm_rsq_t),
        .rsq_y_i(rsq_y), .rsq_e_i(rsq_e), .rsq_done_i(rsq_done), .start_i(cm_start), .pass_i(cm_pass),
        .l_addr_o(cm_l_addr), .l_en_o(cm_l_en), .l_rdata_i(fl_rdata[R*LANES*F-1:0]),
        .r_addr_o(cm_r_addr), .r_bank_o(cm_r_bank), .r_en_o(cm_r_en),
        .r_rdata_i(fr_rdata[32'(cm_r_bank_q)*LANES*F +: LANES*F]),
        .sigma_i(sigma), .b_i(pending), .lr_mant_i(reg_q[REG_LR_MANT][15:0]),
        .lr_shift_i(reg_q[REG_LR_SHIFT][5:0]), .maxnorm_i(reg_q[REG_MAXNORM][0]),
        .mn_steps_i(mn_steps_q[layer]), .ema_l_i(ema_l_q[layer]), .ema_r_i(ema_r_q[layer]),
        .row_valid_o(cm_row_valid),
        .row_o(cm_row), .row_dk_o(cm_row_dk), .nonzero_o(cm_nonzero), .macs_o(cm_macs),
        .reads_o(cm_reads), .ema_l_o(cm_ema_l), .ema_r_o(cm_ema_r),
        .mn_steps_o(cm_mn_steps), .done_o(cm_done));

    // Target codes of a COMMIT row: clamp(code + dk) to the code range.
    reg [N_IN*WB-1:0] commit_row_c;
    reg signed [15:0] sum;
    always @* begin
        for (j = 0; j < N_IN; j = j + 1) begin
            sum = 16'($signed(xb_codes[j*WB +: WB])) +
                  16'($signed(cm_row_dk[j*(WB+1) +: WB+1]));
            if (sum > 16'sd0 + ((16'sd1 <<< (WB - 1)) - 16'sd1)) sum = (16'sd1 <<< (WB - 1)) - 16'sd1;
            if (sum < -(16'sd1 <<< (WB - 1))) sum = -(16'sd1 <<< (WB - 1));
            commit_row_c[j*WB +: WB] = WB'(sum);
        end
    end

    // Crossbar port use by state.
    always @* begin
        xb_rd_row = ROW_W'(operand);
        if (state_q == S_WMAC) xb_rd_row = mac_row;
        if (cm_row_valid) xb_rd_row = cm_row;
        xb_wr_valid = 1'b0;
        xb_wr_op = 2'd0;
        xb_wr_row = ROW_W'(operand);
        for (j = 0; j < N_IN; j = j + 1) xb_wr_codes[j*WB +: WB] = x_c[j*8 +: WB];
        if (state_q == S_EXEC && err_c == ERR_OK) begin
            if (op == OP_LOAD_W) xb_wr_valid = 1'b1;
            if (op == OP_INJECT) begin
                xb_wr_valid = 1'b1;
                xb_wr_op = 2'd1;
            end
            if (op == OP_SET_STUCK) begin
                xb_wr_valid = 1'b1;
                xb_wr_op = 2'd2;
            end
        end
        if (cm_row_valid) begin  // a row of the write pass, as it streams out
            xb_wr_valid = 1'b1;
            xb_wr_row = cm_row;
            xb_wr_codes = commit_row_c;
        end
    end

    // ---------------------------------------------------------------- sequencing
    reg [31:0] cells_written_q, rows_written_q;
    reg        cm_wr_q;  // last cycle's crossbar write was a row of the write pass
    wire       cm_wr_done = cm_wr_q && xb_done;
    wire [31:0] cells_written_d = cells_written_q + (cm_wr_done ? 32'(xb_written) : 32'd0);
    wire [31:0] rows_written_d = rows_written_q +
                                 ((cm_wr_done && xb_written != 0) ? 32'd1 : 32'd0);
    reg        count;  // this edge is an execution cycle
    always @* begin
        case (state_q)
            S_EXEC, S_WPASS, S_WLAT, S_CLEAR, S_WAITN, S_LWLAT: count = 1'b1;
            S_WLRT: count = !lrt_done;
            S_WMAC: count = !mac_done;
            S_WCM:  count = !cm_done;
            default: count = 1'b0;
        endcase
    end

    // ---------------------------------------------------------------- stats
    // The events each counter adds (accel_stats); a command's end raises its own.
    wire ev_ok = state_q == S_EXEC && err_c == ERR_OK;
    wire ev_loadw = state_q == S_WAITN && wait_q == 1 && op == OP_LOAD_W;
    wire ev_infer = state_q == S_WMAC && mac_done;
    wire ev_scale = state_q == S_WCM && cm_done;
    wire ev_commit = (state_q == S_CLEAR && wait_q == 1 && op == OP_COMMIT &&
                      reg_q[REG_WLAT] * rows_written_d == 0) ||
                     (state_q == S_WLAT && wait_q == 1);
    wire [31:0] ev_nvm_reads = ev_loadw ? 32'(N_IN) :
                               (ev_infer || (ev_scale && !cm_gated)) ? 32'(CELLS) : 32'd0;
    wire [63:0] stat_rd;
    accel_stats #(.N_IN(N_IN), .N_OUT(N_OUT), .RANK(R), .LANES(LANES), .EW(VCNT_W + 1),
                  .NW(XBW)) u_stats (
        .clk_i(clk_i), .rst_i(rst_i), .clear_i(ev_ok && op == OP_CLEAR_STATS),
        .cycle_i(count), .error_i(state_q == S_EXEC && err_c != ERR_OK),
        .macs_i((VCNT_W + 1)'(cm_macs) + (VCNT_W + 1)'(lrt_macs)),
        .reads_i((VCNT_W + 1)'(cm_reads) + (VCNT_W + 1)'(lrt_reads)),
        .writes_i((VCNT_W + 1)'(lrt_writes)), .rsq_i(lrt_rsq_start | cm_rsq_start),
        .nvm_i(cm_wr_done || ev_loadw), .nvm_written_i(xb_written), .nvm_pulses_i(xb_pulses),
        .nvm_blocked_i(xb_blocked), .nvm_reads_i(ev_nvm_reads), .exec_i(exec_q),
        .infer_i(ev_infer), .update_i(state_q == S_WLRT && lrt_done),
        .absorbed_i(lrt_absorbed), .folded_i(lrt_folded), .rotations_i(lrt_rot),
        .scale_i(ev_scale), .maxnorm_i(reg_q[REG_MAXNORM][0]), .gated_i(cm_gated),
        .committed_i(ev_commit), .rd_idx_i(operand[4:0]), .rd_o(stat_rd));

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
            // The vector unit's and the commit unit's lanes and memory ports, and the rsqrt,
            // counted as they work.
            rl_fill_q <= 1'b0;
            if (rl_fill_q)
                for (k = 0; k < R; k = k + 1)
                    rsp_q[1 + k] <= rl_side_q
                        ? 32'($signed(fr_el[k*LANES + 32'(rl_lane_q)]))
                        : 32'($signed(fl_el[k*LANES + 32'(rl_lane_q)]));
            // Rows of the write pass land in the crossbar one cycle after they stream out.
            cm_wr_q <= cm_row_valid;
            if (cm_wr_done) begin
                cells_written_q <= cells_written_d;
                rows_written_q <= rows_written_d;
            end
            if (count) begin
                exec_q <= exec_q + 1'b1;
            end
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
                S_EXEC: begin
                    if (err_c != ERR_OK) begin
                        respond(err_c, 16'd0, 16'd0);
                    end else begin
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
                                rsp_q[1] <= stat_rd[31:0];
                                rsp_q[2] <= stat_rd[63:32];
                                respond(ERR_OK, 16'd0, 16'd2);
                            end
                            OP_CLEAR_STATS: begin
                            end
                            OP_READ_LRT: begin
                                if (operand[15:14] == 2'd2)
                                    for (k = 0; k < 2 * R; k = k + 1)
                                        rsp_q[1 + k] <= (k % 2 == 0)
                                            ? sigma[(k / 2)*SIG_W +: 32]
                                            : 32'(sigma[(k / 2)*SIG_W + 32 +: SIG_W - 32]);
                                rl_fill_q <= operand[15:14] != 2'd2;
                                rl_side_q <= operand[15:14] == 2'd1;
                                rl_lane_q <= rl_lane;
                                respond(ERR_OK, 16'd0,
                                        (operand[15:14] == 2'd2) ? 16'(2 * R) : 16'(R));
                            end
                            OP_LOAD_W, OP_READ_W, OP_READ_WCNT, OP_INJECT, OP_SET_STUCK: begin
                                state_q <= S_WAITN;
                                wait_q <= 32'(BI);
                            end
                            OP_INFER: state_q <= S_WMAC;
                            OP_UPDATE: state_q <= S_WLRT;
                            OP_COMMIT: state_q <= S_WCM;
                            OP_RESET_LRT: begin
                                state_q <= S_CLEAR;
                                wait_q <= 32'(BO + BI);
                            end
                            default: respond(ERR_BAD_OPCODE, 16'd0, 16'd0);
                        endcase
                    end
                end
                S_WAITN: begin  // row operations: ceil(N_IN/P) cycles (+ WLAT on a write)
                    if (wait_q == 1) begin
                        case (op)
                            OP_LOAD_W: begin
                                rsp_q[1] <= 32'(xb_written);
                                if (xb_written != 0 && reg_q[REG_WLAT] != 0) begin
                                    state_q <= S_LWLAT;
                                    wait_q <= reg_q[REG_WLAT];
                                end else respond(ERR_OK, 16'd0, 16'd1);
                            end
                            OP_READ_W: begin
                                for (k = 0; k < XW; k = k + 1)
                                    rsp_q[1 + k] <= {
                                        (4*k + 3 < N_IN) ? 8'($signed(xb_codes[(4*k+3)*WB +: WB])) : 8'd0,
                                        (4*k + 2 < N_IN) ? 8'($signed(xb_codes[(4*k+2)*WB +: WB])) : 8'd0,
                                        (4*k + 1 < N_IN) ? 8'($signed(xb_codes[(4*k+1)*WB +: WB])) : 8'd0,
                                        8'($signed(xb_codes[(4*k)*WB +: WB]))};
                                respond(ERR_OK, 16'd0, 16'(XW));
                            end
                            OP_READ_WCNT: begin
                                for (k = 0; k < N_IN; k = k + 1)
                                    rsp_q[1 + k] <= 32'(xb_counts[k*CNT_W +: CNT_W]);
                                respond(ERR_OK, 16'd0, 16'(N_IN));
                            end
                            default: respond(ERR_OK, 16'd0, 16'd0);
                        endcase
                    end else wait_q <= wait_q - 1'b1;
                end
                S_LWLAT: begin
                    if (wait_q == 1) respond(ERR_OK, 16'd0, 16'd1);
                    else wait_q <= wait_q - 1'b1;
                end
                S_WMAC: if (mac_done) begin
                    for (k = 0; k < N_OUT; k = k + 1)
                        rsp_q[1 + k] <= 32'($signed(mac_y[k*ACC_W +: ACC_W]));
                    respond(ERR_OK, 16'd0, 16'(N_OUT));
                end
                S_WLRT: if (lrt_done) begin
                    respond(ERR_OK, {15'd0, lrt_absorbed}, 16'd0);
                end
                S_WCM: if (cm_done) begin
                    mn_steps_q[layer] <= cm_mn_steps;
                    ema_l_q[layer] <= cm_ema_l;
                    ema_r_q[layer] <= cm_ema_r;
                    rsp_q[1] <= cm_nonzero;
                    rsp_q[2] <= 32'd0;
                    if (cm_gated) begin
                        respond(ERR_OK, 16'd0, 16'd2);
                    end else begin  // cm_pass starts the write pass at this edge
                        cells_written_q <= '0;
                        rows_written_q <= '0;
                        state_q <= S_WPASS;
                        wait_q <= 32'(PASS);
                    end
                end
                S_WPASS: begin  // the write pass: each row goes to the crossbar as it is done
                    if (wait_q == 1) begin
                        state_q <= S_CLEAR;
                        wait_q <= 32'(BO + BI);
                    end else wait_q <= wait_q - 1'b1;
                end
                S_CLEAR: begin  // factors cleared; the last row's write completes meanwhile
                    if (wait_q == 1) begin
                        if (op != OP_COMMIT) respond(ERR_OK, 16'd0, 16'd0);
                        else if (reg_q[REG_WLAT] * rows_written_d == 0) commit_done();
                        else begin
                            state_q <= S_WLAT;
                            wait_q <= reg_q[REG_WLAT] * rows_written_d;
                        end
                    end else wait_q <= wait_q - 1'b1;
                end
                S_WLAT: begin  // NVM write latency of the rows written
                    if (wait_q == 1) commit_done();
                    else wait_q <= wait_q - 1'b1;
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
endmodule

`resetall
