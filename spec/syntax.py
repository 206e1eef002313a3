"""The abstract syntax of .ftv files: frozen dataclasses, every node with its span.

This is a plain data definition. Name resolution and typing live in
`typecheck.py`, which turns these nodes into the typed model of `model.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ftverify.spec.errors import Span


@dataclass(frozen=True, slots=True)
class Node:
    span: Span


# ---------------------------------------------------------------- type expressions
@dataclass(frozen=True, slots=True)
class BoolType(Node):
    pass


@dataclass(frozen=True, slots=True)
class RangeType(Node):
    lo: Expr
    hi: Expr


@dataclass(frozen=True, slots=True)
class BVType(Node):
    width: Expr


@dataclass(frozen=True, slots=True)
class NamedType(Node):
    name: str


@dataclass(frozen=True, slots=True)
class FieldType(Node):
    name: str
    type: TypeExpr


@dataclass(frozen=True, slots=True)
class RecordType(Node):
    fields: tuple[FieldType, ...]


@dataclass(frozen=True, slots=True)
class MapType(Node):
    key: TypeExpr
    value: TypeExpr


@dataclass(frozen=True, slots=True)
class SetType(Node):
    elem: TypeExpr


@dataclass(frozen=True, slots=True)
class QueueType(Node):
    elem: TypeExpr
    capacity: Expr


TypeExpr = BoolType | RangeType | BVType | NamedType | RecordType | MapType | SetType | QueueType


# ---------------------------------------------------------------- expressions
@dataclass(frozen=True, slots=True)
class IntLit(Node):
    value: int


@dataclass(frozen=True, slots=True)
class BoolLit(Node):
    value: bool


@dataclass(frozen=True, slots=True)
class Name(Node):
    name: str


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class BVCast(Node):
    width: Expr
    arg: Expr


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str  # "-", "~", "!"
    arg: Expr


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str  # arithmetic, bit, comparison, boolean and "in"
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Index(Node):
    base: Expr
    index: Expr


@dataclass(frozen=True, slots=True)
class Field(Node):
    base: Expr
    name: str


@dataclass(frozen=True, slots=True)
class Ite(Node):
    cond: Expr
    then: Expr
    orelse: Expr


@dataclass(frozen=True, slots=True)
class Binder(Node):
    name: str
    type: TypeExpr


@dataclass(frozen=True, slots=True)
class Quant(Node):
    kind: str  # "forall", "exists", "count", "sum"
    binders: tuple[Binder, ...]
    body: Expr


@dataclass(frozen=True, slots=True)
class Let(Node):
    name: str
    value: Expr
    body: Expr


@dataclass(frozen=True, slots=True)
class EmptyQueue(Node):
    """`<>`: the empty queue (its type comes from where it is used)."""


@dataclass(frozen=True, slots=True)
class SetLit(Node):
    elems: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class FieldInit(Node):
    name: str
    value: Expr


@dataclass(frozen=True, slots=True)
class RecordLit(Node):
    fields: tuple[FieldInit, ...]


@dataclass(frozen=True, slots=True)
class MapLit(Node):
    var: str
    key: TypeExpr
    body: Expr


Expr = (
    IntLit | BoolLit | Name | Call | BVCast | Unary | Binary | Index | Field | Ite | Quant | Let | SetLit
    | RecordLit | MapLit | EmptyQueue
)


# ---------------------------------------------------------------- statements
@dataclass(frozen=True, slots=True)
class Assign(Node):
    target: Expr  # a Name, Index or Field chain
    value: Expr


@dataclass(frozen=True, slots=True)
class If(Node):
    cond: Expr
    then: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...]


@dataclass(frozen=True, slots=True)
class ForallStmt(Node):
    var: str
    type: TypeExpr
    body: tuple[Stmt, ...]


@dataclass(frozen=True, slots=True)
class CallStmt(Node):
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Skip(Node):
    pass


Stmt = Assign | If | ForallStmt | CallStmt | Skip


# ---------------------------------------------------------------- declarations
@dataclass(frozen=True, slots=True)
class Param(Node):
    name: str
    type: TypeExpr


@dataclass(frozen=True, slots=True)
class Import(Node):
    path: str


@dataclass(frozen=True, slots=True)
class ConstDecl(Node):
    name: str
    value: Expr


@dataclass(frozen=True, slots=True)
class TypeDecl(Node):
    name: str
    type: TypeExpr


@dataclass(frozen=True, slots=True)
class EnumMember(Node):
    name: str


@dataclass(frozen=True, slots=True)
class EnumDecl(Node):
    name: str
    members: tuple[EnumMember, ...]


@dataclass(frozen=True, slots=True)
class VarDecl(Node):
    name: str
    type: TypeExpr


@dataclass(frozen=True, slots=True)
class DefDecl(Node):
    name: str
    params: tuple[Param, ...]
    ret: TypeExpr
    body: Expr


@dataclass(frozen=True, slots=True)
class ProcDecl(Node):
    name: str
    params: tuple[Param, ...]
    body: tuple[Stmt, ...]


@dataclass(frozen=True, slots=True)
class InitDecl(Node):
    pred: Expr


@dataclass(frozen=True, slots=True)
class ActionDecl(Node):
    name: str
    is_fault: bool
    params: tuple[Param, ...]
    guard: Expr | None
    body: tuple[Stmt, ...]
    budget: Expr | str | None = None  # a fault's own budget: a constant, "unbounded", or None (the shared one)


@dataclass(frozen=True, slots=True)
class PropertyDecl(Node):
    kind: str  # "invariant", "reachable", "recovers"
    name: str
    pred: Expr
    target: Expr | None = None  # the `to` of a recovers property; `pred` is its `from`


@dataclass(frozen=True, slots=True)
class RefineMap(Node):
    target: Expr  # an abstract lvalue
    value: Expr  # over the concrete state


@dataclass(frozen=True, slots=True)
class RefineAction(Node):
    action: str
    params: tuple[str, ...]
    abstract: str | None  # None: a stutter (`skip`)
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class RefinementDecl(Node):
    name: str
    abstract_path: str
    maps: tuple[RefineMap, ...]
    actions: tuple[RefineAction, ...]
    invariants: tuple[str, ...]


Decl = (
    Import | ConstDecl | TypeDecl | EnumDecl | VarDecl | DefDecl | ProcDecl | InitDecl | ActionDecl
    | PropertyDecl | RefinementDecl
)


@dataclass(frozen=True, slots=True)
class SpecFile(Node):
    name: str
    decls: tuple[Decl, ...]


# ---------------------------------------------------------------- proof scripts
@dataclass(frozen=True, slots=True)
class UseDecl(Node):
    path: str
    alias: str
    consts: tuple[tuple[str, int | bool], ...] = ()  # `with NAME = value, ...`: constant overrides


@dataclass(frozen=True, slots=True)
class Theorem(Node):
    name: str
    model: str  # a `use` alias
    prop: str  # an invariant / reachable / recovers name, or a refinement name
    method: str  # "induction", "pdr", "bmc", "kind", "explicit", "refinement", "auto"
    depth: int | None
    using: tuple[str, ...]
    faults: BudgetSpec | None
    expect: str | None  # "proved", "holds", "violated"


@dataclass(frozen=True, slots=True)
class BudgetSpec:
    """A fault budget as written: `--faults 2,crash=1,lose=unbounded` or `under faults ...`."""

    shared: int | None  # the shared budget, None: the spec's default
    own: tuple[tuple[str, int | None], ...] = ()  # a fault's own budget, None: unbounded


@dataclass(frozen=True, slots=True)
class ProofFile(Node):
    name: str
    uses: tuple[UseDecl, ...]
    theorems: tuple[Theorem, ...]
