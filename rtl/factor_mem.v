// Factor memories of the low-rank update unit: L (N_OUT x (RANK+1)) and R (N_IN x (RANK+1))
// as RANK+1 banks each, one per column, each word LANES elements of a block of LANES rows
// (column-major), one read and one write port per bank (ram_1r1w). The vector unit owns
// the ports during an UPDATE (upd_i); otherwise the l_*/r_* read ports answer COMMIT and
// READ_LRT. With LAYERS > 1 every bank holds a region per slot and all ports address the
// slot layer_i. The banks have no reset: after clear_i the slot's words are written with
// zeros, a word of every bank of one factor a cycle (L's BO words, then R's BI), with
// busy_o high; after rst_i every slot in turn. Read data one cycle after the address; a
// bank's read register holds its word until the bank is read again. Specification: docs/hw-spec.md section 5.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module factor_mem #(
    parameter int N_IN  = 64,
    parameter int N_OUT = 10,
    parameter int RANK  = 4,
    parameter int LANES = 8,
    parameter int F     = 16,
    parameter int LAYERS = 1,
    // derived: port widths
    parameter int Q     = RANK + 1,
    parameter int BO    = (N_OUT + LANES - 1) / LANES,
    parameter int BI    = (N_IN + LANES - 1) / LANES,
    parameter int BO_W  = (BO > 1) ? $clog2(BO) : 1,
    parameter int BI_W  = (BI > 1) ? $clog2(BI) : 1,
    parameter int FAW   = ((BO > BI ? BO : BI) > 1) ? $clog2(BO > BI ? BO : BI) : 1,
    parameter int LY_W  = (LAYERS > 1) ? $clog2(LAYERS) : 1
) (
    input  wire                   clk_i,
    input  wire                   rst_i,
    input  wire [LY_W-1:0]        layer_i,    // held while busy and during a command
    input  wire                   clear_i,    // write zeros everywhere (from the next cycle)
    output wire                   busy_o,     // clearing
    // the vector unit's ports (upd_i): side 0 is L, 1 is R
    input  wire                   upd_i,
    input  wire                   f_side_i,
    input  wire [FAW-1:0]         f_addr_i,
    input  wire [Q-1:0]           f_ren_i,
    input  wire                   f_wside_i,
    input  wire [FAW-1:0]         f_waddr_i,
    input  wire [Q-1:0]           f_wen_i,
    input  wire [LANES*F-1:0]     f_wdata_i,
    // the read ports between UPDATEs
    input  wire [BO_W-1:0]        l_addr_i,
    input  wire [Q-1:0]           l_en_i,
    input  wire [BI_W-1:0]        r_addr_i,
    input  wire [Q-1:0]           r_en_i,
    output wire [Q*LANES*F-1:0]   l_rdata_o,  // bank k's word at k*LANES*F
    output wire [Q*LANES*F-1:0]   r_rdata_o
);
    localparam int P = LANES;

    localparam int LO_W = (LAYERS * BO > 1) ? $clog2(LAYERS * BO) : 1;
    localparam int LI_W = (LAYERS * BI > 1) ? $clog2(LAYERS * BI) : 1;

    reg            clr_q, clr_side_q, clr_all_q;  // all: every slot in turn (after reset)
    reg [FAW-1:0]  clr_addr_q;
    reg [LY_W-1:0] clr_slot_q;
    assign busy_o = clr_q;
    always @(posedge clk_i) begin
        if (rst_i || clear_i) begin
            clr_q <= 1'b1;
            clr_side_q <= 1'b0;
            clr_addr_q <= '0;
            clr_all_q <= rst_i;
            clr_slot_q <= rst_i ? '0 : layer_i;
        end else if (clr_q) begin
            clr_addr_q <= clr_addr_q + 1'b1;
            if (clr_addr_q == (clr_side_q ? FAW'(BI - 1) : FAW'(BO - 1))) begin
                clr_addr_q <= '0;
                clr_side_q <= !clr_side_q;
                if (clr_side_q) begin
                    if (clr_all_q && 32'(clr_slot_q) != LAYERS - 1)
                        clr_slot_q <= clr_slot_q + 1'b1;
                    else clr_q <= 1'b0;
                end
            end
        end
    end

    // A slot's region starts at slot * BO (L) or slot * BI (R): constants the slot selects
    // (no multiplier).
    wire [LY_W-1:0] slot = clr_q ? clr_slot_q : layer_i;
    reg  [LO_W-1:0] l_base;
    reg  [LI_W-1:0] r_base;
    integer s;
    always @* begin
        l_base = '0;
        r_base = '0;
        for (s = 1; s < LAYERS; s = s + 1)
            if (32'(slot) == s) begin
                l_base = LO_W'(s * BO);
                r_base = LI_W'(s * BI);
            end
    end

    genvar gk;
    generate
        for (gk = 0; gk < Q; gk = gk + 1) begin : g_bank
            ram_1r1w #(.W(P * F), .DEPTH(LAYERS * BO)) u_l (
                .clk_i(clk_i), .re_i(upd_i ? (f_ren_i[gk] && !f_side_i) : l_en_i[gk]),
                .raddr_i(l_base + LO_W'(upd_i ? f_addr_i[BO_W-1:0] : l_addr_i)),
                .rdata_o(l_rdata_o[gk*P*F +: P*F]),
                .we_i(clr_q ? !clr_side_q : (f_wen_i[gk] && !f_wside_i)),
                .waddr_i(l_base + LO_W'(BO_W'(clr_q ? clr_addr_q : f_waddr_i))),
                .wdata_i(clr_q ? '0 : f_wdata_i));
            ram_1r1w #(.W(P * F), .DEPTH(LAYERS * BI)) u_r (
                .clk_i(clk_i), .re_i(upd_i ? (f_ren_i[gk] && f_side_i) : r_en_i[gk]),
                .raddr_i(r_base + LI_W'(upd_i ? BI_W'(f_addr_i) : r_addr_i)),
                .rdata_o(r_rdata_o[gk*P*F +: P*F]),
                .we_i(clr_q ? clr_side_q : (f_wen_i[gk] && f_wside_i)),
                .waddr_i(r_base + LI_W'(BI_W'(clr_q ? clr_addr_q : f_waddr_i))),
                .wdata_i(clr_q ? '0 : f_wdata_i));
        end
    endgenerate
endmodule

`resetall
