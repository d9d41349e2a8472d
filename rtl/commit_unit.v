// COMMIT datapath: the learning-rate scale chain (1/sqrt(B), or sqrt(B)/(d_L d_R) with the
// max-norm trackers) and one pass of level steps dk = -rshift(sum_t L_t g_t R_t, SH).
// Specification: docs/hw-spec.md section 6; golden model pysim/hw/lrt_unit.py
// (LrtUnit.commit_scale, delta_levels). Latency (edges after start) = the model's
// scale cycles + one pass, N_OUT*(ceil(r/P) + r*ceil(N_IN/P)) + PASS_OVH.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module commit_unit #(
    parameter int N_IN     = 64,
    parameter int N_OUT    = 10,
    parameter int RANK     = 4,
    parameter int LANES    = 8,
    parameter int F        = 16,
    parameter int G        = 8,
    parameter int WB       = 8,
    parameter int GW       = 20,
    parameter int SIG_W    = 64,
    parameter int PASS_OVH = 2
) (
    input  wire                        clk_i,
    input  wire                        rst_i,
    input  wire                        start_i,
    input  wire [N_OUT*RANK*F-1:0]     l_i,        // L[i][t] at (i*RANK + t)*F
    input  wire [N_IN*RANK*F-1:0]      r_i,        // R[j][t]
    input  wire [RANK*SIG_W-1:0]       sigma_i,
    input  wire [31:0]                 b_i,        // samples since the last write
    input  wire [15:0]                 lr_mant_i,
    input  wire [5:0]                  lr_shift_i,
    input  wire                        maxnorm_i,
    input  wire [31:0]                 mn_steps_i, // max-norm commits so far
    input  wire [63:0]                 ema_l_i,
    input  wire [63:0]                 ema_r_i,
    output reg  [N_OUT*N_IN*(WB+1)-1:0] dk_o,      // dk[i][j] at (i*N_IN + j)*(WB+1)
    output reg  [31:0]                 nonzero_o,
    output reg  [63:0]                 ema_l_o,
    output reg  [63:0]                 ema_r_o,
    output reg  [31:0]                 mn_steps_o,
    output reg                         done_o
);
    `include "fixed_fns.vh"
    localparam int R    = RANK;
    localparam int BO   = (N_OUT + LANES - 1) / LANES;
    localparam int BI   = (N_IN + LANES - 1) / LANES;
    localparam int VEC  = R * (BO + BI) + 2 * PASS_OVH;
    localparam int PASS = N_OUT * ((R + LANES - 1) / LANES + R * BI) + PASS_OVH;
    localparam int CAP  = (1 << WB) - 1;



    // (m, e) * (m2, e2) renormalised to a 24-bit mantissa: mul_norm of the model.
    function automatic [127:0] mn_m(input [127:0] a, input [127:0] b);
        integer z;
        begin
            z = bitlen(a * b) - 24;
            if (z < 0) z = 0;
            mn_m = 128'(rne(128'(a * b), z));
        end
    endfunction
    function automatic integer mn_z(input [127:0] a, input [127:0] b);
        begin
            mn_z = bitlen(a * b) - 24;
            if (mn_z < 0) mn_z = 0;
        end
    endfunction

    // ---------------------------------------------------------------- rsqrt unit
    reg         rsq_start;
    reg [127:0] rsq_t;
    wire [25:0] rsq_y;
    wire [7:0]  rsq_e;
    wire        rsq_done;
    rsqrt #(.TW(128)) u_rsqrt (
        .clk_i(clk_i), .rst_i(rst_i), .start_i(rsq_start), .t_i(rsq_t),
        .y_o(rsq_y), .e_o(rsq_e), .done_o(rsq_done)
    );

    localparam logic [3:0] S_IDLE = 4'd0, S_B = 4'd1, S_VEC = 4'd2, S_ROOT = 4'd3,
                           S_TRK = 4'd4, S_D = 4'd5, S_MN = 4'd6, S_G = 4'd7, S_PASS = 4'd8;
    reg [3:0]   state_q;
    reg [15:0]  wait_q;
    integer     idx_q;                    // root being computed (0 .. 2r-1)
    reg [25:0]  yb_q;
    reg [7:0]   eb_q;
    reg [127:0] sc_m_q;                   // scale mantissa
    integer     sc_e_q;                   // scale exponent
    reg [127:0] cmax_q [0:2*R-1];         // column maxima, L then R
    reg [127:0] root_q [0:R-1];
    reg [127:0] div_l_q, div_r_q;
    reg signed [127:0] g_q [0:R-1];
    integer     sh_q;

    // Column maxima |L_t|, |R_t| (the vec pass).
    reg [127:0] cmax_c [0:2*R-1];
    reg [127:0] av;
    integer i, j, t;
    always @* begin
        for (t = 0; t < R; t = t + 1) begin
            cmax_c[t] = '0;
            cmax_c[R + t] = '0;
            for (i = 0; i < N_OUT; i = i + 1) begin
                av = 128'($signed(l_i[(i*R + t)*F +: F]));
                av = av[127] ? -av : av;
                if (av > cmax_c[t]) cmax_c[t] = av;
            end
            for (j = 0; j < N_IN; j = j + 1) begin
                av = 128'($signed(r_i[(j*R + t)*F +: F]));
                av = av[127] ? -av : av;
                if (av > cmax_c[R + t]) cmax_c[R + t] = av;
            end
        end
    end

    // Trackers: cur = max_t cmax_t·root_t; ema starts at the first max, then moves by 2^-10.
    reg [127:0] cur_l_c, cur_r_c, ema_l_c, ema_r_c;
    always @* begin
        cur_l_c = '0;
        cur_r_c = '0;
        for (t = 0; t < R; t = t + 1) begin
            if (cmax_q[t] * root_q[t] > cur_l_c) cur_l_c = cmax_q[t] * root_q[t];
            if (cmax_q[R + t] * root_q[t] > cur_r_c) cur_r_c = cmax_q[R + t] * root_q[t];
        end
        if (mn_steps_i == 0) begin
            ema_l_c = cur_l_c;
            ema_r_c = cur_r_c;
        end else begin
            ema_l_c = 128'(128'(ema_l_i) + rne(128'(cur_l_c) - 128'(ema_l_i), 10));
            ema_r_c = 128'(128'(ema_r_i) + rne(128'(cur_r_c) - 128'(ema_r_i), 10));
        end
    end

    // Coefficients g_t and the shift SH from the scale (units: 2(F-1)+2G without max-norm).
    integer zs_c, zg_c, sh_c;
    reg [127:0] sm_c [0:R-1];
    reg signed [127:0] g_c [0:R-1];
    always @* begin
        zs_c = bitlen(128'(sigma_i[0 +: SIG_W])) - 24;
        if (zs_c < 0) zs_c = 0;
        for (t = 0; t < R; t = t + 1) sm_c[t] = 128'(rne(128'(sigma_i[t*SIG_W +: SIG_W]), zs_c));
        zg_c = bitlen(sm_c[0] * sc_m_q) - (GW - 1);
        if (zg_c < 0) zg_c = 0;
        for (t = 0; t < R; t = t + 1) g_c[t] = rne(128'(sm_c[t] * sc_m_q), zg_c);
        sh_c = (maxnorm_i ? 0 : 2 * (F - 1) + 2 * G) - (sc_e_q + zs_c + zg_c);
    end

    // The pass: dk for every cell.
    reg [N_OUT*N_IN*(WB+1)-1:0] dk_c;
    reg [31:0] nz_c;
    reg signed [127:0] acc, mag, d;
    always @* begin
        nz_c = '0;
        dk_c = '0;
        mag = '0;
        for (i = 0; i < N_OUT; i = i + 1)
            for (j = 0; j < N_IN; j = j + 1) begin
                acc = '0;
                for (t = 0; t < R; t = t + 1)
                    acc = acc + (128'($signed(l_i[(i*R + t)*F +: F])) * g_q[t]) *
                                128'($signed(r_i[(j*R + t)*F +: F]));
                if (sh_q >= 0) begin
                    d = -rne(acc, (sh_q >= 63) ? 126 : sh_q);
                end else begin
                    mag = acc[127] ? -acc : acc;
                    if (mag > (128'(CAP) >> (-sh_q))) d = acc[127] ? 128'(CAP) : -128'(CAP);
                    else d = -(acc <<< (-sh_q));
                end
                if (d > 128'(CAP)) d = 128'(CAP);
                if (d < -128'(CAP)) d = -128'(CAP);
                dk_c[(i*N_IN + j)*(WB+1) +: WB+1] = (WB+1)'(d);
                if (d != 0) nz_c = nz_c + 1'b1;
            end
    end

    // rsqrt starts: B with start_i; sigma_t at the last vec edge and after each root;
    // d_L·d_R at the last tracker edge.
    always @* begin
        rsq_start = 1'b0;
        rsq_t = '0;
        if (state_q == S_IDLE && start_i) begin
            rsq_start = 1'b1;
            rsq_t = 128'(b_i);
        end else if (state_q == S_VEC && wait_q == 0) begin
            rsq_start = 1'b1;
            rsq_t = 128'(sigma_i[0 +: SIG_W]);
        end else if (state_q == S_ROOT && rsq_done && idx_q < 2 * R - 1) begin
            rsq_start = 1'b1;
            rsq_t = 128'(sigma_i[((idx_q + 1) % R)*SIG_W +: SIG_W]);
        end else if (state_q == S_TRK && wait_q == 0) begin
            rsq_start = 1'b1;
            rsq_t = div_l_q * div_r_q;
        end
    end

    // Max-norm scale chain: (LR) x (B, 0) x (yb, -eb) x (yd, -ed) x (yd, -ed), yd = rsq_y.
    reg [127:0] m1, m2, m3, mn_chain_m;
    integer e1, e2, e3, mn_chain_e;
    // The exponents as integers: Yosys 0.70 rejects a size cast in the same expression
    // as a call of the integer function mn_z ("Static cast with zero or negative size").
    wire integer lr_shift_n = 32'(lr_shift_i);
    wire integer rsq_e_n = 32'(rsq_e);
    wire integer eb_n = 32'(eb_q);
    always @* begin
        m1 = mn_m(128'(lr_mant_i), 128'(b_i));
        e1 = mn_z(128'(lr_mant_i), 128'(b_i)) - lr_shift_n;
        m2 = mn_m(m1, 128'(yb_q));
        e2 = e1 - eb_n + mn_z(m1, 128'(yb_q));
        m3 = mn_m(m2, 128'(rsq_y));
        e3 = e2 - rsq_e_n + mn_z(m2, 128'(rsq_y));
        mn_chain_m = mn_m(m3, 128'(rsq_y));
        mn_chain_e = e3 - rsq_e_n + mn_z(m3, 128'(rsq_y));
    end

    integer x;
    always @(posedge clk_i) begin
        if (rst_i) begin
            state_q <= S_IDLE;
            wait_q <= '0;
            done_o <= 1'b0;
            dk_o <= '0;
            nonzero_o <= '0;
            ema_l_o <= '0;
            ema_r_o <= '0;
            mn_steps_o <= '0;
            idx_q <= 0;
            sc_m_q <= '0;
            sc_e_q <= 0;
            sh_q <= 0;
        end else begin
            done_o <= 1'b0;
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
                    if (maxnorm_i) begin
                        for (x = 0; x < 2 * R; x = x + 1) cmax_q[x] <= cmax_c[x];
                        state_q <= S_VEC;
                        wait_q <= 16'(VEC - 2);   // this edge is the pass's first
                    end else begin
                        sc_m_q <= mn_m(128'(lr_mant_i), 128'(rsq_y));
                        sc_e_q <= mn_z(128'(lr_mant_i), 128'(rsq_y)) - lr_shift_n - rsq_e_n;
                        state_q <= S_G;
                        wait_q <= 16'(2 + R - 1);
                    end
                end
                S_VEC: begin
                    if (wait_q == 0) begin
                        idx_q <= 0;
                        state_q <= S_ROOT;
                    end else wait_q <= wait_q - 1'b1;
                end
                S_ROOT: if (rsq_done) begin
                    root_q[idx_q % R] <= 128'(rne(128'(sigma_i[(idx_q % R)*SIG_W +: SIG_W]) *
                                                  128'(rsq_y), 32'(rsq_e)));
                    if (idx_q == 2 * R - 1) begin
                        state_q <= S_TRK;
                        wait_q <= 16'(4 - 1);
                    end
                    idx_q <= idx_q + 1;
                end
                S_TRK: begin
                    if (wait_q == 16'(4 - 1)) begin
                        ema_l_o <= 64'(ema_l_c);
                        ema_r_o <= 64'(ema_r_c);
                        mn_steps_o <= mn_steps_i + 1'b1;
                        div_l_q <= (cur_l_c > ema_l_c) ? cur_l_c : ema_l_c;
                        div_r_q <= (cur_r_c > ema_r_c) ? cur_r_c : ema_r_c;
                    end
                    if (wait_q == 0) state_q <= S_D;
                    else wait_q <= wait_q - 1'b1;
                end
                S_D: if (rsq_done) begin
                    sc_m_q <= mn_chain_m;
                    sc_e_q <= mn_chain_e;
                    state_q <= S_MN;
                    wait_q <= 16'(4 - 2);
                end
                S_MN: begin
                    if (wait_q == 0) begin
                        state_q <= S_G;
                        wait_q <= 16'(2 + R - 1);
                    end else wait_q <= wait_q - 1'b1;
                end
                S_G: begin
                    if (wait_q == 16'(2 + R - 1)) begin
                        for (x = 0; x < R; x = x + 1) g_q[x] <= g_c[x];
                        sh_q <= sh_c;
                    end
                    if (wait_q == 0) begin
                        state_q <= S_PASS;
                        wait_q <= 16'(PASS - 1);
                    end else wait_q <= wait_q - 1'b1;
                end
                S_PASS: begin
                    if (wait_q == 16'(PASS - 1)) begin
                        dk_o <= dk_c;
                        nonzero_o <= nz_c;
                    end
                    if (wait_q == 0) begin
                        state_q <= S_IDLE;
                        done_o <= 1'b1;
                    end else wait_q <= wait_q - 1'b1;
                end
                default: state_q <= S_IDLE;
            endcase
        end
    end
endmodule

`resetall
