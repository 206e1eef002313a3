"""The one Z3 encoding of a typed model, shared by BMC, k-induction, the
inductiveness check and PDR.

A state is a tree of Z3 terms mirroring its type (records and maps as tuples,
sets as one Bool per element, queues as a length and their slots), flattened
into *leaves*, one Z3 constant each. The transition relation is built once over
template states `s` and `s'`; engines instantiate it at each step with
`z3.substitute`, so nothing is re-encoded per depth.

Semantics follow the reference interpreter exactly, evaluation errors included:
every compiled expression comes with an `ok` condition (short-circuit where the
interpreter short-circuits), a step is possible only where its guard and
updates evaluate without error, and `type_ok` is violated in a state where some
enabled action instance fails to evaluate.

Integers are `bv` (signed bit-vectors just wide enough for every interval the
type checker computed: bit-blasting makes BMC fast) or `int` (Z3 integers:
Spacer finds and prints linear invariants over them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

import z3
from ftverify.checker.engines import control
from ftverify.checker.output.result import EncodingError  # defined without z3, for lazy importers
from ftverify.spec import model as M
from ftverify.spec.budget import BudgetLike
from ftverify.spec.interp import Label
from ftverify.spec.layout import StateLayout, key_text
from ftverify.spec.types import (
    BVT,
    BoolT,
    EnumT,
    IntT,
    KeyT,
    MapT,
    MapValue,
    QueueT,
    RecordT,
    SetKeyT,
    SetT,
    Type,
    decode,
    decode_scalar,
    domain_values,
    key_index,
    ordinal,
)

UNROLL_LIMIT = 4096  # quantifier domains the encoding unrolls
# Where a step property is encoded for one action: the action's name, and its successor's trees
STEP_ACTION, STEP_NEXT = -1, -2

control.z3_loaded()  # a controlled run that started before Z3 was loaded gets Ctrl-C back
TRUE = z3.BoolVal(True)
Sym = Any  # a Z3 term, a tuple of Syms (record, map, set), or (len, tuple) for a queue


# Conditions that are trivially true are the object TRUE (or Python True): tested
# by identity, which costs nothing, where asking Z3 would cost a call per test.
def _and(*xs: Any) -> Any:
    ys = [x for x in xs if x is not TRUE and x is not True]
    if not ys:
        return TRUE
    return ys[0] if len(ys) == 1 else z3.And(*ys)


def _implies(a: Any, b: Any) -> Any:
    if b is TRUE or b is True:
        return TRUE
    if a is TRUE or a is True:
        return b
    return z3.Implies(a, b)


def _is_true(x: Any) -> bool:
    return x is TRUE or x is True


# ---------------------------------------------------------------- integers
def signed_width(lo: int, hi: int) -> int:
    """Bits of the smallest two's-complement bit-vector holding every integer in lo..hi."""

    def bits(v: int) -> int:
        return (v if v >= 0 else -v - 1).bit_length() + 1

    return max(bits(lo), bits(hi))


class Arith:
    """How integers (ranges and integer expressions) are represented, and every
    operation on them: the encoder never applies a Z3 operator to an integer term
    itself, so each representation decides alone what an operation needs."""

    name = ""

    def sort_of(self, lo: int, hi: int) -> z3.SortRef:
        """The sort of a stored integer of range lo..hi (a state leaf, a parameter)."""
        raise NotImplementedError

    def val(self, v: int) -> z3.ExprRef:
        raise NotImplementedError

    def leaf(self, name: str, lo: int, hi: int) -> z3.ExprRef:
        return z3.Const(name, self.sort_of(lo, hi))

    def add(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        raise NotImplementedError

    def sub(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        raise NotImplementedError

    def mul(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        raise NotImplementedError

    def neg(self, a: z3.ExprRef) -> z3.ExprRef:
        raise NotImplementedError

    def floordiv(self, a: z3.ExprRef, d: int) -> z3.ExprRef:
        """a // d for a constant d > 0 (floor division)."""
        raise NotImplementedError

    def mod(self, a: z3.ExprRef, d: int) -> z3.ExprRef:
        """a % d in 0..d-1 for a constant d > 0."""
        raise NotImplementedError

    def shl(self, a: z3.ExprRef, k: int) -> z3.ExprRef:
        """a * 2**k for a constant k >= 0."""
        raise NotImplementedError

    def shr(self, a: z3.ExprRef, k: int) -> z3.ExprRef:
        """a // 2**k (floor) for a constant k >= 0."""
        raise NotImplementedError

    def cmp(self, op: str, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        """a OP b for OP in eq ne lt le gt ge."""
        raise NotImplementedError

    def ite(self, c: Any, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        raise NotImplementedError

    def sum(self, xs: Sequence[z3.ExprRef]) -> z3.ExprRef:
        raise NotImplementedError

    def count(self, bs: Sequence[Any]) -> z3.ExprRef:
        """How many of the Boolean terms bs are true."""
        return self.sum([self.ite(b, self.val(1), self.val(0)) for b in bs]) if bs else self.val(0)

    def min(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        return self.ite(self.cmp("le", a, b), a, b)

    def max(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        return self.ite(self.cmp("ge", a, b), a, b)

    def abs(self, a: z3.ExprRef) -> z3.ExprRef:
        return self.ite(self.cmp("ge", a, self.val(0)), a, self.neg(a))

    def from_bv(self, x: z3.ExprRef) -> z3.ExprRef:
        """The unsigned value of a bit-vector, as an integer."""
        raise NotImplementedError

    def to_bv(self, x: z3.ExprRef, n: int) -> z3.ExprRef:
        """An integer modulo 2**n, as an n-bit vector."""
        raise NotImplementedError

    def in_range(self, a: z3.ExprRef, lo: int, hi: int) -> Any:
        """lo <= a <= hi."""
        return _and(self.cmp("ge", a, self.val(lo)), self.cmp("le", a, self.val(hi)))

    def store(self, a: z3.ExprRef, lo: int, hi: int) -> tuple[z3.ExprRef, Any]:
        """a in the representation of a stored integer of range lo..hi, and the
        condition under which that representation keeps a's value.

        Storing never changes a value silently: where the representation is
        narrower than a's term, the condition is that a lies in lo..hi (a step
        whose update does not is a failing step, as in the interpreter)."""
        raise NotImplementedError

    def value_of(self, v: z3.ExprRef) -> int:
        raise NotImplementedError


class BVArith(Arith):
    """Integers as signed bit-vectors whose width is computed per term.

    Every term is exact by construction: a constant is as wide as its value
    needs, a stored integer as wide as its range, and each operation sign-extends
    its operands to a width that holds its result for *any* operands of their
    widths (a sum one bit wider than the wider operand, a product as wide as
    both together, a left shift by k bits k bits wider). No term can wrap, and
    the argument is local to each method: it depends on nothing computed
    elsewhere (not on the type checker's intervals, not on the model). A value is
    made narrower only by `store`, under the condition that it lies in the
    target range.
    """

    name = "bv"

    def sort_of(self, lo: int, hi: int) -> z3.SortRef:
        return z3.BitVecSort(signed_width(lo, hi))

    def val(self, v: int) -> z3.ExprRef:
        return z3.BitVecVal(v, signed_width(v, v))

    @staticmethod
    def _ext(a: z3.ExprRef, w: int) -> z3.ExprRef:
        n = a.size()  # type: ignore[attr-defined]
        assert n <= w, "integer terms are only ever widened"
        return a if n == w else z3.SignExt(w - n, a)

    def _align(self, *xs: z3.ExprRef, extra: int = 0) -> list[z3.ExprRef]:
        w = max(x.size() for x in xs) + extra  # type: ignore[attr-defined]
        return [self._ext(x, w) for x in xs]

    def add(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        x, y = self._align(a, b, extra=1)
        return x + y

    def sub(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        x, y = self._align(a, b, extra=1)
        return x - y

    def mul(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        w = a.size() + b.size()  # type: ignore[attr-defined]
        return self._ext(a, w) * self._ext(b, w)

    def neg(self, a: z3.ExprRef) -> z3.ExprRef:
        (x,) = self._align(a, extra=1)
        return -x

    def floordiv(self, a: z3.ExprRef, d: int) -> z3.ExprRef:
        x, k = self._align(a, self.val(d))
        q, r = x / k, z3.SRem(x, k)  # bvsdiv truncates towards zero; |q| <= |x|
        return z3.If(z3.And(r != 0, x < 0), q - 1, q)  # q - 1 >= x when d >= 2 (r != 0 needs d >= 2)

    def mod(self, a: z3.ExprRef, d: int) -> z3.ExprRef:
        x, k = self._align(a, self.val(d))
        return x % k  # bvsmod (the sign of the divisor): 0..d-1

    def shl(self, a: z3.ExprRef, k: int) -> z3.ExprRef:
        return z3.Concat(a, z3.BitVecVal(0, k)) if k else a  # k more bits: a * 2**k cannot wrap

    def shr(self, a: z3.ExprRef, k: int) -> z3.ExprRef:
        n = a.size()  # type: ignore[attr-defined]
        # An arithmetic shift is floor division by 2**k; past the width it leaves the sign.
        return a >> z3.BitVecVal(min(k, n - 1), n)

    def cmp(self, op: str, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        x, y = self._align(a, b)
        return _CMP[op](x, y)

    def ite(self, c: Any, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        x, y = self._align(a, b)
        return x if x.eq(y) else z3.If(c, x, y)

    def sum(self, xs: Sequence[z3.ExprRef]) -> z3.ExprRef:
        if not xs:
            return self.val(0)
        if len(xs) == 1:
            return xs[0]
        return z3.Sum(*self._align(*xs, extra=(len(xs) - 1).bit_length()))

    def from_bv(self, x: z3.ExprRef) -> z3.ExprRef:
        return z3.ZeroExt(1, x)  # one more bit: the sign, always 0

    def to_bv(self, x: z3.ExprRef, n: int) -> z3.ExprRef:
        w = x.size()  # type: ignore[attr-defined]
        return z3.Extract(n - 1, 0, x) if n <= w else z3.SignExt(n - w, x)  # two's complement is mod 2**n

    def store(self, a: z3.ExprRef, lo: int, hi: int) -> tuple[z3.ExprRef, Any]:
        w = signed_width(lo, hi)
        n = a.size()  # type: ignore[attr-defined]
        if n <= w:
            return self._ext(a, w), TRUE
        return z3.Extract(w - 1, 0, a), self.in_range(a, lo, hi)

    def value_of(self, v: z3.ExprRef) -> int:
        return v.as_signed_long()  # type: ignore[attr-defined, no-any-return]


class IntArith(Arith):
    """Integers as Z3's mathematical integers: exact with no argument at all."""

    name = "int"

    def sort_of(self, lo: int, hi: int) -> z3.SortRef:
        return z3.IntSort()

    def val(self, v: int) -> z3.ExprRef:
        return z3.IntVal(v)

    def add(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        return a + b

    def sub(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        return a - b

    def mul(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        return a * b

    def neg(self, a: z3.ExprRef) -> z3.ExprRef:
        return -a

    def floordiv(self, a: z3.ExprRef, d: int) -> z3.ExprRef:
        return a / self.val(d)  # SMT-LIB div: floor for a positive divisor

    def mod(self, a: z3.ExprRef, d: int) -> z3.ExprRef:
        return a % self.val(d)

    def shl(self, a: z3.ExprRef, k: int) -> z3.ExprRef:
        return a * self.val(1 << k)

    def shr(self, a: z3.ExprRef, k: int) -> z3.ExprRef:
        return a / self.val(1 << k)

    def cmp(self, op: str, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        return _CMP[op](a, b)

    def ite(self, c: Any, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        return a if a.eq(b) else z3.If(c, a, b)

    def sum(self, xs: Sequence[z3.ExprRef]) -> z3.ExprRef:
        return z3.Sum(*xs) if len(xs) > 1 else (xs[0] if xs else self.val(0))

    def from_bv(self, x: z3.ExprRef) -> z3.ExprRef:
        return z3.BV2Int(x)

    def to_bv(self, x: z3.ExprRef, n: int) -> z3.ExprRef:
        return z3.Int2BV(x, n)

    def store(self, a: z3.ExprRef, lo: int, hi: int) -> tuple[z3.ExprRef, Any]:
        return a, TRUE  # nothing is cut: the leaf's type constraint keeps it in lo..hi

    def value_of(self, v: z3.ExprRef) -> int:
        return v.as_long()  # type: ignore[attr-defined, no-any-return]


class WidthTooSmall(Exception):
    """A constant or conversion does not fit the uniform width of a `CheckedBVArith`."""


class CheckedBVArith(Arith):
    """Integers as signed bit-vectors of one uniform width W, with every operation's
    freedom from overflow recorded as a side condition for the solver to prove.

    This is the representation of the independent re-checks of bit-vector proofs.
    It shares no decision with `BVArith`: W is a guess (`uniform_width`), and what
    makes it sound is not an argument about the model but a query, "no operation
    overflows in any type-correct state", that Z3 must show unsatisfiable before
    the re-check's other queries count (`symbolic.checked_encoding`). The
    operations are written independently of `BVArith`'s, from Z3's own overflow
    predicates."""

    name = "checked"

    def __init__(self, width: int) -> None:
        self.W = width
        self.conditions: list[Any] = []

    def _no(self, c: Any) -> None:
        if not z3.is_true(z3.simplify(c)):
            self.conditions.append(c)

    def overflow_free(self) -> Any:
        return _and(*self.conditions)

    def sort_of(self, lo: int, hi: int) -> z3.SortRef:
        if signed_width(lo, hi) > self.W:
            raise WidthTooSmall(f"{lo}..{hi}")
        return z3.BitVecSort(self.W)

    def val(self, v: int) -> z3.ExprRef:
        if signed_width(v, v) > self.W:
            raise WidthTooSmall(str(v))
        return z3.BitVecVal(v, self.W)

    def add(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        self._no(z3.And(z3.BVAddNoOverflow(a, b, True), z3.BVAddNoUnderflow(a, b)))
        return a + b

    def sub(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        self._no(z3.And(z3.BVSubNoOverflow(a, b), z3.BVSubNoUnderflow(a, b, True)))
        return a - b

    def mul(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        self._no(z3.And(z3.BVMulNoOverflow(a, b, True), z3.BVMulNoUnderflow(a, b)))
        return a * b

    def neg(self, a: z3.ExprRef) -> z3.ExprRef:
        self._no(z3.BVSNegNoOverflow(a))
        return -a

    def floordiv(self, a: z3.ExprRef, d: int) -> z3.ExprRef:
        k = self.val(d)
        # a - (a mod d) is a multiple of d, so the truncating division is exact there.
        return self.sub(a, a % k) / k  # % is bvsmod: 0..d-1

    def mod(self, a: z3.ExprRef, d: int) -> z3.ExprRef:
        return a % self.val(d)  # bvsmod: 0..d-1

    def shl(self, a: z3.ExprRef, k: int) -> z3.ExprRef:
        if k == 0:
            return a  # nothing can overflow (and the bound 2**(W-1) below would not fit in W bits)
        if k >= self.W - 1:
            raise WidthTooSmall(f"<< {k}")
        self._no(z3.And(a >= -(1 << (self.W - 1 - k)), a < (1 << (self.W - 1 - k))))
        return a << k

    def shr(self, a: z3.ExprRef, k: int) -> z3.ExprRef:
        return a >> min(k, self.W - 1)  # arithmetic: floor division by 2**k

    def cmp(self, op: str, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        return _CMP[op](a, b)

    def ite(self, c: Any, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        return a if a.eq(b) else z3.If(c, a, b)

    def sum(self, xs: Sequence[z3.ExprRef]) -> z3.ExprRef:
        out = xs[0] if xs else self.val(0)
        for x in xs[1:]:
            out = self.add(out, x)
        return out

    def from_bv(self, x: z3.ExprRef) -> z3.ExprRef:
        n = x.size()  # type: ignore[attr-defined]
        if n >= self.W:
            raise WidthTooSmall(f"bv[{n}]")
        return z3.ZeroExt(self.W - n, x)

    def to_bv(self, x: z3.ExprRef, n: int) -> z3.ExprRef:
        return z3.Extract(n - 1, 0, x) if n <= self.W else z3.SignExt(n - self.W, x)

    def store(self, a: z3.ExprRef, lo: int, hi: int) -> tuple[z3.ExprRef, Any]:
        return a, TRUE  # one width for every integer: nothing is cut

    def value_of(self, v: z3.ExprRef) -> int:
        return v.as_signed_long()  # type: ignore[attr-defined, no-any-return]


def uniform_width(model: M.Model) -> int:
    """A first guess at a width for `CheckedBVArith`: the widest interval the type
    checker gave any integer expression, with a bit to spare. Only a guess: the
    solver proves it sufficient, or the re-check doubles it."""
    lo, hi = -1, M.MAX_FAULT_BUDGET + 1
    exprs: list[M.Expr] = [model.init]
    for a in model.actions:
        exprs.append(a.guard)
        exprs += list(a.params)
        for st in M.walk_stmts(a.body):
            exprs += list(M.stmt_exprs(st))
    for p in model.properties:
        exprs += [p.pred] + ([p.target] if p.target is not None else [])
    for e in exprs:
        for x in M.walk(e):
            if isinstance(x.type, IntT):
                lo, hi = min(lo, x.type.lo), max(hi, x.type.hi)
            elif isinstance(x.type, BVT):
                hi = max(hi, 1 << x.type.width)
    for v in model.vars:
        for t in _scalar_types(v.type):
            if isinstance(t, IntT):
                lo, hi = min(lo, t.lo), max(hi, t.hi)
            elif isinstance(t, BVT):
                hi = max(hi, 1 << t.width)
    return signed_width(lo, hi) + 1


def _scalar_types(t: Type) -> list[Type]:
    match t:
        case RecordT(fields):
            return [x for _, ft in fields for x in _scalar_types(ft)]
        case MapT(k, v):
            return [k, *_scalar_types(v)]
        case SetT(e):
            return [e]
        case QueueT(e, n):
            return [IntT(0, n), *_scalar_types(e)]
    return [t]


_CMP: dict[str, Callable[[Any, Any], Any]] = {
    "eq": lambda x, y: x == y, "ne": lambda x, y: x != y, "lt": lambda x, y: x < y,
    "le": lambda x, y: x <= y, "gt": lambda x, y: x > y, "ge": lambda x, y: x >= y,
}


# ---------------------------------------------------------------- the encoding
@dataclass
class StateVars:
    """One copy of the state: its tree per variable, the fault counters (one per counted
    budget, as `StateLayout.counters`), and the flat leaves (the counters last)."""

    tree: dict[str, Sym]
    counters: list[z3.ExprRef]
    leaves: list[z3.ExprRef]


@dataclass
class ActionEnc:
    action: M.Action
    index: int
    params: list[z3.ExprRef]
    enabled: z3.ExprRef  # guard true, guard and updates evaluate, budget left for a fault
    failing: z3.ExprRef  # the step is attempted (guard true or failing) but fails to evaluate
    next: dict[str, Sym]  # the variables after the step


class Encoding:
    """The transition system of a model under a fault budget, over template states s and s'."""

    def __init__(self, model: M.Model, budget: BudgetLike | None, arith: str = "bv",
                 width: int | None = None) -> None:
        """arith: "bv" (`BVArith`), "int" (`IntArith`) or "checked" (`CheckedBVArith` of `width`)."""
        self.model = model
        # The fault counters are laid out as the interpreter lays them out.
        self.layout = StateLayout(model, budget)
        self.budget = self.layout.budget
        self.arith: Arith = {"bv": BVArith, "int": IntArith}[arith]() if arith != "checked" \
            else CheckedBVArith(width or uniform_width(model))
        self.cur = self.make_state("")
        self.nxt = self.make_state("'")
        counter_of = self.layout.counter_of
        actions = [a for a in model.actions if not (a.is_fault and counter_of[a.name] is not None
                                                     and counter_of[a.name].cap == 0)]  # type: ignore[union-attr]
        # The selector of the step's action is not an integer of the model: in
        # the bit-vector encoding it is an unsigned vector just wide enough to
        # number the actions.
        self.sel_sort = z3.BitVecSort(max(1, (len(actions) - 1).bit_length())) if arith != "int" else z3.IntSort()
        self.sel = z3.Const("action", self.sel_sort)
        self.actions = [self._action(a, i) for i, a in enumerate(actions)]
        self.type_cur = self.type_constraints(self.cur)
        self.type_nxt = self.type_constraints(self.nxt)
        self.trans = self._transition()
        self.init = self._init()

    # -- states
    def enum_width(self, t: EnumT) -> int | None:
        """In the bit-vector encoding an enum is an unsigned bit-vector of minimal width
        (smaller SAT problems than W-bit integers); None: an integer of the arithmetic."""
        return max(1, (len(t.members) - 1).bit_length()) if self.arith.name != "int" else None

    def _leaf(self, name: str, t: Type) -> z3.ExprRef:
        match t:
            case BoolT():
                return z3.Bool(name)
            case BVT(w):
                return z3.BitVec(name, w)
            case EnumT(_, ms):
                w = self.enum_width(t)
                return z3.BitVec(name, w) if w else self.arith.leaf(name, 0, len(ms) - 1)
            case IntT(lo, hi):
                return self.arith.leaf(name, lo, hi)
        raise EncodingError(f"no leaf for {t}")

    def _tree(self, path: str, t: Type, tag: str, leaves: list[z3.ExprRef]) -> Sym:
        match t:
            case RecordT(fields):
                return tuple(self._tree(f"{path}.{n}", ft, tag, leaves) for n, ft in fields)
            case MapT(k, v):
                return tuple(self._tree(f"{path}[{key_text(k, key)}]", v, tag, leaves)
                             for key in domain_values(k))
            case SetT(e):
                out = []
                for key in domain_values(e):
                    b = z3.Bool(f"{path}{{{key_text(e, key)}}}{tag}")
                    leaves.append(b)
                    out.append(b)
                return tuple(out)
            case QueueT(e, n):
                length = self.arith.leaf(f"len({path}){tag}", 0, n)
                leaves.append(length)
                return (length, tuple(self._tree(f"{path}<{i}>", e, tag, leaves) for i in range(n)))
        leaf = self._leaf(path + tag, t)
        leaves.append(leaf)
        return leaf

    def make_state(self, tag: str) -> StateVars:
        leaves: list[z3.ExprRef] = []
        tree = {v.name: self._tree(v.name, v.type, tag, leaves) for v in self.model.vars}
        counters = [self.arith.leaf(("faults" if c.name == "faults" else f"faults.{c.name}") + tag, 0, c.cap)
                    for c in self.layout.counters]
        leaves += counters
        return StateVars(tree, counters, leaves)

    def type_constraints(self, st: StateVars) -> z3.ExprRef:
        cs: list[Any] = []
        for v in self.model.vars:
            cs += self._type_of(v.type, st.tree[v.name])
        cs += [self.arith.in_range(x, 0, c.cap) for x, c in zip(st.counters, self.layout.counters, strict=True)]
        return _and(*cs)

    def counter_index(self, a: M.Action) -> int | None:
        """Which fault counter a step of `a` raises (None: an action, or an unbounded fault)."""
        c = self.layout.counter_of.get(a.name)
        return None if c is None else self.layout.counters.index(c)

    def fault_code(self, counts: Sequence[int]) -> int:
        """The interpreter's fault code of counter values."""
        lay = self.layout
        return sum(n << (c.offset - lay.faults_offset) for n, c in zip(counts, lay.counters, strict=True))

    def _type_of(self, t: Type, v: Sym) -> list[Any]:
        a = self.arith
        match t:
            case IntT(lo, hi):
                return [a.in_range(v, lo, hi)]
            case EnumT(_, ms):
                w = self.enum_width(t)
                if w:
                    return [] if len(ms) == 1 << w else [z3.ULT(v, z3.BitVecVal(len(ms), w))]
                return [a.in_range(v, 0, len(ms) - 1)]
            case RecordT(fields):
                return [c for (_, ft), x in zip(fields, v, strict=True) for c in self._type_of(ft, x)]
            case MapT(_, vt):
                return [c for x in v for c in self._type_of(vt, x)]
            case QueueT(e, n):
                length, slots = v
                out = [a.in_range(length, 0, n)]
                for i, x in enumerate(slots):
                    out += self._type_of(e, x)
                    # Unused slots hold the default value, as in the packed representation.
                    out.append(z3.Implies(a.cmp("le", length, a.val(i)), self.eq(e, x, self.default(e))))
                return out
        return []

    # -- values
    def default(self, t: Type) -> Sym:
        """The value whose packed code is 0 (a range's lower bound, false, the first member)."""
        return self.const(t, 0, code=True)

    def const(self, t: Type, value: Any, code: bool = False) -> Sym:
        """A constant: a run-time value (packed for composites), or a packed code with code=True."""
        a = self.arith
        match t:
            case BoolT():
                return z3.BoolVal(bool(value))
            case IntT(lo, _):
                return self.represent(t, a.val(value + lo if code else value))
            case BVT(w):
                return z3.BitVecVal(value, w)
            case EnumT(_, ms):
                w = self.enum_width(t)
                return z3.BitVecVal(value, w) if w else self.represent(IntT(0, len(ms) - 1), a.val(value))
        return self._plain(t, decode(t, value))

    def represent(self, t: Type, v: Sym) -> Sym:
        """A constant scalar as the leaf of type t holds it (the stored width)."""
        if isinstance(t, IntT):
            x, ok = self.arith.store(v, t.lo, t.hi)
            assert _is_true(ok) or z3.is_true(z3.simplify(ok)), f"constant {v} outside {t}"
            return z3.simplify(x)
        return v

    def stored(self, t: Type, v: Sym) -> tuple[Sym, Any]:
        """A value of type t as a place of type t holds it, and the condition that it fits.

        Only integers change representation: composite values are built from
        stored leaves (variables, literals, record and map literals, queue
        operations), so their leaves already are."""
        if isinstance(t, IntT):
            return self.arith.store(v, t.lo, t.hi)
        return v, TRUE

    def _plain(self, t: Type, v: Any) -> Sym:
        """A symbolic constant from a plain Python value (as `types.decode` returns)."""
        a = self.arith
        match t:
            case BoolT():
                return z3.BoolVal(bool(v))
            case KeyT() | SetKeyT():
                return self.represent(t, a.val(key_index(t, v)))
            case IntT():
                return self.represent(t, a.val(v))
            case BVT(w):
                return z3.BitVecVal(v, w)
            case EnumT(_, ms):
                return self.const(t, ms.index(v))
            case RecordT(fields):
                return tuple(self._plain(ft, v[n]) for n, ft in fields)
            case MapT(k, vt):
                return tuple(self._plain(vt, v[decode_scalar(k, key)]) for key in domain_values(k))
            case SetT(e):
                members = {decode_scalar(e, x) for x in domain_values(e)} & set(v)
                return tuple(z3.BoolVal(decode_scalar(e, key) in members) for key in domain_values(e))
            case QueueT(e, n):
                items = list(v)
                slots = [self._plain(e, x) for x in items] + [self.default(e)] * (n - len(items))
                return (self.represent(IntT(0, n), a.val(len(items))), tuple(slots))
        raise EncodingError(f"no constant of type {t}")

    def eq(self, t: Type, x: Sym, y: Sym) -> Any:
        match t:
            case RecordT(fields):
                return _and(*(self.eq(ft, a, b) for (_, ft), a, b in zip(fields, x, y, strict=True)))
            case MapT(_, vt):
                return _and(*(self.eq(vt, a, b) for a, b in zip(x, y, strict=True)))
            case SetT():
                return _and(*(a == b for a, b in zip(x, y, strict=True)))
            case QueueT(e, _):
                return _and(self.arith.cmp("eq", x[0], y[0]),
                            *(self.eq(e, a, b) for a, b in zip(x[1], y[1], strict=True)))
        if isinstance(x, z3.ExprRef) and isinstance(y, z3.ExprRef) and x.eq(y):
            return TRUE
        if isinstance(t, IntT) or (isinstance(t, EnumT) and not self.enum_width(t)):
            return self.arith.cmp("eq", x, y)
        return x == y

    def ite(self, t: Type, c: Any, x: Sym, y: Sym) -> Sym:
        if _is_true(c):
            return x
        match t:
            case RecordT(fields):
                return tuple(self.ite(ft, c, a, b) for (_, ft), a, b in zip(fields, x, y, strict=True))
            case MapT(_, vt):
                return tuple(self.ite(vt, c, a, b) for a, b in zip(x, y, strict=True))
            case SetT():
                return tuple(a if a.eq(b) else z3.If(c, a, b) for a, b in zip(x, y, strict=True))
            case QueueT(e, _):
                return (self.arith.ite(c, x[0], y[0]),
                        tuple(self.ite(e, c, a, b) for a, b in zip(x[1], y[1], strict=True)))
            case IntT():
                return self.arith.ite(c, x, y)
        if x.eq(y):
            return x
        return z3.If(c, x, y)

    def key_eq(self, t: Type, idx: z3.ExprRef, key: int) -> z3.ExprRef:
        if isinstance(t, IntT):
            return self.arith.cmp("eq", idx, self.arith.val(key))
        return self.eq(t, idx, self.const(t, key))

    def select(self, mt: MapT, m: Sym, idx: Sym) -> Sym:
        """m[idx] for a symbolic index (an if-then-else over the keys)."""
        keys = list(domain_values(mt.key))
        if isinstance(idx, z3.ExprRef) and z3.is_const(idx) and _is_value(idx):
            return m[ordinal(mt.key, self._value(mt.key, idx))]
        out = m[-1]
        for i in range(len(keys) - 2, -1, -1):
            out = self.ite(mt.value, self.key_eq(mt.key, idx, keys[i]), m[i], out)
        return out

    def _value(self, t: Type, v: z3.ExprRef) -> int:
        if isinstance(t, BoolT):
            return int(z3.is_true(v))
        if isinstance(t, BVT) or (isinstance(t, EnumT) and self.enum_width(t)):
            return v.as_long()  # type: ignore[attr-defined, no-any-return]
        return self.arith.value_of(v)

    # -- expressions: (value, ok)
    def expr(self, e: M.Expr, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        method: Callable[[Any, StateVars, dict[int, Sym]], tuple[Sym, Any]] = _EXPR[type(e)].__get__(self)
        return method(e, st, env)

    def pred(self, e: M.Expr, st: StateVars, env: dict[int, Sym] | None = None) -> tuple[Any, Any]:
        return self.expr(e, st, env or {})

    def _lit(self, e: M.Lit, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        return self.const(e.type, e.value), TRUE

    def _var(self, e: M.VarRef, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        return st.tree[e.name], TRUE

    def _bound(self, e: M.Bound, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        return env[e.uid], TRUE

    def _next(self, e: M.Next, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        return env[STEP_NEXT][e.name], TRUE

    def _taken(self, e: M.Taken, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        if env[STEP_ACTION] != e.action:
            return z3.BoolVal(False), TRUE
        return self.expr(e.cond, st, env)

    def _faults(self, e: M.Faults, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        return self.arith.sum(st.counters), TRUE

    def _budget(self, e: M.Budget, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        return self.arith.val(self.layout.total_budget), TRUE

    def _index(self, e: M.Index, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        m, ok1 = self.expr(e.base, st, env)
        i, ok2 = self.expr(e.index, st, env)
        mt = e.base.type
        assert isinstance(mt, MapT)
        return self.select(mt, m, i), _and(ok1, ok2)

    def _field(self, e: M.Field, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        r, ok = self.expr(e.base, st, env)
        rt = e.base.type
        assert isinstance(rt, RecordT)
        names = [n for n, _ in rt.fields]
        return r[names.index(e.name)], ok

    def _unary(self, e: M.Unary, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        a, ok = self.expr(e.arg, st, env)
        if e.op == "not":
            return z3.Not(a), ok
        if e.op == "neg":
            return self.arith.neg(a), ok
        return ~a, ok

    def _binary(self, e: M.Binary, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        op = e.op
        a, oka = self.expr(e.left, st, env)
        if op in ("and", "or", "implies") and z3.is_bool(a) and (z3.is_false(a) or z3.is_true(a)):
            # A left side known here decides where the interpreter short-circuits (as `taken(...)`
            # does in a step property): the right side, often large, is not encoded at all.
            if z3.is_false(a) and op != "or":
                return z3.BoolVal(op == "implies"), oka
            if z3.is_true(a) and op == "or":
                return a, oka
        b, okb = self.expr(e.right, st, env)
        if op == "and":
            return z3.And(a, b), _and(oka, _implies(a, okb))
        if op == "or":
            return z3.Or(a, b), _and(oka, _implies(z3.Not(a), okb))
        if op == "implies":
            return z3.Implies(a, b), _and(oka, _implies(a, okb))
        ok = _and(oka, okb)
        t = e.left.type
        ar = self.arith
        if op == "iff":
            return a == b, ok
        if op in ("eq", "ne"):
            v = self.eq(t, a, b)
            return (v if op == "eq" else z3.Not(v)), ok
        if op == "member":
            st_ = e.right.type
            assert isinstance(st_, SetT)
            keys = list(domain_values(st_.elem))
            return z3.Or(*(z3.And(self.key_eq(st_.elem, a, k), b[i]) for i, k in enumerate(keys))), ok
        if op in ("union", "inter", "diff", "subset"):
            if op == "union":
                return tuple(z3.Or(x, y) for x, y in zip(a, b, strict=True)), ok
            if op == "inter":
                return tuple(z3.And(x, y) for x, y in zip(a, b, strict=True)), ok
            if op == "diff":
                return tuple(z3.And(x, z3.Not(y)) for x, y in zip(a, b, strict=True)), ok
            return _and(*(z3.Implies(x, y) for x, y in zip(a, b, strict=True))), ok
        if op in ("lt", "le", "gt", "ge"):
            return ar.cmp(op, a, b), ok
        if op in ("add", "sub", "mul"):
            return {"add": ar.add, "sub": ar.sub, "mul": ar.mul}[op](a, b), ok
        simple: dict[str, Callable[[Any, Any], Any]] = {
            "bvadd": lambda x, y: x + y, "bvsub": lambda x, y: x - y, "bvmul": lambda x, y: x * y,
            "bvudiv": z3.UDiv, "bvurem": z3.URem, "bvand": lambda x, y: x & y, "bvor": lambda x, y: x | y,
            "bvxor": lambda x, y: x ^ y, "bvult": z3.ULT, "bvule": z3.ULE, "bvugt": z3.UGT, "bvuge": z3.UGE,
        }
        if op in simple:
            return simple[op](a, b), ok
        k = e.right
        if op in ("div", "mod"):
            assert isinstance(k, M.Lit)
            return (ar.floordiv(a, k.value) if op == "div" else ar.mod(a, k.value)), ok
        if op in ("shl", "shr"):
            assert isinstance(k, M.Lit)
            return (ar.shl(a, k.value) if op == "shl" else ar.shr(a, k.value)), ok
        if op in ("bvshl", "bvlshr"):
            assert isinstance(t, BVT)
            w = t.width
            if isinstance(e.right.type, BVT):
                bw = e.right.type.width
                amount = b if bw == w else _resize(b, bw, w)
                big = z3.UGE(b, z3.BitVecVal(w, bw)) if w < (1 << bw) else None  # None: never that big
            else:
                amount = ar.to_bv(b, w)
                big = ar.cmp("ge", b, ar.val(w))
            shifted = (a << amount) if op == "bvshl" else z3.LShR(a, amount)
            return (shifted if big is None else z3.If(big, z3.BitVecVal(0, w), shifted)), ok
        raise EncodingError(f"operator {op} is not encoded")

    def _ite(self, e: M.Ite, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        c, okc = self.expr(e.cond, st, env)
        a, oka = self.expr(e.then, st, env)
        b, okb = self.expr(e.orelse, st, env)
        branch_ok = TRUE if _is_true(oka) and _is_true(okb) else z3.If(c, _bool(oka), _bool(okb))
        return self.ite(e.type, c, a, b), _and(okc, branch_ok)

    def _instances(self, var: M.Bound) -> list[int]:
        dom = domain_values(var.type)
        if len(dom) > UNROLL_LIMIT:
            raise EncodingError(f"a quantifier over {len(dom)} values is too large to unroll")
        return list(dom)

    def _quant(self, e: M.Quant, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        parts = [self.expr(e.body, st, {**env, e.var.uid: self.const(e.var.type, v)})
                 for v in self._instances(e.var)]
        if e.kind in ("forall", "exists"):
            vals = [v for v, _ in parts]
            # Evaluation goes through the domain in order and stops at the deciding instance.
            ok: Any = TRUE
            for v, okv in reversed(parts):
                ok = _and(okv, _implies(v if e.kind == "forall" else z3.Not(v), ok))
            return (z3.And(*vals) if e.kind == "forall" else z3.Or(*vals)), ok
        ar = self.arith
        ok = _and(*(okv for _, okv in parts))
        if e.kind == "count":
            return ar.count([v for v, _ in parts]), ok
        return ar.sum([v for v, _ in parts]), ok

    def _let(self, e: M.Let, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        v, okv = self.expr(e.value, st, env)
        b, okb = self.expr(e.body, st, {**env, e.var.uid: v})
        return b, _and(okv, okb)

    def _setlit(self, e: M.SetLit, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        et = e.type
        assert isinstance(et, SetT)
        elems = [self.expr(x, st, env) for x in e.elems]
        ok = _and(*(k for _, k in elems))
        keys = list(domain_values(et.elem))
        return tuple(z3.Or(*(self.key_eq(et.elem, v, key) for v, _ in elems)) if elems else z3.BoolVal(False)
                     for key in keys), ok

    def _recordlit(self, e: M.RecordLit, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        rt = e.type
        assert isinstance(rt, RecordT)
        parts = [self._stored_expr(ft, x, st, env) for (_, ft), x in zip(rt.fields, e.fields, strict=True)]
        return tuple(v for v, _ in parts), _and(*(k for _, k in parts))

    def _stored_expr(self, t: Type, x: M.Expr, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        """x, in the representation of a place of type t."""
        v, ok = self.expr(x, st, env)
        v, fits = self.stored(t, v)
        return v, _and(ok, fits)

    def _maplit(self, e: M.MapLit, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        mt = e.type
        assert isinstance(mt, MapT)
        parts = [self._stored_expr(mt.value, e.body, st, {**env, e.var.uid: self.const(mt.key, k)})
                 for k in self._instances(e.var)]
        return tuple(v for v, _ in parts), _and(*(k for _, k in parts))

    def _builtin(self, e: M.Builtin, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        args = [self.expr(a, st, env) for a in e.args]
        ok = _and(*(k for _, k in args))
        vals = [v for v, _ in args]
        ar = self.arith
        name = e.name
        if name in ("len", "head", "pop", "push"):
            qt = e.args[0].type
            assert isinstance(qt, QueueT)
            length, slots = vals[0]
            n = qt.capacity
            if name == "len":
                return length, ok
            nonempty = ar.cmp("gt", length, ar.val(0))
            if name == "head":
                return slots[0], _and(ok, nonempty)
            if name == "pop":
                new = (*slots[1:], self.default(qt.elem))
                shorter, fits = ar.store(ar.sub(length, ar.val(1)), 0, n)
                return (shorter, tuple(new)), _and(ok, nonempty, fits)
            x, fits_x = self.stored(qt.elem, vals[1])
            new = tuple(self.ite(qt.elem, ar.cmp("eq", length, ar.val(i)), x, s) for i, s in enumerate(slots))
            longer, fits = ar.store(ar.add(length, ar.val(1)), 0, n)
            return (longer, new), _and(ok, ar.cmp("lt", length, ar.val(n)), fits_x, fits)
        if name == "size":
            return ar.count(list(vals[0])), ok
        if name == "min":
            return ar.min(vals[0], vals[1]), ok
        if name == "max":
            return ar.max(vals[0], vals[1]), ok
        if name == "abs":
            return ar.abs(vals[0]), ok
        if name == "ord":
            at = e.args[0].type
            assert isinstance(at, EnumT)
            return (ar.from_bv(vals[0]) if self.enum_width(at) else vals[0]), ok
        if name == "to_int":
            return ar.from_bv(vals[0]), ok
        if name == "to_bv":
            assert isinstance(e.type, BVT)
            return ar.to_bv(vals[0], e.type.width), ok
        raise EncodingError(f"builtin {name} is not encoded")

    def _check(self, e: M.Check, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        v, ok = self.expr(e.arg, st, env)
        t = e.type
        assert isinstance(t, IntT)
        inside = self.arith.in_range(v, t.lo, t.hi)
        v, _ = self.arith.store(v, t.lo, t.hi)  # exact where `inside` holds
        return v, _and(ok, inside)

    def _narrow(self, e: M.Narrow, st: StateVars, env: dict[int, Sym]) -> tuple[Sym, Any]:
        return self.expr(e.arg, st, env)

    # -- statements: the state being built, and ok
    def stmts(self, body: Sequence[M.Stmt], st: StateVars, t: dict[str, Sym], env: dict[int, Sym]) \
            -> tuple[dict[str, Sym], Any]:
        oks = []
        for x in body:
            t, ok = self.stmt(x, st, t, env)
            oks.append(ok)
        return t, _and(*oks)

    def stmt(self, x: M.Stmt, st: StateVars, t: dict[str, Sym], env: dict[int, Sym]) -> tuple[dict[str, Sym], Any]:
        match x:
            case M.Assign(target=target, value=value):
                v, okv = self._stored_expr(target.type, value, st, env)
                steps, root, okp = self._path(target, st, env)
                vt = self.model.var(root).type
                return {**t, root: self._update(vt, t[root], steps, v)}, _and(okv, okp)
            case M.IfStmt(cond=cond, then=then, orelse=orelse):
                c, okc = self.expr(cond, st, env)
                ta, oka = self.stmts(then, st, t, env)
                tb, okb = self.stmts(orelse, st, t, env)
                merged = {n: self.ite(self.model.var(n).type, c, ta[n], tb[n]) if ta[n] is not tb[n] else ta[n]
                          for n in t}
                return merged, _and(okc, z3.If(c, _bool(oka), _bool(okb)))
            case M.ForallStmt(var=var, body=body):
                oks = []
                for v in self._instances(var):
                    t, ok = self.stmts(body, st, t, {**env, var.uid: self.const(var.type, v)})
                    oks.append(ok)
                return t, _and(*oks)
            case M.LetStmt(var=var, value=value, body=body):
                v, okv = self.expr(value, st, env)
                t, okb = self.stmts(body, st, t, {**env, var.uid: v})
                return t, _and(okv, okb)
        raise EncodingError(f"statement {x} is not encoded")

    def _path(self, e: M.Expr, st: StateVars, env: dict[int, Sym]) -> tuple[list[tuple[str, Any, Type]], str, Any]:
        """The steps from a variable to an assigned place; indices are evaluated in the pre-state."""
        steps: list[tuple[str, Any, Type]] = []
        oks = []
        while isinstance(e, M.Index | M.Field):
            if isinstance(e, M.Index):
                i, ok = self.expr(e.index, st, env)
                oks.append(ok)
                steps.append(("index", i, e.base.type))
            else:
                steps.append(("field", e.name, e.base.type))
            e = e.base
        assert isinstance(e, M.VarRef)
        steps.reverse()
        return steps, e.name, _and(*oks)

    def _update(self, t: Type, cur: Sym, steps: list[tuple[str, Any, Type]], v: Sym) -> Sym:
        if not steps:
            return v
        kind, arg, ct = steps[0]
        if kind == "field":
            assert isinstance(ct, RecordT)
            names = [n for n, _ in ct.fields]
            i = names.index(arg)
            return tuple(self._update(ft, c, steps[1:], v) if j == i else c
                         for j, ((_, ft), c) in enumerate(zip(ct.fields, cur, strict=True)))
        assert isinstance(ct, MapT)
        keys = list(domain_values(ct.key))
        if isinstance(arg, z3.ExprRef) and _is_value(arg):
            i = ordinal(ct.key, self._value(ct.key, arg))
            return tuple(self._update(ct.value, c, steps[1:], v) if j == i else c for j, c in enumerate(cur))
        return tuple(self.ite(ct.value, self.key_eq(ct.key, arg, k), self._update(ct.value, c, steps[1:], v), c)
                     for k, c in zip(keys, cur, strict=True))

    # -- actions and the transition relation
    def _action(self, a: M.Action, index: int) -> ActionEnc:
        params = [self._leaf(f"{a.name}.{p.name}", p.type) for p in a.params]
        env: dict[int, Sym] = {p.uid: v for p, v in zip(a.params, params, strict=True)}
        g, gok = self.expr(a.guard, self.cur, env)
        nxt, uok = self.stmts(a.body, self.cur, dict(self.cur.tree), env)
        k = self.counter_index(a)
        budget_left: Any = TRUE if k is None else \
            self.arith.cmp("lt", self.cur.counters[k], self.arith.val(self.layout.counters[k].cap))
        enabled = _and(budget_left, g, gok, uok)
        # The interpreter evaluates the guard (after the budget test of a fault), then the updates.
        failing = _and(budget_left, z3.Or(z3.Not(_bool(gok)), z3.And(g, z3.Not(_bool(uok)))))
        return ActionEnc(a, index, params, enabled, failing, nxt)

    def param_types(self, ae: ActionEnc) -> Any:
        return _and(*(c for p, v in zip(ae.action.params, ae.params, strict=True) for c in self._type_of(p.type, v)))

    def sel_val(self, i: int) -> z3.ExprRef:
        return z3.BitVecVal(i, self.sel_sort.size()) if z3.is_bv_sort(self.sel_sort) else z3.IntVal(i)  # type: ignore[attr-defined]

    def _transition(self) -> z3.ExprRef:
        n = len(self.actions)
        if z3.is_bv_sort(self.sel_sort):
            parts: list[Any] = [] if n == 1 << self.sel_sort.size() else [z3.ULT(self.sel, self.sel_val(n))]  # type: ignore[attr-defined]
        else:
            parts = [self.sel >= 0, self.sel < n]
        chosen = [self.sel == self.sel_val(ae.index) for ae in self.actions]
        parts.append(z3.Or(*(z3.And(c, ae.enabled) for c, ae in zip(chosen, self.actions, strict=True))))
        for ae in self.actions:
            parts.append(self.param_types(ae))
        guard = _and(*parts)
        next_leaves: list[z3.ExprRef] = []
        for v in self.model.vars:
            new = self.cur.tree[v.name]
            for c, ae in reversed(list(zip(chosen, self.actions, strict=True))):
                if ae.next[v.name] is not self.cur.tree[v.name]:
                    new = self.ite(v.type, c, ae.next[v.name], new)
            self._flat(v.type, new, next_leaves)
        for k, x in enumerate(self.cur.counters):
            raised = [c for c, ae in zip(chosen, self.actions, strict=True) if self.counter_index(ae.action) == k]
            if raised:
                more, fits = self._counter_after(k)  # fits: implied by the fault's budget test
                next_leaves.append(self.arith.ite(z3.Or(*raised), more, x))
                guard = _and(guard, z3.Implies(z3.Or(*raised), fits))
            else:
                next_leaves.append(x)
        return _and(guard, *(x == y for x, y in zip(self.nxt.leaves, next_leaves, strict=True)))

    def _counter_after(self, k: int) -> tuple[z3.ExprRef, Any]:
        """Fault counter k after one more fault, and the condition that it stays within its budget."""
        ar = self.arith
        return ar.store(ar.add(self.cur.counters[k], ar.val(1)), 0, self.layout.counters[k].cap)

    def _flat(self, t: Type, v: Sym, out: list[z3.ExprRef]) -> None:
        """The leaves of a value, in the order `make_state` creates them."""
        match t:
            case RecordT(fields):
                for (_, ft), x in zip(fields, v, strict=True):
                    self._flat(ft, x, out)
            case MapT(_, vt):
                for x in v:
                    self._flat(vt, x, out)
            case SetT():
                out.extend(v)
            case QueueT(e, _):
                out.append(v[0])
                for x in v[1]:
                    self._flat(e, x, out)
            case _:
                out.append(v)

    def _init(self) -> z3.ExprRef:
        v, ok = self.expr(self.model.init, self.cur, {})
        return _and(v, ok, *(self.arith.cmp("eq", x, self.arith.val(0)) for x in self.cur.counters))

    # -- properties as bad-state formulas over the template state
    def bad(self, prop: M.Property) -> z3.ExprRef:
        """States that violate an invariant (false, or failing to evaluate), or a step property
        (a step from them breaks it)."""
        if prop.kind == "step":
            return self._bad_step(prop)
        v, ok = self.expr(prop.pred, self.cur, {})
        return z3.Not(_and(v, ok))

    def _bad_step(self, prop: M.Property) -> z3.ExprRef:
        """States with a step that breaks step property `prop`: the property over the state and
        each action's successor terms, ground per instance (as `type_error`), so that the
        negation stays quantifier-free."""
        cache = self.__dict__.setdefault("_bad_steps", {})
        if prop.name not in cache:
            out = []
            for ae in self.actions:
                env: dict[int, Sym] = {p.uid: v for p, v in zip(ae.action.params, ae.params, strict=True)}
                env[STEP_ACTION], env[STEP_NEXT] = ae.action.name, ae.next
                v, ok = self.expr(prop.pred, self.cur, env)
                bad = z3.simplify(_and(ae.enabled, z3.Not(_and(v, ok))))
                if z3.is_false(bad):
                    continue  # no step of this action can break it (most leave what it reads alone)
                for values in product(*(domain_values(p.type) for p in ae.action.params)):
                    f = z3.simplify(z3.substitute(bad, *[(pv, self.const(p.type, x)) for p, pv, x in
                                                         zip(ae.action.params, ae.params, values, strict=True)]))
                    if not z3.is_false(f):
                        out.append(f)
            cache[prop.name] = z3.Or(*out) if out else z3.BoolVal(False)
        return cache[prop.name]

    def good(self, e: M.Expr, st: StateVars | None = None) -> z3.ExprRef:
        v, ok = self.expr(e, st or self.cur, {})
        return _and(v, ok)

    def reached(self, prop: M.Property) -> z3.ExprRef:
        """States that witness a `reachable` property (true, without error)."""
        v, ok = self.expr(prop.pred, self.cur, {})
        return _and(v, ok)

    def type_error(self) -> z3.ExprRef:
        """States where some action instance fails to evaluate: `type_ok` is violated.

        Instances are ground (their parameters fixed), so that the negation, a
        hypothesis of induction, stays quantifier-free.
        """
        return z3.Or(*self.failing_instances().values()) if self.failing_instances() else z3.BoolVal(False)

    def failing_instances(self) -> dict[tuple[int, tuple[int, ...]], z3.ExprRef]:
        if not hasattr(self, "_failing"):
            out: dict[tuple[int, tuple[int, ...]], z3.ExprRef] = {}
            for ae in self.actions:
                if z3.is_false(z3.simplify(ae.failing)):
                    continue
                domains = [list(domain_values(p.type)) for p in ae.action.params]
                for values in product(*domains):
                    f = z3.substitute(ae.failing, *[(pv, self.const(p.type, v)) for p, pv, v in
                                                    zip(ae.action.params, ae.params, values, strict=True)])
                    f = z3.simplify(f)
                    if not z3.is_false(f):
                        out[(ae.index, tuple(values))] = f
            self._failing = out
        return self._failing

    # -- copies of the state at step k
    def state_at(self, k: int) -> StateVars:
        """The variables of step k (fresh constants named `x@k`)."""
        return self.make_state(f"@{k}")

    def next_leaves(self, ae: ActionEnc) -> list[z3.ExprRef]:
        """The leaves of the state after a step of `ae`, as terms over the current state."""
        out: list[z3.ExprRef] = []
        for v in self.model.vars:
            self._flat(v.type, ae.next[v.name], out)
        k = self.counter_index(ae.action)
        out += [self._counter_after(i)[0] if i == k else x for i, x in enumerate(self.cur.counters)]
        return out

    def after(self, f: z3.ExprRef, ae: ActionEnc) -> z3.ExprRef:
        """`f` (over the current state) evaluated in the state after a step of `ae`."""
        return substitute(f, self.cur.leaves, self.next_leaves(ae))

    def rename(self, f: z3.ExprRef, src: StateVars, dst: StateVars) -> z3.ExprRef:
        return substitute(f, src.leaves, dst.leaves)

    def _choices(self) -> list[tuple[z3.ExprRef, str]]:
        """The step's choice variables (the action and every parameter) with their names.

        Names are computed once: printing a Z3 term is slow, and steps are many."""
        if not hasattr(self, "_choice_names"):
            self._choice_names = [(self.sel, "action")] + [(p, f"{ae.action.name}.{q.name}") for ae in self.actions
                                                           for p, q in zip(ae.params, ae.action.params, strict=True)]
        return self._choice_names

    def step(self, k: int, src: StateVars, dst: StateVars) -> z3.ExprRef:
        """The transition from step k to step k+1, with the action's choices named `...@k`."""
        choices = self._choices()
        renamed = [z3.Const(f"{name}@{k}", v.sort()) for v, name in choices]
        return substitute(self.trans, [*self.cur.leaves, *self.nxt.leaves, *(v for v, _ in choices)],
                          [*src.leaves, *dst.leaves, *renamed])

    def choice_at(self, k: int) -> tuple[z3.ExprRef, dict[int, list[z3.ExprRef]]]:
        sel = z3.Const(f"action@{k}", self.sel_sort)
        return sel, {ae.index: [z3.Const(f"{ae.action.name}.{q.name}@{k}", p.sort())
                                for p, q in zip(ae.params, ae.action.params, strict=True)] for ae in self.actions}

    # -- reading models back
    def decode_state(self, mdl: z3.ModelRef, st: StateVars) -> tuple[dict[str, Any], int]:
        values = {v.name: self._read(mdl, v.type, st.tree[v.name]) for v in self.model.vars}
        return values, self.fault_code([self.arith.value_of(mdl.eval(x, model_completion=True))
                                        for x in st.counters])

    def _read(self, mdl: z3.ModelRef, t: Type, v: Sym) -> Any:
        match t:
            case BoolT():
                return z3.is_true(mdl.eval(v, model_completion=True))
            case IntT():
                return self.arith.value_of(mdl.eval(v, model_completion=True))
            case BVT():
                return mdl.eval(v, model_completion=True).as_long()
            case EnumT(_, ms):
                return ms[self._value(t, mdl.eval(v, model_completion=True))]
            case RecordT(fields):
                return {n: self._read(mdl, ft, x) for (n, ft), x in zip(fields, v, strict=True)}
            case MapT(k, vt):
                return MapValue((decode_scalar(k, key), self._read(mdl, vt, x))
                                for key, x in zip(domain_values(k), v, strict=True))
            case SetT(e):
                return frozenset(decode_scalar(e, key) for key, b in zip(domain_values(e), v, strict=True)
                                 if z3.is_true(mdl.eval(b, model_completion=True)))
            case QueueT(e, _):
                length = self.arith.value_of(mdl.eval(v[0], model_completion=True))
                return [self._read(mdl, e, x) for x in v[1][:length]]
        raise EncodingError(f"cannot read {t}")

    def decode_label(self, mdl: z3.ModelRef, k: int) -> Label:
        sel, params = self.choice_at(k)
        ae = self.actions[mdl.eval(sel, model_completion=True).as_long()]  # type: ignore[attr-defined]
        args = tuple((p.name, decode_scalar(p.type, self._value(p.type, mdl.eval(v, model_completion=True))))
                     for p, v in zip(ae.action.params, params[ae.index], strict=True))
        return Label(ae.action.name, args, ae.action.is_fault)

    def instance_label(self, index: int, values: tuple[int, ...]) -> Label:
        a = self.actions[index].action
        return Label(a.name, tuple((p.name, decode_scalar(p.type, v)) for p, v in zip(a.params, values, strict=True)),
                     a.is_fault)


def substitute(f: z3.ExprRef, src: Sequence[z3.ExprRef], dst: Sequence[z3.ExprRef]) -> z3.ExprRef:
    """z3.substitute without the Python wrapper's per-pair sort checks (the pairs
    come from one encoding, so the sorts agree by construction): it is called for
    every step of every unrolling."""
    n = len(src)
    a = (z3.Ast * n)(*(x.as_ast() for x in src))
    b = (z3.Ast * n)(*(y.as_ast() for y in dst))
    ctx = f.ctx
    return z3.z3._to_expr_ref(z3.Z3_substitute(ctx.ref(), f.as_ast(), n, a, b), ctx)


def _bool(x: Any) -> Any:
    return z3.BoolVal(x) if isinstance(x, bool) else x


def _is_value(x: z3.ExprRef) -> bool:
    return z3.is_int_value(x) or z3.is_bv_value(x) or z3.is_true(x) or z3.is_false(x)


def _resize(b: z3.ExprRef, frm: int, to: int) -> z3.ExprRef:
    return z3.ZeroExt(to - frm, b) if to > frm else z3.Extract(to - 1, 0, b)




_EXPR: dict[type, Callable[..., tuple[Sym, Any]]] = {
    M.Lit: Encoding._lit,
    M.VarRef: Encoding._var,
    M.Bound: Encoding._bound,
    M.Index: Encoding._index,
    M.Field: Encoding._field,
    M.Unary: Encoding._unary,
    M.Binary: Encoding._binary,
    M.Ite: Encoding._ite,
    M.Quant: Encoding._quant,
    M.Let: Encoding._let,
    M.SetLit: Encoding._setlit,
    M.RecordLit: Encoding._recordlit,
    M.MapLit: Encoding._maplit,
    M.Builtin: Encoding._builtin,
    M.Faults: Encoding._faults,
    M.Budget: Encoding._budget,
    M.Check: Encoding._check,
    M.Next: Encoding._next,
    M.Taken: Encoding._taken,
    M.Narrow: Encoding._narrow,
}
