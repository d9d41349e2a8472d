// COMMIT datapath: the scale chain (commit_scale) and the passes of level steps
// dk = -rshift(sum_t Lg_t R_t, SH), Lg_t = floor(L_t g_t / 2^LG_D), on the vector unit's P
// lanes (EXT_LANE = 1, lent by lrt_unit) or on P of this block's own. Specification:
// docs/hw-spec.md section 6; golden model pysim/hw/commit_unit.py (commit_scale,
// delta_levels). start_i runs the scale chain and the counting pass; pass_i runs one more
// pass with the coefficients kept, streaming each row's dk out (the write pass). The
// passes and the max-norm column scan read L and R from the factor memories (q banks per
// factor, P rows a word, data one cycle after the address), one word a cycle: per row,
// ceil(r/P) cycles forming Lg_t, then r·ceil(N_IN/P) cycles accumulating Lg_t·R(j, t);
// products registered, sums finished one stage later (2 drain cycles).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module commit_unit #(
    parameter bit EXT_RSQ  = 1'b0,  // use the rsq_* ports: one rsqrt shared by all
    parameter bit EXT_MUL  = 1'b0,  // use the smul_* ports: lrt_unit's scalar multipliers
    parameter bit EXT_LANE = 1'b0,  // use the lane_* ports: lrt_unit's vector lanes
    parameter int N_IN     = 64,
    parameter int N_OUT    = 10,
    parameter int RANK     = 4,
    parameter int LANES    = 8,
    parameter int F        = 16,
    parameter int G        = 8,
    parameter int WB       = 8,
    parameter int GW       = 20,
    parameter int LGW      = 27,    // Lg_t (pysim.hw.commit_unit.LG_BITS): a lane's operand b
    parameter int SIG_W    = 64,
    parameter int BO_W     = ((N_OUT + LANES - 1) / LANES > 1) ?
                             $clog2((N_OUT + LANES - 1) / LANES) : 1,
    parameter int BI_W     = ((N_IN + LANES - 1) / LANES > 1) ?
                             $clog2((N_IN + LANES - 1) / LANES) : 1,
    parameter int T_W      = (RANK > 1) ? $clog2(RANK) : 1,
    parameter int ROW_W    = (N_OUT > 1) ? $clog2(N_OUT) : 1,
    parameter int CNT_LW   = $clog2(((LANES > RANK) ? LANES : RANK) + 1)
) (
    input  wire                        clk_i,
    input  wire                        rst_i,
    // The shared rsqrt (EXT_RSQ = 1) or this block's own (0, when the block stands alone).
    output wire                        rsq_start_o,
    output wire [127:0]                rsq_t_o,
    input  wire [25:0]                 rsq_y_i,
    input  wire [7:0]                  rsq_e_i,
    input  wire                        rsq_done_i,
    // The scale chain's scalar multipliers: lrt_unit's (EXT_MUL = 1) or its own.
    output wire [135:0]                smul_x_o,   // {xa, ya, xb, yb}, zero when idle
    input  wire [129:0]                smul_p_i,   // {pa, pb} of the previous cycle
    output wire [8:0]                  s2_x_o,     // the scale chain's rounding (EXT_MUL)
    input  wire [96:0]                 s2_q_i,
    // The lanes' operands (a: factor elements, b: g_t or Lg_t) and last cycle's products.
    output wire [LANES*(F+LGW):0]      lane_x_o,   // {valid, a's, b's}
    input  wire [LANES*(F+LGW)-1:0]    lane_p_i,
    input  wire                        start_i,    // scale chain, then the counting pass
    input  wire                        pass_i,     // the write pass (after a start)
    // Factor memories (banks t = 0..r-1 of L and of R), data one cycle after the address.
    output reg  [BO_W-1:0]             l_addr_o,   // row block, the same in every L bank
    output reg  [RANK-1:0]             l_en_o,     // L banks read this cycle
    input  wire [RANK*LANES*F-1:0]     l_rdata_i,  // bank t's word at t*LANES*F
    output reg  [BI_W-1:0]             r_addr_o,   // row block of R
    output reg  [T_W-1:0]              r_bank_o,   // column t
    output reg                         r_en_o,
    input  wire [LANES*F-1:0]          r_rdata_i,
    input  wire [RANK*SIG_W-1:0]       sigma_i,
    input  wire [31:0]                 b_i,        // samples since the last write
    input  wire [15:0]                 lr_mant_i,
    input  wire [5:0]                  lr_shift_i,
    input  wire                        maxnorm_i,
    input  wire [31:0]                 mn_steps_i, // max-norm commits so far
    input  wire [63:0]                 ema_l_i,
    input  wire [63:0]                 ema_r_i,
    // The write pass's rows: dk(row_o, j) at j*(WB+1), valid for the cycle row_valid_o is high.
    output reg                         row_valid_o,
    output reg  [ROW_W-1:0]            row_o,
    output wire [N_IN*(WB+1)-1:0]      row_dk_o,
    output wire [31:0]                 nonzero_o,  // non-zero dk of the last pass
    output reg  [CNT_LW-1:0]           macs_o,     // lanes multiplying this cycle
    output reg  [CNT_LW-1:0]           reads_o,    // factor elements read this cycle
    output reg  [63:0]                 ema_l_o,
    output reg  [63:0]                 ema_r_o,
    output reg  [31:0]                 mn_steps_o,
    output reg                         done_o
);
    localparam int R    = RANK;
    localparam int BO   = (N_OUT + LANES - 1) / LANES;
    localparam int BI   = (N_IN + LANES - 1) / LANES;
    localparam int CAP  = (1 << WB) - 1;
    localparam int LN_W = (LANES > 1) ? $clog2(LANES) : 1;
    localparam int GQ_W = GW + 1;                   // g_t, signed
    localparam int LG_D = (F + GW - 1 > LGW) ? F + GW - 1 - LGW : 0;  // L·g's bits dropped
    localparam int PR_W = F + LGW;                  // a lane's product
    localparam int AC_W = PR_W + T_W + 1;           // sum of r products
    localparam int CB_W = $clog2((N_IN > N_OUT ? N_IN : N_OUT) + LANES + 1);  // row + lane
    `include "commit_fns.vh"

    // Arrays over the flat ports (selections become muxes): L's bank words, the
    // coefficients, the column maxima, the row buffer.
    wire [LANES*F-1:0] lword [0:R-1];
    wire [R*GQ_W-1:0] g_all;
    wire signed [GQ_W-1:0] g_q [0:R-1];
    reg  [F-1:0] cmax_q [0:2*R-1];        // max |L_t| (t < r), max |R_t| (r + t)
    wire [2*R*F-1:0] cmax_all;
    reg  [WB:0] rowbuf_q [0:N_IN-1];
    genvar gw;
    generate
        for (gw = 0; gw < R; gw = gw + 1) begin : g_r
            assign lword[gw] = l_rdata_i[gw*LANES*F +: LANES*F];
            assign g_q[gw] = g_all[gw*GQ_W +: GQ_W];
            assign cmax_all[gw*F +: F] = cmax_q[gw];
            assign cmax_all[(R + gw)*F +: F] = cmax_q[R + gw];
        end
        for (gw = 0; gw < N_IN; gw = gw + 1) begin : g_row
            assign row_dk_o[gw*(WB+1) +: WB+1] = rowbuf_q[gw];
        end
    endgenerate

    // ---------------------------------------------------------------- the scale chain
    localparam logic [1:0] S_IDLE = 2'd0, S_SCALE = 2'd1, S_PASS = 2'd2;
    reg [1:0]   state_q;
    wire        scan_go, scale_go;
    wire signed [15:0] sh_s;
    commit_scale #(.EXT_RSQ(EXT_RSQ), .EXT_MUL(EXT_MUL), .N_IN(N_IN), .N_OUT(N_OUT),
                   .RANK(R), .LANES(LANES), .F(F), .G(G), .GW(GW), .LGW(LGW),
                   .SIG_W(SIG_W)) u_scale (
        .clk_i(clk_i), .rst_i(rst_i), .rsq_start_o(rsq_start_o), .rsq_t_o(rsq_t_o),
        .rsq_y_i(rsq_y_i), .rsq_e_i(rsq_e_i), .rsq_done_i(rsq_done_i), .smul_x_o(smul_x_o),
        .smul_p_i(smul_p_i), .s2_x_o(s2_x_o), .s2_q_i(s2_q_i), .start_i(start_i),
        .sigma_i(sigma_i), .b_i(b_i), .lr_mant_i(lr_mant_i), .lr_shift_i(lr_shift_i),
        .maxnorm_i(maxnorm_i), .mn_steps_i(mn_steps_i), .ema_l_i(ema_l_i),
        .ema_r_i(ema_r_i), .scan_o(scan_go), .cmax_i(cmax_all), .go_o(scale_go),
        .g_o(g_all), .sh_o(sh_s), .ema_l_o(ema_l_o), .ema_r_o(ema_r_o),
        .mn_steps_o(mn_steps_o));
    wire integer sh_q = 32'(sh_s);

    // Column maxima |L_t|, |R_t| for max-norm: a scan over the factor memories while the
    // scale chain waits for it, one word (column t, row block b) a cycle, L's r*BO words
    // then R's r*BI.
    reg         scan_busy_q, scan_r_q;    // scanning, R (else L)
    reg [BI_W:0]   scan_b_q;              // wide enough for either block count
    reg [CB_W-1:0] scan_row_q;            // its first row: scan_b_q * P
    reg         sv1_q, sr1_q;             // stage 1: a word arrives
    reg [T_W-1:0]  scan_t_q, st1_q;
    reg [LANES-1:0] slv1_q;               // lanes holding elements of the factor

    // The scan word's largest |element|: the largest key {v ^ sign, sign} (keys order as |v|)
    wire [LANES*F-1:0] sword = sr1_q ? r_rdata_i : lword[st1_q];
    reg [F:0] wkey_c, kv;  integer w;
    always @* begin
        wkey_c = '0;
        for (w = 0; w < LANES; w = w + 1) begin
            kv = {sword[w*F +: F] ^ {F{sword[w*F+F-1]}}, sword[w*F+F-1]};
            if (slv1_q[w] && kv > wkey_c) wkey_c = kv;
        end
    end
    wire [F-1:0] wmax_c = wkey_c[F:1] + F'(wkey_c[0]);  // |v| = (v ^ sign) + sign, once

    // ---------------------------------------------------------------- the pass
    // Starts: a pass after the coefficients (start_i) or on pass_i.
    wire pass_go = scale_go || (state_q == S_IDLE && pass_i && !start_i);
    // Issue state: row i = rblk*P + rlane, in the Lg phase (chunk of banks from tb) or in
    // the MAC phase (block b of columns from cb, column t).
    reg         pass_q, write_q;          // a pass is issuing; it is the write pass
    reg [ROW_W:0]  row_q;
    reg [BO_W-1:0] rblk_q;
    reg [LN_W-1:0] rlane_q;
    reg         lg_phase_q;
    reg [T_W:0]    tb_q;                  // first bank of the Lg chunk
    reg [BI_W-1:0] b_q;
    reg [CB_W-1:0] cb_q, cb1_q, cb2_q;    // first column of block b (issue, stages 1, 2)
    reg [T_W-1:0]  t_q, t1_q;
    // Stage 1 (word arrives, lanes multiply) and stage 2 (accumulate, finish) tokens.
    reg         v1_q, lg1_q, last1_q, rowend1_q;
    reg [T_W:0]    tb1_q;
    reg [LN_W-1:0] lane1_q;
    reg         v2_q, first2_q, last2_q, rowend2_q, lg2_q;
    reg [T_W:0]    tb2_q;
    reg [ROW_W-1:0] row1_q, row2_q;
    reg [LANES-1:0] lv1_q, lv2_q;         // lanes with an element (bank < r, column < N_IN)
    reg signed [LGW-1:0] lg_q [0:R-1];
    reg signed [AC_W-1:0] acc_q [0:LANES-1];
    reg [31:0]         nzacc_q;  // non-zero dk so far; a block's count nz_q joins a cycle later
    reg [CNT_LW-1:0]   nz_q;
    assign nonzero_o = nzacc_q + 32'(nz_q);  // whole at done_o

    // The P lanes, one multiplier each, for the Lg and MAC phases: operands in stage 1, the
    // registered products (lrt_unit's vector lanes, or this block's own) in stage 2.
    reg signed [F-1:0]   ma [0:LANES-1];
    reg signed [LGW-1:0] mb [0:LANES-1];
    wire signed [PR_W-1:0] prod [0:LANES-1];
    integer p;
    always @* begin
        for (p = 0; p < LANES; p = p + 1) begin
            ma[p] = '0;
            mb[p] = '0;
            if (v1_q && lv1_q[p] && lg1_q) begin
                ma[p] = $signed(lane_of(lword[32'(tb1_q) + p], lane1_q));
                mb[p] = LGW'(g_q[32'(tb1_q) + p]);
            end else if (v1_q && lv1_q[p]) begin
                ma[p] = $signed(r_rdata_i[p*F +: F]);
                // A row's Lg_t reach lg_q in stage 2, one cycle after the first MAC needs
                // Lg_0 when the banks fit one word (r <= P): it comes from lane 0's product.
                mb[p] = (lg2_q && tb2_q == '0) ? prod[0][LG_D +: LGW] : lg_q[t1_q];
            end
        end
    end
    generate
        for (gw = 0; gw < LANES; gw = gw + 1) begin : g_lane
            assign lane_x_o[LANES*LGW + gw*F +: F] = ma[gw];
            assign lane_x_o[gw*LGW +: LGW] = mb[gw];
            if (EXT_LANE) begin : g_ext
                assign prod[gw] = $signed(lane_p_i[gw*PR_W +: PR_W]);
            end else begin : g_own
                reg signed [PR_W-1:0] own_q;
                wire unused_p = ^lane_p_i[gw*PR_W +: PR_W];
                always @(posedge clk_i) own_q <= ma[gw] * mb[gw];
                assign prod[gw] = own_q;
            end
        end
    endgenerate
    assign lane_x_o[LANES*(F+LGW)] = v1_q;

    reg signed [AC_W-1:0] sum_c [0:LANES-1];
    reg signed [WB:0]     dk_c  [0:LANES-1];
    reg [CNT_LW-1:0]      nz_c;
    always @* begin
        nz_c = '0;
        for (p = 0; p < LANES; p = p + 1) begin
            sum_c[p] = (first2_q ? AC_W'(0) : acc_q[p]) + AC_W'(prod[p]);
            dk_c[p] = (v2_q && last2_q) ? dk_of(sum_c[p], sh_q) : '0;  // a block's end only
            if (v2_q && last2_q && lv2_q[p] && dk_c[p] != 0) nz_c = nz_c + 1'b1;
        end
    end

    // Memory addresses and the lanes at work (stats count these enables).
    reg [LANES-1:0] lanes_c;
    always @* begin
        l_addr_o = '0;
        l_en_o = '0;
        r_addr_o = '0;
        r_bank_o = '0;
        r_en_o = 1'b0;
        // The lanes that hold an element this cycle: a scanned word's rows of the factor,
        // the Lg banks below r, or a block's columns of the layer.
        for (p = 0; p < LANES; p = p + 1)
            lanes_c[p] = scan_busy_q ? scan_row_q + CB_W'(p) < CB_W'(scan_r_q ? N_IN : N_OUT)
                       : lg_phase_q ? 32'(tb_q) + p < R
                       : cb_q + CB_W'(p) < CB_W'(N_IN);
        macs_o = '0;
        reads_o = '0;
        if (scan_busy_q) begin
            if (scan_r_q) begin
                r_addr_o = BI_W'(scan_b_q);
                r_bank_o = scan_t_q;
                r_en_o = 1'b1;
            end else begin
                l_addr_o = BO_W'(scan_b_q);
                l_en_o[scan_t_q] = 1'b1;
            end
        end else if (pass_q && lg_phase_q) begin
            l_addr_o = rblk_q;
            for (p = 0; p < LANES; p = p + 1)
                if (lanes_c[p]) l_en_o[32'(tb_q) + p] = 1'b1;
        end else if (pass_q) begin
            r_addr_o = b_q;
            r_bank_o = t_q;
            r_en_o = 1'b1;
        end
        // Reads now; multiplies in stage 1, one cycle after the read.
        for (p = 0; p < LANES; p = p + 1) begin
            if ((scan_busy_q || pass_q) && lanes_c[p]) reads_o = reads_o + 1'b1;
            if (v1_q && lv1_q[p]) macs_o = macs_o + 1'b1;
        end
    end

    // The pass pipeline (issue, stage 1, stage 2) and the max-norm scan.
    always @(posedge clk_i) begin
        if (rst_i) begin
            {pass_q, write_q, v1_q, v2_q, lg2_q, row_valid_o} <= '0;
            {nzacc_q, nz_q, scan_busy_q, sv1_q} <= '0;
        end else begin
            row_valid_o <= 1'b0;
            // issue
            {v1_q, lg1_q, tb1_q, t1_q, lane1_q} <= {pass_q, lg_phase_q, tb_q, t_q, rlane_q};
            {cb1_q, lv1_q, row1_q} <= {cb_q, lanes_c, ROW_W'(row_q)};
            last1_q <= !lg_phase_q && t_q == T_W'(R - 1);
            rowend1_q <= !lg_phase_q && t_q == T_W'(R - 1) && b_q == BI_W'(BI - 1);
            if (pass_q) begin
                if (lg_phase_q) begin
                    if (32'(tb_q) + LANES >= R) begin
                        lg_phase_q <= 1'b0;
                        b_q <= '0;
                        cb_q <= '0;
                        t_q <= '0;
                    end
                    tb_q <= tb_q + (T_W+1)'(LANES);
                end else if (t_q != T_W'(R - 1)) begin
                    t_q <= t_q + 1'b1;
                end else begin
                    t_q <= '0;
                    if (b_q != BI_W'(BI - 1)) begin
                        b_q <= b_q + 1'b1;
                        cb_q <= cb_q + CB_W'(LANES);
                    end else begin  // the row is issued: next row, or the pass is
                        lg_phase_q <= 1'b1;
                        tb_q <= '0;
                        row_q <= row_q + 1'b1;
                        if (rlane_q == LN_W'(LANES - 1)) begin
                            rlane_q <= '0;
                            rblk_q <= rblk_q + 1'b1;
                        end else rlane_q <= rlane_q + 1'b1;
                        if (row_q == (ROW_W+1)'(N_OUT - 1)) pass_q <= 1'b0;
                    end
                end
            end
            // stage 1: the lanes multiply
            {v2_q, lg2_q, tb2_q} <= {v1_q && !lg1_q, v1_q && lg1_q, tb1_q};
            {first2_q, last2_q, rowend2_q} <= {t1_q == '0, last1_q, rowend1_q};
            {cb2_q, row2_q, lv2_q} <= {cb1_q, row1_q, lv1_q};
            // stage 2: keep a row's Lg_t; accumulate, a block's last column finishing its P cells
            for (p = 0; p < LANES; p = p + 1)
                if (lg2_q && lv2_q[p]) lg_q[32'(tb2_q) + p] <= prod[p][LG_D +: LGW];
            nzacc_q <= nonzero_o;
            nz_q <= (v2_q && last2_q) ? nz_c : '0;
            if (v2_q) begin
                for (p = 0; p < LANES; p = p + 1) begin
                    acc_q[p] <= sum_c[p];
                    if (last2_q && lv2_q[p])
                        rowbuf_q[32'(cb2_q) + p] <= dk_c[p];
                end
                if (rowend2_q && write_q) begin
                    row_valid_o <= 1'b1;
                    row_o <= row2_q;
                end
            end
            // the max-norm scan: issue, then fold each arriving word into the maxima
            sv1_q <= scan_busy_q;
            sr1_q <= scan_r_q;
            st1_q <= scan_t_q;
            slv1_q <= lanes_c;
            if (scan_busy_q) begin
                if (32'(scan_b_q) != (scan_r_q ? BI : BO) - 1) begin
                    scan_b_q <= scan_b_q + 1'b1;
                    scan_row_q <= scan_row_q + CB_W'(LANES);
                end else begin
                    scan_b_q <= '0;
                    scan_row_q <= '0;
                    if (scan_t_q != T_W'(R - 1)) scan_t_q <= scan_t_q + 1'b1;
                    else begin
                        scan_t_q <= '0;
                        if (scan_r_q) scan_busy_q <= 1'b0;
                        scan_r_q <= 1'b1;
                    end
                end
            end
            if (sv1_q && wmax_c > cmax_q[(sr1_q ? R : 0) + 32'(st1_q)])
                cmax_q[(sr1_q ? R : 0) + 32'(st1_q)] <= wmax_c;
            // starts (from the control FSM below)
            if (pass_go) begin
                pass_q <= 1'b1;
                write_q <= pass_i;
                row_q <= '0;
                rblk_q <= '0;
                rlane_q <= '0;
                lg_phase_q <= 1'b1;
                tb_q <= '0;
                {nzacc_q, nz_q} <= '0;
            end
            if (scan_go) begin
                scan_busy_q <= 1'b1;
                scan_r_q <= 1'b0;
                scan_t_q <= '0;
                scan_b_q <= '0;
                scan_row_q <= '0;
                for (p = 0; p < 2 * R; p = p + 1) cmax_q[p] <= '0;
            end
        end
    end

    // Control: the scale chain then a pass (start_i), or a pass alone (pass_i); the pass
    // is done when its last row leaves stage 2.
    always @(posedge clk_i) begin
        if (rst_i) begin
            state_q <= S_IDLE;
            done_o <= 1'b0;
        end else begin
            done_o <= 1'b0;
            case (state_q)
                S_IDLE: if (start_i) state_q <= S_SCALE;
                        else if (pass_i) state_q <= S_PASS;
                S_SCALE: if (scale_go) state_q <= S_PASS;
                S_PASS: if (v2_q && rowend2_q && row2_q == ROW_W'(N_OUT - 1)) begin
                    state_q <= S_IDLE;
                    done_o <= 1'b1;
                end
                default: state_q <= S_IDLE;
            endcase
        end
    end
endmodule

`resetall
