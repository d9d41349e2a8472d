"""pysim.hw.rtl: the one list of RTL sources and the one ArchParams ↔ Verilog mapping,
checked against the Verilog files themselves."""

import re
from pathlib import Path

import pytest

from pysim.hw import rtl
from pysim.hw.params import AccelConfig, ArchParams

RTL = Path(__file__).resolve().parents[1] / "rtl"


def instantiated(block: str) -> set[str]:
    """Blocks instantiated in rtl/<block>.v (``name #(`` or ``name u_x (``)."""
    text = (RTL / f"{block}.v").read_text()
    found = set(re.findall(r"^\s*(\w+)\s+(?:#\s*\(|u_\w+\s*\()", text, re.M))
    return found & set(rtl.CHILDREN)


@pytest.mark.parametrize("block", sorted(rtl.CHILDREN))
def test_children_are_what_the_verilog_instantiates(block):
    assert instantiated(block) == set(rtl.CHILDREN[block])


def test_accel_top_builds_from_every_verilog_file():
    assert sorted(rtl.sources("accel_top")) == sorted(p.name for p in RTL.glob("*.v"))
    assert rtl.sources("commit_unit") == ["commit_unit.v", "commit_scale.v", "scalar_mul.v",
                                          "rsqrt_share.v", "rsqrt.v"]
    with pytest.raises(ValueError, match="unknown RTL block 'nope'"):
        rtl.sources("nope")


@pytest.mark.parametrize("path", [RTL / "accel_top.v",
                                  RTL.parent / "sim" / "hdl" / "accel_top_clocked.v"])
def test_every_accel_top_parameter_maps_to_an_arch_field(path):
    """accel_top's parameters, and those its HDL-clocked simulation wrapper passes on."""
    text = path.read_text()
    header = text[text.index("#("):text.index(") (")]  # the parameter list
    params = set(re.findall(r"\b([A-Z][A-Z_]*)\s*=", header))
    assert params == set(rtl.PARAMS)
    if "clocked" in path.name:
        assert set(re.findall(r"\.([A-Z_]+)\(\1\)", text)) == set(rtl.PARAMS)
    fields = set(ArchParams.__dataclass_fields__)
    assert set(rtl.PARAMS.values()) <= fields


def test_mapping_round_trips():
    arch = AccelConfig.load("default").arch
    assert rtl.arch_of(rtl.rtl_params(arch)) == arch
    small = rtl.arch_of({"N_IN": 16, "N_OUT": 8, "RANK": 2}, lanes=3)
    assert (small.n_in, small.n_out, small.rank, small.lanes) == (16, 8, 2, 3)
    assert rtl.rtl_params(small, ("N_IN", "LANES")) == {"N_IN": 16, "LANES": 3}
    with pytest.raises(ValueError, match="PASS_OVH"):
        rtl.arch_of({"PASS_OVH": 2})


# Blocks whose model is not a module of the same name, and where it is instead.
MODEL_ELSEWHERE = {"accel_top": "accel.py", "cmd_decode": "accel.py", "rsqrt": "fixed.py",
                   "rsqrt_share": None,
                   "ram_1r1w": None, "factor_mem": None, "commit_scale": "commit_unit.py",
                   "accel_stats": "accel.py", "accel_seq": "accel.py",
                   "scalar_mul": None, "sort_net": "core_svd.py"}
# Blocks checked by another block's bench: the sequencer has no behaviour apart from the
# blocks it sequences, so accel_top's command streams (every opcode, error and wait, on
# both parameter sets and the slots) are its bench.
BENCH_ELSEWHERE = {"accel_seq": "accel_top"}


@pytest.mark.parametrize("block", sorted(rtl.CHILDREN))
def test_every_block_has_its_model_and_its_bench(block):
    """rtl/X.v ↔ pysim/hw/X.py ↔ sim/test_X.py (the exceptions named above)."""
    root = RTL.parent
    bench = BENCH_ELSEWHERE.get(block, block)
    assert (root / "sim" / f"test_{bench}.py").is_file(), f"sim/test_{bench}.py is missing"
    model = MODEL_ELSEWHERE.get(block, f"{block}.py")
    if model is not None:
        assert (root / "pysim" / "hw" / model).is_file(), f"pysim/hw/{model} is missing"
