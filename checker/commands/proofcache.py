"""The proof cache: decisive verdicts of proof-script obligations, kept between runs.

A verdict is stored under a key that covers everything it depends on: the typed
model it was proved on, normalised (locations, file names and the numbering of
bound variables left out, so comments and formatting do not matter), the
theorem's property, method, helpers and depth, the fault budget, and a digest of
ftverify's own code and Z3's version (a fixed engine must not serve an old
verdict). Only `proved`, `holds` and `violated` results are stored, which every
engine returns only after its re-check or replay; `unknown` is never stored.

Values are JSON (never pickle: opening a cache must not run code). A trace (a
violation's, a witness's) was replayed on the interpreter before its verdict was
stored; it is kept as its packed states and step labels and decoded when served.

The database is `$XDG_CACHE_HOME/ftverify/proofs.sqlite` (or ~/.cache/...),
shared by every proof script of the user, or `$FTVERIFY_PROOF_CACHE` (`off`: none);
`prove --no-cache` bypasses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from functools import cache
from pathlib import Path
from typing import Any

from ftverify.checker.output.result import Result, Trace, Verdict
from ftverify.spec import model as M
from ftverify.spec.budget import BudgetLike
from ftverify.spec.digest import code_digest, model_digest
from ftverify.spec.interp import Label
from ftverify.spec.layout import StateLayout

SCHEMA = 1
CACHED = (Verdict.PROVED, Verdict.HOLDS, Verdict.VIOLATED)


def default_path() -> Path | None:
    """`$FTVERIFY_PROOF_CACHE` (a database path, or `off`), else the user's cache folder."""
    chosen = os.environ.get("FTVERIFY_PROOF_CACHE")
    if chosen:
        return None if chosen.lower() == "off" else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ftverify" / "proofs.sqlite"


class ProofCache:
    """Verdicts by key, in SQLite. Any failure to use the database turns the cache off."""

    def __init__(self, path: Path | None = None) -> None:
        self.db: sqlite3.Connection | None = None
        self.hits = 0
        self.problem = ""  # why a cache that was asked for cannot be used
        self._digests: dict[int, str] = {}  # by id of a model the caller keeps alive
        chosen = path or default_path()
        if chosen is None:
            return  # turned off
        self.path = chosen
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if self.path.parent.stat().st_uid != os.getuid():
                self.problem = f"{self.path.parent} belongs to another user"
                return  # do not read verdicts from it
            self.db = sqlite3.connect(str(self.path), timeout=10)
            self.db.execute("CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self.db.commit()
        except (OSError, sqlite3.Error) as e:
            self.db = None
            self.problem = f"{self.path}: {e}"

    def key(self, model: M.Model, budget: BudgetLike, prop: str, method: str, using: tuple[str, ...] | list[str],
            depth: int | None) -> str:
        if id(model) not in self._digests:
            self._digests[id(model)] = model_digest(model)
        parts = [SCHEMA, code_digest(), z3_version(), self._digests[id(model)], budget_json(budget), prop, method,
                 sorted(using), depth]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    def get(self, key: str, layout: Any) -> Result | None:
        """The stored verdict (its trace decoded with `layout()`, the model's state layout); None if absent."""
        if self.db is None:
            return None
        try:
            row = self.db.execute("SELECT value FROM verdicts WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        try:
            result = _result_of(json.loads(row[0]), layout)
        except (ValueError, KeyError, TypeError, IndexError):
            return None  # unreadable: prove it again
        self.hits += 1
        return result

    def put(self, key: str, result: Result, layout: Any) -> None:
        """Store a decisive result (`layout()`, the model's state layout, packs its trace)."""
        if self.db is None or result.verdict not in CACHED or result.cti is not None:
            return
        try:
            value = json.dumps(_json_of(result, layout))
            self.db.execute("INSERT OR REPLACE INTO verdicts (key, value) VALUES (?, ?)", (key, value))
            self.db.commit()
        except (sqlite3.Error, TypeError, ValueError, KeyError):
            pass  # not storable: it is simply proved again next time

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


def budget_json(budget: BudgetLike) -> Any:
    return budget.to_json() if hasattr(budget, "to_json") else budget


# ---------------------------------------------------------------- what a verdict depends on
@cache
def z3_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("z3-solver")
    except PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------- stored form
def _json_of(r: Result, layout: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"property": r.property, "kind": r.kind, "verdict": str(r.verdict), "engine": r.engine,
                           "depth": r.depth, "message": r.message, "invariant": r.invariant,
                           "stats": r.stats, "seconds": r.seconds}
    if r.trace is not None:
        tr = r.trace
        lay: StateLayout = layout()
        out["path"] = [str(lay.encode(s, f)) for s, f in zip(tr.states, tr.faults, strict=True)]
        out["steps"] = [_label_json(label) for label in tr.steps]
        if tr.failing is not None:
            label, msg = tr.failing
            out["failing"] = [None if label is None else _label_json(label), msg]
    return out


def _label_json(label: Label) -> list[Any]:
    return [label.action, [[k, v] for k, v in label.args], label.is_fault]


def _label_of(d: list[Any]) -> Label:
    return Label(d[0], tuple((k, _tuples(v)) for k, v in d[1]), bool(d[2]))


def _tuples(v: Any) -> Any:
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


def _result_of(d: dict[str, Any], layout: Any) -> Result:
    r = Result(d["property"], d["kind"], Verdict(d["verdict"]), d["engine"], depth=d["depth"], message=d["message"],
               invariant=d["invariant"], stats=dict(d["stats"]), seconds=d["seconds"])
    if "path" in d:
        lay: StateLayout = layout()
        path = [int(s) for s in d["path"]]
        steps = [_label_of(x) for x in d["steps"]]
        if len(steps) != len(path) - 1:
            raise ValueError("a stored trace's steps do not match its states")
        failing = None
        if "failing" in d:
            where, msg = d["failing"]
            failing = (None if where is None else _label_of(where), msg)
        r.trace = Trace([lay.decode(s) for s in path], steps, [lay.faults(s) for s in path], failing)
    return r


__all__ = ["ProofCache", "default_path", "model_digest"]
