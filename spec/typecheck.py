"""Name resolution and type checking: AST -> typed model.

`Checker` reads a spec and its imports, resolves every name, types constants,
types, declarations, statements and refinements, and builds the `model.Model`
every engine reads. Expressions are typed by its `exprcheck.ExprChecker` half;
what guards and conditions establish about the state is `scope`'s.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ftverify.spec import model as M
from ftverify.spec import syntax as S
from ftverify.spec.errors import Span, SpecError
from ftverify.spec.exprcheck import MAX_BV_WIDTH, ExprChecker, _is_const_int, _lvalue_text, _suggest, describe
from ftverify.spec.parser import parse_file, too_deep
from ftverify.spec.scope import Scope
from ftverify.spec.types import (
    BOOL,
    BVT,
    MAX_DOMAIN,
    MAX_SET_DOMAIN,
    BoolT,
    EnumT,
    IntT,
    MapT,
    QueueT,
    RecordT,
    SetKeyT,
    SetT,
    Type,
    domain_size,
    is_scalar,
    key_type,
    width,
)

MAX_QUEUE_CAPACITY = 64
MAX_INSTANCES = 1 << 16  # ground instances of one action
MAX_SET_KEY = 16  # elements of a set used as a parameter, bound, key or set element (2^16 sets)
RESERVED = {"faults", "budget", "enabled", "taken", "len", "head", "push", "pop", "size", "min", "max", "abs", "int", "ord"}




@dataclass
class _Decl:
    kind: str
    node: Any
    span: Span


class Checker(ExprChecker):
    """Types one spec (with its imports) into a Model."""

    def __init__(self, overrides: dict[str, int] | None = None) -> None:
        self.decls: dict[str, _Decl] = {}
        self.overrides = dict(overrides or {})
        self.const_values: dict[str, M.Lit] = {}
        self.types: dict[str, Type] = {}
        # The enums that declare each member name: several may share one (`RMState.committed`,
        # `TMState.committed`); where it is ambiguous, the expected type or a qualified name decides.
        self.member_of: dict[str, list[str]] = {}
        self.vars: dict[str, M.Var] = {}
        self.def_ir: dict[str, tuple[tuple[M.Bound, ...], M.Expr, Type]] = {}
        self.proc_ir: dict[str, tuple[tuple[M.Bound, ...], tuple[M.Stmt, ...]]] = {}
        self._resolving: list[str] = []  # consts/types/defs/procs being resolved: cycle detection
        self._uids = itertools.count(1)
        self._imported: set[str] = set()
        self.all_decls: list[S.Decl] = []
        # an abstract spec loaded for a refinement takes the overrides it declares, ignores the rest
        self.lenient_overrides = False
        # The typed actions, once every action is typed: what `enabled(a)` and `taken(a)` read.
        self.typed_actions: dict[str, M.Action] | None = None

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
            S.RateDecl: "rate",
        }.get(type(d))
        if kind is None:
            return  # init and refinement declarations are not names
        name = d.name  # type: ignore[union-attr]
        self._add_name(name, kind, d, d.span)
        if isinstance(d, S.EnumDecl):
            for m in d.members:
                owners = self.member_of.setdefault(m.name, [])
                if not owners:  # a later enum may declare the same member; any other clash is an error
                    self._add_name(m.name, "member", (d, m), m.span)
                if d.name not in owners:  # the same name twice in one enum is reported with its type
                    owners.append(d.name)

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
            p = self._bool(i.pred, Scope(), "init")
            init = p if init is None or (isinstance(init, M.Lit) and init.value == 1) else \
                M.Binary(i.span, BOOL, "and", init, p)
        actions = [self._action(d.node) for d in self.decls.values() if d.kind == "action"]
        if not actions:
            raise SpecError(root.span, f"spec {root.name} declares no actions",
                            hint="declare at least one `action NAME { ... }`")
        self.typed_actions = {a.name: a for a in actions}
        props = [self._property(d.node, init) for d in self.decls.values() if d.kind == "property"]
        enums = tuple(t for t in self.types.values() if isinstance(t, EnumT))
        consts = tuple((n, c.value) for n, c in self.const_values.items())
        refinements = tuple(self._refinement(d, actions, props) for d in decls if isinstance(d, S.RefinementDecl))
        rates = tuple((n, d.node.value) for n, d in self.decls.items() if d.kind == "rate")
        for n, v in rates:
            if not v > 0:
                raise SpecError(self.decls[n].span, f"rate {n} is {v:g}: a rate must be positive",
                                hint="an action that never happens needs no rate: leave it out of the spec")
        symmetric = tuple(n for n, d in self.decls.items() if d.kind == "enum" and d.node.symmetric)
        return M.Model(root.name, file, tuple(self.vars.values()), init, tuple(actions), tuple(props),
                       enums, consts, refinements, root.span,
                       tuple((n, d.span) for n, d in self.decls.items()), self, rates, symmetric)

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
            value = self._coerce(self._expr(m.value, Scope(), var.type), var.type, m.value.span,
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
            scope = Scope()
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

        return self._expr(parse_expr(text, file), Scope(), expected)

    def _action(self, a: S.ActionDecl) -> M.Action:
        scope = Scope()
        params = []
        for p in a.params:
            t = self._type(p.type)
            t = self._need_finite_scalar(t, p.type.span, "an action parameter")
            if p.name in scope.bound:
                raise SpecError(p.span, f"parameter `{p.name}` appears twice")
            b = self._fresh(p.span, t, p.name)
            params.append(b)
            scope = scope.bind(b)
        instances = 1
        for b in params:
            instances *= domain_size(b.type)
        if instances > MAX_INSTANCES:  # every engine enumerates them (one guard and update each)
            sizes = " x ".join(f"{domain_size(b.type):,} ({b.name})" for b in params)
            raise SpecError(a.span, f"{a.name} has {instances:,} instances, one per value of its parameters "
                            f"({sizes}): more than the {MAX_INSTANCES:,} allowed",
                            hint="give the parameters smaller types, or choose a value inside the body")
        guard = self._bool(a.guard, scope, "a guard") if a.guard is not None else M.TRUE(a.span)
        # The body runs only where the guard holds, and reads the pre-state.
        body = self._stmts(a.body, scope.assuming(guard))
        budget: int | str | None = a.budget if isinstance(a.budget, str) or a.budget is None \
            else self._const_int(a.budget, f"the budget of fault {a.name}")
        if isinstance(budget, int) and not 0 <= budget <= M.MAX_FAULT_BUDGET:
            assert isinstance(a.budget, S.Node)
            raise SpecError(a.budget.span, f"the budget of fault {a.name} is {budget}, outside "
                                           f"0..{M.MAX_FAULT_BUDGET}", hint="a lossy fault can be `unbounded`")
        rate = self._rate(a) if a.rate is not None else None
        return M.Action(a.name, a.is_fault, tuple(params), guard, body, a.span, budget, rate, a.fairness)

    def _rate(self, a: S.ActionDecl) -> M.Rate:
        """An action's rate: numbers and integer constants multiplied out, named rates kept by name."""
        assert a.rate is not None
        factor, names = 1.0, []
        for f in a.rate:
            if f.name is None:
                assert f.value is not None
                factor *= f.value
                continue
            d = self.decls.get(f.name)
            if d is not None and d.kind == "rate":
                names.append(f.name)
            elif d is not None and d.kind == "const":
                factor *= self._const_int(S.Name(f.span, f.name), f"the rate of {a.name}")
            else:
                rates = [n for n, x in self.decls.items() if x.kind == "rate"]
                what = f"`{f.name}` is a {d.kind}" if d else f"unknown rate `{f.name}`"
                raise SpecError(f.span, f"{what}: a rate is a product of numbers, named rates and integer constants",
                                hint=_suggest(f.name, rates) or "declare it: `rate NAME = NUMBER`")
        if not factor > 0:
            raise SpecError(a.rate[0].span, f"the rate of {a.name} is {factor:g}: a rate must be positive",
                            hint="an action that never happens needs no rate: leave it out of the spec")
        return M.Rate(factor, tuple(names), a.rate[0].span)

    def _property(self, p: S.PropertyDecl, init: M.Expr) -> M.Property:
        # `eventually Q` is `init ~> Q`: a reachable state satisfying `init` is an initial state
        what = "always step" if p.kind == "step" else p.kind
        pred = init if p.kind == "eventually" else self._bool(p.pred, Scope(step=p.kind == "step"), f"{what} {p.name}")
        target = self._bool(p.target, Scope(), f"{p.kind} {p.name}") if p.target is not None else None
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
            e = self._expr(d.node.value, Scope(state=False), None)
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
            else:
                t = self._type(d.node.type)
        finally:
            self._resolving.pop()
        self.types[name] = t
        return t

    def _const_int(self, e: S.Expr, what: str) -> int:
        ir = self._expr(e, Scope(state=False), None)
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
                kt = self._need_finite_scalar(kt, k.span, "a map key")
                return MapT(kt, self._type(v))
            case S.SetType(elem=e):
                et = self._type(e)
                et = self._need_finite_scalar(et, e.span, "a set element", MAX_SET_DOMAIN)
                return SetT(et)
            case S.QueueType(elem=e, capacity=c):
                et = self._type(e)
                n = self._const_int(c, "a queue capacity")
                if not 1 <= n <= MAX_QUEUE_CAPACITY:
                    raise SpecError(c.span, f"queue capacity {n} is outside 1..{MAX_QUEUE_CAPACITY}")
                return QueueT(et, n)
        raise SpecError(t.span, "unsupported type")  # pragma: no cover - the grammar has no others

    def _need_finite_scalar(self, t: Type, span: Span, what: str, limit: int = MAX_DOMAIN) -> Type:
        """t where a scalar is needed: a record of scalar fields becomes its key form (`KeyT`), a
        set of a small scalar type its bit mask (`SetKeyT`)."""
        if isinstance(t, SetT) and is_scalar(t.elem):
            n = domain_size(t.elem)
            if n > MAX_SET_KEY:
                raise SpecError(span, f"{what} of type {t} ranges over 2^{n} sets, more than 2^{MAX_SET_KEY}",
                                hint="a set-valued parameter or element needs an element type of at most "
                                     f"{MAX_SET_KEY} values")
            t = SetKeyT(0, (1 << n) - 1, t.elem)
        if isinstance(t, RecordT):
            key = key_type(t)
            if key is None:
                raise SpecError(span, f"{what} may be a record only if every field is a scalar "
                                "(bool, a range, an enum or bv[n])", hint=f"found {describe(t)}")
            t = key
        if not is_scalar(t):
            raise SpecError(span, f"{what} must have a scalar type (bool, a range, an enum, bv[n] or a record "
                            "of those)", hint=f"found {describe(t)}")
        if domain_size(t) > limit:
            raise SpecError(span, f"{what} ranges over {domain_size(t)} values, more than the {limit} allowed")
        return t

    # ------------------------------------------------------------ statements
    def _stmts(self, stmts: tuple[S.Stmt, ...], scope: Scope) -> tuple[M.Stmt, ...]:
        return tuple(itertools.chain.from_iterable(self._stmt(s, scope) for s in stmts))

    def _stmt(self, s: S.Stmt, scope: Scope) -> list[M.Stmt]:
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
                vt = self._need_finite_scalar(vt, t.span, "a forall variable")
                b = self._fresh(s.span, vt, v)
                return [M.ForallStmt(s.span, b, self._stmts(body, scope.bind(b)))]
            case S.CallStmt(name=name, args=args):
                return self._proc_call(s, name, args, scope)
        raise SpecError(s.span, "unsupported statement")  # pragma: no cover

    def _lvalue(self, e: S.Expr, scope: Scope) -> M.Expr:
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

    def _proc_call(self, s: S.CallStmt, name: str, args: tuple[S.Expr, ...], scope: Scope) -> list[M.Stmt]:
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

    def _params(self, ps: tuple[S.Param, ...]) -> tuple[tuple[M.Bound, ...], Scope]:
        scope = Scope()
        out = []
        for p in ps:
            if p.name in scope.bound:
                raise SpecError(p.span, f"parameter `{p.name}` appears twice")
            b = self._fresh(p.span, self._type(p.type), p.name)
            out.append(b)
            scope = scope.bind(b)
        return tuple(out), scope

    # ------------------------------------------------------------ expressions


def parse_expression(model: M.Model, text: str, file: str = "<expression>") -> M.Expr:
    """Type `text` as an expression over the state of `model`."""
    checker: Checker = model.checker
    return checker.expression(text, file)


def load_model(path: str, consts: dict[str, int] | None = None) -> M.Model:
    """Parse and type-check a spec file (and its imports) into a typed model."""
    checker = Checker(consts)
    root = checker.load(path)
    try:
        return checker.build(root, path, checker.all_decls)
    except RecursionError:
        raise too_deep(path) from None


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
