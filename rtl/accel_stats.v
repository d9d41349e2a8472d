// Stats counters of the accelerator (docs/hw-spec.md section 3, "stats"): 64-bit counters
// that add what the datapath enables each cycle (lane multiplies, factor-memory port
// reads and writes, rsqrt starts, crossbar writes) and what each command reports when it
// ends (cycles by kind, samples, rotations, commits). The sequencer (accel_top) raises
// the events; READ_STATS reads a counter, CLEAR_STATS zeroes them all (its own decode
// cycle then counts as the first CYCLE). Golden model: the Stat counters of
// pysim/hw/accel.py and pysim/hw/lrt_unit.py.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module accel_stats #(
    parameter int N_IN  = 64,
    parameter int N_OUT = 10,
    parameter int RANK  = 4,
    parameter int LANES = 8,
    parameter int EW    = 8,    // width of the per-cycle enable counts
    parameter int NW    = 16    // width of a crossbar row's write counts
) (
    input  wire          clk_i,
    input  wire          rst_i,
    input  wire          clear_i,      // CLEAR_STATS
    input  wire          cycle_i,      // an execution cycle
    input  wire          error_i,      // a command answered with an error
    input  wire [EW-1:0] macs_i,       // lanes that multiplied this cycle (UPDATE, COMMIT)
    input  wire [EW-1:0] reads_i,      // factor elements read through a memory port
    input  wire [EW-1:0] writes_i,     // factor elements written
    input  wire          rsq_i,        // an rsqrt started
    input  wire          nvm_i,        // a crossbar write landed (LOAD_W, a COMMIT row)
    input  wire [NW-1:0] nvm_written_i,
    input  wire [NW-1:0] nvm_pulses_i,
    input  wire [NW-1:0] nvm_blocked_i,
    input  wire [31:0]   nvm_reads_i,  // crossbar cells read by the command now
    input  wire [31:0]   exec_i,       // execution cycles of the ending command so far
    input  wire          infer_i,      // INFER ends
    input  wire          update_i,     // UPDATE ends ...
    input  wire          absorbed_i,   // ... absorbed
    input  wire          folded_i,     // ... and not a zero sample
    input  wire [15:0]   rotations_i,  // ... with these Jacobi rotations
    input  wire          scale_i,      // COMMIT's counting pass ends ...
    input  wire          maxnorm_i,    // ... with the max-norm scale
    input  wire          gated_i,      // ... and the commit is gated
    input  wire          committed_i,  // a written COMMIT ends
    input  wire [4:0]    rd_idx_i,
    output wire [63:0]   rd_o
);
    // The shared encodings; this block uses the stats indices.
    /* verilator lint_off UNUSEDPARAM */
    `include "accel_defs.vh"
    /* verilator lint_on UNUSEDPARAM */
    localparam int Q     = RANK + 1;
    localparam int R     = RANK;
    localparam int OVH   = 2;
    localparam int RSQ   = 5;
    localparam int BO    = (N_OUT + LANES - 1) / LANES;
    localparam int BI    = (N_IN + LANES - 1) / LANES;
    localparam int CELLS = N_OUT * N_IN;
    // SFU_CYCLES: the cycles of a command that are not vector passes (docs/hw-spec.md §7).
    localparam int VEC_U0 = (2 * R + 1) * (BO + BI + 2 * OVH);
    localparam int VEC_U1 = (BO + BI + 2 * OVH) + R * Q * (BO + BI) + 2 * OVH;
    localparam int SFU_SCALE_MN = RSQ + 2 * R * (RSQ + 1) + 8 + RSQ + 2 + R;
    localparam int SFU_SCALE = RSQ + 1 + 2 + R;

    reg [63:0] stat_q [0:N_STATS-1];
    assign rd_o = (32'(rd_idx_i) < N_STATS) ? stat_q[rd_idx_i] : 64'd0;

    reg [63:0] inc [0:N_STATS-1];
    integer k;
    always @* begin
        for (k = 0; k < N_STATS; k = k + 1) inc[k] = '0;
        inc[STAT_CYCLES] = 64'(cycle_i);
        inc[STAT_ERRORS] = 64'(error_i);
        inc[STAT_MACS] = 64'(macs_i);
        inc[STAT_SRAM_READS] = 64'(reads_i);
        inc[STAT_SRAM_WRITES] = 64'(writes_i);
        inc[STAT_RSQRT] = 64'(rsq_i);
        inc[STAT_NVM_READS] = 64'(nvm_reads_i);
        if (nvm_i) begin
            inc[STAT_NVM_WRITES] = 64'(nvm_written_i);
            inc[STAT_NVM_PULSES] = 64'(nvm_pulses_i);
            inc[STAT_NVM_BLOCKED] = 64'(nvm_blocked_i);
        end
        if (infer_i) begin
            inc[STAT_INFER_MACS] = 64'(CELLS);
            inc[STAT_INFER_CYCLES] = 64'(exec_i);
        end
        if (update_i) begin
            inc[STAT_SAMPLES] = 64'd1;
            inc[STAT_ABSORBED] = 64'(absorbed_i);
            inc[STAT_LRT_CYCLES] = 64'(exec_i);
            inc[STAT_ROTATIONS] = 64'(rotations_i);
            inc[STAT_SFU_CYCLES] = 64'(exec_i) - 64'd1 - 64'(VEC_U0) -
                                   (folded_i ? 64'(VEC_U1) : 64'd0);
        end
        if (scale_i) begin
            inc[STAT_SFU_CYCLES] = maxnorm_i ? 64'(SFU_SCALE_MN) : 64'(SFU_SCALE);
            inc[STAT_GATED] = 64'(gated_i);
            if (gated_i) inc[STAT_COMMIT_CYCLES] = 64'(exec_i);
        end
        if (committed_i) begin
            inc[STAT_COMMITS] = 64'd1;
            inc[STAT_COMMIT_CYCLES] = 64'(exec_i) + 64'd1;
        end
    end

    always @(posedge clk_i) begin
        if (rst_i) begin
            for (k = 0; k < N_STATS; k = k + 1) stat_q[k] <= '0;
        end else if (clear_i) begin
            for (k = 0; k < N_STATS; k = k + 1) stat_q[k] <= '0;
            stat_q[STAT_CYCLES] <= 64'd1;  // the CLEAR_STATS decode cycle
        end else begin
            for (k = 0; k < N_STATS; k = k + 1) stat_q[k] <= stat_q[k] + inc[k];
        end
    end
endmodule

`resetall
