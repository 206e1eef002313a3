"""The explicit-state engine: breadth-first search over the reference interpreter.

States are packed ints (see `spec.interp`); `parent` maps each state to the
state it was first reached from, which is all the memory a state costs and
gives shortest traces for free. Every invariant is checked on every new state,
every step property on every step (as a predicate of its source state),
every `reachable` until it has a witness, `type_ok` on every step, and, when the
exploration completes, every `recovers` on the graph of non-fault steps.
"""

from __future__ import annotations

import sys
import time
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from ftverify.checker.engines import control
from ftverify.checker.engines.replay import replay, trace_of
from ftverify.checker.output.result import Report, Result, Trace, Verdict
from ftverify.spec import model as M
from ftverify.spec.compile import EvalError
from ftverify.spec.interp import Interpreter, Label

if TYPE_CHECKING:
    from ftverify.checker.engines.symmetry import Symmetry

# A layer this large goes data-parallel (`layered`); below it numpy is never even imported.
HANDOFF = 512


@dataclass
class Limits:
    max_states: int | None = None
    timeout: float | None = None
    max_depth: int | None = None


@dataclass
class Exploration:
    """What a (possibly partial) breadth-first search found."""

    interp: Interpreter
    # Each state and the state it was first reached from, in the order found (a
    # `layered.LayeredParents` computes the parents of the data-parallel search on demand).
    parent: Mapping[int, int | None]
    complete: bool
    reason: str  # why the search stopped early ("" when complete)
    depth: int
    transitions: int
    seconds: float
    violations: dict[str, int] = field(default_factory=dict)  # invariant -> first violating state
    eval_errors: dict[str, str] = field(default_factory=dict)  # invariant -> error at that state
    witnesses: dict[str, int] = field(default_factory=dict)  # reachable -> first witness state
    type_error: tuple[int, Label | None, str] | None = None  # state, failing step, message
    deadlocks: int = 0  # states with no enabled non-fault action
    first_deadlock: int | None = None  # a shortest-reached one
    edges: list[tuple[int, int, int]] | None = None  # (source, target, instance index) when recorded
    failing: set[int] = field(default_factory=set)  # states where some enabled step fails to evaluate
    vacuity: list[str] | None = None  # see `vacuity_warnings`
    ever_enabled: set[int] | None = None  # instances enabled somewhere, when the search noted them
    lefts_true: set[str] | None = None  # invariants whose implication's left side holds somewhere, likewise
    # The states are canonical forms under the spec's symmetry (see symmetry.py), when it is used.
    symmetry: Symmetry | None = None
    no_symmetry: str | None = None  # why a symmetric spec was explored in full

    def path_to(self, s: int) -> list[int]:
        """A shortest run to s (with symmetry, the canonical path made a concrete run that ends in s)."""
        path = [s]
        p = self.parent[s]
        while p is not None:
            path.append(p)
            p = self.parent[p]
        path.reverse()
        return path if self.symmetry is None else self.symmetry.concrete_path(path)

    def depth_of(self, s: int) -> int:
        """The length of a shortest run to s, without building it."""
        n, p = 0, self.parent[s]
        while p is not None:
            n, p = n + 1, self.parent[p]
        return n


def explore(interp: Interpreter, limits: Limits | None = None, *, record_edges: bool = False,
            stop_when_decided: bool = True, progress: TextIO | None = sys.stderr,
            start_from: Callable[[int], object] | None = None, check_properties: bool = True,
            wanted: list[str] | None = None, on_edge: Callable[[int, int, int], bool] | None = None,
            vector: bool | None = None, symmetry: bool = False) -> Exploration:
    """Breadth-first search from the initial states (those satisfying `start_from`, if given).

    With `stop_when_decided`, the search stops once every property asked for
    (`wanted`, default all) is decided early: each invariant violated, each
    `reachable` witnessed, `type_ok` violated or safe by construction, and no
    `recovers` asked for (it needs the whole graph). Without `check_properties`,
    no invariant or `reachable` is evaluated (for a caller that judges the states
    itself). `on_edge(s, t, instance)` sees every step as it is recorded and may
    stop the search by returning True. Progress notes go to the run's control
    unless `progress` is None; Ctrl-C and the command's time limit stop it with
    what it has found.

    A search that needs no edges and no state limit goes data-parallel (`layered`)
    once a layer is large; `vector` True does so from the initial states (when the
    model compiles to vector operations), False never. With `symmetry`, a spec with a
    symmetric enum is explored up to renamings of its members where that is sound
    (`symmetry.why_not`); the edges, if recorded, are then between canonical states.
    """
    limits = limits or Limits()
    start = time.monotonic()
    model = interp.model

    def asked(name: str) -> bool:
        return check_properties and (wanted is None or name in wanted)

    invariants = [(p.name, interp.properties[p.name]) for p in model.properties
                  if p.kind in M.SAFETY_KINDS and asked(p.name)]
    reachables = [(p.name, interp.properties[p.name]) for p in model.properties
                  if p.kind == "reachable" and asked(p.name)]
    needs_graph = record_edges or any(p.kind in M.GRAPH_KINDS and (wanted is None or p.name in wanted)
                                      for p in model.properties)
    type_asked = wanted is None or "type_ok" in wanted
    sym = None
    if symmetry and model.symmetric:
        from ftverify.checker.engines.symmetry import Symmetry, why_not

        no_symmetry = why_not(interp, wanted)
        sym = Symmetry(interp) if no_symmetry is None else None
    canon = sym.canon if sym is not None else None

    def step(apply: Callable[[int], int]) -> Callable[[int], int]:
        return apply if canon is None else lambda s: canon(apply(s))

    instances = [(i, inst.guard, step(inst.apply), inst.label.is_fault) for i, inst in enumerate(interp.instances)]

    parent: dict[int, int | None] = {}
    vector_at: int | None = None
    steps_asked = any(p.kind == "step" and asked(p.name) for p in model.properties)
    if vector is not False and not needs_graph and on_edge is None and limits.max_states is None \
            and not steps_asked and sym is None:  # the data-parallel search checks no step property
        vector_at = 0 if vector else HANDOFF
    handoff = None
    result = Exploration(interp, parent, False, "", 0, 0, 0.0)
    result.symmetry = sym
    if symmetry and model.symmetric and sym is None:
        result.no_symmetry = no_symmetry
    edges: list[tuple[int, int, int]] | None = [] if needs_graph else None
    result.edges = edges
    violations, witnesses = result.violations, result.witnesses
    pending_inv = list(invariants)
    pending_reach = list(reachables)

    def check_state(s: int) -> None:
        nonlocal pending_inv, pending_reach
        if pending_inv:
            keep = []
            for name, f in pending_inv:
                try:
                    ok = f(s)
                except EvalError as e:
                    ok = False
                    result.eval_errors[name] = e.message
                if ok:
                    keep.append((name, f))
                else:
                    violations[name] = s
            if len(keep) != len(pending_inv):
                pending_inv = keep
        if pending_reach:
            keep = []
            for name, f in pending_reach:
                try:
                    hit = f(s)
                except EvalError:
                    hit = False
                if hit:
                    witnesses[name] = s
                else:
                    keep.append((name, f))
            if len(keep) != len(pending_reach):
                pending_reach = keep

    type_safe = statically_type_safe(model)

    def decided() -> bool:
        # Stop early only with every property asked for decided (as TLC stops at an
        # error); when one holds, the whole space must be explored to prove it.
        return (stop_when_decided and bool(violations or witnesses or result.type_error) and not pending_inv
                and not pending_reach and not needs_graph
                and (not type_asked or type_safe or result.type_error is not None))

    frontier = []
    for s in interp.initial_states():
        if start_from is not None and not start_from(s):
            continue
        if canon is not None:
            s = canon(s)
        if s not in parent:
            parent[s] = None
            frontier.append(s)
            check_state(s)
    normal = [(inst.guard, step(inst.apply)) for inst in interp.instances if not inst.label.is_fault]
    # Non-fault steps first, as in the hot loop (the data-parallel search uses this order too).
    in_order = [x for x in instances if not x[3]] + [x for x in instances if x[3]]
    faulty = [(inst.guard, step(inst.apply)) for inst in interp.instances if inst.label.is_fault]

    def expand_carefully(s: int, add: Callable[[int], None]) -> tuple[int, bool]:
        """All steps from s, one instance at a time: records evaluation errors and edges."""
        n, enabled = 0, False
        for index, guard, apply, is_fault in in_order:
            try:
                if guard is not None and not guard(s):
                    continue
                t = apply(s)
            except EvalError as e:
                if result.type_error is None:  # breadth-first: the first is a shortest one
                    result.type_error = (s, _label_of(interp, guard, apply), e.message)
                result.failing.add(s)
                continue
            n += 1
            enabled = enabled or not is_fault
            if edges is not None:
                edges.append((s, t, index))
            if t not in parent:
                parent[t] = s
                add(t)
                check_state(t)
        return n, enabled

    depth = 0
    transitions = 0
    max_states = limits.max_states
    ctl = control.current()
    deadline = start + limits.timeout if limits.timeout else None
    timeout_text = f"timeout after {limits.timeout:g} s" if limits.timeout else ""
    if ctl.end is not None and (deadline is None or ctl.end < deadline):
        deadline, timeout_text = ctl.end, f"timeout after {ctl.timeout:g} s (the command's)"
    chunk = 2048  # states expanded between looks at the clock and the limits
    try:
        while frontier:
            if vector_at is not None and len(frontier) >= vector_at:
                from ftverify.checker.engines import layered
                vm = layered.vector_model(interp)
                vector_at = None
                if vm is not None:
                    handoff = layered.Handoff(
                        frontier, depth, [n for n, _ in pending_inv], [n for n, _ in pending_reach], deadline,
                        timeout_text, limits.max_depth, stop_when_decided, progress is not None,
                        type_asked and not type_safe, start)
                    break
            if limits.max_depth is not None and depth >= limits.max_depth:
                result.reason = f"depth bound {limits.max_depth} reached"
                break
            next_frontier: list[int] = []
            add = next_frontier.append
            for lo in range(0, len(frontier), chunk):
                checking = bool(pending_inv or pending_reach)
                for s in frontier[lo:lo + chunk]:
                    if edges is not None:
                        # The same hot loop, recording every step; an evaluation error
                        # drops this state's edges and redoes it carefully.
                        before, mark = transitions, len(edges)
                        try:
                            enabled = False
                            for index, guard, apply, is_fault in instances:
                                if guard is None or guard(s):
                                    t = apply(s)
                                    transitions += 1
                                    edges.append((s, t, index))
                                    if on_edge is not None and on_edge(s, t, index):
                                        raise _Stop("stopped at the step asked for")
                                    enabled = enabled or not is_fault
                                    if t not in parent:
                                        parent[t] = s
                                        add(t)
                                        if checking:
                                            check_state(t)
                        except EvalError:
                            del edges[mark:]
                            n, enabled = expand_carefully(s, add)
                            transitions = before + n
                    else:
                        # The hot loop: no per-instance bookkeeping beyond the count.
                        before = transitions
                        try:
                            enabled = False
                            for guard, apply in normal:
                                if guard is None or guard(s):
                                    t = apply(s)
                                    enabled = True
                                    transitions += 1
                                    if t not in parent:
                                        parent[t] = s
                                        add(t)
                                        if checking:
                                            check_state(t)
                            for guard, apply in faulty:
                                if guard is None or guard(s):
                                    t = apply(s)
                                    transitions += 1
                                    if t not in parent:
                                        parent[t] = s
                                        add(t)
                                        if checking:
                                            check_state(t)
                        except EvalError:
                            # Redo this state carefully: successors already added stay
                            # added (adding is idempotent), the error is recorded.
                            n, enabled = expand_carefully(s, add)
                            transitions = before + n
                    if not enabled:
                        if result.first_deadlock is None:
                            result.first_deadlock = s
                        result.deadlocks += 1
                now = time.monotonic()
                if progress is not None:
                    rate = len(parent) / (now - start) if now > start else 0.0
                    ctl.note(f"{len(parent):,} states, depth {depth}, {rate:,.0f} states/s")
                if deadline is not None and now >= deadline:
                    raise _Stop(timeout_text)
                if ctl.stopped is not None:
                    raise _Stop(ctl.stopped)
                if max_states is not None and len(parent) >= max_states:
                    raise _Stop(f"state limit {max_states} reached")
            frontier = next_frontier
            if frontier:
                depth += 1
            if decided():
                result.reason = "all properties decided"
                break
        else:
            result.complete = True
    except _Stop as stop:
        result.reason = stop.reason
    except KeyboardInterrupt as e:
        result.reason = control.interrupted_message(e)
        if ctl.stopped is None:
            ctl.stopped = result.reason
    result.depth = depth
    result.transitions = transitions
    if handoff is not None:
        layered.run(result, vm, handoff)
    result.seconds = time.monotonic() - start
    return result


def statically_type_safe(model: M.Model) -> bool:
    """No guard or update of the model contains a run-time check, so `type_ok` holds by construction."""
    for a in model.actions:
        exprs = [a.guard, *(e for st in M.walk_stmts(a.body) for e in M.stmt_exprs(st))]
        for e in exprs:
            for x in M.walk(e):
                if isinstance(x, M.Check) or (isinstance(x, M.Builtin) and x.name in ("head", "pop", "push")):
                    return False
    return True


class _Stop(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _label_of(interp: Interpreter, guard: object, apply: object) -> Label | None:
    for inst in interp.instances:
        if inst.guard is guard and inst.apply is apply:
            return inst.label
    return None


# ---------------------------------------------------------------- recovers: AG (P -> EF Q)
def doomed_states(ex: Exploration, prop: M.Property) -> list[int]:
    """Reachable P-states from which no Q-state is reachable by non-fault steps.

    The backward closure of Q over non-fault edges is computed with integer
    state ids and adjacency arrays, not per-state Python objects.
    """
    assert ex.edges is not None and prop.target is not None
    interp = ex.interp
    p_fn, q_fn = interp.properties[prop.name], interp.targets[prop.name]
    ids = {s: i for i, s in enumerate(ex.parent)}
    states = list(ex.parent)
    n = len(states)
    # reverse adjacency over non-fault edges, in CSR form
    counts = array("l", [0]) * (n + 1)
    fault = {i for i, inst in enumerate(interp.instances) if inst.label.is_fault}
    pairs = [(ids[t], ids[s]) for s, t, i in ex.edges if i not in fault]
    for t, _ in pairs:
        counts[t + 1] += 1
    for i in range(n):
        counts[i + 1] += counts[i]
    fill = array("l", counts)
    rev = array("l", [0]) * len(pairs)
    for t, s in pairs:
        rev[fill[t]] = s
        fill[t] += 1
    good = bytearray(n)
    stack = []
    for i, s in enumerate(states):
        if holds(q_fn, s):
            good[i] = 1
            stack.append(i)
    while stack:
        t = stack.pop()
        for k in range(counts[t], counts[t + 1]):
            s = rev[k]
            if not good[s]:
                good[s] = 1
                stack.append(s)
    return [s for i, s in enumerate(states) if not good[i] and holds(p_fn, s)]


def holds(f: Callable[[int], object], s: int) -> bool:
    """f(s) as a truth value; a predicate that fails to evaluate does not hold."""
    try:
        return bool(f(s))
    except EvalError:
        return False


# ---------------------------------------------------------------- results
def check(interp: Interpreter, limits: Limits | None = None, *, progress: TextIO | None = sys.stderr,
          properties: list[str] | None = None, stop_when_decided: bool = True, symmetry: bool = False) -> Report:
    """Check every property of the model (or those named) by exhaustive exploration, stopping
    as soon as each one asked for is decided."""
    ex = explore(interp, limits, progress=progress, stop_when_decided=stop_when_decided, wanted=properties,
                 symmetry=symmetry)
    return report_of(ex, properties)


def report_of(ex: Exploration, properties: list[str] | None = None) -> Report:
    interp = ex.interp
    model = interp.model
    results: list[Result] = []
    stats = {"states": len(ex.parent), "transitions": ex.transitions, "depth": ex.depth,
             "seconds": round(ex.seconds, 3), "complete": ex.complete}
    if not ex.complete and ex.reason:
        stats["stopped"] = ex.reason
    if ex.symmetry is not None:
        stats["symmetry"] = ex.symmetry.description
        stats["renamings"] = ex.symmetry.group_size
    elif ex.no_symmetry is not None:
        stats["no_symmetry"] = ex.no_symmetry
    wanted = set(properties) if properties is not None else None
    for p in model.properties:
        if wanted is not None and p.name not in wanted:
            continue
        results.append(_decided(ex, p) if ex.parent or not ex.complete else _vacuous(p.name, p.kind))
    if wanted is None or "type_ok" in wanted:
        results.append(_type_result(ex) if ex.parent or not ex.complete else _vacuous("type_ok", "type_ok"))
    for r in results:
        r.engine = "explicit"
        r.stats = dict(stats)
        r.seconds = ex.seconds
    warnings: list[tuple[str, Trace | None]] = []
    if ex.first_deadlock is not None:
        warnings.append((f"deadlock: {ex.deadlocks} reachable state(s) with no enabled non-fault action"
                         f" (a shortest path to one is shown)", trace_of(interp, ex.path_to(ex.first_deadlock))))
    if not control.current().stopped:
        warnings += [(w, None) for w in vacuity_warnings(ex)]
    return Report(model.name, model.file, interp.budget, results, "explicit", warnings, stats, ex.seconds)


def _decided(ex: Exploration, p: M.Property) -> Result:
    """The property's result; after a stop (Ctrl-C, the time limit), during the work on the graph
    that follows the exploration (recovery, fair cycles), unknown, so that what is known prints."""
    stopped = control.current().stopped
    if stopped and p.kind in M.GRAPH_KINDS:  # what the exploration found is still given for the others
        return Result(p.name, p.kind, Verdict.UNKNOWN, "explicit", message=f"not decided ({stopped})")
    try:
        return _property_result(ex, p)
    except control.Interrupted as e:
        return Result(p.name, p.kind, Verdict.UNKNOWN, "explicit", message=f"interrupted while deciding it ({e.reason})")


VACUOUS = "vacuous: init admits no state, so every property would hold trivially"


def _vacuous(name: str, kind: str) -> Result:
    return Result(name, kind, Verdict.UNKNOWN, "explicit", message=VACUOUS)


def vacuity_warnings(ex: Exploration) -> list[str]:
    """What the whole explored graph shows to be dead: actions never enabled, and
    implication invariants whose left side is never true (they hold vacuously).
    Computed once per exploration."""
    if ex.vacuity is not None:
        return ex.vacuity
    out: list[str] = []
    if ex.complete and ex.parent:
        interp = ex.interp
        by_action: dict[str, list[int]] = {}
        for i, inst in enumerate(interp.instances):
            by_action.setdefault(inst.action.name, []).append(i)
        for a in interp.model.actions:
            counter = interp.layout.counter_of.get(a.name)
            if counter is not None and counter.cap == 0:
                continue  # no budget for this fault: not a step of this check at all
            if a.name not in by_action:
                continue  # switched off by its constants (a seeded bug's own action): no instance at all
            if not _ever_enabled(ex, by_action[a.name]):
                kind = "fault" if a.is_fault else "action"
                out.append(f"{a.span}: {kind} {a.name} is never enabled in the {len(ex.parent):,} reachable "
                           "state(s): it is dead code here (a guard that can never hold?)")
        for p in interp.model.invariants():
            if isinstance(p.pred, M.Binary) and p.pred.op == "implies":
                if ex.lefts_true is not None:
                    never = p.name not in ex.lefts_true
                else:
                    left = interp.predicate(p.pred.left)
                    never = not any(holds(left, s) for s in ex.parent)
                if never:
                    out.append(f"{p.pred.left.span}: the left side of invariant {p.name} is false in every "
                               "reachable state: the invariant holds vacuously")
    ex.vacuity = out
    return out


def _ever_enabled(ex: Exploration, instances: list[int]) -> bool:
    if ex.ever_enabled is not None:  # noted during the search
        return any(i in ex.ever_enabled for i in instances)
    guards = [ex.interp.instances[i].guard for i in instances]
    return any(_enabled(g, s) for s in ex.parent for g in guards)


def _enabled(guard: Callable[[int], object] | None, s: int) -> bool:
    if guard is None:
        return True
    try:
        return bool(guard(s))
    except EvalError:
        return True  # the guard fails to evaluate: the step is attempted (a type_ok violation)


def _unknown_message(ex: Exploration) -> str:
    return f"{ex.reason}; explored {len(ex.parent):,} states to depth {ex.depth}"


def _property_result(ex: Exploration, p: M.Property) -> Result:
    interp = ex.interp
    if p.kind in M.SAFETY_KINDS:
        if p.name in ex.violations:
            tr = trace_of(interp, ex.path_to(ex.violations[p.name]))
            replay(interp, tr, p)
            msg = f"evaluation error: {ex.eval_errors[p.name]}" if p.name in ex.eval_errors else ""
            return Result(p.name, p.kind, Verdict.VIOLATED, "explicit", tr, message=msg)
        if ex.complete:
            return Result(p.name, p.kind, Verdict.PROVED, "explicit")
        return Result(p.name, p.kind, Verdict.UNKNOWN, "explicit", message=_unknown_message(ex))
    if p.kind == "reachable":
        if p.name in ex.witnesses:
            tr = trace_of(interp, ex.path_to(ex.witnesses[p.name]))
            replay(interp, tr, p, witness=True)
            return Result(p.name, p.kind, Verdict.PROVED, "explicit", tr)
        if ex.complete:
            return Result(p.name, p.kind, Verdict.VIOLATED, "explicit",
                          message="unreachable: no reachable state satisfies it (the spec is vacuous here)")
        return Result(p.name, p.kind, Verdict.UNKNOWN, "explicit", message=_unknown_message(ex))
    if p.kind in M.LIVENESS_KINDS:
        from ftverify.checker.engines import liveness

        return liveness.check(ex, p)
    # recovers
    if not ex.complete:
        return Result(p.name, p.kind, Verdict.UNKNOWN, "explicit",
                      message=_unknown_message(ex) + " (recovers needs the whole graph)")
    doomed = doomed_states(ex, p)
    if doomed:
        s = min(doomed, key=ex.depth_of)
        tr = trace_of(interp, ex.path_to(s))
        replay(interp, tr, None)
        return Result(p.name, p.kind, Verdict.VIOLATED, "explicit", tr,
                      message=f"{len(doomed)} reachable state(s) satisfy the `from` condition but can never "
                              f"reach the `to` condition without further faults (shortest shown)")
    return Result(p.name, p.kind, Verdict.PROVED, "explicit")


def _type_result(ex: Exploration) -> Result:
    interp = ex.interp
    if ex.type_error is None and statically_type_safe(interp.model):
        return Result("type_ok", "type_ok", Verdict.PROVED, "explicit",
                      message="no update or guard can leave its type")
    if ex.type_error is not None:
        s, label, msg = ex.type_error
        tr = trace_of(interp, ex.path_to(s), (label, msg))
        replay(interp, tr, None)
        return Result("type_ok", "type_ok", Verdict.VIOLATED, "explicit", tr, message=msg)
    if ex.complete:
        return Result("type_ok", "type_ok", Verdict.PROVED, "explicit")
    return Result("type_ok", "type_ok", Verdict.UNKNOWN, "explicit", message=_unknown_message(ex))
