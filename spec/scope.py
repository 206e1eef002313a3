"""What conditions tell the type checker about the state: the intervals a guard
or an `if` condition establishes for integer places, so that reads under it can
be narrowed (`M.Narrow`) and range checks dropped where they cannot fail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ftverify.spec import model as M
from ftverify.spec.types import (
    IntT,
)

PathKey = tuple[Any, ...]


@dataclass
class Scope:
    bound: dict[str, M.Bound] = field(default_factory=dict)
    state: bool = True  # may refer to state variables
    # Intervals that conditions evaluated before this point have established for
    # integer places of the (pre-)state, keyed by `path_key`.
    facts: dict[PathKey, IntT] = field(default_factory=dict)
    step: bool = False  # in a step property: `x'` and `taken(...)` may be used

    def bind(self, b: M.Bound) -> Scope:
        return Scope({**self.bound, b.name: b}, self.state, self.facts, self.step)

    def assuming(self, cond: M.Expr, holds: bool = True) -> Scope:
        facts = implied(cond, holds, self.facts)
        return self if facts is self.facts else Scope(self.bound, self.state, facts, self.step)


def path_key(e: M.Expr) -> PathKey | None:
    """A key that identifies a place of the state (with constant or parameter indices)."""
    match e:
        case M.VarRef(name=n):
            return ("var", n)
        case M.Narrow(arg=a):
            return path_key(a)
        case M.Index(base=b, index=i):
            kb = path_key(b)
            if kb is None:
                return None
            if isinstance(i, M.Lit):
                return (*kb, "at", i.value)
            if isinstance(i, M.Bound):
                return (*kb, "at-bound", i.uid)
            return None
        case M.Field(base=b, name=n):
            kb = path_key(b)
            return None if kb is None else (*kb, "field", n)
    return None


_FLIP = {"lt": "ge", "le": "gt", "gt": "le", "ge": "lt", "eq": "ne", "ne": "eq"}
_MIRROR = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "ne": "ne"}


def implied(cond: M.Expr, holds: bool, known: dict[PathKey, IntT]) -> dict[PathKey, IntT]:
    """The intervals implied by `cond` being true (or false), for `place OP constant` comparisons.

    Only conjunctions (when true) and single comparisons are used; that is all
    guards need, and it keeps the reasoning obviously sound.
    """
    if isinstance(cond, M.Unary) and cond.op == "not":
        return implied(cond.arg, not holds, known)
    if isinstance(cond, M.Binary) and cond.op == "and" and holds:
        return implied(cond.right, True, implied(cond.left, True, known))
    if not (isinstance(cond, M.Binary) and cond.op in _FLIP):
        return known
    op, place, k = cond.op, cond.left, cond.right
    if isinstance(place, M.Lit):
        op, place, k = _MIRROR[op], cond.right, cond.left
    if not (isinstance(k, M.Lit) and isinstance(k.type, IntT) and isinstance(place.type, IntT)):
        return known
    key = path_key(place)
    if key is None:
        return known
    if not holds:
        op = _FLIP[op]
    cur = known.get(key, place.type)
    lo, hi, v = cur.lo, cur.hi, k.value
    if op == "lt":
        hi = min(hi, v - 1)
    elif op == "le":
        hi = min(hi, v)
    elif op == "gt":
        lo = max(lo, v + 1)
    elif op == "ge":
        lo = max(lo, v)
    elif op == "eq":
        lo, hi = max(lo, v), min(hi, v)
    elif v == lo:
        lo += 1
    elif v == hi:
        hi -= 1
    if lo > hi or (lo, hi) == (cur.lo, cur.hi):
        return known  # contradictory (the code is dead) or nothing new
    return {**known, key: IntT(lo, hi)}


def narrowed(e: M.Expr, scope: Scope) -> M.Expr:
    """e, narrowed to the interval the conditions in scope have established for it (if any)."""
    if scope.facts and isinstance(e.type, IntT):
        key = path_key(e)
        if key is not None and key in scope.facts:
            return M.Narrow(e.span, scope.facts[key], e)
    return e
