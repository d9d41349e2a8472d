"""The package's layers, read from the imports of every module (function-local ones too).

- the float golden model (``MODEL``) imports only itself: never ``pysim.hw``, the
  experiment machinery, the tools or the simulator harness;
- ``pysim.hw`` (the accelerator's specification) imports the model and itself, never the
  experiments, the tools or the harness;
- only the experiment/demo layer (``pysim.experiments``) and ``pysim.tools`` reach the
  harness (``harness``), and they do it by import: no module edits ``sys.path``.
"""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "pysim"
MODEL = {"arrays", "checks", "config", "data", "device", "drift", "lrt", "network", "nn", "nvm",
         "rules", "signs", "store"}


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Absolute names of everything ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(), str(path))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:  # from . import x: x may be a module
                    out.update(f"{name}.{a.name}" for a in node.names)
                out.add(name)
            else:
                out.add(node.module)
    return out


def layer(name: str) -> str:
    parts = name.split(".")
    if parts[0] == "harness":
        return "harness"
    if parts[0] != "pysim" or len(parts) == 1:
        return "outside" if parts[0] != "pysim" else "pysim"
    if parts[1] in ("hw", "tools", "configs", "experiments"):
        return parts[1]
    if parts[1] in MODEL:
        return "model"
    if parts[1] == "__main__":
        return "experiments"  # python -m pysim: the experiments' command line
    return "unknown"


ALLOWED = {"model": {"model", "outside"},
           "hw": {"model", "hw", "outside"},
           "experiments": {"model", "hw", "experiments", "harness", "outside", "pysim"},
           "tools": {"model", "hw", "experiments", "tools", "harness", "outside", "pysim"},
           "pysim": {"outside"}, "configs": {"outside"}}

MODULES = sorted(p for p in PKG.rglob("*.py") if "configs" not in p.parts)


def test_every_module_has_a_layer():
    unknown = [module_name(p) for p in MODULES if layer(module_name(p)) == "unknown"]
    assert not unknown, f"add these modules to a layer in tests/test_layers.py: {unknown}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_respect_the_layers(path):
    own = layer(module_name(path))
    bad = sorted(n for n in imports(path) if layer(n) not in ALLOWED[own])
    assert not bad, f"{module_name(path)} ({own} layer) must not import {bad}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_module_edits_sys_path(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "path" and \
                isinstance(node.value, ast.Name) and node.value.id == "sys":
            pytest.fail(f"{module_name(path)} touches sys.path (line {node.lineno}); import "
                        "the installed package instead")


def test_the_checker_sees_a_violation(tmp_path):
    """The import reader resolves relative imports, so a breach would be seen."""
    bad = PKG / "lrt.py"
    names = imports(bad)
    assert "pysim.checks" in names
    assert layer("pysim.hw.accel") not in ALLOWED["model"]
    assert layer("harness.runner") not in ALLOWED["hw"]
