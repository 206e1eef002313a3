"""AST -> .ftv text, with the fewest parentheses the grammar needs.

Parsing what this prints gives back the same AST (spans aside): the parser's
round-trip tests rely on it, and the symbolic engines use it to print the
invariants they find as expressions a user can paste into a spec.
"""

from __future__ import annotations

from functools import singledispatch

from ftverify.spec import syntax as S
from ftverify.spec.types import field_text, is_tuple

# Binding strength of binary operators (higher binds tighter), as in grammar.lark.
_PREC = {
    "<->": 1, "->": 2, "||": 3, "&&": 4,
    "==": 6, "!=": 6, "<": 6, "<=": 6, ">": 6, ">=": 6, "in": 6,
    "|": 7, "^": 8, "&": 9, "<<": 10, ">>": 10, "+": 11, "-": 11, "*": 12, "/": 12, "%": 12,
}
_UNARY = 13
_ATOM = 14
_TAIL = 0  # quantifiers, let and if-then-else: they extend as far right as possible


def _prec(e: S.Expr) -> int:
    if isinstance(e, S.Binary):
        return _PREC[e.op]
    if isinstance(e, S.Unary):
        return _UNARY if e.op != "!" else 5
    if isinstance(e, S.Quant | S.Let | S.Ite):
        return _TAIL
    return _ATOM


def _ends_with_tail(e: S.Expr) -> bool:
    """True when e's text ends in a quantifier, let or if-then-else body, which
    would swallow any operator printed after it."""
    if isinstance(e, S.Quant | S.Let | S.Ite):
        return True
    if isinstance(e, S.Binary):
        return _ends_with_tail(e.right)
    if isinstance(e, S.Unary):
        return _ends_with_tail(e.arg)
    return False


def _wrap(e: S.Expr, ok: bool) -> str:
    text = expr(e)
    return text if ok else f"({text})"


def _left(e: S.Expr, ok: bool) -> str:
    """A left operand: also parenthesised when it would swallow the operator after it."""
    return _wrap(e, ok and not _ends_with_tail(e))


@singledispatch
def expr(e: S.Expr) -> str:
    raise TypeError(f"cannot print {type(e).__name__}")


@expr.register
def _(e: S.IntLit) -> str:
    return str(e.value) if e.value >= 0 else f"({e.value})"


@expr.register
def _(e: S.BoolLit) -> str:
    return "true" if e.value else "false"


@expr.register
def _(e: S.Name) -> str:
    return e.name


@expr.register
def _(e: S.Primed) -> str:
    return f"{e.name}'"


@expr.register
def _(e: S.Call) -> str:
    return f"{e.name}({', '.join(expr(a) for a in e.args)})"


@expr.register
def _(e: S.BVCast) -> str:
    return f"bv[{expr(e.width)}]({expr(e.arg)})"


@expr.register
def _(e: S.Unary) -> str:
    mine = _prec(e)
    # `!` takes a not-expression (or a tail); `-` and `~` take a unary operand.
    ok = _prec(e.arg) >= mine or (e.op == "!" and _prec(e.arg) == _TAIL)
    if e.op == "!" and _prec(e.arg) == 6:
        ok = False  # `!(x in s)` reads better than the equivalent `!x in s`
    return f"{e.op}{_wrap(e.arg, ok)}"


@expr.register
def _(e: S.Binary) -> str:
    p = _PREC[e.op]
    lp, rp = _prec(e.left), _prec(e.right)
    if p <= 4 or e.op == "<->":
        # Boolean connectives: && and || are left-associative, -> right-associative,
        # and a quantifier, let or if-then-else may stand as their right operand.
        left_ok = lp > p or (lp == p and e.op in ("&&", "||"))
        right_ok = rp > p or (rp == p and e.op == "->") or rp == _TAIL
        if e.op == "<->":
            left_ok, right_ok = lp > p, rp > p or rp == _TAIL
        return f"{_left(e.left, left_ok)} {e.op} {_wrap(e.right, right_ok)}"
    if p == 6:  # comparisons do not chain
        return f"{_left(e.left, lp > p)} {e.op} {_wrap(e.right, rp > p)}"
    return f"{_left(e.left, lp >= p)} {e.op} {_wrap(e.right, rp > p)}"


@expr.register
def _(e: S.Index) -> str:
    return f"{_wrap(e.base, _prec(e.base) == _ATOM)}[{expr(e.index)}]"


@expr.register
def _(e: S.Field) -> str:
    return field_text(_wrap(e.base, _prec(e.base) == _ATOM and not isinstance(e.base, S.IntLit)), e.name)


@expr.register
def _(e: S.Ite) -> str:
    return f"if {expr(e.cond)} then {expr(e.then)} else {expr(e.orelse)}"


def _binder(b: S.Binder | S.SetBinder, in_quant: bool) -> str:
    if isinstance(b, S.Binder):
        return f"{b.name}: {type_(b.type, bound=True)}"
    if in_quant:  # a name or parenthesised: a `.` after the set would read as a field
        return f"{b.name} in {expr(b.source) if isinstance(b.source, S.Name) else '(' + expr(b.source) + ')'}"
    return f"{b.name} in {_wrap(b.source, _prec(b.source) >= 7)}"


@expr.register
def _(e: S.Quant) -> str:
    binders = ", ".join(_binder(b, True) for b in e.binders)
    return f"{e.kind} {binders}. {expr(e.body)}"


@expr.register
def _(e: S.SetComp) -> str:
    cond = f" if {expr(e.cond)}" if e.cond is not None else ""
    return "{" + f"{_wrap(e.elem, _prec(e.elem) > _TAIL)} for {_binder(e.binder, False)}{cond}" + "}"


@expr.register
def _(e: S.Let) -> str:
    return f"let {e.name} = {_wrap(e.value, _prec(e.value) >= 7)} in {expr(e.body)}"


@expr.register
def _(e: S.SetLit) -> str:
    return "{" + ", ".join(expr(x) for x in e.elems) + "}"


@expr.register
def _(e: S.EmptyQueue) -> str:
    return "<>"


@expr.register
def _(e: S.RecordLit) -> str:
    if is_tuple([f.name for f in e.fields]):
        return "(" + ", ".join(expr(f.value) for f in e.fields) + ")"
    return "{" + ", ".join(f"{f.name}: {expr(f.value)}" for f in e.fields) + "}"


@expr.register
def _(e: S.MapTable) -> str:
    return "[" + ", ".join(f"{expr(k)} |-> {expr(v)}" for k, v in e.entries) + "]"


@expr.register
def _(e: S.MapLit) -> str:
    return f"[{e.var}: {type_(e.key, bound=True)} |-> {expr(e.body)}]"


def _bound(e: S.Expr, need: int = 1) -> str:
    """A range bound, in the restricted grammar of the `bound` rule (no postfix operators)."""
    if isinstance(e, S.IntLit | S.Name):
        return expr(e) if not (isinstance(e, S.IntLit) and e.value < 0) else f"-{-e.value}"
    if isinstance(e, S.Unary) and e.op == "-":
        return f"-{_bound(e.arg, 3)}"
    if isinstance(e, S.Binary) and e.op in ("+", "-") and need <= 1:
        return f"{_bound(e.left, 1)} {e.op} {_bound(e.right, 2)}"
    if isinstance(e, S.Binary) and e.op == "*" and need <= 2:
        return f"{_bound(e.left, 2)} * {_bound(e.right, 3)}"
    return f"({expr(e)})"


def type_(t: S.TypeExpr, bound: bool = False) -> str:
    match t:
        case S.BoolType():
            return "bool"
        case S.RangeType(lo=lo, hi=hi):
            return f"{_bound(lo)}..{_bound(hi)}"
        case S.BVType(width=w):
            return f"bv[{_bound(w)}]"
        case S.NamedType(name=n):
            return n
        case S.RecordType(fields=fs):
            if is_tuple([f.name for f in fs]):
                return "tuple[" + ", ".join(type_(f.type) for f in fs) + "]"
            return "{ " + ", ".join(f"{f.name}: {type_(f.type)}" for f in fs) + " }"
        case S.MapType(key=k, value=v):
            return f"[{type_(k)}] {type_(v)}"
        case S.SetType(elem=e):
            return f"set[{type_(e)}]"
        case S.QueueType(elem=e, capacity=c):
            return f"queue[{type_(e)}, {_bound(c)}]"
    raise TypeError(f"cannot print type {t}")


def stmts(body: tuple[S.Stmt, ...], indent: str) -> list[str]:
    out: list[str] = []
    for st in body:
        match st:
            case S.Assign(target=t, value=v):
                out.append(f"{indent}{expr(t)} := {expr(v)}")
            case S.Skip():
                out.append(f"{indent}skip")
            case S.CallStmt(name=n, args=args):
                out.append(f"{indent}{n}({', '.join(expr(a) for a in args)})")
            case S.ForallStmt(var=v, type=t, body=b):
                out.append(f"{indent}forall {v}: {type_(t)} {{")
                out += stmts(b, indent + "  ")
                out.append(f"{indent}}}")
            case S.If(cond=c, then=a, orelse=b):
                out.append(f"{indent}if {expr(c)} {{")
                out += stmts(a, indent + "  ")
                if b:
                    out.append(f"{indent}}} else {{")
                    out += stmts(b, indent + "  ")
                out.append(f"{indent}}}")
    return out


def _params(ps: tuple[S.Param, ...]) -> str:
    return ", ".join(f"{p.name}: {type_(p.type)}" for p in ps)


def decl(d: S.Decl) -> list[str]:
    match d:
        case S.Import(path=p):
            return [f'import "{p}"']
        case S.ConstDecl(name=n, value=v):
            return [f"const {n} = {expr(v)}"]
        case S.TypeDecl(name=n, type=t):
            return [f"type {n} = {type_(t)}"]
        case S.EnumDecl(name=n, members=ms, symmetric=sym):
            return [f"{'symmetric ' if sym else ''}enum {n} {{ {', '.join(m.name for m in ms)} }}"]
        case S.VarDecl(name=n, type=t):
            return [f"var {n}: {type_(t)}"]
        case S.DefDecl(name=n, params=ps, ret=r, body=b):
            return [f"def {n}({_params(ps)}): {type_(r)} = {expr(b)}"]
        case S.ProcDecl(name=n, params=ps, body=b):
            return [f"proc {n}({_params(ps)}) {{", *stmts(b, "  "), "}"]
        case S.InitDecl(pred=p):
            return [f"init {{ {expr(p)} }}"]
        case S.ActionDecl(name=n, is_fault=f, params=ps, guard=g, body=b, budget=budget, rate=rate, fairness=fair):
            head = {"weak": "fair ", "strong": "strong fair ", None: ""}[fair]
            head += f"{'fault' if f else 'action'} {n}({_params(ps)})"
            if budget is not None:
                head += f" budget {budget if isinstance(budget, str) else expr(budget)}"
            if rate is not None:
                head += " rate " + " * ".join(f.name if f.name is not None else repr(f.value) for f in rate)
            if g is not None:
                head += f" when {expr(g)}"
            return [head + " {", *stmts(b, "  "), "}"]
        case S.RateDecl(name=n, value=v):
            return [f"rate {n} = {v!r}"]
        case S.PropertyDecl(kind="leadsto", name=n, pred=p, target=t):
            assert t is not None
            return [f"leadsto {n}: {expr(p)} ~> {expr(t)}"]
        case S.PropertyDecl(kind="eventually", name=n, target=t):
            assert t is not None
            return [f"eventually {n}: {expr(t)}"]
        case S.PropertyDecl(kind="step", name=n, pred=p):
            return [f"always step {n}: {expr(p)}"]
        case S.PropertyDecl(kind="recovers", name=n, pred=p, target=t):
            assert t is not None
            return [f"recovers {n}: from {expr(p)} to {expr(t)}"]
        case S.PropertyDecl(kind=k, name=n, pred=p):
            return [f"{k} {n}: {expr(p)}"]
        case S.RefinementDecl(name=n, abstract_path=path, maps=maps, actions=acts, invariants=invs):
            body = [f"  map {expr(m.target)} = {expr(m.value)}" for m in maps]
            for a in acts:
                params = f"({', '.join(a.params)})" if a.params else ""
                target = "skip" if a.abstract is None else \
                    a.abstract + (f"({', '.join(expr(x) for x in a.args)})" if a.args else "")
                body.append(f"  action {a.action}{params} -> {target}")
            if invs:
                body.append(f"  invariant {', '.join(invs)}")
            return [f'refinement {n} refines "{path}" {{', *body, "}"]
    raise TypeError(f"cannot print {type(d).__name__}")


def spec(f: S.SpecFile) -> str:
    lines = [f"spec {f.name}", ""]
    for d in f.decls:
        lines += decl(d)
    return "\n".join(lines) + "\n"
