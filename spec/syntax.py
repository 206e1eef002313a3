"""The abstract syntax of .ftv files: frozen structs, every node with its span.

(msgspec's Structs rather than dataclasses: ~90 classes here and in `model.py` cost
~0.1 s of start-up as dataclasses, a few milliseconds as Structs.)

This is a plain data definition. Name resolution and typing live in
`typecheck.py`, which turns these nodes into the typed model of `model.py`.
"""

from __future__ import annotations

import msgspec
from ftverify.spec.errors import Span


class Node(msgspec.Struct, frozen=True):
    span: Span


# ---------------------------------------------------------------- type expressions
class BoolType(Node):
    pass


class RangeType(Node):
    lo: Expr
    hi: Expr


class BVType(Node):
    width: Expr


class NamedType(Node):
    name: str


class FieldType(Node):
    name: str
    type: TypeExpr


class RecordType(Node):
    fields: tuple[FieldType, ...]


class MapType(Node):
    key: TypeExpr
    value: TypeExpr


class SetType(Node):
    elem: TypeExpr


class QueueType(Node):
    elem: TypeExpr
    capacity: Expr


TypeExpr = BoolType | RangeType | BVType | NamedType | RecordType | MapType | SetType | QueueType


# ---------------------------------------------------------------- expressions
class IntLit(Node):
    value: int


class BoolLit(Node):
    value: bool


class Name(Node):
    name: str


class Call(Node):
    name: str
    args: tuple[Expr, ...]


class Primed(Node):
    """`x'`: state variable x after the step (in a step property)."""

    name: str


class BVCast(Node):
    width: Expr
    arg: Expr


class Unary(Node):
    op: str  # "-", "~", "!"
    arg: Expr


class Binary(Node):
    op: str  # arithmetic, bit, comparison, boolean and "in"
    left: Expr
    right: Expr


class Index(Node):
    base: Expr
    index: Expr


class Field(Node):
    base: Expr
    name: str


class Ite(Node):
    cond: Expr
    then: Expr
    orelse: Expr


class Binder(Node):
    name: str
    type: TypeExpr


class SetBinder(Node):
    """`x in S`: x ranges over the members of the set S."""

    name: str
    source: Expr


class Quant(Node):
    kind: str  # "forall", "exists", "count", "sum"
    binders: tuple[Binder | SetBinder, ...]
    body: Expr


class Let(Node):
    name: str
    value: Expr
    body: Expr


class EmptyQueue(Node):
    """`<>`: the empty queue (its type comes from where it is used)."""


class SetLit(Node):
    elems: tuple[Expr, ...]


class SetComp(Node):
    """`{elem for x: T if cond}` or `{elem for x in S if cond}`."""

    elem: Expr
    binder: Binder | SetBinder
    cond: Expr | None


class FieldInit(Node):
    name: str
    value: Expr


class RecordLit(Node):
    fields: tuple[FieldInit, ...]


class MapTable(Node):
    """`[k1 |-> v1, k2 |-> v2, ...]`: a map given key by key."""

    entries: tuple[tuple[Expr, Expr], ...]


class MapLit(Node):
    var: str
    key: TypeExpr
    body: Expr


Expr = (
    IntLit | BoolLit | Name | Call | Primed | BVCast | Unary | Binary | Index | Field | Ite | Quant | Let | SetLit
    | SetComp | RecordLit | MapLit | MapTable | EmptyQueue
)


# ---------------------------------------------------------------- statements
class Assign(Node):
    target: Expr  # a Name, Index or Field chain
    value: Expr


class If(Node):
    cond: Expr
    then: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...]


class ForallStmt(Node):
    var: str
    type: TypeExpr
    body: tuple[Stmt, ...]


class CallStmt(Node):
    name: str
    args: tuple[Expr, ...]


class Skip(Node):
    pass


Stmt = Assign | If | ForallStmt | CallStmt | Skip


# ---------------------------------------------------------------- declarations
class Param(Node):
    name: str
    type: TypeExpr


class Import(Node):
    path: str


class ConstDecl(Node):
    name: str
    value: Expr


class TypeDecl(Node):
    name: str
    type: TypeExpr


class EnumMember(Node):
    name: str


class EnumDecl(Node):
    name: str
    members: tuple[EnumMember, ...]
    symmetric: bool = False


class VarDecl(Node):
    name: str
    type: TypeExpr


class DefDecl(Node):
    name: str
    params: tuple[Param, ...]
    ret: TypeExpr
    body: Expr


class ProcDecl(Node):
    name: str
    params: tuple[Param, ...]
    body: tuple[Stmt, ...]


class InitDecl(Node):
    pred: Expr


class RateFactor(Node):
    value: float | None  # a number, or
    name: str | None  # a named rate or an integer constant


class ActionDecl(Node):
    name: str
    is_fault: bool
    params: tuple[Param, ...]
    guard: Expr | None
    body: tuple[Stmt, ...]
    budget: Expr | str | None = None  # a fault's own budget: a constant, "unbounded", or None (the shared one)
    rate: tuple[RateFactor, ...] | None = None  # the rate's factors; None: immediate
    fairness: str | None = None  # "weak" (`fair action`), "strong" (`strong fair action`) or None


class RateDecl(Node):
    name: str
    value: float


class PropertyDecl(Node):
    kind: str  # "invariant", "reachable", "recovers", "leadsto", "eventually", "step"
    name: str
    pred: Expr
    target: Expr | None = None  # the `to` of a recovers property; `pred` is its `from`


class RefineMap(Node):
    target: Expr  # an abstract lvalue
    value: Expr  # over the concrete state


class RefineAction(Node):
    action: str
    params: tuple[str, ...]
    abstract: str | None  # None: a stutter (`skip`)
    args: tuple[Expr, ...]


class RefinementDecl(Node):
    name: str
    abstract_path: str
    maps: tuple[RefineMap, ...]
    actions: tuple[RefineAction, ...]
    invariants: tuple[str, ...]


Decl = (
    Import | ConstDecl | TypeDecl | EnumDecl | VarDecl | DefDecl | ProcDecl | InitDecl | ActionDecl
    | PropertyDecl | RefinementDecl | RateDecl
)


class SpecFile(Node):
    name: str
    decls: tuple[Decl, ...]


# ---------------------------------------------------------------- proof scripts
class UseDecl(Node):
    path: str
    alias: str
    consts: tuple[tuple[str, int | bool], ...] = ()  # `with NAME = value, ...`: constant overrides


class Theorem(Node):
    name: str
    model: str  # a `use` alias
    prop: str  # an invariant / reachable / recovers name, or a refinement name
    method: str  # "induction", "pdr", "bmc", "kind", "explicit", "refinement", "auto"
    depth: int | None
    using: tuple[str, ...]
    faults: BudgetSpec | None
    expect: str | None  # "proved", "holds", "violated"


class BudgetSpec(msgspec.Struct, frozen=True):
    """A fault budget as written: `--faults 2,crash=1,lose=unbounded` or `under faults ...`."""

    shared: int | None  # the shared budget, None: the spec's default
    own: tuple[tuple[str, int | None], ...] = ()  # a fault's own budget, None: unbounded


class ProofFile(Node):
    name: str
    uses: tuple[UseDecl, ...]
    theorems: tuple[Theorem, ...]
