"""Stored state that cannot run code and carries its own hash: checkpoints, pretrained
networks, job results.

**State files** (``.npz``, :func:`save_state` / :func:`load_state`): a numpy archive read
with ``allow_pickle=False``. Member ``__meta__`` is UTF-8 JSON describing the object graph:
plain values inline, arrays by member name, objects as ``{"$o": class, "id": n, "d":
state}`` and later references to them as ``{"$ref": n}``, random generators by bit
generator name and state. Only classes of pysim's own modules are rebuilt (by name,
from :func:`_registry`; anything else is refused), without calling ``__init__``; so a
planted file can at worst be refused. ``__digest__`` holds the SHA-256 of the JSON,
which records the SHA-256 of every array (dtype, shape and bytes): a flipped or zeroed
byte anywhere is detected.

**JSON files** (:func:`write_json` / :func:`read_json`): job results and study summaries
carry a ``"sha256"`` field over the canonical JSON of the rest.

**Damage** (:class:`DamagedStateError`) names the file and the reason. What the callers
do with it: a damaged checkpoint, pretrained network or job result is set aside
(renamed to ``<name>.damaged``, never deleted, :func:`set_aside`) and computed again, so
the run ends with the result an undamaged one gives; a damaged study summary is refused
with its path (rerun the study: its jobs are on disk).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import importlib
import inspect
import io
import json
import os
import sys
import tempfile
from pathlib import Path, PurePath
from typing import Any

import numpy as np

FORMAT = "pysim-state-1"
# The modules whose classes a state file may name (the float model, the experiment
# machinery, the accelerator model).
MODULES = ("pysim.config", "pysim.data", "pysim.experiments.schema", "pysim.experiments.job",
           "pysim.lrt", "pysim.signs", "pysim.nn", "pysim.network", "pysim.device", "pysim.nvm",
           "pysim.rules.base", "pysim.rules.baselines", "pysim.rules.lrt_rule",
           "pysim.hw.accel", "pysim.hw.engine",
           "pysim.hw.lrt_unit", "pysim.hw.mac_array", "pysim.hw.nvm_crossbar",
           "pysim.hw.params", "pysim.hw.isa")
BIT_GENERATORS = {"PCG64": np.random.PCG64, "PCG64DXSM": np.random.PCG64DXSM,
                  "Philox": np.random.Philox, "SFC64": np.random.SFC64,
                  "MT19937": np.random.MT19937}


class DamagedStateError(ValueError):
    """A stored file is damaged, foreign or unsafe; the message names it."""

    def __init__(self, path: Path | str, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"{path}: {reason}")


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: a reader sees the
    old file or the new one, never half of one (a killed run leaves no torn file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def set_aside(path: Path, err: Exception) -> Path:
    """Rename a damaged file to ``<name>.damaged`` (``.damaged2``, … if taken) and say so
    on stderr; returns the new path."""
    n, target = 1, path.with_name(path.name + ".damaged")
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged{n}")
    os.replace(path, target)
    print(f"warning: {err}; set aside as {target.name}, computing it again",
          file=sys.stderr, flush=True)
    return target


# --- JSON with a hash ---------------------------------------------------------------------
def _json_digest(data: dict) -> str:
    body = {k: v for k, v in data.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def write_json(path: Path, data: dict) -> None:
    """``data`` as indented JSON with its ``"sha256"`` (atomically)."""
    atomic_write(path, json.dumps({**data, "sha256": _json_digest(data)}, indent=1).encode())


def read_json(path: Path) -> dict:
    """A JSON file written by :func:`write_json`, without its hash field; raises
    :class:`DamagedStateError` if it does not parse or its hash does not match."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DamagedStateError(path, f"unreadable JSON ({exc})") from exc
    if not isinstance(data, dict) or "sha256" not in data:
        raise DamagedStateError(path, "no content hash (damaged, or written by an older "
                                      "pysim)")
    if data["sha256"] != _json_digest(data):
        raise DamagedStateError(path, "content hash mismatch: the file was changed or "
                                      "damaged after it was written")
    return {k: v for k, v in data.items() if k != "sha256"}


def load_or_none(load, path: Path):
    """``load(path)`` for a file that is computed again when it is missing or damaged:
    None then (a damaged file, :class:`DamagedStateError`, is set aside first)."""
    if not Path(path).exists():
        return None
    try:
        return load(path)
    except DamagedStateError as exc:
        set_aside(Path(path), exc)
        return None


def read_json_or_none(path: Path) -> dict | None:
    """:func:`read_json`, or None for a missing or damaged file (:func:`load_or_none`)."""
    return load_or_none(read_json, path)


# --- object graphs ------------------------------------------------------------------------
def _registry() -> dict[str, type]:
    """Class name → class, for the classes defined in :data:`MODULES` only."""
    out = {}
    for name in MODULES:
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == name:
                out[f"{name}.{cls.__qualname__}"] = cls
    return out


def _array_digest(a: np.ndarray) -> str:
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


class _Encoder:
    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self.ids: dict[int, int] = {}
        self.keep: list = []  # keeps encoded objects alive, so their ids stay unique
        self.containers: set[int] = set()

    def value(self, v: Any) -> Any:
        if v is None or type(v) in (bool, str, int):
            return v
        if isinstance(v, np.generic):
            return {"$s": self._array(np.asarray(v))}
        if type(v) is float:
            return {"$f": v.hex()}  # exact, and JSON has no NaN or inf
        if isinstance(v, np.ndarray):
            if v.dtype.hasobject:
                raise TypeError("object arrays cannot be stored")
            # One member per array object: an array held in two places is one again.
            return self._shared(v, lambda: {"$a": self._array(v),
                                            "ro": not v.flags.writeable})
        if isinstance(v, PurePath):
            return {"$path": str(v)}
        if type(v) in (list, tuple, dict):
            # Rebuilt as separate copies: a mutable container held in two places (or in
            # itself) would come back unshared, so it is refused rather than changed. A
            # shared tuple (a shape) may be copied: nothing can tell the copies apart.
            if type(v) is not tuple:
                if id(v) in self.containers:
                    raise TypeError(f"a {type(v).__name__} held in two places cannot be "
                                    "stored")
                self.containers.add(id(v))
                self.keep.append(v)
            if type(v) is dict:
                if all(type(k) is str and not k.startswith("$") for k in v):
                    return {k: self.value(x) for k, x in v.items()}
                return {"$d": [[self.value(k), self.value(x)] for k, x in v.items()]}
            items = [self.value(x) for x in v]
            return items if type(v) is list else {"$t": items}
        if isinstance(v, np.random.Generator):
            return self._shared(v, lambda: {"$rng": type(v.bit_generator).__name__,
                                            "state": self.value(v.bit_generator.state)})
        if isinstance(v, np.dtype):
            return {"$dtype": v.str}
        if isinstance(v, enum.Enum) and type(v).__module__ in MODULES:
            return {"$e": f"{type(v).__module__}.{type(v).__qualname__}",
                    "v": self.value(v.value)}
        return self._object(v)

    def _array(self, a: np.ndarray) -> str:
        key = f"a{len(self.arrays)}"
        self.arrays[key] = a
        return key

    def _shared(self, v, build) -> dict:
        if id(v) in self.ids:
            return {"$ref": self.ids[id(v)]}
        self.ids[id(v)] = n = len(self.ids)
        self.keep.append(v)
        return {"id": n, **build()}

    def _object(self, v) -> dict:
        cls = type(v)
        name = f"{cls.__module__}.{cls.__qualname__}"
        if cls.__module__ not in MODULES or isinstance(v, (int, float, str, tuple, list, dict,
                                                            enum.Enum)):
            raise TypeError(f"cannot store a {name} (only pysim's own classes, not enums or "
                            "subclasses of built-in types)")
        if id(v) in self.ids:
            return {"$ref": self.ids[id(v)]}
        self.ids[id(v)] = n = len(self.ids)
        self.keep.append(v)
        state = v.__getstate__()
        if state is None:  # an object without attributes
            state = {}
        if not isinstance(state, dict):
            raise TypeError(f"cannot store a {name}: its state is not a mapping")
        return {"$o": name, "id": n, "d": self.value(state)}


class _Decoder:
    def __init__(self, arrays, classes: dict[str, type]):
        self.arrays, self.classes, self.objs = arrays, classes, {}

    def value(self, v: Any) -> Any:
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if not isinstance(v, dict):
            return v
        if "$f" in v:
            return float.fromhex(v["$f"])
        if "$s" in v:
            return self.arrays[v["$s"]][()]
        if "$a" in v:
            a = np.array(self.arrays[v["$a"]])
            a.flags.writeable = not v.get("ro", False)
            self.objs[v["id"]] = a
            return a
        if "$path" in v:
            return Path(v["$path"])
        if "$t" in v:
            return tuple(self.value(x) for x in v["$t"])
        if "$d" in v:
            return {self._key(k): self.value(x) for k, x in v["$d"]}
        if "$ref" in v:
            return self.objs[v["$ref"]]
        if "$rng" in v:
            if v["$rng"] not in BIT_GENERATORS:
                raise ValueError(f"unknown bit generator {v['$rng']!r}")
            bg = BIT_GENERATORS[v["$rng"]]()
            bg.state = self.value(v["state"])
            self.objs[v["id"]] = g = np.random.Generator(bg)
            return g
        if "$dtype" in v:
            return np.dtype(v["$dtype"])
        if "$e" in v:
            cls = self.classes.get(v["$e"])
            if cls is None or not issubclass(cls, enum.Enum):
                raise ValueError(f"enum {v['$e']!r} is not one pysim stores")
            return cls(self.value(v["v"]))
        if "$o" in v:
            return self._object(v)
        return {k: self.value(x) for k, x in v.items()}

    def _key(self, k):
        k = self.value(k)
        return tuple(k) if isinstance(k, list) else k

    def _object(self, v: dict):
        cls = self.classes.get(v["$o"])
        if cls is None:
            raise ValueError(f"class {v['$o']!r} is not one pysim stores")
        obj = cls.__new__(cls)
        self.objs[v["id"]] = obj
        state = self.value(v["d"])
        if hasattr(cls, "__setstate__"):
            obj.__setstate__(state)
        elif dataclasses.is_dataclass(cls) and getattr(cls, "__slots__", None):
            for k, x in state.items():
                object.__setattr__(obj, k, x)
        else:
            obj.__dict__.update(state)
        return obj


def save_state(path: Path, obj: Any, kind: str) -> None:
    """Store ``obj`` (pysim objects, numpy arrays and generators, plain values) in
    ``path`` as described in the module docstring, atomically."""
    enc = _Encoder()
    root = enc.value(obj)
    meta = {"format": FORMAT, "kind": kind, "root": root,
            "arrays": {k: _array_digest(a) for k, a in enc.arrays.items()}}
    # Key order is decode order: a $ref must come after the object it names.
    body = json.dumps(meta).encode()
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.frombuffer(body, np.uint8),
             __digest__=np.frombuffer(hashlib.sha256(body).hexdigest().encode(), np.uint8),
             **enc.arrays)
    atomic_write(Path(path), buf.getvalue())


def load_state(path: Path, kind: str) -> Any:
    """The object :func:`save_state` stored as ``kind`` in ``path``; any damage, another
    kind or format, or a class pysim does not store raises :class:`DamagedStateError`."""
    path = Path(path)
    try:
        # From bytes: np.load leaves the file open when the zip directory is damaged.
        with np.load(io.BytesIO(path.read_bytes()), allow_pickle=False) as z:
            members = {k: z[k] for k in z.files}
    except Exception as exc:  # zip, CRC, header or pickle-refusal errors: all damage
        raise DamagedStateError(path, f"unreadable state file ({type(exc).__name__}: "
                                      f"{exc})") from exc
    try:
        body = members.pop("__meta__").tobytes()
        digest = members.pop("__digest__").tobytes().decode()
        if hashlib.sha256(body).hexdigest() != digest:
            raise ValueError("description hash mismatch")
        meta = json.loads(body)
        if meta.get("format") != FORMAT or meta.get("kind") != kind:
            raise ValueError(f"holds {meta.get('kind')!r} in format {meta.get('format')!r}, "
                             f"expected {kind!r} in {FORMAT!r}")
        if set(meta["arrays"]) != set(members):
            raise ValueError("array members missing or extra")
        for key, a in members.items():
            if _array_digest(a) != meta["arrays"][key]:
                raise ValueError(f"array {key} hash mismatch")
        return _Decoder(members, _registry()).value(meta["root"])
    except DamagedStateError:
        raise
    except Exception as exc:
        raise DamagedStateError(path, f"damaged or foreign state file ({exc})") from exc
