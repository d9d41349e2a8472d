// Low-rank update unit, UPDATE path: factor storage (L, R, sigma, LFSR, sample count)
// and the per-sample fold: Gram-Schmidt of dy and x (gs_unit), norms and the kappa
// skip (rsqrt), unit directions, core SVD (core_svd), rank reduction (selection, or
// reduce_ok when unbiased), rotation of L and R (rot_unit) and the write-back.
// Specification: docs/hw-spec.md section 5 and the UPDATE rows of section 7; golden
// model pysim/hw/lrt_unit.py:LrtUnit.update. start_i is sampled at a rising edge;
// done_o is high for one cycle after the model's cycle count of that sample.
// The COMMIT datapath is rtl/commit_unit.v (instantiated by the accelerator top).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module lrt_unit #(
    parameter bit EXT_RSQ  = 1'b0,  // use the rsq_* ports: one rsqrt shared by all
    parameter int N_IN     = 64,
    parameter int N_OUT    = 10,
    parameter int RANK     = 4,
    parameter int LANES    = 8,
    parameter int F        = 16,
    parameter int G        = 8,
    parameter int WC       = 24,
    parameter int SWEEPS   = 4,
    parameter int SIG_W    = 64,
    parameter int PASS_OVH = 2
) (
    input  wire                       clk_i,
    input  wire                       rst_i,
    // The shared rsqrt (EXT_RSQ = 1) or this block's own (0, when the block stands alone).
    output wire                        rsq_start_o,
    output wire [127:0]                rsq_t_o,
    input  wire [25:0]                 rsq_y_i,
    input  wire [7:0]                  rsq_e_i,
    input  wire                        rsq_done_i,
    // UPDATE
    input  wire                       start_i,
    input  wire [N_IN*8-1:0]          x_i,         // held while busy
    input  wire [N_OUT*8-1:0]         dy_i,
    input  wire                       mode_i,      // 1: unbiased
    input  wire [15:0]                kappa_q4_i,  // 0: no skip
    output reg                        done_o,
    output reg                        absorbed_o,
    output reg                        folded_o,    // absorbed and not a zero sample
    output reg  [15:0]                rotations_o, // Jacobi rotations of the last sample
    output reg  [3:0]                 k_o,         // unbiased slots of the last sample
    // factor state (READ_LRT, COMMIT)
    input  wire                       clear_i,     // RESET_LRT / after a written COMMIT
    input  wire                       lfsr_load_i,
    input  wire [15:0]                lfsr_seed_i,
    output wire [N_OUT*(RANK+1)*F-1:0] l_o,        // L[i][k] at (i*(RANK+1) + k)*F
    output wire [N_IN*(RANK+1)*F-1:0] r_o,
    output wire [RANK*SIG_W-1:0]      sigma_o,
    output wire [31:0]                pending_o,
    output wire [15:0]                lfsr_o
);
    `include "fixed_fns.vh"
    localparam int Q     = RANK + 1;
    localparam int R     = RANK;
    localparam int BO    = (N_OUT + LANES - 1) / LANES;
    localparam int BI    = (N_IN + LANES - 1) / LANES;
    localparam int T_DY  = (2 * R + 1) * (BO + PASS_OVH);
    localparam int T_X   = (2 * R + 1) * (BI + PASS_OVH);
    localparam int T_NRM = BO + BI + 2 * PASS_OVH;
    localparam int RES_O = 8 + G + ($clog2(N_OUT) + 1) / 2 + 2;
    localparam int RES_I = 8 + G + ($clog2(N_IN) + 1) / 2 + 2;


    function automatic signed [F-1:0] sat_f(input signed [127:0] a);
        sat_f = F'(sat(a, F));
    endfunction

    // ---------------------------------------------------------------- state
    reg [N_OUT*Q*F-1:0] l_q;
    reg [N_IN*Q*F-1:0]  r_q;
    reg [R*SIG_W-1:0]   sigma_q;
    reg [31:0]          pending_q;
    reg [15:0]          lfsr_q;
    assign l_o = l_q;
    assign r_o = r_q;
    assign sigma_o = sigma_q;
    assign pending_o = pending_q;
    assign lfsr_o = lfsr_q;

    // The first r columns, in the sub-blocks' (i*RANK + j) layout.
    wire [N_OUT*R*F-1:0] l_r;
    wire [N_IN*R*F-1:0]  r_r;
    genvar gi, gj;
    generate
        for (gi = 0; gi < N_OUT; gi = gi + 1) begin : g_lr
            for (gj = 0; gj < R; gj = gj + 1) begin : g_c
                assign l_r[(gi*R + gj)*F +: F] = l_q[(gi*Q + gj)*F +: F];
            end
        end
        for (gi = 0; gi < N_IN; gi = gi + 1) begin : g_rr
            for (gj = 0; gj < R; gj = gj + 1) begin : g_c
                assign r_r[(gi*R + gj)*F +: F] = r_q[(gi*Q + gj)*F +: F];
            end
        end
    endgenerate

    // ---------------------------------------------------------------- sub-blocks
    localparam logic [2:0] S_IDLE = 3'd0, S_GS = 3'd1, S_NRM = 3'd2, S_SVD = 3'd3,
                           S_RED = 3'd4, S_ROT = 3'd5;
    reg [2:0]  state_q;
    reg [15:0] t_q;         // edges since the phase began
    reg        mode_q;

    wire gs_dy_start = state_q == S_IDLE && start_i;
    wire gs_x_start  = state_q == S_GS && t_q == 16'(T_DY);
    wire [R*40-1:0]      cl, cr;
    wire [N_OUT*RES_O-1:0] res_l;
    wire [N_IN*RES_I-1:0]  res_r;
    wire [63:0]          n2l, n2r;
    // The schedule is counted (docs/hw-spec.md §7), so these handshakes go unread.
    wire                 unused_gs_dy_done, unused_gs_x_done;
    gs_unit #(.N(N_OUT), .RANK(R), .LANES(LANES), .F(F), .G(G), .PASS_OVH(PASS_OVH),
              .CW(40), .RES_W(RES_O)) u_gs_dy (
        .clk_i(clk_i), .rst_i(rst_i), .start_i(gs_dy_start), .v_i(dy_i), .q_i(l_r),
        .coef_o(cl), .res_o(res_l), .norm2_o(n2l), .done_o(unused_gs_dy_done));
    gs_unit #(.N(N_IN), .RANK(R), .LANES(LANES), .F(F), .G(G), .PASS_OVH(PASS_OVH),
              .CW(40), .RES_W(RES_I)) u_gs_x (
        .clk_i(clk_i), .rst_i(rst_i), .start_i(gs_x_start), .v_i(x_i), .q_i(r_r),
        .coef_o(cr), .res_o(res_r), .norm2_o(n2r), .done_o(unused_gs_x_done));

    // One rsqrt for the norms, core_svd and reduce_ok (their requests never overlap; a
    // block that is not asking drives zeros); with EXT_RSQ the unit is accel_top's.
    wire        svd_rsq_start, red_rsq_start;
    wire [127:0] svd_rsq_t, red_rsq_t;
    reg         norm_rsq_start;
    reg [127:0] norm_rsq_t;
    wire        rsq_start = norm_rsq_start | svd_rsq_start | red_rsq_start;
    wire [127:0] rsq_t = norm_rsq_t | svd_rsq_t | red_rsq_t;
    wire [25:0] rsq_y;
    wire [7:0]  rsq_e;
    wire        rsq_done;
    assign rsq_start_o = rsq_start;
    assign rsq_t_o = rsq_t;
    rsqrt_share #(.EXT(EXT_RSQ), .TW(128)) u_rsqrt (
        .clk_i(clk_i), .rst_i(rst_i), .start_i(rsq_start), .t_i(rsq_t), .y_o(rsq_y),
        .e_o(rsq_e), .done_o(rsq_done), .ext_y_i(rsq_y_i), .ext_e_i(rsq_e_i),
        .ext_done_i(rsq_done_i));
    // Norms: rsqrt(|res_dy|^2) runs during the x side's passes.
    always @* begin
        norm_rsq_start = 1'b0;
        norm_rsq_t = '0;
        if (state_q == S_GS && t_q == 16'(T_DY + 1)) begin
            norm_rsq_start = 1'b1;
            norm_rsq_t = 128'(n2l);
        end else if (state_q == S_GS && t_q == 16'(T_DY + T_X + 1)) begin
            norm_rsq_start = 1'b1;
            norm_rsq_t = 128'(n2r);
        end
    end
    reg [25:0] yl_q;
    reg [7:0]  el_q;
    reg [31:0]  nl_q;  // norms < 2^31 for every legal N (7 + G + log2(N)/2 bits)
    wire [31:0]  nl_c = 32'(rne(128'(n2l) * 128'(rsq_y), 32'(rsq_e)));
    wire [127:0] nr_c = 128'(rne(128'(n2r) * 128'(rsq_y), 32'(rsq_e)));
    wire skip_c = kappa_q4_i != 0 &&
                  ((128'(sigma_q[0 +: SIG_W]) << 4) > 128'(kappa_q4_i) * 128'(nl_q) * nr_c);
    wire zero_c = (n2l == 0 && cl == '0) || (n2r == 0 && cr == '0);

    // Core SVD on a = [c_l, n_l], b = [c_r, n_r].
    reg  [31:0]  nr_q;
    wire [Q*32-1:0] a_core, b_core;
    generate
        for (gj = 0; gj < R; gj = gj + 1) begin : g_ab
            assign a_core[gj*32 +: 32] = 32'(cl[gj*40 +: 40]);
            assign b_core[gj*32 +: 32] = 32'(cr[gj*40 +: 40]);
        end
    endgenerate
    assign a_core[R*32 +: 32] = 32'(nl_q);
    assign b_core[R*32 +: 32] = 32'(nr_q);
    wire svd_start = state_q == S_NRM && t_q == 16'(T_NRM);
    wire [7:0]  svd_e;
    wire [Q*32-1:0] svd_sig;
    wire [Q*Q*24-1:0] svd_u, svd_v;
    wire [Q*4-1:0]  svd_order;
    wire [15:0] svd_rot;
    wire svd_done;
    core_svd #(.EXT_RSQ(1'b1), .RANK(R), .LANES(LANES), .WC(WC), .SWEEPS(SWEEPS),
               .CIN_W(32), .SIG_W(SIG_W)) u_svd (
        .clk_i(clk_i), .rst_i(rst_i), .rsq_start_o(svd_rsq_start), .rsq_t_o(svd_rsq_t),
        .rsq_y_i(rsq_y), .rsq_e_i(rsq_e), .rsq_done_i(rsq_done), .start_i(svd_start), .a_i(a_core), .b_i(b_core),
        .sigma_i(sigma_q), .done_o(svd_done), .e_o(svd_e), .sig_o(svd_sig), .u_o(svd_u),
        .v_o(svd_v), .order_o(svd_order), .rotations_o(svd_rot));

    // Unbiased reduction.
    wire red_start = state_q == S_SVD && svd_done && mode_q;
    wire [Q*R*24-1:0] red_tl, red_tr;
    wire [R*40-1:0] red_sig;
    wire [15:0] red_lfsr;
    wire [3:0]  red_k;
    wire red_done;
    reduce_ok #(.EXT_RSQ(1'b1), .RANK(R), .LANES(LANES)) u_red (
        .clk_i(clk_i), .rst_i(rst_i), .rsq_start_o(red_rsq_start), .rsq_t_o(red_rsq_t),
        .rsq_y_i(rsq_y), .rsq_e_i(rsq_e), .rsq_done_i(rsq_done), .start_i(red_start), .sig_i(svd_sig),
        .order_i(svd_order), .u_i(svd_u), .v_i(svd_v), .lfsr_i(lfsr_q), .tl_o(red_tl),
        .tr_o(red_tr), .sig_o(red_sig), .lfsr_o(red_lfsr), .k_o(red_k), .done_o(red_done));

    // Biased reduction: the r largest columns of U and V, in sorted order.
    wire [Q*R*24-1:0] sel_tl, sel_tr;
    wire [R*40-1:0]   sel_sig;
    generate
        for (gi = 0; gi < Q; gi = gi + 1) begin : g_sel
            for (gj = 0; gj < R; gj = gj + 1) begin : g_t
                assign sel_tl[(gi*R + gj)*24 +: 24] =
                    svd_u[(gi*Q + 32'(svd_order[gj*4 +: 4]))*24 +: 24];
                assign sel_tr[(gi*R + gj)*24 +: 24] =
                    svd_v[(gi*Q + 32'(svd_order[gj*4 +: 4]))*24 +: 24];
            end
        end
        for (gj = 0; gj < R; gj = gj + 1) begin : g_ss
            assign sel_sig[gj*40 +: 40] = 40'(svd_sig[32'(svd_order[gj*4 +: 4])*32 +: 32]);
        end
    endgenerate

    // Rotation of L then R with the chosen T.
    reg  [Q*R*24-1:0] tr_q;
    reg  [R*40-1:0]   newsig_q;
    localparam int T_RL = R * Q * BO + PASS_OVH;
    wire rot_l_start = (state_q == S_SVD && svd_done && !mode_q) ||
                       (state_q == S_RED && red_done);
    wire rot_r_start = state_q == S_ROT && t_q == 16'(T_RL);
    wire [N_OUT*R*F-1:0] rot_l_q;
    wire [N_IN*R*F-1:0]  rot_r_q;
    wire unused_rot_l_done, rot_r_done;
    rot_unit #(.N(N_OUT), .RANK(R), .LANES(LANES), .F(F), .PASS_OVH(PASS_OVH)) u_rot_l (
        .clk_i(clk_i), .rst_i(rst_i), .start_i(rot_l_start), .q_i(l_q),
        .t_i(mode_q ? red_tl : sel_tl), .q_o(rot_l_q), .done_o(unused_rot_l_done));
    rot_unit #(.N(N_IN), .RANK(R), .LANES(LANES), .F(F), .PASS_OVH(PASS_OVH)) u_rot_r (
        .clk_i(clk_i), .rst_i(rst_i), .start_i(rot_r_start), .q_i(r_q), .t_i(tr_q),
        .q_o(rot_r_q), .done_o(rot_r_done));

    // Unit directions of the residuals (the normalise pass).
    reg [N_OUT*F-1:0] ul_c;
    reg [N_IN*F-1:0]  ur_c;
    integer i;
    always @* begin
        for (i = 0; i < N_OUT; i = i + 1)
            ul_c[i*F +: F] = sat_f(rne(128'($signed(res_l[i*RES_O +: RES_O])) * 128'(yl_q),
                                       32'(el_q) - (F - 1)));
        for (i = 0; i < N_IN; i = i + 1)
            ur_c[i*F +: F] = sat_f(rne(128'($signed(res_r[i*RES_I +: RES_I])) * 128'(rsq_y),
                                       32'(rsq_e) - (F - 1)));
    end

    // sigma_t = usat((value_t << E), SIG_W)
    reg [R*SIG_W-1:0] sig_new_c;
    reg [127:0] sv;
    always @* begin
        for (i = 0; i < R; i = i + 1) begin
            sv = 128'(newsig_q[i*40 +: 40]) << svd_e;
            sig_new_c[i*SIG_W +: SIG_W] = (sv >> SIG_W) != 0 ? {SIG_W{1'b1}} : SIG_W'(sv);
        end
    end

    integer x, t;
    always @(posedge clk_i) begin
        if (rst_i) begin
            state_q <= S_IDLE;
            t_q <= '0;
            done_o <= 1'b0;
            absorbed_o <= 1'b0;
            folded_o <= 1'b0;
            rotations_o <= '0;
            k_o <= '0;
            l_q <= '0;
            r_q <= '0;
            sigma_q <= '0;
            pending_q <= '0;
            lfsr_q <= 16'hACE1;
            mode_q <= 1'b0;
            yl_q <= '0;
            el_q <= '0;
            nl_q <= '0;
            nr_q <= '0;
            tr_q <= '0;
            newsig_q <= '0;
        end else begin
            done_o <= 1'b0;
            if (lfsr_load_i) lfsr_q <= lfsr_seed_i;
            case (state_q)
                S_IDLE: begin
                    if (clear_i) begin
                        l_q <= '0;
                        r_q <= '0;
                        sigma_q <= '0;
                        pending_q <= '0;
                    end else if (start_i) begin
                        pending_q <= pending_q + 1'b1;
                        mode_q <= mode_i;
                        rotations_o <= '0;
                        k_o <= '0;
                        state_q <= S_GS;
                        t_q <= 16'd1;
                    end
                end
                S_GS: begin
                    t_q <= t_q + 1'b1;
                    if (t_q == 16'(T_DY + T_X + 1)) begin  // rsqrt(n2r) starts; keep y_l
                        yl_q <= rsq_y;
                        el_q <= rsq_e;
                        nl_q <= nl_c;
                    end
                    if (t_q == 16'(T_DY + T_X + 7)) begin  // x norm, kappa, zero sample
                        nr_q <= 32'(nr_c);
                        absorbed_o <= !skip_c;
                        folded_o <= !skip_c && !zero_c;
                        if (skip_c || zero_c) begin
                            done_o <= 1'b1;
                            state_q <= S_IDLE;
                        end else begin
                            state_q <= S_NRM;
                            t_q <= 16'd1;
                        end
                    end
                end
                S_NRM: begin
                    if (t_q == 16'd1) begin
                        for (x = 0; x < N_OUT; x = x + 1) l_q[(x*Q + R)*F +: F] <= ul_c[x*F +: F];
                        for (x = 0; x < N_IN; x = x + 1) r_q[(x*Q + R)*F +: F] <= ur_c[x*F +: F];
                    end
                    t_q <= t_q + 1'b1;
                    if (t_q == 16'(T_NRM)) state_q <= S_SVD;  // core SVD starts here
                end
                S_SVD: if (svd_done) begin
                    rotations_o <= svd_rot;
                    if (mode_q) begin
                        state_q <= S_RED;
                    end else begin
                        tr_q <= sel_tr;
                        newsig_q <= sel_sig;
                        state_q <= S_ROT;
                        t_q <= 16'd1;
                    end
                end
                S_RED: if (red_done) begin
                    tr_q <= red_tr;
                    newsig_q <= red_sig;
                    lfsr_q <= red_lfsr;
                    k_o <= red_k;
                    state_q <= S_ROT;
                    t_q <= 16'd1;
                end
                S_ROT: begin
                    t_q <= t_q + 1'b1;
                    if (rot_r_done) begin  // write-back in the edge that sees R rotated
                        for (x = 0; x < N_OUT; x = x + 1)
                            for (t = 0; t < R; t = t + 1)
                                l_q[(x*Q + t)*F +: F] <= rot_l_q[(x*R + t)*F +: F];
                        for (x = 0; x < N_IN; x = x + 1)
                            for (t = 0; t < R; t = t + 1)
                                r_q[(x*Q + t)*F +: F] <= rot_r_q[(x*R + t)*F +: F];
                        sigma_q <= sig_new_c;
                        done_o <= 1'b1;
                        state_q <= S_IDLE;
                    end
                end
                default: state_q <= S_IDLE;
            endcase
        end
    end
endmodule

`resetall
