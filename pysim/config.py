"""Configuration loading: YAML files become typed, validated dataclasses at the edge.

Every configuration dataclass declares its fields with :func:`spec`, which records the
accepted type, range, choices and a one-line *fix* hint. :func:`from_mapping` checks a
parsed YAML mapping against those declarations and raises a single :class:`ConfigError`
that names the file, the field, the bad value and how to fix it. Nothing downstream
re-validates: once a dataclass exists, its values are legal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import math
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")

_PACKAGE = Path(__file__).resolve().parent
# The presets: configs/ at the top of a source checkout (an editable install or
# PYTHONPATH), where users edit them; pysim/configs/ in an installed wheel, which ships
# the same files there (pyproject.toml maps configs/ to the package pysim.configs).
_CONFIG_ROOT = (_PACKAGE / "configs" if (_PACKAGE / "configs").is_dir()
                else _PACKAGE.parent / "configs")


class ConfigError(ValueError):
    """A configuration value is missing, unknown, of the wrong type or out of range.

    The message always has the form ``<source>: <field> = <value>: <problem>; fix: <fix>``
    so that a user can act on it without reading code.
    """

    def __init__(self, source: str, field: str, value: Any, problem: str, fix: str):
        self.source, self.field, self.value, self.problem, self.fix = (
            source, field, value, problem, fix)
        shown = "<missing>" if value is _MISSING else repr(value)
        super().__init__(f"{source}: {field} = {shown}: {problem}; fix: {fix}")


_MISSING = object()


def spec(*, kind: type | tuple[type, ...], default: Any = dataclasses.MISSING,
         default_factory: Any = dataclasses.MISSING,
         lo: float | None = None, hi: float | None = None, lo_open: bool = False,
         choices: tuple[Any, ...] | None = None, fix: str = "", doc: str = "") -> Any:
    """Declare a validated dataclass field.

    ``kind`` is the accepted Python type (``int`` rejects bools and floats; ``float``
    accepts ints and converts them). ``lo``/``hi`` bound numbers inclusively unless
    ``lo_open``. ``fix`` is appended to any error for this field.
    """
    meta = {"kind": kind, "lo": lo, "hi": hi, "lo_open": lo_open, "choices": choices,
            "fix": fix, "doc": doc}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _describe(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def check_value(source: str, name: str, value: Any, meta: dict) -> Any:
    """Check one value against its field declaration; return it converted to its type."""
    kind, fix = meta["kind"], meta["fix"]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if value is None and type(None) in kinds:
        return None
    if isinstance(value, bool) and bool not in kinds:
        raise ConfigError(source, name, value, f"must be {_describe(kind)}, not a boolean",
                          fix or f"write a {_describe(kind)}")
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if float in kinds and isinstance(value, str) and str not in kinds:
        # PyYAML (YAML 1.1) reads `1.0e7` as a string; it needs `1.0e+7`. Accept both.
        with contextlib.suppress(ValueError):
            value = float(value)
    if not isinstance(value, kinds):
        raise ConfigError(source, name, value,
                          f"must be {_describe(kind)}, got {type(value).__name__}",
                          fix or f"write a {_describe(kind)}")
    if isinstance(value, float) and math.isnan(value):
        raise ConfigError(source, name, value, "is NaN", fix or "write a number")
    if meta["choices"] is not None and value not in meta["choices"]:
        raise ConfigError(source, name, value, f"must be one of {list(meta['choices'])}",
                          fix or f"use one of {list(meta['choices'])}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        lo, hi = meta["lo"], meta["hi"]
        if lo is not None and (value <= lo if meta["lo_open"] else value < lo):
            rel = ">" if meta["lo_open"] else "≥"
            raise ConfigError(source, name, value, f"must be {rel} {lo}",
                              fix or f"use a value {rel} {lo}")
        if hi is not None and value > hi:
            raise ConfigError(source, name, value, f"must be ≤ {hi}",
                              fix or f"use a value ≤ {hi}")
    return value


def from_mapping(cls: type[T], data: Any, source: str, prefix: str = "") -> T:
    """Build dataclass ``cls`` from a parsed mapping, validating every field.

    Unknown keys are rejected (with the closest known name suggested); missing
    required keys are named. Cross-field checks live in the dataclass's
    ``validate(source)`` method, called last, which raises :class:`ConfigError` too.
    """
    where = prefix.rstrip(".") or "<top level>"
    if not isinstance(data, dict):
        raise ConfigError(source, where, data, f"must be a mapping of {cls.__name__} fields",
                          "write 'key: value' lines")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known fields: {sorted(fields)}"
            raise ConfigError(source, prefix + str(key), data[key], "unknown field", hint)
    kwargs = {}
    for name, f in fields.items():
        meta = f.metadata
        if name in data:
            if "kind" in meta:
                kwargs[name] = check_value(source, prefix + name, data[name], dict(meta))
            else:
                kwargs[name] = data[name]
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(source, prefix + name, _MISSING, "is required",
                              meta.get("fix") or f"add '{name}:' ({meta.get('doc', '')})")
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if validate is not None:
        validate(source)
    return obj


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file; a syntax error becomes a :class:`ConfigError` with its line."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(str(path), "<file>", str(path), f"cannot be read ({exc.strerror})",
                          "check the path") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<yaml>"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(str(path), where, _MISSING, f"YAML syntax error: {problem}",
                          "correct the YAML syntax at that position") from exc


def resolve_preset(name_or_path: str | Path, folder: str) -> Path:
    """Find a preset by name in ``configs/<folder>/`` or take it as a file path."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if not candidate.exists():
            raise ConfigError(str(candidate), "<file>", str(candidate), "does not exist",
                              "check the path")
        return candidate
    root = _CONFIG_ROOT / folder
    path = root / f"{name_or_path}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in root.glob("*.yaml"))
        raise ConfigError(f"configs/{folder}", "preset", str(name_or_path), "unknown preset",
                          f"use one of {known} or a path to a .yaml file")
    return path


def preset_dir(folder: str) -> Path:
    """The folder ``configs/<folder>/`` of the presets, in a checkout or an installed wheel."""
    return _CONFIG_ROOT / folder


def preset_names(folder: str) -> list[str]:
    """Names of the presets shipped in ``configs/<folder>/``."""
    return sorted(p.stem for p in preset_dir(folder).glob("*.yaml"))


def checkout_path(*parts: str, needed_by: str) -> Path:
    """``<checkout>/<parts>`` of the source checkout that holds this package: the RTL
    (``rtl``), the cocotb benches (``sim``) and the docs are not in the wheel. Raises a
    :class:`RuntimeError` naming ``needed_by`` and the missing folder when it is absent."""
    path = _PACKAGE.parent.joinpath(*parts)
    if not path.exists():
        raise RuntimeError(
            f"{needed_by} needs {'/'.join(parts)}/ of a pysim source checkout, which an "
            f"installed wheel does not hold ({path} does not exist); run it from a clone "
            "of the repository (pip install -e .)")
    return path
