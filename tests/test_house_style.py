"""The house style of the Python code (pysim/, sim/, tests/ and the root's noxfile.py and
conftest.py): modules of at most 400 lines and
functions of at most 60, so that each file is one concept and each function fits on a
screen. The check reads the source; it fails on the first file or function over."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400
MAX_FUNCTION = 60
FILES = sorted([p for base in ("pysim", "sim", "tests") for p in (ROOT / base).rglob("*.py")]
               + [ROOT / "noxfile.py", ROOT / "conftest.py"])


def long_functions(source: str, limit: int = MAX_FUNCTION) -> list[tuple[str, int, int]]:
    """(name, first line, length) of every function of ``source`` longer than ``limit``."""
    return [(node.name, node.lineno, node.end_lineno - node.lineno + 1)
            for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > limit]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_and_functions_are_short(path):
    source = path.read_text()
    lines = len(source.splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)}: {lines} lines > {MAX_LINES}: split it"
    assert not long_functions(source), \
        f"{path.relative_to(ROOT)}: functions over {MAX_FUNCTION} lines " \
        f"(name, line, length): {long_functions(source)}"


def test_the_check_finds_a_long_function():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION))
    assert long_functions(f"def f():\n{body}\n") == [("f", 1, MAX_FUNCTION + 1)]
    assert long_functions("def g():\n    return 1\n") == []


VERILOG = sorted([*(ROOT / "rtl").glob("*.v"), *(ROOT / "sim" / "hdl").glob("*.v")])


@pytest.mark.parametrize("path", VERILOG, ids=lambda p: str(p.relative_to(ROOT)))
def test_verilog_files_are_short(path):
    """The RTL house style (lowRISC-like): no Verilog file over 400 lines."""
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)}: {lines} lines > {MAX_LINES}: split it"


UNARY_CAST = re.compile(r"(^|[=(?:,{&|])\s*[-~!]\s*\w+'\(")


@pytest.mark.parametrize("path", [*VERILOG, *sorted((ROOT / "rtl").glob("*.vh"))],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_unary_operator_on_a_size_cast(path):
    """Yosys 0.23 reads `-16'(x)` as a cast of x to the size `-16`, dropping the minus
    (a constant x comes out positive, a signal is an error; `~16'(x)` likewise): the
    netlist then is other hardware than the simulators run. Write `-(16'(x))`."""
    bad = [f"{path.relative_to(ROOT)}:{i}: {line.strip()}"
           for i, line in enumerate(path.read_text().splitlines(), 1)
           if UNARY_CAST.search(line.split("//")[0])]
    assert not bad, "parenthesise the cast: " + "; ".join(bad)
