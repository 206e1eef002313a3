"""What a verdict depends on, as digests: ftverify's own code, and a typed model in a plain,
location-free form (comments, formatting and file names do not count). The proof cache keys
verdicts with them; a cluster's workers compare them with the client's before they work.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
from ftverify.spec import model as M

_SKIP = frozenset({"span", "decl_spans", "checker", "file"})  # where and how it was written, not what


@cache
def code_digest() -> str:
    """A digest of ftverify's spec and checker code (any change makes every key new)."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for folder in ("spec", "checker"):
        for f in sorted((root / folder).rglob("*")):
            if f.suffix in (".py", ".lark") and "__pycache__" not in f.parts:
                h.update(str(f.relative_to(root)).encode())
                h.update(f.read_bytes())
    return h.hexdigest()


def running_code() -> str:
    """The digest of the code this process runs: `code_digest()`, unless a file of a module it has
    loaded changed after it first loaded ftverify (a long-lived worker after an update)."""
    import sys

    from ftverify.spec import LOADED_AT

    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None)
        if name.startswith("ftverify.") and where:
            try:
                changed = Path(where).stat().st_mtime > LOADED_AT
            except OSError:  # removed since
                changed = True
            if changed:
                return f"older than {where}"
    return code_digest()


def model_digest(model: M.Model) -> str:
    uids: dict[int, int] = {}
    return hashlib.sha256(repr(_canon(model, uids)).encode()).hexdigest()


_PLAIN = (str, int, float, bool, type(None))
_FIELDS: dict[type, tuple[str, ...] | None] = {}  # the fields that count, per class (None: not a record)


def _fields(t: type) -> tuple[str, ...] | None:
    if t not in _FIELDS:
        if issubclass(t, msgspec.Struct):
            names: tuple[str, ...] | None = t.__struct_fields__
        elif dataclasses.is_dataclass(t):
            names = tuple(f.name for f in dataclasses.fields(t))
        else:
            names = None
        _FIELDS[t] = None if names is None else tuple(n for n in names if n not in _SKIP)
    return _FIELDS[t]


def _canon(x: Any, uids: dict[int, int]) -> Any:
    """A plain, location-free form of a typed model (bound variables numbered by first use)."""
    t = type(x)
    if t in _PLAIN:
        return x
    names = _fields(t)
    if names is not None:
        out: list[Any] = [t.__name__]
        for name in names:
            v = getattr(x, name)
            if name == "uid" and type(v) is int:
                out.append(uids.setdefault(v, len(uids)))
            else:
                out.append(_canon(v, uids))
        return tuple(out)
    if isinstance(x, list | tuple):
        return tuple(_canon(v, uids) for v in x)
    if isinstance(x, dict):
        return tuple(sorted((repr(k), _canon(v, uids)) for k, v in x.items()))
    if isinstance(x, frozenset | set):
        return tuple(sorted(repr(_canon(v, uids)) for v in x))
    if isinstance(x, enum.Enum):
        return str(x.value)
    if x is None or isinstance(x, str | int | float | bool):
        return x
    raise TypeError(f"cannot key a {type(x).__name__}")
