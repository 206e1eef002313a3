"""Bounded liveness with Z3: fair lassos of at most K steps, for `leadsto` and `eventually`.

`P ~> Q` fails exactly when some fair run has a P-state followed only by non-Q states, and on a
finite system such a run can be taken to be a lasso: a stem s0..sl and a loop sl..sk that closes
(sk = sl), or a state sk the run stutters in for ever (l = k). This is the bounded half of
Biere, Artho and Schuppan's liveness-to-safety translation: instead of a copy of the state saved
at a guessed loop start, the unrolling's own states are compared. At each depth k the BMC
unrolling is asked, under one assumption literal, for some l <= k such that

- the loop closes: every leaf of sk equals that of sl (l < k), or the run stutters in sk (l = k);
- some m <= l has P(sm) and Q false in each of sm..sk;
- the loop is fair: each weakly fair action instance is taken by one of the steps l..k-1 or has
  a false guard in one of sl..sk-1; each strongly fair one is taken or has a false guard in all
  of them (in a stutter, sk is the loop).

The first depth with an answer gives a lasso of fewest steps; it is read back and validated by
the explicit engine's validator (`liveness.validate`: replayed, P and Q and fairness state by
state on the interpreter), so a wrong encoding can withhold a verdict but never print one. No
lasso within K steps is `holds` to depth K, never `proved`.
"""

from __future__ import annotations

import time
from itertools import product

import z3
from ftverify.checker.engines import control
from ftverify.checker.engines.bmc import Unroller
from ftverify.checker.engines.encode import Encoding
from ftverify.checker.engines.liveness import validate
from ftverify.checker.engines.symbolic import Deadline, read_trace
from ftverify.checker.output.result import Result, Trace, Verdict
from ftverify.spec import model as M
from ftverify.spec.budget import BudgetLike
from ftverify.spec.interp import Interpreter
from ftverify.spec.types import domain_values


class _Fair:
    """One fair action instance: its guard over the template state, and how a step takes it."""

    def __init__(self, enc: Encoding, index: int, action: M.Action, values: tuple[int, ...]) -> None:
        self.index, self.strong, self.values = index, action.fairness == "strong", values
        self.action = action
        consts = [enc.const(p.type, v) for p, v in zip(action.params, values, strict=True)]
        env = {p.uid: c for p, c in zip(action.params, consts, strict=True)}
        g, ok = enc.expr(action.guard, enc.cur, env)
        self.guard = z3.simplify(z3.And(g, ok) if not isinstance(ok, bool) else (g if ok else z3.BoolVal(False)))
        self.consts = consts

    def taken_at_step(self, enc: Encoding) -> z3.ExprRef:
        """The template step (`enc.trans`'s choices) takes this instance."""
        params = enc.actions[self.index].params
        return z3.And(enc.sel == enc.sel_val(self.index), *(p == c for p, c in zip(params, self.consts, strict=True)))

    def taken_at(self, enc: Encoding, k: int) -> z3.ExprRef:
        sel, params = enc.choice_at(k)
        return z3.And(sel == enc.sel_val(self.index),
                      *(p == c for p, c in zip(params[self.index], self.consts, strict=True)))


def fair_instances(enc: Encoding) -> list[_Fair]:
    return [_Fair(enc, ae.index, ae.action, tuple(values)) for ae in enc.actions if ae.action.fairness
            for values in product(*(domain_values(p.type) for p in ae.action.params))]


def lasso_bmc(model: M.Model, budget: BudgetLike, prop: M.Property, depth: int, timeout: float | None = None,
              interp: Interpreter | None = None) -> Result:
    """A fair lasso violating `prop` (leadsto or eventually) of at most `depth` steps, or `holds`."""
    assert prop.kind in M.LIVENESS_KINDS and prop.target is not None
    start = time.perf_counter()
    enc = Encoding(model, budget, "bv")
    interp = interp or Interpreter(model, budget)
    deadline = Deadline(timeout)
    un = Unroller(enc)
    fair = fair_instances(enc)
    p_at, nq_at = [], []  # P and not-Q at each state; a predicate that fails to evaluate is false
    reached = -1
    for k in range(depth + 1):
        control.check()
        control.note(f"lasso search: depth {k} of {depth}")
        if k:
            un.extend()
        p_at.append(un.at(enc.good(prop.pred), k))
        nq_at.append(z3.Not(un.at(enc.good(prop.target), k)))
        options = [_lasso_at(enc, un, fair, p_at, nq_at, loop, k) for loop in range(k + 1)]
        lit = z3.Bool(f"?lasso@{k}")
        un.solver.add(z3.Implies(lit, z3.Or(*options)))
        deadline.arm(un.solver)
        r = un.solver.check(lit)
        if r == z3.unknown:
            return _result(prop, Verdict.UNKNOWN, start, depth=k - 1 if k else None,
                           message=f"solver gave up at depth {k}: {un.solver.reason_unknown()}")
        if r == z3.sat:
            mdl = un.solver.model()
            loop = next(i for i, f in enumerate(options) if z3.is_true(mdl.eval(f, model_completion=True)))
            tr = _trace(read_trace(enc, mdl, un.states[:k + 1]), loop)
            validate(interp, tr, prop)  # an engine bug raises: the verdict is withheld
            return _result(prop, Verdict.VIOLATED, start, tr, depth=k)
        reached = k
        if deadline.expired():
            break
    if reached < depth:
        return _result(prop, Verdict.UNKNOWN, start, depth=reached,
                       message=f"timeout after {timeout:g} s; no fair lasso within {reached} steps")
    return _result(prop, Verdict.HOLDS, start, depth=reached, message="no fair lasso violates it")


def _lasso_at(enc: Encoding, un: Unroller, fair: list[_Fair], p_at: list[z3.ExprRef], nq_at: list[z3.ExprRef],
              loop: int, k: int) -> z3.ExprRef:
    """The path s0..sk is a lasso looping back to s_loop (stuttering in sk when loop == k)."""
    parts = []
    if loop < k:
        parts += [a == b for a, b in zip(un.states[loop].leaves, un.states[k].leaves, strict=True)]
    states = range(loop, k) if loop < k else [k]
    for f in fair:
        taken = [f.taken_at(enc, i) for i in range(loop, k)]
        off = [z3.Not(un.at(f.guard, i)) for i in states]
        parts.append(z3.Or(*taken, z3.Or(*off) if not f.strong else z3.And(*off)))
    # the P-state at or before the loop's start, Q false from there on
    parts.append(z3.Or(*(z3.And(p_at[m], *nq_at[m:k + 1]) for m in range(loop + 1))))
    return z3.And(*parts)


def _trace(tr: Trace, loop: int) -> Trace:
    """The path s0..sk as a lasso: the closing step leads from s(k-1) back to s(loop)."""
    k = len(tr.states) - 1
    if loop < k:
        closing = tr.steps[-1]
        tr = Trace(tr.states[:-1], tr.steps[:-1], tr.faults[:-1])
        tr.loop_step = closing
    tr.loop = loop
    return tr


def _result(prop: M.Property, verdict: Verdict, start: float, trace: Trace | None = None, depth: int | None = None,
            message: str = "") -> Result:
    return Result(prop.name, prop.kind, verdict, "bmc", trace, depth=depth, message=message,
                  seconds=time.perf_counter() - start)
