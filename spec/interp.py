"""The reference interpreter: the semantics every engine is checked against.

A state is one packed Python int (`layout.StateLayout`); the model's expressions
and statements are compiled once into closures over packed states
(`compile.Compiler`); the initial states are enumerated by `initial`. Here the
actions become ground instances: for every value of its parameters, an action's
guard and successor function, a fault's guard testing its budget first. The
engines report an evaluation error (`compile.EvalError`) in a guard or an update
as a violation of the built-in property `type_ok`, and one while evaluating a
property as a violation of that property. A state is initial when `init`
evaluates to true without an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import product
from typing import Any

from ftverify.spec import model as M
from ftverify.spec.budget import BudgetLike
from ftverify.spec.compile import _C, STEP_ACTION, Compiler, EvalError, Fn, _Env
from ftverify.spec.initial import initial_states
from ftverify.spec.layout import FaultCounter, StateLayout, _mask
from ftverify.spec.types import (
    decode_scalar,
    domain_values,
    format_value,
)


# ---------------------------------------------------------------- ground actions
@dataclass(frozen=True)
class Label:
    """An action instance: the edge label of a step."""

    action: str
    args: tuple[tuple[str, Any], ...]  # (parameter, plain value)
    is_fault: bool = False

    def __str__(self) -> str:
        if not self.args:
            return self.action
        return f"{self.action}(" + ", ".join(f"{n}={format_value(v)}" for n, v in self.args) + ")"


@dataclass(frozen=True)
class Instance:
    """One ground action instance, compiled: `guard(s)` and `apply(s) -> t`."""

    label: Label
    guard: Fn | None  # None: always enabled (the fault budget is part of guard)
    apply: Callable[[int], int]
    action: M.Action
    values: tuple[int, ...]  # the run-time parameter values


class Interpreter:
    """Initial states and successors of a model under a fault budget."""

    def __init__(self, model: M.Model, budget: BudgetLike | None = None) -> None:
        self.model = model
        self.layout = StateLayout(model, budget)
        self.budget = self.layout.budget
        self.compiler = Compiler(self.layout)
        self.instances = self._instances()
        self._steps: dict[str, list[Fn]] = {}
        # A step property, as a predicate of states: every step from the state keeps it.
        self.properties = {p.name: self._all_steps_keep(p) if p.kind == "step" else self.predicate(p.pred)
                           for p in model.properties}
        self.targets = {p.name: self.predicate(p.target) for p in model.properties if p.target is not None}

    def predicate(self, e: M.Expr) -> Fn:
        return self.compiler.fn(e, {})

    def step_checks(self, prop: M.Property) -> list[Fn]:
        """Step property `prop` for each instance (in `instances` order), a predicate of the
        pair of states s | t << width (see `Compiler.path`)."""
        if prop.name not in self._steps:
            self._steps[prop.name] = [
                self.compiler.fn(prop.pred, {STEP_ACTION: _C(inst.action.name),
                                             **{p.uid: _C(v) for p, v in zip(inst.action.params, inst.values,
                                                                              strict=True)}})
                for inst in self.instances]
        return self._steps[prop.name]

    def _all_steps_keep(self, prop: M.Property) -> Fn:
        checks: list[tuple[Instance, Fn]] = []  # compiled on first use: the symbolic engines need none
        w = self.layout.width

        def keep(s: int) -> bool:  # evaluating the property may raise EvalError: a violation
            if not checks:
                checks.extend(zip(self.instances, self.step_checks(prop), strict=True))
            return all(check(s | (t << w)) for _, check, t in self._steps_with(checks, s))
        return keep

    @staticmethod
    def _steps_with(pairs: list[tuple[Instance, Fn]], s: int) -> Iterator[tuple[Instance, Fn, int]]:
        """(instance, its step-property check, successor) for each instance with a step from s; an instance
        that fails to evaluate is no step (it is type_ok's violation)."""
        for inst, check in pairs:
            try:
                if inst.guard is not None and not inst.guard(s):
                    continue
                t = inst.apply(s)
            except EvalError:
                continue
            yield inst, check, t

    def breaking_step(self, prop: M.Property, s: int) -> tuple[Instance, int] | None:
        """The first step from s (in declaration order) that breaks step property `prop` (or
        fails to evaluate it), with its successor."""
        for inst, check, t in self._steps_with(list(zip(self.instances, self.step_checks(prop), strict=True)), s):
            if not self.step_keeps(check, s, t):
                return inst, t
        return None

    def step_keeps(self, check: Fn, s: int, t: int) -> bool:
        try:
            return bool(check(s | (t << self.layout.width)))
        except EvalError:
            return False

    def _instances(self) -> list[Instance]:
        out: list[Instance] = []
        for a in self.model.actions:
            counter = self.layout.counter_of.get(a.name)
            if counter is not None and counter.cap == 0:
                continue  # no budget for this fault: never a step
            domains = [domain_values(p.type) for p in a.params]
            for values in product(*domains):
                env: _Env = {p.uid: _C(v) for p, v in zip(a.params, values, strict=True)}
                g = self.compiler.expr(a.guard, env)
                if isinstance(g, _C) and not g.v:
                    continue
                apply = self.compiler.apply(a.body, env, 1 << counter.offset if counter is not None else 0)
                label = Label(a.name, tuple((p.name, decode_scalar(p.type, v)) for p, v in zip(a.params, values,
                                                                                              strict=True)),
                              a.is_fault)
                guard = None if isinstance(g, _C) else g
                if counter is not None:
                    guard = _fault_guard(guard, counter)
                out.append(Instance(label, guard, apply, a, tuple(values)))
        return out

    def successors(self, s: int) -> Iterator[tuple[Instance, int]]:
        """Enabled instances and their successor states (EvalError propagates)."""
        for inst in self.instances:
            if inst.guard is None or inst.guard(s):
                yield inst, inst.apply(s)

    def initial_states(self) -> list[int]:
        return initial_states(self)

    def decode(self, s: int) -> dict[str, Any]:
        return self.layout.decode(s)

    def find_instance(self, action: str, args: dict[str, Any]) -> Instance | None:
        for inst in self.instances:
            if inst.label.action == action and dict(inst.label.args) == args:
                return inst
        return None


def _fault_guard(g: Fn | None, counter: FaultCounter) -> Fn:
    """A counted fault is enabled while its counter is below its budget (tested before the guard)."""
    off, m, cap = counter.offset, _mask(counter.width), counter.cap
    if g is None:
        return lambda s: (s >> off) & m < cap
    return lambda s: (s >> off) & m < cap and g(s)




def evaluate(interp: Interpreter, e: M.Expr, s: int) -> Any:
    """The value of a closed expression in state s (raises EvalError)."""
    return interp.compiler.fn(e, {})(s)

