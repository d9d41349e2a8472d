// Low-rank update unit, UPDATE path: the factor memories (factor_mem), sigma, LFSR and
// sample count (sigma, count and the banks' regions per layer slot, addressed by layer_i;
// one LFSR), and the per-sample fold: Gram-Schmidt of dy and x, norms and the kappa
// skip, unit directions and the rotation of L and R on the vector unit (vec_unit), the
// core on core_svd and the reduction (selection, or reduce_ok when unbiased).
// Specification: docs/hw-spec.md sections 5-6 and the UPDATE rows of section 7; golden
// model pysim/hw/lrt_unit.py:LrtUnit.update. start_i is sampled at a rising edge; done_o
// is high for one cycle after the model's cycle count of that sample. Between UPDATEs
// the banks answer the l_*/r_* read ports (COMMIT, READ_LRT); busy_o while they clear.
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
    parameter int LAYERS   = 1,
    parameter int LGW      = 27,  // COMMIT's lane operand b (commit_unit)
    // derived: port widths
    parameter int Q        = RANK + 1,
    parameter int BO       = (N_OUT + LANES - 1) / LANES,
    parameter int BI       = (N_IN + LANES - 1) / LANES,
    parameter int BO_W     = (BO > 1) ? $clog2(BO) : 1,
    parameter int BI_W     = (BI > 1) ? $clog2(BI) : 1,
    parameter int CNT_W    = $clog2(Q * LANES + 1),
    parameter int LY_W     = (LAYERS > 1) ? $clog2(LAYERS) : 1
) (
    input  wire                       clk_i,
    input  wire                       rst_i,
    input  wire [LY_W-1:0]            layer_i,     // the slot; held during a command
    // The shared rsqrt (EXT_RSQ = 1) or this block's own (0, when the block stands alone).
    output wire                        rsq_start_o,
    output wire [127:0]                rsq_t_o,
    input  wire [25:0]                 rsq_y_i,
    input  wire [7:0]                  rsq_e_i,
    input  wire                        rsq_done_i,
    // The scalar unit (multipliers, stage-2 rounding) and vector lanes lent to COMMIT
    // (zero requests when idle).
    input  wire [135:0]                smul_x_i,
    output wire [129:0]                smul_p_o,
    input  wire [8:0]                  s2_x_i,
    output wire [96:0]                 s2_q_o,
    input  wire [LANES*(F+LGW):0]      lane_x_i,
    output wire [LANES*(F+LGW)-1:0]    lane_p_o,
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
    output wire [CNT_W-1:0]           macs_o,      // vector lanes multiplying this cycle
    output wire [CNT_W-1:0]           reads_o,     // factor elements read
    output wire [CNT_W-1:0]           writes_o,    // factor elements written
    // factor state
    input  wire                       clear_i,     // RESET_LRT / after a written COMMIT
    output wire                       busy_o,      // clearing the memories
    input  wire                       lfsr_load_i,
    input  wire [15:0]                lfsr_seed_i,
    input  wire [BO_W-1:0]            l_addr_i,    // COMMIT, READ_LRT (no UPDATE running)
    input  wire [Q-1:0]               l_en_i,
    output wire [Q*LANES*F-1:0]       l_rdata_o,   // bank k's word at k*LANES*F
    input  wire [BI_W-1:0]            r_addr_i,
    input  wire [Q-1:0]               r_en_i,
    output wire [Q*LANES*F-1:0]       r_rdata_o,
    output wire [RANK*SIG_W-1:0]      sigma_o,
    output wire [31:0]                pending_o,   // the slot's samples since its clear
    output wire                       locked_o,    // some slot has samples pending
    output wire [15:0]                lfsr_o
);
    localparam int R     = RANK;
    localparam int P     = LANES;
    localparam int OVH   = 2;   // the vector unit's pipeline drain (docs/hw-spec.md §7)
    localparam int T_DY  = (2 * R + 1) * (BO + OVH);
    localparam int T_X   = (2 * R + 1) * (BI + OVH);
    localparam int TN    = T_DY + T_X;  // the x side's passes end
    localparam int T_NRM = BO + BI + 2 * OVH;
    localparam int T_RL  = R * Q * BO + OVH;
    localparam int FAW   = ((BO > BI ? BO : BI) > 1) ? $clog2(BO > BI ? BO : BI) : 1;
    localparam logic [1:0] OP_GS = 2'd0, OP_NRM = 2'd1, OP_ROT = 2'd2;
    `include "fixed_fns.vh"
    `include "scalar_fns.vh"

    // ---------------------------------------------------------------- state
    reg [31:0]          pending_q [0:LAYERS-1];
    reg [15:0]          lfsr_q;
    wire [R*SIG_W-1:0]  sigma;          // the slot's sigma, one array per value (below)
    reg                 locked_c;
    integer li;
    always @* begin
        locked_c = 1'b0;
        for (li = 0; li < LAYERS; li = li + 1) locked_c = locked_c || pending_q[li] != 0;
    end
    assign {sigma_o, pending_o, locked_o, lfsr_o} = {sigma, pending_q[layer_i], locked_c, lfsr_q};
    localparam logic [2:0] S_IDLE = 3'd0, S_GS = 3'd1, S_NRM = 3'd2, S_SVD = 3'd3,
                           S_RED = 3'd4, S_ROT = 3'd5;
    reg [2:0]  state_q;
    reg [15:0] t_q;         // edges since the phase began
    reg        mode_q;
    wire       upd = state_q != S_IDLE;

    // ---------------------------------------------------------------- vector unit
    wire        vec_start, vec_side;
    wire [1:0]  vec_op;
    reg  [25:0] vy_q;  reg [7:0] ve_q;  // the normalise pass's rsqrt: y * 2^-e
    wire [Q*R*24-1:0] red_tl, red_tr;  // T_L, T_R: reduce_ok's registers (both modes)
    reg         rot_side_q;
    wire        v_en, v_side;
    wire [FAW-1:0] v_addr;
    reg  [P*8-1:0] v_rdata_q;
    wire        f_side, f_wside;
    wire [FAW-1:0] f_addr, f_waddr;
    wire [Q-1:0]   f_ren, f_wen;
    wire [P*F-1:0] f_wdata;
    wire [R*32-1:0] cl, cr;   // Gram-Schmidt coefficients, as the core takes them
    wire [63:0] n2l, n2r;
    wire        vec_done;
    vec_unit #(.N_IN(N_IN), .N_OUT(N_OUT), .RANK(R), .LANES(P), .F(F), .G(G), .LGW(LGW)) u_vec (
        .clk_i(clk_i), .rst_i(rst_i), .start_i(vec_start), .op_i(vec_op), .side_i(vec_side),
        .y_i(vy_q), .e_i(ve_q), .t_i(rot_side_q ? red_tr : red_tl),
        .v_en_o(v_en), .v_side_o(v_side), .v_addr_o(v_addr), .v_rdata_i(v_rdata_q),
        .f_side_o(f_side), .f_addr_o(f_addr), .f_ren_o(f_ren), .l_rdata_i(l_rdata_o),
        .r_rdata_i(r_rdata_o), .f_wside_o(f_wside), .f_waddr_o(f_waddr), .f_wen_o(f_wen),
        .f_wdata_o(f_wdata), .cl_o(cl), .cr_o(cr), .n2l_o(n2l), .n2r_o(n2r),
        .macs_o(macs_o), .reads_o(reads_o), .writes_o(writes_o), .done_o(vec_done),
        .x_lane_i(lane_x_i), .p_lane_o(lane_p_o));

    // The sample as a memory of LANES-element words (the command buffer's read port),
    // zero past its end.
    localparam int XPW = BI * P * 8, DPW = BO * P * 8;
    wire [XPW-1:0] x_pad = XPW'(x_i);
    wire [DPW-1:0] dy_pad = DPW'(dy_i);
    wire [P*8-1:0] x_w [0:BI-1];
    wire [P*8-1:0] dy_w [0:BO-1];
    genvar gw;
    generate
        for (gw = 0; gw < BI; gw = gw + 1) begin : g_xw assign x_w[gw] = x_pad[gw*P*8 +: P*8]; end
        for (gw = 0; gw < BO; gw = gw + 1) begin : g_dw assign dy_w[gw] = dy_pad[gw*P*8 +: P*8]; end
    endgenerate
    always @(posedge clk_i)
        if (v_en) v_rdata_q <= v_side ? x_w[v_addr[BI_W-1:0]] : dy_w[v_addr[BO_W-1:0]];

    // ---------------------------------------------------------------- factor memories
    factor_mem #(.N_IN(N_IN), .N_OUT(N_OUT), .RANK(R), .LANES(P), .F(F),
                 .LAYERS(LAYERS)) u_mem (
        .clk_i(clk_i), .rst_i(rst_i), .layer_i(layer_i), .clear_i(clear_i && state_q == S_IDLE),
        .busy_o(busy_o), .upd_i(upd), .f_side_i(f_side), .f_addr_i(f_addr), .f_ren_i(f_ren),
        .f_wside_i(f_wside), .f_waddr_i(f_waddr), .f_wen_i(f_wen), .f_wdata_i(f_wdata),
        .l_addr_i(l_addr_i), .l_en_i(l_en_i), .r_addr_i(r_addr_i), .r_en_i(r_en_i),
        .l_rdata_o(l_rdata_o), .r_rdata_o(r_rdata_o));

    // ---------------------------------------------------------------- norms, kappa
    // One rsqrt for the norms, core_svd and reduce_ok (their requests never overlap; a
    // block that is not asking drives zeros); with EXT_RSQ the unit is accel_top's.
    wire        svd_rsq_start, red_rsq_start;
    wire [127:0] svd_rsq_t, red_rsq_t;
    reg         norm_rsq_start;
    reg [127:0] norm_rsq_t;
    assign rsq_start_o = norm_rsq_start | svd_rsq_start | red_rsq_start;
    assign rsq_t_o = norm_rsq_t | svd_rsq_t | red_rsq_t;
    wire [25:0] rsq_y;  wire [7:0] rsq_e;  wire rsq_done;
    rsqrt_share #(.EXT(EXT_RSQ), .TW(128)) u_rsqrt (
        .clk_i(clk_i), .rst_i(rst_i), .start_i(rsq_start_o), .t_i(rsq_t_o), .y_o(rsq_y),
        .e_o(rsq_e), .done_o(rsq_done), .ext_y_i(rsq_y_i), .ext_e_i(rsq_e_i),
        .ext_done_i(rsq_done_i));
    // rsqrt(|res_dy|^2) runs during the x side's passes.
    always @* begin
        {norm_rsq_start, norm_rsq_t} = '0;
        if (state_q == S_GS && t_q == 16'(T_DY + 1))
            {norm_rsq_start, norm_rsq_t} = {1'b1, 128'(n2l)};
        if (state_q == S_GS && t_q == 16'(TN + 1))
            {norm_rsq_start, norm_rsq_t} = {1'b1, 128'(n2r)};
    end
    reg [25:0] yl_q, yr_q;  reg [7:0] el_q, er_q;
    reg [31:0] nl_q, nr_q;  // norms < 2^31 for every legal N (7 + G + log2(N)/2 bits)
    reg [47:0] kn_q;        // KAPPA_Q4 * n_l

    // ---------------------------------------------------------------- scalar unit
    // Two 32x32 multipliers shared by the norms and kappa test (below), core_svd, reduce_ok
    // and COMMIT's scale chain, which never issue in the same cycle: idle clients drive 0.
    localparam int OW = 34;
    wire [135:0] svd_mul_x, red_mul_x;
    reg  [135:0] nrm_mul_x;
    wire [135:0] mul_x = nrm_mul_x | svd_mul_x | red_mul_x | smul_x_i;
    wire signed [64:0] pa, pb;
    assign smul_p_o = {pa, pb};
    scalar_mul #(.EXT(1'b0), .OW(OW)) u_mul (
        .clk_i(clk_i), .rst_i(rst_i), .xa_i(mul_x[135:102]), .ya_i(mul_x[101:68]),
        .xb_i(mul_x[67:34]), .yb_i(mul_x[33:0]), .pa_o(pa), .pb_o(pb),
        .ext_pa_i(65'sd0), .ext_pb_i(65'sd0));
    // The norms and the kappa test in RSQ + 5 cycles after the passes (docs/hw-spec.md
    // section 7): at TN+1 the dy norm's rsqrt has answered (the x norm's starts): n2l's
    // halves times y_l; TN+2 n_l rounds; TN+3 KAPPA_Q4 n_l; TN+4 it is kept; TN+7 the x
    // norm's answer: n2r's halves times y_r; TN+8 n_r rounds; TN+9 KAPPA_Q4 n_l n_r from
    // kn's halves; TN+10 the test.
    always @* begin
        nrm_mul_x = '0;
        if (state_q == S_GS)
            case (t_q)
                16'(TN + 1), 16'(TN + 7): nrm_mul_x = {
                    OW'(t_q == 16'(TN + 1) ? n2l[31:0] : n2r[31:0]), OW'(rsq_y),
                    OW'(t_q == 16'(TN + 1) ? n2l[63:32] : n2r[63:32]), OW'(rsq_y)};
                16'(TN + 3): nrm_mul_x = {OW'(kappa_q4_i), OW'(nl_q), 68'd0};
                16'(TN + 9): nrm_mul_x = {OW'(kn_q[31:0]), OW'(nr_q), OW'(kn_q[47:32]),
                                          OW'(nr_q)};
                default: ;
            endcase
    end
    // n_l, n_r (by their rsqrt's exponent) and the kappa test's sum of a value's two
    // half-products (halves) on core_svd's stage 2, idle here; requested from a register
    reg  [8:0]  nrm_s2_q;
    wire [8:0]  red_s2_x;
    wire [31:0] n_c = s2_q_o[31:0] + {31'd0, s2_q_o[96]};
    // sigma_0 * 2^4 > halves: halves' bits above SIG_W + 4 are zero and sigma_0 > its bits
    // from 4 up (the shifted-in zeros cannot be greater), a SIG_W-bit compare
    wire skip_c = kappa_q4_i != 0 && s2_q_o[95:SIG_W+4] == 0
                  && sigma[0 +: SIG_W] > s2_q_o[SIG_W+3:4];
    wire zero_c = (n2l == 0 && cl == '0) || (n2r == 0 && cr == '0);

    // ---------------------------------------------------------------- core SVD
    wire [Q*32-1:0] a_core = {32'(nl_q), cl}, b_core = {32'(nr_q), cr};
    wire svd_start = state_q == S_NRM && t_q == 16'(T_NRM);
    wire [7:0]  svd_e;
    wire [Q*32-1:0] svd_sig;
    wire [Q*Q*24-1:0] svd_u, svd_v;
    wire [Q*4-1:0]  svd_order;  wire [15:0] svd_rot;  wire svd_done;
    core_svd #(.EXT_RSQ(1'b1), .EXT_MUL(1'b1), .RANK(R), .WC(WC), .SWEEPS(SWEEPS),
               .CIN_W(32), .SIG_W(SIG_W)) u_svd (
        .clk_i(clk_i), .rst_i(rst_i), .rsq_start_o(svd_rsq_start), .rsq_t_o(svd_rsq_t),
        .rsq_y_i(rsq_y), .rsq_e_i(rsq_e), .rsq_done_i(rsq_done), .smul_x_o(svd_mul_x),
        .smul_p_i({pa, pb}), .s2_x_i(nrm_s2_q | red_s2_x | s2_x_i), .s2_q_o(s2_q_o),
        .start_i(svd_start), .a_i(a_core), .b_i(b_core),
        .sigma_i(sigma), .done_o(svd_done), .e_o(svd_e), .sig_o(svd_sig), .u_o(svd_u),
        .v_o(svd_v), .order_o(svd_order), .rotations_o(svd_rot));

    // Unbiased reduction.
    wire red_start = state_q == S_SVD && svd_done && mode_q;
    wire red_load = state_q == S_SVD && svd_done && !mode_q;  // biased: the r largest
    wire [R*40-1:0] red_sig;
    wire [15:0] red_lfsr;
    wire [3:0]  red_k;
    wire        red_done;
    reduce_ok #(.EXT_RSQ(1'b1), .EXT_MUL(1'b1), .RANK(R)) u_red (
        .clk_i(clk_i), .rst_i(rst_i), .rsq_start_o(red_rsq_start), .rsq_t_o(red_rsq_t),
        .rsq_y_i(rsq_y), .rsq_e_i(rsq_e), .rsq_done_i(rsq_done), .smul_x_o(red_mul_x),
        .smul_p_i({pa, pb}), .s2_x_o(red_s2_x), .s2_q_i(s2_q_o), .start_i(red_start),
        .load_i(red_load),
        .sig_i(svd_sig), .order_i(svd_order),
        .u_i(svd_u), .v_i(svd_v), .lfsr_i(lfsr_q),
        .tl_o(red_tl), .tr_o(red_tr), .sig_o(red_sig), .lfsr_o(red_lfsr), .k_o(red_k),
        .done_o(red_done));

    // sigma_t = usat(value_t << E, SIG_W), one value a cycle in S_ROT's first r cycles
    // (t_q = t + 1): the shift keeps SIG_W bits, and the value saturates when its bit
    // length plus E passes SIG_W (one shifter, no wider one).
    localparam int SL_W = (R > 1) ? $clog2(R) : 1;
    wire [SL_W-1:0] sl = SL_W'(t_q - 1'b1);
    reg  [39:0] nv;
    integer i;
    always @* begin
        nv = '0;
        for (i = 0; i < R; i = i + 1) if (sl == SL_W'(i)) nv = red_sig[i*40 +: 40];
    end
    wire [SIG_W-1:0] sig_new_c = (9'(bitlen96(96'(nv))) + 9'(svd_e) > 9'(SIG_W))
                               ? {SIG_W{1'b1}} : SIG_W'(nv) << svd_e;
    wire sig_we = state_q == S_ROT && t_q != 0 && t_q <= 16'(R);
    wire sig_clr = state_q == S_IDLE && clear_i;
    genvar gs;
    generate
        for (gs = 0; gs < R; gs = gs + 1) begin : g_sigma
            reg [SIG_W-1:0] sg_q [0:LAYERS-1];
            integer lj;
            always @(posedge clk_i)
                if (rst_i) for (lj = 0; lj < LAYERS; lj = lj + 1) sg_q[lj] <= '0;
                else if (sig_clr || (sig_we && sl == SL_W'(gs)))
                    sg_q[layer_i] <= sig_clr ? '0 : sig_new_c;
            assign sigma[gs*SIG_W +: SIG_W] = sg_q[layer_i];
        end
    endgenerate

    // ---------------------------------------------------------------- sequencing
    wire rot_start = (state_q == S_SVD && svd_done && !mode_q) ||
                     (state_q == S_RED && red_done);
    wire gs_exit = state_q == S_GS && t_q == 16'(TN + 10);
    // The vector unit's runs: GS of dy, then of x; normalise L, then R; rotate L, then R.
    wire st_gs_x  = state_q == S_GS && t_q == 16'(T_DY);
    wire st_nrm_l = gs_exit && !skip_c && !zero_c;
    wire st_nrm_r = state_q == S_NRM && t_q == 16'(BO + OVH);
    wire st_rot_r = state_q == S_ROT && t_q == 16'(T_RL);
    assign vec_start = (state_q == S_IDLE && start_i && !clear_i) || st_gs_x || st_nrm_l ||
                       st_nrm_r || rot_start || st_rot_r;
    assign vec_op = (st_nrm_l || st_nrm_r) ? OP_NRM : (rot_start || st_rot_r) ? OP_ROT : OP_GS;
    assign vec_side = st_gs_x || st_nrm_r || st_rot_r;

    always @(posedge clk_i) begin
        if (rst_i) begin
            {state_q, t_q, done_o, absorbed_o, folded_o, rotations_o, k_o, mode_q} <= '0;
            for (li = 0; li < LAYERS; li = li + 1) pending_q[li] <= '0;
            lfsr_q <= 16'hACE1;
            {yl_q, el_q, yr_q, er_q, nl_q, nr_q, kn_q, vy_q, ve_q, rot_side_q, nrm_s2_q} <= '0;
        end else begin
            {done_o, nrm_s2_q} <= '0;
            if (lfsr_load_i) lfsr_q <= lfsr_seed_i;
            case (state_q)
                S_IDLE: begin
                    if (clear_i) begin  // factor_mem writes the zeros
                        pending_q[layer_i] <= '0;
                    end else if (start_i) begin
                        pending_q[layer_i] <= pending_q[layer_i] + 1'b1;
                        mode_q <= mode_i;
                        rotations_o <= '0;
                        k_o <= '0;
                        state_q <= S_GS;
                        t_q <= 16'd1;
                    end
                end
                S_GS: begin
                    t_q <= t_q + 1'b1;
                    if (t_q == 16'(TN + 1))  // rsqrt(n2r) starts
                        {yl_q, el_q, nrm_s2_q} <= {rsq_y, rsq_e, 2'b11, rsq_e[6:0]};
                    if (t_q == 16'(TN + 2)) nl_q <= n_c;
                    if (t_q == 16'(TN + 4)) kn_q <= 48'(pa);
                    if (t_q == 16'(TN + 7))
                        {yr_q, er_q, nrm_s2_q} <= {rsq_y, rsq_e, 2'b11, rsq_e[6:0]};
                    if (t_q == 16'(TN + 9)) nrm_s2_q <= 9'h180;  // halves for the test
                    if (t_q == 16'(TN + 8)) nr_q <= n_c;
                    if (gs_exit) begin  // kappa, zero sample
                        {vy_q, ve_q} <= {yl_q, el_q};
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
                    t_q <= t_q + 1'b1;
                    if (t_q == 16'(BO + OVH)) {vy_q, ve_q} <= {yr_q, er_q};  // the R side's pass
                    if (t_q == 16'(T_NRM)) state_q <= S_SVD;  // core SVD starts here
                end
                S_SVD: if (svd_done) begin
                    rotations_o <= svd_rot;
                    if (mode_q) begin
                        state_q <= S_RED;
                    end else begin
                        // biased: reduce_ok's load_i takes the r largest at this edge
                        rot_side_q <= 1'b0;
                        state_q <= S_ROT;
                        t_q <= 16'd1;
                    end
                end
                S_RED: if (red_done) begin
                    rot_side_q <= 1'b0;
                    lfsr_q <= red_lfsr;
                    k_o <= red_k;
                    state_q <= S_ROT;
                    t_q <= 16'd1;
                end
                S_ROT: begin
                    t_q <= t_q + 1'b1;
                    if (t_q == 16'(T_RL)) rot_side_q <= 1'b1;
                    if (vec_done) begin  // R rotated and written back
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
