"""Per-block totals from per-module Yosys statistics (the bench's synthesis table)."""

from pysim.hw.synth import base_name, totals


def test_base_names_of_derived_modules():
    assert base_name("$paramod$1a2b3c\\lrt_unit") == "lrt_unit"
    assert base_name("$paramod\\gs_unit\\N=s32'00000000000000000000000000010000") == "gs_unit"
    assert base_name("accel_top") == "accel_top"


def test_block_totals_include_sub_blocks_times_instances():
    own = {"top": {"$_AND_": 5, "$_SDFF_PP0_": 2, "lrt": 1, "mac": 1},
           "lrt": {"$_XOR_": 10, "$_DFF_P_": 3, "gs": 2},
           "gs": {"$_AND_": 7, "$_DFFE_PP_": 1},
           "mac": {"$_MUX_": 4}}
    children = {"top": {"lrt": 1, "mac": 1}, "lrt": {"gs": 2}}
    got = totals(own, children, "top")
    assert got == {"lrt": {"cells": 13 + 2 * 8, "flipflops": 3 + 2},
                   "mac": {"cells": 4, "flipflops": 0},
                   "top": {"cells": 7, "flipflops": 2}}


def test_blocks_name_the_modules_their_count_lacks():
    from pysim.hw.synth import missing_modules

    children = {"top": {"lrt": 1, "mac": 1}, "lrt": {"gs": 2, "rsq": 1}, "cm": {"rsq": 1}}
    assert missing_modules({"gs"}, children, "top") == {"top": [], "lrt": ["gs"], "mac": []}
    assert missing_modules({"top", "rsq"}, children, "top") == {
        "top": ["top"], "lrt": ["rsq"], "mac": []}
