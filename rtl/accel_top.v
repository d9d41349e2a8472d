// Accelerator top: the blocks and their wiring — the sequencer (accel_seq: command
// buffer, registers, state machine, responses), the decoder, the NVM crossbar, the MAC
// array, the LRT unit, the COMMIT datapath, the one rsqrt and the stats counters.
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
    localparam int BO    = (N_OUT + LANES - 1) / LANES;
    localparam int BI    = (N_IN + LANES - 1) / LANES;
    localparam int MAXP  = (N_IN + 3) / 4 + (N_OUT + 3) / 4;  // payload words at most
    localparam int ROW_W = (N_OUT > 1) ? $clog2(N_OUT) : 1;
    localparam int CELLS = N_OUT * N_IN;
    localparam int LY_W  = (LAYERS > 1) ? $clog2(LAYERS) : 1;
    localparam int NREG  = REG_LAYER + 1;
    localparam int XBW   = $clog2(N_IN * (1 << WB) + 1) + 1;  // a row's write counts
    localparam int BMAX  = (BO > BI) ? BO : BI;                 // factor words of a side
    localparam int BM_W  = (BMAX > 1) ? $clog2(BMAX) : 1;

    // ---------------------------------------------------------------- sequencer's outputs
    // (accel_seq, instantiated at the end, after the blocks whose answers it takes)
    wire [31:0]            hdr;
    wire [(MAXP+1)*32-1:0] buf_flat;
    wire [15:0]            nw;
    wire [NREG*32-1:0]     regs;
    wire exec, wmac, wlrt, wcm, seq_clear, count, ev_loadw, ev_commit, cm_wr_done;
    wire [31:0] exec_cycles;
    wire [BM_W-1:0] rl_word;
    wire [31:0] mn_steps;
    wire [63:0] ema_l, ema_r;
    wire [63:0] stat_rd;
    wire [31:0] regv [0:NREG-1];  // the registers, as the sequencer holds them
    genvar gr;
    generate
        for (gr = 0; gr < NREG; gr = gr + 1) begin : g_reg
            assign regv[gr] = regs[gr*32 +: 32];
        end
    endgenerate
    wire [LY_W-1:0] layer = LY_W'(regv[REG_LAYER]);  // the slot commands address

    // ---------------------------------------------------------------- decode
    wire [7:0]  op      = hdr[31:24];
    wire [15:0] operand = hdr[15:0];
    wire [31:0] operand32 = {16'd0, operand};  // compared with the int register numbers
    wire        exec_ok = exec && err_c == ERR_OK;
    integer j;
    wire [31:0]       pending;
    wire              locked;
    wire [7:0]        err_c;
    wire [N_IN*8-1:0] x_c;
    wire [N_OUT*8-1:0] dy_c;
    wire [N_IN-1:0]   flags_c;
    cmd_decode #(.N_IN(N_IN), .N_OUT(N_OUT), .WB(WB), .LAYERS(LAYERS)) u_dec (
        .hdr_i(hdr), .buf_i(buf_flat), .nw_i(nw), .pending_i(pending), .locked_i(locked),
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
    wire [XBW-1:0]   xb_written, xb_blocked, xb_pulses;
    wire             unused_xb_ready;
    nvm_crossbar #(.N_IN(N_IN), .N_OUT(N_OUT), .WB(WB), .CNT_W(CNT_W),
                   .LAYERS(LAYERS)) u_xbar (
        .clk_i(clk_i), .rst_i(rst_i), .layer_i(layer), .rd_row_i(xb_rd_row), .rd_codes_o(xb_codes),
        .rd_counts_o(xb_counts), .wr_valid_i(xb_wr_valid), .wr_ready_o(unused_xb_ready),
        .wr_op_i(xb_wr_op), .wr_row_i(xb_wr_row), .wr_codes_i(xb_wr_codes),
        .wr_flags_i(flags_c), .endurance_i(regv[REG_ENDURANCE]),
        .pulse_mode_i(regv[REG_PULSE_MODE][1:0]), .wr_done_o(xb_done),
        .wr_written_o(xb_written), .wr_blocked_o(xb_blocked), .wr_pulses_o(xb_pulses));

    // ---------------------------------------------------------------- MAC array
    wire mac_start = exec_ok && op == OP_INFER;
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
    wire lrt_start = exec_ok && op == OP_UPDATE;
    // RESET_LRT, and a written COMMIT after its write pass: the factor memories are
    // written with zeros during the BO + BI cycles of S_CLEAR.
    wire lrt_clear = (exec_ok && op == OP_RESET_LRT) || seq_clear;
    wire lrt_lfsr_load = exec_ok && op == OP_SET_CFG && operand32 == REG_LFSR_SEED;
    wire lrt_done, lrt_absorbed, lrt_folded, lrt_busy;
    wire [15:0] lrt_rot;
    wire [3:0]  unused_lrt_k;
    wire [VCNT_W-1:0] lrt_macs, lrt_reads, lrt_writes;
    reg  [BO_W-1:0] fl_addr;
    reg  [BI_W-1:0] fr_addr;
    reg  [Q-1:0]    fl_en, fr_en;
    wire [Q*LANES*F-1:0] fl_rdata, fr_rdata;
    // L's last bank is the LRT unit's scratch: neither COMMIT nor READ_LRT reads it here.
    wire unused_fl_last = ^fl_rdata[Q*LANES*F-1:R*LANES*F];
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
    // The scalar unit's two multipliers and the vector lanes live in lrt_unit; COMMIT's
    // scale chain borrows the multipliers, its passes the lanes.
    wire [135:0] cm_mul_x;
    wire [129:0] smul_p;
    wire [8:0]   cm_s2_x;   // and its stage-2 rounding (on core_svd's shifter)
    wire [96:0]  s2_q;
    localparam int LGW = 27;  // COMMIT's Lg_t on the lanes (pysim.hw.commit_unit.LG_BITS)
    wire [LANES*(F+LGW):0]   cm_lane_x;
    wire [LANES*(F+LGW)-1:0] lane_p;

    lrt_unit #(.EXT_RSQ(1'b1), .N_IN(N_IN), .N_OUT(N_OUT), .RANK(R), .LANES(LANES), .F(F),
               .G(G), .WC(WC), .SWEEPS(SWEEPS), .SIG_W(SIG_W), .LAYERS(LAYERS),
               .LGW(LGW)) u_lrt (
        .clk_i(clk_i), .rst_i(rst_i), .layer_i(layer), .rsq_start_o(lrt_rsq_start),
        .rsq_t_o(lrt_rsq_t),
        .rsq_y_i(rsq_y), .rsq_e_i(rsq_e), .rsq_done_i(rsq_done), .smul_x_i(cm_mul_x),
        .smul_p_o(smul_p), .s2_x_i(cm_s2_x), .s2_q_o(s2_q), .lane_x_i(cm_lane_x),
        .lane_p_o(lane_p), .start_i(lrt_start),
        .x_i(x_c), .dy_i(dy_c), .mode_i(regv[REG_MODE][0]),
        .kappa_q4_i(regv[REG_KAPPA_Q4][15:0]), .done_o(lrt_done),
        .absorbed_o(lrt_absorbed), .folded_o(lrt_folded), .rotations_o(lrt_rot),
        .k_o(unused_lrt_k), .macs_o(lrt_macs), .reads_o(lrt_reads), .writes_o(lrt_writes),
        .clear_i(lrt_clear), .busy_o(lrt_busy), .lfsr_load_i(lrt_lfsr_load),
        .lfsr_seed_i(buf_flat[15:0]), .l_addr_i(fl_addr), .l_en_i(fl_en),
        .l_rdata_o(fl_rdata), .r_addr_i(fr_addr), .r_en_i(fr_en), .r_rdata_o(fr_rdata),
        .sigma_o(sigma), .pending_o(pending), .locked_o(locked), .lfsr_o(unused_lfsr_state));

    wire rl_read = exec_ok && op == OP_READ_LRT;

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
    wire cm_start = exec_ok && op == OP_COMMIT;
    wire cm_gated = cm_nonzero == 0 || cm_nonzero < regv[REG_RHO_COUNT];
    wire cm_pass = wcm && cm_done && !cm_gated;  // the write pass
    wire        cm_row_valid;
    wire [ROW_W-1:0] cm_row;
    wire [N_IN*(WB+1)-1:0] cm_row_dk;
    wire [CNT_LW-1:0] cm_macs, cm_reads;
    wire [31:0] cm_nonzero, cm_mn_steps;
    wire [63:0] cm_ema_l, cm_ema_r;
    wire cm_done;
    commit_unit #(.EXT_RSQ(1'b1), .EXT_MUL(1'b1), .EXT_LANE(1'b1), .N_IN(N_IN), .N_OUT(N_OUT),
                  .RANK(R), .LANES(LANES), .F(F), .G(G), .WB(WB), .GW(GW), .LGW(LGW),
                  .SIG_W(SIG_W)) u_cm (
        .clk_i(clk_i), .rst_i(rst_i), .rsq_start_o(cm_rsq_start), .rsq_t_o(cm_rsq_t),
        .rsq_y_i(rsq_y), .rsq_e_i(rsq_e), .rsq_done_i(rsq_done), .smul_x_o(cm_mul_x),
        .smul_p_i(smul_p), .s2_x_o(cm_s2_x), .s2_q_i(s2_q), .lane_x_o(cm_lane_x),
        .lane_p_i(lane_p), .start_i(cm_start),
        .pass_i(cm_pass),
        .l_addr_o(cm_l_addr), .l_en_o(cm_l_en), .l_rdata_i(fl_rdata[R*LANES*F-1:0]),
        .r_addr_o(cm_r_addr), .r_bank_o(cm_r_bank), .r_en_o(cm_r_en),
        .r_rdata_i(fr_rdata[32'(cm_r_bank_q)*LANES*F +: LANES*F]),
        .sigma_i(sigma), .b_i(pending), .lr_mant_i(regv[REG_LR_MANT][15:0]),
        .lr_shift_i(regv[REG_LR_SHIFT][5:0]), .maxnorm_i(regv[REG_MAXNORM][0]),
        .mn_steps_i(mn_steps), .ema_l_i(ema_l), .ema_r_i(ema_r),
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
        if (wmac) xb_rd_row = mac_row;
        if (cm_row_valid) xb_rd_row = cm_row;
        xb_wr_valid = 1'b0;
        xb_wr_op = 2'd0;
        xb_wr_row = ROW_W'(operand);
        for (j = 0; j < N_IN; j = j + 1) xb_wr_codes[j*WB +: WB] = x_c[j*8 +: WB];
        if (exec_ok) begin
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

    // ---------------------------------------------------------------- stats
    // The events each counter adds (accel_stats); a command's end raises its own.
    wire ev_infer = wmac && mac_done;
    wire ev_scale = wcm && cm_done;
    wire [31:0] ev_nvm_reads = ev_loadw ? 32'(N_IN) :
                               (ev_infer || (ev_scale && !cm_gated)) ? 32'(CELLS) : 32'd0;
    accel_stats #(.N_IN(N_IN), .N_OUT(N_OUT), .RANK(R), .LANES(LANES), .EW(VCNT_W + 1),
                  .NW(XBW)) u_stats (
        .clk_i(clk_i), .rst_i(rst_i), .clear_i(exec_ok && op == OP_CLEAR_STATS),
        .cycle_i(count), .error_i(exec && err_c != ERR_OK),
        .macs_i((VCNT_W + 1)'(cm_macs) + (VCNT_W + 1)'(lrt_macs)),
        .reads_i((VCNT_W + 1)'(cm_reads) + (VCNT_W + 1)'(lrt_reads)),
        .writes_i((VCNT_W + 1)'(lrt_writes)), .rsq_i(lrt_rsq_start | cm_rsq_start),
        .nvm_i(cm_wr_done || ev_loadw), .nvm_written_i(xb_written), .nvm_pulses_i(xb_pulses),
        .nvm_blocked_i(xb_blocked), .nvm_reads_i(ev_nvm_reads), .exec_i(exec_cycles),
        .infer_i(ev_infer), .update_i(wlrt && lrt_done),
        .absorbed_i(lrt_absorbed), .folded_i(lrt_folded), .rotations_i(lrt_rot),
        .scale_i(ev_scale), .maxnorm_i(regv[REG_MAXNORM][0]), .gated_i(cm_gated),
        .committed_i(ev_commit), .rd_idx_i(operand[4:0]), .rd_o(stat_rd));

    // ---------------------------------------------------------------- sequencer
    accel_seq #(.N_IN(N_IN), .N_OUT(N_OUT), .RANK(R), .LANES(LANES), .LAYERS(LAYERS), .F(F),
                .WB(WB), .CNT_W(CNT_W), .SIG_W(SIG_W), .ACC_W(ACC_W), .MAXP(MAXP),
                .NREG(NREG), .XBW(XBW), .BMAX(BMAX), .BM_W(BM_W)) u_seq (
        .clk_i(clk_i), .rst_i(rst_i), .cmd_valid_i(cmd_valid_i), .cmd_ready_o(cmd_ready_o),
        .cmd_data_i(cmd_data_i), .cmd_last_i(cmd_last_i), .rsp_valid_o(rsp_valid_o),
        .rsp_ready_i(rsp_ready_i), .rsp_data_o(rsp_data_o), .rsp_last_o(rsp_last_o),
        .hdr_o(hdr), .buf_o(buf_flat), .nw_o(nw), .err_i(err_c), .regs_o(regs),
        .exec_o(exec), .wmac_o(wmac), .wlrt_o(wlrt), .wcm_o(wcm), .clear_o(seq_clear),
        .count_o(count), .exec_cycles_o(exec_cycles), .ev_loadw_o(ev_loadw),
        .ev_commit_o(ev_commit), .cm_wr_done_o(cm_wr_done), .rl_word_o(rl_word),
        .busy_i(lrt_busy), .mac_done_i(mac_done), .mac_y_i(mac_y), .lrt_done_i(lrt_done),
        .lrt_absorbed_i(lrt_absorbed), .cm_done_i(cm_done), .cm_gated_i(cm_gated),
        .cm_nonzero_i(cm_nonzero), .cm_mn_steps_i(cm_mn_steps), .cm_ema_l_i(cm_ema_l),
        .cm_ema_r_i(cm_ema_r), .mn_steps_o(mn_steps), .ema_l_o(ema_l), .ema_r_o(ema_r),
        .cm_row_valid_i(cm_row_valid), .xb_done_i(xb_done), .xb_written_i(xb_written),
        .xb_codes_i(xb_codes), .xb_counts_i(xb_counts), .sigma_i(sigma),
        .fl_rdata_i(fl_rdata[R*LANES*F-1:0]), .fr_rdata_i(fr_rdata[R*LANES*F-1:0]),
        .stat_i(stat_rd));
endmodule

`resetall
