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
    reg signed [31:0]  d32, g32;  // the pair's d, g (30 bits and sign)
    reg signed [127:0] sin2_q, cc4_q, c_q, s_q;
    wire signed [127:0] d_q = 128'(d32);
    wire signed [127:0] g_q = 128'(g32);

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

    // ---------------------------------------------------------------- arithmetic
    // The Jacobi test of pair (i, j) (docs/hw-spec.md §5 step 7): dot products of the
    // columns, their common rescale, the skip test, and the angle's d, g rounded to 30
    // bits with h^2 = d^2 + g^2. Returns {skip, d (32), g (32), h^2 (62)}. Evaluated only
    // in the cycle that registers it (a function, not always @*: simulators then skip the
    // 128-bit arithmetic on every other cycle).
    function automatic [126:0] pair_test(input [QW-1:0] i, input [QW-1:0] j);
        reg signed [127:0] alpha, beta, gamma, al, be, ga, d0, g0, dd, gg;
        reg [127:0] mx;
        integer k, sh, sh2;
        reg skip;
        begin
            alpha = '0;
            beta = '0;
            gamma = '0;
            for (k = 0; k < Q; k = k + 1) begin
                alpha = alpha + 128'(a_q[k*Q + 32'(i)]) * 128'(a_q[k*Q + 32'(i)]);
                beta  = beta  + 128'(a_q[k*Q + 32'(j)]) * 128'(a_q[k*Q + 32'(j)]);
                gamma = gamma + 128'(a_q[k*Q + 32'(i)]) * 128'(a_q[k*Q + 32'(j)]);
            end
            mx = (alpha > beta) ? alpha : beta;
            if (absval(gamma) > mx) mx = absval(gamma);
            sh = (bitlen(mx) > 31) ? bitlen(mx) - 31 : 0;
            al = alpha >>> sh;
            be = beta >>> sh;
            ga = gamma >>> sh;
            skip = (ga * ga) <= ((al * be) >>> (2 * WC));
            d0 = be - al;
            g0 = ga <<< 1;
            sh2 = (absval(d0) > absval(g0)) ? bitlen(absval(d0)) : bitlen(absval(g0));
            sh2 = (sh2 > 30) ? sh2 - 30 : 0;
            dd = rne(d0, sh2);
            gg = rne(g0, sh2);
            pair_test = {skip, dd[31:0], gg[31:0], 62'(dd * dd + gg * gg)};
        end
    endfunction
    reg        skip_q;       // the test of the pair in S_TEST, registered at S_DOT's end
    reg [61:0] h2_q;

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
        if (state_q == S_TEST && !skip_q) begin
            rsq_start = 1'b1;
            rsq_t = 128'(h2_q);
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
    // (Functions, evaluated only in the cycle that registers them.)
    function automatic integer core_e(input [Q*CIN_W-1:0] av, input [Q*CIN_W-1:0] bv,
                                      input [SIG_W-1:0] sig0);
        reg [127:0] maxa, maxb, bound;
        integer ii;
        begin
            maxa = 0;
            maxb = 0;
            for (ii = 0; ii < Q; ii = ii + 1) begin
                if (absval(128'($signed(av[ii*CIN_W +: CIN_W]))) > maxa)
                    maxa = absval(128'($signed(av[ii*CIN_W +: CIN_W])));
                if (absval(128'($signed(bv[ii*CIN_W +: CIN_W]))) > maxb)
                    maxb = absval(128'($signed(bv[ii*CIN_W +: CIN_W])));
            end
            bound = maxa * maxb + 128'(sig0);
            core_e = bitlen(bound) - (WC - 1);
            if (core_e < 0) core_e = 0;
        end
    endfunction
    function automatic signed [AW-1:0] core_entry(input integer ii, input integer jj,
                                                  input integer e);
        reg signed [127:0] ent;
        begin
            ent = 128'($signed(a_i[ii*CIN_W +: CIN_W])) * 128'($signed(b_i[jj*CIN_W +: CIN_W]));
            if (ii == jj && ii < RANK) ent = ent + 128'(sigma_i[ii*SIG_W +: SIG_W]);
            core_entry = AW'(rne(ent, e));
        end
    endfunction

    // Row r of columns i, j of A (sel 0, 1) and of V (2, 3) rotated by (c_q, s_q).
    localparam int RTW = (AW > 24) ? AW : 24;  // an entry of A or of V
    function automatic signed [RTW-1:0] rot_entry(input integer r, input integer sel);
        reg signed [127:0] u, v, mv;
        begin
            u = (sel < 2) ? 128'(a_q[r*Q + 32'(pi_q)]) : 128'(v_q[r*Q + 32'(pi_q)]);
            v = (sel < 2) ? 128'(a_q[r*Q + 32'(pj_q)]) : 128'(v_q[r*Q + 32'(pj_q)]);
            mv = (sel % 2 == 0) ? rne(c_q * u - s_q * v, CS) : rne(s_q * u + c_q * v, CS);
            rot_entry = RTW'(sat(mv, (sel < 2) ? AW : 24));
        end
    endfunction

    // Column norm alpha_j = |A_j|^2.
    function automatic [63:0] alpha_col(input integer jj);
        reg signed [127:0] acc;
        integer ii;
        begin
            acc = 0;
            for (ii = 0; ii < Q; ii = ii + 1)
                acc = acc + 128'(a_q[ii*Q + jj]) * 128'(a_q[ii*Q + jj]);
            alpha_col = 64'(acc);
        end
    endfunction

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
                    e_o <= 8'(core_e(a_i, b_i, sigma_i[0 +: SIG_W]));
                    for (x = 0; x < Q * Q; x = x + 1) begin
                        a_q[x] <= core_entry(x / Q, x % Q,
                                             core_e(a_i, b_i, sigma_i[0 +: SIG_W]));
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
                    if (wait_q == 0) begin  // the pair's test, for S_TEST
                        {skip_q, d32, g32, h2_q} <= pair_test(pi_q, pj_q);
                        state_q <= S_TEST;
                    end else wait_q <= wait_q - 1'b1;
                end
                S_TEST, S_ROT: begin
                    if (state_q == S_TEST && !skip_q) begin
                        state_q <= S_RSQ1;  // rsqrt(h^2) starts at this edge
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
                        a_q[x*Q + 32'(pi_q)] <= AW'(rot_entry(x, 0));
                        a_q[x*Q + 32'(pj_q)] <= AW'(rot_entry(x, 1));
                        v_q[x*Q + 32'(pi_q)] <= 24'(rot_entry(x, 2));
                        v_q[x*Q + 32'(pj_q)] <= 24'(rot_entry(x, 3));
                    end
                    rotations_o <= rotations_o + 1'b1;
                    state_q <= S_ROT;
                    wait_q <= 16'(CEIL_8Q - 1);
                end
                S_ALPHA: begin
                    if (wait_q == 16'(Q * CEIL_Q - 1))
                        for (x = 0; x < Q; x = x + 1) alpha_q[x] <= alpha_col(x);
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
