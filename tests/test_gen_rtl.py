"""The RTL's generated include files are up to date with the golden model."""

import pytest

from pysim.hw.gen_rtl import FILES, RTL


@pytest.mark.parametrize("name", sorted(FILES))
def test_generated_rtl_files_are_current(name):
    assert (RTL / name).read_text() == FILES[name](), \
        f"rtl/{name} is stale: run `python -m pysim.hw.gen_rtl`"
