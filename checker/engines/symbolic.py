"""Pieces the Z3 engines share: targets (what a state must avoid or reach),
deadlines, and traces read back from a Z3 model and replayed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import z3
from ftverify.checker.engines import control
from ftverify.checker.engines.encode import CheckedBVArith, Encoding, StateVars, WidthTooSmall, uniform_width
from ftverify.checker.engines.replay import replay
from ftverify.checker.output.result import RecheckFailed, RecheckUnfinished, Trace
from ftverify.spec import model as M
from ftverify.spec.budget import BudgetLike
from ftverify.spec.interp import Interpreter, Label


@dataclass
class Target:
    """A property as a formula over the template state.

    For an invariant or `type_ok`, `formula` describes the bad states; for a
    `reachable` property, the states that witness it.
    """

    name: str
    kind: str  # "invariant", "step", "reachable", "type_ok"
    formula: z3.ExprRef
    prop: M.Property | None


def targets(enc: Encoding, names: list[str] | None = None, kinds: tuple[str, ...] = ("invariant", "reachable",
                                                                                       "type_ok")) -> list[Target]:
    out = []
    for p in enc.model.properties:
        if names is not None and p.name not in names:
            continue
        if p.kind in M.SAFETY_KINDS and "invariant" in kinds:
            out.append(Target(p.name, p.kind, enc.bad(p), p))
        elif p.kind == "reachable" and "reachable" in kinds:
            out.append(Target(p.name, p.kind, enc.reached(p), p))
    if (names is None or "type_ok" in names) and "type_ok" in kinds:
        out.append(Target("type_ok", "type_ok", enc.type_error(), None))
    return out


class Deadline:
    """Remaining time for a piece of work, handed to Z3 as per-check timeouts: its own
    limit (None: none), and never more than what is left of the whole command's."""

    def __init__(self, seconds: float | None) -> None:
        self.end = time.monotonic() + seconds if seconds is not None else None

    def left(self) -> float | None:
        own = None if self.end is None else max(0.0, self.end - time.monotonic())
        command = control.current().left()
        if own is None:
            return command
        return own if command is None else min(own, command)

    def expired(self) -> bool:
        left = self.left()
        return left is not None and left <= 0

    def arm(self, solver: z3.Solver | z3.Fixedpoint) -> None:
        left = self.left()
        if left is not None:
            solver.set("timeout", max(1, int(left * 1000)))


def solver_for(arith: str) -> z3.Solver:
    """A fresh solver for formulas of one integer representation."""
    return z3.SolverFor("QF_BV") if arith in ("bv", "checked") else z3.Solver()


def must_be_unsat(what: str, formula: z3.ExprRef, arith: str, deadline: Deadline) -> None:
    """One obligation of a re-check, by a fresh solver under what is left of the caller's time.

    Raises RecheckFailed if it is satisfiable (the proof is wrong: an engine bug)
    and RecheckUnfinished if the solver cannot decide it in time."""
    if deadline.expired():
        raise RecheckUnfinished(f"no time left for {what}")
    control.check()
    control.note(f"re-check: {what}")
    s = solver_for(arith)
    s.add(formula)
    deadline.arm(s)
    r = s.check()
    if r == z3.unknown:
        raise RecheckUnfinished(f"{what}: {s.reason_unknown()}")
    if r == z3.sat:
        raise RecheckFailed(f"{what} does not re-check")


T = TypeVar("T")
MAX_CHECKED_WIDTH = 256


def checked_encoding(model: M.Model, budget: BudgetLike, build: Callable[[Encoding], T],
                     deadline: Deadline) -> tuple[Encoding, T]:
    """A fresh encoding in uniform-width bit-vectors (`CheckedBVArith`), with the
    formulas `build` makes from it, at a width the solver has shown sufficient:
    no integer operation of the transition relation, `init` or what `build`
    encoded overflows, in any type-correct state, for any action parameters.
    `build` encodes over the template state only (renaming comes after).

    The width starts at a guess and doubles until the query is unsatisfiable."""
    width = uniform_width(model)
    while width <= MAX_CHECKED_WIDTH:
        try:
            enc = Encoding(model, budget, "checked", width)
            built = build(enc)
        except WidthTooSmall:
            width *= 2
            continue
        arith = enc.arith
        assert isinstance(arith, CheckedBVArith)
        if overflow_free(enc, arith, deadline):
            return enc, built
        width *= 2
    raise RecheckUnfinished(f"no width up to {MAX_CHECKED_WIDTH} bits is free of overflow")


def overflow_free(enc: Encoding, arith: CheckedBVArith, deadline: Deadline) -> bool:
    """Does no recorded operation of `arith` overflow in a type-correct state (False: one may)?"""
    if not arith.conditions:
        return True
    if deadline.expired():
        raise RecheckUnfinished("no time left to check the re-check's width")
    s = z3.SolverFor("QF_BV")
    s.add(enc.type_cur, *(enc.param_types(ae) for ae in enc.actions), z3.Not(arith.overflow_free()))
    deadline.arm(s)
    r = s.check()
    if r == z3.unknown:
        raise RecheckUnfinished(f"checking the re-check's width of {arith.W} bits: {s.reason_unknown()}")
    return r == z3.unsat


def type_preserved(enc: Encoding, arith: str, deadline: Deadline) -> None:
    """Every step from a type-correct state leads to a type-correct state.

    The type checker guarantees it (a store it cannot prove in range is checked
    at run time); a re-check establishes it rather than assuming it, because
    its other queries read the post-state through the type constraints."""
    for ae in enc.actions:
        must_be_unsat(f"type preservation by {ae.action.name}",
                      z3.And(enc.type_cur, enc.param_types(ae), ae.enabled, z3.Not(enc.after(enc.type_cur, ae))),
                      arith, deadline)


def read_trace(enc: Encoding, mdl: z3.ModelRef, states: list[StateVars], failing: Label | None = None,
               failing_message: str = "") -> Trace:
    decoded = [enc.decode_state(mdl, st) for st in states]
    steps = [enc.decode_label(mdl, k) for k in range(len(states) - 1)]
    tr = Trace([d for d, _ in decoded], steps, [f for _, f in decoded])
    if failing is not None:
        tr.failing = (failing, failing_message)
    return tr


def failing_label(enc: Encoding, mdl: z3.ModelRef, st: StateVars) -> Label:
    """The ground action instance that fails to evaluate in state st of the model."""
    for (index, values), f in enc.failing_instances().items():
        if z3.is_true(mdl.eval(enc.rename(f, enc.cur, st), model_completion=True)):
            return enc.instance_label(index, values)
    raise AssertionError("no failing instance in a type_ok counterexample")


def checked_helper(interp: Interpreter, trace: Trace, name: str, pred: M.Expr) -> Trace:
    """Replay a trace to a state that breaks a helper invariant (not a property of the spec)."""
    from ftverify.checker.engines.replay import ReplayError, encode_state
    from ftverify.spec.compile import EvalError

    replay(interp, trace, None)
    s = encode_state(interp, trace.states[-1], trace.faults[-1] if trace.faults else 0)
    try:
        holds = bool(interp.predicate(pred)(s))
    except EvalError:
        holds = False
    if holds:
        raise ReplayError(f"the last state of the trace satisfies {name}")
    return trace


def checked(interp: Interpreter, trace: Trace, target: Target) -> Trace:
    """Replay a symbolic trace on the reference interpreter; a mismatch is an engine bug."""
    if target.kind == "type_ok":
        label = trace.failing[0] if trace.failing else None
        inst = interp.find_instance(label.action, dict(label.args)) if label else None
        msg = ""
        if inst is not None:
            from ftverify.spec.compile import EvalError

            s = interp.layout.encode(trace.states[-1], trace.faults[-1])
            try:
                if inst.guard is None or inst.guard(s):
                    inst.apply(s)
            except EvalError as e:
                msg = e.message
        trace.failing = (label, msg)
        replay(interp, trace, None)
        return trace
    replay(interp, trace, target.prop, witness=target.kind == "reachable")
    return trace
