// Simulation top for long co-simulations: accel_top with its clock made in the HDL, so
// that the simulator runs the cycles of a command without a call into Python per edge
// (cocotb then only waits for the response). Same ports as accel_top but clk_i, which
// is an internal free-running 10 ns clock starting low. Not hardware: a bench wrapper.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module accel_top_clocked #(
    // accel_top's parameters, passed on (tests/test_rtl_map.py checks the two lists).
    parameter int N_IN = 64, N_OUT = 10, RANK = 4, LANES = 8, LAYERS = 1,
    parameter int F = 16, G = 8, WC = 24, SWEEPS = 4, GW = 20,
    parameter int WB = 8, CNT_W = 32, SIG_W = 64, ACC_W = 32
) (
    input  wire        rst_i,
    input  wire        cmd_valid_i,
    output wire        cmd_ready_o,
    input  wire [31:0] cmd_data_i,
    input  wire        cmd_last_i,
    output wire        rsp_valid_o,
    input  wire        rsp_ready_i,
    output wire [31:0] rsp_data_o,
    output wire        rsp_last_o
);
    reg clk_i;
    initial begin
        clk_i = 1'b0;
        forever #5 clk_i = !clk_i;
    end

    accel_top #(.N_IN(N_IN), .N_OUT(N_OUT), .RANK(RANK), .LANES(LANES), .F(F), .G(G),
                .WC(WC), .SWEEPS(SWEEPS), .WB(WB), .CNT_W(CNT_W), .SIG_W(SIG_W),
                .ACC_W(ACC_W), .GW(GW), .LAYERS(LAYERS)) u_top (
        .clk_i(clk_i), .rst_i(rst_i), .cmd_valid_i(cmd_valid_i), .cmd_ready_o(cmd_ready_o),
        .cmd_data_i(cmd_data_i), .cmd_last_i(cmd_last_i), .rsp_valid_o(rsp_valid_o),
        .rsp_ready_i(rsp_ready_i), .rsp_data_o(rsp_data_o), .rsp_last_o(rsp_last_o));
endmodule

`resetall
