// COMMIT scale chain: the learning-rate scale 1/sqrt(B), or sqrt(B)/(d_L d_R) with the
// max-norm trackers, then the per-rank coefficients g_t and the shift SH of the passes.
// It runs on the scalar unit (scalar_mul: two 32x32 multipliers A and B with registered
// products; lrt_unit's pair in accel_top, EXT_MUL = 1): a product issued in one cycle is
// normalised in the next (stage 2, driven by the op tag op_q), within the cycles the spec
// budgets (docs/hw-spec.md sections 6 and 7):
//   S_B    rsqrt(B); at its answer (no max-norm) LR*yb is issued                    A
//   S_VEC  while commit_unit scans the column maxima: LR*B (cycle 0), its mul_norm
//          (1), m1*yb (2), its mul_norm (3)                                          A
//   S_ROOT 2r rsqrt(sigma_t); at each first-round answer sigma_t's two 32-bit halves
//          times y (A, B), root_t = rne(sigma_t*y, e) the next cycle, then the
//          trackers' products cmax_L,t*root_t and cmax_R,t*root_t (A, one a cycle),
//          each folded into its running maximum the cycle after; at the last answer
//          the R side's ema and d = max(cur, ema)
//   S_TRK  the L side's ema and d (cycle 0); d_L*d_R from four 32x32 partial
//          products (issued in cycles 1, 2: A, B); rsqrt of it (cycle 3)
//   S_D    at its answer m2*yd; S_MN: its mul_norm (cycle 0), m3*yd (1), mul_norm (2)  A
//   S_G    sm_0 = rne(sigma_0, zs) (cycle 0); sm_t*scale issued in cycles 1..r, sm_(t+1)
//          rounded meanwhile; zg and SH from the first product, g_t one a cycle (2..r+1) A
// Golden model: pysim/hw/commit_unit.py (commit_scale, maxnorm_divisors, mul_norm).
// go_o is high in the cycle whose edge starts the pass and writes the last g_t (the pass
// reads g two cycles later); g_o, sh_o hold from that edge until the next start. With
// max-norm, scan_o starts commit_unit's column scan; cmax_i must hold its
// result from the scan's end (VEC cycles later) on. sigma_i must hold through the chain.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module commit_scale #(
    parameter bit EXT_RSQ = 1'b0,  // use the rsq_* ports: one rsqrt shared by all
    parameter bit EXT_MUL = 1'b0,  // use the smul_* ports: lrt_unit's scalar multipliers
    parameter int N_IN    = 64,
    parameter int N_OUT   = 10,
    parameter int RANK    = 4,
    parameter int LANES   = 8,
    parameter int F       = 16,
    parameter int G       = 8,
    parameter int GW      = 20,
    parameter int LGW     = 27,    // Lg_t's width (commit_unit): SH counts L·g's dropped bits
    parameter int SIG_W   = 64
) (
    input  wire                   clk_i,
    input  wire                   rst_i,
    output wire                   rsq_start_o,
    output wire [127:0]           rsq_t_o,
    input  wire [25:0]            rsq_y_i,
    input  wire [7:0]             rsq_e_i,
    input  wire                   rsq_done_i,
    output wire [135:0]           smul_x_o,   // {xa, ya, xb, yb}, zero when idle
    input  wire [129:0]           smul_p_i,   // {pa, pb} of the previous cycle
    output wire [8:0]             s2_x_o,     // stage 2's rounding: core_svd's (EXT_MUL)
    input  wire [96:0]            s2_q_i,
    input  wire                   start_i,
    input  wire [RANK*SIG_W-1:0]  sigma_i,
    input  wire [31:0]            b_i,        // samples since the last write
    input  wire [15:0]            lr_mant_i,
    input  wire [5:0]             lr_shift_i,
    input  wire                   maxnorm_i,
    input  wire [31:0]            mn_steps_i, // max-norm commits so far
    input  wire [63:0]            ema_l_i,
    input  wire [63:0]            ema_r_i,
    output wire                   scan_o,     // start the column scan (max-norm)
    input  wire [2*RANK*F-1:0]    cmax_i,     // max |L_t| at t*F, max |R_t| at (RANK+t)*F
    output wire                   go_o,       // the coefficients are ready: start the pass
    output reg  [RANK*(GW+1)-1:0] g_o,        // g_t at t*(GW+1), signed
    output reg  signed [15:0]     sh_o,
    output reg  [63:0]            ema_l_o,
    output reg  [63:0]            ema_r_o,
    output reg  [31:0]            mn_steps_o
);
    localparam int R    = RANK;
    localparam int BO   = (N_OUT + LANES - 1) / LANES;
    localparam int BI   = (N_IN + LANES - 1) / LANES;
    localparam int VEC  = R * (BO + BI) + 4;       // the scan, as a pass: 2 * OVH drain
    localparam int GQ_W = GW + 1;
    localparam int LG_D = (F + GW - 1 > LGW) ? F + GW - 1 - LGW : 0;
    // SH's constant part: the units, less L·g's dropped bits (typed: Yosys 0.23 reads
    // -16'(LG_D) inside the expression below as +LG_D)
    localparam logic [15:0] SH_MN = 16'(-LG_D), SH_UN = 16'(2 * (F - 1) + 2 * G - LG_D);
    localparam int IW   = $clog2(2 * R + 1);
    localparam int TI   = (R > 1) ? $clog2(R) : 1;    // index of a rank
    localparam int OW   = 34;                         // scalar_mul operands

    // ---------------------------------------------------------------- helpers
    // bitlen96, rne96 (the values here are non-negative, below 2^95; shifts below 96)
    `include "scalar_fns.vh"

    // ---------------------------------------------------------------- the multipliers
    reg  signed [OW-1:0] xa, ya, xb, yb;
    wire signed [64:0]   pa_s, pb_s;
    assign smul_x_o = {xa, ya, xb, yb};
    scalar_mul #(.EXT(EXT_MUL), .OW(OW)) u_mul (
        .clk_i(clk_i), .rst_i(rst_i), .xa_i(xa), .ya_i(ya), .xb_i(xb), .yb_i(yb),
        .pa_o(pa_s), .pb_o(pb_s), .ext_pa_i(smul_p_i[129:65]), .ext_pb_i(smul_p_i[64:0]));
    // What stage 2 does with the products of the previous cycle.
    localparam logic [3:0] OP_NONE = 4'd0, OP_LRYB = 4'd1, OP_LRB = 4'd2, OP_MYB = 4'd3,
                           OP_MYD = 4'd4, OP_ROOT = 4'd5, OP_TRK = 4'd6, OP_DD = 4'd7,
                           OP_G0 = 4'd8, OP_G = 4'd9, OP_DD2 = 4'd10, OP_TRKR = 4'd11;
    reg [3:0] op_d, op_q;
    // Every operand here is non-negative and below 2^32: the products are 64-bit, isolated
    // while no op of this chain is in stage 2 (the pair works for UPDATE most of the time:
    // stage 2's logic need not toggle with it, nor Icarus re-evaluate it every cycle).
    wire        mine = op_q != OP_NONE;
    wire [63:0] pa = mine ? pa_s[63:0] : 64'd0;
    wire [63:0] pb = mine ? pb_s[63:0] : 64'd0;
    wire unused_sign = pa_s[64] ^ pb_s[64];

    // ---------------------------------------------------------------- rsqrt
    reg         rsq_start;  reg [127:0] rsq_t;
    wire [25:0] rsq_y;  wire [7:0] rsq_e;  wire rsq_done;
    assign rsq_start_o = rsq_start;
    assign rsq_t_o = rsq_t;
    rsqrt_share #(.EXT(EXT_RSQ), .TW(128)) u_rsqrt (
        .clk_i(clk_i), .rst_i(rst_i), .start_i(rsq_start), .t_i(rsq_t), .y_o(rsq_y),
        .e_o(rsq_e), .done_o(rsq_done), .ext_y_i(rsq_y_i), .ext_e_i(rsq_e_i),
        .ext_done_i(rsq_done_i));

    // ---------------------------------------------------------------- state
    localparam logic [2:0] S_IDLE = 3'd0, S_B = 3'd1, S_VEC = 3'd2, S_ROOT = 3'd3,
                           S_TRK = 3'd4, S_D = 3'd5, S_MN = 3'd6, S_G = 3'd7;
    reg [2:0]   state_q;
    reg [15:0]  wait_q;
    reg [IW-1:0] idx_q;                   // rsqrt of sigma_(idx mod r), idx < 2r
    reg [25:0]  yb_q, yd_q;
    reg [7:0]   eb_q, ed_q;               // exponents of rsqrt(B) and of rsqrt(d_L*d_R)
    reg [6:0]   er_q;                     // of the root in stage 2 (rsqrt's e < 128)
    reg [24:0]  m_q;                      // the chain's mantissa (<= 2^24)
    reg signed [15:0] e_q;                // and exponent
    reg [32:0]  root_q [0:R-1];           // sqrt(sigma_t) < 2^32 + 2^11
    reg [63:0]  cur_l_q, cur_r_q, div_l_q, div_r_q;
    reg [63:0]  p_ll_q, p_hl_q;           // d_L*d_R's first partial products
    reg         tp_q, tq_q;               // the L / R tracker's product of root tp_t is due
    reg [TI-1:0] tr_q, tp_t_q;            // the rank of the root in stage 2 / of tp
    reg [6:0]   zg_q;
    reg [24:0]  sm_q;                     // sm_t of the coefficient issued next

    wire [TI-1:0] t_root = TI'((idx_q >= IW'(R)) ? idx_q - IW'(R) : idx_q);
    // sigma and the column maxima as arrays, so that selecting one is a mux.
    wire [SIG_W-1:0] sig_a [0:R-1];
    wire [F-1:0]     cml_a [0:R-1];
    wire [F-1:0]     cmr_a [0:R-1];
    genvar gt;
    generate
        for (gt = 0; gt < R; gt = gt + 1) begin : g_arr
            assign sig_a[gt] = sigma_i[gt*SIG_W +: SIG_W];
            assign cml_a[gt] = cmax_i[gt*F +: F];
            assign cmr_a[gt] = cmax_i[(R + gt)*F +: F];
        end
    endgenerate
    wire [TI-1:0] t_next = (32'(t_root) == R - 1) ? '0 : t_root + 1'b1;
    wire [SIG_W-1:0] sig_root = sig_a[t_root];
    wire [SIG_W-1:0] sig_next = sig_a[t_next];
    wire [F-1:0] cmax_l = cml_a[tp_t_q];
    wire [F-1:0] cmax_r = cmr_a[tp_t_q];
    wire [32:0]  root_t = root_q[tp_t_q];
    // cmax*root with root's bit 32 as an add: the multipliers stay 32x32. The two
    // trackers' products come one a cycle (the rsqrt's answers are RSQ cycles apart), so
    // one adder and one comparator fold both; op_q says whose.
    wire         trk_r = op_q == OP_TRKR;
    wire [63:0]  cur_s = trk_r ? cur_r_q : cur_l_q;
    wire [63:0]  cur_c = pa + (root_t[32] ? 64'(trk_r ? cmax_r : cmax_l) << 32 : 64'd0);
    // Trackers: ema starts at the first max, then moves by 2^-10 (signed difference).
    // One datapath for both: the R side's at the last root answer (its maxima are final
    // a round earlier), the L side's in S_TRK's first cycle.
    wire         ema_r = state_q == S_ROOT;
    wire [63:0]  cur_e = ema_r ? cur_r_q : cur_l_q;
    wire [63:0]  ema_e = ema_r ? ema_r_i : ema_l_i;
    wire signed [65:0] d_c = 66'(cur_e) - 66'(ema_e);
    function automatic [63:0] ema_step(input [63:0] ema, input signed [65:0] d);
        reg signed [65:0] q;
        /* verilator lint_off UNUSEDSIGNAL */
        reg [66:0] s;  // its sign bits and the carry-in bit are dropped
        /* verilator lint_on UNUSEDSIGNAL */
        reg up;
        begin
            q = d >>> 10;
            up = d[9] & (|d[8:0] | q[0]);
            s = {66'(ema), 1'b1} + {q, up};  // ema + q + up: one adder, up its carry in
            ema_step = s[64:1];
        end
    endfunction
    wire [63:0] ema_c = (mn_steps_i == 0) ? cur_e : ema_step(ema_e, d_c);
    // max(cur, ema'): ema' lies between ema and cur, so it is the larger exactly when
    // cur < ema (the difference's sign)
    wire [63:0] div_c = d_c[65] ? ema_c : cur_e;
    // d_L*d_R = ll + (hl + lh) 2^32 + hh 2^64; lh and hh are this cycle's products.
    wire [127:0] dd_c = 128'(p_ll_q) + (128'(p_hl_q) << 32) + (128'(pa) << 32) +
                        (128'(pb) << 64);
    // The coefficients: sm_t = rne(sigma_t, zs) with zs = max(0, bitlen(sigma_0) - 24).
    wire [6:0]  bl_s0 = bitlen96(96'(sigma_i[0 +: SIG_W]));
    wire [6:0]  zs = (bl_s0 > 7'd24) ? bl_s0 - 7'd24 : 7'd0;
    // S_G's cycle c = 0..r-1 (wait = r + 1 - c) rounds sm_c for the issue of cycle c + 1.
    wire [TI-1:0] sm_idx = TI'(16'(R + 1) - wait_q);
    wire [24:0] sm_c = 25'(rne96(96'(sig_a[sm_idx]), zs));
    // One leading-zero count of the product in stage 2 serves mul_norm's renormalisation
    // zn = max(0, bitlen - 24) and the coefficients' zg = max(0, bitlen - (GW - 1)).
    wire [6:0]  bl_p = bitlen96(96'(pa));
    wire [5:0]  zn = (bl_p > 7'd24) ? 6'(bl_p - 7'd24) : 6'd0;
    wire [6:0]  zg_c = (bl_p > 7'(GW - 1)) ? bl_p - 7'(GW - 1) : 7'd0;
    wire [6:0]  zg = (op_q == OP_G0) ? zg_c : zg_q;
    wire [TI-1:0] gi = TI'(16'(R - 1) - wait_q);  // g_t reaches stage 2 at wait r - 1 - t
    // One rounding shifter in stage 2: sigma_t*y from sigma's two 32-bit halves (A: low,
    // B: high) by the rsqrt's e, g_t by zg, or the chain's mantissa by zn.
    wire        op_root = op_q == OP_ROOT;
    wire        op_g = op_q == OP_G0 || op_q == OP_G;
    // With EXT_MUL it is core_svd's product-A shifter, which takes pa as signed: the
    // products rounded here other than the root's halves are below 2^58.
    wire [6:0]  rn_s = op_root ? er_q : (op_g ? zg : 7'(zn));
    assign s2_x_o = (op_root || op_g || (op_q >= OP_LRYB && op_q <= OP_MYD))
                  ? {1'b1, op_root, rn_s} : 9'd0;
    wire [96:0] rq_c;
    generate
        if (EXT_MUL) begin : g_ext
            assign rq_c = s2_q_i;
        end else begin : g_own
            wire unused_q = ^s2_q_i;
            assign rq_c = rq96(op_root ? (96'(pb) << 32) + 96'(pa) : 96'(pa), rn_s);
        end
    endgenerate
    wire [32:0] rn_c = rq_c[32:0] + {32'd0, rq_c[96]};
    wire unused_rq = ^rq_c[95:33];  // what is rounded here fits 33 bits
    wire [32:0] root_c = 33'(rn_c);
    wire [GQ_W-1:0] g_c = GQ_W'(rn_c);
    wire [24:0] m_c = 25'(rn_c);

    // Issue: the operands of A and B by state (zeros when nothing is issued) and the op
    // tag that tells stage 2, next cycle, what to do with the products.
    always @* begin
        {xa, ya, xb, yb} = '0;
        op_d = OP_NONE;
        case (state_q)
            S_B: if (rsq_done && !maxnorm_i)
                {xa, ya, op_d} = {OW'(lr_mant_i), OW'(rsq_y), OP_LRYB};
            S_VEC:
                if (wait_q == 16'(VEC - 2)) {xa, ya, op_d} = {OW'(lr_mant_i), OW'(b_i), OP_LRB};
                else if (wait_q == 16'(VEC - 4)) {xa, ya, op_d} = {OW'(m_q), OW'(yb_q), OP_MYB};
            S_ROOT:
                if (rsq_done && idx_q < IW'(R)) begin  // the second round repeats the roots
                    {xa, ya, xb, yb} = {OW'(sig_root[31:0]), OW'(rsq_y),
                                        OW'(sig_root[SIG_W-1:32]), OW'(rsq_y)};
                    op_d = OP_ROOT;
                end else if (tp_q || tq_q) begin
                    {xa, ya} = {OW'(tq_q ? cmax_r : cmax_l), OW'(root_t[31:0])};
                    op_d = tq_q ? OP_TRKR : OP_TRK;
                end
            S_TRK:
                if (wait_q == 16'd2 || wait_q == 16'd1) begin
                    {xa, xb} = {OW'(div_l_q[31:0]), OW'(div_l_q[63:32])};
                    ya = OW'((wait_q == 16'd2) ? div_r_q[31:0] : div_r_q[63:32]);
                    yb = ya;
                    op_d = (wait_q == 16'd2) ? OP_DD : OP_DD2;  // lh, hh go to dd_c
                end
            S_D: if (rsq_done) {xa, ya, op_d} = {OW'(m_q), OW'(rsq_y), OP_MYD};
            S_MN: if (wait_q == 16'd1) {xa, ya, op_d} = {OW'(m_q), OW'(yd_q), OP_MYD};
            S_G: if (wait_q != 0 && wait_q <= 16'(R))
                {xa, ya, op_d} = {OW'(sm_q), OW'(m_q), (wait_q == 16'(R)) ? OP_G0 : OP_G};
            default: ;
        endcase
    end

    // rsqrt starts: B with start_i; sigma_0 at the scan's last cycle and sigma_(idx+1)
    // after each answer; d_L*d_R at the trackers' last cycle.
    always @* begin
        rsq_start = 1'b0;
        rsq_t = '0;
        if (state_q == S_IDLE && start_i) begin
            rsq_start = 1'b1;
            rsq_t = 128'(b_i);
        end else if (state_q == S_VEC && wait_q == 0) begin
            rsq_start = 1'b1;
            rsq_t = 128'(sigma_i[0 +: SIG_W]);
        end else if (state_q == S_ROOT && rsq_done && idx_q < IW'(2 * R - 1)) begin
            rsq_start = 1'b1;
            rsq_t = 128'(sig_next);
        end else if (state_q == S_TRK && wait_q == 0) begin
            rsq_start = 1'b1;
            rsq_t = dd_c;
        end
    end

    assign scan_o = state_q == S_B && rsq_done && maxnorm_i;
    assign go_o = state_q == S_G && wait_q == 0;

    // Stage 2: the products of the previous cycle's op.
    integer x;
    always @(posedge clk_i) begin
        if (rst_i) begin
            op_q <= OP_NONE;
            {tp_q, tq_q} <= '0;
            g_o <= '0;
            sh_o <= '0;
        end else begin
            op_q <= op_d;
            tp_q <= 1'b0;
            tq_q <= op_d == OP_TRK;
            if (state_q == S_VEC) {cur_l_q, cur_r_q} <= '0;  // the maxima of this commit
            case (op_q)
                OP_LRYB, OP_LRB, OP_MYB, OP_MYD: m_q <= m_c;
                OP_ROOT: begin
                    root_q[tr_q] <= root_c;
                    tp_q <= 1'b1;
                    tp_t_q <= tr_q;
                end
                OP_TRK, OP_TRKR: if (cur_c > cur_s) begin
                    if (trk_r) cur_r_q <= cur_c;
                    else cur_l_q <= cur_c;
                end
                OP_DD: begin
                    p_ll_q <= pa;
                    p_hl_q <= pb;
                end
                OP_G0, OP_G: begin
                    for (x = 0; x < R; x = x + 1)
                        if (x == 32'(gi)) g_o[x*GQ_W +: GQ_W] <= g_c;
                end
                default: ;
            endcase
            case (op_q)  // the exponent: (LR, -shift) x (yb, -eb), x (B, 0), x (yb, -eb)...
                OP_LRYB: e_q <= 16'(zn) - 16'(lr_shift_i) - 16'(eb_q);
                OP_LRB:  e_q <= 16'(zn) - 16'(lr_shift_i);
                OP_MYB:  e_q <= e_q + 16'(zn) - 16'(eb_q);
                OP_MYD:  e_q <= e_q + 16'(zn) - 16'(ed_q);
                OP_G0: begin  // zg from sm_0*scale; SH
                    zg_q <= zg_c;
                    sh_o <= (maxnorm_i ? SH_MN : SH_UN) - (e_q + 16'(zs) + 16'(zg_c));
                end
                default: ;
            endcase
            if (op_d == OP_ROOT) begin
                tr_q <= t_root;
                er_q <= 7'(rsq_e);
            end
        end
    end

    // The sequence of the chain.
    always @(posedge clk_i) begin
        if (rst_i) begin
            state_q <= S_IDLE;
            wait_q <= '0;
            idx_q <= '0;
            ema_l_o <= '0;
            ema_r_o <= '0;
            mn_steps_o <= '0;
        end else begin
            case (state_q)
                S_IDLE: if (start_i) begin
                    ema_l_o <= ema_l_i;
                    ema_r_o <= ema_r_i;
                    mn_steps_o <= mn_steps_i;
                    state_q <= S_B;
                end
                S_B: if (rsq_done) begin
                    yb_q <= rsq_y;
                    eb_q <= rsq_e;
                    state_q <= maxnorm_i ? S_VEC : S_G;
                    wait_q <= maxnorm_i ? 16'(VEC - 2) : 16'(R + 1);  // the scan's first edge
                end
                S_VEC: begin
                    if (wait_q == 0) begin
                        idx_q <= '0;
                        state_q <= S_ROOT;
                    end else wait_q <= wait_q - 1'b1;
                end
                S_ROOT: if (rsq_done) begin
                    if (idx_q == IW'(2 * R - 1)) begin
                        {ema_r_o, div_r_q} <= {ema_c, div_c};
                        state_q <= S_TRK;
                        wait_q <= 16'd3;
                    end
                    idx_q <= idx_q + 1'b1;
                end
                S_TRK: begin
                    if (wait_q == 16'd3) begin
                        {ema_l_o, div_l_q} <= {ema_c, div_c};
                        mn_steps_o <= mn_steps_i + 1'b1;
                    end
                    if (wait_q == 0) state_q <= S_D;
                    else wait_q <= wait_q - 1'b1;
                end
                S_D: if (rsq_done) {yd_q, ed_q, state_q, wait_q} <= {rsq_y, rsq_e, S_MN, 16'd2};
                S_MN: if (wait_q == 0) begin
                    state_q <= S_G;
                    wait_q <= 16'(R + 1);
                end else wait_q <= wait_q - 1'b1;
                S_G: begin
                    if (wait_q > 16'd1) sm_q <= sm_c;
                    if (wait_q == 0) state_q <= S_IDLE;
                    else wait_q <= wait_q - 1'b1;
                end
                default: state_q <= S_IDLE;
            endcase
        end
    end
endmodule

`resetall
