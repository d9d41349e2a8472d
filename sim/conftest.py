import pytest


def pytest_generate_tests(metafunc):
    """``--shards K``: every bench runs as K items, each over its own span of the seeds."""
    shards = metafunc.config.getoption("--shards")
    if shards > 1 and "cocotb_opts" in metafunc.fixturenames:
        metafunc.parametrize("cocotb_opts", range(shards), indirect=True,
                             ids=[f"shard{k}" for k in range(shards)])


@pytest.fixture
def cocotb_opts(request) -> dict:
    """Keyword arguments for ``harness.runner.run`` from the command line: seed, sim,
    iterations, seeds, netlist — for shard k of K, the k-th span of ``--seeds`` from
    ``--seed``."""
    cfg = request.config
    opts = {k: cfg.getoption(f"--{k}") for k in ("seed", "sim", "iterations", "seeds")}
    opts["netlist"] = cfg.getoption("--netlist")
    shards = cfg.getoption("--shards")
    if shards > 1:
        if opts["seed"] is None or opts["seeds"] is None:
            raise pytest.UsageError("--shards needs --seed and --seeds")
        k, n = getattr(request, "param", 0), opts["seeds"]
        lo, hi = k * n // shards, (k + 1) * n // shards
        opts["seed"], opts["seeds"] = opts["seed"] + lo, hi - lo
    return opts
