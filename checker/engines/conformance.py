"""Refinement testing of a Python implementation against its spec.

The user writes an `Adapter`: it owns one instance of the implementation, says
how to abstract it to a spec state (`abstract`), how to perform a call on it and
which spec action the call implemented (`perform` returns a `Step`), which calls
exist (`all_calls`) and, optionally, which call implements a given spec action
(`call_for`, for spec-guided generation). Then:

- after every call, (abstract(pre), the step's action, abstract(post)) must be a
  transition of the spec according to the reference interpreter; a failed call
  must be a stutter, and the spec must refuse the action it attempted; every
  invariant of the spec must hold of abstract(post);
- `random_test` generates call sequences guided by the spec: most calls are
  actions the spec enables in the current abstract state, a share are actions it
  refuses (their errors must change nothing), a share are any call at all, and
  each run uses a random subset of the spec's actions (swarm testing). Hypothesis
  draws the run as a few bytes and shrinks a failure to a minimal sequence;
  `exhaustive_test` explores the
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
import json
import os
import pickle
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import msgspec
from ftverify.checker.engines import control
from ftverify.checker.output.report import flatten_state, format_trace
from ftverify.checker.output.result import Trace
from ftverify.spec import model as M
from ftverify.spec.compile import EvalError
from ftverify.spec.interp import Instance, Interpreter, Label
from ftverify.spec.layout import StateLayout
from ftverify.spec.typecheck import load_model
from ftverify.spec.types import IntT, MapT, RecordT, format_value


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
    # The class attribute that holds the implementation class the adapter instantiates, so
    # that `--impl module:SubClass` tests SubClass and not the class the adapter was written for.
    implementation: ClassVar[str | None] = None

    def abstract(self) -> dict[str, Any]:
        """The spec state of the implementation now (plain values, as `ftverify` prints them)."""
        raise NotImplementedError

    def perform(self, call: tuple[Any, ...]) -> Step:
        """Perform one call on the implementation."""
        raise NotImplementedError

    def abstract_packed(self, layout: StateLayout) -> int | None:
        """Optional: `abstract()` as the interpreter's packed state, computed faster (say, from
        per-part codes remembered by value). Every eighth call and every failure is checked
        against `abstract()`."""
        return None

    @classmethod
    def all_calls(cls) -> Sequence[tuple[Any, ...]]:
        """Every call (valid and invalid ones): what random testing draws from when it is
        not guided by the spec, and what the bounded exhaustive check tries in every state."""
        raise NotImplementedError

    @classmethod
    def call_for(cls, action: str, args: dict[str, Any]) -> tuple[Any, ...] | None:
        """The call that implements spec action `action(args)`, or None if none does. Define
        it and random testing draws most calls from the actions the spec enables."""
        return None

    # -- optional: what `prove` (checker/engines/implproof.py, `refine --impl --prove`) needs
    @classmethod
    def symbolic(cls, pre: Any) -> Adapter:
        """An instance whose implementation state is built lazily from the symbolic spec state
        `pre` (`implproof.PreState`), with `symexec` values where the state has data."""
        raise NotImplementedError

    def abstract_symbolic(self) -> dict[str, Any]:
        """`abstract()` of an instance made by `symbolic`: plain values, SymInt, SymBool or SymEnum."""
        raise NotImplementedError

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Adapter:
        """An instance whose implementation state abstracts to `state` (to replay a counterexample)."""
        raise NotImplementedError

    @classmethod
    def symbolic_domain(cls, pre: Any) -> list[Any]:
        """Conditions (SymBool) on the spec states the implementation can represent at all."""
        return []

    @classmethod
    def provable(cls) -> bool:
        return cls.symbolic.__func__ is not Adapter.symbolic.__func__  # type: ignore[attr-defined]

    @classmethod
    def spec_path(cls) -> str:
        if os.path.isabs(cls.spec):
            return cls.spec
        owner = next(k for k in cls.__mro__ if "spec" in vars(k))  # relative to where `spec` is written
        return os.path.normpath(os.path.join(os.path.dirname(inspect.getfile(owner)), cls.spec))


def load_adapter(target: str) -> type[Adapter]:
    """`module:Name`: an Adapter subclass, or a class whose `adapter` attribute is one; then
    the adapter is bound to that class, so that the class named is the class tested."""
    mod_name, _, name = target.partition(":")
    if not name:
        raise ValueError(f"expected MODULE:NAME, got {target!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # `mymodule` in the current directory, as `python -m` finds it
    obj = getattr(importlib.import_module(mod_name), name)
    if inspect.isclass(obj) and issubclass(obj, Adapter):
        return obj
    adapter = getattr(obj, "adapter", None)
    if not (inspect.isclass(adapter) and issubclass(adapter, Adapter)):
        raise ValueError(f"{target} is neither an ftverify Adapter nor has an `adapter` attribute that is one")
    return bind(adapter, obj, target)


def adapter_for(target: str, spec: str | None = None, consts: dict[str, int] | None = None) -> type[Adapter]:
    """`load_adapter(target)`, checked against another spec file or other constants if given."""
    adapter = load_adapter(target)
    if spec is not None or consts:
        attrs: dict[str, Any] = {"consts": {**adapter.consts, **(consts or {})}}
        if spec is not None:
            attrs["spec"] = os.path.abspath(spec)
        adapter = type(adapter.__name__, (adapter,), attrs)
    return adapter


def bind(adapter: type[Adapter], impl: Any, target: str) -> type[Adapter]:
    """`adapter`, instantiating `impl` (a subclass of what it was written for, say)."""
    attr = adapter.implementation
    if attr is None or not hasattr(adapter, attr):
        raise ValueError(
            f"{target}: its adapter {adapter.__qualname__} does not say which class it instantiates (give it "
            f"`implementation = \"<class attribute>\"`), so {getattr(impl, '__qualname__', impl)} itself might "
            "never run; name the adapter instead")
    if getattr(adapter, attr) is impl:
        return adapter
    return type(f"{adapter.__name__}[{impl.__name__}]", (adapter,), {attr: impl, "__module__": adapter.__module__})


@dataclass
class Divergence:
    """A call sequence after which the implementation and the spec disagree."""

    calls: list[str]
    trace: Trace  # spec states along the calls (the last step is the diverging one)
    problem: str
    performed: list[tuple[Any, ...]] = field(default_factory=list)  # the calls themselves, to replay

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
    """The spec side: the reference interpreter, instance lookup, compiled invariants.

    Every question is asked of packed states and its answer remembered (the spec is a
    function of the state): a run revisits the same abstract states again and again, so
    after the first visit checking a call costs a few dictionary lookups.
    """

    def __init__(self, adapter: type[Adapter], model: M.Model | None = None) -> None:
        self.model = model or load_model(adapter.spec_path(), dict(adapter.consts))
        self.interp = Interpreter(self.model, 0)
        self.layout = self.interp.layout
        self.by_label: dict[tuple[str, tuple[tuple[str, Any], ...]], Instance] = {
            (i.label.action, i.label.args): i for i in self.interp.instances}
        self.invariants = [(p.name, self.interp.properties[p.name]) for p in self.model.invariants()]
        self.init = self.interp.predicate(self.model.init)
        read = set().union(*(_variables_read(a.guard) for a in self.model.actions if not a.is_fault))
        self.control_mask = sum(((1 << sl.width) - 1) << sl.offset for sl in self.layout.slots if sl.name in read) \
            or (1 << self.layout.width) - 1  # the bits of the variables the guards read
        self.actions = sorted({i.label.action for i in self.interp.instances})
        self.by_action = {a: [i for i in self.interp.instances if i.label.action == a] for a in self.actions}
        self._successor: dict[tuple[int, int], int | None] = {}  # (state, instance) -> successor, None: refused
        self._guard: dict[tuple[int, int], bool] = {}
        self._invariant: dict[int, str | None] = {}
        self.links = _links(self.layout)

    def encode(self, state: dict[str, Any]) -> int:
        try:
            return self.layout.encode(state)
        except (KeyError, ValueError, TypeError) as e:
            raise ValueError(f"the abstraction is not a state of {self.model.name}: {e}") from None

    def state_of(self, impl: Adapter, careful: bool = True) -> int:
        """The packed abstraction of `impl`: its fast `abstract_packed` if it has one (compared
        with `abstract()` when `careful`), else `abstract()` encoded. ValueError if it is none."""
        fast = impl.abstract_packed(self.layout)
        if fast is None or careful:
            slow = self.encode(impl.abstract())
            if fast is not None and fast != slow:
                raise ValueError("the adapter's abstract_packed() disagrees with its abstract()")
            return slow
        return fast

    def check_initial(self, state: dict[str, Any]) -> str | None:
        try:
            s = self.encode(state)
        except ValueError as e:
            return str(e)
        return None if self.init(s) else "the initial implementation state is not an initial state of the spec"

    def successor(self, s: int, inst: Instance) -> int | None:
        """The spec's successor of s by `inst`, or None if the spec refuses it there."""
        key = (s, id(inst))
        try:
            return self._successor[key]
        except KeyError:
            pass
        out = None if inst.guard is not None and not inst.guard(s) else inst.apply(s)
        if len(self._successor) > 2_000_000:
            self._successor.clear()
        self._successor[key] = out
        return out

    def allows(self, s: int, inst: Instance) -> bool:
        """Does the spec's guard of `inst` hold in s? (An action whose guard fails to evaluate
        counts as enabled: drawn, it fails in the spec, which is reported.) Asked of the bits the
        guards read only: states that differ in registers share the answer."""
        key = (s & self.control_mask, id(inst))
        hit = self._guard.get(key)
        if hit is None:
            try:
                hit = inst.guard is None or bool(inst.guard(s))
            except EvalError:
                hit = True
            if len(self._guard) > 4_000_000:
                self._guard.clear()
            self._guard[key] = hit
        return hit

    def link_depth(self, s: int) -> int:
        """The longest chain of links in s: a map whose values (or a field of them) point at its
        own keys, as a derivation tree's `parent` does, followed until it leaves the keys. Deep
        structures are where the corner cases of linked data are (0 if the spec has none)."""
        deepest = 0
        for cells in self.links:
            nxt = {key: ((s >> off) & mask) + lo for key, off, mask, lo in cells}
            for k in nxt:
                n, at = 0, k
                while at in nxt and n <= len(nxt):
                    n, at = n + 1, nxt[at]
                deepest = max(deepest, n - 1)
        return deepest

    def check(self, pre: dict[str, Any], step: Step, post: dict[str, Any]) -> str | None:
        """Why (pre, step, post) is not a step of the spec, or None."""
        try:
            s, t = self.encode(pre), self.encode(post)
        except ValueError as e:
            return str(e)
        return self.check_packed(s, step, t)

    def check_packed(self, s: int, step: Step, t: int) -> str | None:
        """`check` on packed states."""
        if step.action == RAISED:
            return f"the call {step.result}"
        if step.action is None:
            if s != t:
                return f"the call {step.result or 'failed'}, but the spec state changed"
            if step.refused is not None:
                inst = self.by_label.get(step.refused)
                if inst is not None:
                    try:
                        allowed = self.successor(s, inst) is not None
                    except EvalError:
                        allowed = False
                    if allowed:
                        return f"the call {step.result or 'failed'}, but the spec allows {inst.label}"
        else:
            inst = self.by_label.get((step.action, step.args))
            if inst is None:
                return f"the spec has no action {Label(step.action, step.args)}"
            try:
                want = self.successor(s, inst)
            except EvalError as e:
                return f"{inst.label} fails in the spec: {e.message}"
            if want is None:
                return f"the call succeeded, but the spec does not allow {inst.label} here"
            if want != t:
                wanted = flatten_state(self.interp.decode(want))
                got = flatten_state(self.interp.decode(t))
                diff = [f"{k} is {format_value(got[k])}, the spec says {format_value(v)}"
                        for k, v in wanted.items() if got[k] != v]
                return f"{inst.label} leads to another spec state: {'; '.join(diff)}"
        return self.invariant_problem(t)

    def invariant_problem(self, t: int) -> str | None:
        try:
            return self._invariant[t]
        except KeyError:
            pass
        problem = None
        for name, f in self.invariants:
            try:
                ok = f(t)
            except EvalError:
                ok = False
            if not ok:
                problem = f"invariant {name} is false after the call"
                break
        if len(self._invariant) > 2_000_000:
            self._invariant.clear()
        self._invariant[t] = problem
        return problem


def _variables_read(e: M.Expr) -> set[str]:
    out, todo = set(), [e]
    while todo:
        x = todo.pop()
        if isinstance(x, M.VarRef):
            out.add(x.name)
        elif isinstance(x, msgspec.Struct):
            todo.extend(getattr(x, f) for f in x.__struct_fields__)
        elif isinstance(x, tuple):
            todo.extend(x)
    return out


def _label(call: tuple[Any, ...], step: Step) -> Label:
    text = f"{call[0]}(" + ", ".join(str(x) for x in call[1:]) + ")"
    if step.action is None or step.action == RAISED:
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
    found_after: float | None = None  # seconds until the first failing run (before shrinking)
    stopped: str | None = None  # why the test stopped early (Ctrl-C, the time limit)
    notes: list[str] = field(default_factory=list)

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


# ---------------------------------------------------------------- random, guided by the spec
# A run is drawn as bytes: a swarm mask, then three bytes per call (a selector and an index).
# Hypothesis shrinks bytes towards zero and deletes them, so the selector's low values are the
# spec-enabled calls (the common case a shrunk trace should consist of).
ENABLED, REFUSED = 154, 226  # selector < ENABLED: an enabled action; < REFUSED: a refused one; else any call
_SWARM_BITS = 16
DEEP_SHARE = 0.3  # runs that go on from a deep, rarely visited place with one to three calls


class Runner:
    """Runs one generated call sequence against the spec."""

    def __init__(self, adapter: type[Adapter], chk: Checker) -> None:
        self.adapter, self.chk = adapter, chk
        self.all_calls = list(adapter.all_calls())
        if not self.all_calls:
            raise ValueError(f"{adapter.__qualname__}.all_calls() gives no calls")
        self.guided = any(adapter.call_for(a, dict(i.label.args)) is not None
                          for a in chk.actions for i in chk.by_action[a][:1])
        self._call_of: dict[int, tuple[Any, ...] | None] = {}
        self._swarms: dict[int, list[list[Instance]]] = {}
        self._picked: dict[tuple[int, int, int, int, bool], tuple[Any, ...] | None] = {}

    def call_of(self, inst: Instance) -> tuple[Any, ...] | None:
        key = id(inst)
        if key not in self._call_of:
            self._call_of[key] = self.adapter.call_for(inst.label.action, dict(inst.label.args))
        return self._call_of[key]

    def pick(self, s: int, sel: int, idx: int, mask: int) -> tuple[Any, ...]:
        """The call the selector and index choose in spec state s: an action of the run's swarm
        (by the index's high byte), then the first of its instances at or after the low byte
        that the spec enables (or refuses, by the selector); if it has none, the next action's.
        Choosing the action first keeps an action with many instances from crowding out the
        others. Guards are evaluated one at a time and remembered."""
        if self.guided and sel < REFUSED:
            want = sel < ENABLED
            call = self._scan(s, self._swarm(mask), idx, want)
            if call is None and want:  # nothing of the swarm is enabled: any enabled action
                call = self._scan(s, self._swarm(0), idx, want)
            if call is not None:
                return call
        return self.all_calls[idx % len(self.all_calls)]

    def _scan(self, s: int, actions: list[list[Instance]], idx: int, want: bool) -> tuple[Any, ...] | None:
        first, low = (idx >> 8) % len(actions), idx & 0xFF
        key = (s, id(actions), first, low, want)
        if key in self._picked:
            return self._picked[key]
        found = None
        for a in range(len(actions)):
            pool = actions[(first + a) % len(actions)]
            n = len(pool)
            for k in range(n):
                inst = pool[(low + k) % n]
                if self.chk.allows(s, inst) == want:
                    found = self.call_of(inst)
                    if found is not None:
                        break
            if found is not None:
                break
        if len(self._picked) > 2_000_000:
            self._picked.clear()
        self._picked[key] = found
        return found

    def _swarm(self, mask: int) -> list[list[Instance]]:
        hit = self._swarms.get(mask)
        if hit is None:
            hit = self._swarms[mask] = [self.chk.by_action[a] for a in self.swarm(mask)]
        return hit

    def swarm(self, mask: int) -> list[str]:
        """The actions of this run: those whose bit is clear (mask 0, what shrinking gives: all)."""
        chosen = [a for k, a in enumerate(self.chk.actions) if not mask >> (k % _SWARM_BITS) & 1]
        return chosen or self.chk.actions

    def run(self, program: bytes, out: Outcome) -> Divergence | None:
        """Perform the calls the bytes select; the first divergence, if any."""
        mask, n = int.from_bytes(program[:2], "big"), (len(program) - 2) // 3

        def call(s: int, k: int) -> tuple[Any, ...] | None:
            at = 2 + 3 * k
            return self.pick(s, program[at], int.from_bytes(program[at + 1:at + 3], "big"), mask) if k < n else None
        return self.perform(call, out)

    def replay(self, calls: Sequence[tuple[Any, ...]], out: Outcome | None = None) -> Divergence | None:
        return self.perform(lambda s, k: calls[k] if k < len(calls) else None, out or Outcome())

    def minimise(self, div: Divergence, out: Outcome) -> Divergence:
        """A shorter divergence, by deleting calls while the rest still diverges (each single
        call, then halves, quarters...: what is left is 1-minimal)."""
        best = div
        size = max(1, len(best.performed) // 2)
        while size >= 1:
            i, shrunk = 0, False
            while i < len(best.performed):
                trial = self.replay(best.performed[:i] + best.performed[i + size:], out)
                if trial is not None and len(trial.performed) < len(best.performed):
                    best, shrunk = trial, True
                else:
                    i += size
            if size == 1 and not shrunk:
                break
            size = 1 if size == 1 else size // 2
        return self.shortest(best)

    def shortest(self, div: Divergence, seconds: float = 5.0) -> Divergence:
        """The shortest divergence made of the calls `div` uses (any order, any repetition): a
        breadth-first search over that small alphabet, which is cheap where deleting calls got
        stuck (two calls that only together set something up). `div` if none is shorter."""
        alphabet = list(dict.fromkeys(div.performed))
        if len(div.performed) < 3:
            return div
        narrow = type(self.adapter.__name__, (self.adapter,),
                      {"all_calls": classmethod(lambda cls: alphabet), "__module__": self.adapter.__module__})
        found = exhaustive_test(narrow, len(div.performed) - 1, seconds, self.chk).divergence
        return found if found is not None and len(found.performed) < len(div.performed) else div

    def explore(self, rng: random.Random, runs: int, max_calls: int, out: Outcome) -> Divergence | None:
        """Coverage-guided runs, as a fuzzer keeps a corpus: a run that reaches a spec state no
        run reached before is kept, and most runs replay a prefix of a kept run and go on from
        there, so that the search keeps pushing into new spec states instead of retreading those
        near the initial one. The run to go on from is the best of eight drawn from the corpus:
        the one ending in the deepest linked structure (`Checker.link_depth`), then in the place
        runs have passed through least often (rare places first, as fuzzers schedule); these
        runs (DEEP_SHARE of them) add only one to three calls, so that a deep place is tried
        with many single calls. The other runs go on from any kept run with up to `max_calls`.
        Each new call prefers an action instance not yet tried in its spec state; swarm and the
        enabled/refused/any mix are as in `pick`."""
        tried: set[tuple[int, int]] = set()
        hits: dict[int, int] = {}  # runs that passed through each place
        depth: dict[int, int] = {}  # the link depth of each place
        matching: dict[tuple[int, int, bool], list[Instance]] = {}  # (place, action, want) -> its instances
        corpus: list[tuple[list[tuple[Any, ...]], int]] = []  # a kept run and the place it ends in
        everything = self._swarm(0)
        # Novelty is judged on the variables the guards read: a new register value is not a new
        # place to explore from, a new capability layout is.
        relevant = self.chk.control_mask

        def fresh(s: int, want: bool, pools: list[list[Instance]]) -> Instance | None:
            """An instance of a random action the spec enables (or refuses, by `want`): one
            not tried in this place before, if there is one."""
            order = list(pools)
            rng.shuffle(order)
            place = s & relevant
            for untried in (True, False):
                for pool in order:
                    key = (place, id(pool), want)
                    cands = matching.get(key)
                    if cands is None:
                        cands = matching[key] = [i for i in pool if self.chk.allows(s, i) == want
                                                 and self.call_of(i) is not None]
                    if untried:
                        cands = [i for i in cands if (place, id(i)) not in tried]
                    if cands:
                        return rng.choice(cands)
            return None

        def call(s: int, k: int) -> tuple[Any, ...] | None:
            place = s & relevant
            seen = hits.get(place, 0)
            hits[place] = seen + 1
            if not seen:  # a new place: keep the run up to here
                depth[place] = self.chk.link_depth(s)
                run[0] = (performed[:k], place)
            if k < len(prefix):
                return prefix[k]
            if k >= len(prefix) + n:
                return None
            u = rng.random()
            if self.guided and u < REFUSED / 256:
                want = u < ENABLED / 256
                inst = fresh(s, want, swarm) or (fresh(s, want, everything) if want else None)
                if inst is not None:
                    tried.add((s & relevant, id(inst)))
                    c = self.call_of(inst)
                    assert c is not None
                    performed.append(c)
                    return c
            c = rng.choice(self.all_calls)
            performed.append(c)
            return c

        for _ in range(runs):
            if control.current().stopped:
                break
            deep = rng.random() < DEEP_SHARE
            if corpus and rng.random() < 0.9:
                base = min((rng.choice(corpus) for _ in range(8)), key=lambda e: (-depth[e[1]], hits[e[1]]))[0] \
                    if deep else rng.choice(corpus)[0]
                prefix = base if rng.random() < 0.7 else base[:rng.randint(len(base) // 2, len(base))]
            else:
                prefix = []
            swarm = self._swarm(rng.getrandbits(_SWARM_BITS))
            n = rng.randint(1, min(3, max_calls) if deep else max_calls)
            performed: list[tuple[Any, ...]] = list(prefix)
            run: list[tuple[list[tuple[Any, ...]], int] | None] = [None]  # the last new place this run reached
            out.runs += 1
            div = self.perform(call, out)
            if div is not None:
                return div
            if run[0] is not None:
                corpus.append(run[0])
        return None

    def perform(self, next_call: Callable[[int, int], tuple[Any, ...] | None], out: Outcome) -> Divergence | None:
        """Perform `next_call(state, k)` for k = 0, 1, ... until it gives None; the first divergence."""
        chk = self.chk
        impl = self.adapter()
        first = impl.abstract()
        problem = chk.check_initial(first)
        if problem:
            return Divergence([], Trace([first], []), problem)
        s = chk.encode(first)
        states, done = [s], []
        while (call := next_call(s, len(done))) is not None:
            step = _perform(impl, call)
            out.calls += 1
            done.append((call, step))
            try:
                t = chk.state_of(impl, careful=out.calls % 8 == 0)
                problem = chk.check_packed(s, step, t)
                if problem:
                    t = chk.state_of(impl)  # a failure is never reported on the fast path alone
                    problem = chk.check_packed(s, step, t)
            except ValueError as e:
                return self._divergence(states, done, str(e), impl.abstract())
            states.append(t)
            if problem:
                return self._divergence(states, done, problem)
            s = t
        return None

    def _divergence(self, states: list[int], done: list[tuple[Any, Step]], problem: str,
                    last: dict[str, Any] | None = None) -> Divergence:
        decoded = [self.chk.interp.decode(x) for x in states] + ([last] if last is not None else [])
        labels = [_label(c, st) for c, st in done]
        return Divergence([lab.action for lab in labels], Trace(decoded, labels), problem, [c for c, _ in done])


class FailureStore:
    """Call sequences that diverged before, in a JSON file: replayed before anything is generated,
    so that a bug found once is shown again at once until it is fixed (hypothesis's database does
    the same for the runs it draws)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "failures.json"

    def load(self) -> list[list[tuple[Any, ...]]]:
        try:
            data = json.loads(self.path.read_text())
            return [[tuple(c) for c in calls] for calls in data]
        except (OSError, ValueError, TypeError):
            return []

    def add(self, calls: list[tuple[Any, ...]]) -> None:
        known = self.load()
        if calls in known:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps([*known, [list(c) for c in calls]][-20:]))
        except (OSError, TypeError, ValueError):
            pass  # calls that are not JSON, or a folder we cannot write: nothing is remembered

    def hypothesis_database(self) -> Any:
        from hypothesis.database import DirectoryBasedExampleDatabase

        return DirectoryBasedExampleDatabase(str(self.folder / "hypothesis"))


def random_test(adapter: type[Adapter], examples: int = 3000, max_calls: int = 30, seed: int | None = None,
                checker: Checker | None = None, database: Any = None, store: FailureStore | None = None) -> Outcome:
    """`examples` coverage-guided runs (`Runner.explore`), then a tenth as many drawn by
    hypothesis; each adds up to `max_calls` calls. The divergence found, minimised (hypothesis
    shrinks its own; deleting calls shortens either). `database` (a hypothesis example
    database) remembers failing runs so that the next test replays them first; `store` does
    the same for every failure found, and its sequences are replayed before anything else.
    Stopped by Ctrl-C or the time limit, it returns what it checked (`stopped` says why)."""
    out = Outcome()
    start = time.perf_counter()
    try:
        _generate(adapter, examples, max_calls, seed, checker, database, store, out, start)
    except KeyboardInterrupt as e:  # Ctrl-C or the time limit: what was checked so far stands
        out.stopped = control.interrupted_message(e)
    out.stopped = out.stopped or control.current().stopped
    out.seconds = time.perf_counter() - start
    return out


def _generate(adapter: type[Adapter], examples: int, max_calls: int, seed: int | None, checker: Checker | None,
              database: Any, store: FailureStore | None, out: Outcome, start: float) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    chk = checker or Checker(adapter)
    runner = Runner(adapter, chk)

    def found(div: Divergence) -> None:
        if out.found_after is None:
            out.found_after = time.perf_counter() - start
        out.divergence = div  # kept as it is if Ctrl-C stops the minimising
        out.divergence = runner.minimise(div, Outcome())
        if store is not None:
            store.add(out.divergence.performed)

    def replay_stored() -> Divergence | None:
        for calls in store.load() if store is not None else []:
            div = runner.replay(calls, out)
            if div is not None:
                out.notes.append("a call sequence that diverged before (from the failure store) still diverges")
                return div
        return None

    @given(st.integers(1, max_calls).flatmap(lambda n: st.binary(min_size=2 + 3 * n, max_size=2 + 3 * n)))
    def one_run(program: bytes) -> None:
        out.runs += 1
        div = runner.run(program, out)
        if div is not None:
            if out.found_after is None:
                out.found_after = time.perf_counter() - start
            raise RefinementFailure(div)

    conf = settings(max_examples=max(1, examples // 10), deadline=None, database=database, suppress_health_check=list(HealthCheck),
                    print_blob=False, derandomize=seed is None and database is None,
                    # no `explain` phase: it traces every line, and the trace we print says enough
                    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink])
    test = settings(conf)(one_run)
    if seed is not None or database is not None:
        test = hseed(0 if seed is None else seed)(test)
    with control.current().watching(lambda: f"spec-coverage runs: {out.runs:,} runs, {out.calls:,} calls checked"):
        div = replay_stored() or runner.explore(random.Random(seed or 0), examples, max_calls, out)
    if div is not None:
        found(div)
    elif not control.current().stopped:
        try:
            with control.current().watching(lambda: f"random testing: {out.runs:,} runs, {out.calls:,} calls checked"):
                test()
        except RefinementFailure as e:
            # hypothesis re-raises its shrunk example last; deleting calls may shorten it further
            found(e.divergence)


def _links(layout: StateLayout) -> list[list[tuple[int, int, int, int]]]:
    """Every map over an integer range whose values, or a field of them, range over a superset
    of its keys: the links `Checker.link_depth` follows, as (key, bit offset, mask, lowest value)
    of each pointer cell."""
    found = []
    by_path = {c.path: c for c in layout.cells()}
    for sl in layout.slots:
        t = sl.type
        if not (isinstance(t, MapT) and isinstance(t.key, IntT)):
            continue
        key = t.key
        fields = [None] if isinstance(t.value, IntT) else \
            [f for f, _ in t.value.fields] if isinstance(t.value, RecordT) else []
        for f in fields:
            paths = [f"{sl.name}[{k}]" + ("" if f is None else f".{f}") for k in range(key.lo, key.hi + 1)]
            cells = [by_path[p] for p in paths if p in by_path]
            if len(cells) == key.hi - key.lo + 1 and all(
                    isinstance(c.type, IntT) and c.type.lo <= key.lo and c.type.hi >= key.hi for c in cells):
                found.append([(key.lo + i, c.offset, (1 << c.width) - 1, c.type.lo) for i, c in enumerate(cells)])
    return found


# ---------------------------------------------------------------- bounded exhaustive
class _Snapshot:
    """A frozen copy of an implementation object, thawed as often as needed (pickle is several
    times faster than deepcopy; an object that does not pickle is deep-copied)."""

    def __init__(self, impl: Any) -> None:
        try:
            self.data: bytes | None = pickle.dumps(impl, pickle.HIGHEST_PROTOCOL)
            self.impl = None
        except (pickle.PicklingError, TypeError, AttributeError):
            self.data, self.impl = None, copy.deepcopy(impl)

    def thaw(self) -> Any:
        return pickle.loads(self.data) if self.data is not None else copy.deepcopy(self.impl)


def exhaustive_test(adapter: type[Adapter], depth: int, timeout: float | None = None,
                    checker: Checker | None = None) -> Outcome:
    """Every call sequence up to `depth`, exploring the implementation's reachable states
    breadth-first; two implementation states with the same abstraction are explored once.

    Every call of a state is performed on the same thawed copy until one changes the
    abstraction; only then is a fresh copy thawed (most calls of most states fail). Stopped
    by Ctrl-C or the command's time limit, it returns what it checked (`stopped` says why)."""
    out = Outcome()
    start = time.perf_counter()
    try:
        _breadth_first(adapter, depth, timeout, checker or Checker(adapter), out, start)
    except KeyboardInterrupt as e:
        out.stopped = control.interrupted_message(e)
        out.seconds = time.perf_counter() - start
    return out


def _breadth_first(adapter: type[Adapter], depth: int, timeout: float | None, chk: Checker, out: Outcome,
                   start: float) -> None:
    calls = list(adapter.all_calls())
    first = adapter()
    state = first.abstract()
    problem = chk.check_initial(state)
    if problem:
        out.divergence = Divergence([], Trace([state], []), problem)
        return
    key = chk.encode(state)
    parent: dict[int, tuple[int, Label, tuple[Any, ...]] | None] = {key: None}
    frontier = [(key, _Snapshot(first))]
    deadline = start + timeout if timeout else None
    for d in range(depth):
        control.note(f"every call sequence of length {d + 1} ({out.calls:,} calls so far)")
        nxt = []
        for k, snap in frontier:
            trial, used = snap.thaw(), False
            for call in calls:
                out.calls += 1
                step, t, problem = _try(chk, k, trial, call, out.calls % 8 == 0)
                if problem and used:  # earlier calls may have changed what the abstraction hides
                    trial = snap.thaw()
                    step, t, problem = _try(chk, k, trial, call, True)
                if problem:
                    post = trial.abstract() if t is None else chk.interp.decode(t)
                    out.divergence = _path(parent, k, (call, step, post), problem, chk)
                    break
                if t == k:
                    used = True
                    continue
                if t not in parent:
                    parent[t] = (k, _label(call, step), call)
                    out.states = len(parent)
                    nxt.append((t, _Snapshot(trial)))
                trial, used = snap.thaw(), False
            if out.divergence is not None:
                out.depth, out.states = d + 1, len(parent)
                out.seconds = time.perf_counter() - start
                return
            if deadline is not None and time.perf_counter() > deadline:
                out.notes.append(f"timeout after {timeout:g} s at depth {d + 1}")
                out.depth, out.states = d, len(parent)
                out.seconds = time.perf_counter() - start
                return
        frontier = nxt
        out.depth = d + 1
        if not frontier:
            break
    out.complete = True
    out.states = len(parent)
    out.seconds = time.perf_counter() - start


RAISED = "<raised>"  # the action of a Step whose call raised an exception


def _perform(impl: Adapter, call: tuple[Any, ...]) -> Step:
    """`impl.perform(call)`; an exception from the implementation is a step no spec allows."""
    try:
        return impl.perform(call)
    except Exception as e:  # the code under test failed: report it, with the calls that led there
        return Step(RAISED, result=f"raised {type(e).__name__}: {e}")


def _try(chk: Checker, k: int, impl: Any, call: tuple[Any, ...], careful: bool) -> tuple[Step, int | None, str | None]:
    """Perform `call` on `impl` in spec state k: the step, the packed state after it, the problem."""
    step = _perform(impl, call)
    try:
        t = chk.state_of(impl, careful)
        problem = chk.check_packed(k, step, t)
        if problem:
            t = chk.state_of(impl)
            problem = chk.check_packed(k, step, t)
    except ValueError as e:
        return step, None, str(e)
    return step, t, problem


def _path(parent: dict[int, Any], k: int, last: tuple[Any, Step, dict[str, Any]], problem: str,
          chk: Checker) -> Divergence:
    states, labels, calls = [chk.interp.decode(k)], [], []
    cur = k
    while parent[cur] is not None:
        prev, lab, c = parent[cur]
        labels.append(lab)
        calls.append(c)
        states.append(chk.interp.decode(prev))
        cur = prev
    states.reverse()
    labels.reverse()
    calls.reverse()
    call, step, post = last
    labels.append(_label(call, step))
    return Divergence([lab.action for lab in labels], Trace([*states, post], labels), problem, [*calls, call])


# ---------------------------------------------------------------- for pytest
def assert_refines(adapter: type[Adapter], examples: int = 3000, max_calls: int = 30, depth: int = 0,
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
