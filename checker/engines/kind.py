"""k-induction with simple-path constraints (Sheeran, Singh and Stålmarck).

For k = 1, 2, ...: the base case is BMC to depth k-1 (shared, incremental);
the step case asks whether k consecutive distinct states satisfying the target
can be followed by one that does not. When it cannot, the target holds in every
reachable state. The target is a property conjoined with named helper
invariants; all of them are proved together. A `proved` verdict is re-checked
from scratch by fresh solvers over another integer representation.
"""

from __future__ import annotations

import time

import z3
from ftverify.checker.engines import control
from ftverify.checker.engines.bmc import Unroller
from ftverify.checker.engines.encode import Encoding, _and
from ftverify.checker.engines.symbolic import (
    Deadline,
    checked,
    checked_encoding,
    checked_helper,
    failing_label,
    must_be_unsat,
    read_trace,
    type_preserved,
)
from ftverify.checker.output.result import Result, Verdict
from ftverify.spec import model as M
from ftverify.spec.budget import BudgetLike
from ftverify.spec.interp import Interpreter


def _distinct(enc: Encoding, a: list[z3.ExprRef], b: list[z3.ExprRef]) -> z3.ExprRef:
    return z3.Or(*(x != y for x, y in zip(a, b, strict=True)))


def target_formulas(enc: Encoding, goal: M.Property | None, helpers: list[tuple[str, M.Expr]],
                    type_ok: bool = False) -> list[tuple[str, z3.ExprRef]]:
    """(name, good-state formula) for the goal, each helper and, if asked, type_ok."""
    out: list[tuple[str, z3.ExprRef]] = []
    if goal is not None:
        out.append((goal.name, z3.Not(enc.bad(goal)) if goal.kind in M.SAFETY_KINDS else z3.Not(enc.reached(goal))))
    out += [(name, enc.good(e)) for name, e in helpers]
    if type_ok:
        out.append(("type_ok", z3.Not(enc.type_error())))
    return out


def kinduction(model: M.Model, budget: BudgetLike, goal: M.Property | None, helpers: list[tuple[str, M.Expr]] | None = None,
               max_k: int = 20, timeout: float | None = None, type_ok: bool = False,
               interp: Interpreter | None = None) -> Result:
    """Prove `goal` (an invariant; for a `reachable` property, that it is unreachable) by k-induction.

    With goal None and type_ok, proves `type_ok`.
    """
    start = time.perf_counter()
    helpers = helpers or []
    name = goal.name if goal is not None else "type_ok"
    kind = goal.kind if goal is not None else "type_ok"
    enc = Encoding(model, budget, "bv")
    interp = interp or Interpreter(model, budget)
    deadline = Deadline(timeout)
    parts = target_formulas(enc, goal, helpers, type_ok)
    good = _and(*(f for _, f in parts))
    base = Unroller(enc)
    step = Unroller(enc, from_init=False)
    for k in range(max_k):
        control.check()
        control.note(f"k-induction, k = {k + 1}")
        # Base case: no part is violated within k steps of an initial state.
        for pname, f in parts:
            r = base.check(z3.Not(f), k, pname, deadline)
            if r == z3.sat:
                return _base_failure(enc, interp, base, k, pname, goal, helpers, name, kind, start)
            if r == z3.unknown:
                return Result(name, kind, Verdict.UNKNOWN, "kind", depth=k,
                              message=f"solver gave up in the base case at depth {k}: {base.solver.reason_unknown()}",
                              seconds=time.perf_counter() - start)
        # Step case: k+1 distinct states, the first k+1 good, then a bad one.
        step.solver.add(step.at(good, k))
        step.extend()
        new = step.states[-1]
        for i in range(k + 1):
            step.solver.add(_distinct(enc, step.states[i].leaves, new.leaves))
        r = step.check(z3.Not(good), k + 1, "step", deadline)
        if r == z3.unsat:
            recheck_kinduction(model, budget, goal, helpers, type_ok, k + 1, deadline)
            return Result(name, kind, Verdict.PROVED if kind != "reachable" else Verdict.VIOLATED, "kind",
                          depth=k + 1, seconds=time.perf_counter() - start,
                          message=("unreachable: " if kind == "reachable" else "")
                          + f"{k + 1}-inductive" + (f" with {', '.join(n for n, _ in helpers)}" if helpers else ""),
                          invariant=None)
        if r == z3.unknown or deadline.expired():
            return Result(name, kind, Verdict.UNKNOWN, "kind", depth=k,
                          message=f"timeout or solver limit in the step case at k = {k + 1}",
                          seconds=time.perf_counter() - start)
        base.extend()
    return Result(name, kind, Verdict.UNKNOWN, "kind", depth=max_k,
                  message=f"not k-inductive for k <= {max_k} (try helper invariants, or pdr)",
                  seconds=time.perf_counter() - start)


def _base_failure(enc: Encoding, interp: Interpreter, base: Unroller, k: int, pname: str, goal: M.Property | None,
                  helpers: list[tuple[str, M.Expr]], name: str, kind: str, start: float) -> Result:
    mdl = base.solver.model()
    states = base.states[:k + 1]
    from ftverify.checker.engines.symbolic import Target

    if pname == "type_ok":
        trace = read_trace(enc, mdl, states, failing_label(enc, mdl, states[-1]))
        checked(interp, trace, Target("type_ok", "type_ok", enc.type_error(), None))
    elif goal is not None and pname == goal.name:
        trace = read_trace(enc, mdl, states)
        checked(interp, trace, Target(goal.name, goal.kind, enc.bad(goal), goal))
    else:
        trace = read_trace(enc, mdl, states)
        checked_helper(interp, trace, pname, dict(helpers)[pname])
        return Result(name, kind, Verdict.UNKNOWN, "kind", trace, depth=k,
                      message=f"helper invariant {pname} is violated (trace shown), so it cannot be used",
                      seconds=time.perf_counter() - start)
    if goal is not None and goal.kind == "reachable":
        return Result(name, kind, Verdict.PROVED, "kind", trace, depth=k, seconds=time.perf_counter() - start)
    return Result(name, kind, Verdict.VIOLATED, "kind", trace, depth=k,
                  message=trace.failing[1] if trace.failing else "", seconds=time.perf_counter() - start)


def recheck_kinduction(model: M.Model, budget: BudgetLike, goal: M.Property | None, helpers: list[tuple[str, M.Expr]],
                       type_ok: bool, k: int, deadline: Deadline | None = None) -> None:
    """Re-establish a k-induction proof from scratch: a fresh encoding in uniform-width
    bit-vectors whose freedom from overflow the solver proves first (the search used
    per-term widths), one fresh solver per case, under what is left of the time limit."""
    deadline = deadline or Deadline(None)
    enc, good = checked_encoding(model, budget, lambda e: _and(*(f for _, f in target_formulas(e, goal, helpers,
                                                                                               type_ok))), deadline)
    # The cases below read every state through the type constraints: establish them.
    type_preserved(enc, "checked", deadline)
    states = [enc.state_at(i) for i in range(k + 1)]
    # Base: every state within k-1 steps of an initial state is good.
    base = [enc.rename(enc.init, enc.cur, states[0])]
    for i in range(k):
        base.append(enc.rename(enc.type_cur, enc.cur, states[i]))
        if i:
            base.append(enc.step(i - 1, states[i - 1], states[i]))
    base.append(z3.Or(*(z3.Not(enc.rename(good, enc.cur, states[i])) for i in range(k))))
    must_be_unsat(f"the k-induction base case (k = {k})", z3.And(*base), "checked", deadline)
    # Step: k distinct good states in a row are followed by a good state.
    step = []
    for i in range(k + 1):
        step.append(enc.rename(enc.type_cur, enc.cur, states[i]))
        if i:
            step.append(enc.step(i - 1, states[i - 1], states[i]))
        for j in range(i):
            step.append(_distinct(enc, states[j].leaves, states[i].leaves))
    for i in range(k):
        step.append(enc.rename(good, enc.cur, states[i]))
    step.append(z3.Not(enc.rename(good, enc.cur, states[k])))
    must_be_unsat(f"the k-induction step case (k = {k})", z3.And(*step), "checked", deadline)
