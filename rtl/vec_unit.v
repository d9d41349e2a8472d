// Vector unit: LANES shared multipliers that run every length-n pass of an UPDATE over the
// factor memories, one word of LANES elements a cycle, for one side per run (0: L with dy,
// N_OUT rows; 1: R with x, N_IN rows):
//   OP_GS   Gram-Schmidt: for j < RANK a dot pass c_j = rne(Q_j.res, F-1) and an axpy pass
//           res -= rne(Q_j*c_j, F-1), then the norm pass |res|^2 (2*RANK+1 passes);
//   OP_NRM  normalise: column RANK <- sat_F(rne(res*y, e-(F-1))) (one pass);
//   OP_ROT  rotate: [Q u] <- sat_F(rne([Q u].T, 22)), each word of the RANK+1 banks read
//           once, then RANK*(RANK+1) products per word, written back in place.
// A pass is ceil(n/LANES) issue cycles and PASS_OVH = 2 drain cycles: the memory's read
// register, then the lane products' register, then the adder tree or rounding and the
// write. Residuals live in this unit's own memory (one bank, a word per LANES elements).
// Specification: docs/hw-spec.md sections 5 and 6; golden model pysim/hw/vec_unit.py.
// start_i is sampled at a rising edge (also in the last cycle of a run, to chain runs);
// done_o is high for one cycle after the run's last edge. Operands y_i, e_i, t_i are held
// while busy.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module vec_unit #(
    parameter int N_IN     = 64,
    parameter int N_OUT    = 10,
    parameter int RANK     = 4,
    parameter int LANES    = 8,
    parameter int F        = 16,
    parameter int G        = 8,
    // derived: widths of the ports and of the memory words
    parameter int Q        = RANK + 1,
    parameter int BO       = (N_OUT + LANES - 1) / LANES,
    parameter int BI       = (N_IN + LANES - 1) / LANES,
    parameter int FAW      = ((BO > BI ? BO : BI) > 1) ? $clog2(BO > BI ? BO : BI) : 1,
    parameter int RES_O    = 8 + G + ($clog2(N_OUT) + 1) / 2 + 2,
    parameter int RES_I    = 8 + G + ($clog2(N_IN) + 1) / 2 + 2,
    parameter int CW_O     = RES_O + $clog2(N_OUT) + 1,
    parameter int CW_I     = RES_I + $clog2(N_IN) + 1,
    parameter int CW       = (CW_O > CW_I) ? CW_O : CW_I,  // Gram-Schmidt coefficient
    parameter int CNT_W    = $clog2(Q * LANES + 1),
    parameter int LGW      = 27     // COMMIT's operand b (Lg_t); >= 27, the rsqrt's y + sign
) (
    input  wire                    clk_i,
    input  wire                    rst_i,
    input  wire                    start_i,
    input  wire [1:0]              op_i,       // OP_GS, OP_NRM, OP_ROT
    input  wire                    side_i,
    input  wire [25:0]             y_i,        // OP_NRM: rsqrt of |res|^2 is y * 2^-e
    input  wire [7:0]              e_i,
    input  wire [Q*RANK*24-1:0]    t_i,        // OP_ROT: T[k][t] at (k*RANK + t)*24, Q2.22
    // the sample (x or dy) as a memory of LANES int8 elements a word
    output wire                    v_en_o,
    output wire                    v_side_o,
    output wire [FAW-1:0]          v_addr_o,
    input  wire [LANES*8-1:0]      v_rdata_i,
    // the factor banks: Q per factor, one per column; data one cycle after the address
    output wire                    f_side_o,
    output wire [FAW-1:0]          f_addr_o,
    output wire [Q-1:0]            f_ren_o,
    input  wire [Q*LANES*F-1:0]    l_rdata_i,  // bank k's word at k*LANES*F
    input  wire [Q*LANES*F-1:0]    r_rdata_i,
    output wire                    f_wside_o,
    output wire [FAW-1:0]          f_waddr_o,
    output wire [Q-1:0]            f_wen_o,
    output wire [LANES*F-1:0]      f_wdata_o,
    // results of OP_GS per side, valid after the run
    output wire [RANK*32-1:0]      cl_o,       // coefficients, as the core takes them:
    output wire [RANK*32-1:0]      cr_o,       // CW bits sign-extended or cut to 32
    output wire [63:0]             n2l_o,
    output wire [63:0]             n2r_o,
    // enables this cycle: lane products, factor elements read and written
    output wire [CNT_W-1:0]        macs_o,
    output wire [CNT_W-1:0]        reads_o,
    output wire [CNT_W-1:0]        writes_o,
    output reg                     done_o,
    // COMMIT's products (commit_unit's lane_* ports) while no run is busy: {valid, a's, b's}
    // in, the registered products out the next cycle.
    input  wire [LANES*(F+LGW):0]  x_lane_i,
    output wire [LANES*(F+LGW)-1:0] p_lane_o
);
    `include "fixed_fns.vh"
    localparam int R      = RANK;
    localparam int P      = LANES;
    localparam int RW     = (RES_O > RES_I) ? RES_O : RES_I;
    localparam int NMAX   = (N_OUT > N_IN) ? N_OUT : N_IN;
    localparam int AW     = (F > RW) ? F : RW;                  // lane operand a
    localparam int BWA    = (CW > RW) ? CW : RW;
    localparam int BW     = (BWA > LGW) ? BWA : LGW;            // lane operand b (y: 27)
    localparam int PW     = AW + BW;                            // lane product
    localparam int SUMW   = ((F > RW) ? F + RW : 2 * RW) + $clog2(NMAX) + 1;
    localparam int RACW   = F + 24 + $clog2(Q) + 1;             // rotation sum
    localparam int CS     = 22;
    localparam int RD     = BO + BI;                            // residual words
    localparam int RAW    = (RD > 1) ? $clog2(RD) : 1;
    localparam int PSW    = $clog2(2 * R + 2);
    localparam int RKW    = $clog2(Q + 1);
    localparam int NLW    = $clog2(P + 1);
    localparam int TKW    = $clog2(Q * R + 1);
    localparam int JW     = (R > 1) ? $clog2(R) : 1;
    localparam int NL_O   = N_OUT - (BO - 1) * P;               // lanes of the last word
    localparam int NL_I   = N_IN - (BI - 1) * P;
    localparam logic [1:0] OP_GS = 2'd0, OP_NRM = 2'd1, OP_ROT = 2'd2;
    localparam logic [2:0] K_DOT0 = 3'd0, K_DOT = 3'd1, K_AXPY = 3'd2, K_NORM = 3'd3,
                           K_NRM = 3'd4, K_ROT = 3'd5;

    `include "vec_fns.vh"

    // ---------------------------------------------------------------- issue stage
    reg            busy_q, side_q, drain_q;
    reg  [1:0]     op_q;
    reg  [PSW-1:0] pass_q;   // OP_GS: 2j dot, 2j+1 axpy, 2R norm
    reg  [FAW-1:0] w_q;
    reg  [RKW-1:0] t_q, k_q; // OP_ROT: output column, input column
    reg  [TKW-1:0] tk_q;     // t*Q + k
    reg            dcnt_q;   // drain cycle 0 or 1
    wire [FAW-1:0] nb_m1 = side_q ? FAW'(BI - 1) : FAW'(BO - 1);
    wire           last_w = w_q == nb_m1;
    wire [NLW-1:0] nl = last_w ? (side_q ? NLW'(NL_I) : NLW'(NL_O)) : NLW'(P);
    wire [RKW-1:0] j = RKW'(pass_q >> 1);
    wire           issue = busy_q && !drain_q;
    reg  [2:0]     kind;
    always @* begin
        case (op_q)
            OP_GS: kind = (pass_q == PSW'(2 * R)) ? K_NORM :
                          pass_q[0] ? K_AXPY : ((j == 0) ? K_DOT0 : K_DOT);
            OP_NRM: kind = K_NRM;
            default: kind = K_ROT;
        endcase
    end
    wire rot_read = kind == K_ROT && t_q == 0 && k_q == 0;
    wire fac_read = kind == K_DOT0 || kind == K_DOT || kind == K_AXPY;
    wire res_read = issue && (kind == K_DOT || kind == K_AXPY || kind == K_NORM ||
                              kind == K_NRM);

    assign v_en_o   = issue && kind == K_DOT0;
    assign v_side_o = side_q;
    assign v_addr_o = w_q;
    assign f_side_o = side_q;
    assign f_addr_o = w_q;
    assign f_ren_o  = !issue ? '0 : rot_read ? {Q{1'b1}} :
                      fac_read ? (Q'(1) << j) : '0;
    // Q words read at once: Q*nl elements (constants, so that no multiplier is built)
    wire [CNT_W-1:0] q_nl = !last_w ? CNT_W'(Q * P) : side_q ? CNT_W'(Q * NL_I)
                                                             : CNT_W'(Q * NL_O);
    assign reads_o  = !issue ? '0 : rot_read ? q_nl : fac_read ? CNT_W'(nl) : '0;
    wire [P*RW-1:0] res_rdata;

    // ---------------------------------------------------------------- pipeline registers
    reg            s1_v_q, s1_first_q, s1_last_q, s1_side_q;
    reg  [2:0]     s1_kind_q;
    reg  [FAW-1:0] s1_w_q;
    reg  [JW-1:0]  s1_j_q, s2_j_q;
    reg  [RKW-1:0] s1_t_q, s1_k_q;   // bank of the a operand: j (GS) or k (ROT)
    reg  [TKW-1:0] s1_tk_q;
    reg  [NLW-1:0] s1_nl_q;
    reg            s2_v_q, s2_first_q, s2_last_q, s2_side_q;
    reg  [2:0]     s2_kind_q;
    reg  [FAW-1:0] s2_w_q;
    reg  [RKW-1:0] s2_t_q, s2_k_q;
    reg  [NLW-1:0] s2_nl_q;
    reg  signed [PW-1:0] prod_q [0:P-1];
    reg  signed [RW-1:0] res1_q [0:P-1];     // the residual beside its product

    // ---------------------------------------------------------------- stage 1: multiply
    // The banks' words and T's entries as arrays, so that selecting one is a mux.
    wire [P*F-1:0]    lword [0:Q-1];
    wire [P*F-1:0]    rword [0:Q-1];
    wire [23:0]       t_tk [0:Q*R-1];   // T[k][t] at t*Q + k: the order the issue uses
    genvar gk, gt;
    generate
        for (gk = 0; gk < Q; gk = gk + 1) begin : g_words
            assign lword[gk] = l_rdata_i[gk*P*F +: P*F];
            assign rword[gk] = r_rdata_i[gk*P*F +: P*F];
            for (gt = 0; gt < R; gt = gt + 1) begin : g_t
                assign t_tk[gt*Q + gk] = t_i[(gk*R + gt)*24 +: 24];
            end
        end
    endgenerate
    wire [RKW-1:0]     bank = (s1_kind_q == K_ROT) ? s1_k_q : RKW'(s1_j_q);
    wire [P*F-1:0]     frd = s1_side_q ? rword[bank] : lword[bank];
    wire signed [23:0] t_el = $signed(t_tk[s1_tk_q]);
    reg  signed [CW-1:0] c_q;
    reg  signed [RW-1:0] res_e [0:P-1];
    reg  signed [AW-1:0] op_a [0:P-1];
    reg  signed [BW-1:0] op_b [0:P-1];
    integer i;
    always @* begin
        for (i = 0; i < P; i = i + 1) begin
            res_e[i] = (s1_kind_q == K_DOT0) ? RW'($signed(v_rdata_i[i*8 +: 8])) <<< G
                                             : $signed(res_rdata[i*RW +: RW]);
            op_a[i] = AW'($signed(frd[i*F +: F]));
            case (s1_kind_q)
                K_DOT0, K_DOT: op_b[i] = BW'(res_e[i]);
                K_AXPY: op_b[i] = BW'(c_q);
                K_NORM: begin
                    op_a[i] = AW'(res_e[i]);
                    op_b[i] = BW'(res_e[i]);
                end
                K_NRM: begin
                    op_a[i] = AW'(res_e[i]);
                    op_b[i] = BW'($signed({1'b0, y_i}));
                end
                default: op_b[i] = BW'(t_el);
            endcase
            if (x_lane_i[P*(F+LGW)]) begin
                op_a[i] = AW'($signed(x_lane_i[P*LGW + i*F +: F]));
                op_b[i] = BW'($signed(x_lane_i[i*LGW +: LGW]));
            end
        end
    end
    assign macs_o = s1_v_q ? CNT_W'(s1_nl_q) : '0;
    genvar gp;
    generate
        for (gp = 0; gp < P; gp = gp + 1) begin : g_plane
            assign p_lane_o[gp*(F+LGW) +: F+LGW] = prod_q[gp][F+LGW-1:0];
        end
    endgenerate

    // ---------------------------------------------------------------- stage 2: reduce, write
    reg signed [SUMW-1:0] acc_q, sum_c, acc_d;
    reg signed [RACW-1:0] racc_q [0:P-1];
    reg signed [RACW-1:0] racc_d [0:P-1];
    reg [P*RW-1:0] res_w;
    reg [P*F-1:0]  fac_w;
    integer s_nrm;
    wire nrm2 = s2_kind_q == K_NRM;
    always @* begin
        sum_c = '0;
        s_nrm = 32'(e_i) - (F - 1);
        for (i = 0; i < P; i = i + 1) begin
            sum_c = sum_c + SUMW'(prod_q[i]);
            racc_d[i] = ((s2_k_q == 0) ? '0 : racc_q[i]) + RACW'(prod_q[i]);
            res_w[i*RW +: RW] = (s2_kind_q == K_DOT0) ? res1_q[i]
                              : RW'(res1_q[i] - rne_rw(prod_q[i], F - 1));
            // one rounding a lane: the normalised product by e - (F-1), the rotation's sum by CS
            fac_w[i*F +: F] = (i >= 32'(s2_nl_q)) ? '0
                            : rne_sat(nrm2 ? prod_q[i] : PW'(racc_d[i]), nrm2 ? s_nrm : CS);
        end
        acc_d = (s2_first_q ? '0 : acc_q) + sum_c;
    end
    wire res_we = s2_v_q && (s2_kind_q == K_DOT0 || s2_kind_q == K_AXPY);
    wire fac_we = s2_v_q && (s2_kind_q == K_NRM ||
                             (s2_kind_q == K_ROT && s2_k_q == RKW'(Q - 1)));
    assign f_wside_o = s2_side_q;
    assign f_waddr_o = s2_w_q;
    assign f_wen_o   = !fac_we ? '0 : (s2_kind_q == K_NRM) ? (Q'(1) << R) : (Q'(1) << s2_t_q);
    assign f_wdata_o = fac_w;
    assign writes_o  = fac_we ? CNT_W'(s2_nl_q) : '0;

    ram_1r1w #(.W(P * RW), .DEPTH(RD)) u_res (
        .clk_i(clk_i), .re_i(res_read), .raddr_i((side_q ? RAW'(BO) : '0) + RAW'(w_q)),
        .rdata_o(res_rdata), .we_i(res_we),
        .waddr_i((s2_side_q ? RAW'(BO) : '0) + RAW'(s2_w_q)), .wdata_i(res_w));

    // ---------------------------------------------------------------- results
    reg signed [CW-1:0] coef_q [0:1][0:R-1];
    reg [63:0]          n2_q [0:1];
    reg                 cpend_q, cside_q;  // a dot pass ended: its coefficient next cycle
    reg [JW-1:0]        cj_q;
    genvar gj;
    generate
        for (gj = 0; gj < R; gj = gj + 1) begin : g_coef
            assign cl_o[gj*32 +: 32] = 32'(coef_q[0][gj]);
            assign cr_o[gj*32 +: 32] = 32'(coef_q[1][gj]);
        end
    endgenerate
    assign n2l_o = n2_q[0];
    assign n2r_o = n2_q[1];
    wire signed [CW-1:0] c_new = CW'(rne_p(PW'(acc_q), F - 1));

    // ---------------------------------------------------------------- sequencing
    wire pass_end = busy_q && drain_q && dcnt_q;
    always @(posedge clk_i) begin
        if (rst_i) begin
            busy_q <= 1'b0;
            drain_q <= 1'b0;
            dcnt_q <= 1'b0;
            side_q <= 1'b0;
            op_q <= OP_GS;
            pass_q <= '0;
            w_q <= '0;
            t_q <= '0;
            k_q <= '0;
            tk_q <= '0;
            done_o <= 1'b0;
            s1_v_q <= 1'b0;
            s2_v_q <= 1'b0;
            cpend_q <= 1'b0;
            cside_q <= 1'b0;
            cj_q <= '0;
            c_q <= '0;
            acc_q <= '0;
        end else begin
            done_o <= 1'b0;
            // issue -> stage 1
            s1_v_q <= issue;
            s1_kind_q <= kind;
            s1_side_q <= side_q;
            s1_w_q <= w_q;
            s1_j_q <= JW'(j);
            s1_t_q <= t_q;
            s1_k_q <= k_q;
            s1_tk_q <= tk_q;
            s1_nl_q <= nl;
            s1_first_q <= w_q == 0;
            s1_last_q <= last_w;
            // stage 1 -> stage 2
            s2_v_q <= s1_v_q;
            s2_kind_q <= s1_kind_q;
            s2_side_q <= s1_side_q;
            s2_w_q <= s1_w_q;
            s2_j_q <= s1_j_q;
            s2_t_q <= s1_t_q;
            s2_k_q <= s1_k_q;
            s2_nl_q <= s1_nl_q;
            s2_first_q <= s1_first_q;
            s2_last_q <= s1_last_q;
            for (i = 0; i < P; i = i + 1) begin
                prod_q[i] <= PW'(op_a[i]) * PW'(op_b[i]);
                res1_q[i] <= res_e[i];
            end
            // stage 2
            cpend_q <= 1'b0;
            if (s2_v_q) begin
                case (s2_kind_q)
                    K_DOT0, K_DOT, K_NORM: begin
                        acc_q <= acc_d;
                        if (s2_last_q && s2_kind_q == K_NORM) n2_q[s2_side_q] <= 64'(acc_d);
                        if (s2_last_q && s2_kind_q != K_NORM) begin
                            cpend_q <= 1'b1;
                            cside_q <= s2_side_q;
                            cj_q <= s2_j_q;
                        end
                    end
                    K_ROT: for (i = 0; i < P; i = i + 1) racc_q[i] <= racc_d[i];
                    default: ;
                endcase
            end
            if (cpend_q) begin
                c_q <= c_new;
                coef_q[cside_q][cj_q] <= c_new;
            end
            // the issue counters
            if (start_i) begin
                busy_q <= 1'b1;
                op_q <= op_i;
                side_q <= side_i;
                pass_q <= '0;
                w_q <= '0;
                t_q <= '0;
                k_q <= '0;
                tk_q <= '0;
                drain_q <= 1'b0;
                dcnt_q <= 1'b0;
            end else if (issue) begin
                if (op_q == OP_ROT && !(k_q == RKW'(Q - 1) && t_q == RKW'(R - 1))) begin
                    tk_q <= tk_q + 1'b1;
                    if (k_q == RKW'(Q - 1)) begin
                        k_q <= '0;
                        t_q <= t_q + 1'b1;
                    end else k_q <= k_q + 1'b1;
                end else begin
                    k_q <= '0;
                    t_q <= '0;
                    tk_q <= '0;
                    if (last_w) drain_q <= 1'b1;
                    else w_q <= w_q + 1'b1;
                end
            end else if (busy_q) begin  // draining
                dcnt_q <= !dcnt_q;
                if (pass_end) begin
                    drain_q <= 1'b0;
                    w_q <= '0;
                    if (op_q == OP_GS && pass_q != PSW'(2 * R)) pass_q <= pass_q + 1'b1;
                    else begin
                        busy_q <= 1'b0;
                        done_o <= 1'b1;
                    end
                end
            end
        end
    end
endmodule

`resetall
