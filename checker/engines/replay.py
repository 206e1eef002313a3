"""Building traces from packed states, and replaying any trace on the reference interpreter.

Every violation an engine reports is replayed here before it is shown: the
first state must be initial, each step an enabled instance of its action whose
successor is exactly the next state, the fault budget respected, and the last
state must really break the property (or the failing step really fail). A trace
that does not replay is an engine bug: its verdict is withheld (reported `unknown`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from ftverify.checker.output.result import EngineBug, Trace
from ftverify.spec import model as M
from ftverify.spec.compile import EvalError
from ftverify.spec.interp import Instance, Interpreter, Label


class ReplayError(EngineBug):
    """A trace does not replay: the engine that produced it is wrong."""


def trace_of(interp: Interpreter, path: Sequence[int], failing: tuple[Label | None, str] | None = None) -> Trace:
    """The trace along packed states s0..sn, recovering each step's label."""
    states, steps = [interp.decode(path[0])], []
    faults = [interp.layout.faults(path[0])]
    for s, t in itertools.pairwise(path):
        label = step_label(interp, s, t)
        steps.append(label)
        states.append(interp.decode(t))
        faults.append(interp.layout.faults(t))
    return Trace(states, steps, faults, failing)


def step_label(interp: Interpreter, s: int, t: int) -> Label:
    """The first action instance (in declaration order) that leads from s to t."""
    for inst in interp.instances:
        try:
            if (inst.guard is None or inst.guard(s)) and inst.apply(s) == t:
                return inst.label
        except EvalError:
            continue
    raise ReplayError("no action instance leads from one state of the path to the next")


def encode_state(interp: Interpreter, values: dict[str, Any], faults: int) -> int:
    try:
        return interp.layout.encode(values, faults)
    except (KeyError, ValueError, TypeError) as e:
        raise ReplayError(f"trace state is not a state of the model: {e}") from None


def replay(interp: Interpreter, trace: Trace, prop: M.Property | None = None, *, witness: bool = False) -> None:
    """Check that `trace` is a run of the model that breaks `prop` (or, with witness, reaches it).

    `prop` None checks only that the trace is a run; a `type_ok` violation is
    checked through the trace's failing step. A step property's trace ends with a step that
    breaks it; one that ends in the state the breaking step leaves (as the engines find it,
    a state with a bad step) is completed here with the first such step, evaluated on the
    interpreter.
    """
    if not trace.states:
        raise ReplayError("empty trace")
    faults = 0
    s = encode_state(interp, trace.states[0], 0)
    init = interp.predicate(interp.model.init)
    try:
        is_init = bool(init(s))
    except EvalError:
        is_init = False
    if not is_init:
        raise ReplayError("the first state of the trace is not an initial state")
    prev, inst = s, None
    for i, label in enumerate(trace.steps):
        prev = s
        inst = interp.find_instance(label.action, dict(label.args))
        if inst is None:
            raise ReplayError(f"step {i + 1}: no action instance {label}")
        try:
            enabled = inst.guard is None or bool(inst.guard(s))
            t = inst.apply(s) if enabled else None
        except EvalError as e:
            raise ReplayError(f"step {i + 1}: {label} fails to evaluate: {e.message}") from None
        if not enabled or t is None:
            raise ReplayError(f"step {i + 1}: {label} is not enabled")
        if label.is_fault:
            faults = interp.layout.after_fault(faults, label.action)
        expected = encode_state(interp, trace.states[i + 1], faults)
        if t != expected:
            raise ReplayError(f"step {i + 1}: {label} leads to another state than the trace shows")
        s = t
    if not interp.layout.within_budget(faults):
        raise ReplayError(f"the trace takes more fault steps ({interp.layout.describe_faults(faults)}) than the "
                          f"budget {interp.budget}")
    if trace.failing is not None and trace.failing[0] is not None:
        label = trace.failing[0]
        inst = interp.find_instance(label.action, dict(label.args))
        if inst is None:
            raise ReplayError(f"failing step: no action instance {label}")
        try:
            if inst.guard is None or inst.guard(s):
                inst.apply(s)
            else:
                raise ReplayError(f"failing step {label} is not enabled")
        except EvalError:
            return
        raise ReplayError(f"failing step {label} evaluates without error")
    if trace.failing is not None:  # a guard that fails to evaluate: checked via the label-less form
        return
    if prop is None:
        return
    if prop.kind == "step":
        _ends_breaking(interp, trace, prop, prev, inst, s)
        return
    f = interp.properties[prop.name]
    try:
        value = bool(f(s))
    except EvalError:
        value = False if prop.kind == "invariant" else None  # type: ignore[assignment]
    if prop.kind == "invariant" and value:
        raise ReplayError(f"the last state of the trace satisfies {prop.name}")
    if prop.kind == "reachable" and witness and not value:
        raise ReplayError(f"the last state of the trace does not satisfy {prop.name}")


def _ends_breaking(interp: Interpreter, trace: Trace, prop: M.Property, prev: int, last: Instance | None,
                   s: int) -> None:
    checks = interp.step_checks(prop)
    if last is not None and not interp.step_keeps(checks[interp.instances.index(last)], prev, s):
        return
    found = interp.breaking_step(prop, s)
    if found is None:
        raise ReplayError(f"no step of the trace, nor any step from its last state, breaks {prop.name}")
    inst, t = found
    trace.states.append(interp.decode(t))
    trace.steps.append(inst.label)
    if trace.faults:
        trace.faults.append(interp.layout.faults(t))


class StepReplayer:
    """Checks that packed states path[0..n] with instance indices steps[0..n-1] are a run of
    the model: the first state initial, each step an enabled instance leading exactly to the
    next state, the fault budget respected. The cheap form of `replay`, for many traces that
    share their steps: each distinct step is evaluated on the interpreter once."""

    def __init__(self, interp: Interpreter) -> None:
        self.interp = interp
        self.init = interp.predicate(interp.model.init)
        self.initial: set[int] = set()
        self.steps: set[tuple[int, int, int]] = set()

    def check(self, path: Sequence[int], steps: Sequence[int]) -> None:
        if not path or len(steps) != len(path) - 1:
            raise ReplayError("a path of states and steps that do not match")
        self.initial_state(path[0])
        for s, t, k in zip(path, path[1:], steps, strict=False):
            self.step(s, k, t)
        self.end(path[-1])

    def initial_state(self, s: int) -> None:
        if s in self.initial:
            return
        try:
            ok = bool(self.init(s)) and self.interp.layout.faults(s) == 0
        except EvalError:
            ok = False
        if not ok:
            raise ReplayError("the first state of the trace is not an initial state")
        self.initial.add(s)

    def step(self, s: int, k: int, t: int) -> None:
        """Instance k is enabled in s and leads to t."""
        if (s, k, t) in self.steps:
            return
        inst = self.interp.instances[k]
        try:
            if not (inst.guard is None or inst.guard(s)) or inst.apply(s) != t:
                raise ReplayError(f"{inst.label} does not lead to the next state of the trace")
        except EvalError as e:
            raise ReplayError(f"{inst.label} fails to evaluate: {e.message}") from None
        self.steps.add((s, k, t))

    def end(self, s: int) -> None:
        if not self.interp.layout.within_budget(self.interp.layout.faults(s)):
            raise ReplayError("the trace takes more fault steps than the budget allows")


def trace_of_steps(interp: Interpreter, path: Sequence[int], steps: Sequence[int]) -> Trace:
    """The trace along packed states with known instance indices (no search for the labels)."""
    layout = interp.layout
    labels = [interp.instances[k].label for k in steps]
    return Trace([interp.decode(s) for s in path], labels, [layout.faults(s) for s in path])
