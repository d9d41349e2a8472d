// Unbiased rank reduction (Benzing et al.'s optimal Kronecker sum) on integers: from the
// core SVD's singular values, left/right vectors and sort order, the q x r rotations
// T_L, T_R (Q2.22) and the r new values, with q random signs from the LFSR.
// Specification: docs/hw-spec.md section 5 step 10 (unbiased); golden model
// pysim/hw/lrt_unit.py:LrtUnit.reduce_unbiased. Latency (edges after start) as the
// model counts: q + r + 1, plus, unless the tail is zero,
// RSQ + (k+1)(RSQ+3) + RSQ + 1 + k(1 + ceil((k+1)/P)) + 1 + 2r*ceil(q^2/P).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module reduce_ok #(
    parameter bit EXT_RSQ  = 1'b0,  // use the rsq_* ports: one rsqrt shared by all
    parameter int RANK  = 4,
    parameter int LANES = 8
) (
    input  wire                          clk_i,
    input  wire                          rst_i,
    // The shared rsqrt (EXT_RSQ = 1) or this block's own (0, when the block stands alone).
    output wire                        rsq_start_o,
    output wire [127:0]                rsq_t_o,
    input  wire [25:0]                 rsq_y_i,
    input  wire [7:0]                  rsq_e_i,
    input  wire                        rsq_done_i,
    input  wire                          start_i,
    input  wire [(RANK+1)*32-1:0]        sig_i,    // singular values by column
    input  wire [(RANK+1)*4-1:0]         order_i,  // columns in descending order
    // U[i][j] at (i*q + j)*24; U and V are read when T is formed, not at start_i:
    // they are core_svd's output registers, which hold them until the next sample.
    input  wire [(RANK+1)*(RANK+1)*24-1:0] u_i,
    input  wire [(RANK+1)*(RANK+1)*24-1:0] v_i,
    input  wire [15:0]                   lfsr_i,
    output reg  [(RANK+1)*RANK*24-1:0]   tl_o,     // T_L[i][t] at (i*r + t)*24
    output reg  [(RANK+1)*RANK*24-1:0]   tr_o,
    output reg  [RANK*40-1:0]            sig_o,    // new values
    output reg  [15:0]                   lfsr_o,
    output reg  [3:0]                    k_o,      // slots of the tail (0: zero tail)
    output reg                           done_o
);
    `include "fixed_fns.vh"
    localparam int Q   = RANK + 1;
    localparam int R   = RANK;
    localparam int CS  = 22;
    localparam int CEIL_QQ = (Q * Q + LANES - 1) / LANES;


    function automatic [31:0] recip(input integer k);  // round(2^24 / k), k = 1..8
        case (k)
            1: recip = 32'd16777216;
            2: recip = 32'd8388608;
            3: recip = 32'd5592405;
            4: recip = 32'd4194304;
            5: recip = 32'd3355443;
            6: recip = 32'd2796203;
            7: recip = 32'd2396745;
            default: recip = 32'd2097152;
        endcase
    endfunction

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

    // ---------------------------------------------------------------- phase A (combinational)
    reg [15:0]   lf;
    reg [Q-1:0]  bits_c;
    reg [63:0]   s_c [0:Q-1];
    reg [63:0]   tail_c [0:Q];
    integer      m_c, p;
    reg          found;
    always @* begin
        lf = lfsr_i;
        for (p = 0; p < Q; p = p + 1) begin
            bits_c[p] = lf[0];
            lf = (lf >> 1) ^ (lf[0] ? 16'hB400 : 16'h0000);
        end
        for (p = 0; p < Q; p = p + 1) s_c[p] = 64'(sig_i[32'(order_i[p*4 +: 4])*32 +: 32]);
        tail_c[Q] = '0;
        for (p = Q - 1; p >= 0; p = p - 1) tail_c[p] = tail_c[p+1] + s_c[p];
        m_c = R - 1;
        found = 1'b0;
        for (p = 0; p < R; p = p + 1)
            if (!found && 64'(R - p) * s_c[p] <= tail_c[p]) begin
                m_c = p;
                found = 1'b1;
            end
    end

    // ---------------------------------------------------------------- state
    reg [Q-1:0]  bits_q;
    reg [63:0]   s_q [0:Q-1];
    reg [3:0]    order_q [0:Q-1];
    integer      m_q, k_q;
    reg [63:0]   s1_q;
    reg [25:0]   y1_q;
    reg [7:0]    e1_q;
    reg [127:0]  x0_q [0:Q-1];     // x0 of tail value a (index a = j - m)
    reg [127:0]  root_q;
    reg signed [127:0] inv_q;
    reg signed [127:0] m_mat [0:Q*R-1];  // M[p][t]
    integer      idx_q;             // tail value being processed (0..k)
    integer      col_q;             // H column being built (1..k)

    localparam logic [3:0] S_IDLE = 4'd0, S_A = 4'd1, S_S1 = 4'd2, S_X = 4'd3,
                           S_ROOT = 4'd4, S_X0 = 4'd5, S_INV = 4'd6, S_H = 4'd7,
                           S_SLOT = 4'd8, S_T = 4'd9;
    reg [3:0]  state_q;
    reg [15:0] wait_q;

    wire [127:0] num_c = 128'(s1_q) - 128'(k_q) * 128'(s_q[m_q + idx_q]);
    wire [127:0] v0_c  = x0_q[0] + (128'd1 << CS);

    // rsqrt starts: s1 at the second-to-last edge of phase A (it is known after the first
    // edge; a zero tail needs none), num_j when the previous value is done, v_0 after the
    // last tail value.
    always @* begin
        rsq_start = 1'b0;
        rsq_t = '0;
        if (state_q == S_A && wait_q == 1 && s1_q != 0) begin
            rsq_start = 1'b1;
            rsq_t = 128'(s1_q);
        end else if ((state_q == S_S1 && rsq_done) || (state_q == S_X0 && idx_q < k_q)) begin
            rsq_start = 1'b1;
            rsq_t = (state_q == S_S1) ? 128'(s1_q) - 128'(k_q) * 128'(s_q[m_q])
                                      : 128'(s1_q) - 128'(k_q) * 128'(s_q[m_q + idx_q + 1]);
        end else if (state_q == S_X0 && idx_q == k_q) begin
            rsq_start = 1'b1;
            rsq_t = v0_c;
        end
    end

    // x0 of the current tail value from root_q and y1/e1.
    wire [127:0] x0_raw = 128'(rne(128'(root_q) * 128'(y1_q), 32'(e1_q) + 2));
    wire [127:0] x0_c   = (x0_raw > (128'd1 << CS)) ? (128'd1 << CS) : x0_raw;

    // Householder column col_q of M: h_a = delta_{a,col}·2^22 - rshift(v_a·vb_inv, 22),
    // with vb_inv = rshift(v_col·inv, 22) and the row's LFSR sign; and the T products.
    // Both are formed only in the state that registers them (S_H, S_T), so that
    // simulators skip their 128-bit arithmetic in every other cycle.
    reg signed [127:0] v_a, vb_inv, h;
    reg signed [127:0] hcol_c [0:Q-1];
    integer i, t, a;
    always @* begin
        vb_inv = '0;
        v_a = '0;
        h = '0;
        for (a = 0; a < Q; a = a + 1) hcol_c[a] = '0;
        if (state_q == S_H) begin
            vb_inv = rne(128'(x0_q[col_q]) * inv_q, CS);
            for (a = 0; a < Q; a = a + 1) begin
                v_a = (a == 0) ? 128'(x0_q[0]) + (128'sd1 <<< CS) : 128'(x0_q[a]);
                h = ((a == col_q) ? (128'sd1 <<< CS) : 128'sd0) - rne(v_a * vb_inv, CS);
                hcol_c[a] = (m_q + a < Q && bits_q[m_q + a]) ? -h : h;
            end
        end
    end
    reg signed [127:0] tl_c [0:Q*R-1];
    reg signed [127:0] tr_c [0:Q*R-1];
    always @* begin
        for (i = 0; i < Q; i = i + 1)
            for (t = 0; t < R; t = t + 1) begin
                tl_c[i*R + t] = '0;
                tr_c[i*R + t] = '0;
                if (state_q == S_T)
                    for (p = 0; p < Q; p = p + 1) begin
                        tl_c[i*R + t] = tl_c[i*R + t] +
                            128'($signed(u_i[(i*Q + 32'(order_q[p]))*24 +: 24])) * m_mat[p*R + t];
                        tr_c[i*R + t] = tr_c[i*R + t] +
                            128'($signed(v_i[(i*Q + 32'(order_q[p]))*24 +: 24])) * m_mat[p*R + t];
                    end
            end
    end

    integer x, y;
    always @(posedge clk_i) begin
        if (rst_i) begin
            state_q <= S_IDLE;
            wait_q <= '0;
            done_o <= 1'b0;
            tl_o <= '0;
            tr_o <= '0;
            sig_o <= '0;
            lfsr_o <= '0;
            k_o <= '0;
            m_q <= 0;
            k_q <= 0;
            idx_q <= 0;
            col_q <= 0;
            s1_q <= '0;
            y1_q <= '0;
            e1_q <= '0;
            root_q <= '0;
            inv_q <= '0;
            bits_q <= '0;
            for (x = 0; x < Q; x = x + 1) begin
                s_q[x] <= '0;
                order_q[x] <= '0;
                x0_q[x] <= '0;
            end
            for (x = 0; x < Q * R; x = x + 1) m_mat[x] <= '0;
        end else begin
            done_o <= 1'b0;
            case (state_q)
                S_IDLE: if (start_i) begin
                    bits_q <= bits_c;
                    lfsr_o <= lf;
                    for (x = 0; x < Q; x = x + 1) begin
                        s_q[x] <= s_c[x];
                        order_q[x] <= order_i[x*4 +: 4];
                    end
                    m_q <= m_c;
                    k_q <= R - m_c;
                    s1_q <= tail_c[m_c];
                    state_q <= S_A;
                    wait_q <= 16'(Q + R + 1 - 1);
                end
                S_A: begin
                    if (wait_q == 0) begin
                        if (s1_q == 0) begin
                            // Zero tail: keep the sorted columns, as the biased reduction.
                            for (x = 0; x < Q; x = x + 1)
                                for (y = 0; y < R; y = y + 1) begin
                                    tl_o[(x*R + y)*24 +: 24] <= u_i[(x*Q + 32'(order_q[y]))*24 +: 24];
                                    tr_o[(x*R + y)*24 +: 24] <= v_i[(x*Q + 32'(order_q[y]))*24 +: 24];
                                end
                            for (y = 0; y < R; y = y + 1) sig_o[y*40 +: 40] <= 40'(s_q[y]);
                            k_o <= '0;
                            done_o <= 1'b1;
                            state_q <= S_IDLE;
                        end else begin
                            state_q <= S_S1;
                        end
                    end else wait_q <= wait_q - 1'b1;
                end
                S_S1: if (rsq_done) begin  // rsqrt(num_0) starts at this edge
                    y1_q <= rsq_y;
                    e1_q <= rsq_e;
                    idx_q <= 0;
                    state_q <= S_X;
                end
                S_X: if (rsq_done) begin  // root = rshift(num·y2, e2 - 24)
                    root_q <= 128'(rne(128'(num_c) * 128'(rsq_y), 32'(rsq_e) - 24));
                    state_q <= S_ROOT;
                end
                S_ROOT: state_q <= S_X0;
                S_X0: begin
                    // x0 of value idx; the next rsqrt starts at this edge.
                    x0_q[idx_q] <= x0_c;
                    if (idx_q == k_q) begin
                        state_q <= S_INV;
                    end else begin
                        idx_q <= idx_q + 1;
                        state_q <= S_X;
                    end
                end
                S_INV: if (rsq_done) begin
                    inv_q <= rne(128'(rsq_y) * 128'(rsq_y), 2 * 32'(rsq_e) - 2 * CS);
                    for (x = 0; x < Q * R; x = x + 1)
                        m_mat[x] <= (x / R < m_q && x % R == x / R) ? (128'sd1 <<< CS) : '0;
                    col_q <= 1;
                    state_q <= S_H;
                    wait_q <= 16'((k_q + 1 + LANES - 1) / LANES);  // 1 + ceil((k+1)/P)
                end
                S_H: begin
                    if (wait_q == 16'((k_q + 1 + LANES - 1) / LANES))
                        for (x = 0; x < Q; x = x + 1)
                            if (x <= k_q) m_mat[(m_q + x)*R + m_q + col_q - 1] <= hcol_c[x];
                    if (wait_q == 0) begin
                        if (col_q == k_q) begin
                            state_q <= S_SLOT;
                        end else begin
                            col_q <= col_q + 1;
                            wait_q <= 16'((k_q + 1 + LANES - 1) / LANES);
                        end
                    end else wait_q <= wait_q - 1'b1;
                end
                S_SLOT: begin
                    for (y = 0; y < R; y = y + 1)
                        sig_o[y*40 +: 40] <= (y < m_q) ? 40'(s_q[y]) :
                            40'(rne(128'(s1_q) * 128'(recip(k_q)), 24));
                    k_o <= 4'(k_q);
                    state_q <= S_T;
                    wait_q <= 16'(2 * R * CEIL_QQ - 1);
                end
                S_T: begin
                    if (wait_q == 16'(2 * R * CEIL_QQ - 1))
                        for (x = 0; x < Q * R; x = x + 1) begin
                            tl_o[x*24 +: 24] <= 24'(rne(tl_c[x], CS));
                            tr_o[x*24 +: 24] <= 24'(rne(tr_c[x], CS));
                        end
                    if (wait_q == 0) begin
                        done_o <= 1'b1;
                        state_q <= S_IDLE;
                    end else wait_q <= wait_q - 1'b1;
                end
                default: state_q <= S_IDLE;
            endcase
        end
    end
endmodule

`resetall
