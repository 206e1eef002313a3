"""The Z3 encoding, checked against the reference interpreter expression by expression.

On a set of concrete states (every reachable state of a small model, a sample
of reachable ones and random type-correct ones of a larger one), every compiled
piece of the model is evaluated twice: by the interpreter, and by the encoding
with the state's leaves (and the action's parameters) replaced by constants and
simplified by Z3. Compared are: `init`; every action instance's enabledness,
failure to evaluate, and successor state; every property's predicates; and the
type constraints. Each integer representation the engines use is checked
(`bv`, `int`, and the re-checks' `checked`).

A disagreement is a bug in the encoding (or in the interpreter): it is reported
with the file:line:col of the smallest sub-expression on which the two disagree,
the state, and both values.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import z3
from ftverify.checker.engines import control
from ftverify.checker.engines.encode import ActionEnc, Encoding, EncodingError, Sym
from ftverify.checker.engines.explicit import Limits, explore
from ftverify.checker.engines.symbolic import Deadline, checked_encoding
from ftverify.spec import model as M
from ftverify.spec.budget import BudgetLike
from ftverify.spec.compile import _C, EvalError
from ftverify.spec.errors import Span
from ftverify.spec.interp import Interpreter
from ftverify.spec.types import (
    BVT,
    BoolT,
    EnumT,
    IntT,
    MapT,
    QueueT,
    RecordT,
    SetT,
    Type,
    decode,
    decode_scalar,
    domain_size,
    domain_values,
    is_scalar,
    width,
)

ARITHS = ("bv", "int", "checked")
ERROR = "<evaluation error>"


@dataclass
class Disagreement:
    span: Span  # the smallest sub-expression found to disagree
    what: str  # e.g. "the guard of set", "the update of y by inc(p=1)", "invariant never"
    arith: str
    state: dict[str, Any]
    faults: int
    interpreter: Any
    encoding: Any

    def __str__(self) -> str:
        state = ", ".join(f"{k} = {v}" for k, v in self.state.items())
        return (f"{self.span}: {self.what} disagrees ({self.arith} encoding): interpreter {_show(self.interpreter)}, "
                f"encoding {_show(self.encoding)}, in state {{{state}}} with {self.faults} fault(s)")


@dataclass
class CrossCheck:
    model: M.Model
    budget: BudgetLike
    reachable: int = 0  # states checked that were reached by exploration
    random: int = 0  # random type-correct states checked
    complete: bool = False  # every reachable state was checked
    evaluations: int = 0
    ariths: list[str] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # representations that cannot encode the model, and why
    seconds: float = 0.0


def _show(v: Any) -> str:
    from ftverify.spec.types import format_value

    return v if v == ERROR else format_value(v)


class _Values:
    """A Z3 model of one concrete state: its leaves equal to constants."""

    def __init__(self, pairs: list[tuple[z3.ExprRef, z3.ExprRef]]) -> None:
        s = z3.Solver()
        s.add(*(a == b for a, b in pairs))
        assert s.check() == z3.sat
        self.model = s.model()

    def eval(self, t: z3.ExprRef, model_completion: bool = True) -> z3.ExprRef:
        return self.model.eval(t, model_completion=True)


def cross_check(model: M.Model, budget: BudgetLike, states: int = 400, seed: int = 0, ariths: tuple[str, ...] = ARITHS,
                timeout: float | None = None, max_disagreements: int = 10) -> CrossCheck:
    """Compare the encoding with the interpreter on up to `states` concrete states (see the module doc)."""
    start = time.monotonic()
    out = CrossCheck(model, budget)
    interp = Interpreter(model, budget)
    sample = _states(interp, states, seed, out)
    deadline = Deadline(timeout)
    for arith in ariths:
        try:
            enc = checked_encoding(model, budget, lambda e: None, deadline)[0] if arith == "checked" \
                else Encoding(model, budget, arith)
        except EncodingError as e:
            out.skipped.append(f"{arith}: {e}")
            continue
        out.ariths.append(arith)
        checker = _Checker(interp, enc, out)
        for k, s in enumerate(sample):
            control.check()
            control.note(f"{arith} encoding: state {k + 1} of {len(sample)}")
            checker.state(s)
            if len(out.disagreements) >= max_disagreements or deadline.expired():
                break
        if len(out.disagreements) >= max_disagreements or deadline.expired():
            break
    out.seconds = time.monotonic() - start
    return out


def _states(interp: Interpreter, n: int, seed: int, out: CrossCheck) -> list[int]:
    """Reachable states (all of them when there are at most n), topped up with random type-correct ones."""
    ex = explore(interp, Limits(max_states=n + 1), progress=None, stop_when_decided=False)
    reached = list(ex.parent)
    out.complete = ex.complete and len(reached) <= n
    rng = random.Random(seed)
    if len(reached) > n // 2 and not out.complete:
        reached = rng.sample(reached, n // 2)
    out.reachable = len(reached)
    extra = [] if out.complete else [_random_state(interp, rng) for _ in range(n - len(reached))]
    out.random = len(extra)
    return reached + extra


def _random_state(interp: Interpreter, rng: random.Random) -> int:
    layout = interp.layout
    s = 0
    for sl in layout.slots:
        s |= _random_code(sl.type, rng) << sl.offset
    for c in layout.counters:
        s |= rng.randint(0, c.cap) << c.offset
    return s


def _random_code(t: Type, rng: random.Random) -> int:
    match t:
        case RecordT(fields):
            v, off = 0, 0
            for _, ft in fields:
                v |= _random_code(ft, rng) << off
                off += width(ft)
            return v
        case MapT(k, vt):
            w = width(vt)
            return sum(_random_code(vt, rng) << (i * w) for i in range(domain_size(k)))
        case SetT(e):
            return rng.getrandbits(domain_size(e)) if domain_size(e) else 0
        case QueueT(e, n):
            length = rng.randint(0, n)
            lw, ew = n.bit_length(), width(e)
            return length | sum(_random_code(e, rng) << (lw + i * ew) for i in range(length))
    return rng.randrange(domain_size(t))


class _Checker:
    def __init__(self, interp: Interpreter, enc: Encoding, out: CrossCheck) -> None:
        self.interp, self.enc, self.out = interp, enc, out
        self.arith = enc.arith.name
        model = interp.model
        self.preds: list[tuple[str, M.Expr, Any]] = []
        # A step property: the encoding's "some step from here breaks it" (the property over each
        # action's successor terms) against the interpreter's, over the successor states it computes.
        self.steps = [(p, z3.Not(enc.bad(p))) for p in model.properties if p.kind == "step"]
        for p in model.properties:
            if p.kind == "step":
                continue
            self.preds.append((f"{p.kind} {p.name}", p.pred, enc.good(p.pred)))
            if p.target is not None:
                self.preds.append((f"the target of {p.kind} {p.name}", p.target, enc.good(p.target)))
        self.instances = {(i.action.name, i.values): i for i in interp.instances}
        self.ground: dict[tuple[int, tuple[int, ...]], tuple[dict[int, Sym], Any, Any]] = {}
        self.ground_next: dict[tuple[int, tuple[int, ...]], list[z3.ExprRef | None]] = {}
        self._now: tuple[int, list[int]] = (-1, [])
        # how to read each leaf's value back as the interpreter's run-time value
        self.readers = _readers(enc)
        # leaf index ranges of each variable, to name what an update got wrong
        self.var_leaves: list[tuple[str, int, int]] = []
        at = 0
        for v in model.vars:
            n = len(_flat(enc, v.type, enc.cur.tree[v.name]))
            self.var_leaves.append((v.name, at, at + n))
            at += n

    # -- one state
    def state(self, s: int) -> None:
        enc, interp = self.enc, self.interp
        model = interp.model
        values = interp.decode(s)
        faults = interp.layout.faults(s)
        ev = _Values(self._state_pairs(values, faults))
        here = (s, values, faults, ev)
        # every state checked is type-correct
        self._compare("the type constraints", model.span, True, _bool(ev.eval(enc.type_cur)), values, faults)
        init_i = faults == 0 and _holds(interp.predicate(model.init), s)
        init_e = _bool(ev.eval(enc.init))
        self.out.evaluations += 1
        if init_i != init_e:
            self._expr("init", model.init, {}, {}, here, init_i, init_e)
        for what, e, f in self.preds:
            vi, ve = _holds(interp.predicate(e), s), _bool(ev.eval(f))
            self.out.evaluations += 1
            if vi != ve:
                self._expr(what, e, {}, {}, here, vi, ve)
        for p, f in self.steps:
            vi, ve = _holds(interp.properties[p.name], s), _bool(ev.eval(f))
            self.out.evaluations += 1
            if vi != ve:
                self._compare(f"step {p.name} (every step from the state keeps it)", p.span, vi, ve, values, faults)
        for ae in enc.actions:
            self._action(ae, here)

    def _state_pairs(self, values: dict[str, Any], faults: int) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
        enc = self.enc
        consts: list[z3.ExprRef] = []
        for v in enc.model.vars:
            consts += _flat(enc, v.type, enc._plain(v.type, values[v.name]))
        consts += [enc.represent(IntT(0, c.cap), enc.arith.val(n))
                   for c, n in zip(enc.layout.counters, enc.layout.fault_counts(faults), strict=True)]
        return list(zip(enc.cur.leaves, consts, strict=True))

    def _instance(self, ae: ActionEnc, combo: tuple[int, ...]) -> tuple[dict[int, Sym], Any, Any]:
        """The instance's parameter constants, and its enabled and failing conditions over the state."""
        key = (ae.index, combo)
        if key not in self.ground:
            env_e = {p.uid: self.enc.const(p.type, v) for p, v in zip(ae.action.params, combo, strict=True)}
            pairs = [(leaf, env_e[p.uid]) for p, leaf in zip(ae.action.params, ae.params, strict=True)]
            ground = [z3.substitute(f, *pairs) if pairs else f for f in (ae.enabled, ae.failing)]
            self.ground[key] = (env_e, *ground)
        return self.ground[key]

    def _action(self, ae: ActionEnc, here: tuple[int, dict[str, Any], int, _Values]) -> None:
        enc, a = self.enc, ae.action
        s, _, faults, ev = here
        for combo in product(*(domain_values(p.type) for p in a.params)):
            env_e, enabled, failing = self._instance(ae, tuple(combo))
            env_i = {p.uid: _C(v) for p, v in zip(a.params, combo, strict=True)}
            label = a.name + ("(" + ", ".join(f"{p.name}={decode_scalar(p.type, v)}"
                                              for p, v in zip(a.params, combo, strict=True)) + ")" if combo else "")
            # The interpreter tests a fault's budget, then the guard, then runs the updates.
            inst = self.instances.get((a.name, tuple(combo)))
            guard_i: Any = False
            t: int | None = None
            update_error = False
            if inst is not None:
                try:
                    guard_i = inst.guard is None or bool(inst.guard(s))
                except EvalError:
                    guard_i = ERROR
                if guard_i is True:
                    try:
                        t = inst.apply(s)
                    except EvalError:
                        update_error = True
            enabled_e, failing_e = _bool(ev.eval(enabled)), _bool(ev.eval(failing))
            self.out.evaluations += 1
            if enabled_e == (t is not None) and failing_e == (guard_i == ERROR or update_error):
                if t is not None:
                    self._post(ae, tuple(combo), label, env_i, env_e, here, t)
                continue
            k = enc.counter_index(a)
            budget_left = k is None or enc.layout.fault_counts(faults)[k] < enc.layout.counters[k].cap
            guard_e = self._value_or_error(a.guard, env_e, ev) if budget_left else False
            if guard_i != guard_e:
                self._expr(f"the guard of {label}", a.guard, env_i, env_e, here, guard_i, guard_e)
            else:
                self._updates(a, None, label, env_i, env_e, here, "evaluates" if update_error else "fails",
                              "fails" if update_error else "evaluates")

    def _post(self, ae: ActionEnc, combo: tuple[int, ...], label: str, env_i: dict[int, Any],
              env_e: dict[int, Sym], at: tuple[int, dict[str, Any], int, _Values], t: int) -> None:
        enc, interp, a = self.enc, self.interp, ae.action
        ev = at[3]
        key = (ae.index, combo)
        if key not in self.ground_next:
            pairs = [(leaf, env_e[p.uid]) for p, leaf in zip(a.params, ae.params, strict=True)]
            # None: the encoding leaves this leaf as it is (no need to ask Z3 its value)
            self.ground_next[key] = [None if x.eq(c) else z3.substitute(x, *pairs) if pairs else x
                                     for x, c in zip(enc.next_leaves(ae), enc.cur.leaves, strict=True)]
        now = self.leaf_values(at[0])
        got_terms = [c if x is None else ev.eval(x) for x, c in zip(self.ground_next[key], enc.cur.leaves, strict=True)]
        got = [now[i] if x is None else read(got_terms[i])
               for i, (read, x) in enumerate(zip(self.readers, self.ground_next[key], strict=True))]
        expected = _leaf_values(interp, t)
        self.out.evaluations += 1
        if got == expected:
            return
        got_terms = [ev.eval(x) for x in got_terms]
        post = interp.decode(t)
        for name, lo, hi in self.var_leaves:
            if got[lo:hi] != expected[lo:hi]:
                vt = enc.model.var(name).type
                decoded = enc._read(ev, vt, _unflat(vt, got_terms[lo:hi]))  # type: ignore[arg-type]
                self._updates(a, name, label, env_i, env_e, at, post[name], decoded)
        n = len(enc.layout.counters)
        if n and got[-n:] != expected[-n:]:
            self._compare(f"the fault counters after {label}", a.span, expected[-n:], got[-n:], at[1], at[2])

    def leaf_values(self, s: int) -> list[int]:
        if self._now[0] != s:
            self._now = (s, _leaf_values(self.interp, s))
        return self._now[1]

    # -- reporting, at the smallest disagreeing sub-expression
    def _value_or_error(self, e: M.Expr, env_e: dict[int, Sym], ev: _Values) -> Any:
        v, ok = self.enc.expr(e, self.enc.cur, env_e)
        if _bool(ev.eval(z3.BoolVal(ok) if isinstance(ok, bool) else ok)) is not True:
            return ERROR
        return self.enc._read(ev, e.type, v)  # type: ignore[arg-type]

    def _interp_value(self, e: M.Expr, env_i: dict[int, Any], s: int) -> Any:
        try:
            v = self.interp.compiler.fn(e, env_i)(s)
        except EvalError:
            return ERROR
        return decode_scalar(e.type, int(v)) if is_scalar(e.type) else decode(e.type, int(v))

    def _expr(self, what: str, e: M.Expr, env_i: dict[int, Any], env_e: dict[int, Sym],
              at: tuple[int, dict[str, Any], int, _Values], vi: Any, ve: Any) -> None:
        s, values, faults, ev = at
        x = e
        while True:  # descend to the deepest sub-expression that still disagrees
            for c in _children(x, set(env_i)):
                ci, ce = self._interp_value(c, env_i, s), self._value_or_error(c, env_e, ev)
                if ci != ce:
                    x, vi, ve = c, ci, ce
                    break
            else:
                break
        self._add(Disagreement(x.span, what + ("" if x is e else f" (in the sub-expression at {x.span})"),
                               self.arith, values, faults, vi, ve))

    def _updates(self, a: M.Action, var: str | None, label: str, env_i: dict[int, Any], env_e: dict[int, Sym],
                 at: tuple[int, dict[str, Any], int, _Values], vi: Any, ve: Any) -> None:
        """An update disagrees (var None: on whether the updates evaluate at all): find the assignment."""
        s, values, faults, ev = at
        assigns = [st for st in M.walk_stmts(a.body) if isinstance(st, M.Assign)
                   and (var is None or _root(st.target) == var)]
        for st in assigns:  # an assigned value that itself disagrees is the culprit
            for e in (st.value, st.target):
                if _free_bounds(e) <= set(env_i):
                    ci, ce = self._interp_value(e, env_i, s), self._value_or_error(e, env_e, ev)
                    if ci != ce:
                        self._expr(f"the assignment to {_root(st.target)} in {label}", e, env_i, env_e, at, ci, ce)
                        return
        span = assigns[0].span if assigns else a.span
        what = f"the update of {var} by {label}" if var else f"the updates of {label}"
        self._add(Disagreement(span, what, self.arith, values, faults, vi, ve))

    def _compare(self, what: str, span: Span | None, vi: Any, ve: Any, values: dict[str, Any], faults: int) -> None:
        self.out.evaluations += 1
        if vi != ve:
            assert span is not None
            self._add(Disagreement(span, what, self.arith, values, faults, vi, ve))

    def _add(self, d: Disagreement) -> None:
        if all((d.span, d.what, d.arith) != (x.span, x.what, x.arith) for x in self.out.disagreements):
            self.out.disagreements.append(d)


def _readers(enc: Encoding) -> list[Callable[[z3.ExprRef], int]]:
    """Per leaf of the template state (in order), its constant as a run-time value."""
    def boolean(v: z3.ExprRef) -> int:
        return 1 if z3.is_true(v) else 0 if z3.is_false(v) else -1

    def unsigned(v: z3.ExprRef) -> int:
        return v.as_long() if z3.is_bv_value(v) else -1  # type: ignore[attr-defined]

    def integer(v: z3.ExprRef) -> int:
        return enc.arith.value_of(v) if z3.is_bv_value(v) or z3.is_int_value(v) else -(1 << 80)

    out: list[Callable[[z3.ExprRef], int]] = []

    def walk(t: Type) -> None:
        match t:
            case RecordT(fields):
                for _, ft in fields:
                    walk(ft)
            case MapT(k, vt):
                for _ in domain_values(k):
                    walk(vt)
            case SetT(e):
                out.extend(boolean for _ in domain_values(e))
            case QueueT(e, n):
                out.append(integer)
                for _ in range(n):
                    walk(e)
            case BoolT():
                out.append(boolean)
            case BVT():
                out.append(unsigned)
            case EnumT():
                out.append(unsigned if enc.enum_width(t) else integer)
            case _:
                out.append(integer)

    for v in enc.model.vars:
        walk(v.type)
    out += [integer for _ in enc.layout.counters]  # the fault counters
    return out


def _leaf_values(interp: Interpreter, s: int) -> list[int]:
    """The run-time values of the leaves of packed state s, in the encoding's leaf order."""
    out: list[int] = []

    def walk(t: Type, code: int) -> None:
        match t:
            case RecordT(fields):
                off = 0
                for _, ft in fields:
                    walk(ft, (code >> off) & ((1 << width(ft)) - 1))
                    off += width(ft)
            case MapT(k, vt):
                w = width(vt)
                for i in range(domain_size(k)):
                    walk(vt, (code >> (i * w)) & ((1 << w) - 1))
            case SetT(e):
                out.extend((code >> i) & 1 for i in range(domain_size(e)))
            case QueueT(e, n):
                lw, ew = n.bit_length(), width(e)
                out.append(code & ((1 << lw) - 1))
                for i in range(n):
                    walk(e, (code >> (lw + i * ew)) & ((1 << ew) - 1))
            case IntT(lo, _):
                out.append(code + lo)
            case _:
                out.append(code)

    for sl in interp.layout.slots:
        walk(sl.type, (s >> sl.offset) & ((1 << sl.width) - 1))
    out += interp.layout.fault_counts(interp.layout.faults(s))
    return out


def _holds(f: Callable[[int], Any], s: int) -> bool:
    try:
        return bool(f(s))
    except EvalError:
        return False


def _bool(t: z3.ExprRef) -> Any:
    if z3.is_true(t):
        return True
    if z3.is_false(t):
        return False
    return f"<not a constant: {t}>"


def _flat(enc: Encoding, t: Type, v: Sym) -> list[z3.ExprRef]:
    out: list[z3.ExprRef] = []
    enc._flat(t, v, out)
    return out


def _unflat(t: Type, leaves: list[z3.ExprRef]) -> Sym:
    """The value tree of type t from its leaves (the inverse of `Encoding._flat`)."""
    it = iter(leaves)

    def build(t: Type) -> Sym:
        match t:
            case RecordT(fields):
                return tuple(build(ft) for _, ft in fields)
            case MapT(k, vt):
                return tuple(build(vt) for _ in domain_values(k))
            case SetT(e):
                return tuple(next(it) for _ in domain_values(e))
            case QueueT(e, n):
                length = next(it)
                return (length, tuple(build(e) for _ in range(n)))
        return next(it)

    return build(t)


def _root(e: M.Expr) -> str:
    while isinstance(e, M.Index | M.Field):
        e = e.base
    assert isinstance(e, M.VarRef)
    return e.name


def _children(e: M.Expr, env: set[int]) -> list[M.Expr]:
    """The sub-expressions of e that can be evaluated on their own: no name in them is
    bound by a quantifier, `let` or map literal of e (only parameters in `env`)."""
    match e:
        case M.Index(base=b, index=i):
            xs = [b, i]
        case M.Field(base=b) | M.Unary(arg=b) | M.Check(arg=b) | M.Narrow(arg=b):
            xs = [b]
        case M.Binary(left=a, right=b):
            xs = [a, b]
        case M.Ite(cond=c, then=a, orelse=b):
            xs = [c, a, b]
        case M.SetLit(elems=es) | M.RecordLit(fields=es) | M.Builtin(args=es):
            xs = list(es)
        case M.Let(value=v):
            xs = [v]
        case _:
            xs = []
    return [x for x in xs if _free_bounds(x) <= env]


def _free_bounds(e: M.Expr) -> set[int]:
    """The uids of the bound names e uses but does not bind itself."""
    used = {x.uid for x in M.walk(e) if isinstance(x, M.Bound)}
    binders = {x.var.uid for x in M.walk(e) if isinstance(x, M.Quant | M.Let | M.MapLit)}
    return used - binders
