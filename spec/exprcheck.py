"""Typing expressions: each syntactic expression becomes a typed one of the model.

`_expr(e, scope, expected)` types e bidirectionally, using `expected` only to give
literals their type (`3` as a `bv[4]`, `{}` as a `set[Replica]`). Integer
expressions are typed by the interval their values lie in. The declarations
(names, `def`s, constants) come from the `Checker` this class is a part of.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ftverify.spec import model as M
from ftverify.spec import syntax as S
from ftverify.spec.errors import Span, SpecError
from ftverify.spec.scope import Scope
from ftverify.spec.scope import narrowed as _narrowed
from ftverify.spec.types import (
    BOOL,
    BVT,
    MAX_SET_DOMAIN,
    BoolT,
    EnumT,
    IntT,
    Keyed,
    KeyT,
    MapT,
    QueueT,
    RecordT,
    SetKeyT,
    SetT,
    Type,
    decode_scalar,
    domain_size,
    domain_values,
    format_value,
    is_tuple,
    key_fields,
)

MAX_BV_WIDTH = 64
BUILTIN_ARITY = {
    "len": 1, "head": 1, "push": 2, "pop": 1, "size": 1, "min": 2, "max": 2, "abs": 1, "int": 1, "ord": 1,
}
# A comprehension is unrolled over its variable's values.
MAX_COMPREHENSION = 256




def describe(t: Type) -> str:
    """A type as an error message names it."""
    if isinstance(t, Keyed):
        return f"a record {t}" if isinstance(t, KeyT) else str(t)
    if isinstance(t, IntT):
        return "an integer" if t.lo == t.hi else f"an integer in {t.lo}..{t.hi}"
    return str(t)


def _suggest(name: str, candidates: list[str]) -> str | None:
    import difflib  # only for a misspelt name (start-up)

    close = difflib.get_close_matches(name, candidates, n=3)
    return f"did you mean {', '.join(close)}?" if close else None


def _not_int(t: Type) -> bool:
    """A type that an operand passes on to a literal beside it (an integer's interval does not)."""
    return not isinstance(t, IntT) or isinstance(t, Keyed)


def _is_const_int(e: M.Expr) -> bool:
    return isinstance(e, M.Lit) and isinstance(e.type, IntT)


class ExprChecker:
    """The expression half of `typecheck.Checker`."""

    def _bool(self, e: S.Expr, scope: Scope, what: str) -> M.Expr:
        ir = self._expr(e, scope, BOOL)
        if not isinstance(ir.type, BoolT):
            raise SpecError(e.span, f"{what} must be a boolean", hint=f"found {describe(ir.type)}")
        return ir

    def _expr(self, e: S.Expr, scope: Scope, expected: Type | None) -> M.Expr:
        if isinstance(expected, SetKeyT):  # a set is written as a set; `_coerce` makes it the key
            expected = SetT(expected.elem)
        method: Callable[[Any, Scope, Type | None], M.Expr] = getattr(self, "_x_" + type(e).__name__)
        return method(e, scope, expected)

    def _x_IntLit(self, e: S.IntLit, scope: Scope, expected: Type | None) -> M.Expr:
        if isinstance(expected, BVT):
            return self._int_to_bv(M.int_lit(e.span, e.value), expected, e.span)
        return M.int_lit(e.span, e.value)

    def _x_BoolLit(self, e: S.BoolLit, scope: Scope, expected: Type | None) -> M.Expr:
        return M.Lit(e.span, BOOL, int(e.value))

    def _x_Name(self, e: S.Name, scope: Scope, expected: Type | None) -> M.Expr:
        if e.name in scope.bound:
            b = scope.bound[e.name]
            if isinstance(b.type, SetKeyT):  # a set-valued parameter or bound is read as a set
                return self._key_as_set(M.Bound(e.span, b.type, b.name, b.uid))
            return M.Bound(e.span, b.type, b.name, b.uid)
        d = self.decls.get(e.name)
        if d is not None:
            if d.kind == "const":
                c = self._const(e.name)
                if isinstance(expected, BVT) and isinstance(c.type, IntT):
                    return self._int_to_bv(M.Lit(e.span, c.type, c.value), expected, e.span)
                return M.Lit(e.span, c.type, c.value)
            if d.kind == "member":
                owners = self.member_of[e.name]  # type: ignore[attr-defined]
                if len(owners) > 1:
                    if not (isinstance(expected, EnumT) and expected.name in owners):
                        raise SpecError(e.span, f"`{e.name}` is a member of {' and '.join(owners)}: which one?",
                                        hint=f"write {' or '.join(f'{o}.{e.name}' for o in owners)}")
                    owners = [expected.name]
                return self._member(owners[0], e.name, e.span)
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

    def _x_Unary(self, e: S.Unary, scope: Scope, expected: Type | None) -> M.Expr:
        if e.op == "!":
            a = self._bool(e.arg, scope, "the operand of !")
            return self._fold(M.Unary(e.span, BOOL, "not", a))
        a = self._expr(e.arg, scope, expected if e.op != "!" else None)
        self._no_key(a, e.span, f"`{e.op}`")
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

    def _x_Binary(self, e: S.Binary, scope: Scope, expected: Type | None) -> M.Expr:
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
            if isinstance(s.type.elem, Keyed):  # a record value as the key the set holds
                x = self._coerce(x, s.type.elem, e.left.span, "a set element")
            return self._fold(M.Binary(e.span, BOOL, "member", x, s))
        if op in ("<<", ">>"):  # the amount is an integer or a bit-vector of its own, not of the left's type
            a, b = self._expr(e.left, scope, expected), self._expr(e.right, scope, None)
            if _is_const_int(a) and isinstance(b.type, BVT):  # `1 << w`: a bit-vector of w's width
                a = self._int_to_bv(a, b.type, e.left.span)
            return self._shift(e, a, b)
        a, b = self._pair(e.left, e.right, scope, expected if op not in ("==", "!=", "<", "<=", ">", ">=") else None)
        a, b = self._keys_alike(a, b)
        ta, tb = a.type, b.type
        if op not in ("==", "!="):
            self._no_key(a, e.left.span, f"`{op}`")
            self._no_key(b, e.right.span, f"`{op}`")
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

    def _pair(self, left: S.Expr, right: S.Expr, scope: Scope, expected: Type | None) -> tuple[M.Expr, M.Expr]:
        """Type two operands; a literal on one side takes the type of the other side."""
        literalish = (S.IntLit, S.SetLit, S.RecordLit, S.MapLit, S.MapTable, S.EmptyQueue)
        if (isinstance(left, literalish) or self._shared_member(left, scope)) and not isinstance(right, literalish):
            b = self._expr(right, scope, expected)
            a = self._expr(left, scope, b.type if _not_int(b.type) else expected)
        else:
            a = self._expr(left, scope, expected)
            b = self._expr(right, scope, a.type if _not_int(a.type) else expected)
        if isinstance(a.type, BVT) and _is_const_int(b):
            b = self._int_to_bv(b, a.type, right.span)
        if isinstance(b.type, BVT) and _is_const_int(a):
            a = self._int_to_bv(a, b.type, left.span)
        return a, b

    def _same(self, a: M.Expr, b: M.Expr, e: S.Binary) -> None:
        if isinstance(a.type, IntT) and isinstance(b.type, IntT) and not isinstance(a.type, Keyed) \
                and not isinstance(b.type, Keyed):
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
        if isinstance(b.type, IntT) and b.type.hi < 0:
            raise SpecError(e.right.span, "a shift amount must not be negative",
                            hint=f"this one lies in {b.type.lo}..{b.type.hi}")
        if isinstance(b.type, IntT) and b.type.lo < 0:  # it may be: checked when the step is taken
            b = M.Check(b.span, IntT(0, b.type.hi), b, "shift amount")
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

    def _x_Index(self, e: S.Index, scope: Scope, expected: Type | None) -> M.Expr:
        base = self._expr(e.base, scope, None)
        record = base.type.record if isinstance(base.type, KeyT) else base.type
        if isinstance(record, RecordT) and is_tuple([n for n, _ in record.fields]):  # `t[2]`: a field
            n = len(record.fields)
            if not (isinstance(e.index, S.IntLit) and 1 <= e.index.value <= n):
                raise SpecError(e.index.span, f"a tuple of {n} is indexed by a number 1..{n}")
            return self._x_Field(S.Field(e.span, e.base, str(e.index.value)), scope, expected)
        if not isinstance(base.type, MapT):
            raise SpecError(e.base.span, "only a map can be indexed", hint=f"this is {describe(base.type)}")
        kt = base.type.key
        idx = self._expr(e.index, scope, kt)
        idx = self._coerce(idx, kt, e.index.span, f"index of {_text(e.base)}")
        return _narrowed(M.Index(e.span, base.type.value, base, idx), scope)

    # ------------------------------------------------------------ records as keys
    # A record where a scalar is needed is its index (`types.KeyT`): field reads and record
    # literals become arithmetic on it here, so that no engine needs to know about it.
    def _key_field(self, key: M.Expr, ft: Type, radix: int, size: int, span: Span) -> M.Expr:
        """Field of a key: (index // radix) % size, as a value of the field's type."""
        assert isinstance(key.type, IntT)
        o = key
        if radix > 1:
            o = M.Binary(span, IntT(0, key.type.hi // radix), "div", o, M.int_lit(span, radix))
        assert isinstance(o.type, IntT)
        if o.type.hi >= size:
            o = M.Binary(span, IntT(0, size - 1), "mod", o, M.int_lit(span, size))
        match ft:
            case BoolT():
                out: M.Expr = M.Binary(span, BOOL, "eq", o, M.int_lit(span, 1))
            case EnumT(members=ms):
                out = M.Lit(span, ft, len(ms) - 1)
                for i in reversed(range(len(ms) - 1)):
                    out = M.Ite(span, ft, M.Binary(span, BOOL, "eq", o, M.int_lit(span, i)), M.Lit(span, ft, i), out)
            case BVT():
                out = M.Builtin(span, ft, "to_bv", (o,))
            case _:
                assert isinstance(ft, IntT)
                out = M.Binary(span, ft, "add", o, M.int_lit(span, ft.lo)) if ft.lo else M.Narrow(span, ft, o)
        return self._fold(out)

    def _key_of(self, kt: KeyT, values: list[M.Expr], span: Span) -> M.Expr:
        """The index of the record whose fields are `values` (each already of its field's type)."""
        total: M.Expr | None = None
        for v, (_, ft, r, size) in zip(values, key_fields(kt), strict=True):
            match ft:
                case BoolT():
                    o: M.Expr = M.Ite(span, IntT(0, 1), v, M.int_lit(span, 1), M.int_lit(span, 0))
                case EnumT():
                    o = M.Builtin(span, IntT(0, size - 1), "ord", (v,))
                case BVT():
                    o = M.Builtin(span, IntT(0, size - 1), "to_int", (v,))
                case _:
                    assert isinstance(ft, IntT) and isinstance(v.type, IntT)
                    o = M.Binary(span, IntT(v.type.lo - ft.lo, v.type.hi - ft.lo), "sub", v, M.int_lit(span, ft.lo)) \
                        if ft.lo else v
            assert isinstance(o.type, IntT)
            if r > 1:
                o = M.Binary(span, IntT(o.type.lo * r, o.type.hi * r), "mul", o, M.int_lit(span, r))
            if total is None:
                total = o
            else:
                assert isinstance(total.type, IntT) and isinstance(o.type, IntT)
                total = M.Binary(span, IntT(total.type.lo + o.type.lo, total.type.hi + o.type.hi), "add", total, o)
        assert total is not None
        return self._fold(M.Narrow(span, kt, self._fold(total)))

    def _as_key(self, e: M.Expr, kt: KeyT) -> M.Expr:
        """A record value (packed) as a key."""
        fields = [self._fold(M.Field(e.span, ft, e, n)) for n, ft in kt.record.fields]
        return self._key_of(kt, fields, e.span)

    def _as_record(self, e: M.Expr, rt: RecordT) -> M.Expr:
        """A key as a record value (packed)."""
        assert isinstance(e.type, KeyT)
        return self._fold(M.RecordLit(e.span, rt, tuple(self._key_field(e, ft, r, size, e.span)
                                                          for _, ft, r, size in key_fields(e.type))))

    def _set_as_key(self, e: M.Expr, kt: SetKeyT) -> M.Expr:
        """A set's bit mask: the sum of 2^i over its members i."""
        total: M.Expr = M.int_lit(e.span, 0)
        for i, v in enumerate(domain_values(kt.elem)):
            bit = M.Ite(e.span, IntT(0, 1 << i), M.Binary(e.span, BOOL, "member", M.Lit(e.span, kt.elem, v), e),
                        M.int_lit(e.span, 1 << i), M.int_lit(e.span, 0))
            assert isinstance(total.type, IntT)
            total = M.Binary(e.span, IntT(0, total.type.hi + (1 << i)), "add", total, bit)
        return self._fold(M.Narrow(e.span, kt, self._fold(total)))

    def _key_as_set(self, k: M.Expr) -> M.Expr:
        """The set whose bit mask is k."""
        kt = k.type
        assert isinstance(kt, SetKeyT)
        st = SetT(kt.elem)
        out: M.Expr = M.SetLit(k.span, st, ())
        for i, v in enumerate(domain_values(kt.elem)):
            o = M.Binary(k.span, IntT(0, kt.hi >> i), "div", k, M.int_lit(k.span, 1 << i)) if i else k
            bit = M.Binary(k.span, IntT(0, 1), "mod", o, M.int_lit(k.span, 2))
            one = M.Ite(k.span, st, M.Binary(k.span, BOOL, "eq", bit, M.int_lit(k.span, 1)),
                        M.SetLit(k.span, st, (M.Lit(k.span, kt.elem, v),)), M.SetLit(k.span, st, ()))
            out = one if i == 0 else M.Binary(k.span, st, "union", out, one)
        return self._fold(out)

    def _keys_alike(self, a: M.Expr, b: M.Expr) -> tuple[M.Expr, M.Expr]:
        """Two operands of which one is a key and the other the same record packed: both keys."""
        if isinstance(a.type, KeyT) and isinstance(b.type, RecordT) and b.type == a.type.record:
            return a, self._as_key(b, a.type)
        if isinstance(b.type, KeyT) and isinstance(a.type, RecordT) and a.type == b.type.record:
            return self._as_key(a, b.type), b
        return a, b

    def _no_key(self, e: M.Expr, span: Span, what: str) -> None:
        if isinstance(e.type, Keyed):
            raise SpecError(span, f"{what} does not apply to a record", hint=f"this is {describe(e.type)}")

    def _shared_member(self, e: S.Expr, scope: Scope) -> bool:
        """A member name that several enums declare: its type comes from the other operand."""
        return isinstance(e, S.Name) and e.name not in scope.bound \
            and len(self.member_of.get(e.name, ())) > 1  # type: ignore[attr-defined]

    def _member(self, enum: str, member: str, span: Span) -> M.Lit:
        if self.decls[enum].node.symmetric:  # type: ignore[attr-defined]
            raise SpecError(span, f"`{member}` is a member of the symmetric enum {enum}: a symmetric spec never "
                            "names one", hint=f"range over {enum} (forall, exists, parameters), or drop `symmetric`")
        t = self._named_type(enum, span)  # type: ignore[attr-defined]
        assert isinstance(t, EnumT)
        return M.Lit(span, t, t.members.index(member))

    def _x_Field(self, e: S.Field, scope: Scope, expected: Type | None) -> M.Expr:
        if isinstance(e.base, S.Name) and e.base.name not in scope.bound:
            d = self.decls.get(e.base.name)
            if d is not None and d.kind == "enum":  # a qualified member: `RMState.committed`
                if e.base.name not in self.member_of.get(e.name, []):
                    t = self._named_type(e.base.name, e.base.span)  # type: ignore[attr-defined]
                    raise SpecError(e.span, f"enum {e.base.name} has no member `{e.name}`",
                                    hint=f"its members: {', '.join(t.members)}")
                return self._member(e.base.name, e.name, e.span)
        base = self._expr(e.base, scope, None)
        if isinstance(base.type, KeyT):  # arithmetic on the record's index
            for n, ft, r, size in key_fields(base.type):
                if n == e.name:
                    return self._key_field(base, ft, r, size, e.span)
        record = base.type.record if isinstance(base.type, KeyT) else base.type
        if not isinstance(record, RecordT):
            raise SpecError(e.span, f"`.{e.name}`: only a record has fields", hint=f"this is {describe(base.type)}")
        ft = record.field_type(e.name)
        if ft is None or isinstance(base.type, KeyT):
            names = [n for n, _ in record.fields]
            raise SpecError(e.span, f"record has no field `{e.name}`", hint=f"its fields: {', '.join(names)}")
        return _narrowed(M.Field(e.span, ft, base, e.name), scope)

    def _x_Ite(self, e: S.Ite, scope: Scope, expected: Type | None) -> M.Expr:
        c = self._bool(e.cond, scope, "the condition of if-then-else")
        a = self._expr(e.then, scope.assuming(c), expected)
        b = self._expr(e.orelse, scope.assuming(c, holds=False), a.type if _not_int(a.type) else expected)
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

    def _binding(self, bd: S.Binder | S.SetBinder, scope: Scope, what: str) -> tuple[M.Bound, M.Expr | None]:
        """A bound variable and, for `x in S`, the membership that confines it (None for `x: T`)."""
        if isinstance(bd, S.Binder):
            t = self._type(bd.type)
            t = self._need_finite_scalar(t, bd.type.span, what)
            return self._fresh(bd.span, t, bd.name), None
        source = self._expr(bd.source, scope, None)
        if not isinstance(source.type, SetT):
            raise SpecError(bd.source.span, f"`{bd.name} in ...` ranges over a set", hint=f"found {describe(source.type)}")
        b = self._fresh(bd.span, source.type.elem, bd.name)
        return b, M.Binary(bd.span, BOOL, "member", b, source)

    def _x_Quant(self, e: S.Quant, scope: Scope, expected: Type | None) -> M.Expr:
        bounds = []
        guards: list[M.Expr | None] = []
        inner = scope
        for bd in e.binders:
            b, guard = self._binding(bd, inner, f"a {e.kind} variable")
            bounds.append(b)
            guards.append(guard)
            inner = inner.bind(b)
            if guard is not None:
                inner = inner.assuming(guard)
        if e.kind in ("forall", "exists"):
            body = self._bool(e.body, inner, f"the body of {e.kind}")
        elif e.kind == "count":
            body = self._bool(e.body, inner, "the body of count")
        else:
            body = self._expr(e.body, inner, None)
            if not isinstance(body.type, IntT) or isinstance(body.type, Keyed):
                raise SpecError(e.body.span, "the body of sum must be an integer", hint=f"found {describe(body.type)}")
        # Several binders nest; `count x, y. P` counts pairs, i.e. sums the inner counts.
        out = body
        for i, (b, guard) in enumerate(zip(reversed(bounds), reversed(guards), strict=True)):
            n = domain_size(b.type)
            kind = e.kind if (e.kind != "count" or i == 0) else "sum"
            if guard is not None:  # `x in S`: the values outside S do not count
                if kind == "forall":
                    out = M.Binary(e.span, BOOL, "implies", guard, out)
                elif kind in ("exists", "count"):
                    out = M.Binary(e.span, BOOL, "and", guard, out)
                else:
                    assert isinstance(out.type, IntT)
                    zero = M.Lit(e.span, IntT(0, 0), 0)
                    out = M.Ite(e.span, IntT(min(0, out.type.lo), max(0, out.type.hi)), guard, out, zero)
            if kind in ("forall", "exists"):
                t: Type = BOOL
            elif kind == "count":
                t = IntT(0, n)
            else:
                assert isinstance(out.type, IntT)
                t = IntT(min(0, n * out.type.lo), max(0, n * out.type.hi))
            out = self._fold(M.Quant(e.span, t, kind, b, out))
        return out

    def _x_Let(self, e: S.Let, scope: Scope, expected: Type | None) -> M.Expr:
        v = self._expr(e.value, scope, None)
        b = self._fresh(e.span, v.type, e.name)
        body = self._expr(e.body, scope.bind(b), expected)
        return self._fold(M.Let(e.span, body.type, b, v, body))

    def _x_EmptyQueue(self, e: S.EmptyQueue, scope: Scope, expected: Type | None) -> M.Expr:
        if not isinstance(expected, QueueT):
            raise SpecError(e.span, "cannot tell the type of this empty queue" if expected is None
                            else f"`<>` is the empty queue, but {describe(expected)} is expected here",
                            hint="use it where a queue type is known: assign it, or compare it with a queue")
        return M.Lit(e.span, expected, 0)  # the packed code of the empty queue

    def _x_SetLit(self, e: S.SetLit, scope: Scope, expected: Type | None) -> M.Expr:
        if isinstance(expected, QueueT) and not e.elems:
            raise SpecError(e.span, "`{}` is the empty set; the empty queue is `<>`")
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

    def _x_SetComp(self, e: S.SetComp, scope: Scope, expected: Type | None) -> M.Expr:
        """`{elem for x ... if cond}`: the union, over the values v of x, of {elem} where cond holds.
        Built from set literals, `let` and if-then-else, so every engine reads it as it is."""
        b, guard = self._binding(e.binder, scope, "a comprehension variable")
        n = domain_size(b.type)
        if n > MAX_COMPREHENSION:
            raise SpecError(e.binder.span, f"a comprehension over {n} values; at most {MAX_COMPREHENSION} are unrolled",
                            hint="range over a smaller type or set")
        inner = scope.bind(b)
        conds = [guard] if guard is not None else []
        if e.cond is not None:
            conds.append(self._bool(e.cond, inner.assuming(guard) if guard is not None else inner,
                                    "the condition of a comprehension"))
        cond = conds[0] if len(conds) == 1 else M.Binary(e.span, BOOL, "and", *conds) if conds else None
        inner = inner.assuming(cond) if cond is not None else inner
        elem_expected = expected.elem if isinstance(expected, SetT) else None
        elem = self._expr(e.elem, inner, elem_expected)
        et = elem_expected or self._need_finite_scalar(elem.type, e.elem.span, "a set element", MAX_SET_DOMAIN)
        self._compatible(elem, et, e.elem.span, "a set element")
        elem = self._coerce(elem, et, e.elem.span, "a set element")
        st = SetT(et)
        empty = M.SetLit(e.span, st, ())
        out: M.Expr = empty
        for v in domain_values(b.type):
            one: M.Expr = M.SetLit(e.span, st, (elem,))
            if cond is not None:
                one = M.Ite(e.span, st, cond, one, empty)
            item = M.Let(e.span, st, b, M.Lit(e.span, b.type, v), one)
            out = item if out is empty else M.Binary(e.span, st, "union", out, item)
        return self._fold(out)

    def _x_RecordLit(self, e: S.RecordLit, scope: Scope, expected: Type | None) -> M.Expr:
        if isinstance(expected, KeyT):  # a set element, a map key, an argument: its index
            packed = self._x_RecordLit(e, scope, expected.record)
            assert isinstance(packed, M.RecordLit | M.Lit)
            if isinstance(packed, M.Lit):
                return self._as_key(packed, expected)
            return self._key_of(expected, list(packed.fields), e.span)
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

    def _x_MapTable(self, e: S.MapTable, scope: Scope, expected: Type | None) -> M.Expr:
        """`[k1 |-> v1, ...]`: every key of the expected map type once, each a constant."""
        if not isinstance(expected, MapT):
            raise SpecError(e.span, "cannot tell the type of this table",
                            hint="give it where a map type is known: `def succ: [Node] Node = [...]`, an assignment")
        kt, vt = expected.key, expected.value
        values: dict[int, M.Expr] = {}
        for k, v in e.entries:
            key = self._coerce(self._expr(k, scope, kt), kt, k.span, "a table key")
            if not isinstance(key, M.Lit):
                raise SpecError(k.span, "a table's keys are constants")
            if key.value in values:
                raise SpecError(k.span, f"key {format_value(decode_scalar(kt, key.value))} appears twice")
            values[key.value] = self._coerce(self._expr(v, scope, vt), vt, v.span, "a table value")
        missing = [format_value(decode_scalar(kt, x)) for x in domain_values(kt) if x not in values]
        if missing:
            raise SpecError(e.span, f"the table lacks key(s) {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}",
                            hint=f"a map of type {expected} has a value for every key")
        b = self._fresh(e.span, kt, "key")
        keys = list(domain_values(kt))
        body = values[keys[-1]]
        for x in reversed(keys[:-1]):  # the value of the key b is
            body = M.Ite(e.span, vt, M.Binary(e.span, BOOL, "eq", b, M.Lit(e.span, kt, x)), values[x], body)
        return self._fold(M.MapLit(e.span, expected, b, body))

    def _x_MapLit(self, e: S.MapLit, scope: Scope, expected: Type | None) -> M.Expr:
        kt = self._type(e.key)
        kt = self._need_finite_scalar(kt, e.key.span, "a map key")
        b = self._fresh(e.span, kt, e.var)
        vt_expected = expected.value if isinstance(expected, MapT) else None
        body = self._expr(e.body, scope.bind(b), vt_expected)
        vt = vt_expected if vt_expected is not None else body.type
        body = self._coerce(body, vt, e.body.span, "a map value")
        if isinstance(expected, MapT) and expected.key != kt:
            raise SpecError(e.key.span, "this map literal's key type differs from the expected one",
                            hint=f"expected [{expected.key}], found [{kt}]")
        return self._fold(M.MapLit(e.span, MapT(kt, vt), b, body))

    def _x_BVCast(self, e: S.BVCast, scope: Scope, expected: Type | None) -> M.Expr:
        n = self._const_int(e.width, "a bit-vector width")
        if not 1 <= n <= MAX_BV_WIDTH:
            raise SpecError(e.width.span, f"bit-vector width {n} is outside 1..{MAX_BV_WIDTH}")
        a = self._expr(e.arg, scope, None)
        if isinstance(a.type, BVT):
            if a.type.width == n:
                return a
            a = self._fold(M.Builtin(e.span, IntT(0, (1 << a.type.width) - 1), "to_int", (a,)))
        if not isinstance(a.type, IntT) or isinstance(a.type, Keyed):
            raise SpecError(e.arg.span, f"bv[{n}](...) converts an integer", hint=f"found {describe(a.type)}")
        return self._fold(M.Builtin(e.span, BVT(n), "to_bv", (a,)))

    def _x_Primed(self, e: S.Primed, scope: Scope, expected: Type | None) -> M.Expr:
        if not scope.step:
            raise SpecError(e.span, f"`{e.name}'` ({e.name} after a step) can be used only in a step property",
                            hint="declare one with `always step NAME: ...`")
        v = self.vars.get(e.name)
        if v is None:
            raise SpecError(e.span, f"`{e.name}'`: only a state variable has a value after the step",
                            hint=_suggest(e.name, list(self.vars)))
        return M.Next(e.span, v.type, e.name)

    def _action_step(self, e: S.Call, scope: Scope) -> M.Expr:
        """`enabled(a)`, `enabled(a(args))`: some instance of action a (with these arguments) is
        enabled; `taken(a)`, `taken(a(args))` in a step property: the step is one."""
        actions = self.typed_actions  # type: ignore[attr-defined]
        form = f"{e.name}(ACTION) or {e.name}(ACTION(ARGS)), `_` for any value of an argument"
        if len(e.args) != 1 or not isinstance(e.args[0], S.Name | S.Call):
            raise SpecError(e.span, f"{e.name} takes one action: {form}")
        arg = e.args[0]
        name, args = (arg.name, ()) if isinstance(arg, S.Name) else (arg.name, arg.args)
        if actions is None:
            raise SpecError(e.span, f"`{e.name}(...)` can be used only in properties",
                            hint="a guard that depends on another action's guard can repeat it in a def")
        a = actions.get(name)
        if a is None:
            raise SpecError(arg.span, f"`{name}` is not an action ({form})", hint=_suggest(name, list(actions)))
        if e.name == "taken" and not scope.step:
            raise SpecError(e.span, "`taken(...)` describes a step: it can be used only in a step property",
                            hint="declare one with `always step NAME: ...`")
        if e.name == "enabled" and a.is_fault:
            raise SpecError(arg.span, f"`{name}` is a fault: `enabled` takes an action",
                            hint="a fault may or may not happen; nothing waits for one")
        if args and len(args) != len(a.params):
            raise SpecError(arg.span, f"{name} takes {len(a.params)} argument(s), {len(args)} given",
                            hint="`_` stands for any value of an argument")
        # `_` (and no arguments at all) stands for every value of the parameter
        typed: list[M.Expr | None] = [
            None if isinstance(x, S.Name) and x.name == "_" else
            self._coerce(self._expr(x, scope, p.type), p.type, x.span, f"argument {p.name} of {name}")
            for x, p in zip(args, a.params, strict=True)] if args else [None] * len(a.params)
        if e.name == "taken":
            cond: M.Expr = M.TRUE(e.span)
            for x, p in zip(typed, a.params, strict=True):
                if x is None:
                    continue
                eq = M.Binary(x.span, BOOL, "eq", x, M.Bound(x.span, p.type, p.name, p.uid))
                cond = eq if isinstance(cond, M.Lit) else M.Binary(e.span, BOOL, "and", cond, eq)
            return M.Taken(e.span, BOOL, a.name, cond)
        # The guard over the action's own parameters, each bound to its argument or to every value.
        out = a.guard
        for x, p in reversed(list(zip(typed, a.params, strict=True))):
            out = M.Quant(e.span, BOOL, "exists", p, out) if x is None else M.Let(e.span, BOOL, p, x, out)
        return self._fold(out)

    def _x_Call(self, e: S.Call, scope: Scope, expected: Type | None) -> M.Expr:
        if e.name in ("enabled", "taken"):
            return self._action_step(e, scope)
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

    def _builtin(self, e: S.Call, scope: Scope, expected: Type | None) -> M.Expr:
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
            if self.decls[a.type.name].node.symmetric:  # type: ignore[attr-defined]
                raise SpecError(e.span, f"ord(...) tells the members of the symmetric enum {a.type.name} apart")
            return self._fold(M.Builtin(e.span, IntT(0, len(a.type.members) - 1), "ord", (a,)))
        if e.name == "int":
            a = self._expr(e.args[0], scope, None)
            if isinstance(a.type, IntT) and not isinstance(a.type, Keyed):
                return a
            if not isinstance(a.type, BVT):
                raise SpecError(e.args[0].span, "int(...) converts a bit-vector", hint=f"found {describe(a.type)}")
            return self._fold(M.Builtin(e.span, IntT(0, (1 << a.type.width) - 1), "to_int", (a,)))
        args = [self._expr(a, scope, None) for a in e.args]
        for a, s in zip(args, e.args, strict=True):
            if not isinstance(a.type, IntT) or isinstance(a.type, Keyed):
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
        if isinstance(t, SetKeyT) and e.type == SetT(t.elem):
            return
        if isinstance(t, KeyT) and isinstance(e.type, RecordT) and e.type == t.record:
            return
        if isinstance(e.type, KeyT) and isinstance(t, RecordT) and e.type.record == t:
            return
        if isinstance(t, IntT) and isinstance(e.type, IntT) and isinstance(t, Keyed) == isinstance(e.type, Keyed):
            return
        if e.type != t:
            raise SpecError(span, f"{what} of type {t} was expected, found {describe(e.type)}")

    def _coerce(self, e: M.Expr, t: Type, span: Span, what: str) -> M.Expr:
        """e as a value of type t: a range check where an integer may leave t's range."""
        if isinstance(t, SetKeyT) and e.type == SetT(t.elem):
            return self._set_as_key(e, t)
        if isinstance(t, KeyT) and isinstance(e.type, RecordT) and e.type == t.record:
            return self._as_key(e, t)
        if isinstance(e.type, KeyT) and isinstance(t, RecordT) and e.type.record == t:
            return self._as_record(e, t)
        if isinstance(t, Keyed) or isinstance(e.type, Keyed):
            if e.type != t:
                raise SpecError(span, f"type mismatch in {what}: expected {describe(t)}, found {describe(e.type)}")
            return e
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
        from ftverify.spec.compile import fold_constant  # the interpreter defines the semantics

        return fold_constant(e)


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
