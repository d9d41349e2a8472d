// Command decoder: the header's fields, the payload as vectors, and the error checks of
// docs/hw-spec.md section 3 (opcode, length, operands, codes, locked registers, an empty
// COMMIT), all combinational from the command buffer. The accelerator top executes a
// command only when err_o is ERR_OK. Golden model: the checks of
// pysim/hw/accel.py:Accelerator.execute and its _op_* handlers.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module cmd_decode #(
    parameter int N_IN  = 64,
    parameter int N_OUT = 10,
    parameter int WB    = 8,
    parameter int LAYERS = 1,
    // derived: payload words of the longest command (UPDATE)
    parameter int MAXP  = (N_IN + 3) / 4 + (N_OUT + 3) / 4
) (
    input  wire [31:0]             hdr_i,
    input  wire [(MAXP+1)*32-1:0]  buf_i,      // payload word w at w*32
    input  wire [15:0]             nw_i,       // payload words received (saturating)
    input  wire [31:0]             pending_i,  // the slot's samples since its last write
    input  wire                    locked_i,   // some slot has samples pending
    output reg  [7:0]              err_o,
    output reg  [N_IN*8-1:0]       x_o,        // int8 codes of LOAD_W/INJECT/INFER/UPDATE
    output reg  [N_OUT*8-1:0]      dy_o,       // UPDATE's dy
    output reg  [N_IN-1:0]         flags_o     // SET_STUCK's flags
);
    // The shared encodings; each includer uses a part of them.
    /* verilator lint_off UNUSEDPARAM */
    `include "accel_defs.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam int XW    = (N_IN + 3) / 4;
    localparam int DW    = (N_OUT + 3) / 4;
    localparam int SW    = (N_IN + 31) / 32;
    localparam int CELLS = N_OUT * N_IN;

    wire [31:0] buf_w [0:MAXP];
    genvar gw;
    generate
        for (gw = 0; gw <= MAXP; gw = gw + 1) begin : g_w
            assign buf_w[gw] = buf_i[gw*32 +: 32];
        end
    endgenerate
    wire [7:0]  op      = hdr_i[31:24];
    wire [7:0]  rsv     = hdr_i[23:16];
    wire [15:0] operand = hdr_i[15:0];
    wire [31:0] operand32 = {16'd0, operand};  // compared with the int register numbers
    reg         op_ok;
    reg [15:0]  need;
    always @* begin
        op_ok = 1'b1;
        need = 16'd0;
        case (op)
            OP_NOP, OP_GET_CFG, OP_READ_W, OP_COMMIT, OP_RESET_LRT, OP_READ_STATS,
            OP_READ_WCNT, OP_READ_LRT, OP_CLEAR_STATS: need = 16'd0;
            OP_SET_CFG: need = 16'd1;
            OP_LOAD_W, OP_INJECT, OP_INFER: need = 16'(XW);
            OP_UPDATE: need = 16'(XW + DW);
            OP_SET_STUCK: need = 16'(SW);
            default: op_ok = 1'b0;
        endcase
    end
    wire no_operand = op == OP_NOP || op == OP_INFER || op == OP_UPDATE || op == OP_COMMIT ||
                      op == OP_RESET_LRT || op == OP_CLEAR_STATS;
    wire row_op = op == OP_LOAD_W || op == OP_READ_W || op == OP_READ_WCNT ||
                  op == OP_INJECT || op == OP_SET_STUCK;

    // Payload as vectors.
    reg               codes_ok_c;
    integer i;
    reg signed [7:0] cv;
    always @* begin
        codes_ok_c = 1'b1;
        for (i = 0; i < N_IN; i = i + 1) begin
            x_o[i*8 +: 8] = buf_w[i / 4][(i % 4)*8 +: 8];
            cv = $signed(x_o[i*8 +: 8]);
            if (cv < -(8'sd1 <<< (WB - 1)) || cv > (8'sd1 <<< (WB - 1)) - 8'sd1)
                codes_ok_c = 1'b0;
            flags_o[i] = buf_w[i / 32][i % 32];
        end
        for (i = 0; i < N_OUT; i = i + 1) dy_o[i*8 +: 8] = buf_w[XW + i / 4][(i % 4)*8 +: 8];
    end
    wire stuck_extra = (N_IN % 32 != 0) && ((buf_w[SW - 1] >> (N_IN % 32)) != 0);

    // SET_CFG/GET_CFG register checks.
    reg        reg_ok;
    reg [31:0] reg_limit;
    always @* begin
        reg_ok = operand <= 16'd10;
        case (operand32)
            REG_MODE, REG_MAXNORM: reg_limit = 32'd1;
            REG_LFSR_SEED, REG_KAPPA_Q4, REG_LR_MANT: reg_limit = 32'hFFFF;
            REG_RHO_COUNT: reg_limit = 32'(CELLS);
            REG_LR_SHIFT: reg_limit = 32'd63;
            REG_ENDURANCE: reg_limit = 32'hFFFFFFFF;
            REG_PULSE_MODE: reg_limit = 32'd2;
            REG_LAYER: reg_limit = 32'(LAYERS - 1);
            default: reg_limit = 32'd255;  // WLAT
        endcase
    end

    always @* begin
        err_o = ERR_OK;
        if (!op_ok) err_o = ERR_BAD_OPCODE;
        else if (nw_i != need) err_o = ERR_BAD_LENGTH;
        else if (rsv != 0 || (no_operand && operand != 0)) err_o = ERR_BAD_OPERAND;
        else if (row_op && operand >= 16'(N_OUT)) err_o = ERR_BAD_OPERAND;
        else begin
            case (op)
                OP_SET_CFG:
                    if (!reg_ok || buf_w[0] > reg_limit ||
                        (operand32 == REG_LFSR_SEED && buf_w[0] == 0)) err_o = ERR_BAD_OPERAND;
                    else if ((operand32 == REG_MODE || operand32 == REG_MAXNORM) && locked_i)
                        err_o = ERR_CFG_LOCKED;
                OP_GET_CFG: if (!reg_ok) err_o = ERR_BAD_OPERAND;
                OP_LOAD_W, OP_INJECT: if (!codes_ok_c) err_o = ERR_BAD_OPERAND;
                OP_SET_STUCK: if (stuck_extra) err_o = ERR_BAD_OPERAND;
                OP_COMMIT: if (pending_i == 0) err_o = ERR_COMMIT_EMPTY;
                OP_READ_STATS: if (operand >= 16'(N_STATS)) err_o = ERR_BAD_OPERAND;
                OP_READ_LRT:
                    if (!((operand[15:14] == 2'd0 && operand[13:0] < 14'(N_OUT)) ||
                          (operand[15:14] == 2'd1 && operand[13:0] < 14'(N_IN)) ||
                          (operand[15:14] == 2'd2 && operand[13:0] == 14'd0)))
                        err_o = ERR_BAD_OPERAND;
                default: ;
            endcase
        end
    end

endmodule

`resetall
