"""Explicit exploration with the visited set partitioned across a cluster's workers.

Each state belongs to one partition, by a hash of the packed state; partition k lives on
worker k and holds its states and the state each was first reached from. The search goes
breadth-first, one layer at a time:

1. every partition expands its frontier on the reference interpreter (the explicit engine's
   own steps: guards, updates, the fault budget) and sorts the successors by owner;
2. each owner receives its successors from every partition (Dask moves them worker to
   worker), keeps the new ones as its next frontier and checks them.

So the states, transitions, deadlocks and depth are exactly those of the single-process
engine. A counterexample is the chain of first-parents, gathered from the partitions that
own its states, and replayed on the interpreter by the same report as the local engine's.

What it decides: invariants, `reachable`, `type_ok` and deadlocks. Properties that need the
whole graph or every step (`recovers`, liveness, step properties) stay `unknown` here.
A partition's worker lost mid-run takes its states with it: the exploration then stops as
`unknown` with that reason (it is not restarted silently).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
from ftverify.checker.cluster.backend import load_checked, work_stamp
from ftverify.checker.engines import control
from ftverify.checker.engines.explicit import Exploration, Limits, report_of, statically_type_safe
from ftverify.checker.engines.layered import (
    CHUNK,
    EMPTY,
    GOLDEN,
    VisitedSet,
    judge,
    note_enabled,
    note_lefts,
    step_block,
    vector_model,
)
from ftverify.checker.engines.vectorize import U64, Lanes
from ftverify.checker.engines.workers import NotRun
from ftverify.checker.output.result import Report, Result, Verdict
from ftverify.spec import model as M
from ftverify.spec.budget import budget_for
from ftverify.spec.compile import EvalError
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import load_model

_MIX = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1
DECIDED_HERE = ("invariant", "reachable")  # and type_ok; not step properties (every step), nor the graph's


def owner(s: int, count: int) -> int:
    """The partition of packed state s: a multiplicative hash (packed states share low bits),
    computed as numpy computes it on uint64 for states of up to 64 bits (`owners`)."""
    return ((((s & _MASK) ^ (s >> 64)) * _MIX & _MASK) >> 32) % count


def owners(states: np.ndarray, count: int) -> np.ndarray:
    return ((states * GOLDEN) >> U64(32)) % U64(count)


@dataclass(frozen=True)
class SearchSpec:
    """What every partition loads: the spec by its file and constants, never objects."""

    path: str
    consts: tuple[tuple[str, int], ...]
    faults: Any  # as given to `budget_for`
    wanted: tuple[str, ...] | None  # the properties asked for (None: all)
    count: int  # partitions
    run: str  # this search's name on the workers
    vector: bool = True  # data-parallel partitions where the model compiles to numpy (as the local engine)
    stamp: str = ""  # the code and model as the client loaded them (`backend.work_stamp`)


# ---------------------------------------------------------------- on the workers
_PARTITIONS: dict[tuple[str, int], Partition] = {}  # a worker process's partitions, by (run, index)


class Partition:
    """One slice of the visited set and its frontier."""

    def __init__(self, spec: SearchSpec, k: int, interp: Interpreter) -> None:
        model = interp.model
        self.interp = interp
        self.k, self.count = k, spec.count
        self.parent: dict[int, int | None] = {}
        self.frontier: list[int] = []

        def asked(p: M.Property) -> bool:
            return spec.wanted is None or p.name in spec.wanted

        self.invariants = [(p.name, interp.properties[p.name]) for p in model.properties
                           if p.kind == "invariant" and asked(p)]
        self.reachables = [(p.name, interp.properties[p.name]) for p in model.properties
                           if p.kind == "reachable" and asked(p)]
        self.lefts = [(p.name, interp.predicate(p.pred.left)) for p in model.invariants()
                      if isinstance(p.pred, M.Binary) and p.pred.op == "implies"]
        insts = list(enumerate(interp.instances))
        # Non-fault steps first, as the local engine orders them.
        self.steps = [(i, inst.guard, inst.apply, inst.label.is_fault) for i, inst in insts if not inst.label.is_fault] \
            + [(i, inst.guard, inst.apply, inst.label.is_fault) for i, inst in insts if inst.label.is_fault]
        self.ever_enabled: set[int] = set()
        self.lefts_true: set[str] = set()
        self.outbox: list[Any] = []  # the frontier's successors by owner, until each owner takes its own

    def check(self, t: int, found: dict[str, Any]) -> None:
        if self.invariants:
            keep = []
            for name, f in self.invariants:
                try:
                    ok = f(t)
                except EvalError as e:
                    ok = False
                    found["eval_errors"][name] = e.message
                if ok:
                    keep.append((name, f))
                else:
                    found["violations"][name] = t
            self.invariants = keep
        if self.reachables:
            self.reachables = _until_true(self.reachables, t, lambda name: found["witnesses"].update({name: t}))
        if self.lefts:
            self.lefts = _until_true(self.lefts, t, self.lefts_true.add)

    def batch(self, initial: list[int]) -> Any:
        return initial, [None] * len(initial)

    def parent_of(self, s: int) -> int | None:
        return self.parent[s]

    def receive(self, batches: list[tuple[list[int], list[int | None]]]) -> dict[str, Any]:
        """Keep the states not seen before as the next frontier, and check them."""
        found: dict[str, Any] = {"violations": {}, "eval_errors": {}, "witnesses": {}}
        parent = self.parent
        frontier: list[int] = []
        for targets, sources in batches:
            for t, s in zip(targets, sources, strict=True):
                if t not in parent:
                    parent[t] = s
                    frontier.append(t)
                    self.check(t, found)
        self.frontier = frontier
        return {**found, "new": len(frontier), "states": len(parent), "lefts_true": sorted(self.lefts_true)}

    def expand(self) -> dict[str, Any]:
        """The frontier's successors, sorted by owner into `outbox`; returns what the expansion saw."""
        count = self.count
        out: list[tuple[list[int], list[int | None]]] = [([], []) for _ in range(count)]
        transitions = deadlocks = 0
        first_deadlock = type_error = None
        ever = self.ever_enabled
        for s in self.frontier:
            enabled = False
            before = transitions
            mark = [len(o[0]) for o in out]
            try:
                for i, guard, apply, is_fault in self.steps:
                    if guard is None or guard(s):
                        t = apply(s)
                        transitions += 1
                        enabled = enabled or not is_fault
                        ever.add(i)
                        o = out[((((t & _MASK) ^ (t >> 64)) * _MIX & _MASK) >> 32) % count]
                        o[0].append(t)
                        o[1].append(s)
            except EvalError:
                # Redo this state one step at a time, recording the failing step, as the local engine does.
                for o, m in zip(out, mark, strict=True):
                    del o[0][m:], o[1][m:]
                transitions, enabled = before, False
                for i, guard, apply, is_fault in self.steps:
                    try:
                        if guard is not None and not guard(s):
                            continue
                        t = apply(s)
                    except EvalError as e:
                        ever.add(i)
                        if type_error is None:
                            type_error = (s, i, e.message)
                        continue
                    transitions += 1
                    enabled = enabled or not is_fault
                    ever.add(i)
                    o = out[owner(t, count)]
                    o[0].append(t)
                    o[1].append(s)
            if not enabled:
                deadlocks += 1
                if first_deadlock is None:
                    first_deadlock = s
        self.outbox = out
        return {"transitions": transitions, "deadlocks": deadlocks, "first_deadlock": first_deadlock,
                "type_error": type_error, "ever_enabled": sorted(self.ever_enabled)}


class VectorPartition(Partition):
    """A partition that expands and checks its frontier a block at a time with numpy (the local
    engine's data-parallel search, `layered`): states are uint64, and each layer keeps its new
    states (sorted) with the state each was first reached from."""

    def __init__(self, spec: SearchSpec, k: int, interp: Interpreter, vm: Any) -> None:
        super().__init__(spec, k, interp)
        self.vm = vm
        self.visited = VisitedSet()
        self.layers: list[tuple[np.ndarray, np.ndarray]] = []
        self.frontier_v = np.zeros(0, dtype=U64)
        self.vinvariants = [(name, vm.properties[name]) for name, _ in self.invariants]
        self.vreachables = [(name, vm.properties[name]) for name, _ in self.reachables]
        self.vlefts = [(name, vm.lefts[name]) for name, _ in self.lefts]
        self.never = list(vm.ordered)
        self.states = 0

    def batch(self, initial: list[int]) -> Any:
        return np.array(initial, dtype=U64), np.full(len(initial), EMPTY, dtype=U64)

    def parent_of(self, s: int) -> int | None:
        for targets, sources in self.layers:
            i = int(np.searchsorted(targets, U64(s)))
            if i < targets.size and int(targets[i]) == s:
                p = sources[i]
                return None if p == EMPTY else int(p)
        raise KeyError(s)

    def receive(self, batches: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:  # type: ignore[override]
        found = SimpleNamespace(violations={}, eval_errors={}, witnesses={})
        targets = np.concatenate([b[0] for b in batches]) if batches else np.zeros(0, dtype=U64)
        sources = np.concatenate([b[1] for b in batches]) if batches else np.zeros(0, dtype=U64)
        distinct, first = np.unique(targets, return_index=True)  # the first arrival's source, sorted
        fresh = self.visited.add(distinct)
        new, parents = distinct[fresh], sources[first][fresh]
        self.layers.append((new, parents))
        self.frontier_v = new
        self.states += int(new.size)
        if new.size and (self.vinvariants or self.vreachables or self.vlefts):
            for lo in range(0, new.size, CHUNK):
                block = new[lo:lo + CHUNK]
                N = Lanes(block[None, :])
                self.vinvariants = judge(found, self.interp, self.vinvariants, N, block, want=False)
                self.vreachables = judge(found, self.interp, self.vreachables, N, block, want=True)
                self.vlefts = note_lefts(self.vlefts, N, self.lefts_true)
        return {"violations": found.violations, "eval_errors": found.eval_errors, "witnesses": found.witnesses,
                "new": int(new.size), "states": self.states, "lefts_true": sorted(self.lefts_true)}

    def expand(self) -> dict[str, Any]:
        count = self.count
        transitions = deadlocks = 0
        first_deadlock = type_error = None
        succ: list[np.ndarray] = []
        srcs: list[np.ndarray] = []
        frontier = self.frontier_v
        for lo in range(0, frontier.size, CHUNK):
            block = frontier[lo:lo + CHUNK]
            L = Lanes(block[None, :])
            self.never = note_enabled(self.never, L, self.ever_enabled)
            steps, lanes, alive, failed = step_block(self.vm.ordered, block, L)
            transitions += sum(t.size for t in steps)
            succ += [np.asarray(t, dtype=U64) for t in steps]
            srcs += [block[i] for i in lanes]
            dead = ~alive
            if dead.any():
                deadlocks += int(np.count_nonzero(dead))
                if first_deadlock is None:
                    first_deadlock = int(block[np.argmax(dead)])
            if failed is not None and type_error is None:
                type_error = self.first_failure(int(block[np.argmax(failed)]))
        targets = np.concatenate(succ) if succ else np.zeros(0, dtype=U64)
        sources = np.concatenate(srcs) if srcs else np.zeros(0, dtype=U64)
        targets, first = np.unique(targets, return_index=True)  # ship each successor once
        sources = sources[first]
        dest = owners(targets, count)
        self.outbox = [(targets[dest == o], sources[dest == o]) for o in range(count)]
        return {"transitions": transitions, "deadlocks": deadlocks, "first_deadlock": first_deadlock,
                "type_error": type_error, "ever_enabled": sorted(self.ever_enabled)}

    def first_failure(self, s: int) -> tuple[int, int, str]:
        """The first failing step at s in the local engine's order, found on the interpreter."""
        for vi in self.vm.ordered:
            inst = self.interp.instances[vi.index]
            try:
                if inst.guard is None or inst.guard(s):
                    inst.apply(s)
            except EvalError as e:
                return s, vi.index, e.message
        raise AssertionError(f"the vector engine found a failing step at state {s:#x}; the interpreter finds none")


def _until_true(preds: list[tuple[str, Any]], t: int, seen: Any) -> list[tuple[str, Any]]:
    """The predicates still false at every state so far, after state t; `seen(name)` for those true
    at t (a `reachable`'s witness, an implication's left side). One that fails to evaluate is false."""
    keep = []
    for name, f in preds:
        try:
            true = f(t)
        except EvalError:
            true = False
        if true:
            seen(name)
        else:
            keep.append((name, f))
    return keep


def _start(spec: SearchSpec, k: int) -> dict[str, Any]:
    def load() -> Interpreter:
        model = load_model(spec.path, dict(spec.consts))
        return Interpreter(model, budget_for(model, spec.faults))

    interp = load_checked(spec.path, spec.stamp, load, lambda it: [it.model])
    if isinstance(interp, NotRun):
        return {"error": interp.reason}
    vm = vector_model(interp) if spec.vector else None
    part = Partition(spec, k, interp) if vm is None else VectorPartition(spec, k, interp, vm)
    _PARTITIONS[(spec.run, k)] = part
    mine = [s for s in part.interp.initial_states() if owner(s, spec.count) == k]
    return _received_and_expanded(part, [part.batch(mine)])


def _received_and_expanded(part: Partition, batches: list[Any]) -> dict[str, Any]:
    """One layer on one worker: keep and check the new states, then expand them at once (the
    expansion's figures count only if the client goes on to the next layer, as the local engine
    would expand them)."""
    got = part.receive(batches)
    got["expansion"] = part.expand()
    return got


def _outbox(run: str, k: int, o: int) -> Any:
    """Partition k's successors owned by partition o (taken once)."""
    part = _PARTITIONS[(run, k)]
    batch, part.outbox[o] = part.outbox[o], None
    return batch


def _step(run: str, k: int, *batches: Any) -> dict[str, Any]:
    return _received_and_expanded(_PARTITIONS[(run, k)], list(batches))


def _ancestors(run: str, k: int, s: int) -> dict[int, int | None]:
    """The first-parent chain from s while its states are this partition's."""
    part = _PARTITIONS[(run, k)]
    chain: dict[int, int | None] = {}
    while True:
        p = chain[s] = part.parent_of(s)
        if p is None or owner(p, part.count) != k:
            return chain
        s = p


def _finish(run: str, k: int) -> None:
    _PARTITIONS.pop((run, k), None)


# ---------------------------------------------------------------- on the client
class WorkerGone(Exception):
    """A partition's worker is gone (or could not load the spec): the search cannot go on."""


class RemoteParents(Mapping[int, "int | None"]):
    """The partitions' first-parent maps as one mapping: what a trace is built from."""

    def __init__(self, search: _Search, states: int) -> None:
        self.search, self.states = search, states
        self.known: dict[int, int | None] = {}

    def __getitem__(self, s: int) -> int | None:
        if s not in self.known:
            k = owner(s, self.search.spec.count)
            self.known.update(self.search.call(_ancestors, self.search.spec.run, k, s, on=k))
        return self.known[s]

    def __len__(self) -> int:
        return self.states

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError("the states live on the cluster's workers")


GATHER_SECONDS = 10.0  # to fetch a finished layer's results before asking whether a worker is gone


class _Search:
    def __init__(self, cluster: Any, spec: SearchSpec, addresses: list[str]) -> None:
        self.cluster, self.spec, self.addresses = cluster, spec, addresses
        self.client = cluster.client
        self.sizes = [0] * spec.count  # states per partition, as of the last layer
        self.lost = ""  # why the search lost a partition, if it did

    def submit(self, fn: Any, *args: Any, on: int) -> Any:
        return self.client.submit(fn, *args, workers=[self.addresses[on]], allow_other_workers=False, pure=False)

    def wait(self, futures: list[Any], deadline: float | None, timeout_text: str) -> list[Any]:
        """The futures' results; a stop or the deadline raises Interrupted, a lost worker WorkerGone."""
        from distributed import KilledWorker
        from distributed import wait as dask_wait

        ctl = control.current()
        while True:
            if ctl.stopped:
                raise control.Interrupted(ctl.stopped)
            if deadline is not None and time.monotonic() >= deadline:
                raise control.Interrupted(timeout_text)
            try:
                dask_wait(futures, timeout=0.2)
            except TimeoutError:
                self._check_workers()
                continue
            # Never an unbounded gather: a result whose worker died after it finished is lost, and
            # its task, pinned to that worker, would wait for it forever.
            try:
                return [f.result(timeout=GATHER_SECONDS) for f in futures]
            except KilledWorker:
                raise WorkerGone("a worker holding part of the visited set was lost") from None
            except TimeoutError:
                self._check_workers()

    def _check_workers(self) -> None:
        if set(self.addresses) - set(self.cluster.workers):
            raise WorkerGone("a worker holding part of the visited set was lost")

    def call(self, fn: Any, *args: Any, on: int) -> Any:
        return self.wait([self.submit(fn, *args, on=on)], None, "")[0]


def explore(cluster: Any, path: str, consts: dict[str, int], faults: Any, limits: Limits | None = None,
            wanted: list[str] | None = None, stop_when_decided: bool = True, progress: bool = True,
            vector: bool = True, model: M.Model | None = None) -> tuple[Exploration, _Search]:
    """Breadth-first search of the spec at `path` on the cluster's workers, one partition each
    (data-parallel partitions where the model compiles to numpy, unless `vector` is False);
    `model`: the spec, if the caller has loaded it. Returns what it found (with the search, to
    build traces from; `finish` it after)."""
    limits = limits or Limits()
    start = time.monotonic()
    model = model or load_model(path, consts)
    interp = Interpreter(model, budget_for(model, faults))
    addresses = cluster.workers
    count = len(addresses)
    if count == 0:
        raise WorkerGone("the cluster has no workers")
    run = f"ftverify-{time.time_ns()}"
    names = tuple(p.name for p in model.properties if p.kind in DECIDED_HERE and (wanted is None or p.name in wanted))
    spec = SearchSpec(os.path.abspath(path), tuple(sorted(consts.items())), faults, names, count, run, vector,
                      work_stamp([model]))
    search = _Search(cluster, spec, addresses)
    ctl = control.current()
    deadline = start + limits.timeout if limits.timeout else None
    timeout_text = f"timeout after {limits.timeout:g} s" if limits.timeout else ""
    if ctl.end is not None and (deadline is None or ctl.end < deadline):
        deadline, timeout_text = ctl.end, f"timeout after {ctl.timeout:g} s (the command's)"

    ex = Exploration(interp, {}, False, "", 0, 0, 0.0, ever_enabled=set(), lefts_true=set())
    if model.symmetric:
        ex.no_symmetry = "the distributed search explores every state"
    pending_inv = {p.name for p in model.properties if p.kind == "invariant" and p.name in names}
    pending_reach = {p.name for p in model.properties if p.kind == "reachable" and p.name in names}
    type_asked = (wanted is None or "type_ok" in wanted) and not statically_type_safe(model)
    states = 0
    sizes = search.sizes
    expansions: list[dict[str, Any]] = []  # of the current frontier, done by the workers already

    def take(summaries: list[dict[str, Any]]) -> int:
        """Fold in one layer's summaries (in partition order: the first one found wins)."""
        nonlocal states
        new = 0
        for got in summaries:
            if "error" in got:
                raise WorkerGone(got["error"])
        for k, got in enumerate(summaries):
            new += got["new"]
            sizes[k] = got["states"]
            for name, s in got["violations"].items():
                ex.violations.setdefault(name, s)
                pending_inv.discard(name)
            for name, msg in got["eval_errors"].items():
                ex.eval_errors.setdefault(name, msg)
            for name, s in got["witnesses"].items():
                ex.witnesses.setdefault(name, s)
                pending_reach.discard(name)
            assert ex.lefts_true is not None
            ex.lefts_true.update(got["lefts_true"])
        states = sum(sizes)
        expansions[:] = [got["expansion"] for got in summaries]
        return new

    def expanded() -> None:
        """Fold in the expansion of the frontier the search goes on from (in partition order)."""
        for got in expansions:
            ex.transitions += got["transitions"]
            ex.deadlocks += got["deadlocks"]
            if ex.first_deadlock is None and got["first_deadlock"] is not None:
                ex.first_deadlock = got["first_deadlock"]
            if ex.type_error is None and got["type_error"] is not None:
                s, i, message = got["type_error"]
                ex.type_error = (s, interp.instances[i].label, message)
                ex.failing.add(s)
            assert ex.ever_enabled is not None
            ex.ever_enabled.update(got["ever_enabled"])

    def decided() -> bool:
        return (stop_when_decided and bool(ex.violations or ex.witnesses or ex.type_error) and not pending_inv
                and not pending_reach and (not type_asked or ex.type_error is not None))

    where = cluster.describe()
    try:
        new = take(search.wait([search.submit(_start, spec, k, on=k) for k in range(count)], deadline, timeout_text))
        while new:
            if decided():
                ex.reason = "all properties decided"
                break
            if limits.max_depth is not None and ex.depth >= limits.max_depth:
                ex.reason = f"depth bound {limits.max_depth} reached"
                break
            if limits.max_states is not None and states >= limits.max_states:
                ex.reason = f"state limit {limits.max_states} reached"
                break
            if progress:
                ctl.note(f"{states:,} states, depth {ex.depth}, on {where}")
            expanded()
            picked = [[search.submit(_outbox, run, k, o, on=k) for k in range(count)] for o in range(count)]
            new = take(search.wait([search.submit(_step, run, o, *picked[o], on=o) for o in range(count)],
                                   deadline, timeout_text))
            if new:
                ex.depth += 1
        else:
            ex.complete = True
    except control.Interrupted as e:
        ex.reason = e.reason
    except WorkerGone as e:
        ex.reason = str(e)
        search.lost = ex.reason
    ex.parent = RemoteParents(search, states)
    ex.seconds = time.monotonic() - start
    return ex, search


def finish(search: _Search) -> None:
    """Free the partitions on the workers (a worker that is gone has freed its own)."""
    import contextlib

    from distributed import wait

    live = set(search.cluster.workers)
    with contextlib.suppress(Exception):
        wait([search.submit(_finish, search.spec.run, k, on=k) for k in range(search.spec.count)
              if search.addresses[k] in live], timeout=10)


def check(cluster: Any, path: str, consts: dict[str, int], faults: Any, limits: Limits | None = None,
          properties: list[str] | None = None, progress: bool = True, vector: bool = True,
          model: M.Model | None = None) -> Report:
    """`prove --engine explicit --cluster ...`: the local engine's report, from the distributed search."""
    ex, search = explore(cluster, path, consts, faults, limits, properties, progress=progress, vector=vector,
                         model=model)
    model = ex.interp.model
    here = [p.name for p in model.properties if p.kind in DECIDED_HERE]
    asked = properties if properties is not None else [*[p.name for p in model.properties], "type_ok"]
    if search.lost:  # part of the visited set, and of any trace, is gone: nothing is decided
        ex.violations.clear()
        ex.witnesses.clear()
        ex.type_error = ex.first_deadlock = None
    try:
        report = report_of(ex, [n for n in asked if n in here or n == "type_ok"])
    finally:
        finish(search)
    others = {p.name: p for p in model.properties if p.name in asked and p.kind not in DECIDED_HERE}
    for name, p in others.items():
        report.results.append(Result(name, p.kind, Verdict.UNKNOWN, "explicit",
                                     message=f"not decided: the distributed search decides invariants, "
                                             f"reachability and type_ok; `{p.kind}` needs "
                                             f"{'every step' if p.kind == 'step' else 'the whole graph'} "
                                             "(run without --cluster)"))
    order = {n: i for i, n in enumerate(asked)}
    report.results.sort(key=lambda r: order.get(r.property, len(order)))
    spread = {"workers": search.spec.count, "partition_states": list(search.sizes)}
    report.stats = {**report.stats, **spread}
    for r in report.results:
        r.stats = {**r.stats, **spread}
    return report
