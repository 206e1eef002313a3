"""Inductiveness checks: is `goal && helper1 && ...` an inductive invariant?

As mypyvy's `verify` and Apalache's `--inductive`: initiation (every initial
state satisfies every conjunct) and consecution (from any state satisfying all
of them, every step leads to a state satisfying all of them). A failure of
consecution comes back as a counterexample to induction (CTI): the pre-state,
the action with its arguments, the post-state, and the conjuncts that break.

A success is re-checked by a fresh solver over a fresh encoding with the other
integer representation before `proved` is reported.
"""

from __future__ import annotations

import time
from typing import Any

import z3
from ftverify.checker.encode import ActionEnc, Encoding, _and
from ftverify.checker.kind import RecheckFailed
from ftverify.checker.result import CTI, Result, Trace, Verdict
from ftverify.checker.symbolic import Deadline, read_trace
from ftverify.checker.trace import replay
from ftverify.spec import model as M
from ftverify.spec.interp import Interpreter


def conjuncts(enc: Encoding, goal: M.Property | None, helpers: list[tuple[str, M.Expr]],
              type_ok: bool = False) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if goal is not None:
        out.append((goal.name, enc.good(goal.pred)))
    out += [(n, enc.good(e)) for n, e in helpers]
    if type_ok:
        out.append(("type_ok", z3.Not(enc.type_error())))
    return out


def check_inductive(model: M.Model, budget: int, goal: M.Property | None, helpers: list[tuple[str, M.Expr]],
                    timeout: float | None = None, arith: str = "bv", interp: Interpreter | None = None,
                    recheck: bool = True, type_ok: bool = False) -> Result:
    """Check goal && helpers for initiation and consecution; report a CTI when it fails."""
    start = time.perf_counter()
    name = goal.name if goal is not None else "type_ok"
    kind = goal.kind if goal is not None else "type_ok"
    enc = Encoding(model, budget, arith, [e for _, e in helpers])
    interp = interp or Interpreter(model, budget)
    deadline = Deadline(timeout)
    parts = conjuncts(enc, goal, helpers, type_ok)
    # Initiation.
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
            return _unknown(name, kind, start, f"{pname} is false in an initial state (trace shown)", trace)
    # Consecution, one action at a time: many small problems are much easier
    # for the solver than one disjunction over every action.
    pre = [f for _, f in parts]
    for ae in enc.actions:
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
        recheck_inductive(model, budget, goal, helpers, type_ok, "int" if arith == "bv" else "bv")
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
    return CTI(pre, Label(ae.action.name, args, ae.action.is_fault), post, broken, pre_f, post_f)


def _plain(enc: Encoding, p: M.Bound, v: z3.ExprRef) -> Any:
    from ftverify.checker.encode import _plain_key

    return _plain_key(p.type, enc._value(p.type, v))


def _check_cti(interp: Interpreter, cti: CTI) -> None:
    """The CTI's step must be a step of the reference interpreter."""
    s = interp.layout.encode(cti.pre, cti.pre_faults)
    inst = interp.find_instance(cti.label.action, dict(cti.label.args))
    if inst is None or not (inst.guard is None or inst.guard(s)):
        raise RecheckFailed(f"counterexample to induction: {cti.label} is not enabled in its pre-state")
    if inst.apply(s) != interp.layout.encode(cti.post, cti.post_faults):
        raise RecheckFailed(f"counterexample to induction: {cti.label} does not lead to its post-state")


def recheck_inductive(model: M.Model, budget: int, goal: M.Property | None, helpers: list[tuple[str, M.Expr]],
                      type_ok: bool, arith: str) -> None:
    """Init => Inv, Inv && T => Inv' (one fresh solver per action), Inv => goal, over a fresh encoding.

    The re-check uses `arith` (the other integer representation) when the model is
    small enough for it; large models mix bit-vectors into linear integer arithmetic
    badly (minutes instead of seconds), so they are re-checked over bit-vectors.
    """
    if arith == "int" and _too_big_for_int(model):
        arith = "bv"
    enc = Encoding(model, budget, arith, [e for _, e in helpers])
    inv = _and(*(f for _, f in conjuncts(enc, goal, helpers, type_ok)))
    checks = {"initiation": [z3.And(enc.init, enc.type_cur, z3.Not(inv))]}
    checks["consecution"] = [z3.And(enc.type_cur, enc.param_types(ae), ae.enabled, inv, z3.Not(enc.after(inv, ae)))
                             for ae in enc.actions]
    if goal is not None:
        checks["safety"] = [z3.And(enc.type_cur, inv, enc.bad(goal))]
    for what, fs in checks.items():
        for f in fs:
            s = z3.SolverFor("QF_BV") if arith == "bv" else z3.Solver()
            s.add(f)
            if s.check() != z3.unsat:
                raise RecheckFailed(f"the inductive invariant fails its re-check ({what})")


def _too_big_for_int(model: M.Model) -> bool:
    from ftverify.spec.types import width

    return sum(width(v.type) for v in model.vars) > 48
