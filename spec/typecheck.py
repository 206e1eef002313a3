"""Name resolution and type checking: AST -> typed model.

The checker is bidirectional: `_expr(e, expected)` types e, using `expected` only
to give literals their type (`3` as a `bv[4]`, `{}` as a `set[Replica]`).
Integer expressions are typed by the interval their values lie in, so a range
check is emitted only where a value may really leave its range.
"""

from __future__ import annotations

import difflib
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ftverify.spec import model as M
from ftverify.spec import syntax as S
from ftverify.spec.errors import Span, SpecError
from ftverify.spec.parser import parse_file
from ftverify.spec.types import (
    BOOL,
    BVT,
    MAX_DOMAIN,
    BoolT,
    EnumT,
    IntT,
    MapT,
    QueueT,
    RecordT,
    SetT,
    Type,
    domain_size,
    is_scalar,
    width,
)

MAX_BV_WIDTH = 64
MAX_SET_DOMAIN = 256
MAX_QUEUE_CAPACITY = 64
RESERVED = {"faults", "budget", "len", "head", "push", "pop", "size", "min", "max", "abs", "int", "ord"}
BUILTIN_ARITY = {
    "len": 1, "head": 1, "push": 2, "pop": 1, "size": 1, "min": 2, "max": 2, "abs": 1, "int": 1, "ord": 1,
}


def describe(t: Type) -> str:
    """A type as an error message names it."""
    if isinstance(t, IntT):
        return "an integer" if t.lo == t.hi else f"an integer in {t.lo}..{t.hi}"
    return str(t)


@dataclass
class _Decl:
    kind: str
    node: Any
    span: Span


PathKey = tuple[Any, ...]


@dataclass
class _Scope:
    bound: dict[str, M.Bound] = field(default_factory=dict)
    state: bool = True  # may refer to state variables
    # Intervals that conditions evaluated before this point have established for
    # integer places of the (pre-)state, keyed by `_path_key`.
    facts: dict[PathKey, IntT] = field(default_factory=dict)

    def bind(self, b: M.Bound) -> _Scope:
        return _Scope({**self.bound, b.name: b}, self.state, self.facts)

    def assuming(self, cond: M.Expr, holds: bool = True) -> _Scope:
        facts = _facts(cond, holds, self.facts)
        return self if facts is self.facts else _Scope(self.bound, self.state, facts)


def _path_key(e: M.Expr) -> PathKey | None:
    """A key that identifies a place of the state (with constant or parameter indices)."""
    match e:
        case M.VarRef(name=n):
            return ("var", n)
        case M.Narrow(arg=a):
            return _path_key(a)
        case M.Index(base=b, index=i):
            kb = _path_key(b)
            if kb is None:
                return None
            if isinstance(i, M.Lit):
                return (*kb, "at", i.value)
            if isinstance(i, M.Bound):
                return (*kb, "at-bound", i.uid)
            return None
        case M.Field(base=b, name=n):
            kb = _path_key(b)
            return None if kb is None else (*kb, "field", n)
    return None


_FLIP = {"lt": "ge", "le": "gt", "gt": "le", "ge": "lt", "eq": "ne", "ne": "eq"}
_MIRROR = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "ne": "ne"}


def _facts(cond: M.Expr, holds: bool, known: dict[PathKey, IntT]) -> dict[PathKey, IntT]:
    """The intervals implied by `cond` being true (or false), for `place OP constant` comparisons.

    Only conjunctions (when true) and single comparisons are used; that is all
    guards need, and it keeps the reasoning obviously sound.
    """
    if isinstance(cond, M.Unary) and cond.op == "not":
        return _facts(cond.arg, not holds, known)
    if isinstance(cond, M.Binary) and cond.op == "and" and holds:
        return _facts(cond.right, True, _facts(cond.left, True, known))
    if not (isinstance(cond, M.Binary) and cond.op in _FLIP):
        return known
    op, place, k = cond.op, cond.left, cond.right
    if isinstance(place, M.Lit):
        op, place, k = _MIRROR[op], cond.right, cond.left
    if not (isinstance(k, M.Lit) and isinstance(k.type, IntT) and isinstance(place.type, IntT)):
        return known
    key = _path_key(place)
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


def _suggest(name: str, candidates: list[str]) -> str | None:
    close = difflib.get_close_matches(name, candidates, n=3)
    return f"did you mean {', '.join(close)}?" if close else None


def _is_const_int(e: M.Expr) -> bool:
    return isinstance(e, M.Lit) and isinstance(e.type, IntT)


class Checker:
    """Types one spec (with its imports) into a Model."""

    def __init__(self, overrides: dict[str, int] | None = None) -> None:
        self.decls: dict[str, _Decl] = {}
        self.overrides = dict(overrides or {})
        self.const_values: dict[str, M.Lit] = {}
        self.types: dict[str, Type] = {}
        self.enum_members: dict[str, tuple[EnumT, int]] = {}
        self.vars: dict[str, M.Var] = {}
        self.def_ir: dict[str, tuple[tuple[M.Bound, ...], M.Expr, Type]] = {}
        self.proc_ir: dict[str, tuple[tuple[M.Bound, ...], tuple[M.Stmt, ...]]] = {}
        self._resolving: list[str] = []  # consts/types/defs/procs being resolved: cycle detection
        self._uids = itertools.count(1)
        self._imported: set[str] = set()
        self.all_decls: list[S.Decl] = []
        # an abstract spec loaded for a refinement takes the overrides it declares, ignores the rest
        self.lenient_overrides = False

    # ------------------------------------------------------------ loading
    def load(self, path: str) -> S.SpecFile:
        root = self._parse_spec(path, None)
        self.all_decls = list(self._flatten(root, path, [os.path.abspath(path)]))
        for d in self.all_decls:
            self._declare(d)
        for name in self.overrides:
            if self.lenient_overrides:
                break
            if name not in self.decls or self.decls[name].kind != "const":
                consts = [n for n, d in self.decls.items() if d.kind == "const"]
                raise SpecError(root.span, f"--const {name}: the spec declares no constant `{name}`",
                                hint=_suggest(name, consts) or f"its constants: {', '.join(consts) or 'none'}")
        return root

    def _parse_spec(self, path: str, at: Span | None) -> S.SpecFile:
        node = parse_file(path) if at is None else self._parse_import(path, at)
        if not isinstance(node, S.SpecFile):
            raise SpecError(node.span, "expected a spec (`spec NAME ...`), found a proof script")
        return node

    def _parse_import(self, path: str, at: Span) -> S.SpecFile | S.ProofFile:
        if not os.path.exists(path):
            raise SpecError(at, f"cannot import {path!r}: no such file")
        return parse_file(path)

    def _flatten(self, spec: S.SpecFile, path: str, stack: list[str]) -> Iterator[S.Decl]:
        for d in spec.decls:
            if isinstance(d, S.Import):
                target = os.path.normpath(os.path.join(os.path.dirname(path), d.path))
                key = os.path.abspath(target)
                if key in stack:
                    raise SpecError(d.span, f"import cycle: {' -> '.join(os.path.basename(p) for p in [*stack, key])}")
                if key in self._imported:
                    continue  # a diamond: the second import of the same file adds nothing
                self._imported.add(key)
                sub = self._parse_spec(target, d.span)
                yield from self._flatten(sub, target, [*stack, key])
            else:
                yield d

    def _declare(self, d: S.Decl) -> None:
        kind = {
            S.ConstDecl: "const", S.TypeDecl: "type", S.EnumDecl: "enum", S.VarDecl: "var",
            S.DefDecl: "def", S.ProcDecl: "proc", S.ActionDecl: "action", S.PropertyDecl: "property",
        }.get(type(d))
        if kind is None:
            return  # init and refinement declarations are not names
        name = d.name  # type: ignore[union-attr]
        self._add_name(name, kind, d, d.span)
        if isinstance(d, S.EnumDecl):
            for m in d.members:
                self._add_name(m.name, "member", (d, m), m.span)

    def _add_name(self, name: str, kind: str, node: Any, span: Span) -> None:
        if name in RESERVED:
            raise SpecError(span, f"`{name}` is a built-in name and cannot be declared")
        if name in self.decls:
            first = self.decls[name]
            raise SpecError(span, f"`{name}` is already declared (as a {first.kind})",
                            notes=[(first.span, "first declared here")])
        self.decls[name] = _Decl(kind, node, span)

    def _fresh(self, span: Span, t: Type, name: str) -> M.Bound:
        return M.Bound(span, t, name, next(self._uids))

    # ------------------------------------------------------------ the model
    def build(self, root: S.SpecFile, file: str, decls: list[S.Decl]) -> M.Model:
        for name, d in self.decls.items():
            if d.kind == "const":
                self._const(name)
            elif d.kind in ("type", "enum"):
                self._named_type(name, d.span)
        for name, d in self.decls.items():
            if d.kind == "var":
                t = self._type(d.node.type)
                self.vars[name] = M.Var(name, t, d.span)
        if not self.vars:
            raise SpecError(root.span, f"spec {root.name} declares no state variables",
                            hint="declare at least one `var NAME: TYPE`")
        inits = [d for d in decls if isinstance(d, S.InitDecl)]
        init: M.Expr = M.TRUE(root.span)
        for i in inits:
            p = self._bool(i.pred, _Scope(), "init")
            init = p if init is None or (isinstance(init, M.Lit) and init.value == 1) else \
                M.Binary(i.span, BOOL, "and", init, p)
        actions = [self._action(d.node) for d in self.decls.values() if d.kind == "action"]
        if not actions:
            raise SpecError(root.span, f"spec {root.name} declares no actions",
                            hint="declare at least one `action NAME { ... }`")
        props = [self._property(d.node) for d in self.decls.values() if d.kind == "property"]
        enums = tuple(t for t in self.types.values() if isinstance(t, EnumT))
        consts = tuple((n, c.value) for n, c in self.const_values.items())
        refinements = tuple(self._refinement(d, actions, props) for d in decls if isinstance(d, S.RefinementDecl))
        return M.Model(root.name, file, tuple(self.vars.values()), init, tuple(actions), tuple(props),
                       enums, consts, refinements, root.span,
                       tuple((n, d.span) for n, d in self.decls.items()), self)

    def _refinement(self, r: S.RefinementDecl, actions: list[M.Action], props: list[M.Property]) -> M.Refinement:
        """A refinement mapping: the abstract spec it refines, how every abstract variable is
        computed from the concrete state, and which abstract step each concrete action takes."""
        path = os.path.normpath(os.path.join(os.path.dirname(r.span.file), r.abstract_path))
        if not os.path.exists(path):
            raise SpecError(r.span, f"cannot refine {r.abstract_path!r}: no such file ({path})")
        sub = Checker({k: v for k, v in self.overrides.items()})
        sub.lenient_overrides = True
        root = sub.load(path)
        sub.overrides = {k: v for k, v in sub.overrides.items() if k in sub.decls}
        abstract = sub.build(root, path, sub.all_decls)
        maps: dict[str, M.RefinementMap] = {}
        for m in r.maps:
            if not isinstance(m.target, S.Name) or m.target.name not in {v.name for v in abstract.vars}:
                raise SpecError(m.target.span, "a `map` defines one variable of the abstract spec",
                                hint=f"its variables: {', '.join(v.name for v in abstract.vars)}")
            var = abstract.var(m.target.name)
            if var.name in maps:
                raise SpecError(m.span, f"abstract variable `{var.name}` is mapped twice")
            value = self._coerce(self._expr(m.value, _Scope(), var.type), var.type, m.value.span,
                                 f"the map of `{var.name}`")
            maps[var.name] = M.RefinementMap(M.VarRef(m.span, var.type, var.name), value)
        for var in abstract.vars:
            if var.name in maps:
                continue
            mine = self.vars.get(var.name)
            if mine is None or mine.type != var.type:
                raise SpecError(r.span, f"abstract variable `{var.name}` has no `map`, and this spec has no "
                                        f"variable `{var.name}` of type {var.type} to map it to")
            maps[var.name] = M.RefinementMap(M.VarRef(r.span, var.type, var.name),
                                             M.VarRef(r.span, mine.type, mine.name))
        by_name = {a.name: a for a in actions}
        abstract_actions = {a.name: a for a in abstract.actions}
        mapped: dict[str, M.RefinementAction] = {}
        for ra in r.actions:
            a = by_name.get(ra.action)
            if a is None:
                raise SpecError(ra.span, f"this spec has no action `{ra.action}`",
                                hint=_suggest(ra.action, list(by_name)) or None)
            if ra.params and tuple(ra.params) != tuple(p.name for p in a.params):
                raise SpecError(ra.span, f"the parameters of `{a.name}` are ({', '.join(p.name for p in a.params)})")
            if ra.action in mapped:
                raise SpecError(ra.span, f"action `{ra.action}` is mapped twice")
            scope = _Scope()
            for p in a.params:
                scope = scope.bind(p)
            scope = scope.assuming(a.guard)
            if ra.abstract is None:
                mapped[a.name] = M.RefinementAction(a.name, None, (), ra.span)
                continue
            b = abstract_actions.get(ra.abstract)
            if b is None:
                raise SpecError(ra.span, f"the abstract spec has no action `{ra.abstract}`",
                                hint=_suggest(ra.abstract, list(abstract_actions)) or None)
            if len(ra.args) != len(b.params):
                raise SpecError(ra.span, f"abstract action `{b.name}` takes {len(b.params)} argument(s), "
                                         f"{len(ra.args)} given")
            args = tuple(self._coerce(self._expr(x, scope, bp.type), bp.type, x.span, f"argument `{bp.name}`")
                         for x, bp in zip(ra.args, b.params, strict=True))
            if b.is_fault != a.is_fault:
                raise SpecError(ra.span, "a fault must map to a fault, and an action to an action")
            mapped[a.name] = M.RefinementAction(a.name, b.name, args, ra.span)
        for a in actions:
            if a.name in mapped:
                continue
            b = abstract_actions.get(a.name)
            if b is None or [p.type for p in b.params] != [p.type for p in a.params] or b.is_fault != a.is_fault:
                raise SpecError(r.span, f"concrete action `{a.name}` has no mapping",
                                hint=f"add `action {a.name} -> ABSTRACT_ACTION(...)` or `action {a.name} -> skip`")
            mapped[a.name] = M.RefinementAction(a.name, b.name, tuple(a.params), r.span)
        invariant_names = {p.name for p in props if p.kind == "invariant"}
        for n in r.invariants:
            if n not in invariant_names:
                raise SpecError(r.span, f"`{n}` is not an invariant of this spec",
                                hint=f"its invariants: {', '.join(sorted(invariant_names)) or 'none'}")
        return M.Refinement(r.name, abstract, tuple(maps[v.name] for v in abstract.vars),
                            tuple(mapped[a.name] for a in actions), tuple(r.invariants), r.span)

    def expression(self, text: str, file: str = "<expression>", expected: Type | None = None) -> M.Expr:
        """Type an expression given as text in the scope of this spec."""
        from ftverify.spec.parser import parse_expr

        return self._expr(parse_expr(text, file), _Scope(), expected)

    def _action(self, a: S.ActionDecl) -> M.Action:
        scope = _Scope()
        params = []
        for p in a.params:
            t = self._type(p.type)
            self._need_finite_scalar(t, p.type.span, "an action parameter")
            if p.name in scope.bound:
                raise SpecError(p.span, f"parameter `{p.name}` appears twice")
            b = self._fresh(p.span, t, p.name)
            params.append(b)
            scope = scope.bind(b)
        guard = self._bool(a.guard, scope, "a guard") if a.guard is not None else M.TRUE(a.span)
        # The body runs only where the guard holds, and reads the pre-state.
        body = self._stmts(a.body, scope.assuming(guard))
        budget: int | str | None = a.budget if isinstance(a.budget, str) or a.budget is None \
            else self._const_int(a.budget, f"the budget of fault {a.name}")
        if isinstance(budget, int) and not 0 <= budget <= M.MAX_FAULT_BUDGET:
            assert isinstance(a.budget, S.Node)
            raise SpecError(a.budget.span, f"the budget of fault {a.name} is {budget}, outside "
                                           f"0..{M.MAX_FAULT_BUDGET}", hint="a lossy fault can be `unbounded`")
        return M.Action(a.name, a.is_fault, tuple(params), guard, body, a.span, budget)

    def _property(self, p: S.PropertyDecl) -> M.Property:
        pred = self._bool(p.pred, _Scope(), f"{p.kind} {p.name}")
        target = self._bool(p.target, _Scope(), f"{p.kind} {p.name}") if p.target is not None else None
        return M.Property(p.kind, p.name, pred, p.span, target)

    # ------------------------------------------------------------ constants and types
    def _enter(self, name: str, span: Span) -> None:
        if name in self._resolving:
            cycle = " -> ".join([*self._resolving[self._resolving.index(name):], name])
            raise SpecError(span, f"circular definition: {cycle}")
        self._resolving.append(name)

    def _const(self, name: str) -> M.Lit:
        if name in self.const_values:
            return self.const_values[name]
        d = self.decls[name]
        self._enter(name, d.span)
        try:
            e = self._expr(d.node.value, _Scope(state=False), None)
            if not isinstance(e, M.Lit) or not (isinstance(e.type, IntT | BoolT)):
                raise SpecError(d.node.value.span, "a constant must be an integer or boolean known here",
                                hint=f"found {describe(e.type)}")
            lit: M.Lit = M.Lit(d.span, e.type, e.value)
            if name in self.overrides:
                v = self.overrides[name]
                if isinstance(e.type, BoolT):
                    if v not in (0, 1):  # True and False are 1 and 0
                        raise SpecError(d.span, f"constant `{name}` is boolean: override it with true or false, "
                                                f"not {v}")
                    lit = M.Lit(d.span, BoolT(), bool(v))
                elif isinstance(v, bool):
                    raise SpecError(d.span, f"constant `{name}` is an integer: override it with a number, not {v}")
                else:
                    lit = M.Lit(d.span, IntT(v, v), v)
        finally:
            self._resolving.pop()
        self.const_values[name] = lit
        return lit

    def _named_type(self, name: str, span: Span) -> Type:
        if name in self.types:
            return self.types[name]
        d = self.decls.get(name)
        if d is None or d.kind not in ("type", "enum"):
            candidates = [n for n, x in self.decls.items() if x.kind in ("type", "enum")]
            what = f"`{name}` is a {d.kind}, not a type" if d else f"unknown type `{name}`"
            raise SpecError(span, what, hint=_suggest(name, [*candidates, "bool"]))
        self._enter(name, d.span)
        try:
            if d.kind == "enum":
                node: S.EnumDecl = d.node
                names = [m.name for m in node.members]
                for m, n in zip(node.members, names, strict=True):
                    if names.count(n) > 1:
                        raise SpecError(m.span, f"enum member `{n}` appears twice")
                t: Type = EnumT(name, tuple(names))
                for i, m in enumerate(node.members):
                    self.enum_members[m.name] = (t, i)  # type: ignore[assignment]
            else:
                t = self._type(d.node.type)
        finally:
            self._resolving.pop()
        self.types[name] = t
        return t

    def _const_int(self, e: S.Expr, what: str) -> int:
        ir = self._expr(e, _Scope(state=False), None)
        if not _is_const_int(ir):
            raise SpecError(e.span, f"{what} must be an integer constant", hint=f"found {describe(ir.type)}")
        return ir.value  # type: ignore[union-attr]

    def _type(self, t: S.TypeExpr) -> Type:
        match t:
            case S.BoolType():
                return BOOL
            case S.RangeType(lo=lo, hi=hi):
                a, b = self._const_int(lo, "a range bound"), self._const_int(hi, "a range bound")
                if a > b:
                    raise SpecError(t.span, f"empty range {a}..{b}")
                return IntT(a, b)
            case S.BVType(width=w):
                n = self._const_int(w, "a bit-vector width")
                if not 1 <= n <= MAX_BV_WIDTH:
                    raise SpecError(t.span, f"bit-vector width {n} is outside 1..{MAX_BV_WIDTH}")
                return BVT(n)
            case S.NamedType(name=name):
                return self._named_type(name, t.span)
            case S.RecordType(fields=fields):
                seen: dict[str, Span] = {}
                out = []
                for f in fields:
                    if f.name in seen:
                        raise SpecError(f.span, f"field `{f.name}` appears twice")
                    seen[f.name] = f.span
                    out.append((f.name, self._type(f.type)))
                return RecordT(tuple(out))
            case S.MapType(key=k, value=v):
                kt = self._type(k)
                self._need_finite_scalar(kt, k.span, "a map key")
                return MapT(kt, self._type(v))
            case S.SetType(elem=e):
                et = self._type(e)
                self._need_finite_scalar(et, e.span, "a set element", MAX_SET_DOMAIN)
                return SetT(et)
            case S.QueueType(elem=e, capacity=c):
                et = self._type(e)
                n = self._const_int(c, "a queue capacity")
                if not 1 <= n <= MAX_QUEUE_CAPACITY:
                    raise SpecError(c.span, f"queue capacity {n} is outside 1..{MAX_QUEUE_CAPACITY}")
                return QueueT(et, n)
        raise SpecError(t.span, "unsupported type")  # pragma: no cover - the grammar has no others

    def _need_finite_scalar(self, t: Type, span: Span, what: str, limit: int = MAX_DOMAIN) -> None:
        if not is_scalar(t):
            raise SpecError(span, f"{what} must have a scalar type (bool, a range, an enum or bv[n])",
                            hint=f"found {describe(t)}")
        if domain_size(t) > limit:
            raise SpecError(span, f"{what} ranges over {domain_size(t)} values, more than the {limit} allowed")

    # ------------------------------------------------------------ statements
    def _stmts(self, stmts: tuple[S.Stmt, ...], scope: _Scope) -> tuple[M.Stmt, ...]:
        return tuple(itertools.chain.from_iterable(self._stmt(s, scope) for s in stmts))

    def _stmt(self, s: S.Stmt, scope: _Scope) -> list[M.Stmt]:
        match s:
            case S.Skip():
                return []
            case S.Assign(target=target, value=value):
                lhs = self._lvalue(target, scope)
                rhs = self._coerce(self._expr(value, scope, lhs.type), lhs.type, value.span,
                                   f"assignment to {_lvalue_text(target)}")
                return [M.Assign(s.span, lhs, rhs)]
            case S.If(cond=c, then=a, orelse=b):
                cond = self._bool(c, scope, "a condition")
                return [M.IfStmt(s.span, cond, self._stmts(a, scope.assuming(cond)),
                                 self._stmts(b, scope.assuming(cond, holds=False)))]
            case S.ForallStmt(var=v, type=t, body=body):
                vt = self._type(t)
                self._need_finite_scalar(vt, t.span, "a forall variable")
                b = self._fresh(s.span, vt, v)
                return [M.ForallStmt(s.span, b, self._stmts(body, scope.bind(b)))]
            case S.CallStmt(name=name, args=args):
                return self._proc_call(s, name, args, scope)
        raise SpecError(s.span, "unsupported statement")  # pragma: no cover

    def _lvalue(self, e: S.Expr, scope: _Scope) -> M.Expr:
        root = e
        while isinstance(root, S.Index | S.Field):
            root = root.base
        if not isinstance(root, S.Name):
            raise SpecError(e.span, "only a state variable, an element or a field of one can be assigned")
        if root.name in scope.bound:
            raise SpecError(root.span, f"`{root.name}` is a bound name, not a state variable; it cannot be assigned")
        d = self.decls.get(root.name)
        if d is None or d.kind != "var":
            what = f"a {d.kind}" if d else "not declared"
            raise SpecError(root.span, f"cannot assign to `{root.name}`: it is {what}",
                            hint=_suggest(root.name, list(self.vars)))
        target = self._expr(e, scope, None)
        return target.arg if isinstance(target, M.Narrow) else target

    def _proc_call(self, s: S.CallStmt, name: str, args: tuple[S.Expr, ...], scope: _Scope) -> list[M.Stmt]:
        d = self.decls.get(name)
        if d is None or d.kind != "proc":
            procs = [n for n, x in self.decls.items() if x.kind == "proc"]
            what = f"`{name}` is a {d.kind}, not a proc" if d else f"unknown proc `{name}`"
            raise SpecError(s.span, what, hint=_suggest(name, procs))
        params, body = self._proc(name)
        if len(args) != len(params):
            raise SpecError(s.span, f"proc {name} takes {len(params)} argument(s), {len(args)} given")
        out: tuple[M.Stmt, ...] = body
        bound = [self._coerce(self._expr(a, scope, p.type), p.type, a.span, f"argument {p.name} of {name}")
                 for a, p in zip(args, params, strict=True)]
        for p, v in reversed(list(zip(params, bound, strict=True))):
            out = (M.LetStmt(s.span, p, v, out),)
        return list(out)  # the whole body (a proc without parameters has no Let to wrap it in)

    def _proc(self, name: str) -> tuple[tuple[M.Bound, ...], tuple[M.Stmt, ...]]:
        if name in self.proc_ir:
            return self.proc_ir[name]
        d: S.ProcDecl = self.decls[name].node
        self._enter(name, d.span)
        try:
            params, scope = self._params(d.params)
            body = self._stmts(d.body, scope)
        finally:
            self._resolving.pop()
        self.proc_ir[name] = (params, body)
        return params, body

    def _params(self, ps: tuple[S.Param, ...]) -> tuple[tuple[M.Bound, ...], _Scope]:
        scope = _Scope()
        out = []
        for p in ps:
            if p.name in scope.bound:
                raise SpecError(p.span, f"parameter `{p.name}` appears twice")
            b = self._fresh(p.span, self._type(p.type), p.name)
            out.append(b)
            scope = scope.bind(b)
        return tuple(out), scope

    # ------------------------------------------------------------ expressions
    def _bool(self, e: S.Expr, scope: _Scope, what: str) -> M.Expr:
        ir = self._expr(e, scope, BOOL)
        if not isinstance(ir.type, BoolT):
            raise SpecError(e.span, f"{what} must be a boolean", hint=f"found {describe(ir.type)}")
        return ir

    def _expr(self, e: S.Expr, scope: _Scope, expected: Type | None) -> M.Expr:
        method: Callable[[Any, _Scope, Type | None], M.Expr] = getattr(self, "_x_" + type(e).__name__)
        return method(e, scope, expected)

    def _x_IntLit(self, e: S.IntLit, scope: _Scope, expected: Type | None) -> M.Expr:
        if isinstance(expected, BVT):
            return self._int_to_bv(M.int_lit(e.span, e.value), expected, e.span)
        return M.int_lit(e.span, e.value)

    def _x_BoolLit(self, e: S.BoolLit, scope: _Scope, expected: Type | None) -> M.Expr:
        return M.Lit(e.span, BOOL, int(e.value))

    def _x_Name(self, e: S.Name, scope: _Scope, expected: Type | None) -> M.Expr:
        if e.name in scope.bound:
            b = scope.bound[e.name]
            return M.Bound(e.span, b.type, b.name, b.uid)
        d = self.decls.get(e.name)
        if d is not None:
            if d.kind == "const":
                c = self._const(e.name)
                if isinstance(expected, BVT) and isinstance(c.type, IntT):
                    return self._int_to_bv(M.Lit(e.span, c.type, c.value), expected, e.span)
                return M.Lit(e.span, c.type, c.value)
            if d.kind == "member":
                enum_decl, _ = d.node
                self._named_type(enum_decl.name, e.span)
                t, i = self.enum_members[e.name]
                return M.Lit(e.span, t, i)
            if d.kind == "var":
                if not scope.state:
                    raise SpecError(e.span, f"state variable `{e.name}` cannot be used here (a constant is needed)")
                v = self.vars.get(e.name)
                if v is None:  # types are resolved before variables; only consts can get here early
                    raise SpecError(e.span, f"state variable `{e.name}` cannot be used here")
                return _narrowed(M.VarRef(e.span, v.type, e.name), scope)
            if d.kind == "def" and not d.node.params:
                return self._x_Call(S.Call(e.span, e.name, ()), scope, expected)
            raise SpecError(e.span, f"`{e.name}` is a {d.kind}, not a value",
                            hint="call a def with arguments: name(...)" if d.kind == "def" else None)
        if e.name in ("faults", "budget"):
            if not scope.state:
                raise SpecError(e.span, f"`{e.name}` cannot be used here (a constant is needed)")
            t = IntT(0, M.MAX_FAULT_BUDGET)
            return M.Faults(e.span, t) if e.name == "faults" else M.Budget(e.span, t)
        values = [n for n, d in self.decls.items() if d.kind in ("const", "member", "var")]
        raise SpecError(e.span, f"unknown name `{e.name}`", hint=_suggest(e.name, values + list(scope.bound)))

    def _x_Unary(self, e: S.Unary, scope: _Scope, expected: Type | None) -> M.Expr:
        if e.op == "!":
            a = self._bool(e.arg, scope, "the operand of !")
            return self._fold(M.Unary(e.span, BOOL, "not", a))
        a = self._expr(e.arg, scope, expected if e.op != "!" else None)
        if e.op == "-":
            if isinstance(a.type, IntT):
                return self._fold(M.Unary(e.span, IntT(-a.type.hi, -a.type.lo), "neg", a))
            if isinstance(a.type, BVT):
                zero = M.Lit(e.span, a.type, 0)
                return self._fold(M.Binary(e.span, a.type, "bvsub", zero, a))
            raise SpecError(e.span, "unary - needs an integer or a bit-vector", hint=f"found {describe(a.type)}")
        if isinstance(a.type, BVT):
            return self._fold(M.Unary(e.span, a.type, "bvnot", a))
        raise SpecError(e.span, "~ needs a bit-vector", hint=f"found {describe(a.type)}")

    def _x_Binary(self, e: S.Binary, scope: _Scope, expected: Type | None) -> M.Expr:
        op = e.op
        if op in ("&&", "||", "->", "<->"):
            a = self._bool(e.left, scope, f"the left operand of {op}")
            # Short-circuit evaluation: the right operand of && and -> is evaluated
            # only where the left one holds, that of || only where it does not.
            right_scope = scope.assuming(a, holds=op != "||") if op != "<->" else scope
            b = self._bool(e.right, right_scope, f"the right operand of {op}")
            name = {"&&": "and", "||": "or", "->": "implies", "<->": "iff"}[op]
            return self._fold(M.Binary(e.span, BOOL, name, a, b))
        if op == "in":
            s = self._expr(e.right, scope, None)
            if not isinstance(s.type, SetT):
                raise SpecError(e.right.span, "the right operand of `in` must be a set", hint=f"found {describe(s.type)}")
            x = self._expr(e.left, scope, s.type.elem)
            self._compatible(x, s.type.elem, e.left.span, "a set element")
            return self._fold(M.Binary(e.span, BOOL, "member", x, s))
        a, b = self._pair(e.left, e.right, scope, expected if op not in ("==", "!=", "<", "<=", ">", ">=") else None)
        ta, tb = a.type, b.type
        if op in ("==", "!="):
            self._same(a, b, e)
            return self._fold(M.Binary(e.span, BOOL, "eq" if op == "==" else "ne", a, b))
        if op in ("<", "<=", ">", ">="):
            rel = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge"}[op]
            if isinstance(ta, IntT) and isinstance(tb, IntT):
                return self._fold(M.Binary(e.span, BOOL, rel, a, b))
            if isinstance(ta, BVT) and ta == tb:
                return self._fold(M.Binary(e.span, BOOL, "bvu" + rel, a, b))
            if isinstance(ta, SetT) and ta == tb and op in ("<=", ">="):
                return M.Binary(e.span, BOOL, "subset", a, b) if op == "<=" else M.Binary(e.span, BOOL, "subset", b, a)
            raise SpecError(e.span, f"`{op}` needs two integers, two bit-vectors of one width or (for <=, >=) two sets",
                            hint=f"found {describe(ta)} and {describe(tb)}")
        if isinstance(ta, SetT) or isinstance(tb, SetT):
            self._same(a, b, e)
            setop = {"|": "union", "&": "inter", "-": "diff"}.get(op)
            if setop is None:
                raise SpecError(e.span, f"`{op}` is not a set operation (use |, & or -)")
            return self._fold(M.Binary(e.span, ta, setop, a, b))
        if op in ("<<", ">>"):
            return self._shift(e, a, b)
        if isinstance(ta, IntT) and isinstance(tb, IntT):
            return self._int_arith(e, op, a, b)
        if isinstance(ta, BVT) and ta == tb:
            bvop = {"+": "bvadd", "-": "bvsub", "*": "bvmul", "/": "bvudiv", "%": "bvurem",
                    "&": "bvand", "|": "bvor", "^": "bvxor"}[op]
            if op in ("/", "%") and not (isinstance(b, M.Lit) and b.value != 0):
                raise SpecError(e.right.span, f"the divisor of `{op}` must be a non-zero constant")
            return self._fold(M.Binary(e.span, ta, bvop, a, b))
        if op in ("&", "|", "^") and isinstance(ta, IntT) and isinstance(tb, IntT):
            raise SpecError(e.span, f"`{op}` works on bit-vectors and sets, not integers",
                            hint="convert with bv[n](x), or declare the variable as bv[n]")
        raise SpecError(e.span, f"`{op}` cannot combine {describe(ta)} and {describe(tb)}",
                        hint="convert with bv[n](x) or int(x)" if {type(ta), type(tb)} == {IntT, BVT} else None)

    def _pair(self, left: S.Expr, right: S.Expr, scope: _Scope, expected: Type | None) -> tuple[M.Expr, M.Expr]:
        """Type two operands; a literal on one side takes the type of the other side."""
        literalish = (S.IntLit, S.SetLit, S.RecordLit, S.MapLit)
        if isinstance(left, literalish) and not isinstance(right, literalish):
            b = self._expr(right, scope, expected)
            a = self._expr(left, scope, b.type if not isinstance(b.type, IntT) else expected)
        else:
            a = self._expr(left, scope, expected)
            b = self._expr(right, scope, a.type if not isinstance(a.type, IntT) else expected)
        if isinstance(a.type, BVT) and _is_const_int(b):
            b = self._int_to_bv(b, a.type, right.span)
        if isinstance(b.type, BVT) and _is_const_int(a):
            a = self._int_to_bv(a, b.type, left.span)
        return a, b

    def _same(self, a: M.Expr, b: M.Expr, e: S.Binary) -> None:
        if isinstance(a.type, IntT) and isinstance(b.type, IntT):
            return
        if a.type != b.type:
            raise SpecError(e.span, f"`{e.op}` compares values of different types",
                            hint=f"left is {describe(a.type)}, right is {describe(b.type)}")

    def _int_arith(self, e: S.Binary, op: str, a: M.Expr, b: M.Expr) -> M.Expr:
        ta, tb = a.type, b.type
        assert isinstance(ta, IntT) and isinstance(tb, IntT)
        if op == "+":
            return self._fold(M.Binary(e.span, IntT(ta.lo + tb.lo, ta.hi + tb.hi), "add", a, b))
        if op == "-":
            return self._fold(M.Binary(e.span, IntT(ta.lo - tb.hi, ta.hi - tb.lo), "sub", a, b))
        if op == "*":
            ps = [ta.lo * tb.lo, ta.lo * tb.hi, ta.hi * tb.lo, ta.hi * tb.hi]
            return self._fold(M.Binary(e.span, IntT(min(ps), max(ps)), "mul", a, b))
        if op in ("/", "%"):
            if not (isinstance(b, M.Lit) and b.value > 0):
                raise SpecError(e.right.span, f"the divisor of `{op}` must be a positive constant",
                                hint="division is floor division; x % d lies in 0..d-1")
            d = b.value
            if op == "/":
                return self._fold(M.Binary(e.span, IntT(ta.lo // d, ta.hi // d), "div", a, b))
            t = ta if ta.lo >= 0 and ta.hi < d else IntT(0, d - 1)
            return self._fold(M.Binary(e.span, t, "mod", a, b))
        raise SpecError(e.span, f"`{op}` works on bit-vectors and sets, not integers",
                        hint="convert with bv[n](x), or declare the variable as bv[n]")

    def _shift(self, e: S.Binary, a: M.Expr, b: M.Expr) -> M.Expr:
        if not isinstance(b.type, IntT | BVT):
            raise SpecError(e.right.span, "a shift amount must be an integer or a bit-vector",
                            hint=f"found {describe(b.type)}")
        if isinstance(b.type, IntT) and b.type.lo < 0:
            raise SpecError(e.right.span, "a shift amount must not be negative",
                            hint=f"this one lies in {b.type.lo}..{b.type.hi}")
        if isinstance(a.type, BVT):
            return self._fold(M.Binary(e.span, a.type, "bvshl" if e.op == "<<" else "bvlshr", a, b))
        if isinstance(a.type, IntT):
            if not _is_const_int(b):
                raise SpecError(e.right.span, "shifting an integer needs a constant amount",
                                hint="shift a bv[n] value, or multiply by a power of two")
            k = b.value  # type: ignore[attr-defined]
            t = IntT(a.type.lo << k, a.type.hi << k) if e.op == "<<" else IntT(a.type.lo >> k, a.type.hi >> k)
            return self._fold(M.Binary(e.span, t, "shl" if e.op == "<<" else "shr", a, b))
        raise SpecError(e.left.span, "only integers and bit-vectors can be shifted", hint=f"found {describe(a.type)}")

    def _x_Index(self, e: S.Index, scope: _Scope, expected: Type | None) -> M.Expr:
        base = self._expr(e.base, scope, None)
        if not isinstance(base.type, MapT):
            raise SpecError(e.base.span, "only a map can be indexed", hint=f"this is {describe(base.type)}")
        kt = base.type.key
        idx = self._expr(e.index, scope, kt)
        idx = self._coerce(idx, kt, e.index.span, f"index of {_text(e.base)}")
        return _narrowed(M.Index(e.span, base.type.value, base, idx), scope)

    def _x_Field(self, e: S.Field, scope: _Scope, expected: Type | None) -> M.Expr:
        base = self._expr(e.base, scope, None)
        if not isinstance(base.type, RecordT):
            raise SpecError(e.span, f"`.{e.name}`: only a record has fields", hint=f"this is {describe(base.type)}")
        ft = base.type.field_type(e.name)
        if ft is None:
            names = [n for n, _ in base.type.fields]
            raise SpecError(e.span, f"record has no field `{e.name}`", hint=f"its fields: {', '.join(names)}")
        return _narrowed(M.Field(e.span, ft, base, e.name), scope)

    def _x_Ite(self, e: S.Ite, scope: _Scope, expected: Type | None) -> M.Expr:
        c = self._bool(e.cond, scope, "the condition of if-then-else")
        a = self._expr(e.then, scope.assuming(c), expected)
        b = self._expr(e.orelse, scope.assuming(c, holds=False), a.type if not isinstance(a.type, IntT) else expected)
        if isinstance(a.type, BVT) and _is_const_int(b):
            b = self._int_to_bv(b, a.type, e.orelse.span)
        if isinstance(b.type, BVT) and _is_const_int(a):
            a = self._int_to_bv(a, b.type, e.then.span)
        if isinstance(a.type, IntT) and isinstance(b.type, IntT):
            t: Type = IntT(min(a.type.lo, b.type.lo), max(a.type.hi, b.type.hi))
        elif a.type == b.type:
            t = a.type
        else:
            raise SpecError(e.span, "the branches of if-then-else have different types",
                            hint=f"then is {describe(a.type)}, else is {describe(b.type)}")
        return self._fold(M.Ite(e.span, t, c, a, b))

    def _x_Quant(self, e: S.Quant, scope: _Scope, expected: Type | None) -> M.Expr:
        bounds = []
        inner = scope
        for bd in e.binders:
            t = self._type(bd.type)
            self._need_finite_scalar(t, bd.type.span, f"a {e.kind} variable")
            b = self._fresh(bd.span, t, bd.name)
            bounds.append(b)
            inner = inner.bind(b)
        if e.kind in ("forall", "exists"):
            body = self._bool(e.body, inner, f"the body of {e.kind}")
        elif e.kind == "count":
            body = self._bool(e.body, inner, "the body of count")
        else:
            body = self._expr(e.body, inner, None)
            if not isinstance(body.type, IntT):
                raise SpecError(e.body.span, "the body of sum must be an integer", hint=f"found {describe(body.type)}")
        # Several binders nest; `count x, y. P` counts pairs, i.e. sums the inner counts.
        out = body
        for i, b in enumerate(reversed(bounds)):
            n = domain_size(b.type)
            kind = e.kind if (e.kind != "count" or i == 0) else "sum"
            if kind in ("forall", "exists"):
                t: Type = BOOL
            elif kind == "count":
                t = IntT(0, n)
            else:
                assert isinstance(out.type, IntT)
                t = IntT(min(0, n * out.type.lo), max(0, n * out.type.hi))
            out = self._fold(M.Quant(e.span, t, kind, b, out))
        return out

    def _x_Let(self, e: S.Let, scope: _Scope, expected: Type | None) -> M.Expr:
        v = self._expr(e.value, scope, None)
        b = self._fresh(e.span, v.type, e.name)
        body = self._expr(e.body, scope.bind(b), expected)
        return self._fold(M.Let(e.span, body.type, b, v, body))

    def _x_SetLit(self, e: S.SetLit, scope: _Scope, expected: Type | None) -> M.Expr:
        if not isinstance(expected, SetT):
            raise SpecError(e.span, "cannot tell the element type of this set literal",
                            hint="use it where a set type is known: assign it, or compare it with a set")
        elems = []
        for x in e.elems:
            ir = self._expr(x, scope, expected.elem)
            self._compatible(ir, expected.elem, x.span, "a set element")
            if isinstance(ir, M.Lit) and isinstance(expected.elem, IntT) and not (
                    expected.elem.lo <= ir.value <= expected.elem.hi):
                raise SpecError(x.span, f"{ir.value} is not in the element type {expected.elem}")
            elems.append(self._coerce(ir, expected.elem, x.span, "a set element"))
        return self._fold(M.SetLit(e.span, expected, tuple(elems)))

    def _x_RecordLit(self, e: S.RecordLit, scope: _Scope, expected: Type | None) -> M.Expr:
        if not isinstance(expected, RecordT):
            raise SpecError(e.span, "cannot tell the type of this record literal",
                            hint="use it where a record type is known: assign it, or compare it with a record")
        given = {f.name: f for f in e.fields}
        want = [n for n, _ in expected.fields]
        for f in e.fields:
            if list(given).count(f.name) > 1 or f.name not in want:
                raise SpecError(f.span, f"field `{f.name}` is not a field of {expected}" if f.name not in want
                                else f"field `{f.name}` appears twice")
        missing = [n for n in want if n not in given]
        if missing:
            raise SpecError(e.span, f"record literal lacks field(s) {', '.join(missing)}", hint=f"the type is {expected}")
        vals = []
        for n, ft in expected.fields:
            f = given[n]
            vals.append(self._coerce(self._expr(f.value, scope, ft), ft, f.value.span, f"field {n}"))
        return self._fold(M.RecordLit(e.span, expected, tuple(vals)))

    def _x_MapLit(self, e: S.MapLit, scope: _Scope, expected: Type | None) -> M.Expr:
        kt = self._type(e.key)
        self._need_finite_scalar(kt, e.key.span, "a map key")
        b = self._fresh(e.span, kt, e.var)
        vt_expected = expected.value if isinstance(expected, MapT) else None
        body = self._expr(e.body, scope.bind(b), vt_expected)
        vt = vt_expected if vt_expected is not None else body.type
        body = self._coerce(body, vt, e.body.span, "a map value")
        if isinstance(expected, MapT) and expected.key != kt:
            raise SpecError(e.key.span, "this map literal's key type differs from the expected one",
                            hint=f"expected [{expected.key}], found [{kt}]")
        return self._fold(M.MapLit(e.span, MapT(kt, vt), b, body))

    def _x_BVCast(self, e: S.BVCast, scope: _Scope, expected: Type | None) -> M.Expr:
        n = self._const_int(e.width, "a bit-vector width")
        if not 1 <= n <= MAX_BV_WIDTH:
            raise SpecError(e.width.span, f"bit-vector width {n} is outside 1..{MAX_BV_WIDTH}")
        a = self._expr(e.arg, scope, None)
        if isinstance(a.type, BVT):
            if a.type.width == n:
                return a
            a = self._fold(M.Builtin(e.span, IntT(0, (1 << a.type.width) - 1), "to_int", (a,)))
        if not isinstance(a.type, IntT):
            raise SpecError(e.arg.span, f"bv[{n}](...) converts an integer", hint=f"found {describe(a.type)}")
        return self._fold(M.Builtin(e.span, BVT(n), "to_bv", (a,)))

    def _x_Call(self, e: S.Call, scope: _Scope, expected: Type | None) -> M.Expr:
        if e.name in BUILTIN_ARITY and e.name not in self.decls:
            return self._builtin(e, scope, expected)
        d = self.decls.get(e.name)
        if d is None or d.kind != "def":
            defs = [n for n, x in self.decls.items() if x.kind == "def"] + list(BUILTIN_ARITY)
            what = f"`{e.name}` is a {d.kind}, not a function" if d else f"unknown function `{e.name}`"
            raise SpecError(e.span, what, hint=_suggest(e.name, defs))
        params, body, _ret = self._def(e.name)
        if len(e.args) != len(params):
            raise SpecError(e.span, f"{e.name} takes {len(params)} argument(s), {len(e.args)} given")
        args = [self._coerce(self._expr(a, scope, p.type), p.type, a.span, f"argument {p.name} of {e.name}")
                for a, p in zip(e.args, params, strict=True)]
        out = body
        for p, a in reversed(list(zip(params, args, strict=True))):
            out = M.Let(e.span, out.type, p, a, out)
        return self._fold(out)

    def _def(self, name: str) -> tuple[tuple[M.Bound, ...], M.Expr, Type]:
        if name in self.def_ir:
            return self.def_ir[name]
        d: S.DefDecl = self.decls[name].node
        self._enter(name, d.span)
        try:
            params, scope = self._params(d.params)
            ret = self._type(d.ret)
            body = self._expr(d.body, scope, ret)
            body = self._coerce(body, ret, d.body.span, f"the result of {name}")
        finally:
            self._resolving.pop()
        self.def_ir[name] = (params, body, ret)
        return params, body, ret

    def _builtin(self, e: S.Call, scope: _Scope, expected: Type | None) -> M.Expr:
        n = BUILTIN_ARITY[e.name]
        if len(e.args) != n:
            raise SpecError(e.span, f"{e.name} takes {n} argument(s), {len(e.args)} given")
        if e.name in ("len", "head", "pop", "push"):
            q = self._expr(e.args[0], scope, expected if e.name in ("pop", "push") else None)
            if not isinstance(q.type, QueueT):
                raise SpecError(e.args[0].span, f"{e.name} needs a queue", hint=f"found {describe(q.type)}")
            qt = q.type
            if e.name == "len":
                return self._fold(M.Builtin(e.span, IntT(0, qt.capacity), "len", (q,)))
            if e.name == "head":
                return self._fold(M.Builtin(e.span, qt.elem, "head", (q,)))
            if e.name == "pop":
                return self._fold(M.Builtin(e.span, qt, "pop", (q,)))
            x = self._coerce(self._expr(e.args[1], scope, qt.elem), qt.elem, e.args[1].span, "a queue element")
            return self._fold(M.Builtin(e.span, qt, "push", (q, x)))
        if e.name == "size":
            s = self._expr(e.args[0], scope, None)
            if not isinstance(s.type, SetT):
                raise SpecError(e.args[0].span, "size needs a set", hint=f"found {describe(s.type)}")
            return self._fold(M.Builtin(e.span, IntT(0, domain_size(s.type.elem)), "size", (s,)))
        if e.name == "ord":
            a = self._expr(e.args[0], scope, None)
            if not isinstance(a.type, EnumT):
                raise SpecError(e.args[0].span, "ord(...) gives the position of an enum member",
                                hint=f"found {describe(a.type)}")
            return self._fold(M.Builtin(e.span, IntT(0, len(a.type.members) - 1), "ord", (a,)))
        if e.name == "int":
            a = self._expr(e.args[0], scope, None)
            if isinstance(a.type, IntT):
                return a
            if not isinstance(a.type, BVT):
                raise SpecError(e.args[0].span, "int(...) converts a bit-vector", hint=f"found {describe(a.type)}")
            return self._fold(M.Builtin(e.span, IntT(0, (1 << a.type.width) - 1), "to_int", (a,)))
        args = [self._expr(a, scope, None) for a in e.args]
        for a, s in zip(args, e.args, strict=True):
            if not isinstance(a.type, IntT):
                raise SpecError(s.span, f"{e.name} needs integers", hint=f"found {describe(a.type)}")
        ts: list[IntT] = [a.type for a in args]  # type: ignore[misc]
        if e.name == "abs":
            t = ts[0]
            lo = 0 if t.lo <= 0 <= t.hi else min(abs(t.lo), abs(t.hi))
            return self._fold(M.Builtin(e.span, IntT(lo, max(abs(t.lo), abs(t.hi))), "abs", tuple(args)))
        f = min if e.name == "min" else max
        return self._fold(M.Builtin(e.span, IntT(f(ts[0].lo, ts[1].lo), f(ts[0].hi, ts[1].hi)), e.name, tuple(args)))

    # ------------------------------------------------------------ coercions
    def _int_to_bv(self, e: M.Expr, t: BVT, span: Span) -> M.Expr:
        if not _is_const_int(e):
            raise SpecError(span, f"expected {t}, found {describe(e.type)}", hint=f"convert with bv[{t.width}](...)")
        v = e.value  # type: ignore[attr-defined]
        if not 0 <= v < (1 << t.width):
            raise SpecError(span, f"{v} does not fit in {t} (0..{(1 << t.width) - 1})")
        return M.Lit(span, t, v)

    def _compatible(self, e: M.Expr, t: Type, span: Span, what: str) -> None:
        if isinstance(t, IntT) and isinstance(e.type, IntT):
            return
        if e.type != t:
            raise SpecError(span, f"{what} of type {t} was expected, found {describe(e.type)}")

    def _coerce(self, e: M.Expr, t: Type, span: Span, what: str) -> M.Expr:
        """e as a value of type t: a range check where an integer may leave t's range."""
        if isinstance(t, IntT):
            if not isinstance(e.type, IntT):
                raise SpecError(span, f"type mismatch in {what}: expected {t}, found {describe(e.type)}",
                                hint="convert with int(x)" if isinstance(e.type, BVT) else None)
            if t.lo <= e.type.lo and e.type.hi <= t.hi:
                return e
            if isinstance(e, M.Lit):
                raise SpecError(span, f"{e.value} is outside {t} in {what}")
            return M.Check(e.span, t, e, what)
        if isinstance(t, BVT) and _is_const_int(e):
            return self._int_to_bv(e, t, span)
        if e.type != t:
            raise SpecError(span, f"type mismatch in {what}: expected {describe(t)}, found {describe(e.type)}")
        return e

    def _fold(self, e: M.Expr) -> M.Expr:
        """Evaluate an expression whose operands are all constants."""
        from ftverify.spec.interp import fold_constant  # the interpreter defines the semantics

        return fold_constant(e)


def _narrowed(e: M.Expr, scope: _Scope) -> M.Expr:
    if scope.facts and isinstance(e.type, IntT):
        key = _path_key(e)
        if key is not None and key in scope.facts:
            return M.Narrow(e.span, scope.facts[key], e)
    return e


def _text(e: S.Expr) -> str:
    match e:
        case S.Name(name=n):
            return n
        case S.Index(base=b):
            return f"{_text(b)}[...]"
        case S.Field(base=b, name=n):
            return f"{_text(b)}.{n}"
    return "expression"


def _lvalue_text(e: S.Expr) -> str:
    return _text(e)


def parse_expression(model: M.Model, text: str, file: str = "<expression>") -> M.Expr:
    """Type `text` as an expression over the state of `model`."""
    checker: Checker = model.checker
    return checker.expression(text, file)


def load_model(path: str, consts: dict[str, int] | None = None) -> M.Model:
    """Parse and type-check a spec file (and its imports) into a typed model."""
    checker = Checker(consts)
    root = checker.load(path)
    return checker.build(root, path, checker.all_decls)


def check_text(text: str, file: str = "<input>", consts: dict[str, int] | None = None) -> M.Model:
    """Type-check spec text (for tests and tools that hold a spec in memory)."""
    from ftverify.spec.parser import parse_text

    node = parse_text(text, file)
    if not isinstance(node, S.SpecFile):
        raise SpecError(node.span, "expected a spec (`spec NAME ...`), found a proof script")
    checker = Checker(consts)
    for d in node.decls:
        if isinstance(d, S.Import):
            raise SpecError(d.span, "imports need a spec file on disk")
        checker._declare(d)
    for name in checker.overrides:
        if name not in checker.decls:
            raise SpecError(node.span, f"no constant `{name}` to override")
    return checker.build(node, file, list(node.decls))


__all__ = ["Checker", "check_text", "describe", "load_model", "width"]
