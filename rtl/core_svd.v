// Core SVD of the low-rank update unit: block-floating core C = diag(sigma, 0) + a b^T,
// one-sided Jacobi (SWEEPS row-cyclic sweeps), singular values and left vectors, and a
// descending sort. Specification: docs/hw-spec.md section 5 steps 6-9; golden model
// pysim/hw/lrt_unit.py (LrtUnit.core, jacobi, post, sort). Cycle-exact to the spec:
// start_i is sampled at a rising edge, done_o is high for one cycle after
// core + jacobi + post + sort cycles of section 7.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module core_svd #(
    parameter bit EXT_RSQ  = 1'b0,  // use the rsq_* ports: one rsqrt shared by all
    parameter int RANK   = 4,
    parameter int LANES  = 8,
    parameter int WC     = 24,  // core mantissa width
    parameter int SWEEPS = 4,
    parameter int CIN_W  = 32,  // Gram-Schmidt coefficients and norms (signed)
    parameter int SIG_W  = 64   // sigma registers (unsigned)
) (
    input  wire                   clk_i,
    input  wire                   rst_i,
    // The shared rsqrt (EXT_RSQ = 1) or this block's own (0, when the block stands alone).
    output wire                        rsq_start_o,
    output wire [127:0]                rsq_t_o,
    input  wire [25:0]                 rsq_y_i,
    input  wire [7:0]                  rsq_e_i,
    input  wire                        rsq_done_i,
    input  wire                   start_i,
    input  wire [(RANK+1)*CIN_W-1:0] a_i,      // c_l..., n_l
    input  wire [(RANK+1)*CIN_W-1:0] b_i,      // c_r..., n_r
    input  wire [RANK*SIG_W-1:0]  sigma_i,
    output reg                    done_o,
    output reg  [7:0]             e_o,          // block exponent E
    output wire [(RANK+1)*32-1:0] sig_o,        // singular values (core units), by column
    output wire [(RANK+1)*(RANK+1)*24-1:0] u_o, // U[k][j] at index k*q + j, Q2.22
    output wire [(RANK+1)*(RANK+1)*24-1:0] v_o, // V[k][j]
    output wire [(RANK+1)*4-1:0]  order_o,      // column indices, descending sigma
    output reg  [15:0]            rotations_o   // rotations applied in this run
);
    `include "fixed_fns.vh"
    localparam int Q     = RANK + 1;
    localparam int AW    = WC + 3;   // core entries with rotation growth
    localparam int CS    = 22;
    localparam int QW    = (Q > 1) ? $clog2(Q) : 1;  // index of a column
    localparam int CEIL_Q  = (Q + LANES - 1) / LANES;
    localparam int CEIL_3Q = (3 * Q + LANES - 1) / LANES;
    localparam int CEIL_8Q = (8 * Q + LANES - 1) / LANES;

    // ---------------------------------------------------------------- arithmetic
    // Round half to even of a >> s (s <= 0: exact left shift), 128-bit signed.



    function automatic [127:0] absval(input signed [127:0] a);
        absval = a[127] ? -a : a;
    endfunction

    // ---------------------------------------------------------------- state
    reg signed [AW-1:0] a_q [0:Q*Q-1];   // core, row k column j at k*Q + j
    reg signed [23:0]   v_q [0:Q*Q-1];
    reg signed [23:0]   u_q [0:Q*Q-1];
    reg [63:0]          alpha_q [0:Q-1];
    reg [31:0]          sig_q [0:Q-1];
    reg [QW-1:0]        order_q [0:Q-1];

    genvar gi;
    generate
        for (gi = 0; gi < Q * Q; gi = gi + 1) begin : g_out
            assign u_o[gi*24 +: 24] = u_q[gi];
            assign v_o[gi*24 +: 24] = v_q[gi];
        end
        for (gi = 0; gi < Q; gi = gi + 1) begin : g_sig
            assign sig_o[gi*32 +: 32] = sig_q[gi];
            assign order_o[gi*4 +: 4] = 4'(order_q[gi]);
        end
    endgenerate

    localparam logic [3:0] S_IDLE = 4'd0, S_CORE = 4'd1, S_DOT = 4'd2, S_TEST = 4'd3,
                           S_RSQ1 = 4'd4, S_RSQ2 = 4'd5, S_CS = 4'd6, S_ROT = 4'd7,
                           S_ALPHA = 4'd8, S_RSQ3 = 4'd9, S_PU = 4'd10, S_SORT = 4'd11;
    reg [3:0]  state_q;
    reg [15:0] wait_q;          // remaining edges of a multi-cycle state
    reg [QW-1:0] pi_q, pj_q;    // Jacobi pair
    reg [3:0]  sweep_q;
    reg [QW-1:0] col_q;         // post-processing column
    reg [7:0]  ce_q;            // sort compare-exchange index
    reg signed [127:0] d_q, g_q, sin2_q, cc4_q, c_q, s_q;

    // ---------------------------------------------------------------- rsqrt unit
    reg         rsq_start;
    reg [127:0] rsq_t;
    wire [25:0] rsq_y;
    wire [7:0]  rsq_e;
    wire        rsq_done;
    assign rsq_start_o = rsq_start;
    assign rsq_t_o = rsq_t;
    rsqrt_share #(.EXT(EXT_RSQ), .TW(128)) u_rsqrt (
        .clk_i(clk_i), .rst_i(rst_i), .start_i(rsq_start), .t_i(rsq_t), .y_o(rsq_y),
        .e_o(rsq_e), .done_o(rsq_done), .ext_y_i(rsq_y_i), .ext_e_i(rsq_e_i),
        .ext_done_i(rsq_done_i));

    // ---------------------------------------------------------------- combinational
    // Dot products of the current pair's columns and their common rescale.
    reg signed [127:0] alpha_c, beta_c, gamma_c, al_c, be_c, ga_c;
    reg [127:0] mx_c;
    integer k, sh_c;
    always @* begin
        alpha_c = '0;
        beta_c = '0;
        gamma_c = '0;
        for (k = 0; k < Q; k = k + 1) begin
            alpha_c = alpha_c + 128'(a_q[k*Q + 32'(pi_q)]) * 128'(a_q[k*Q + 32'(pi_q)]);
            beta_c  = beta_c  + 128'(a_q[k*Q + 32'(pj_q)]) * 128'(a_q[k*Q + 32'(pj_q)]);
            gamma_c = gamma_c + 128'(a_q[k*Q + 32'(pi_q)]) * 128'(a_q[k*Q + 32'(pj_q)]);
        end
        mx_c = (alpha_c > beta_c) ? alpha_c : beta_c;
        if (absval(gamma_c) > mx_c) mx_c = absval(gamma_c);
        sh_c = (bitlen(mx_c) > 31) ? bitlen(mx_c) - 31 : 0;
        al_c = alpha_c >>> sh_c;
        be_c = beta_c >>> sh_c;
        ga_c = gamma_c >>> sh_c;
    end
    wire skip_c = (ga_c * ga_c) <= ((al_c * be_c) >>> (2 * WC));

    // Angle: d, g rounded to 30 bits; h^2 = d^2 + g^2.
    reg signed [127:0] d0_c, g0_c, d_c, g_c;
    integer sh2_c;
    always @* begin
        d0_c = be_c - al_c;
        g0_c = ga_c <<< 1;
        sh2_c = (absval(d0_c) > absval(g0_c)) ? bitlen(absval(d0_c)) : bitlen(absval(g0_c));
        sh2_c = (sh2_c > 30) ? sh2_c - 30 : 0;
        d_c = rne(d0_c, sh2_c);
        g_c = rne(g0_c, sh2_c);
    end
    // cos2, sin2 from h^-1 = rsq_y·2^-rsq_e; cc4 = cos^2(theta) in Q.24.
    wire signed [127:0] sin2_c = rne((d_q >= 0 ? g_q : -g_q) * 128'(rsq_y), 32'(rsq_e) - CS);
    wire signed [127:0] cc4_c = ((128'sd1 <<< CS) +
                                 rne(128'(absval(d_q)) * 128'(rsq_y), 32'(rsq_e) - CS)) <<< 1;

    // Next Jacobi pair in row-cyclic order; pair_last: the sweeps are over.
    reg [QW-1:0] npi_c, npj_c;
    reg [3:0] nsweep_c;
    reg       pair_last_c;
    always @* begin
        npi_c = pi_q;
        npj_c = pj_q + 1'b1;
        nsweep_c = sweep_q;
        pair_last_c = 1'b0;
        if (pj_q == QW'(Q - 1)) begin
            if (pi_q == QW'(Q - 2)) begin
                npi_c = '0;
                npj_c = QW'(1);
                nsweep_c = sweep_q + 1'b1;
                pair_last_c = sweep_q == 4'(SWEEPS - 1);
            end else begin
                npi_c = pi_q + 1'b1;
                npj_c = pi_q + QW'(2);
            end
        end
    end

    // Post-processing: the largest alpha and the flush test of column col_q.
    reg [127:0] amax_c;
    integer m;
    always @* begin
        amax_c = '0;
        for (m = 0; m < Q; m = m + 1)
            if (128'(alpha_q[m]) > amax_c) amax_c = 128'(alpha_q[m]);
    end
    wire flush_c = alpha_q[col_q] == 0 || ((128'(alpha_q[col_q]) <<< (2 * (WC - 2))) < amax_c);
    wire [QW-1:0] ord_a = order_q[i_c];
    wire [QW-1:0] ord_b = order_q[i_c + 1];

    // Sort network position of compare-exchange ce_q: pass p, index i. A bounded loop
    // (at most Q-1 passes) so that synthesis can unroll it.
    integer i_c, n_c, pass_c;
    always @* begin
        i_c = 32'(ce_q);
        n_c = Q - 1;
        for (pass_c = 0; pass_c < Q - 1; pass_c = pass_c + 1)
            if (i_c >= n_c && n_c > 0) begin
                i_c = i_c - n_c;
                n_c = n_c - 1;
            end
    end

    // rsqrt operands are issued in the cycle whose edge starts the unit.
    always @* begin
        rsq_start = 1'b0;
        rsq_t = '0;
        if (state_q == S_TEST && !skip_c) begin
            rsq_start = 1'b1;
            rsq_t = 128'(d_c * d_c + g_c * g_c);
        end else if (state_q == S_RSQ1 && rsq_done) begin
            rsq_start = 1'b1;
            rsq_t = 128'(cc4_c);
        end else if ((state_q == S_ALPHA && wait_q == 0) ||
                     (state_q == S_PU && wait_q == 0 && col_q != QW'(Q - 1))) begin
            rsq_start = 1'b1;
            rsq_t = 128'(alpha_q[(state_q == S_ALPHA) ? QW'(0) : col_q + 1'b1]);
        end
    end

    // Core entries: E from max|a|·max|b| + sigma_0, A = rshift(a b^T + diag(sigma), E).
    integer ii, jj, r, ebits_c;
    reg signed [127:0] ent;
    reg [127:0] maxa, maxb, bound;
    reg signed [AW-1:0] core_c [0:Q*Q-1];
    always @* begin
        maxa = 0;
        maxb = 0;
        for (ii = 0; ii < Q; ii = ii + 1) begin
            if (absval(128'($signed(a_i[ii*CIN_W +: CIN_W]))) > maxa)
                maxa = absval(128'($signed(a_i[ii*CIN_W +: CIN_W])));
            if (absval(128'($signed(b_i[ii*CIN_W +: CIN_W]))) > maxb)
                maxb = absval(128'($signed(b_i[ii*CIN_W +: CIN_W])));
        end
        bound = maxa * maxb + 128'(sigma_i[0 +: SIG_W]);
        ebits_c = bitlen(bound) - (WC - 1);
        if (ebits_c < 0) ebits_c = 0;
        for (ii = 0; ii < Q; ii = ii + 1)
            for (jj = 0; jj < Q; jj = jj + 1) begin
                ent = 128'($signed(a_i[ii*CIN_W +: CIN_W])) * 128'($signed(b_i[jj*CIN_W +: CIN_W]));
                if (ii == jj && ii < RANK) ent = ent + 128'(sigma_i[ii*SIG_W +: SIG_W]);
                core_c[ii*Q + jj] = AW'(rne(ent, ebits_c));
            end
    end

    // Rotated columns i, j of A and V with (c_q, s_q).
    reg signed [AW-1:0] rai_c [0:Q-1];
    reg signed [AW-1:0] raj_c [0:Q-1];
    reg signed [23:0]   rvi_c [0:Q-1];
    reg signed [23:0]   rvj_c [0:Q-1];
    reg signed [127:0] ua, va, ub, vb;
    always @* begin
        for (r = 0; r < Q; r = r + 1) begin
            ua = 128'(a_q[r*Q + 32'(pi_q)]);
            va = 128'(a_q[r*Q + 32'(pj_q)]);
            ub = 128'(v_q[r*Q + 32'(pi_q)]);
            vb = 128'(v_q[r*Q + 32'(pj_q)]);
            rai_c[r] = AW'(sat(rne(c_q * ua - s_q * va, CS), AW));
            raj_c[r] = AW'(sat(rne(s_q * ua + c_q * va, CS), AW));
            rvi_c[r] = 24'(sat(rne(c_q * ub - s_q * vb, CS), 24));
            rvj_c[r] = 24'(sat(rne(s_q * ub + c_q * vb, CS), 24));
        end
    end

    // Column norms alpha_j = |A_j|^2.
    reg [63:0] alpha_arr_c [0:Q-1];
    reg signed [127:0] acc;
    always @* begin
        for (jj = 0; jj < Q; jj = jj + 1) begin
            acc = 0;
            for (ii = 0; ii < Q; ii = ii + 1)
                acc = acc + 128'(a_q[ii*Q + jj]) * 128'(a_q[ii*Q + jj]);
            alpha_arr_c[jj] = 64'(acc);
        end
    end

    integer x;
    always @(posedge clk_i) begin
        if (rst_i) begin
            state_q <= S_IDLE;
            done_o <= 1'b0;
            wait_q <= '0;
            rotations_o <= '0;
            e_o <= '0;
            for (x = 0; x < Q * Q; x = x + 1) begin
                a_q[x] <= '0;
                v_q[x] <= '0;
                u_q[x] <= '0;
            end
            for (x = 0; x < Q; x = x + 1) begin
                alpha_q[x] <= '0;
                sig_q[x] <= '0;
                order_q[x] <= QW'(x);
            end
        end else begin
            done_o <= 1'b0;
            case (state_q)
                S_IDLE: if (start_i) begin
                    e_o <= 8'(ebits_c);
                    for (x = 0; x < Q * Q; x = x + 1) begin
                        a_q[x] <= core_c[x];
                        v_q[x] <= (x % (Q + 1) == 0) ? 24'sd4194304 : 24'sd0;
                        u_q[x] <= '0;
                    end
                    for (x = 0; x < Q; x = x + 1) order_q[x] <= QW'(x);
                    rotations_o <= '0;
                    sweep_q <= '0;
                    pi_q <= '0;
                    pj_q <= QW'(1);
                    state_q <= S_CORE;
                    wait_q <= 16'(Q * CEIL_Q);  // 1 + q·ceil(q/P) edges
                end
                S_CORE: begin
                    if (wait_q == 0) begin
                        state_q <= (SWEEPS > 0) ? S_DOT : S_ALPHA;
                        wait_q <= (SWEEPS > 0) ? 16'(CEIL_3Q - 1) : 16'(Q * CEIL_Q - 1);
                    end else wait_q <= wait_q - 1'b1;
                end
                S_DOT: begin
                    if (wait_q == 0) state_q <= S_TEST;
                    else wait_q <= wait_q - 1'b1;
                end
                S_TEST, S_ROT: begin
                    if (state_q == S_TEST && !skip_c) begin
                        d_q <= d_c;        // rsqrt(h^2) starts at this edge
                        g_q <= g_c;
                        state_q <= S_RSQ1;
                    end else if (state_q == S_ROT && wait_q != 0) begin
                        wait_q <= wait_q - 1'b1;
                    end else begin
                        pi_q <= npi_c;
                        pj_q <= npj_c;
                        sweep_q <= nsweep_c;
                        state_q <= pair_last_c ? S_ALPHA : S_DOT;
                        wait_q <= pair_last_c ? 16'(Q * CEIL_Q - 1) : 16'(CEIL_3Q - 1);
                    end
                end
                S_RSQ1: if (rsq_done) begin  // rsqrt(cc4) starts at this edge
                    sin2_q <= sin2_c;
                    cc4_q <= cc4_c;
                    state_q <= S_RSQ2;
                end
                S_RSQ2: if (rsq_done) begin
                    c_q <= rne(cc4_q * 128'(rsq_y), 32'(rsq_e) - (CS + 2) / 2 + 2);
                    s_q <= rne(sin2_q * 128'(rsq_y), 32'(rsq_e) - (CS + 2) / 2 + 1);
                    state_q <= S_CS;
                end
                S_CS: begin
                    for (x = 0; x < Q; x = x + 1) begin
                        a_q[x*Q + 32'(pi_q)] <= rai_c[x];
                        a_q[x*Q + 32'(pj_q)] <= raj_c[x];
                        v_q[x*Q + 32'(pi_q)] <= rvi_c[x];
                        v_q[x*Q + 32'(pj_q)] <= rvj_c[x];
                    end
                    rotations_o <= rotations_o + 1'b1;
                    state_q <= S_ROT;
                    wait_q <= 16'(CEIL_8Q - 1);
                end
                S_ALPHA: begin
                    if (wait_q == 16'(Q * CEIL_Q - 1))
                        for (x = 0; x < Q; x = x + 1) alpha_q[x] <= alpha_arr_c[x];
                    if (wait_q == 0) begin  // rsqrt(alpha_0) starts at this edge
                        state_q <= S_RSQ3;
                        col_q <= '0;
                    end else wait_q <= wait_q - 1'b1;
                end
                S_RSQ3: if (rsq_done) begin
                    for (x = 0; x < Q; x = x + 1)
                        u_q[x*Q + 32'(col_q)] <= flush_c ? 24'sd0 :
                            24'(sat(rne(128'(a_q[x*Q + 32'(col_q)]) * 128'(rsq_y),
                                        32'(rsq_e) - CS), 24));
                    sig_q[col_q] <= flush_c ? 32'd0 :
                        32'(rne(128'(alpha_q[col_q]) * 128'(rsq_y), 32'(rsq_e)));
                    state_q <= S_PU;
                    wait_q <= 16'(CEIL_Q - 1);
                end
                S_PU: begin
                    if (wait_q == 0) begin
                        if (col_q == QW'(Q - 1)) begin
                            state_q <= S_SORT;
                            ce_q <= '0;
                        end else begin  // rsqrt(alpha_{col+1}) starts at this edge
                            col_q <= col_q + 1'b1;
                            state_q <= S_RSQ3;
                        end
                    end else wait_q <= wait_q - 1'b1;
                end
                S_SORT: begin
                    if (sig_q[ord_a] < sig_q[ord_b]) begin
                        order_q[i_c] <= ord_b;
                        order_q[i_c + 1] <= ord_a;
                    end
                    if (ce_q == 8'(Q * (Q - 1) / 2 - 1)) begin
                        state_q <= S_IDLE;
                        done_o <= 1'b1;
                    end
                    ce_q <= ce_q + 1'b1;
                end
                default: state_q <= S_IDLE;
            endcase
        end
    end
endmodule

`resetall
