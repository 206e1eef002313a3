"""Inductiveness checks: is `goal && helper1 && ...` an inductive invariant?

As mypyvy's `verify` and Apalache's `--inductive`: initiation (every initial
state satisfies every conjunct) and consecution (from any state satisfying all
of them, every step leads to a state satisfying all of them). A failure of
consecution comes back as a counterexample to induction (CTI): the pre-state,
the action with its arguments, the post-state, and the conjuncts that break.

A success is re-checked before `proved` is reported, by fresh solvers over a
fresh encoding with another integer representation (for the bit-vector check,
one uniform width whose freedom from overflow the solver proves first: see
`CheckedBVArith`), under what is left of the time limit.
"""

from __future__ import annotations

import time
from typing import Any

import z3
from ftverify.checker.engines import control
from ftverify.checker.engines.encode import ActionEnc, Encoding, _and
from ftverify.checker.engines.replay import replay
from ftverify.checker.engines.symbolic import (
    Deadline,
    checked_encoding,
    checked_helper,
    must_be_unsat,
    read_trace,
    type_preserved,
)
from ftverify.checker.output.result import CTI, RecheckFailed, Result, Trace, Verdict
from ftverify.spec import model as M
from ftverify.spec.budget import BudgetLike
from ftverify.spec.interp import Interpreter


def conjuncts(enc: Encoding, goal: M.Property | None, helpers: list[tuple[str, M.Expr]],
              type_ok: bool = False) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if goal is not None:
        out.append((goal.name, z3.Not(enc.bad(goal)) if goal.kind == "step" else enc.good(goal.pred)))
    out += [(n, enc.good(e)) for n, e in helpers]
    if type_ok:
        out.append(("type_ok", z3.Not(enc.type_error())))
    return out


def check_inductive(model: M.Model, budget: BudgetLike, goal: M.Property | None, helpers: list[tuple[str, M.Expr]],
                    timeout: float | None = None, arith: str = "bv", interp: Interpreter | None = None,
                    recheck: bool = True, type_ok: bool = False) -> Result:
    """Check goal && helpers for initiation and consecution; report a CTI when it fails."""
    start = time.perf_counter()
    name = goal.name if goal is not None else "type_ok"
    kind = goal.kind if goal is not None else "type_ok"
    enc = Encoding(model, budget, arith)
    interp = interp or Interpreter(model, budget)
    deadline = Deadline(timeout)
    parts = conjuncts(enc, goal, helpers, type_ok)
    # Initiation.
    control.note("initiation")
    s = z3.SolverFor("QF_BV") if arith == "bv" else z3.Solver()
    s.add(enc.init, enc.type_cur)
    for pname, f in parts:
        deadline.arm(s)
        r = s.check(z3.Not(f))
        if r == z3.unknown:
            return _unknown(name, kind, start, f"solver gave up on initiation: {s.reason_unknown()}")
        if r == z3.sat:
            mdl = s.model()
            st0 = enc.state_at(0)
            trace = read_trace(enc, _renamed_model(enc, mdl, st0), [st0])
            if goal is not None and pname == goal.name:
                replay(interp, trace, goal)
                return Result(name, kind, Verdict.VIOLATED, "induction", trace, depth=0,
                              seconds=time.perf_counter() - start, message="false in an initial state")
            if pname == "type_ok":
                return _unknown(name, kind, start, "type_ok fails in an initial state: prove type_ok first")
            checked_helper(interp, trace, pname, dict(helpers)[pname])
            return _unknown(name, kind, start, f"helper {pname} is false in an initial state (trace shown), "
                                               "so it cannot be used", trace)
    # Consecution, one action at a time: many small problems are much easier
    # for the solver than one disjunction over every action.
    pre = [f for _, f in parts]
    for i, ae in enumerate(enc.actions):
        control.check()
        control.note(f"consecution of {ae.action.name} ({i + 1} of {len(enc.actions)} actions)")
        s = z3.SolverFor("QF_BV") if arith == "bv" else z3.Solver()
        s.add(enc.type_cur, enc.param_types(ae), ae.enabled, *pre)
        post = [(pname, enc.after(f, ae)) for pname, f in parts]
        deadline.arm(s)
        r = s.check(z3.Not(_and(*(f for _, f in post))))
        if r == z3.unknown:
            return _unknown(name, kind, start, f"solver gave up on consecution of {ae.action.name}: "
                                               f"{s.reason_unknown()}")
        if r == z3.sat:
            mdl = s.model()
            broken = [n for n, g in post if z3.is_false(mdl.eval(g, model_completion=True))]
            cti = _cti(enc, mdl, broken, ae)
            _check_cti(interp, cti)
            return Result(name, kind, Verdict.UNKNOWN, "induction", depth=1, seconds=time.perf_counter() - start,
                          cti=cti, message=f"not inductive: {cti.label} breaks {', '.join(broken)}")
    if recheck:
        recheck_inductive(model, budget, goal, helpers, type_ok, "checked" if arith == "bv" else "bv", deadline)
    texts = ([goal.name] if goal is not None else []) + [n for n, _ in helpers] + (["type_ok"] if type_ok else [])
    return Result(name, kind, Verdict.PROVED, "induction", depth=1, seconds=time.perf_counter() - start,
                  invariant=texts, message=f"inductive ({len(texts)} conjunct{'s' if len(texts) != 1 else ''})")


def _unknown(name: str, kind: str, start: float, msg: str, trace: Trace | None = None) -> Result:
    return Result(name, kind, Verdict.UNKNOWN, "induction", trace, message=msg, seconds=time.perf_counter() - start)


def _renamed_model(enc: Encoding, mdl: z3.ModelRef, st: Any) -> z3.ModelRef:
    """A model over the step-0 copy of the state, from one over the template state."""
    s = z3.Solver()
    for tmpl, leaf in zip(enc.cur.leaves, st.leaves, strict=True):
        s.add(leaf == mdl.eval(tmpl, model_completion=True))
    assert s.check() == z3.sat
    return s.model()


def _cti(enc: Encoding, mdl: z3.ModelRef, broken: list[str], ae: ActionEnc) -> CTI:
    from ftverify.spec.interp import Label

    pre, pre_f = enc.decode_state(mdl, enc.cur)
    # the post-state: the model's values of the step's update terms
    s = z3.Solver()
    for leaf, term in zip(enc.nxt.leaves, enc.next_leaves(ae), strict=True):
        s.add(leaf == mdl.eval(term, model_completion=True))
    assert s.check() == z3.sat
    post, post_f = enc.decode_state(s.model(), enc.nxt)

    args = tuple((p.name, _plain(enc, p, mdl.eval(v, model_completion=True)))
                 for p, v in zip(ae.action.params, ae.params, strict=True))
    return CTI(pre, Label(ae.action.name, args, ae.action.is_fault), post, broken, pre_f, post_f,
               enc.layout.describe_faults(pre_f))


def _plain(enc: Encoding, p: M.Bound, v: z3.ExprRef) -> Any:
    from ftverify.spec.types import decode_scalar

    return decode_scalar(p.type, enc._value(p.type, v))


def _check_cti(interp: Interpreter, cti: CTI) -> None:
    """The CTI's step must be a step of the reference interpreter."""
    s = interp.layout.encode(cti.pre, cti.pre_faults)
    inst = interp.find_instance(cti.label.action, dict(cti.label.args))
    if inst is None or not (inst.guard is None or inst.guard(s)):
        raise RecheckFailed(f"counterexample to induction: {cti.label} is not enabled in its pre-state")
    if inst.apply(s) != interp.layout.encode(cti.post, cti.post_faults):
        raise RecheckFailed(f"counterexample to induction: {cti.label} does not lead to its post-state")


def recheck_inductive(model: M.Model, budget: BudgetLike, goal: M.Property | None, helpers: list[tuple[str, M.Expr]],
                      type_ok: bool, arith: str, deadline: Deadline | None = None) -> None:
    """Init => Inv, Inv && T => Inv' (one fresh solver per action), Inv => goal, over a
    fresh encoding in `arith` ("checked" or "int"): not the representation the check
    used, so the re-check shares no decision about how integers are represented.

    Raises RecheckFailed (an engine bug) or RecheckUnfinished (out of time)."""
    deadline = deadline or Deadline(None)

    def build(enc: Encoding) -> tuple[Any, Any]:
        inv = _and(*(f for _, f in conjuncts(enc, goal, helpers, type_ok)))
        return inv, enc.bad(goal) if goal is not None else None

    if arith == "checked":
        enc, (inv, bad) = checked_encoding(model, budget, build, deadline)
    else:
        enc = Encoding(model, budget, arith)
        inv, bad = build(enc)
    type_preserved(enc, arith, deadline)
    must_be_unsat("initiation", z3.And(enc.init, enc.type_cur, z3.Not(inv)), arith, deadline)
    for ae in enc.actions:
        must_be_unsat(f"consecution of {ae.action.name}",
                      z3.And(enc.type_cur, enc.param_types(ae), ae.enabled, inv, z3.Not(enc.after(inv, ae))),
                      arith, deadline)
    if bad is not None:
        must_be_unsat("safety", z3.And(enc.type_cur, inv, bad), arith, deadline)
