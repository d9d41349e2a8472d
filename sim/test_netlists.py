"""The update unit as Yosys reads it (pysim.tools.netlist), against pysim.

The synthesis figures describe the netlist Yosys builds from rtl/, not the RTL files the
other benches simulate; Yosys 0.23 reads some legal constructs differently (a size cast
inside an expression: docs/architecture.md, "Synthesis reads the RTL as simulated"). These
run the update unit's own benches on that netlist, at the parameters the synthesis figures
use, one seed each. `nox -s netlist` runs every bench this way.
"""

from __future__ import annotations

import shutil

import pytest
from harness import runner

from pysim.tools.hw_bench import RTL_SMALL

BLOCKS = [("lrt_unit", RTL_SMALL),
          ("commit_unit", dict(N_IN=16, N_OUT=8, RANK=2, LANES=3, F=14, WB=8)),
          ("rsqrt", dict(TW=128))]


@pytest.mark.skipif(shutil.which("yosys") is None,
                    reason="needs Yosys (apt-get install -y yosys; CI installs it)")
@pytest.mark.parametrize(("block", "params"), BLOCKS, ids=[b for b, _ in BLOCKS])
def test_netlist_matches_the_model(block, params, cocotb_opts):
    runner.run(block, params, test_module=f"test_{block}", **(cocotb_opts | {"netlist": True}))
