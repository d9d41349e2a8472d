// Unbiased rank reduction (Benzing et al.'s optimal Kronecker sum) on integers: from the
// core SVD's singular values, left/right vectors and sort order, the q x r rotations
// T_L, T_R (Q2.22) and the r new values, with q random signs from the LFSR.
// Specification: docs/hw-spec.md section 5 step 10 and "How the reduction runs"; golden
// model pysim/hw/reduce_ok.py. It runs on the scalar unit: two 32x32 multipliers
// (scalar_mul, products registered: stage 1), a stage 2 that rounds and writes, a small
// register file (s, tail, x0, M, T) and the shared rsqrt; k*s is a shift-add.
// Latency (edges after start): q + r + 1, plus, unless the tail is zero,
// (k+3)(RSQ+1) + 3 + k(2 + ceil((k+1)/2)) + q k (k+1).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module reduce_ok #(
    parameter bit EXT_RSQ = 1'b0,  // use the rsq_* ports: one rsqrt shared by all
    parameter bit EXT_MUL = 1'b0,  // use the smul_* ports: lrt_unit's scalar multipliers
    parameter int RANK    = 4
) (
    input  wire                          clk_i,
    input  wire                          rst_i,
    // The shared rsqrt (EXT_RSQ = 1) or this block's own (0, when the block stands alone).
    output reg                           rsq_start_o,
    output reg  [127:0]                  rsq_t_o,
    input  wire [25:0]                   rsq_y_i,
    input  wire [7:0]                    rsq_e_i,
    input  wire                          rsq_done_i,
    output wire [135:0]                smul_x_o,  // {xa, ya, xb, yb}, zero when idle
    input  wire [129:0]                smul_p_i,  // {pa, pb} of the previous cycle
    // Stage 2's rounding on core_svd's shifter (EXT_MUL = 1): {req, hl, s}, rq96's answer.
    output wire [8:0]                  s2_x_o,
    input  wire [96:0]                 s2_q_i,
    input  wire                          start_i,
    // Biased selection while idle: T = the sorted columns of U, V (first r) and the new
    // values the sorted sigma, at this edge, on the registers and multiplexers of S_DEC.
    input  wire                          load_i,
    input  wire [(RANK+1)*32-1:0]        sig_i,    // singular values by column
    input  wire [(RANK+1)*4-1:0]         order_i,  // columns in descending order
    // U[i][j] at (i*q + j)*24; U and V are read when T is formed, not at start_i:
    // they are core_svd's output registers, which hold them until the next sample.
    input  wire [(RANK+1)*(RANK+1)*24-1:0] u_i,
    input  wire [(RANK+1)*(RANK+1)*24-1:0] v_i,
    input  wire [15:0]                   lfsr_i,
    output wire [(RANK+1)*RANK*24-1:0]   tl_o,     // T_L[i][t] at (i*r + t)*24
    output wire [(RANK+1)*RANK*24-1:0]   tr_o,
    output wire [RANK*40-1:0]            sig_o,    // new values
    output reg  [15:0]                   lfsr_o,
    output reg  [3:0]                    k_o,      // slots of the tail (0: zero tail)
    output reg                           done_o
);
    `include "scalar_fns.vh"
    localparam int Q  = RANK + 1;
    localparam int R  = RANK;
    localparam int QQ = Q * Q;
    localparam int CS = 22;
    localparam int OW = 34;                  // scalar_mul operands
    localparam int QW = $clog2(Q);           // index of s, tail, x0, a row
    localparam int UW = $clog2(QQ);          // index of U, V
    localparam int MW = $clog2(Q * R);       // index of M, T

    function automatic [24:0] recip(input [3:0] k);  // round(2^24 / k), k = 1..8
        case (k)
            4'd1: recip = 25'd16777216;
            4'd2: recip = 25'd8388608;
            4'd3: recip = 25'd5592405;
            4'd4: recip = 25'd4194304;
            4'd5: recip = 25'd3355443;
            4'd6: recip = 25'd2796203;
            4'd7: recip = 25'd2396745;
            default: recip = 25'd2097152;
        endcase
    endfunction
    // Narrowings as functions: Yosys sizes a cast inside an expression at its operand's
    // width (docs/architecture.md, "Synthesis reads the RTL as simulated").
    /* verilator lint_off UNUSEDSIGNAL */
    function automatic [QW-1:0] qx(input [3:0] v); qx = QW'(v); endfunction
    function automatic [MW-1:0] mx(input [3:0] v); mx = MW'(v); endfunction
    /* verilator lint_on UNUSEDSIGNAL */
    function automatic [39:0] kmul(input [3:0] k, input [31:0] s);  // k*s, shift-add
        kmul = (k[0] ? 40'(s) : 40'd0) + (k[1] ? 40'(s) << 1 : 40'd0) +
               (k[2] ? 40'(s) << 2 : 40'd0) + (k[3] ? 40'(s) << 3 : 40'd0);
    endfunction

    // ---------------------------------------------------------------- operands as arrays
    wire signed [23:0] u_w [0:QQ-1];
    wire signed [23:0] v_w [0:QQ-1];
    wire [31:0]        sig_w [0:Q-1];
    reg  signed [23:0] tl_q [0:Q*R-1];
    reg  signed [23:0] tr_q [0:Q*R-1];
    genvar gi;
    generate
        for (gi = 0; gi < QQ; gi = gi + 1) begin : g_uv
            assign u_w[gi] = u_i[gi*24 +: 24];
            assign v_w[gi] = v_i[gi*24 +: 24];
        end
        for (gi = 0; gi < Q; gi = gi + 1) begin : g_sig
            assign sig_w[gi] = sig_i[gi*32 +: 32];
        end
        for (gi = 0; gi < Q * R; gi = gi + 1) begin : g_t
            assign tl_o[gi*24 +: 24] = tl_q[gi];
            assign tr_o[gi*24 +: 24] = tr_q[gi];
        end
    endgenerate

    // ---------------------------------------------------------------- register file
    reg [Q-1:0]  bits_q;
    reg [31:0]   s_q [0:Q-1];              // sigma in sorted order
    reg [3:0]    ord_q [0:Q-1];
    reg [39:0]   tail_q [0:Q-1];
    reg          found_q;
    reg [3:0]    m_q, k_q;
    reg [MW-1:0] pr_q, mrb_q;              // p*R in the m test; m*R
    reg [39:0]   s1_q, num_q;
    reg [25:0]   y1_q;
    reg [7:0]    e1_q, e2_q, e3_q;
    reg [47:0]   root_q;                   // sqrt(num) in Q.24 < 2^43
    reg [22:0]   x0_q [0:Q-1];             // <= 2^22
    reg [31:0]   inv_q, vbi_q;
    reg signed [31:0] mm_q [0:Q*R-1];      // M[p][t] at p*R + t (columns t >= m used)
    reg signed [63:0] accl_q, accr_q;

    // ---------------------------------------------------------------- multipliers
    reg  signed [OW-1:0] xa, ya, xb, yb;
    wire signed [64:0]   pa, pb;
    assign smul_x_o = {xa, ya, xb, yb};
    scalar_mul #(.EXT(EXT_MUL), .OW(OW)) u_mul (
        .clk_i(clk_i), .rst_i(rst_i), .xa_i(xa), .ya_i(ya), .xb_i(xb), .yb_i(yb), .pa_o(pa),
        .pb_o(pb), .ext_pa_i(smul_p_i[129:65]), .ext_pb_i(smul_p_i[64:0]));
    localparam logic [2:0] OP_ROOT = 3'd1, OP_X0 = 3'd2, OP_INV = 3'd3, OP_SLOT = 3'd4,
                           OP_VBI = 3'd5, OP_H = 3'd6, OP_T = 3'd7;
    reg [2:0]    op_d, op_q;               // what stage 2 does (0: nothing)
    reg [MW-1:0] ia_d, ib_d, ia_q, ib_q;   // where products A and B go
    reg          vb_d, vb_q;               // product B is one
    reg [3:0]    f_d, f_q;                 // H: signs of A, B, diagonals; T: first, last

    // ---------------------------------------------------------------- rsqrt
    wire [25:0] rsq_y;
    wire [7:0]  rsq_e;
    wire rsq_done;
    rsqrt_share #(.EXT(EXT_RSQ), .TW(128)) u_rsqrt (
        .clk_i(clk_i), .rst_i(rst_i), .start_i(rsq_start_o), .t_i(rsq_t_o), .y_o(rsq_y),
        .e_o(rsq_e), .done_o(rsq_done), .ext_y_i(rsq_y_i), .ext_e_i(rsq_e_i),
        .ext_done_i(rsq_done_i));

    // ---------------------------------------------------------------- state
    localparam logic [3:0] S_IDLE = 4'd0, S_TAIL = 4'd1, S_M = 4'd2, S_DEC = 4'd3,
                           S_S1 = 4'd4, S_VAL = 4'd5, S_V0 = 4'd6, S_SLOT = 4'd7,
                           S_HV = 4'd8, S_HW = 4'd9, S_HH = 4'd10, S_TD = 4'd11,
                           S_T = 4'd12, S_FIN = 4'd13;
    reg [3:0]    state_q;
    reg [3:0]    j_q;       // tail index, p, value a, Householder column b
    reg [3:0]    a_q, t_q;  // S_HH's and S_T's a; S_T's t
    reg [3:0]    ti_q;      // S_T's row i
    reg [UW-1:0] ub_q;      // i*Q
    reg [MW-1:0] tb_q, hb_q;  // i*R; (m+a)*R
    reg [1:0]    xp_q;      // x0 of value xa_q: its root rounds (2), then root*y1 (1)
    reg [QW-1:0] xa_q;

    // The next rsqrt's numerator s1 - k s_(m+a): a = 0 from S_S1, a + 1 from S_VAL.
    wire [QW-1:0] nj = QW'(m_q + j_q + ((state_q == S_VAL) ? 4'd1 : 4'd0));
    // One k*s: S_M's (r-p) s_p, else k s_(m+a) of the numerator.
    wire        s_m = state_q == S_M;
    wire [39:0] ks = kmul(s_m ? 4'(R) - j_q : k_q, s_q[s_m ? qx(j_q) : nj]);
    wire [39:0] nn = s1_q - ks;
    // v_a = x0_a (+ 2^22 for a = 0) of S_HV (a = b) and S_HH (a, a + 1).
    wire [23:0] vb_v = 24'(x0_q[qx(j_q)]);
    wire [23:0] va_v = (a_q == 0) ? 24'(x0_q[0]) + 24'(1 << CS) : 24'(x0_q[qx(a_q)]);
    wire [23:0] va1_v = 24'(x0_q[QW'(a_q + 1'b1)]);
    wire        hb_ok = a_q + 1'b1 <= k_q;
    // S_T's operands: U_sorted[i][m+a], V_sorted[i][m+a], M[m+a][t].
    wire [UW-1:0] uix = ub_q + UW'(ord_q[QW'(m_q + a_q)]);
    wire signed [31:0] m_el = mm_q[hb_q + mx(t_q)];
    // The sort order T's columns follow: the operand while idle (load_i), else as latched.
    wire [3:0] ord_c [0:Q-1];
    generate
        for (gi = 0; gi < Q; gi = gi + 1) begin : g_ord
            assign ord_c[gi] = (state_q == S_IDLE) ? order_i[gi*4 +: 4] : ord_q[gi];
        end
    endgenerate

    // ---------------------------------------------------------------- stage 1: issue
    always @* begin
        {xa, ya, xb, yb} = '0;
        {op_d, ia_d, ib_d, vb_d, f_d} = '0;
        {rsq_start_o, rsq_t_o} = '0;
        case (state_q)
            S_DEC: if (tail_q[qx(m_q)] != 0) {rsq_start_o, rsq_t_o} = {1'b1, 128'(tail_q[qx(m_q)])};
            S_S1: if (rsq_done) {rsq_start_o, rsq_t_o} = {1'b1, 128'(nn)};
            S_VAL: if (rsq_done) begin  // num_a y2 from num's halves; the next rsqrt
                {xa, ya, xb, yb} = {OW'(num_q[31:0]), OW'(rsq_y), OW'(num_q[39:32]),
                                    OW'(rsq_y)};
                op_d = OP_ROOT;
                rsq_start_o = 1'b1;
                rsq_t_o = (j_q == k_q) ? 128'(x0_q[0]) + 128'(1 << CS) : 128'(nn);
            end
            S_V0: if (rsq_done) {xa, ya, op_d} = {OW'(rsq_y), OW'(rsq_y), OP_INV};
            S_SLOT: begin  // s1 recip(k), from s1's halves
                {xa, ya, xb, yb} = {OW'(s1_q[31:0]), OW'(recip(k_q)), OW'(s1_q[39:32]),
                                    OW'(recip(k_q))};
                op_d = OP_SLOT;
            end
            S_HV: {xa, ya, op_d} = {OW'(vb_v), OW'(inv_q), OP_VBI};
            S_HH: begin  // h for rows m+a, m+a+1 of column m+b-1
                {xa, ya} = {OW'(va_v), OW'(vbi_q)};
                if (hb_ok) {xb, yb} = {OW'(va1_v), OW'(vbi_q)};
                {op_d, ia_d, ib_d, vb_d} = {OP_H, hb_q + mx(m_q + j_q - 1'b1),
                                            hb_q + MW'(R) + mx(m_q + j_q - 1'b1), hb_ok};
                f_d = {a_q == j_q, a_q + 1'b1 == j_q, bits_q[QW'(m_q + a_q)],
                       hb_ok && bits_q[QW'(m_q + a_q + 1'b1)]};
            end
            S_T: begin  // one term of T_L[i][t] and of T_R[i][t]
                {xa, ya, xb, yb} = {OW'(u_w[uix]), OW'(m_el), OW'(v_w[uix]), OW'(m_el)};
                {op_d, ia_d, vb_d} = {OP_T, tb_q + mx(t_q), 1'b1};
                f_d = {2'b00, a_q == 0, a_q == k_q};
            end
            default: ;
        endcase
        if (xp_q == 2'd1) begin  // x0 of value xa_q: root * y1 from root's halves
            {xa, ya, xb, yb} = {OW'(root_q[31:0]), OW'(y1_q), OW'(root_q[47:32]), OW'(y1_q)};
            {op_d, ia_d} = {OP_X0, MW'(xa_q)};
        end
    end

    // ---------------------------------------------------------------- stage 2
    // One rounding shifter (core_svd's product-A shifter, or this block's own alone), for
    // the two halves' product hl (x0 by e1 + 2, the root by e2 - 24, the slot value by 24)
    // or product A (1/x0^2 by 2 e3 - 2 CS); uses add over the bits they keep (rq96).
    wire [6:0]  rq_s = (op_q == OP_X0) ? 7'(e1_q + 8'd2) : ((op_q == OP_ROOT)
                     ? shr(e2_q, 24) : ((op_q == OP_INV) ? shr(8'(2 * e3_q), 2 * CS) : 7'd24));
    wire        rq_on = op_q == OP_X0 || op_q == OP_ROOT || op_q == OP_INV || op_q == OP_SLOT;
    assign s2_x_o = rq_on ? {1'b1, op_q != OP_INV, rq_s} : 9'd0;
    wire [96:0] rq;
    generate
        if (EXT_MUL) begin : g_ext
            wire unused_sign = pa[64] ^ pb[64];  // the products' signs reach only hl
            assign rq = s2_q_i;
        end else begin : g_own
            wire [95:0] hl = (96'(pb) <<< 32) + 96'(pa);   // a product of two halves
            wire unused_q = ^s2_q_i;
            assign rq = rq96((op_q == OP_INV) ? 96'($signed(pa[63:0])) : hl, rq_s);
        end
    endgenerate
    wire [47:0] rn_hl = rq[47:0] + {47'd0, rq[96]};
    wire signed [63:0] ha = (f_q[3] ? 64'sd1 <<< CS : 64'sd0) - rne64(64'(pa), 7'(CS));
    wire signed [63:0] hb = (f_q[2] ? 64'sd1 <<< CS : 64'sd0) - rne64(64'(pb), 7'(CS));
    wire signed [63:0] sl = (f_q[1] ? 64'sd0 : accl_q) + pa[63:0];
    wire signed [63:0] sr = (f_q[1] ? 64'sd0 : accr_q) + pb[63:0];
    wire [39:0] slot = rn_hl[39:0];
    task automatic stage2;
        case (op_q)
            OP_ROOT: root_q <= rn_hl;
            OP_X0: x0_q[qx(4'(ia_q))] <= min22(rq);
            OP_INV: inv_q <= rn_hl[31:0];
            OP_VBI: vbi_q <= 32'(rne64(64'(pa), 7'(CS)));
            OP_H: begin
                mm_q[ia_q] <= 32'(f_q[1] ? -ha : ha);
                if (vb_q) mm_q[ib_q] <= 32'(f_q[0] ? -hb : hb);
            end
            OP_T: begin
                {accl_q, accr_q} <= {sl, sr};
                if (f_q[0]) begin
                    tl_q[ia_q] <= 24'(rne64(sl, 7'(CS)));
                    tr_q[ia_q] <= 24'(rne64(sr, 7'(CS)));
                end
            end
            default: ;
        endcase
    endtask

    // ---------------------------------------------------------------- sequencing
    reg [15:0] lf;                        // q LFSR steps: the signs of the sorted rows
    reg [Q-1:0] bits_c;
    integer x, i, t;
    always @* begin
        lf = lfsr_i;
        for (x = 0; x < Q; x = x + 1) begin
            bits_c[x] = lf[0];
            lf = (lf >> 1) ^ (lf[0] ? 16'hB400 : 16'h0000);
        end
    end
    // T's first columns and the values: S_DEC's copy, or the biased selection (load_i).
    wire ld_t = state_q == S_DEC || (state_q == S_IDLE && load_i && !start_i);
    generate
        for (gi = 0; gi < R; gi = gi + 1) begin : g_val  // one register per value
            reg [39:0] val_q;
            always @(posedge clk_i)
                if (rst_i) val_q <= '0;
                else if (ld_t) val_q <= 40'((state_q == S_DEC) ? s_q[gi] : sig_w[QW'(ord_c[gi])]);
                else if (op_q == OP_SLOT && gi >= m_q) val_q <= slot;
            assign sig_o[gi*40 +: 40] = val_q;
        end
    endgenerate
    // Column ord_c[t] of row i as a q-way choice per entry (constant indices, so that a
    // row's choice never spans the other rows' entries).
    reg signed [23:0] ul_c [0:Q*R-1];
    reg signed [23:0] vl_c [0:Q*R-1];
    integer c;
    always @* begin
        for (i = 0; i < Q; i = i + 1)
            for (t = 0; t < R; t = t + 1) begin
                {ul_c[i*R + t], vl_c[i*R + t]} = '0;
                for (c = 0; c < Q; c = c + 1)
                    if (qx(ord_c[t]) == QW'(c))
                        {ul_c[i*R + t], vl_c[i*R + t]} = {u_w[i*Q + c], v_w[i*Q + c]};
            end
    end
    task automatic load_t;  // T's r columns from the sorted U, V
        for (i = 0; i < Q * R; i = i + 1) {tl_q[i], tr_q[i]} <= {ul_c[i], vl_c[i]};
    endtask
    wire m_hit = ks <= tail_q[qx(j_q)];  // (r-p) s_p <= tail_p

    always @(posedge clk_i) begin
        if (rst_i) begin
            {state_q, done_o, op_q, xp_q, k_o, lfsr_o} <= '0;
        end else begin
            done_o <= 1'b0;
            {op_q, ia_q, ib_q, vb_q, f_q} <= {op_d, ia_d, ib_d, vb_d, f_d};
            stage2();
            if (ld_t) load_t();
            if (xp_q != 0) xp_q <= xp_q - 1'b1;
            case (state_q)
                S_IDLE: if (start_i) begin
                    for (x = 0; x < Q; x = x + 1) begin
                        s_q[x] <= sig_w[QW'(ord_c[x])];
                        ord_q[x] <= ord_c[x];
                    end
                    {bits_q, lfsr_o, j_q, state_q} <= {bits_c, lf, 4'(Q - 1), S_TAIL};
                end
                S_TAIL: begin  // tail_j = tail_(j+1) + s_j, j = q-1 .. 0
                    tail_q[qx(j_q)] <= ((32'(j_q) == Q - 1) ? 40'd0 : tail_q[qx(j_q + 1'b1)]) +
                                   40'(s_q[qx(j_q)]);
                    j_q <= j_q - 1'b1;
                    if (j_q == 0) {j_q, found_q, pr_q, state_q} <= {4'd0, 1'b0, MW'(0), S_M};
                end
                S_M: begin  // m: the first p < r with (r-p) s_p <= tail_p (r-1 if none)
                    if (!found_q && (m_hit || 32'(j_q) == R - 1))
                        {found_q, m_q, mrb_q} <= {1'b1, j_q, pr_q};
                    {j_q, pr_q} <= {j_q + 1'b1, pr_q + MW'(R)};
                    if (32'(j_q) == R - 1) state_q <= S_DEC;
                end
                S_DEC: begin  // columns t < m of T are the sorted U, V; zero tail: all
                    {s1_q, k_q, j_q} <= {tail_q[qx(m_q)], 4'(R) - m_q, 4'd0};
                    k_o <= (tail_q[qx(m_q)] == 0) ? 4'd0 : 4'(R) - m_q;
                    if (tail_q[qx(m_q)] == 0) {done_o, state_q} <= {1'b1, S_IDLE};
                    else state_q <= S_S1;
                end
                S_S1: if (rsq_done) {y1_q, e1_q, num_q, state_q} <= {rsq_y, rsq_e, nn, S_VAL};
                S_VAL: if (rsq_done) begin  // value j: x0 follows on its own (xp_q)
                    {e2_q, xp_q, xa_q} <= {rsq_e, 2'd2, QW'(j_q)};
                    num_q <= nn;
                    j_q <= j_q + 1'b1;
                    if (j_q == k_q) state_q <= S_V0;
                end
                S_V0: if (rsq_done) {e3_q, state_q} <= {rsq_e, S_SLOT};
                S_SLOT: {j_q, state_q} <= {4'd1, S_HV};
                S_HV: state_q <= S_HW;
                S_HW: {a_q, hb_q, state_q} <= {4'd0, mrb_q, S_HH};
                S_HH: begin
                    {a_q, hb_q} <= {a_q + 4'd2, hb_q + MW'(2 * R)};
                    if (a_q + 4'd2 > k_q) begin
                        j_q <= j_q + 1'b1;
                        state_q <= (j_q == k_q) ? S_TD : S_HV;
                    end
                end
                S_TD: {a_q, t_q, ti_q, ub_q, tb_q, hb_q, state_q} <=
                      {4'd0, m_q, 4'd0, UW'(0), MW'(0), mrb_q, S_T};
                S_T: begin
                    if (a_q != k_q) {a_q, hb_q} <= {a_q + 1'b1, hb_q + MW'(R)};
                    else begin
                        {a_q, hb_q} <= {4'd0, mrb_q};
                        if (32'(t_q) != R - 1) t_q <= t_q + 1'b1;
                        else begin
                            {t_q, ti_q, ub_q, tb_q} <= {m_q, ti_q + 1'b1, ub_q + UW'(Q),
                                                        tb_q + MW'(R)};
                            if (32'(ti_q) == Q - 1) state_q <= S_FIN;
                        end
                    end
                end
                S_FIN: {done_o, state_q} <= {1'b1, S_IDLE};  // the last term's stage 2
                default: state_q <= S_IDLE;
            endcase
        end
    end
endmodule

`resetall
