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
import os
import re
import stat
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

# A config is a few kB; a cap keeps a mistaken path (a log, an image) from filling memory.
MAX_CONFIG_BYTES = 1 << 20
# Values a parsed config may hold once YAML aliases are expanded (the shipped ones hold a
# few hundred): an alias bomb of a few lines would otherwise expand to billions.
MAX_CONFIG_VALUES = 100_000
# Names that become file names (studies, methods, presets): no separators, no leading dot.
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}"
NAME_FIX = ("use 1-64 letters, digits, '_', '.', '+' or '-', starting with a letter or digit "
            "(names become file names)")
_INT64 = 1 << 63


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


def item(*, kind: type | tuple[type, ...], lo: float | None = None, hi: float | None = None,
         lo_open: bool = False, choices: tuple[Any, ...] | None = None, fix: str = "",
         doc: str = "", item: dict | None = None, unique: bool = False,
         pattern: str | None = None, allow_inf: bool = False) -> dict:
    """A value's declaration: what :func:`spec` records for a field, and what
    ``spec(item=...)`` checks every entry of a list field against (named ``field[i]``)."""
    return {"kind": kind, "lo": lo, "hi": hi, "lo_open": lo_open, "choices": choices,
            "fix": fix, "doc": doc, "item": item, "unique": unique, "pattern": pattern,
            "allow_inf": allow_inf}


_declare = item  # spec's own parameter is called item


def spec(*, kind: type | tuple[type, ...], default: Any = dataclasses.MISSING,
         default_factory: Any = dataclasses.MISSING,
         lo: float | None = None, hi: float | None = None, lo_open: bool = False,
         choices: tuple[Any, ...] | None = None, fix: str = "", doc: str = "",
         item: dict | None = None, unique: bool = False, pattern: str | None = None,
         allow_inf: bool = False) -> Any:
    """Declare a validated dataclass field.

    ``kind`` is the accepted Python type (``int`` rejects bools and floats; ``float``
    accepts ints and converts them, and rejects NaN, and ±inf unless ``allow_inf``).
    ``lo``/``hi`` bound numbers inclusively unless ``lo_open``. A list field's entries
    are checked against ``item`` (see :func:`item`; a scalar given for a ``(list, x)``
    field too), must be non-empty, and distinct with ``unique``. ``pattern`` is a regular
    expression a string must match whole. ``fix`` is appended to any error for this field.
    """
    meta = _declare(kind=kind, lo=lo, hi=hi, lo_open=lo_open, choices=choices, fix=fix,
                    doc=doc, item=item, unique=unique, pattern=pattern, allow_inf=allow_inf)
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
    if meta.get("item") is not None:
        if isinstance(value, list):
            return _check_list(source, name, value, meta)
        if list in kinds and len(kinds) > 1:  # a scalar for a value-or-list field
            return check_value(source, name, value, meta["item"])
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
    if isinstance(value, float) and math.isinf(value) and not meta.get("allow_inf"):
        raise ConfigError(source, name, value, "must be finite", fix or "write a finite number")
    if isinstance(value, int) and not -_INT64 <= value < _INT64:
        raise ConfigError(source, name, value, "does not fit in 64 bits",
                          fix or "use a smaller integer")
    if isinstance(value, str) and meta.get("pattern") and \
            not re.fullmatch(meta["pattern"], value):
        raise ConfigError(source, name, value, "is not a valid name", fix or NAME_FIX)
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


def _check_list(source: str, name: str, value: list, meta: dict) -> list:
    if not value:
        raise ConfigError(source, name, value, "must not be empty",
                          meta["fix"] or "give at least one entry")
    out = [check_value(source, f"{name}[{i}]", v, meta["item"]) for i, v in enumerate(value)]
    if meta.get("unique"):
        for i, v in enumerate(out):
            if v in out[:i]:
                raise ConfigError(source, f"{name}[{i}]", v,
                                  f"repeats {name}[{out.index(v)}]", "give each value once")
    return out


def section(data: Any, source: str, name: str) -> dict:
    """A config section's mapping: an absent or empty (``key:``) section is ``{}``; any
    other non-mapping is an error naming the section (``[]`` or ``0`` is not 'empty')."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(source, name, data, "must be a mapping", f"write '{name}:' followed "
                          "by indented 'key: value' lines, or leave it out")
    return data


def from_mapping(cls: type[T], data: Any, source: str, prefix: str = "") -> T:
    """Build dataclass ``cls`` from a parsed mapping, validating every field.

    Unknown keys are rejected (with the closest known name suggested); missing
    required keys are named. Cross-field checks live in the dataclass's
    ``validate(source, prefix)`` method, called last, which raises :class:`ConfigError`
    too, naming its fields with ``prefix`` (e.g. ``methods[2].``).
    """
    where = prefix.rstrip(".") or "<top level>"
    if not isinstance(data, dict):
        raise ConfigError(source, where, data, f"must be a mapping of {cls.__name__} fields",
                          "write 'key: value' lines")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if not isinstance(key, str):
            raise ConfigError(source, prefix + repr(key), data[key], "field names are words",
                              f"known fields: {sorted(fields)}")
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
        validate(source, prefix)
    return obj


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: Any, mark, first):
        super().__init__(f"duplicate key {key!r}")
        self.key, self.problem_mark, self.first = key, mark, first


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but a mapping that names a key twice is an error (PyYAML
    keeps the last value silently). Keys brought in by a merge (``<<: *anchor``) may be
    overridden, as YAML intends."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark)
                except TypeError:
                    continue  # unhashable: the base class reports it
                if first is not key_node.start_mark:
                    raise _DuplicateKey(key, key_node.start_mark, first)
        return super().construct_mapping(node, deep=deep)


def _read_config_text(path: Path) -> str:
    """The text of a regular file of at most MAX_CONFIG_BYTES (a FIFO or a device such as
    /dev/zero, also behind a symlink, would hang the reader or fill memory)."""
    def refuse(problem: str, fix: str) -> ConfigError:
        return ConfigError(str(path), "<file>", str(path), problem, fix)

    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise refuse(f"cannot be read ({exc.strerror})", "check the path") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise refuse("is not a regular file (a directory, FIFO or device)",
                         "point to a .yaml file")
        raw = b""
        while len(raw) <= MAX_CONFIG_BYTES and (chunk := os.read(fd, 1 << 16)):
            raw += chunk
    finally:
        os.close(fd)
    if len(raw) > MAX_CONFIG_BYTES:
        raise refuse(f"is larger than {MAX_CONFIG_BYTES} bytes",
                     "point to a config file, not to data")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(f"is not UTF-8 text (byte {exc.start})", "point to a YAML text file") \
            from exc


def _count_values(data: Any, source: str, budget: int = MAX_CONFIG_VALUES) -> None:
    """Refuse a document that expands (through aliases) to more than ``budget`` values."""
    left = budget
    stack = [data]
    while stack:
        v = stack.pop()
        left -= 1
        if left < 0:
            raise ConfigError(source, "<document>", _MISSING,
                              f"holds more than {budget} values once YAML aliases are "
                              "expanded", "write the values out, without nested aliases")
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML config file: a regular file of at most MAX_CONFIG_BYTES, every key
    once per mapping. A syntax error becomes a :class:`ConfigError` with its line."""
    path = Path(path)
    text = _read_config_text(path)
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: no code
    except _DuplicateKey as exc:
        mark = exc.problem_mark
        raise ConfigError(str(path), f"line {mark.line + 1}", exc.key,
                          f"key given twice (first on line {exc.first.line + 1}); YAML would "
                          "keep the last value silently", "keep one of the two") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<yaml>"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(str(path), where, _MISSING, f"YAML syntax error: {problem}",
                          "correct the YAML syntax at that position") from exc
    _count_values(data, str(path))
    return data


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
