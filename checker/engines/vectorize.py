"""Typed models compiled to numpy operations over a whole block of packed states at once.

The data-parallel explorer (`layered`) evaluates a guard, an update or a
property on thousands of states with one numpy operation per node of the
expression, instead of one Python call per node and state. The meaning of every
node is the reference interpreter's (`spec.compile`), operation by operation:

* a block holds W 64-bit words per state (`Lanes.words`, one row per word), the
  state's packed int cut into words; W is one more than the layout needs, so the
  top bit of the last word is always 0 (the visited set's empty mark relies on it);
* a value is an int64 array (a bool array for `bool`), or a Python int where it is
  known at compile time; composite values are packed codes, as in the interpreter,
  and must fit 62 bits to be computed with (reading or writing one leaf of a wider
  map or record is fine: only a whole value wider than that is refused);
* every compiled piece returns its value and the lanes where evaluation fails
  (an `EvalError` in the interpreter), combined exactly as the interpreter's
  short-circuit evaluation would reach them: in `a && b`, b's failures count only
  where a holds. Values in failing lanes, and in lanes a guard or a condition
  rules out, are garbage that is never looked at.

What cannot be compiled this way (an integer expression whose interval leaves
62 bits, a quantifier over a huge domain, a wide composite value) raises
`Unsupported`, and the engine explores with the interpreter instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from ftverify.spec import model as M
from ftverify.spec.interp import Interpreter
from ftverify.spec.layout import StateLayout
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

U64 = np.uint64
I64 = np.int64
MAX_BITS = 62  # a value (and every integer interval) must fit int64 with room to spare
MAX_UNROLL = 4096  # quantifier and `forall` domains are unrolled up to this size
M64 = (1 << 64) - 1

Err = np.ndarray | None  # lanes whose evaluation fails; None for none


class Unsupported(Exception):
    """The model uses something this compiler does not handle (the interpreter does)."""


class Lanes:
    """A block of n packed states, one row of n uint64 per word, and the leaf reads made on it."""

    __slots__ = ("cache", "n", "words")

    def __init__(self, words: np.ndarray) -> None:
        self.words = words
        self.n = words.shape[1]
        self.cache: dict[tuple[int, int, int], np.ndarray] = {}


class K:
    """A value known at compile time."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v


class Box:
    """A bound name whose value is computed at run time (a `let`)."""

    __slots__ = ("v",)

    def __init__(self) -> None:
        self.v: Any = None


Fn = Callable[[Lanes], tuple[Any, Err]]
Compiled = K | Fn
Env = dict[int, K | Box]
StmtFn = Callable[[Lanes, list[np.ndarray]], Err]  # writes into the successor's words, returns failures


def _fn(c: Compiled) -> Fn:
    if isinstance(c, K):
        v = c.v
        return lambda L: (v, None)
    return c


def _or(a: Err, b: Err) -> Err:
    if a is None:
        return b
    if b is None:
        return a
    return a | b


def _when(c: Any, e: Err) -> Err:
    """Failures e counted only where c holds."""
    if e is None:
        return None
    return c & e


def _mask(w: int) -> int:
    return (1 << w) - 1


def _bits_of(t: Type) -> int:
    """Bits a run-time value of type t needs as an int64 (its sign included)."""
    if isinstance(t, IntT):
        return max(abs(t.lo), abs(t.hi)).bit_length() + 1
    return width(t)


def _need(t: Type, what: str = "a value") -> None:
    if _bits_of(t) > MAX_BITS:
        raise Unsupported(f"{what} of type {t} needs more than {MAX_BITS} bits")


# ---------------------------------------------------------------- reading and writing words
def read_code(L: Lanes, off: int, w: int) -> np.ndarray:
    """The w-bit field at bit `off` of every state, as uint64 (cached per block)."""
    key = (off, w, -1)
    v = L.cache.get(key)
    if v is None:
        wi, b = divmod(off, 64)
        x = L.words[wi]
        if b:
            x = x >> U64(b)
        if b + w > 64:
            x = x | (L.words[wi + 1] << U64(64 - b))
        if b + w != 64:
            x = x & U64(_mask(w))
        v = L.cache[key] = x
    return v


def read_value(L: Lanes, off: int, t: Type) -> np.ndarray:
    """The run-time value of the leaf or composite of type t at bit `off` (int64; bool for bool)."""
    lo = t.lo if isinstance(t, IntT) else 0
    key = (off, width(t), 1 if isinstance(t, BoolT) else 2 + lo)
    v = L.cache.get(key)
    if v is None:
        if isinstance(t, BoolT):
            wi, b = divmod(off, 64)
            v = (L.words[wi] & U64(1 << b)) != 0
        else:
            v = read_code(L, off, width(t)).view(I64)
            if lo:
                v = v + lo
        L.cache[key] = v
    return v


def _as_code(v: Any, lo: int) -> Any:
    """A value as the uint64 code stored in the state."""
    if isinstance(v, np.ndarray):
        if v.dtype == np.bool_:
            return v.astype(U64)
        return (v - lo).view(U64) if lo else v.view(U64)
    return int(v) - lo


def write_code(t: list[np.ndarray], off: int, w: int, code: Any) -> None:
    """Store code (uint64 array or int) in the w-bit field at `off` of the successor words t."""
    if w == 0:
        return
    wi, b = divmod(off, 64)
    first = min(w, 64 - b)
    clear = U64(~(_mask(first) << b) & M64)
    if isinstance(code, np.ndarray):
        t[wi] = (t[wi] & clear) | (code << U64(b))
        if first < w:
            t[wi + 1] = (t[wi + 1] & U64(~_mask(w - first) & M64)) | (code >> U64(first))
        return
    t[wi] = (t[wi] & clear) | U64((code << b) & M64)
    if first < w:
        t[wi + 1] = (t[wi + 1] & U64(~_mask(w - first) & M64)) | U64(code >> first)


def _shift_amount(x: Any) -> Any:
    """A per-lane shift amount as uint64, clipped into 0..63 (out-of-range lanes are garbage lanes)."""
    if isinstance(x, np.ndarray):
        return np.clip(x, 0, 63).astype(U64)
    return U64(min(max(int(x), 0), 63))


# ---------------------------------------------------------------- places with run-time offsets
@dataclass
class Place:
    """Where a variable, element or field lies: a fixed bit offset, or one per state
    (`dyn`, an int64 array from a compiled offset) between `lo` and `hi`."""

    off: int | Fn
    type: Type
    lo: int
    hi: int


# ---------------------------------------------------------------- the compiler
class VectorCompiler:
    """Compiles typed expressions and statements to functions over blocks of packed states."""

    def __init__(self, layout: StateLayout) -> None:
        self.layout = layout
        self.words = layout.width // 64 + 1

    # -- expressions
    def expr(self, e: M.Expr, env: Env) -> Compiled:
        return _EXPR[type(e)](self, e, env)

    def fn(self, e: M.Expr, env: Env) -> Fn:
        return _fn(self.expr(e, env))

    def predicate(self, e: M.Expr, env: Env | None = None) -> Callable[[Lanes], tuple[np.ndarray, np.ndarray]]:
        """A bool expression as a function giving (value, failures) as full-length bool arrays."""
        f = self.fn(e, env or {})

        def pred(L: Lanes) -> tuple[np.ndarray, np.ndarray]:
            v, err = f(L)
            v = np.broadcast_to(np.asarray(v, dtype=bool), (L.n,))
            return v, (np.zeros(L.n, bool) if err is None else err)
        return pred

    def _lit(self, e: M.Lit, env: Env) -> Compiled:
        _need(e.type, "a literal")
        return K(e.value)

    def _faults(self, e: M.Faults, env: Env) -> Compiled:
        counters = [(c.offset, c.width) for c in self.layout.counters]
        if not counters:
            return K(0)

        def faults(L: Lanes) -> tuple[Any, Err]:
            total: Any = 0
            for off, w in counters:
                total = total + read_code(L, off, w).view(I64)
            return total, None
        return faults

    def _budget(self, e: M.Budget, env: Env) -> Compiled:
        return K(self.layout.total_budget)

    def _bound(self, e: M.Bound, env: Env) -> Compiled:
        b = env[e.uid]
        if isinstance(b, K):
            return b
        return lambda L: (b.v, None)

    def place(self, e: M.Expr, env: Env) -> Place | None:
        """The place of a variable, element or field chain; None if it is not one."""
        match e:
            case M.VarRef(name=name):
                off = self.layout.slot[name].offset
                return Place(off, e.type, off, off)
            case M.Index(base=base, index=idx):
                p = self.place(base, env)
                if p is None:
                    return None
                bt = p.type
                assert isinstance(bt, MapT)
                wv = width(bt.value)
                k = self.expr(idx, env)
                if isinstance(k, K):
                    delta = ordinal(bt.key, k.v) * wv
                    return _moved(p, delta, e.type)
                klo = bt.key.lo if isinstance(bt.key, IntT) else 0
                last = domain_size(bt.key) - 1
                base_off, kf = p.off, k
                lo, hi = p.lo, p.hi + last * wv

                def offset(L: Lanes) -> tuple[Any, Err]:
                    kv, err = kf(L)
                    d = (np.asarray(kv, dtype=I64) - klo) * wv  # a failing index may be a plain 0
                    if isinstance(base_off, int):
                        o = d + base_off
                    else:
                        bo, berr = base_off(L)
                        o, err = d + bo, _or(berr, err)
                    return np.clip(o, lo, hi), err  # failing lanes may point anywhere
                return Place(offset, e.type, lo, hi)
            case M.Field(base=base, name=name):
                p = self.place(base, env)
                if p is None:
                    return None
                bt = p.type
                assert isinstance(bt, RecordT)
                return _moved(p, field_offset(bt, name), e.type)
        return None

    def _read(self, e: M.Expr, env: Env) -> Compiled:
        p = self.place(e, env)
        t = e.type
        if p is not None:
            _need(t, "a value read from the state")
            if isinstance(p.off, int):
                off = p.off
                return lambda L: (read_value(L, off, t), None)
            return self._read_at(p)
        # An element or field of a computed composite value.
        _need(t)
        lo = t.lo if isinstance(t, IntT) else 0
        m = _mask(width(t))
        is_bool = isinstance(t, BoolT)
        if isinstance(e, M.Index):
            bt = e.base.type
            assert isinstance(bt, MapT)
            wv = width(bt.value)
            klo = bt.key.lo if isinstance(bt.key, IntT) else 0
            base, idx = self.fn(e.base, env), self.fn(e.index, env)

            def element(L: Lanes) -> tuple[Any, Err]:
                bv, e1 = base(L)
                kv, e2 = idx(L)
                v = (np.right_shift(bv, _shift_amount((kv - klo) * wv).astype(I64)) if isinstance(kv, np.ndarray)
                     else bv >> ((int(kv) - klo) * wv)) & m
                return _leaf(v, lo, is_bool), _or(e1, e2)
            return element
        assert isinstance(e, M.Field)
        bt = e.base.type
        assert isinstance(bt, RecordT)
        off = field_offset(bt, e.name)
        base = self.fn(e.base, env)

        def field(L: Lanes) -> tuple[Any, Err]:
            bv, err = base(L)
            return _leaf((bv >> off) & m, lo, is_bool), err
        return field

    def _read_at(self, p: Place) -> Fn:
        """A read at a per-state offset: one variable shift when every possible offset lies in
        one word, a gather across words otherwise."""
        t = p.type
        w = width(t)
        lo = t.lo if isinstance(t, IntT) else 0
        is_bool = isinstance(t, BoolT)
        m = U64(_mask(w))
        offset = p.off
        assert not isinstance(offset, int)
        wi = p.lo // 64
        if (p.hi + w - 1) // 64 == wi:
            base = 64 * wi

            def read_in_word(L: Lanes) -> tuple[Any, Err]:
                o, err = offset(L)
                code = (L.words[wi] >> (o - base).astype(U64)) & m
                return _leaf(code.view(I64), lo, is_bool), err
            return read_in_word

        def read_across(L: Lanes) -> tuple[Any, Err]:
            o, err = offset(L)
            word = o >> 6
            b = (o & 63).astype(U64)
            lanes = np.arange(L.n)
            x = L.words[word, lanes] >> b
            nxt = np.minimum(word + 1, L.words.shape[0] - 1)
            spill = (b + U64(w)) > U64(64)
            high = L.words[nxt, lanes] << ((U64(64) - b) & U64(63))
            x = (x | np.where(spill, high, U64(0))) & m
            return _leaf(x.view(I64), lo, is_bool), err
        return read_across

    _var = _read
    _index = _read
    _field = _read

    def _unary(self, e: M.Unary, env: Env) -> Compiled:
        a = self.expr(e.arg, env)
        if e.op == "not":
            if isinstance(a, K):
                return K(not a.v)
            return lambda L: _map1(a, L, np.logical_not)
        _need(e.type)
        if e.op == "neg":
            if isinstance(a, K):
                return K(-a.v)
            return lambda L: _map1(a, L, np.negative)
        assert isinstance(e.type, BVT)
        m = _mask(e.type.width)
        if isinstance(a, K):
            return K(~a.v & m)
        return lambda L: _map1(a, L, lambda x: ~x & m)

    def _binary(self, e: M.Binary, env: Env) -> Compiled:
        op = e.op
        a, b = self.expr(e.left, env), self.expr(e.right, env)
        if op in ("and", "or", "implies"):
            return _logic(op, a, b)
        if not isinstance(e.type, BoolT):
            _need(e.type, f"the result of `{op}`")
        for side in (e.left, e.right):
            if not isinstance(side.type, BoolT):
                _need(side.type, f"an operand of `{op}`")
        if op == "member":
            et = e.right.type
            assert isinstance(et, SetT)
            lo = et.elem.lo if isinstance(et.elem, IntT) else 0
            n = domain_size(et.elem)
            if isinstance(a, K) and isinstance(b, K):
                k = a.v - lo
                return K(0 <= k < n and bool(b.v >> k & 1))
            if isinstance(a, K):
                k = a.v - lo
                if not 0 <= k < n:
                    bf = _fn(b)
                    return lambda L: (False, bf(L)[1])
                bf = _fn(b)

                def member_const(L: Lanes) -> tuple[Any, Err]:
                    bv, err = bf(L)
                    return (bv >> k) & 1 == 1, err
                return member_const
            af, bf = _fn(a), _fn(b)

            def member(L: Lanes) -> tuple[Any, Err]:
                av, e1 = af(L)
                bv, e2 = bf(L)
                k = av - lo
                inside = (k >= 0) & (k < n)
                return inside & ((np.right_shift(bv, np.clip(k, 0, 63)) & 1) == 1), _or(e1, e2)
            return member
        f = _binop(op, e.left.type)
        if isinstance(a, K) and isinstance(b, K):
            return K(_scalar_binop(op, e.left.type)(a.v, b.v))
        af, bf = _fn(a), _fn(b)

        def binary(L: Lanes) -> tuple[Any, Err]:
            av, e1 = af(L)
            bv, e2 = bf(L)
            return f(av, bv), _or(e1, e2)
        return binary

    def _ite(self, e: M.Ite, env: Env) -> Compiled:
        c = self.expr(e.cond, env)
        if isinstance(c, K):
            return self.expr(e.then if c.v else e.orelse, env)
        if not isinstance(e.type, BoolT):
            _need(e.type, "if-then-else")
        cf, af, bf = c, self.fn(e.then, env), self.fn(e.orelse, env)

        def ite(L: Lanes) -> tuple[Any, Err]:
            cv, ec = cf(L)
            av, ea = af(L)
            bv, eb = bf(L)
            return np.where(cv, av, bv), _or(ec, _or(_when(cv, ea), _when(~cv, eb)))
        return ite

    def _quant(self, e: M.Quant, env: Env) -> Compiled:
        dom = domain_values(e.var.type)
        if len(dom) > MAX_UNROLL:
            raise Unsupported(f"a quantifier over {len(dom)} values")
        if e.kind in ("count", "sum"):
            _need(e.type, e.kind)
        parts = [self.expr(e.body, {**env, e.var.uid: K(v)}) for v in dom]
        return _fold_quant(e.kind, parts)

    def _let(self, e: M.Let, env: Env) -> Compiled:
        v = self.expr(e.value, env)
        if isinstance(v, K):
            return self.expr(e.body, {**env, e.var.uid: v})
        if not isinstance(e.value.type, BoolT):
            _need(e.value.type, "a let value")
        box = Box()
        body = self.fn(e.body, {**env, e.var.uid: box})
        vf = v

        def let(L: Lanes) -> tuple[Any, Err]:
            box.v, e1 = vf(L)
            r, e2 = body(L)
            return r, _or(e1, e2)
        return let

    def _setlit(self, e: M.SetLit, env: Env) -> Compiled:
        st = e.type
        assert isinstance(st, SetT)
        _need(st, "a set")
        lo = st.elem.lo if isinstance(st.elem, IntT) else 0
        const, dyn = 0, []
        for x in e.elems:
            p = self.expr(x, env)
            if isinstance(p, K):
                const |= 1 << (p.v - lo)
            else:
                dyn.append(p)
        if not dyn:
            return K(const)

        def setlit(L: Lanes) -> tuple[Any, Err]:
            v: Any = const
            err = None
            for f in dyn:
                x, e1 = f(L)
                v = v | np.left_shift(I64(1), np.clip(x - lo, 0, 62))
                err = _or(err, e1)
            return v, err
        return setlit

    def _recordlit(self, e: M.RecordLit, env: Env) -> Compiled:
        rt = e.type
        assert isinstance(rt, RecordT)
        _need(rt, "a record")
        items, off = [], 0
        for (_, ft), x in zip(rt.fields, e.fields, strict=True):
            items.append((self.expr(x, env), off, ft.lo if isinstance(ft, IntT) else 0))
            off += width(ft)
        return _pack(items)

    def _maplit(self, e: M.MapLit, env: Env) -> Compiled:
        mt = e.type
        assert isinstance(mt, MapT)
        _need(mt, "a map")
        wv = width(mt.value)
        lo = mt.value.lo if isinstance(mt.value, IntT) else 0
        items = [(self.expr(e.body, {**env, e.var.uid: K(k)}), i * wv, lo)
                 for i, k in enumerate(domain_values(mt.key))]
        return _pack(items)

    def _builtin(self, e: M.Builtin, env: Env) -> Compiled:
        for a in e.args:
            if not isinstance(a.type, BoolT):
                _need(a.type, f"an argument of {e.name}")
        _need(e.type, f"the result of {e.name}")
        args = [self.expr(a, env) for a in e.args]
        if all(isinstance(a, K) for a in args):
            return self._builtin_const(e, args)  # type: ignore[arg-type]
        f = self._builtin_fn(e)
        fs = [_fn(a) for a in args]

        def builtin(L: Lanes) -> tuple[Any, Err]:
            vals, err = [], None
            for g in fs:
                v, e1 = g(L)
                vals.append(v)
                err = _or(err, e1)
            v, e2 = f(L, *vals)
            return v, _or(err, e2)
        return builtin

    def _builtin_const(self, e: M.Builtin, args: list[K]) -> Compiled:
        # The interpreter's own meaning, at compile time (its errors become run-time failures).
        from ftverify.spec.compile import _C as Const
        from ftverify.spec.compile import Compiler, EvalError

        try:
            c = Compiler(self.layout)._builtin(M.Builtin(e.span, e.type, e.name, tuple(
                M.Lit(a.span, a.type, int(k.v)) for a, k in zip(e.args, args, strict=True))), {})
            v = c.v if isinstance(c, Const) else c(0)
        except EvalError:
            return lambda L: (0, np.ones(L.n, bool))
        return K(int(v))

    def _builtin_fn(self, e: M.Builtin) -> Callable[..., tuple[Any, Err]]:
        name = e.name
        if name in ("len", "head", "push", "pop"):
            qt = e.args[0].type
            assert isinstance(qt, QueueT)
            lw, ew, cap = queue_len_width(qt), width(qt.elem), qt.capacity
            lmask, emask = _mask(lw), _mask(ew)
            elo = qt.elem.lo if isinstance(qt.elem, IntT) else 0
            is_bool = isinstance(qt.elem, BoolT)
            if name == "len":
                return lambda L, q: (q & lmask, None)
            if name == "head":
                return lambda L, q: (_leaf((q >> lw) & emask, elo, is_bool), _full(L, q & lmask == 0))
            if name == "pop":
                def pop(L: Lanes, q: Any) -> tuple[Any, Err]:
                    n = q & lmask
                    return ((q >> (lw + ew)) << lw) | (n - 1), _full(L, n == 0)
                return pop

            def push(L: Lanes, q: Any, x: Any) -> tuple[Any, Err]:
                n = q & lmask
                code = _as_code(np.asarray(x), elo) if isinstance(x, np.ndarray) else int(x) - elo
                code = np.asarray(code).astype(I64)
                at = _shift_amount(lw + n * ew).astype(I64)
                return (q | np.left_shift(code, at)) + 1, _full(L, n >= cap)
            return push
        if name == "size":
            return lambda L, x: (_popcount(x), None)
        if name == "min":
            return lambda L, a, b: (np.minimum(a, b), None)
        if name == "max":
            return lambda L, a, b: (np.maximum(a, b), None)
        if name == "abs":
            return lambda L, a: (np.abs(a), None)
        if name in ("to_int", "ord"):
            return lambda L, a: (a, None)
        if name == "to_bv":
            assert isinstance(e.type, BVT)
            m = _mask(e.type.width)
            return lambda L, a: (a & m, None)
        raise AssertionError(f"unknown builtin {name}")

    def _narrow(self, e: M.Narrow, env: Env) -> Compiled:
        return self.expr(e.arg, env)

    def _check(self, e: M.Check, env: Env) -> Compiled:
        a = self.expr(e.arg, env)
        t = e.type
        assert isinstance(t, IntT)
        lo, hi = t.lo, t.hi
        if isinstance(a, K):
            if not lo <= a.v <= hi:
                return lambda L: (0, np.ones(L.n, bool))
            return a
        _need(e.arg.type, "a checked value")
        af = a

        def check(L: Lanes) -> tuple[Any, Err]:
            v, err = af(L)
            return v, _or(err, _full(L, (v < lo) | (v > hi)))
        return check

    # -- statements
    def stmts(self, stmts: Sequence[M.Stmt], env: Env) -> StmtFn | None:
        return _sequence([self.stmt(x, env) for x in stmts])

    def stmt(self, x: M.Stmt, env: Env) -> StmtFn | None:
        match x:
            case M.Assign(target=target, value=value):
                return self._assign(target, value, env)
            case M.IfStmt(cond=cond, then=then, orelse=orelse):
                c = self.expr(cond, env)
                if isinstance(c, K):
                    return self.stmts(then if c.v else orelse, env)
                a, b = self.stmts(then, env), self.stmts(orelse, env)
                cf = c

                def if_stmt(L: Lanes, t: list[np.ndarray]) -> Err:
                    cv, err = cf(L)
                    cv = np.broadcast_to(cv, (L.n,))
                    t1, t2 = list(t), list(t)
                    e1 = a(L, t1) if a is not None else None
                    e2 = b(L, t2) if b is not None else None
                    for w in range(len(t)):
                        if t1[w] is not t2[w]:
                            t[w] = np.where(cv, t1[w], t2[w])
                        else:
                            t[w] = t1[w]
                    return _or(err, _or(_when(cv, e1), _when(~cv, e2)))
                return if_stmt
            case M.ForallStmt(var=var, body=body):
                dom = domain_values(var.type)
                if len(dom) > MAX_UNROLL:
                    raise Unsupported(f"a forall statement over {len(dom)} values")
                return _sequence([self.stmts(body, {**env, var.uid: K(v)}) for v in dom])
            case M.LetStmt(var=var, value=value, body=body):
                v = self.expr(value, env)
                if isinstance(v, K):
                    return self.stmts(body, {**env, var.uid: v})
                if not isinstance(value.type, BoolT):
                    _need(value.type, "a let value")
                box = Box()
                bf = self.stmts(body, {**env, var.uid: box})
                vf = v

                def let(L: Lanes, t: list[np.ndarray]) -> Err:
                    box.v, err = vf(L)
                    return _or(err, bf(L, t) if bf is not None else None)
                return let
        raise AssertionError(f"unknown statement {x}")

    def _assign(self, target: M.Expr, value: M.Expr, env: Env) -> StmtFn:
        p = self.place(target, env)
        assert p is not None, "the type checker only accepts state-variable paths as targets"
        t = p.type
        _need(t, "an assigned value")
        w = width(t)
        lo = t.lo if isinstance(t, IntT) else 0
        v = self.expr(value, env)
        if isinstance(p.off, int):
            off = p.off
            if isinstance(v, K):
                code = int(v.v) - lo

                def assign_const(L: Lanes, words: list[np.ndarray]) -> Err:
                    write_code(words, off, w, code)
                    return None
                return assign_const
            vf = v

            def assign(L: Lanes, words: list[np.ndarray]) -> Err:
                val, err = vf(L)
                write_code(words, off, w, _as_code(_full_values(L, val), lo))
                return err
            return assign
        offset, vf2 = p.off, _fn(v)
        wi = p.lo // 64
        if (p.hi + w - 1) // 64 == wi:
            base, m = 64 * wi, U64(_mask(w))

            def assign_in_word(L: Lanes, words: list[np.ndarray]) -> Err:
                o, e1 = offset(L)
                val, e2 = vf2(L)
                sh = (o - base).astype(U64)
                code = _as_code(_full_values(L, val), lo)
                words[wi] = (words[wi] & ~(m << sh)) | (U64(code) << sh if not isinstance(code, np.ndarray)
                                                        else code << sh)
                return _or(e1, e2)
            return assign_in_word
        stride = width(p.type)
        offsets = range(p.lo, p.hi + 1, max(stride, 1)) if stride else [p.lo]

        def assign_across(L: Lanes, words: list[np.ndarray]) -> Err:
            o, e1 = offset(L)
            val, e2 = vf2(L)
            code = _as_code(_full_values(L, val), lo)
            for at in offsets:  # one candidate place at a time
                hit = o == at
                moved = list(words)
                write_code(moved, at, w, code)
                for i in range(len(words)):
                    if moved[i] is not words[i]:
                        words[i] = np.where(hit, moved[i], words[i])
            return _or(e1, e2)
        return assign_across


def _sequence(parts: list[StmtFn | None]) -> StmtFn | None:
    """Statements one after the other (each reads the pre-state, writes the successor)."""
    fs = [f for f in parts if f is not None]
    if not fs:
        return None
    if len(fs) == 1:
        return fs[0]

    def seq(L: Lanes, t: list[np.ndarray]) -> Err:
        err = None
        for f in fs:
            err = _or(err, f(L, t))
        return err
    return seq


def _moved(p: Place, delta: int, t: Type) -> Place:
    if isinstance(p.off, int):
        return Place(p.off + delta, t, p.off + delta, p.off + delta)
    f = p.off

    def offset(L: Lanes) -> tuple[Any, Err]:
        o, err = f(L)
        return o + delta, err
    return Place(offset, t, p.lo + delta, p.hi + delta)


def _leaf(code: Any, lo: int, is_bool: bool) -> Any:
    if is_bool:
        return code != 0
    return code + lo if lo else code


def _full(L: Lanes, mask: Any) -> np.ndarray:
    return np.broadcast_to(np.asarray(mask, dtype=bool), (L.n,))


def _full_values(L: Lanes, v: Any) -> Any:
    if isinstance(v, np.ndarray) and v.shape != (L.n,):
        return np.broadcast_to(v, (L.n,)).copy()
    if isinstance(v, np.bool_ | bool):
        return int(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def _map1(a: Fn, L: Lanes, f: Callable[[Any], Any]) -> tuple[Any, Err]:
    v, err = a(L)
    return f(v), err


def _popcount(x: Any) -> Any:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x).astype(I64)
    x = np.asarray(x).view(U64) if isinstance(x, np.ndarray) else U64(x)
    x = x - ((x >> U64(1)) & U64(0x5555555555555555))
    x = (x & U64(0x3333333333333333)) + ((x >> U64(2)) & U64(0x3333333333333333))
    x = (x + (x >> U64(4))) & U64(0x0F0F0F0F0F0F0F0F)
    return ((x * U64(0x0101010101010101)) >> U64(56)).astype(I64)


def _logic(op: str, a: Compiled, b: Compiled) -> Compiled:
    """Short-circuit connectives: b's failures count only where b is evaluated."""
    if isinstance(a, K):
        if op == "and":
            return b if a.v else K(False)
        if op == "or":
            return K(True) if a.v else b
        return b if a.v else K(True)
    # Operands as booleans: `&` of a 0/1 integer read and a constant keeps integers, on which
    # `~` is not negation (~1 == -2, still true)
    af, bf = _as_bool(a), _as_bool(_fn(b))
    if op == "and":
        def conj(L: Lanes) -> tuple[Any, Err]:
            av, e1 = af(L)
            bv, e2 = bf(L)
            return av & bv, _or(e1, _when(av, e2))
        return conj
    if op == "or":
        def disj(L: Lanes) -> tuple[Any, Err]:
            av, e1 = af(L)
            bv, e2 = bf(L)
            return av | bv, _or(e1, _when(~av, e2))
        return disj

    def implies(L: Lanes) -> tuple[Any, Err]:
        av, e1 = af(L)
        bv, e2 = bf(L)
        return ~av | bv, _or(e1, _when(av, e2))
    return implies


def _as_bool(f: Callable[[Lanes], tuple[Any, Err]]) -> Callable[[Lanes], tuple[Any, Err]]:
    def boolean(L: Lanes) -> tuple[Any, Err]:
        v, err = f(L)
        return np.asarray(v, dtype=bool), err
    return boolean


def _scalar_binop(op: str, t: Type) -> Callable[[Any, Any], Any]:
    from ftverify.spec.compile import _binop as scalar

    return scalar(op, t, t)


def _binop(op: str, t: Type) -> Callable[[Any, Any], Any]:
    """The meaning of a binary operator on int64 (or bool) arrays: the interpreter's own, except
    where its Python form does not apply to arrays (truth of an array, a shift by 64 or more)."""
    if op == "iff":
        return lambda x, y: np.asarray(x, dtype=bool) == np.asarray(y, dtype=bool)
    if op == "bvshl":
        assert isinstance(t, BVT)
        m, w = _mask(t.width), t.width
        return lambda x, y: np.where(np.asarray(y) < w, np.left_shift(x, np.clip(y, 0, 63)) & m, 0)
    if op == "bvlshr":
        return lambda x, y: np.right_shift(x, np.clip(y, 0, 63))
    return _scalar_binop(op, t)


def _fold_quant(kind: str, parts: list[Compiled]) -> Compiled:
    """Unrolled instances combined in domain order, failures counted where the interpreter
    would still be evaluating (it stops at the first part that decides the quantifier)."""
    if kind in ("forall", "exists"):
        absorbing = kind == "exists"
        fs: list[Fn] = []
        for p in parts:
            if isinstance(p, K):
                if bool(p.v) == absorbing:
                    if not fs:
                        return K(absorbing)
                    decided = absorbing
                    fs.append(lambda L, v=decided: (v, None))
                    break
                continue
            fs.append(p)
        if not fs:
            return K(not absorbing)
        if len(fs) == 1:
            return fs[0]

        def quant(L: Lanes) -> tuple[Any, Err]:
            acc: Any = not absorbing
            err = None
            going: Any = True  # lanes not yet decided
            for f in fs:
                v, e = f(L)
                if e is not None:
                    err = _or(err, e if going is True else going & e)
                if absorbing:
                    acc = acc | v
                    going = ~acc
                else:
                    acc = acc & v
                    going = acc
            return acc, err
        return quant
    const = 0
    dyn: list[Fn] = []
    for p in parts:
        if isinstance(p, K):
            const += int(p.v)
        else:
            dyn.append(p)
    if not dyn:
        return K(const)

    def total(L: Lanes) -> tuple[Any, Err]:
        n: Any = const
        err = None
        for f in dyn:
            v, e = f(L)
            n = n + (v.astype(I64) if isinstance(v, np.ndarray) and v.dtype == np.bool_ else v)
            err = _or(err, e)
        return n, err
    return total


def _pack(items: list[tuple[Compiled, int, int]]) -> Compiled:
    const = 0
    dyn: list[tuple[Fn, int, int]] = []
    for c, off, lo in items:
        if isinstance(c, K):
            const |= (int(c.v) - lo) << off
        else:
            dyn.append((c, off, lo))
    if not dyn:
        return K(const)

    def pack(L: Lanes) -> tuple[Any, Err]:
        v: Any = const
        err = None
        for f, off, lo in dyn:
            x, e = f(L)
            x = x.astype(I64) if isinstance(x, np.ndarray) and x.dtype == np.bool_ else x
            v = v | ((x - lo) << off)
            err = _or(err, e)
        return v, err
    return pack


_EXPR: dict[type, Callable[[VectorCompiler, Any, Env], Compiled]] = {
    M.Lit: VectorCompiler._lit,
    M.VarRef: VectorCompiler._var,
    M.Bound: VectorCompiler._bound,
    M.Index: VectorCompiler._index,
    M.Field: VectorCompiler._field,
    M.Unary: VectorCompiler._unary,
    M.Binary: VectorCompiler._binary,
    M.Ite: VectorCompiler._ite,
    M.Quant: VectorCompiler._quant,
    M.Let: VectorCompiler._let,
    M.SetLit: VectorCompiler._setlit,
    M.RecordLit: VectorCompiler._recordlit,
    M.MapLit: VectorCompiler._maplit,
    M.Builtin: VectorCompiler._builtin,
    M.Faults: VectorCompiler._faults,
    M.Budget: VectorCompiler._budget,
    M.Check: VectorCompiler._check,
    M.Narrow: VectorCompiler._narrow,
}


# ---------------------------------------------------------------- the model's instances
@dataclass
class VectorInstance:
    """One ground action instance of the interpreter's list, over blocks of states."""

    index: int
    is_fault: bool
    guard: Callable[[Lanes], tuple[np.ndarray, np.ndarray]]  # (enabled, failing), full-length
    apply: Callable[[Lanes], tuple[list[np.ndarray], Err]]


class VectorModel:
    """Every instance, invariant and `reachable` of an interpreter's model, vectorised.

    Built from the interpreter so that instance i here is instance i there (same
    parameters, same fault budget, same order). Raises Unsupported when the model
    needs what the compiler cannot do.
    """

    def __init__(self, interp: Interpreter) -> None:
        self.interp = interp
        layout = interp.layout
        self.layout = layout
        self.words = layout.width // 64 + 1
        c = VectorCompiler(layout)
        self.compiler = c
        self.instances: list[VectorInstance] = []
        for i, inst in enumerate(interp.instances):
            a = inst.action
            env: Env = {p.uid: K(v) for p, v in zip(a.params, inst.values, strict=True)}
            counter = layout.counter_of.get(a.name)
            guard = _guard(c, a.guard, env, counter)
            body = c.stmts(a.body, env)
            inc = counter.offset if counter is not None else None
            self.instances.append(VectorInstance(i, inst.label.is_fault, guard, _apply(body, inc)))
        # The scalar search's order of steps: non-fault instances first.
        self.ordered = [v for v in self.instances if not v.is_fault] + [v for v in self.instances if v.is_fault]
        self.properties = {p.name: c.predicate(p.pred) for p in interp.model.properties
                           if p.kind in ("invariant", "reachable")}
        self.lefts = {p.name: c.predicate(p.pred.left) for p in interp.model.invariants()
                      if isinstance(p.pred, M.Binary) and p.pred.op == "implies"}


def _guard(c: VectorCompiler, guard: M.Expr, env: Env, counter: Any) -> Callable[[Lanes], tuple[np.ndarray,
                                                                                               np.ndarray]]:
    g = c.expr(guard, env)
    gf = None if isinstance(g, K) else g
    const = bool(g.v) if isinstance(g, K) else True

    def enabled(L: Lanes) -> tuple[np.ndarray, np.ndarray]:
        if gf is None:
            v, err = np.full(L.n, const), None
        else:
            v, err = gf(L)
            v = np.broadcast_to(np.asarray(v, dtype=bool), (L.n,))
        if counter is not None:  # the budget is tested first: the guard is not evaluated past it
            room = read_code(L, counter.offset, counter.width) < U64(counter.cap)
            v = v & room
            err = None if err is None else err & room
        if err is None:
            return v, np.zeros(L.n, bool)
        return v & ~err, np.broadcast_to(err, (L.n,))
    return enabled


def _apply(body: StmtFn | None, inc_at: int | None) -> Callable[[Lanes], tuple[list[np.ndarray], Err]]:
    def apply(L: Lanes) -> tuple[list[np.ndarray], Err]:
        t = list(L.words)
        err = body(L, t) if body is not None else None
        if inc_at is not None:  # one more fault on this counter (never past its width: the guard saw room)
            wi, b = divmod(inc_at, 64)
            old = t[wi]
            t[wi] = old + U64(1 << b)
            if wi + 1 < len(t):
                t[wi + 1] = t[wi + 1] + (t[wi] < old).astype(U64)
        return t, err
    return apply
