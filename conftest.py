"""Repository-wide pytest options for the cocotb regression (sim/)."""


def pytest_addoption(parser):
    parser.addoption("--seed", type=int, default=None, help="cocotb random seed (reproduce)")
    parser.addoption("--sim", default=None, help="simulator: icarus (default) or verilator")
    parser.addoption("--iterations", type=int, default=None,
                     help="random transactions per cocotb test (default: each bench's own)")
    parser.addoption("--seeds", type=int, default=None,
                     help="run seeds SEED..SEED+N-1 in one simulation, each from reset")
    parser.addoption("--netlist", action="store_true", default=False,
                     help="simulate Yosys's elaboration of each block (the design the "
                          "synthesis figures describe) instead of the RTL files")
    parser.addoption("--shards", type=int, default=1,
                     help="split --seeds into this many simulations per bench (run them "
                          "in parallel with pytest-xdist: -n auto)")
