"""Repository-wide pytest options for the cocotb regression (sim/)."""


def pytest_addoption(parser):
    parser.addoption("--seed", type=int, default=None, help="cocotb random seed (reproduce)")
    parser.addoption("--sim", default=None, help="simulator: icarus (default) or verilator")
    parser.addoption("--iterations", type=int, default=None,
                     help="random transactions per cocotb test (default: each bench's own)")
