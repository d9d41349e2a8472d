"""The wheel: built from the checkout, installed into a fresh virtualenv, used from outside.

The wheel must hold every module of ``pysim`` and every preset of ``configs/``, and an
installed package must run the quick study and load a device preset without a checkout.
The fresh virtualenv borrows this environment's dependencies (numpy, scipy, ...) through a
``.pth`` file read after its own site-packages, so the test downloads nothing; pysim
itself comes from the wheel only (checked: ``pysim.__file__`` is in the fresh venv).
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What the wheel is built from: the package, the configs it ships, the metadata.
SOURCES = ["pyproject.toml", "README.md", "pysim", "configs", "sim/harness"]


def _run(cmd: list, cwd: Path, env: dict | None = None, timeout: float = 300):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc


def _dependency_dirs() -> list[str]:
    """This environment's site-packages folders (nox's virtualenv lives inside the
    checkout, under .nox/), not the checkout's own source paths (the `sim` pythonpath,
    PYTHONPATH entries): the fresh venv reads its dependencies there."""
    dirs = []
    for p in sys.path:
        path = Path(p or ".").resolve()
        if (path.name in ("site-packages", "dist-packages") and path.is_dir()
                and str(path) not in dirs):
            dirs.append(str(path))
    return dirs


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a copy of the sources (the build writes build/ and *.egg-info
    next to pyproject.toml; the checkout stays untouched), with this environment's
    setuptools (the `test` extra requires it): offline, a few seconds."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, src / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "-q", "-w", tmp / "dist", src], cwd=tmp)
    (path,) = (tmp / "dist").glob("pysim-*.whl")
    return path


def test_wheel_holds_every_module_and_preset(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {f"pysim/{p.relative_to(ROOT / 'pysim').as_posix()}"
               for p in (ROOT / "pysim").rglob("*.py")}
    presets = {f"pysim/configs/{p.relative_to(ROOT / 'configs').as_posix()}"
               for p in (ROOT / "configs").rglob("*.yaml")}
    harness = {f"harness/{p.name}" for p in (ROOT / "sim" / "harness").glob("*.py")}
    assert "pysim/hw/accel.py" in modules and "pysim/configs/devices/rram.yaml" in presets
    assert "harness/host.py" in harness
    missing = sorted((modules | presets | harness) - names)
    assert not missing, (f"the wheel lacks {missing}: list the package or configs/ folder "
                         "in [tool.setuptools] packages of pyproject.toml")


def test_installed_wheel_runs_the_quick_study_outside_the_checkout(wheel, tmp_path):
    pytest.importorskip("venv", reason="the venv module is needed to make a fresh virtualenv")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    paths = json.loads(_run([python, "-c", "import json, sysconfig; "
                             "print(json.dumps(sysconfig.get_paths()))"], cwd=tmp_path).stdout)
    here = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    assert not {paths["purelib"], paths["platlib"]} & here, "the venv is not a fresh one"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONNOUSERSITE"] = "1"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
          "--force-reinstall", "-q", wheel], cwd=tmp_path, env=env)
    # The dependencies, after the wheel's install (pip must not see this environment's
    # pysim): folders appended to sys.path after the venv's own site-packages, whose .pth
    # files (such as an editable install of pysim) are not read.
    Path(paths["purelib"], "zz_test_dependencies.pth").write_text(
        "\n".join(_dependency_dirs()) + "\n")

    away = tmp_path / "elsewhere"  # the working directory: no configs/, no pysim/ in it
    away.mkdir()
    probe = _run([python, "-c", """if True:
        import json
        import numpy as np
        import pysim, pysim.config
        from pysim.nvm import Crossbar
        xb = Crossbar.from_preset("rram", (4, 4))
        xb.program(np.full((4, 4), 0.25))
        print(json.dumps({"pysim": pysim.__file__, "configs": str(pysim.config.preset_dir("")),
                          "device": xb.device.name, "read": xb.read().tolist()}))
        """], cwd=away, env=env)
    got = json.loads(probe.stdout)
    for key in ("pysim", "configs"):
        assert Path(got[key]).resolve().is_relative_to(venv.resolve()), (key, got[key])
    assert got["device"] == "rram" and abs(got["read"][0][0][0] - 0.25) < 0.01

    out = tmp_path / "out"
    study = _run([python, "-m", "pysim", "run", "quick", "--out", out], cwd=away, env=env)
    assert f"results, CSV, table and plots in {out}" in study.stdout
    for name in ("results.json", "results.csv", "table.md", "accuracy_writes.png"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "results.json").read_text())
    assert {r["method"] for r in summary["rows"]} >= {"inference", "sgd", "lrt"}

    # What needs the checkout's rtl/, sim/ or docs/ says so, instead of failing obscurely.
    for cmd in (["pysim.experiments.demo"], ["pysim.experiments.suite"], ["pysim.hw.gen_rtl"]):
        proc = subprocess.run([python, "-m", *cmd], cwd=away, env=env, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 2 and "of a pysim source checkout" in proc.stderr, (
            cmd, proc.stderr[-1000:])
