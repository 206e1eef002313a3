"""Unbounded proofs by PDR/IC3 through Z3's Spacer (constrained Horn clauses).

One relation Inv over the state's leaves and three clauses:

    Inv(s)  <- init(s)
    Inv(s') <- Inv(s) && T(s, s')        (one rule: the disjunction of all actions)
    false   <- Inv(s) && bad(s)

Integers are Z3 integers here, so Spacer's lemmas are linear constraints that
print back as .ftv expressions (enum positions as `ord(x)`). The invariant
Spacer finds is re-checked twice before `proved` is reported: as a Z3 formula by
a fresh solver over a fresh encoding, and, printed and parsed back as .ftv, by
the bit-vector inductiveness check.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import z3
from ftverify.checker.engines import control
from ftverify.checker.engines.encode import Encoding, EncodingError
from ftverify.checker.engines.induction import check_inductive
from ftverify.checker.engines.symbolic import Deadline, Target, must_be_unsat, targets, type_preserved
from ftverify.checker.output.result import RecheckFailed, Result, Verdict
from ftverify.spec import model as M
from ftverify.spec import printer
from ftverify.spec import syntax as S
from ftverify.spec.budget import BudgetLike
from ftverify.spec.errors import SpecError
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import parse_expression
from ftverify.spec.types import (
    BoolT,
    EnumT,
    IntT,
    KeyT,
    MapT,
    QueueT,
    RecordT,
    SetKeyT,
    SetT,
    Type,
    domain_values,
    key_fields,
)

_N = None  # spans of printed syntax: none


def pdr(model: M.Model, budget: BudgetLike, name: str, timeout: float | None = None,
        interp: Interpreter | None = None, trace_depth: int = 60) -> Result:
    """Prove an invariant (or that a `reachable` property is unreachable, or type_ok) with Spacer."""
    start = time.perf_counter()
    interp = interp or Interpreter(model, budget)
    enc = Encoding(model, budget, "int")
    (tg,) = targets(enc, [name])
    if z3.is_false(z3.simplify(tg.formula)):  # no state is bad (an invariant `true`): nothing to search
        verdict = Verdict.VIOLATED if tg.kind == "reachable" else Verdict.PROVED
        return Result(name, tg.kind, verdict, "pdr", invariant=["true"], seconds=time.perf_counter() - start,
                      message=("unreachable: " if tg.kind == "reachable" else "") + "no state satisfies the "
                              + ("property" if tg.kind == "reachable" else "negation"))
    deadline = Deadline(timeout)
    choice = [enc.sel] + [p for ae in enc.actions for p in ae.params]
    fp, inv, r, reason, solver_seconds = spacer_query(
        "Inv", enc.cur.leaves, enc.nxt.leaves, choice, [enc.init, enc.type_cur],
        [enc.trans, enc.type_cur, enc.type_nxt], tg.formula, deadline, timeout)
    stats = {"solver_seconds": round(solver_seconds, 4)}
    if r == z3.unknown:
        control.check()  # a stop cancels Spacer: say so, not "gave up"
        return Result(name, tg.kind, Verdict.UNKNOWN, "pdr", seconds=time.perf_counter() - start, stats=stats,
                      message=f"Spacer gave up: {reason}")
    if r == z3.sat:
        return _counterexample(model, budget, tg, interp, deadline, trace_depth, start, stats)
    # Proved: read the invariant, re-check it, print it.
    formula = _invariant(fp, inv, enc.cur.leaves)
    _recheck_formula(model, budget, enc, tg, formula, deadline)
    texts, printed_ok = _print_invariant(enc, formula)
    if printed_ok:
        try:
            _recheck_printed(model, budget, tg, texts, interp, deadline)
        except RecheckFailed:
            # The proof stands (the formula itself was re-checked); only its .ftv
            # rendering is not faithful, so show the formula instead.
            texts, printed_ok = [formula.sexpr()], False
    verdict = Verdict.VIOLATED if tg.kind == "reachable" else Verdict.PROVED
    msg = "unreachable: " if tg.kind == "reachable" else ""
    msg += "inductive invariant found" + ("" if printed_ok else " (shown in SMT-LIB: not expressible in .ftv)")
    return Result(name, tg.kind, verdict, "pdr", invariant=texts, seconds=time.perf_counter() - start,
                  message=msg, stats=stats)


def spacer_query(name: str, cur: list[z3.ExprRef], nxt: list[z3.ExprRef], choices: list[z3.ExprRef],
                 init: list[z3.ExprRef], step: list[z3.ExprRef], bad: z3.ExprRef, deadline: Deadline,
                 timeout: float | None) -> tuple[z3.Fixedpoint, z3.FuncDeclRef, Any, str, float]:
    """Spacer on `name(cur) <- init; name(nxt) <- name(cur) && step`: can `bad` hold in `name`?
    Returns the solver, the relation, sat/unsat/unknown, why unknown, and the solver's seconds."""
    fp = z3.Fixedpoint()
    fp.set(engine="spacer")
    fp.set("ctrl_c", False)  # Ctrl-C is ours to handle (see `control`)
    # Inlining the rules lets Spacer answer without level lemmas and leaves
    # quantifiers in its solution; without it the solution is a clean formula.
    fp.set("xform.inline_linear", False)
    fp.set("xform.inline_eager", False)
    rel = z3.Function(name, *(x.sort() for x in cur), z3.BoolSort())
    fp.register_relation(rel)
    fp.declare_var(*cur, *nxt, *choices)
    fp.rule(rel(*cur), init)
    fp.rule(rel(*nxt), [rel(*cur), *step])
    deadline.arm(fp)
    t = time.perf_counter()
    try:
        with _spacer_progress():
            r = fp.query(z3.And(rel(*cur), bad))
        reason = fp.reason_unknown() if r == z3.unknown else ""
    except z3.Z3Exception as e:  # Spacer reports a timeout by cancelling the query
        r, reason = z3.unknown, f"timeout after {timeout:g} s" if timeout else str(e)
    return fp, rel, r, reason, time.perf_counter() - t


@contextlib.contextmanager
def _spacer_progress() -> Iterator[None]:
    """Spacer reports nothing while it works, except on Z3's verbose stream (file descriptor 2):
    while a progress display is on, read the levels it enters and the proof obligations it
    expands from there, and show them."""
    ctl = control.current()
    try:
        on_fd2 = ctl.display is not None and sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # stderr is not a file (captured by a test runner)
        on_fd2 = False
    if not on_fd2:
        yield
        return
    read_end, write_end = os.pipe()
    saved = os.dup(2)
    os.dup2(write_end, 2)
    os.close(write_end)
    z3.set_param("verbose", 1)

    def watch() -> None:
        level, expanded = 0, 0
        with os.fdopen(read_end, "r", errors="replace") as lines:
            for line in lines:
                if line.startswith("Entering level"):
                    level = int(line.split()[-1])
                elif line.startswith("expand:"):
                    expanded += 1
                else:
                    continue
                ctl.note(f"PDR level {level}, {expanded:,} proof obligations expanded")

    reader = threading.Thread(target=watch, name="ftverify-spacer", daemon=True)
    reader.start()
    try:
        yield
    finally:
        z3.set_param("verbose", 0)
        os.dup2(saved, 2)  # closes the pipe's last write end: the reader sees its end
        os.close(saved)
        reader.join(timeout=2.0)


def _counterexample(model: M.Model, budget: BudgetLike, tg: Target, interp: Interpreter, deadline: Deadline,
                    trace_depth: int, start: float, stats: dict[str, Any]) -> Result:
    """Spacer found a path; BMC gives the shortest one (replayed like every trace)."""
    from ftverify.checker.engines.bmc import bmc

    left = deadline.left()
    res, _ = bmc(model, budget, trace_depth, [tg.name], left if left is not None else None, interp)
    r = res[tg.name]
    if r.trace is None:
        return Result(tg.name, tg.kind, Verdict.UNKNOWN, "pdr", seconds=time.perf_counter() - start, stats=stats,
                      message=f"Spacer found a {'witness' if tg.kind == 'reachable' else 'violation'} but no "
                              f"trace within {trace_depth} steps was recovered")
    verdict = Verdict.PROVED if tg.kind == "reachable" else Verdict.VIOLATED
    return Result(tg.name, tg.kind, verdict, "pdr", r.trace, depth=r.depth, seconds=time.perf_counter() - start,
                  stats=stats, message=r.message)


def _invariant(fp: z3.Fixedpoint, inv: z3.FuncDeclRef, leaves: list[z3.ExprRef]) -> z3.ExprRef:
    """Spacer's solution for Inv (`ForAll(xs, Inv(xs) == body)`), over Inv's arguments `leaves`."""
    answer = fp.get_answer()
    if not z3.is_quantifier(answer):
        return answer if not z3.is_app_of(answer, z3.Z3_OP_UNINTERPRETED) else z3.BoolVal(True)
    body = answer.body()
    if z3.is_eq(body) and body.children()[0].decl().eq(inv):
        head, solution = body.children()
    elif body.decl().eq(inv):  # Inv(xs) alone: everything
        return z3.BoolVal(True)
    elif z3.is_not(body) and body.children()[0].decl().eq(inv):
        return z3.BoolVal(False)
    else:
        raise RecheckFailed(f"unexpected form of Spacer's answer: {answer}")
    # Bound variable Var(i) of the answer is Inv's argument at the position where it appears.
    by_index = {z3.get_var_index(a): leaf for a, leaf in zip(head.children(), leaves, strict=True)}
    return z3.substitute_vars(solution, *(by_index[i] for i in range(len(by_index))))


def _recheck_formula(model: M.Model, budget: BudgetLike, int_enc: Encoding, tg: Target, formula: z3.ExprRef,
                     deadline: Deadline) -> None:
    """Init => Inv, Inv && T => Inv' (per action) and Inv => not bad, by fresh solvers
    over a fresh *bit-vector* encoding: Spacer worked over mathematical integers, so
    the re-check shares no decision about how integers are represented. Spacer's
    formula is carried over by reading each integer leaf as its bit-vector's value."""
    enc = Encoding(model, budget, "bv")
    unsigned = {x.decl().name() for x in _enum_leaves(enc)}  # enum positions; other integers are signed
    pairs = [(li, z3.BV2Int(lb, is_signed=lb.decl().name() not in unsigned))
             for li, lb in zip(int_enc.cur.leaves, enc.cur.leaves, strict=True)
             if li.sort() != lb.sort()]  # Bools and the model's bit-vectors are the same constants
    inv = z3.substitute(formula, *pairs) if pairs else formula
    (bad,) = (t.formula for t in targets(enc, [tg.name]))
    type_preserved(enc, "bv", deadline)
    must_be_unsat("initiation of Spacer's invariant", z3.And(enc.init, enc.type_cur, z3.Not(inv)), "mixed", deadline)
    for ae in enc.actions:
        must_be_unsat(f"consecution of Spacer's invariant under {ae.action.name}",
                      z3.And(enc.type_cur, enc.param_types(ae), ae.enabled, inv, z3.Not(enc.after(inv, ae))),
                      "mixed", deadline)
    if tg.kind == "reachable":
        must_be_unsat("Spacer's invariant excludes the witness", z3.And(enc.type_cur, inv, bad), "mixed", deadline)
    else:
        must_be_unsat("Spacer's invariant implies the property", z3.And(enc.type_cur, inv, bad), "mixed", deadline)


def _enum_leaves(enc: Encoding) -> list[z3.ExprRef]:
    """The leaves of the bit-vector encoding that hold enum positions (unsigned)."""
    out: list[z3.ExprRef] = []

    def walk(t: Type, v: Any) -> None:
        match t:
            case EnumT():
                out.append(v)
            case RecordT(fields):
                for (_, ft), x in zip(fields, v, strict=True):
                    walk(ft, x)
            case MapT(_, vt):
                for x in v:
                    walk(vt, x)
            case QueueT(el, _):
                for x in v[1]:
                    walk(el, x)

    for var in enc.model.vars:
        walk(var.type, enc.cur.tree[var.name])
    return out


def _recheck_printed(model: M.Model, budget: BudgetLike, tg: Target, texts: list[str], interp: Interpreter,
                     deadline: Deadline) -> None:
    """The printed invariant, parsed and typed as .ftv, must be inductive by the bit-vector check."""
    helpers = []
    for i, text in enumerate(texts):
        try:
            helpers.append((f"pdr_{i}", parse_expression(model, text, "<pdr invariant>")))
        except SpecError as e:
            raise RecheckFailed(f"the printed invariant does not type-check: {text}: {e.message}") from None
    goal = tg.prop if tg.kind in M.SAFETY_KINDS else None
    if tg.kind == "reachable":
        assert tg.prop is not None
        helpers.append(("unreached", M.Unary(tg.prop.span, BoolT(), "not", tg.prop.pred)))
    r = check_inductive(model, budget, goal, helpers, deadline.left(), interp=interp, recheck=False,
                        type_ok=tg.kind == "type_ok")
    if r.verdict != Verdict.PROVED:
        raise RecheckFailed(f"the printed invariant is not inductive: {r.message}")


# ---------------------------------------------------------------- Z3 -> .ftv
class Unprintable(Exception):
    pass


def _leaf_names(enc: Encoding) -> dict[str, tuple[S.Expr, Type]]:
    """Every leaf of the template state as the .ftv expression that denotes it, with its type."""
    out: dict[str, tuple[S.Expr, Type]] = {}

    def walk(e: S.Expr, t: Type, v: Any) -> None:
        match t:
            case RecordT(fields):
                for (n, ft), x in zip(fields, v, strict=True):
                    walk(S.Field(_N, e, n), ft, x)  # type: ignore[arg-type]
            case MapT(k, vt):
                for key, x in zip(domain_values(k), v, strict=True):
                    walk(S.Index(_N, e, _key_syntax(k, key)), vt, x)  # type: ignore[arg-type]
            case SetT(el):
                for key, b in zip(domain_values(el), v, strict=True):
                    out[str(b)] = (S.Binary(_N, "in", _key_syntax(el, key), e), BoolT())  # type: ignore[arg-type]
            case QueueT(el, _):
                out[str(v[0])] = (S.Call(_N, "len", (e,)), IntT(0, 0))  # type: ignore[arg-type]
                for i, x in enumerate(v[1]):
                    if i == 0:
                        _queue_head(out, e, el, x)
            case _:
                out[str(v)] = (e, t)

    for var in enc.model.vars:
        walk(S.Name(_N, var.name), var.type, enc.cur.tree[var.name])  # type: ignore[arg-type]
    if len(enc.cur.counters) == 1 and enc.layout.counters[0].name == "faults":  # `faults` names the only counter
        out[str(enc.cur.counters[0])] = (S.Name(_N, "faults"), IntT(0, 0))  # type: ignore[arg-type]
    return out


def _queue_head(out: dict[str, tuple[S.Expr, Type]], q: S.Expr, el: Type, x: Any) -> None:
    # Only the head slot has a name in .ftv (and only while the queue is not empty).
    if isinstance(x, z3.ExprRef) and not isinstance(el, RecordT | MapT | SetT | QueueT):
        out[str(x)] = (S.Call(_N, "head", (q,)), el)  # type: ignore[arg-type]


def _key_syntax(t: Type, v: int) -> S.Expr:
    if isinstance(t, SetKeyT):  # a set literal
        return S.SetLit(_N, tuple(_key_syntax(t.elem, x) for i, x in enumerate(domain_values(t.elem))
                                  if v >> i & 1))  # type: ignore[arg-type]
    if isinstance(t, KeyT):  # a record literal
        return S.RecordLit(_N, tuple(S.FieldInit(_N, n, _key_syntax(ft, domain_values(ft)[(v // r) % size]))
                                     for n, ft, r, size in key_fields(t)))  # type: ignore[arg-type]
    if isinstance(t, EnumT):
        return S.Name(_N, t.members[v])  # type: ignore[arg-type]
    if isinstance(t, BoolT):
        return S.BoolLit(_N, bool(v))  # type: ignore[arg-type]
    return _int(v)


def _int(v: int) -> S.Expr:
    return S.IntLit(_N, v) if v >= 0 else S.Unary(_N, "-", S.IntLit(_N, -v))  # type: ignore[arg-type]


class _Printer:
    """Z3 terms of the integer encoding -> .ftv syntax, made readable: negated
    comparisons flipped, enum positions turned into members, and clauses with
    negated literals written as implications."""

    FLIP: ClassVar[dict[str, str]] = {"<=": ">", "<": ">=", ">=": "<", ">": "<=", "==": "!=", "!=": "=="}

    def __init__(self, leaves: dict[str, tuple[S.Expr, Type]]) -> None:
        self.leaves = leaves

    def enum_of(self, t: z3.ExprRef) -> EnumT | None:
        if z3.is_const(t) and str(t) in self.leaves:
            lt = self.leaves[str(t)][1]
            return lt if isinstance(lt, EnumT) else None
        return None

    def clause(self, t: z3.ExprRef) -> S.Expr:
        """A top-level lemma: `a && b -> c || d` when it is a disjunction with negated literals."""
        if z3.is_or(t):
            neg = [a.children()[0] for a in t.children() if z3.is_not(a)]
            pos = [a for a in t.children() if not z3.is_not(a)]
            if neg and pos:
                return S.Binary(_N, "->", self._chain("&&", [self.term(a) for a in neg]),  # type: ignore[arg-type]
                                self._chain("||", [self.term(a) for a in pos]))
        return self.term(t)

    def term(self, t: z3.ExprRef, negated: bool = False) -> S.Expr:
        if not z3.is_app(t):  # a quantifier or a bound variable: no .ftv form
            raise Unprintable(str(t))
        if z3.is_true(t) or z3.is_false(t):
            return S.BoolLit(_N, z3.is_true(t) != negated)  # type: ignore[arg-type]
        if z3.is_not(t):
            return self.term(t.children()[0], not negated)
        if negated:
            cmp = self._comparison(t, True)
            if cmp is not None:
                return cmp
            return S.Unary(_N, "!", self.term(t))  # type: ignore[arg-type]
        cmp = self._comparison(t, False)
        if cmp is not None:
            return cmp
        if z3.is_bv(t):
            return self.bv(t, _leaf_width(t))
        if z3.is_int_value(t):
            return _int(t.as_long())  # type: ignore[attr-defined]
        if z3.is_bv_value(t):
            return S.IntLit(_N, t.as_long())  # type: ignore[arg-type, attr-defined]
        if z3.is_const(t):
            if str(t) not in self.leaves:
                raise Unprintable(str(t))
            e, lt = self.leaves[str(t)]
            return S.Call(_N, "ord", (e,)) if isinstance(lt, EnumT) else e  # type: ignore[arg-type]
        k = t.decl().kind()
        args = t.children()
        if k == z3.Z3_OP_ADD:
            # a + -1 * b  ->  a - b
            out = self.term(args[0])
            for a in args[1:]:
                if z3.is_app_of(a, z3.Z3_OP_MUL) and z3.is_int_value(a.children()[0]) \
                        and a.children()[0].as_long() == -1 and len(a.children()) == 2:  # type: ignore[attr-defined]
                    out = S.Binary(_N, "-", out, self.term(a.children()[1]))  # type: ignore[arg-type]
                else:
                    out = S.Binary(_N, "+", out, self.term(a))  # type: ignore[arg-type]
            return out
        nary = {z3.Z3_OP_AND: "&&", z3.Z3_OP_OR: "||", z3.Z3_OP_MUL: "*", z3.Z3_OP_SUB: "-"}
        if k in nary:
            return self._chain(nary[k], [self.term(a) for a in args])
        binops = {z3.Z3_OP_IMPLIES: "->", z3.Z3_OP_IDIV: "/", z3.Z3_OP_MOD: "%"}
        if k in binops and len(args) == 2:
            return S.Binary(_N, binops[k], self.term(args[0]), self.term(args[1]))  # type: ignore[arg-type]
        if k == z3.Z3_OP_UMINUS:
            return S.Unary(_N, "-", self.term(args[0]))  # type: ignore[arg-type]
        if k == z3.Z3_OP_ITE:
            return S.Ite(_N, *(self.term(a) for a in args))  # type: ignore[arg-type]
        if k == z3.Z3_OP_BV2INT:
            return S.Call(_N, "int", (self.term(args[0]),))  # type: ignore[arg-type]
        if k == z3.Z3_OP_BIT2BOOL:
            (bit,) = t.params()
            x = args[0]
            n = _leaf_width(x)
            bits = S.Binary(_N, "&", S.Binary(_N, ">>", self.bv(x, n), S.IntLit(_N, bit)),  # type: ignore[arg-type]
                            S.IntLit(_N, 1))
            return S.Binary(_N, "==", bits, S.IntLit(_N, 1))  # type: ignore[arg-type]
        raise Unprintable(t.decl().name())

    def bv(self, t: z3.ExprRef, n: int) -> S.Expr:
        """A bit-vector term of width k <= n as an n-bit .ftv value (zero-extended).

        The leaves are n-bit variables; a narrower intermediate (an extract, a
        concat) is kept zero-extended, and arithmetic that wraps at k bits is
        masked back to k bits, so the n-bit value always equals the k-bit one.
        """
        k = t.size()
        if k > n:
            raise Unprintable("a bit-vector wider than its variables")
        mask = (1 << k) - 1

        def masked(e: S.Expr) -> S.Expr:
            return e if k == n else S.Binary(_N, "&", e, S.IntLit(_N, mask))  # type: ignore[arg-type]

        if z3.is_bv_value(t):
            return S.IntLit(_N, t.as_long())  # type: ignore[arg-type, attr-defined]
        if z3.is_const(t):
            if str(t) not in self.leaves or k != n:
                raise Unprintable(str(t))
            return self.leaves[str(t)][0]
        kind = t.decl().kind()
        args = t.children()
        if kind == z3.Z3_OP_EXTRACT:
            _, lo = t.params()
            inner = self.bv(args[0], n)
            shifted = S.Binary(_N, ">>", inner, S.IntLit(_N, lo)) if lo else inner  # type: ignore[arg-type]
            return masked(shifted)
        if kind == z3.Z3_OP_CONCAT:
            out = self.bv(args[0], n)
            for a in args[1:]:
                out = S.Binary(_N, "|", S.Binary(_N, "<<", out, S.IntLit(_N, a.size())),  # type: ignore[arg-type]
                               self.bv(a, n))
            return out
        if kind == z3.Z3_OP_ZERO_EXT:
            return self.bv(args[0], n)
        if kind == z3.Z3_OP_BNOT:
            return masked(S.Unary(_N, "~", self.bv(args[0], n)))  # type: ignore[arg-type]
        if kind == z3.Z3_OP_ITE:
            return S.Ite(_N, self.term(args[0]), self.bv(args[1], n), self.bv(args[2], n))  # type: ignore[arg-type]
        wrapping = {z3.Z3_OP_BADD: "+", z3.Z3_OP_BMUL: "*", z3.Z3_OP_BSUB: "-", z3.Z3_OP_BSHL: "<<"}
        exact = {z3.Z3_OP_BAND: "&", z3.Z3_OP_BOR: "|", z3.Z3_OP_BXOR: "^", z3.Z3_OP_BLSHR: ">>"}
        if kind in wrapping or kind in exact:
            op = wrapping.get(kind) or exact[kind]
            out = self.bv(args[0], n)
            for a in args[1:]:
                out = S.Binary(_N, op, out, self.bv(a, n))  # type: ignore[arg-type]
                if kind in wrapping:
                    out = masked(out)
            return out
        raise Unprintable(t.decl().name())

    def _comparison(self, t: z3.ExprRef, negated: bool) -> S.Expr | None:
        if not z3.is_app(t):
            return None
        k = t.decl().kind()
        ops = {z3.Z3_OP_EQ: "==", z3.Z3_OP_LE: "<=", z3.Z3_OP_LT: "<", z3.Z3_OP_GE: ">=", z3.Z3_OP_GT: ">",
               z3.Z3_OP_ULEQ: "<=", z3.Z3_OP_ULT: "<", z3.Z3_OP_UGEQ: ">=", z3.Z3_OP_UGT: ">"}
        args = t.children()
        if k == z3.Z3_OP_DISTINCT and len(args) == 2:
            op = "!="
        elif k in ops and len(args) == 2:
            op = ops[k]
        else:
            return None
        if negated:
            op = self.FLIP[op]
        a, b = args
        if a.sort() == z3.BoolSort():
            if op not in ("==", "!="):
                return None
            return S.Binary(_N, "<->" if op == "==" else "!=", self.term(a), self.term(b))  # type: ignore[arg-type]
        enum_side = self._enum_constant(a, b, op)
        if enum_side is not None:
            return enum_side
        if self.enum_of(a) and self.enum_of(b) and op in ("==", "!="):
            return S.Binary(_N, op, self.leaves[str(a)][0], self.leaves[str(b)][0])  # type: ignore[arg-type]
        if z3.is_bv(a):
            n = max(_leaf_width(a), _leaf_width(b))
            return S.Binary(_N, op, self.bv(a, n), self.bv(b, n))  # type: ignore[arg-type]
        return S.Binary(_N, op, self.term(a), self.term(b))  # type: ignore[arg-type]

    def _enum_constant(self, a: z3.ExprRef, b: z3.ExprRef, op: str) -> S.Expr | None:
        """`x OP k` for an enum leaf x: the members it admits, by name where that reads better."""
        mirror = {"<=": ">=", "<": ">", ">=": "<=", ">": "<", "==": "==", "!=": "!="}
        if self.enum_of(a) and z3.is_int_value(b):
            var, k = a, b.as_long()  # type: ignore[attr-defined]
        elif self.enum_of(b) and z3.is_int_value(a):
            var, k, op = b, a.as_long(), mirror[op]  # type: ignore[attr-defined]
        else:
            return None
        enum = self.enum_of(var)
        assert enum is not None
        test = {"==": lambda i: i == k, "!=": lambda i: i != k, "<=": lambda i: i <= k, "<": lambda i: i < k,
                ">=": lambda i: i >= k, ">": lambda i: i > k}[op]
        members = [m for i, m in enumerate(enum.members) if test(i)]
        others = [m for m in enum.members if m not in members]
        x = self.leaves[str(var)][0]
        if not members:
            return S.BoolLit(_N, False)  # type: ignore[arg-type]
        if not others:
            return S.BoolLit(_N, True)  # type: ignore[arg-type]
        if len(others) == 1:
            return S.Binary(_N, "!=", x, S.Name(_N, others[0]))  # type: ignore[arg-type]
        if len(members) <= 3:
            return self._chain("||", [S.Binary(_N, "==", x, S.Name(_N, m)) for m in members])  # type: ignore[arg-type]
        return S.Binary(_N, op, S.Call(_N, "ord", (x,)), _int(k))  # type: ignore[arg-type]

    def _chain(self, op: str, parts: list[S.Expr]) -> S.Expr:
        out = parts[0]
        for p in parts[1:]:
            out = S.Binary(_N, op, out, p)  # type: ignore[arg-type]
        return out


def _leaf_width(t: z3.ExprRef) -> int:
    """The width of the bit-vector variables in t (all of one width, or it is not printable)."""
    widths = set()
    stack = [t]
    while stack:
        x = stack.pop()
        if z3.is_const(x) and z3.is_bv(x) and not z3.is_bv_value(x):
            widths.add(x.size())
        stack += x.children()
    if len(widths) > 1:
        raise Unprintable("bit-vectors of several widths in one term")
    return widths.pop() if widths else (t.size() if z3.is_bv(t) else 0)


def _print_invariant(enc: Encoding, formula: z3.ExprRef) -> tuple[list[str], bool]:
    """The invariant as a list of .ftv conjuncts, or its SMT-LIB text if it cannot be printed."""
    parts = formula.children() if z3.is_and(formula) else [formula]
    pr = _Printer(_leaf_names(enc))
    try:
        texts = [printer.expr(pr.clause(p)) for p in parts if not z3.is_true(p)]
    except (Unprintable, IndexError, EncodingError, z3.Z3Exception):
        return [formula.sexpr()], False
    return texts or ["true"], True
