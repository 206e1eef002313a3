"""Pieces the Z3 engines share: targets (what a state must avoid or reach),
deadlines, and traces read back from a Z3 model and replayed."""

from __future__ import annotations

import time
from dataclasses import dataclass

import z3
from ftverify.checker.encode import Encoding, StateVars
from ftverify.checker.result import Trace
from ftverify.checker.trace import replay
from ftverify.spec import model as M
from ftverify.spec.interp import Interpreter, Label


@dataclass
class Target:
    """A property as a formula over the template state.

    For an invariant or `type_ok`, `formula` describes the bad states; for a
    `reachable` property, the states that witness it.
    """

    name: str
    kind: str  # "invariant", "reachable", "type_ok"
    formula: z3.ExprRef
    prop: M.Property | None


def targets(enc: Encoding, names: list[str] | None = None, kinds: tuple[str, ...] = ("invariant", "reachable",
                                                                                       "type_ok")) -> list[Target]:
    out = []
    for p in enc.model.properties:
        if names is not None and p.name not in names:
            continue
        if p.kind == "invariant" and "invariant" in kinds:
            out.append(Target(p.name, p.kind, enc.bad(p), p))
        elif p.kind == "reachable" and "reachable" in kinds:
            out.append(Target(p.name, p.kind, enc.reached(p), p))
    if (names is None or "type_ok" in names) and "type_ok" in kinds:
        out.append(Target("type_ok", "type_ok", enc.type_error(), None))
    return out


class Deadline:
    """Remaining time for a run, handed to Z3 as per-check timeouts."""

    def __init__(self, seconds: float | None) -> None:
        self.end = time.monotonic() + seconds if seconds else None

    def left(self) -> float | None:
        return None if self.end is None else max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        left = self.left()
        return left is not None and left <= 0

    def arm(self, solver: z3.Solver | z3.Fixedpoint) -> None:
        left = self.left()
        if left is not None:
            solver.set("timeout", max(1, int(left * 1000)))


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


def checked(interp: Interpreter, trace: Trace, target: Target) -> Trace:
    """Replay a symbolic trace on the reference interpreter; a mismatch is an engine bug."""
    if target.kind == "type_ok":
        label = trace.failing[0] if trace.failing else None
        inst = interp.find_instance(label.action, dict(label.args)) if label else None
        msg = ""
        if inst is not None:
            from ftverify.spec.interp import EvalError

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
