import pytest


@pytest.fixture
def cocotb_opts(request):
    """(seed, simulator, iterations) from the command line."""
    cfg = request.config
    return cfg.getoption("--seed"), cfg.getoption("--sim"), cfg.getoption("--iterations")
