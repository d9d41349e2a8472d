"""The reference rows of the synthesis table (pysim.tools.synth): small registered
designs synthesised by the same flow as the accelerator's blocks, to read their cells and
depths against."""

import re
from pathlib import Path

CALIBRATION = """\
// Calibration: one registered 32x32 signed multiply + 64-bit accumulate (pysim.tools.synth).
module calib_mac32 (
    input  wire               clk_i,
    input  wire signed [31:0] a_i,
    input  wire signed [31:0] b_i,
    input  wire signed [63:0] c_i,
    output reg  signed [63:0] y_o
);
    reg signed [31:0] a_q, b_q;
    reg signed [63:0] c_q;
    always @(posedge clk_i) begin
        a_q <= a_i;
        b_q <= b_i;
        c_q <= c_i;
        y_o <= a_q * b_q + c_q;
    end
endmodule
"""
ADDER = """\
// Reference: one registered 64-bit add (pysim.tools.synth).
module ref_add64 (
    input  wire        clk_i,
    input  wire [63:0] a_i,
    input  wire [63:0] b_i,
    output reg  [63:0] y_o
);
    reg [63:0] a_q, b_q;
    always @(posedge clk_i) begin
        a_q <= a_i;
        b_q <= b_i;
        y_o <= a_q + b_q;
    end
endmodule
"""
# The reference rows: name -> (Verilog, top module, what the row is).
REFERENCES = {"calibration": (CALIBRATION, "calib_mac32",
                              "registered 32×32 multiply + 64-bit add (reference)"),
              "add64": (ADDER, "ref_add64", "registered 64-bit add (reference)")}


def multiplier(a: int, b: int) -> tuple[str, str]:
    """(Verilog, top) of one registered a×b signed multiply alone: what a ``$mul`` cell of
    that shape in the accelerator costs under the same flow (its registers aside)."""
    top = f"ref_mul_{a}x{b}"
    text = f"""\
// Reference: one registered {a}x{b} signed multiply (pysim.tools.synth).
module {top} (
    input  wire                    clk_i,
    input  wire signed [{a - 1}:0]   a_i,
    input  wire signed [{b - 1}:0]   b_i,
    output reg  signed [{a + b - 1}:0]  y_o
);
    reg signed [{a - 1}:0] a_q;
    reg signed [{b - 1}:0] b_q;
    always @(posedge clk_i) begin
        a_q <= a_i;
        b_q <= b_i;
        y_o <= a_q * b_q;
    end
endmodule
"""
    return text, top


def multiplier_row(a: int, b: int) -> str:
    """The table's row name of the a×b multiplier reference (``mul20x27``)."""
    return f"mul{a}x{b}"


def multipliers(shapes: list[tuple[int, int]]) -> dict[str, tuple[str, str]]:
    """Row name -> (Verilog, top) of one registered multiply per shape."""
    return {multiplier_row(a, b): multiplier(a, b) for a, b in shapes}


def verilog_jobs(designs: dict[str, tuple[str, str]], workdir: Path) -> dict[str, tuple[str, str]]:
    """Synthesis jobs (row name -> (Yosys load commands, top)) of standalone designs
    (row name -> (Verilog, top)), their Verilog written to ``workdir``."""
    jobs = {}
    for name, (text, top) in designs.items():
        (workdir / f"{top}.v").write_text(text)
        jobs[name] = (f"read_verilog {workdir / f'{top}.v'}\n", top)
    return jobs


def is_multiplier_row(name: str) -> bool:
    """Whether ``name`` is a multiplier reference row (``mul20x27``)."""
    return re.fullmatch(r"mul\d+x\d+", name) is not None
