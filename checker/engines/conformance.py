"""Refinement testing of a Python implementation against its spec.

The user writes an `Adapter`: it owns one instance of the implementation, says
how to abstract it to a spec state (`abstract`), how to perform a call on it and
which spec action the call implemented (`perform` returns a `Step`), and which
calls to try (`calls` for random testing, `all_calls` for exhaustive). Then:

- after every call, (abstract(pre), the step's action, abstract(post)) must be a
  transition of the spec according to the reference interpreter; a failed call
  must be a stutter, and the spec must refuse the action it attempted; every
  invariant of the spec must hold of abstract(post);
- `random_test` generates call sequences with hypothesis's stateful testing and
  shrinks a failure to a minimal sequence; `exhaustive_test` explores the
  implementation's own reachable states breadth-first to a depth (states are
  told apart by their abstraction), so a small configuration is covered, not sampled.

A failure is a `Divergence`: the calls, the spec states along them, and what
went wrong, printed as a trace in the format of `ftverify prove`. In pytest,
`assert_refines(MyAdapter)` raises an AssertionError with that trace.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ftverify.checker.engines import control
from ftverify.checker.output.report import flatten_state, format_trace
from ftverify.checker.output.result import Trace
from ftverify.spec import model as M
from ftverify.spec.compile import EvalError
from ftverify.spec.interp import Instance, Interpreter, Label
from ftverify.spec.typecheck import load_model
from ftverify.spec.types import format_value


@dataclass(frozen=True)
class Step:
    """What a call did, in the spec's terms.

    `action` is the spec action the call implemented, with its arguments, or None
    for a call that changed nothing (a failed call, or a no-op). A failed call
    names in `refused` the spec action it attempted: the spec must not allow it.
    """

    action: str | None
    args: tuple[tuple[str, Any], ...] = ()
    refused: tuple[str, tuple[tuple[str, Any], ...]] | None = None
    result: str = ""  # what the call returned, for the trace


class Adapter:
    """Connects an implementation to its spec. Subclass it; one instance is one run."""

    spec: ClassVar[str]  # the spec file, absolute or relative to the adapter's module
    consts: ClassVar[dict[str, int | bool]] = {}

    def abstract(self) -> dict[str, Any]:
        """The spec state of the implementation now (plain values, as `ftverify` prints them)."""
        raise NotImplementedError

    def perform(self, call: tuple[Any, ...]) -> Step:
        """Perform one call on the implementation."""
        raise NotImplementedError

    @classmethod
    def calls(cls) -> Any:
        """A hypothesis strategy of calls (tuples whose first element names the operation)."""
        raise NotImplementedError

    @classmethod
    def all_calls(cls) -> Sequence[tuple[Any, ...]]:
        """Every call, for the bounded exhaustive check."""
        raise NotImplementedError

    @classmethod
    def spec_path(cls) -> str:
        if os.path.isabs(cls.spec):
            return cls.spec
        owner = next(k for k in cls.__mro__ if "spec" in vars(k))  # relative to where `spec` is written
        return os.path.normpath(os.path.join(os.path.dirname(inspect.getfile(owner)), cls.spec))


def load_adapter(target: str) -> type[Adapter]:
    """`module:Name`: an Adapter subclass, or a class whose `adapter` attribute is one."""
    mod_name, _, name = target.partition(":")
    if not name:
        raise ValueError(f"expected MODULE:NAME, got {target!r}")
    obj = getattr(importlib.import_module(mod_name), name)
    obj = obj if inspect.isclass(obj) and issubclass(obj, Adapter) else getattr(obj, "adapter", None)
    if not (inspect.isclass(obj) and issubclass(obj, Adapter)):
        raise ValueError(f"{target} is neither an ftverify Adapter nor has an `adapter` attribute that is one")
    return obj


@dataclass
class Divergence:
    """A call sequence after which the implementation and the spec disagree."""

    calls: list[str]
    trace: Trace  # spec states along the calls (the last step is the diverging one)
    problem: str

    def __str__(self) -> str:
        return (f"refinement fails after {len(self.calls)} call(s): {self.problem}\n"
                f"{format_trace(self.trace)}\n    calls: " + "; ".join(self.calls))


class RefinementFailure(AssertionError):
    def __init__(self, divergence: Divergence) -> None:
        super().__init__()
        self.divergence = divergence

    def __str__(self) -> str:  # formatted only when shown: shrinking raises it many times
        return str(self.divergence)


class Checker:
    """The spec side: the reference interpreter, instance lookup, compiled invariants."""

    def __init__(self, adapter: type[Adapter], model: M.Model | None = None) -> None:
        self.model = model or load_model(adapter.spec_path(), dict(adapter.consts))
        self.interp = Interpreter(self.model, 0)
        self.layout = self.interp.layout
        self.by_label: dict[tuple[str, tuple[tuple[str, Any], ...]], Instance] = {
            (i.label.action, i.label.args): i for i in self.interp.instances}
        self.invariants = [(p.name, self.interp.properties[p.name]) for p in self.model.invariants()]
        self.init = self.interp.predicate(self.model.init)

    def encode(self, state: dict[str, Any]) -> int:
        try:
            return self.layout.encode(state)
        except (KeyError, ValueError, TypeError) as e:
            raise ValueError(f"the abstraction is not a state of {self.model.name}: {e}") from None

    def normal(self, state: dict[str, Any]) -> dict[str, Any]:
        """The state as the interpreter decodes it (the form traces print), if it is one."""
        try:
            return self.interp.decode(self.encode(state))
        except ValueError:
            return state

    def check_initial(self, state: dict[str, Any]) -> str | None:
        try:
            s = self.encode(state)
        except ValueError as e:
            return str(e)
        return None if self.init(s) else "the initial implementation state is not an initial state of the spec"

    def check(self, pre: dict[str, Any], step: Step, post: dict[str, Any]) -> str | None:
        """Why (pre, step, post) is not a step of the spec, or None."""
        try:
            s, t = self.encode(pre), self.encode(post)
        except ValueError as e:
            return str(e)
        if step.action is None:
            if s != t:
                return f"the call {step.result or 'failed'}, but the spec state changed"
            if step.refused is not None:
                inst = self.by_label.get(step.refused)
                if inst is not None and (inst.guard is None or inst.guard(s)):
                    return f"the call {step.result or 'failed'}, but the spec allows {inst.label}"
        else:
            inst = self.by_label.get((step.action, step.args))
            if inst is None:
                return f"the spec has no action {Label(step.action, step.args)}"
            try:
                if inst.guard is not None and not inst.guard(s):
                    return f"the call succeeded, but the spec does not allow {inst.label} here"
                if inst.apply(s) != t:
                    want = flatten_state(self.interp.decode(inst.apply(s)))
                    got = flatten_state(self.interp.decode(t))
                    diff = [f"{k} is {format_value(got[k])}, the spec says {format_value(v)}"
                            for k, v in want.items() if got[k] != v]
                    return f"{inst.label} leads to another spec state: {'; '.join(diff)}"
            except EvalError as e:
                return f"{inst.label} fails in the spec: {e.message}"
        for name, f in self.invariants:
            try:
                ok = f(t)
            except EvalError:
                ok = False
            if not ok:
                return f"invariant {name} is false after the call"
        return None


def _label(call: tuple[Any, ...], step: Step) -> Label:
    text = f"{call[0]}(" + ", ".join(str(x) for x in call[1:]) + ")"
    if step.action is None:
        return Label(f"{text} -> {step.result or 'error'}", ())
    return Label(f"{text} ~ {Label(step.action, step.args)}", ())


@dataclass
class Outcome:
    """The result of a refinement test."""

    calls: int = 0  # checked calls
    runs: int = 0
    states: int = 0  # distinct abstract states (exhaustive)
    depth: int = 0
    seconds: float = 0.0
    complete: bool = False  # exhaustive: every call sequence to `depth` was checked
    divergence: Divergence | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


# ---------------------------------------------------------------- random, with hypothesis's stateful testing
def random_test(adapter: type[Adapter], examples: int = 200, max_calls: int = 30, seed: int | None = None,
                checker: Checker | None = None) -> Outcome:
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis import seed as hseed
    from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

    chk = checker or Checker(adapter)
    out = Outcome()
    last: dict[str, Any] = {}
    start = time.perf_counter()

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.impl = adapter()
            state = self.last = self.impl.abstract()
            self.states, self.labels, self.calls = [chk.normal(state)], [], []
            last["run"] = self
            out.runs += 1
            problem = chk.check_initial(state)
            if problem:
                raise RefinementFailure(Divergence([], Trace([state], []), problem))

        @rule(call=adapter.calls())
        def call(self, call: tuple[Any, ...]) -> None:
            pre = self.last  # the abstraction after the previous call
            step = self.impl.perform(call)
            post = self.last = self.impl.abstract()
            out.calls += 1
            self.states.append(chk.normal(post))
            self.labels.append(_label(call, step))
            self.calls.append(self.labels[-1].action)
            problem = chk.check(pre, step, post)
            if problem:
                raise RefinementFailure(Divergence(list(self.calls), Trace(list(self.states), list(self.labels)),
                                                   problem))

    if seed is not None:
        Machine = hseed(seed)(Machine)  # type: ignore[misc]
    conf = settings(max_examples=examples, stateful_step_count=max_calls, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=False, derandomize=seed is None,
                    # no `explain` phase: it traces every line, and the trace we print says enough
                    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink])
    try:
        with control.current().watching(lambda: f"random testing: {out.runs:,} runs, {out.calls:,} calls checked"):
            run_state_machine_as_test(Machine, settings=conf)
    except RefinementFailure as e:
        out.divergence = e.divergence  # hypothesis re-raises the shrunk, minimal example last
    out.seconds = time.perf_counter() - start
    return out


# ---------------------------------------------------------------- bounded exhaustive
def exhaustive_test(adapter: type[Adapter], depth: int, timeout: float | None = None,
                    checker: Checker | None = None) -> Outcome:
    """Every call sequence up to `depth`, exploring the implementation's reachable states
    breadth-first; two implementation states with the same abstraction are explored once."""
    chk = checker or Checker(adapter)
    out = Outcome()
    start = time.perf_counter()
    calls = list(adapter.all_calls())
    first = adapter()
    state = first.abstract()
    problem = chk.check_initial(state)
    if problem:
        out.divergence = Divergence([], Trace([state], []), problem)
        return out
    key = chk.encode(state)
    seen = {key: None}
    parent: dict[int, tuple[int, str, Label, dict[str, Any]] | None] = {key: None}
    frontier = [(key, first)]
    deadline = start + timeout if timeout else None
    for d in range(depth):
        control.note(f"every call sequence of length {d + 1} ({out.calls:,} calls so far)")
        nxt = []
        for k, impl in frontier:
            pre = impl.abstract()
            for call in calls:
                trial = copy.deepcopy(impl)
                step = trial.perform(call)
                post = trial.abstract()
                out.calls += 1
                problem = chk.check(pre, step, post)
                if problem:
                    out.divergence = _path(parent, k, (call, step, post), pre, problem, chk)
                    out.depth, out.states = d + 1, len(seen)
                    out.seconds = time.perf_counter() - start
                    return out
                t = chk.encode(post)
                if t not in seen:
                    seen[t] = None
                    lab = _label(call, step)
                    parent[t] = (k, lab.action, lab, post)
                    nxt.append((t, trial))
            if deadline is not None and time.perf_counter() > deadline:
                out.notes.append(f"timeout after {timeout:g} s at depth {d + 1}")
                out.depth, out.states = d, len(seen)
                out.seconds = time.perf_counter() - start
                return out
        frontier = nxt
        out.depth = d + 1
        if not frontier:
            break
    out.complete = True
    out.states = len(seen)
    out.seconds = time.perf_counter() - start
    return out


def _path(parent: dict[int, Any], k: int, last: tuple[Any, Step, dict[str, Any]], pre: dict[str, Any],
          problem: str, chk: Checker) -> Divergence:
    states, labels, calls = [chk.normal(pre)], [], []
    cur = k
    while parent[cur] is not None:
        prev, text, lab, _ = parent[cur]
        labels.append(lab)
        calls.append(text)
        states.append(chk.interp.decode(prev))
        cur = prev
    states.reverse()
    labels.reverse()
    calls.reverse()
    call, step, post = last
    lab = _label(call, step)
    return Divergence([*calls, lab.action], Trace([*states, chk.normal(post)], [*labels, lab]), problem)


# ---------------------------------------------------------------- for pytest
def assert_refines(adapter: type[Adapter], examples: int = 200, max_calls: int = 30, depth: int = 0,
                   seed: int | None = None) -> Outcome:
    """Refinement-test `adapter` (random, then exhaustive to `depth` if given); an
    AssertionError carries the shortest diverging trace found."""
    chk = Checker(adapter)
    out = random_test(adapter, examples, max_calls, seed, chk)
    if out.divergence is None and depth:
        ex = exhaustive_test(adapter, depth, checker=chk)
        out.divergence, out.states, out.depth = ex.divergence, ex.states, ex.depth
    if out.divergence is not None:
        raise RefinementFailure(out.divergence)
    return out
