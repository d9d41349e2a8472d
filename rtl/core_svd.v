// Core SVD of the low-rank update unit on the scalar unit: block-floating core
// C = diag(sigma, 0) + a b^T, one-sided Jacobi (SWEEPS row-cyclic sweeps), singular values
// and left vectors, descending sort. Specification: docs/hw-spec.md section 5 steps 6-9
// and "How the core runs"; golden model pysim/hw/core_svd.py.
// Datapath: two 32x32 multipliers (scalar_mul: stage 1); a stage 2 that adds (one adder
// a product), rounds (a shifter a product; A's serves the scalar unit's other clients
// while this block is idle), saturates and writes the register file (A, V, U, dot sums,
// alpha) as op_q says (a phase's last products may land in the next phase's first cycle);
// leading-zero counters; the shared rsqrt. start_i is sampled at a rising edge (operands
// latched); done_o is high for one cycle after the cycles of section 7.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module core_svd #(
    parameter bit EXT_RSQ = 1'b0,  // use the rsq_* ports: one rsqrt shared by all
    parameter bit EXT_MUL = 1'b0,  // use the smul_* ports: lrt_unit's scalar multipliers
    parameter int RANK   = 4,
    parameter int WC     = 24,  // core mantissa width
    parameter int SWEEPS = 4,
    parameter int CIN_W  = 32,  // Gram-Schmidt coefficients and norms (signed)
    parameter int SIG_W  = 64   // sigma registers (unsigned)
) (
    input  wire                   clk_i,
    input  wire                   rst_i,
    // The shared rsqrt (EXT_RSQ = 1) or this block's own (0, when the block stands alone).
    output reg                         rsq_start_o,
    output reg  [127:0]                rsq_t_o,
    input  wire [25:0]                 rsq_y_i,
    input  wire [7:0]                  rsq_e_i,
    input  wire                        rsq_done_i,
    output wire [135:0]                smul_x_o,  // {xa, ya, xb, yb}, zero when idle
    input  wire [129:0]                smul_p_i,  // {pa, pb} of the previous cycle
    // Other clients' rounding while idle: {req, hl, s} -> rq96(hl ? pa + pb*2^32 : pa, s).
    input  wire [8:0]                  s2_x_i,
    output wire [96:0]                 s2_q_o,
    input  wire                   start_i,
    input  wire [(RANK+1)*CIN_W-1:0] a_i,      // c_l..., n_l
    input  wire [(RANK+1)*CIN_W-1:0] b_i,      // c_r..., n_r
    input  wire [RANK*SIG_W-1:0]  sigma_i,
    output wire                   done_o,       // the sort's
    output reg  [7:0]             e_o,          // block exponent E
    output wire [(RANK+1)*32-1:0] sig_o,        // singular values (core units), by column
    output wire [(RANK+1)*(RANK+1)*24-1:0] u_o, // U[k][j] at index k*q + j, Q2.22
    output wire [(RANK+1)*(RANK+1)*24-1:0] v_o, // V[k][j]
    output wire [(RANK+1)*4-1:0]  order_o,      // column indices, descending sigma
    output reg  [15:0]            rotations_o   // rotations applied in this run
);
    `include "scalar_fns.vh"
    localparam int Q  = RANK + 1;
    localparam int QQ = Q * Q;
    localparam int AW = WC + 3;   // core entries with rotation growth
    localparam int CS = 22;
    localparam int QW = $clog2(Q);
    localparam int XW = $clog2(QQ + 1);
    localparam int NE = (QQ + 1) / 2;     // q^2 products on two multipliers
    localparam int ND = (3 * Q + 1) / 2;  // a pair's 3q dot products
    localparam int OW = 34;               // scalar_mul operands

    // ---------------------------------------------------------------- register file
    reg signed [CIN_W-1:0] av_q [0:Q-1], bv_q [0:Q-1];  // the operands, latched at start
    reg [SIG_W-1:0]        sg_q [0:Q-1];   // sigma, and 0 for the scratch column
    reg signed [AW-1:0]    a_q [0:QQ-1];   // core, row k column j at k*Q + j
    reg signed [23:0]      v_q [0:QQ-1], u_q [0:QQ-1];
    // The running sums: the pair's alpha, beta, gamma (0..2), then the columns' alpha.
    localparam int NS = (Q > 3) ? Q : 3, SW = $clog2(NS);
    reg [63:0]             sum_q [0:NS-1];  reg [31:0] sig_q [0:Q-1];
    reg [31:0]  maxa_q, maxb_q, cc4_q;  reg [63:0] amax_q;
    reg signed [31:0] al_q, be_q, ga_q, dd_q, gg_q, sin2_q, c_q, s_q;
    reg [7:0]   ey_q;                      // exponent of the last rsqrt answer used
    genvar gi;
    generate
        for (gi = 0; gi < QQ; gi = gi + 1) begin : g_out
            assign {u_o[gi*24 +: 24], v_o[gi*24 +: 24]} = {u_q[gi], v_q[gi]}; end
        for (gi = 0; gi < Q; gi = gi + 1) begin : g_sig assign sig_o[gi*32 +: 32] = sig_q[gi]; end
    endgenerate
    // ---------------------------------------------------------------- multipliers
    reg  signed [OW-1:0] xa, ya, xb, yb;
    wire signed [64:0]   pa, pb;
    assign smul_x_o = {xa, ya, xb, yb};
    scalar_mul #(.EXT(EXT_MUL), .OW(OW)) u_mul (
        .clk_i(clk_i), .rst_i(rst_i), .xa_i(xa), .ya_i(ya), .xb_i(xb), .yb_i(yb), .pa_o(pa),
        .pb_o(pb), .ext_pa_i(smul_p_i[129:65]), .ext_pb_i(smul_p_i[64:0]));
    // What stage 2 does with the products, and where they go.
    localparam logic [3:0] OP_BOUND = 4'd1, OP_ENT = 4'd2, OP_DOT = 4'd3, OP_ROTI = 4'd4,
                           OP_ROTJ = 4'd5, OP_ALPHA = 4'd6, OP_SIG = 4'd7, OP_U = 4'd8;
    reg [3:0]    op_d, op_q;
    reg [2:0]    adm_q;                    // op_q's adder operand: a sum, sigma, -B
    reg [XW-1:0] ia_d, ib_d, ia_q, ib_q;   // destinations of products A and B
    reg          vb_d, vb_q;               // product B is one
    reg          fa_d, fb_d, fa_q, fb_q;   // first term / V / flushed / B diagonal
    reg [SIG_W-1:0] add_d, add_q;          // the diagonal entry's sigma
    // ---------------------------------------------------------------- rsqrt
    wire [25:0] rsq_y;  wire [7:0] rsq_e;  wire rsq_done;
    rsqrt_share #(.EXT(EXT_RSQ), .TW(128)) u_rsqrt (
        .clk_i(clk_i), .rst_i(rst_i), .start_i(rsq_start_o), .t_i(rsq_t_o), .y_o(rsq_y),
        .e_o(rsq_e), .done_o(rsq_done), .ext_y_i(rsq_y_i), .ext_e_i(rsq_e_i),
        .ext_done_i(rsq_done_i));

    // ---------------------------------------------------------------- state
    localparam logic [4:0] S_IDLE = 5'd0, S_MAX = 5'd1, S_BND = 5'd2, S_ENT = 5'd3,
                           S_EDR = 5'd4, S_DOT = 5'd5, S_DDR = 5'd6, S_T0 = 5'd7,
                           S_T1 = 5'd8, S_T2 = 5'd9, S_T3 = 5'd10, S_R1 = 5'd11,
                           S_R2 = 5'd12, S_R3 = 5'd13, S_R4 = 5'd14, S_ROT = 5'd15,
                           S_AL = 5'd16, S_ADR = 5'd17, S_AMAX = 5'd18, S_COL = 5'd19,
                           S_SDR = 5'd20;
    reg [4:0]    state_q;
    reg [7:0]    cnt_q;            // issue cycles left in S_ENT, S_DOT, S_ROT, S_AL
    reg [QW-1:0] pi_q, pj_q;       // Jacobi pair
    reg [3:0]    sweep_q;  reg [XW-1:0] x_q;  // x_q: entry k*Q + j of S_ENT / S_AL (product A)
    reg [QW-1:0] ri_q, ci_q;       // its k, j
    reg [XW-1:0] rb_q;             // row base k*Q of S_DOT / S_ROT (product A)
    reg [1:0]    kind_q;           // S_DOT: alpha, beta or gamma term
    reg          half_q, onv_q;    // S_ROT: c u - s v / s u + c v; rows of V
    // The U products of the column whose rsqrt answered last, issued while the next
    // column's rsqrt runs (ceil(q/2) <= RSQ cycles).
    reg          uact_q, uflush_q;
    reg [QW-1:0] col_q, ucol_q;    // S_COL's column; the U products' column
    reg [XW-1:0] ub_q;  reg [3:0] ucnt_q;  // row base of product A; cycles left
    reg [25:0]   yv_q;             // y of its column
    // (k, j) one and two entries on in row-major order.
    wire          last_c  = ci_q == QW'(Q - 1);
    wire [QW-1:0] rib = last_c ? ri_q + 1'b1 : ri_q;
    wire [QW-1:0] cib = last_c ? '0 : ci_q + 1'b1;
    wire [QW-1:0] ri2 = (32'(ci_q) + 2 >= Q) ? ri_q + 1'b1 : ri_q;
    wire [QW-1:0] ci2 = (32'(ci_q) + 2 >= Q) ? QW'(32'(ci_q) + 2 - Q) : ci_q + QW'(2);
    wire          vb_x = 32'(x_q) + 1 < QQ;
    wire          sw = vb_x && rib == cib;  // B's entry is diagonal: A and B swap (below)
    // S_DOT's product B: the term after kind_q (row + 1 after gamma).
    wire [1:0]    kind_b = (kind_q == 2'd2) ? 2'd0 : kind_q + 1'b1;
    wire [XW-1:0] rb_b = (kind_q == 2'd2) ? rb_q + XW'(Q) : rb_q;
    // A's four read ports (S_DOT reads four entries a cycle; S_AL, S_ROT and the U
    // products two): the addresses by phase, then one read each.
    wire          dot = state_q == S_DOT, rot = state_q == S_ROT, ent = state_q == S_ENT;
    wire [XW-1:0] rot_i = rb_q + XW'(pi_q), rot_j = rb_q + XW'(pj_q);  // S_ROT's pair
    wire [XW-1:0] ra0 = uact_q ? ub_q + XW'(ucol_q) : dot ? rb_q + XW'((kind_q == 2'd1) ? pj_q
                      : pi_q) : rot ? rot_i : x_q;
    wire [XW-1:0] ra1 = uact_q ? ub_q + XW'(Q) + XW'(ucol_q) : dot ? rb_q + XW'((kind_q ==
                        2'd0) ? pi_q : pj_q) : rot ? rot_j : x_q + 1'b1;
    wire signed [AW-1:0] rd0 = a_q[ra0], rd1 = a_q[ra1];
    wire signed [AW-1:0] rd2 = a_q[rb_b + XW'((kind_b == 2'd1) ? pj_q : pi_q)];
    wire signed [AW-1:0] rd3 = a_q[rb_b + XW'((kind_b == 2'd0) ? pi_q : pj_q)];
    wire signed [31:0] rot_u = onv_q ? 32'(v_q[rot_i]) : 32'(rd0);
    wire signed [31:0] rot_v = onv_q ? 32'(v_q[rot_j]) : 32'(rd1);
    // Next Jacobi pair in row-cyclic order; pair_last: the sweeps are over.
    wire          row_end = pj_q == QW'(Q - 1);
    wire          sw_end  = row_end && pi_q == QW'(Q - 2);
    wire [QW-1:0] npi = sw_end ? '0 : (row_end ? pi_q + 1'b1 : pi_q);
    wire [QW-1:0] npj = sw_end ? QW'(1) : (row_end ? pi_q + QW'(2) : pj_q + 1'b1);
    wire          pair_last = sw_end && sweep_q == 4'(SWEEPS - 1);
    // The pair's test (docs/hw-spec.md section 5 step 7), in three cycles.
    wire [63:0] ag  = sum_q[2][63] ? -sum_q[2] : sum_q[2];
    wire signed [32:0] d0 = 33'(be_q) - 33'(al_q), g0 = 33'(ga_q) <<< 1;
    wire [32:0] ad0 = d0[32] ? -d0 : d0, ag0 = g0[32] ? -g0 : g0;
    // One leading-zero counter (bl, stage 2) for S_T0's max(alpha, beta, |gamma|) (that of
    // their OR) and OP_BOUND's product + sigma_0; S_T1's max(|d|, |g|) has its own.
    wire [63:0] abg = sum_q[0] | sum_q[1] | ag;
    wire [6:0]  bl1 = bitlen96(96'(ad0 | ag0)), sh1 = (bl1 > 7'd30) ? bl1 - 7'd30 : 7'd0;
    wire        skip = pa <= (pb >>> (2 * WC));
    // Post-processing: the flush test of column col_q against amax = max alpha: S_AMAX takes
    // alpha_0, then S_COL's cycles before the first answer compare alpha_1..q-1 (al1), one
    // a cycle; a core with q - 1 > RSQ = 5 takes q - 1 comparators in S_AMAX instead.
    localparam bit SCAN = Q <= 6;
    reg [QW:0] sc_q;  wire scan = SCAN && state_q == S_COL && !rsq_done && 32'(sc_q) < Q;
    reg [63:0] amax_c;  integer m;
    always @* begin
        amax_c = sum_q[0];
        for (m = 1; m < Q; m = m + 1) if (!SCAN && sum_q[m] > amax_c) amax_c = sum_q[m];
    end
    wire flush = alpha_0 == 0 || ({alpha_0, (2 * (WC - 2))'(0)} < 
                                          (64 + 2 * (WC - 2))'(amax_q));
    // The sort starts when the last sigma is written and runs on its own (step 9).
    sort_net #(.Q(Q), .SW(32)) u_sort (.clk_i(clk_i), .rst_i(rst_i), .start_i(state_q == S_SDR),
                                       .sig_i(sig_o), .done_o(done_o), .order_o(order_o));
    // The operands' largest magnitudes (S_MAX), compared as {v ^ sign, sign}: that key
    // orders as |v| = (v ^ sign) + sign does, so only the two maxima are incremented.
    function automatic [CIN_W:0] mkey(input signed [CIN_W-1:0] v);
        mkey = {v ^ {CIN_W{v[CIN_W-1]}}, v[CIN_W-1]};
    endfunction
    reg [CIN_W:0] ka_c, kb_c;
    always @* begin
        {ka_c, kb_c} = '0;
        for (m = 0; m < Q; m = m + 1) begin
            if (mkey(av_q[m]) > ka_c) ka_c = mkey(av_q[m]);
            if (mkey(bv_q[m]) > kb_c) kb_c = mkey(bv_q[m]);
        end
    end
    wire [31:0] maxa_c = 32'(ka_c[CIN_W:1]) + 32'(ka_c[0]);
    wire [31:0] maxb_c = 32'(kb_c[CIN_W:1]) + 32'(kb_c[0]);
    // ---------------------------------------------------------------- stage 1: issue
    // The multipliers' operands and what stage 2 does with the products, by state; the
    // rsqrt requests, issued in the cycle whose edge starts the unit.
    always @* begin
        {xa, ya, xb, yb} = '0;
        {op_d, ia_d, ib_d, vb_d, fa_d, fb_d, add_d} = '0;
        {rsq_start_o, rsq_t_o} = '0;
        case (state_q)
            S_BND: {xa, ya, op_d, add_d} = {OW'(maxa_q), OW'(maxb_q), OP_BOUND, sg_q[0]};  // E
            S_ENT, S_AL: begin  // entries a_k b_j, or alpha terms A_kj^2, two a cycle
                // A diagonal entry goes to product A: only A's rounding adds sigma.
                xa = ent ? OW'(av_q[sw ? rib : ri_q]) : OW'(rd0);
                ya = ent ? OW'(bv_q[sw ? cib : ci_q]) : OW'(rd0);
                if (vb_x) begin
                    xb = ent ? OW'(av_q[sw ? ri_q : rib]) : OW'(rd1);
                    yb = ent ? OW'(bv_q[sw ? ci_q : cib]) : OW'(rd1);
                end
                vb_d = vb_x;
                op_d = ent ? OP_ENT : OP_ALPHA;
                // Where an entry goes, the diagonal's sigma; an alpha term's column, first.
                ia_d = ent ? (sw ? x_q + 1'b1 : x_q) : XW'(ci_q);
                ib_d = ent ? (sw ? x_q : x_q + 1'b1) : XW'(cib);
                fa_d = !ent && ri_q == 0;
                fb_d = !ent && rib == 0;
                if (ent) add_d = (ri_q == ci_q) ? sg_q[ri_q] : (rib == cib ? sg_q[rib] : '0);
            end
            S_DOT: begin  // terms of alpha, beta, gamma; the first of each at row 0
                {xa, ya} = {OW'(rd0), OW'(rd1)};
                vb_d = !(cnt_q == 8'd1 && (3 * Q) % 2 == 1);
                if (vb_d) {xb, yb} = {OW'(rd2), OW'(rd3)};
                {op_d, ia_d, ib_d} = {OP_DOT, XW'(kind_q), XW'(kind_b)};
                {fa_d, fb_d} = {rb_q == 0, rb_b == 0};
            end
            // gamma'^2 against alpha' beta'; then d^2 + g^2
            S_T1: {xa, ya, xb, yb} = {OW'(ga_q), OW'(ga_q), OW'(al_q), OW'(be_q)};
            S_T2: {xa, ya, xb, yb} = {OW'(dd_q), OW'(dd_q), OW'(gg_q), OW'(gg_q)};
            S_T3: {rsq_start_o, rsq_t_o} = {1'b1, 128'(rot_s)};  // op_q 0: pa + pb
            S_R1: if (rsq_done)  // sign(d) g y and |d| y (B: cos2 feeds the next rsqrt)
                {xa, ya, xb, yb} = {dd_q[31] ? -(OW'(gg_q)) : OW'(gg_q), OW'(rsq_y),
                                    dd_q[31] ? -(OW'(dd_q)) : OW'(dd_q), OW'(rsq_y)};
            S_R2: {rsq_start_o, rsq_t_o} = {1'b1, 128'(cc4)};
            S_R3: if (rsq_done)  // cc4 y', sin2 y'
                {xa, ya, xb, yb} = {OW'(cc4_q), OW'(rsq_y), OW'(sin2_q), OW'(rsq_y)};
            S_ROT: begin  // c u - s v, then s u + c v, of one row of A or V
                {xa, ya, xb, yb} = {half_q ? OW'(s_q) : OW'(c_q), OW'(rot_u),
                                    half_q ? OW'(c_q) : OW'(s_q), OW'(rot_v)};
                {op_d, ia_d} = half_q ? {OP_ROTJ, rot_j} : {OP_ROTI, rot_i};
                {vb_d, fa_d} = {1'b1, onv_q};
            end
            S_AMAX: {rsq_start_o, rsq_t_o} = {1'b1, 128'(sum_q[0])};
            S_COL: if (rsq_done) begin  // sigma from alpha's two 32-bit halves
                {xa, ya, xb, yb} = {OW'(alpha_0[31:0]), OW'(rsq_y), OW'(alpha_0[63:32]),
                                    OW'(rsq_y)};
                {op_d, ia_d, fa_d} = {OP_SIG, XW'(col_q), flush};
                if (col_q != QW'(Q - 1))
                    {rsq_start_o, rsq_t_o} = {1'b1, 128'(alpha_1)};
            end
            default: ;
        endcase
        if (uact_q) begin  // U_kj, U_k+1,j: never in a cycle that issues above
            {xa, ya} = {OW'(rd0), OW'(yv_q)};
            vb_d = 32'(ub_q) + Q < QQ;
            if (vb_d) {xb, yb} = {OW'(rd1), OW'(yv_q)};
            {op_d, ia_d, ib_d} = {OP_U, ub_q + XW'(ucol_q), ub_q + XW'(Q) + XW'(ucol_q)};
            fa_d = uflush_q;
        end
    end

    // ---------------------------------------------------------------- stage 2
    // One adder per product for the running sums (dot terms, alpha) and the rotation's
    // c u - s v / s u + c v (and S_T3's d^2 + g^2 < 2^61): A + sum, or A +- B (carry in);
    // A's for an entry's pa + sigma (diagonal) and OP_BOUND's pa + sigma_0 too (66 bits).
    wire acc_op = adm_q[2], sub = adm_q[0];
    wire rot_w = sub || op_q == OP_ROTJ;
    // The sums' read ports: the entries in stage 2; S_COL's column and the next, or the scan's
    wire [SW-1:0] al0 = acc_op ? SW'(ia_q) : SW'(col_q);
    wire [SW-1:0] al1 = acc_op ? SW'(ib_q) : SW'(scan ? sc_q[QW-1:0] : col_q + 1'b1);
    wire [63:0] alpha_0 = sum_q[al0], alpha_1 = sum_q[al1];
    wire [63:0] ad_x = acc_op ? (fa_q ? 64'd0 : alpha_0) : adm_q[1] ? 64'(add_q)
                     : (sub ? ~pb[63:0] : pb[63:0]);
    wire [66:0] ad_s = {pa[64], pa, 1'b1} + {2'b0, ad_x, sub};  // bit 0: the carry in's
    wire [63:0] sum_a = ad_s[64:1], rot_s = sum_a;  wire unused_c = ad_s[0];
    wire [6:0]  bl = bitlen96((state_q == S_T0) ? 96'(abg) : 96'(ad_s[65:1]));
    wire [6:0]  sh0 = (bl > 7'd31) ? bl - 7'd31 : 7'd0;
    // One rounding shifter per product for every use (none overlap): entries by E, sigma
    // (alpha's halves by the rsqrt's exponent), S_T1's d, g to 30 bits, S_R2's cos2, sin2
    // (|sin2| < 2^23), S_R4's c, s, the U products; uses add over 32 bits or saturate.
    wire r4 = op_q != OP_U && state_q == S_R4, t1 = state_q == S_T1, xq = s2_x_i[8];
    wire a96 = op_q == OP_ENT || op_q == OP_SIG || (xq && s2_x_i[7]);
    // pa + pb 2^32: sigma's halves, other clients' (an entry's pa + sigma is ad_s's)
    wire [95:0] hl = 96'(pa) + (96'(pb) <<< 32);
    wire [96:0] qa = rq96((op_q == OP_ENT) ? 96'($signed(ad_s[66:1])) : a96 ? hl
                          : (t1 ? 96'(d0) : 96'($signed(pa[63:0]))),
        xq ? s2_x_i[6:0] : a96 ? ((op_q == OP_SIG) ? ey_q[6:0] : e_o[6:0])
            : (t1 ? sh1 : (r4 ? shr(ey_q, 10) : shr(ey_q, CS))));
    assign s2_q_o = qa;
    wire [96:0] qb = rq96(
        (op_q == OP_ENT) ? 96'(pb) : (t1 ? 96'(g0) : 96'($signed(pb[63:0]))),
        (op_q == OP_ENT) ? e_o[6:0] : (t1 ? sh1 : (r4 ? shr(ey_q, 11) : shr(ey_q, CS))));
    wire [31:0] rn_a = qa[31:0] + {31'd0, qa[96]}, rn_b = qb[31:0] + {31'd0, qb[96]};
    wire [31:0] cc4 = ((32'd1 << CS) + rn_b) << 1;  // rn_b: cos2
    wire [63:0] sum_b = (fb_q ? 64'd0 : alpha_1) + pb[63:0];
    wire [96:0] rot_c = rq96(96'($signed(rot_s)), 7'(CS));
    task automatic stage2;  // A's two write ports: an entry (A, B), a rotated A (A)
        if (op_q == OP_ENT || (rot_w && !fa_q))
            a_q[ia_q] <= (op_q == OP_ENT) ? AW'(rn_a) : AW'(satw(rot_c, AW));
        if (op_q == OP_ENT && vb_q) a_q[ib_q] <= AW'(rn_b);
        case (op_q)
            OP_BOUND: e_o <= (bl > 7'(WC - 1)) ? 8'(bl - 7'(WC - 1)) : 8'd0;
            // a pair's dot-product sums (S_DOT) or a column's alpha terms (S_AL)
            OP_DOT, OP_ALPHA: begin
                sum_q[SW'(ia_q)] <= sum_a;
                if (vb_q) sum_q[SW'(ib_q)] <= sum_b;
            end
            OP_ROTI, OP_ROTJ: if (fa_q) v_q[ia_q] <= 24'(satw(rot_c, 24));
            OP_SIG: sig_q[ia_q[QW-1:0]] <= fa_q ? 32'd0 : rn_a;
            OP_U: begin
                u_q[ia_q] <= fa_q ? 24'sd0 : 24'(satw(qa, 24));
                if (vb_q) u_q[ib_q] <= fa_q ? 24'sd0 : 24'(satw(qb, 24));
            end
            default: ;
        endcase
    endtask

    // ---------------------------------------------------------------- sequencing
    task automatic next_pair;  // after a pair's skip or rotation
        {pi_q, pj_q} <= {npi, npj};
        if (sw_end) sweep_q <= sweep_q + 1'b1;
        {cnt_q, state_q} <= pair_last ? {8'(NE), S_AL} : {8'(ND), S_DOT};
        {x_q, ri_q, ci_q, rb_q, kind_q} <= '0;
    endtask
    integer x;
    always @(posedge clk_i) begin
        if (rst_i) begin
            state_q <= S_IDLE;
            {op_q, adm_q, uact_q, rotations_o, e_o} <= '0;  // op_q 0: nothing
        end else begin
            {op_q, ia_q, ib_q, vb_q, fa_q, fb_q, add_q} <= {op_d, ia_d, ib_d, vb_d, fa_d, fb_d,
                                                            add_d};
            adm_q <= {op_d == OP_DOT || op_d == OP_ALPHA, op_d == OP_BOUND || op_d == OP_ENT,
                      op_d == OP_ROTI};  // decoded a cycle early: off the adder's path
            stage2();
            if (scan) {amax_q, sc_q} <= {(alpha_1 > amax_q) ? alpha_1 : amax_q, sc_q + 1'b1};
            if (uact_q) {ub_q, ucnt_q, uact_q} <= {ub_q + XW'(2*Q), ucnt_q - 1'b1, ucnt_q != 4'd1};
            case (state_q)
                S_IDLE: if (start_i) begin
                    for (x = 0; x < Q; x = x + 1)
                        {av_q[x], bv_q[x], sg_q[x]} <= {a_i[x*CIN_W +: CIN_W],
                            b_i[x*CIN_W +: CIN_W], (x < RANK) ? sigma_i[x*SIG_W +: SIG_W] : '0};
                    for (x = 0; x < QQ; x = x + 1)  // V = I, U = 0
                        {v_q[x], u_q[x]} <= {(x % (Q + 1) == 0) ? 24'sd4194304 : 24'sd0, 24'sd0};
                    {rotations_o, sweep_q, pi_q, pj_q} <= {16'd0, 4'd0, QW'(0), QW'(1)};
                    state_q <= S_MAX;
                end
                S_MAX: {maxa_q, maxb_q, state_q} <= {maxa_c, maxb_c, S_BND};
                S_BND: {x_q, ri_q, ci_q, cnt_q, state_q} <= {XW'(0), QW'(0), QW'(0), 8'(NE),
                                                             S_ENT};
                S_ENT, S_AL: begin
                    {x_q, ri_q, ci_q, cnt_q} <= {x_q + XW'(2), ri2, ci2, cnt_q - 1'b1};
                    if (cnt_q == 8'd1) state_q <= (state_q == S_ENT) ? S_EDR : S_ADR;
                end
                S_EDR: {cnt_q, rb_q, kind_q, state_q} <= {8'(ND), XW'(0), 2'd0, S_DOT};
                S_DOT: begin  // the terms go alpha, beta, gamma row by row
                    kind_q <= (kind_q == 2'd0) ? 2'd2 : ((kind_q == 2'd1) ? 2'd0 : 2'd1);
                    if (kind_q != 2'd0) rb_q <= rb_q + XW'(Q);
                    cnt_q <= cnt_q - 1'b1;
                    if (cnt_q == 8'd1) state_q <= S_DDR;
                end
                S_DDR: state_q <= S_T0;
                S_T0: begin  // the common rescale of alpha, beta, gamma
                    {al_q, be_q} <= {32'(sum_q[0] >> sh0), 32'(sum_q[1] >> sh0)};
                    {ga_q, state_q} <= {32'($signed(sum_q[2]) >>> sh0), S_T1};
                end
                S_T1: {dd_q, gg_q, state_q} <= {rn_a, rn_b, S_T2};  // d, g rounded to 30 bits
                S_T2: if (skip) next_pair(); else state_q <= S_T3;
                S_T3: {rotations_o, state_q} <= {rotations_o + 1'b1, S_R1};
                S_R1, S_R3: if (rsq_done)
                    {ey_q, state_q} <= {rsq_e, (state_q == S_R1) ? S_R2 : S_R4};
                S_R2: {sin2_q, cc4_q, state_q} <= {rn_a, cc4, S_R3};
                S_R4: begin
                    {c_q, s_q, cnt_q, rb_q, half_q, onv_q} <= {rn_a, rn_b, 8'(4*Q), XW'(0), 2'b00};
                    state_q <= S_ROT;
                end
                S_ROT: begin  // A's rows, then V's
                    half_q <= !half_q;
                    if (half_q) begin
                        rb_q <= (rb_q == XW'((Q - 1) * Q)) ? '0 : rb_q + XW'(Q);
                        if (rb_q == XW'((Q - 1) * Q)) onv_q <= 1'b1;
                    end
                    cnt_q <= cnt_q - 1'b1;
                    if (cnt_q == 8'd1) next_pair();
                end
                S_ADR: state_q <= S_AMAX;  // rsqrt(alpha_0) starts at S_AMAX's edge
                S_AMAX: {amax_q, col_q, sc_q, state_q} <= {amax_c, QW'(0), (QW+1)'(1), S_COL};
                S_COL: if (rsq_done) begin  // rsqrt(alpha_col+1) starts at this edge
                    {ey_q, yv_q} <= {rsq_e, rsq_y};
                    {uact_q, uflush_q, ucol_q, ub_q} <= {1'b1, flush, col_q, XW'(0)};
                    ucnt_q <= 4'((Q + 1) / 2);
                    if (col_q == QW'(Q - 1)) state_q <= S_SDR;
                    else col_q <= col_q + 1'b1;
                end
                S_SDR: state_q <= S_IDLE;  // sort_net takes over
                default: state_q <= S_IDLE;
            endcase
        end
    end
endmodule

`resetall
