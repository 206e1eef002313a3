"""Typed expressions and statements compiled once into Python closures over packed states.

Action parameters and small quantifier domains are unrolled at compile time, so
a ground action instance reads fixed bit fields and most of its arithmetic is
folded away. No text is ever evaluated. An expression with no value in a state
(an integer outside its range on assignment, an index outside a map's keys,
`head` of an empty queue, ...) raises `EvalError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ftverify.spec import model as M
from ftverify.spec.errors import Span, SpecError
from ftverify.spec.layout import StateLayout, _mask
from ftverify.spec.types import (
    BVT,
    BoolT,
    IntT,
    MapT,
    QueueT,
    RecordT,
    SetT,
    Type,
    domain_size,
    domain_values,
    field_offset,
    ordinal,
    queue_len_width,
    width,
)

# Quantifiers, forall statements and map literals over at most this many values
# are unrolled at compile time; larger domains loop at run time.
UNROLL_LIMIT = 64

Fn = Callable[[int], Any]
StmtFn = Callable[[int, int], int]


class EvalError(Exception):
    """An expression has no value in this state (see the module docstring)."""

    def __init__(self, span: Span, message: str) -> None:
        super().__init__(message)
        self.span = span
        self.message = message


class _C:
    """A value known at compile time."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v


Compiled = _C | Fn


def _fn(c: Compiled) -> Fn:
    if isinstance(c, _C):
        v = c.v
        return lambda s: v
    return c


# ---------------------------------------------------------------- the compiler
_Env = dict[int, Any]  # Bound uid -> _C (known value) or a one-element list (a run-time box)
# Where a step property is compiled for one action instance, the action's name (a _C) is in
# the environment under this key, for `taken(...)`
STEP_ACTION = -1


class Compiler:
    """Compiles typed expressions and statements to closures over packed states."""

    def __init__(self, layout: StateLayout | None) -> None:
        self.layout = layout

    # -- expressions
    def expr(self, e: M.Expr, env: _Env) -> Compiled:
        method = _EXPR[type(e)]
        return method(self, e, env)

    def fn(self, e: M.Expr, env: _Env) -> Fn:
        return _fn(self.expr(e, env))

    def _lit(self, e: M.Lit, env: _Env) -> Compiled:
        return _C(e.value)

    def _faults(self, e: M.Faults, env: _Env) -> Compiled:
        assert self.layout is not None
        counters = [(c.offset, _mask(c.width)) for c in self.layout.counters]
        if not counters:
            return _C(0)
        if len(counters) == 1:
            off, m = counters[0]
            return lambda s: (s >> off) & m  # masked: a step property reads a pair of states
        return lambda s: sum((s >> off) & m for off, m in counters)

    def _budget(self, e: M.Budget, env: _Env) -> Compiled:
        assert self.layout is not None
        return _C(self.layout.total_budget)

    def _bound(self, e: M.Bound, env: _Env) -> Compiled:
        b = env[e.uid]
        if isinstance(b, _C):
            return b
        return lambda s: b[0]

    def path(self, e: M.Expr, env: _Env) -> tuple[int | Fn, Type] | None:
        """The bit offset (constant or computed) of a variable, element or field chain."""
        match e:
            case M.VarRef(name=name):
                assert self.layout is not None
                return self.layout.slot[name].offset, e.type
            case M.Next(name=name):  # a step property reads the pair s | t << width
                assert self.layout is not None
                return self.layout.slot[name].offset + self.layout.width, e.type
            case M.Index(base=base, index=idx):
                p = self.path(base, env)
                if p is None:
                    return None
                off, bt = p
                assert isinstance(bt, MapT)
                wv = width(bt.value)
                k = self.expr(idx, env)
                kt = bt.key
                if isinstance(k, _C):
                    delta = ordinal(kt, k.v) * wv
                    if isinstance(off, int):
                        return off + delta, e.type
                    return (lambda s, f=off, d=delta: f(s) + d), e.type
                lo = kt.lo if isinstance(kt, IntT) else 0
                if isinstance(off, int):
                    base_off = off - lo * wv
                    if wv == 1:
                        return (lambda s: base_off + k(s)), e.type
                    return (lambda s: base_off + k(s) * wv), e.type
                return (lambda s: off(s) + (k(s) - lo) * wv), e.type
            case M.Field(base=base, name=name):
                p = self.path(base, env)
                if p is None:
                    return None
                off, bt = p
                assert isinstance(bt, RecordT)
                delta = field_offset(bt, name)
                if isinstance(off, int):
                    return off + delta, e.type
                return (lambda s, f=off, d=delta: f(s) + d), e.type
        return None

    def _read(self, e: M.Expr, env: _Env) -> Compiled:
        p = self.path(e, env)
        if p is not None:
            off, t = p
            m = _mask(width(t))
            lo = t.lo if isinstance(t, IntT) else 0
            if isinstance(off, int):
                if off == 0:
                    f = (lambda s: (s & m) + lo) if lo else (lambda s: s & m)
                else:
                    f = (lambda s: ((s >> off) & m) + lo) if lo else (lambda s: (s >> off) & m)
                return _with_place(f, (off, m, lo))
            return (lambda s: ((s >> off(s)) & m) + lo) if lo else (lambda s: (s >> off(s)) & m)
        # Element or field of a computed composite value.
        if isinstance(e, M.Index):
            bt = e.base.type
            assert isinstance(bt, MapT)
            wv = width(bt.value)
            m = _mask(wv)
            lo = e.type.lo if isinstance(e.type, IntT) else 0
            klo = bt.key.lo if isinstance(bt.key, IntT) else 0
            base, idx = self.fn(e.base, env), self.fn(e.index, env)
            return lambda s: ((base(s) >> ((idx(s) - klo) * wv)) & m) + lo
        assert isinstance(e, M.Field)
        bt = e.base.type
        assert isinstance(bt, RecordT)
        off = field_offset(bt, e.name)
        m = _mask(width(e.type))
        lo = e.type.lo if isinstance(e.type, IntT) else 0
        base = self.fn(e.base, env)
        return lambda s: ((base(s) >> off) & m) + lo

    _var = _read
    _index = _read
    _field = _read

    def _unary(self, e: M.Unary, env: _Env) -> Compiled:
        a = self.expr(e.arg, env)
        if e.op == "not":
            if isinstance(a, _C):
                return _C(not a.v)
            return lambda s: not a(s)
        if e.op == "neg":
            if isinstance(a, _C):
                return _C(-a.v)
            return lambda s: -a(s)
        assert isinstance(e.type, BVT)
        m = _mask(e.type.width)
        if isinstance(a, _C):
            return _C(~a.v & m)
        return lambda s: ~a(s) & m

    def _binary(self, e: M.Binary, env: _Env) -> Compiled:
        op = e.op
        a = self.expr(e.left, env)
        if op in ("and", "or", "implies"):
            if isinstance(a, _C) and bool(a.v) == (op == "or"):
                return _C(op != "and")  # decided by the left side: the right one is not compiled
            return _logic(op, a, self.expr(e.right, env))
        b = self.expr(e.right, env)
        if op == "member":
            et = e.right.type
            assert isinstance(et, SetT)
            lo = et.elem.lo if isinstance(et.elem, IntT) else 0
            n = domain_size(et.elem)
            if isinstance(a, _C) and isinstance(b, _C):
                k = a.v - lo
                return _C(0 <= k < n and bool(b.v >> k & 1))
            if isinstance(a, _C):
                k = a.v - lo
                if not 0 <= k < n:
                    return _binop_effects(b, False)
                bf = b
                return lambda s: (bf(s) >> k) & 1 == 1
            af, bf = _fn(a), _fn(b)

            def member(s: int) -> bool:
                k = af(s) - lo
                return 0 <= k < n and (bf(s) >> k) & 1 == 1

            return member
        t = e.left.type
        f = _binop(op, t, e.type)
        if isinstance(a, _C) and isinstance(b, _C):
            return _C(f(a.v, b.v))
        if isinstance(b, _C):
            return _binop_const_right(op, t, e.type, _fn(a), b.v, f)
        if isinstance(a, _C):
            av = a.v
            bf = b
            return lambda s: f(av, bf(s))
        af, bf = a, b
        return lambda s: f(af(s), bf(s))

    def _ite(self, e: M.Ite, env: _Env) -> Compiled:
        c = self.expr(e.cond, env)
        if isinstance(c, _C):
            return self.expr(e.then if c.v else e.orelse, env)
        a, b = self.fn(e.then, env), self.fn(e.orelse, env)
        return lambda s: a(s) if c(s) else b(s)

    def _quant(self, e: M.Quant, env: _Env) -> Compiled:
        dom = domain_values(e.var.type)
        if len(dom) <= UNROLL_LIMIT:
            parts = [self.expr(e.body, {**env, e.var.uid: _C(v)}) for v in dom]
            return _fold_quant(e.kind, parts)
        box: list[Any] = [None]
        body = self.fn(e.body, {**env, e.var.uid: box})
        values = list(dom)
        if e.kind == "forall":
            def forall(s: int) -> bool:
                for v in values:
                    box[0] = v
                    if not body(s):
                        return False
                return True
            return forall
        if e.kind == "exists":
            def exists(s: int) -> bool:
                for v in values:
                    box[0] = v
                    if body(s):
                        return True
                return False
            return exists

        def total(s: int) -> int:
            n = 0
            for v in values:
                box[0] = v
                n += body(s)
            return int(n)
        return total

    def _let(self, e: M.Let, env: _Env) -> Compiled:
        v = self.expr(e.value, env)
        if isinstance(v, _C):
            return self.expr(e.body, {**env, e.var.uid: v})
        box: list[Any] = [None]
        body = self.expr(e.body, {**env, e.var.uid: box})
        vf = v
        if isinstance(body, _C):
            bv = body.v

            def let_const(s: int) -> Any:
                vf(s)  # for its evaluation errors: a let's value is always evaluated
                return bv
            return let_const

        def let(s: int) -> Any:
            box[0] = vf(s)
            return body(s)
        return let

    def _setlit(self, e: M.SetLit, env: _Env) -> Compiled:
        st = e.type
        assert isinstance(st, SetT)
        lo = st.elem.lo if isinstance(st.elem, IntT) else 0
        parts = [self.expr(x, env) for x in e.elems]
        const = 0
        dyn = []
        for p in parts:
            if isinstance(p, _C):
                const |= 1 << (p.v - lo)
            else:
                dyn.append(p)
        if not dyn:
            return _C(const)

        def setlit(s: int) -> int:
            v = const
            for f in dyn:
                v |= 1 << (f(s) - lo)
            return v
        return setlit

    def _recordlit(self, e: M.RecordLit, env: _Env) -> Compiled:
        rt = e.type
        assert isinstance(rt, RecordT)
        items = []
        off = 0
        for (_, ft), x in zip(rt.fields, e.fields, strict=True):
            items.append((self.expr(x, env), off, ft.lo if isinstance(ft, IntT) else 0))
            off += width(ft)
        return _pack(items)

    def _maplit(self, e: M.MapLit, env: _Env) -> Compiled:
        mt = e.type
        assert isinstance(mt, MapT)
        wv = width(mt.value)
        lo = mt.value.lo if isinstance(mt.value, IntT) else 0
        items = [(self.expr(e.body, {**env, e.var.uid: _C(k)}), i * wv, lo)
                 for i, k in enumerate(domain_values(mt.key))]
        return _pack(items)

    def _builtin(self, e: M.Builtin, env: _Env) -> Compiled:
        args = [self.expr(a, env) for a in e.args]
        f = self._builtin_fn(e)
        if all(isinstance(a, _C) for a in args):
            try:
                return _C(f(*(a.v for a in args)))  # type: ignore[union-attr]
            except EvalError as err:
                return _raiser(err.span, err.message)
        fs = [_fn(a) for a in args]
        if len(fs) == 1:
            a0 = fs[0]
            return lambda s: f(a0(s))
        a0, a1 = fs
        return lambda s: f(a0(s), a1(s))

    def _builtin_fn(self, e: M.Builtin) -> Callable[..., Any]:
        name = e.name
        if name in ("len", "head", "push", "pop"):
            qt = e.args[0].type
            assert isinstance(qt, QueueT)
            lw, ew, cap = queue_len_width(qt), width(qt.elem), qt.capacity
            lmask, emask = _mask(lw), _mask(ew)
            elo = qt.elem.lo if isinstance(qt.elem, IntT) else 0
            span = e.span
            if name == "len":
                return lambda q: q & lmask

            if name == "head":
                def head(q: int) -> int:
                    if q & lmask == 0:
                        raise EvalError(span, "head of an empty queue")
                    return ((q >> lw) & emask) + elo
                return head

            if name == "pop":
                def pop(q: int) -> int:
                    n = q & lmask
                    if n == 0:
                        raise EvalError(span, "pop from an empty queue")
                    return ((q >> (lw + ew)) << lw) | (n - 1)
                return pop

            def push(q: int, x: int) -> int:
                n = q & lmask
                if n >= cap:
                    raise EvalError(span, f"push onto a full queue (capacity {cap})")
                return (q | ((x - elo) << (lw + n * ew))) + 1
            return push
        if name == "size":
            return lambda x: x.bit_count()
        if name == "min":
            return min
        if name == "max":
            return max
        if name == "abs":
            return abs
        if name in ("to_int", "ord"):
            return lambda x: x
        if name == "to_bv":
            assert isinstance(e.type, BVT)
            m = _mask(e.type.width)
            return lambda x: x & m
        raise AssertionError(f"unknown builtin {name}")

    def _narrow(self, e: M.Narrow, env: _Env) -> Compiled:
        return self.expr(e.arg, env)

    def _taken(self, e: M.Taken, env: _Env) -> Compiled:
        if env[STEP_ACTION].v != e.action:
            return _C(False)
        return self.expr(e.cond, env)

    def _check(self, e: M.Check, env: _Env) -> Compiled:
        a = self.expr(e.arg, env)
        t = e.type
        assert isinstance(t, IntT)
        lo, hi, span, what = t.lo, t.hi, e.span, e.what
        if isinstance(a, _C):
            if not lo <= a.v <= hi:
                return _raiser(span, f"{what}: {a.v} is outside {lo}..{hi}")
            return a
        af = a

        def check(s: int) -> int:
            v = af(s)
            if v < lo or v > hi:
                raise EvalError(span, f"{what}: {v} is outside {lo}..{hi}")
            return v  # type: ignore[no-any-return]
        return check

    # -- statements
    def stmts(self, stmts: Sequence[M.Stmt], env: _Env) -> StmtFn | None:
        """A function (pre-state, state being built) -> new state; None for no effect."""
        fs = [f for f in (self.stmt(x, env) for x in stmts) if f is not None]
        if not fs:
            return None
        if len(fs) == 1:
            return fs[0]
        if len(fs) == 2:
            f0, f1 = fs
            return lambda s, t: f1(s, f0(s, t))

        def seq(s: int, t: int) -> int:
            for f in fs:
                t = f(s, t)
            return t
        return seq

    def stmt(self, x: M.Stmt, env: _Env) -> StmtFn | None:
        match x:
            case M.Assign(target=target, value=value):
                return self._assign(target, value, env)
            case M.IfStmt(cond=cond, then=then, orelse=orelse):
                c = self.expr(cond, env)
                if isinstance(c, _C):
                    return self.stmts(then if c.v else orelse, env)
                a = self.stmts(then, env) or _identity
                b = self.stmts(orelse, env) or _identity
                return lambda s, t: a(s, t) if c(s) else b(s, t)
            case M.ForallStmt(var=var, body=body):
                dom = domain_values(var.type)
                if len(dom) <= UNROLL_LIMIT:
                    return self.stmts([M.LetStmt(x.span, var, M.Lit(x.span, var.type, v), body) for v in dom], env)
                box: list[Any] = [None]
                bf = self.stmts(body, {**env, var.uid: box})
                if bf is None:
                    return None
                values = list(dom)

                def forall(s: int, t: int) -> int:
                    for v in values:
                        box[0] = v
                        t = bf(s, t)
                    return t
                return forall
            case M.LetStmt(var=var, value=value, body=body):
                v = self.expr(value, env)
                if isinstance(v, _C):
                    return self.stmts(body, {**env, var.uid: v})
                box = [None]
                bf = self.stmts(body, {**env, var.uid: box})
                vf = v
                if bf is None:
                    return lambda s, t: (vf(s), t)[1]

                def let(s: int, t: int) -> int:
                    box[0] = vf(s)
                    return bf(s, t)
                return let
        raise AssertionError(f"unknown statement {x}")

    def apply(self, stmts: Sequence[M.Stmt], env: _Env, inc: int = 0) -> Callable[[int], int]:
        """The successor function s -> t of an action body (plus `inc`, the fault count step)."""
        single = _single_assign(self, stmts, env)
        if single is not None:
            # The hot shape `x := e` with a fixed place: one closure instead of three.
            off, m, lo, v = single
            clear = ~(m << off)
            if getattr(v, "place", None) == (off, m, lo) and getattr(v, "plus", None) is not None:
                # `x := x + k` with the result in range (no check was needed):
                # the code moves by k, so the packed state does too.
                delta = (v.plus << off) + inc  # type: ignore[attr-defined]
                return lambda s: s + delta
            if isinstance(v, _C):
                bits = (int(v.v) - lo) << off
                if inc:  # the fault counter is added, not or-ed: it may already be non-zero
                    return lambda s: ((s & clear) | bits) + inc
                return lambda s: (s & clear) | bits
            vf = v
            if inc:
                return lambda s: ((s & clear) | ((vf(s) - lo) << off)) + inc
            if lo:
                return lambda s: (s & clear) | ((vf(s) - lo) << off)
            return lambda s: (s & clear) | (vf(s) << off)
        return _apply(self.stmts(stmts, env), inc)

    def _assign(self, target: M.Expr, value: M.Expr, env: _Env) -> StmtFn:
        p = self.path(target, env)
        assert p is not None, "the type checker only accepts state-variable paths as targets"
        off, t = p
        w = width(t)
        m = _mask(w)
        lo = t.lo if isinstance(t, IntT) else 0
        v = self.expr(value, env)
        if isinstance(off, int):
            clear = ~(m << off)
            if isinstance(v, _C):
                bits = (int(v.v) - lo) << off
                return lambda s, t: (t & clear) | bits
            vf = v
            if lo:
                return lambda s, t: (t & clear) | ((vf(s) - lo) << off)
            return lambda s, t: (t & clear) | (vf(s) << off)
        of = off
        vf = _fn(v)

        def assign(s: int, t: int) -> int:
            o = of(s)
            return (t & ~(m << o)) | ((vf(s) - lo) << o)
        return assign


def _identity(s: int, t: int) -> int:
    return t


def _raiser(span: Span, message: str) -> Fn:
    def fail(s: int) -> Any:
        raise EvalError(span, message)
    return fail


def _binop_effects(b: Compiled, value: Any) -> Compiled:
    # `value`, after evaluating b for its errors.
    if isinstance(b, _C):
        return _C(value)
    return lambda s: (b(s), value)[1]


def _logic(op: str, a: Compiled, b: Compiled) -> Compiled:
    """Short-circuit connectives: the right operand is evaluated only when needed."""
    if isinstance(a, _C):
        if op == "and":
            return b if a.v else _C(False)
        if op == "or":
            return _C(True) if a.v else b
        return b if a.v else _C(True)
    if isinstance(b, _C):
        if op == "and":
            return a if b.v else (lambda s: a(s) and False)
        if op == "or":
            return (lambda s: a(s) or True) if b.v else a
        return (lambda s: (a(s), True)[1]) if b.v else (lambda s: not a(s))
    if op == "and":
        return lambda s: a(s) and b(s)
    if op == "or":
        return lambda s: a(s) or b(s)
    return lambda s: (not a(s)) or b(s)


def _binop(op: str, t: Type, result: Type) -> Callable[[Any, Any], Any]:
    """The meaning of a (non-short-circuit) binary operator on run-time values."""
    m = _mask(t.width) if isinstance(t, BVT) else 0
    table: dict[str, Callable[[Any, Any], Any]] = {
        "iff": lambda x, y: bool(x) == bool(y),
        "eq": lambda x, y: x == y,
        "ne": lambda x, y: x != y,
        "add": lambda x, y: x + y,
        "sub": lambda x, y: x - y,
        "mul": lambda x, y: x * y,
        "div": lambda x, y: x // y,
        "mod": lambda x, y: x % y,
        "shl": lambda x, y: x << y,
        "shr": lambda x, y: x >> y,
        "lt": lambda x, y: x < y,
        "le": lambda x, y: x <= y,
        "gt": lambda x, y: x > y,
        "ge": lambda x, y: x >= y,
        "bvult": lambda x, y: x < y,
        "bvule": lambda x, y: x <= y,
        "bvugt": lambda x, y: x > y,
        "bvuge": lambda x, y: x >= y,
        "bvadd": lambda x, y: (x + y) & m,
        "bvsub": lambda x, y: (x - y) & m,
        "bvmul": lambda x, y: (x * y) & m,
        "bvudiv": lambda x, y: x // y,
        "bvurem": lambda x, y: x % y,
        "bvand": lambda x, y: x & y,
        "bvor": lambda x, y: x | y,
        "bvxor": lambda x, y: x ^ y,
        "bvshl": lambda x, y: (x << y) & m if y < t.width else 0,  # type: ignore[union-attr]
        "bvlshr": lambda x, y: x >> y,
        "union": lambda x, y: x | y,
        "inter": lambda x, y: x & y,
        "diff": lambda x, y: x & ~y,
        "subset": lambda x, y: x & ~y == 0,
    }
    return table[op]


def _with_place(f: Fn, place: tuple[int, int, int], plus: int | None = None) -> Fn:
    # Functions accept attributes: the fused closure stays a plain function call.
    f.place = place  # type: ignore[attr-defined]
    f.plus = plus  # type: ignore[attr-defined]
    return f


def _place_of(f: Any) -> tuple[int, int, int] | None:
    p = getattr(f, "place", None)
    return p if getattr(f, "plus", 1) is None else None


def _binop_const_right(op: str, t: Type, result: Type, a: Fn, k: Any, f: Callable[[Any, Any], Any]) -> Fn:
    """Specialised closures for the common `x OP constant` shapes (the explorer's hot path)."""
    place = _place_of(a)
    if place is not None and op in ("eq", "ne", "lt", "le", "gt", "ge", "add", "sub"):
        # `place OP k` on the packed state directly: one closure instead of two.
        off, m, lo = place
        c = k - lo  # compare codes, not values
        if op == "eq":
            return lambda s: (s >> off) & m == c
        if op == "ne":
            return lambda s: (s >> off) & m != c
        if op == "lt":
            return lambda s: (s >> off) & m < c
        if op == "le":
            return lambda s: (s >> off) & m <= c
        if op == "gt":
            return lambda s: (s >> off) & m > c
        if op == "ge":
            return lambda s: (s >> off) & m >= c
        d = k if op == "add" else -k
        base = lo + d
        return _with_place(lambda s: ((s >> off) & m) + base, place, d)
    if op == "eq":
        return lambda s: a(s) == k
    if op == "ne":
        return lambda s: a(s) != k
    if op == "lt":
        return lambda s: a(s) < k
    if op == "le":
        return lambda s: a(s) <= k
    if op == "gt":
        return lambda s: a(s) > k
    if op == "ge":
        return lambda s: a(s) >= k
    if op == "add":
        return lambda s: a(s) + k
    if op == "sub":
        return lambda s: a(s) - k
    if op == "bvadd":
        m = _mask(t.width)  # type: ignore[union-attr]
        return lambda s: (a(s) + k) & m
    if op == "bvxor":
        return lambda s: a(s) ^ k
    if op == "bvand":
        return lambda s: a(s) & k
    return lambda s: f(a(s), k)


def _fold_quant(kind: str, parts: list[Compiled]) -> Compiled:
    """Combine unrolled instances in domain order, short-circuiting as evaluation does."""
    if kind in ("forall", "exists"):
        absorbing = kind == "exists"  # the value that decides the quantifier
        fs: list[Fn] = []
        for p in parts:
            if isinstance(p, _C):
                if bool(p.v) == absorbing:
                    if not fs:
                        return _C(absorbing)
                    fs.append(lambda s, v=absorbing: v)
                    break
                continue  # the neutral value: no effect, no error
            fs.append(p)
        if not fs:
            return _C(not absorbing)
        if len(fs) == 1:
            f0 = fs[0]
            return lambda s: bool(f0(s))
        if kind == "forall":
            if len(fs) == 2:
                f0, f1 = fs
                return lambda s: bool(f0(s) and f1(s))
            if len(fs) == 3:
                f0, f1, f2 = fs
                return lambda s: bool(f0(s) and f1(s) and f2(s))

            def forall(s: int) -> bool:
                return all(f(s) for f in fs)
            return forall
        if len(fs) == 2:
            f0, f1 = fs
            return lambda s: bool(f0(s) or f1(s))

        def exists(s: int) -> bool:
            return any(f(s) for f in fs)
        return exists
    const = 0
    dyn: list[Fn] = []
    for p in parts:
        if isinstance(p, _C):
            const += int(p.v)
        else:
            dyn.append(p)
    if not dyn:
        return _C(const)

    def total(s: int) -> int:
        n = const
        for f in dyn:
            n += f(s)
        return int(n)
    return total


def _pack(items: list[tuple[Compiled, int, int]]) -> Compiled:
    """Pack (value, bit offset, range lower bound) leaves into one composite value."""
    const = 0
    dyn: list[tuple[Fn, int, int]] = []
    for c, off, lo in items:
        if isinstance(c, _C):
            const |= (int(c.v) - lo) << off
        else:
            dyn.append((c, off, lo))
    if not dyn:
        return _C(const)

    def pack(s: int) -> int:
        v = const
        for f, off, lo in dyn:
            v |= (int(f(s)) - lo) << off
        return v
    return pack


_EXPR: dict[type, Callable[[Compiler, Any, _Env], Compiled]] = {
    M.Lit: Compiler._lit,
    M.VarRef: Compiler._var,
    M.Bound: Compiler._bound,
    M.Index: Compiler._index,
    M.Field: Compiler._field,
    M.Unary: Compiler._unary,
    M.Binary: Compiler._binary,
    M.Ite: Compiler._ite,
    M.Quant: Compiler._quant,
    M.Let: Compiler._let,
    M.SetLit: Compiler._setlit,
    M.RecordLit: Compiler._recordlit,
    M.MapLit: Compiler._maplit,
    M.Builtin: Compiler._builtin,
    M.Faults: Compiler._faults,
    M.Budget: Compiler._budget,
    M.Check: Compiler._check,
    M.Next: Compiler._read,
    M.Taken: Compiler._taken,
    M.Narrow: Compiler._narrow,
}


# ---------------------------------------------------------------- constant folding
def _children(e: M.Expr) -> tuple[M.Expr, ...]:
    match e:
        case M.Index(base=b, index=i):
            return (b, i)
        case M.Field(base=b) | M.Unary(arg=b) | M.Check(arg=b) | M.Narrow(arg=b) | M.Taken(cond=b):
            return (b,)
        case M.Binary(left=a, right=b):
            return (a, b)
        case M.Ite(cond=c, then=a, orelse=b):
            return (c, a, b)
        case M.Quant(body=b) | M.MapLit(body=b):
            return (b,)
        case M.Let(value=v, body=b):
            return (v, b)
        case M.SetLit(elems=es) | M.RecordLit(fields=es) | M.Builtin(args=es):
            return es
    return ()


def fold_constant(e: M.Expr) -> M.Expr:
    """e as a literal when all its operands are literals; e itself otherwise."""
    if isinstance(e, M.Lit | M.VarRef | M.Bound | M.Faults | M.Budget | M.Next | M.Taken):
        return e
    kids = _children(e)
    if not all(isinstance(k, M.Lit) for k in kids):
        return e
    try:
        c = Compiler(None).expr(e, {})
    except AssertionError:
        return e
    if not isinstance(c, _C):
        try:
            v = c(0)
        except EvalError as err:
            raise SpecError(err.span, err.message) from None
    else:
        v = c.v
    if isinstance(e.type, BoolT):
        v = int(bool(v))
    return M.Lit(e.span, e.type, int(v))


def _apply(body: StmtFn | None, inc: int) -> Callable[[int], int]:
    if body is None:
        return (lambda s: s + inc) if inc else (lambda s: s)
    if inc:
        return lambda s: body(s, s) + inc
    return lambda s: body(s, s)


def _single_assign(c: Compiler, stmts: Sequence[M.Stmt], env: _Env) -> tuple[int, int, int, Compiled] | None:
    """(offset, mask, lower bound, value) when the body is one assignment to a fixed place."""
    if len(stmts) != 1 or not isinstance(stmts[0], M.Assign):
        return None
    p = c.path(stmts[0].target, env)
    if p is None or not isinstance(p[0], int):
        return None
    off, t = p
    return off, _mask(width(t)), (t.lo if isinstance(t, IntT) else 0), c.expr(stmts[0].value, env)


# ---------------------------------------------------------------- initial states
