"""The typed model: the one intermediate representation every engine reads.

`typecheck.py` produces it from the AST. Names are resolved, constants folded,
`def`s and `proc`s inlined (as `Let` bindings, so nothing is duplicated), every
operator resolved to its typed meaning (`add` on integers, `bvadd` on
bit-vectors, `union` on sets, ...), and every run-time check the semantics
needs is an explicit `Check` node: an integer leaving a range on assignment, or
an index leaving a map's key domain. Where interval analysis proves a value in
range, no check is emitted, so the engines never pay for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
from ftverify.spec.errors import Span
from ftverify.spec.types import BOOL, IntT, Type

# The integer interval of the `faults` and `budget` expressions: a budget whose
# counted faults add up to more than this is refused.
MAX_FAULT_BUDGET = 15


class Expr(msgspec.Struct, frozen=True):
    span: Span
    type: Type


class Lit(Expr):
    value: int  # the run-time value (a packed int for composites)


class VarRef(Expr):
    name: str


class Next(Expr):
    """`x'` in a step property: state variable `name` after the step."""

    name: str


class Taken(Expr):
    """`taken(a(...))` in a step property: the step is an instance of action `action` and `cond`
    holds (the arguments' equations over its parameters, bound where the step is evaluated)."""

    action: str
    cond: Expr


class Bound(Expr):
    """A bound name: an action parameter, a quantified, `let` or map-literal variable."""

    name: str
    uid: int


class Index(Expr):
    base: Expr
    index: Expr


class Field(Expr):
    base: Expr
    name: str


class Unary(Expr):
    op: str  # "neg", "not", "bvnot"
    arg: Expr


class Binary(Expr):
    # int: add sub mul div mod shl shr lt le gt ge
    # bv: bvadd bvsub bvmul bvudiv bvurem bvand bvor bvxor bvshl bvlshr bvult bvule bvugt bvuge
    # bool: and or implies iff; any: eq ne; sets: union inter diff subset member
    op: str
    left: Expr
    right: Expr


class Ite(Expr):
    cond: Expr
    then: Expr
    orelse: Expr


class Quant(Expr):
    kind: str  # "forall", "exists", "count", "sum"
    var: Bound
    body: Expr


class Let(Expr):
    var: Bound
    value: Expr
    body: Expr


class SetLit(Expr):
    elems: tuple[Expr, ...]


class RecordLit(Expr):
    fields: tuple[Expr, ...]  # in the order of the record type's fields


class MapLit(Expr):
    var: Bound  # ranges over the map's key type
    body: Expr


class Builtin(Expr):
    # len head push pop (queues), size (sets), min max abs (ints), ord (enum -> int),
    # to_int (bv -> int), to_bv (int -> bv, modulo 2^n)
    name: str
    args: tuple[Expr, ...]


class Faults(Expr):
    """The number of fault steps taken so far on this run."""


class Budget(Expr):
    """The fault budget of the run (`--faults N`)."""


class Check(Expr):
    """`arg`, which must lie in `type` (a range): an evaluation error otherwise.

    `what` says what the check guards, for the error message (for example
    "assignment to x" or "index of out").
    """

    arg: Expr
    what: str


class Narrow(Expr):
    """`arg`, known to lie in `type` (an interval narrower than arg's) where it is evaluated.

    The type checker emits it where a guard or condition has established a bound
    (in `when c[i] < K { c[i] := c[i] + 1 }` the read `c[i]` is narrowed to
    0..K-1, so the assignment needs no range check). Engines evaluate it as `arg`.
    """

    arg: Expr


# ---------------------------------------------------------------- statements
class Stmt(msgspec.Struct, frozen=True):
    span: Span


class Assign(Stmt):
    target: Expr  # VarRef / Index / Field chain rooted at a state variable
    value: Expr


class IfStmt(Stmt):
    cond: Expr
    then: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...]


class ForallStmt(Stmt):
    var: Bound
    body: tuple[Stmt, ...]


class LetStmt(Stmt):
    var: Bound
    value: Expr
    body: tuple[Stmt, ...]


# ---------------------------------------------------------------- declarations
class Var(msgspec.Struct, frozen=True):
    name: str
    type: Type
    span: Span


class Rate(msgspec.Struct, frozen=True):
    """An exponential rate: `factor` times the named rates' values (so that a sweep of a
    named rate re-weights the chain without reloading the spec)."""

    factor: float
    names: tuple[str, ...]
    span: Span

    def value(self, rates: dict[str, float]) -> float:
        v = self.factor
        for n in self.names:
            v *= rates[n]
        return v


class Action(msgspec.Struct, frozen=True):
    name: str
    is_fault: bool
    params: tuple[Bound, ...]
    guard: Expr
    body: tuple[Stmt, ...]
    span: Span
    budget: int | str | None = None  # a fault's own budget: a count, "unbounded", or None (the shared one)
    rate: Rate | None = None  # each instance's rate in `ftverify dependability`; None: immediate
    fairness: str | None = None  # "weak" or "strong" for each instance, for liveness; None: not fair


# Kinds that hold in every reachable state: an invariant, and a step property (`always step`),
# which holds in a state when every step from it does
SAFETY_KINDS = ("invariant", "step")
LIVENESS_KINDS = ("leadsto", "eventually")  # decided on fair runs of the whole state graph
GRAPH_KINDS = ("recovers", *LIVENESS_KINDS)  # the kinds only the explicit engine's whole graph decides


class Property(msgspec.Struct, frozen=True):
    kind: str  # "invariant", "reachable", "recovers", "leadsto", "eventually", "step"
    name: str
    pred: Expr  # for step: over the state before and after (`Next`, `Taken`); for recovers: the `from` condition; leadsto: P of P ~> Q; eventually: `init`
    span: Span
    target: Expr | None = None  # for recovers: the `to` condition; leadsto and eventually: Q


class RefinementMap(msgspec.Struct, frozen=True):
    target: Expr  # an lvalue of the abstract model
    value: Expr  # over the concrete model's state


class RefinementAction(msgspec.Struct, frozen=True):
    action: str  # a concrete action
    abstract: str | None  # the abstract action it implements, None for a stutter
    args: tuple[Expr, ...]  # over the concrete action's parameters and pre-state
    span: Span


class Refinement(msgspec.Struct, frozen=True):
    name: str
    abstract: Model
    maps: tuple[RefinementMap, ...]
    actions: tuple[RefinementAction, ...]
    invariants: tuple[str, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    file: str
    vars: tuple[Var, ...]
    init: Expr
    actions: tuple[Action, ...]
    properties: tuple[Property, ...]
    enums: tuple[Type, ...] = ()
    consts: tuple[tuple[str, int], ...] = ()
    refinements: tuple[Refinement, ...] = ()
    span: Span | None = None
    # Source of every top-level name, for error messages and printing
    decl_spans: tuple[tuple[str, Span], ...] = field(default=())
    # The type checker that built the model, to type further expressions in its
    # scope (helper invariants of proof scripts, refinement mappings).
    checker: Any = field(default=None, compare=False, repr=False)
    rates: tuple[tuple[str, float], ...] = ()  # the named rates (`rate mu = 2.5`) and their values
    symmetric: tuple[str, ...] = ()  # the enums declared `symmetric` (see checker/engines/symmetry.py)

    @property
    def has_faults(self) -> bool:
        return any(a.is_fault for a in self.actions)

    def var(self, name: str) -> Var:
        for v in self.vars:
            if v.name == name:
                return v
        raise KeyError(name)

    def action(self, name: str) -> Action:
        for a in self.actions:
            if a.name == name:
                return a
        raise KeyError(name)

    def property(self, name: str) -> Property:
        for p in self.properties:
            if p.name == name:
                return p
        raise KeyError(name)

    def invariants(self) -> Iterator[Property]:
        return (p for p in self.properties if p.kind == "invariant")


def default_budget(model: Model) -> int:
    """The single-fault model where the spec has faults, fault-free otherwise."""
    return 1 if model.has_faults else 0




def TRUE(span: Span) -> Lit:
    return Lit(span, BOOL, 1)


def int_lit(span: Span, v: int) -> Lit:
    return Lit(span, IntT(v, v), v)


def walk(e: Expr) -> Iterator[Expr]:
    """Every sub-expression of e, e included (pre-order)."""
    stack = [e]
    while stack:
        x = stack.pop()
        yield x
        match x:
            case Index(base=b, index=i):
                stack += [b, i]
            case Field(base=b):
                stack.append(b)
            case Unary(arg=a) | Check(arg=a) | Narrow(arg=a) | Taken(cond=a):
                stack.append(a)
            case Binary(left=a, right=b):
                stack += [a, b]
            case Ite(cond=c, then=a, orelse=b):
                stack += [c, a, b]
            case Quant(body=b) | MapLit(body=b):
                stack.append(b)
            case Let(value=v, body=b):
                stack += [v, b]
            case SetLit(elems=es) | RecordLit(fields=es) | Builtin(args=es):
                stack += list(es)


def walk_stmts(stmts: tuple[Stmt, ...]) -> Iterator[Stmt]:
    for s in stmts:
        yield s
        match s:
            case IfStmt(then=a, orelse=b):
                yield from walk_stmts(a)
                yield from walk_stmts(b)
            case ForallStmt(body=b) | LetStmt(body=b):
                yield from walk_stmts(b)


def stmt_exprs(s: Stmt) -> Iterator[Expr]:
    match s:
        case Assign(target=t, value=v):
            yield t
            yield v
        case IfStmt(cond=c):
            yield c
        case LetStmt(value=v):
            yield v
