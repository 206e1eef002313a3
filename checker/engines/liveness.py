"""Liveness under fairness on the explicit state graph: `leadsto P ~> Q` and `eventually Q`.

`P ~> Q` holds when on every fair run, every P-state is followed (now or later) by a Q-state. A
run may stutter for ever in any state (as in TLA+), and fault steps are never fair, so a run may
also stop faulting. A violation is a lasso: a stem from an initial state to a P-state, then a path
of non-Q states into a *fair cycle* of non-Q states, one that a run may go round for ever:

- weak fairness (`fair action a`, for each instance): no instance stays enabled without being taken,
  so a cycle is fair for it when it takes it or passes a state where it is disabled;
- strong fairness (`strong fair action a`): no instance enabled infinitely often is never taken, so
  a cycle that does not take it must avoid every state where it is enabled.

As TLC does, the non-Q states reachable after a P-state are split into strongly connected
components (each single state one too: it may stutter); a component is fair if, going round all
of it, every weakly fair instance is taken or disabled somewhere and every strongly fair one is
taken or disabled everywhere; where a strongly fair instance fails that, the states that enable
it are removed and the rest split again. The lasso found goes round the component taking what
fairness demands, and is replayed on the interpreter, its fairness checked again state by state.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
from ftverify.checker.engines import control
from ftverify.checker.engines.explicit import Exploration, holds
from ftverify.checker.engines.replay import ReplayError, replay, step_label
from ftverify.checker.output.result import Result, Trace, Verdict
from ftverify.spec import model as M
from ftverify.spec.compile import EvalError
from ftverify.spec.interp import Interpreter


def _enabled(interp: Interpreter, k: int, s: int) -> bool:
    inst = interp.instances[k]
    try:
        return inst.guard is None or bool(inst.guard(s))
    except EvalError:
        return False


def check(ex: Exploration, prop: M.Property) -> Result:
    """The verdict on a leadsto or eventually property from a complete exploration with edges."""
    interp = ex.interp
    if not ex.complete or ex.edges is None:
        return Result(prop.name, prop.kind, Verdict.UNKNOWN, "explicit",
                      message=f"the exploration stopped early ({ex.reason}): liveness needs the whole graph")
    assert prop.target is not None
    p, q = interp.predicate(prop.pred), interp.predicate(prop.target)
    states = list(ex.parent)
    ids = {s: i for i, s in enumerate(states)}
    n = len(states)
    not_q = np.fromiter((not holds(q, s) for s in states), dtype=bool, count=n)
    starts = [i for i, s in enumerate(states) if not_q[i] and holds(p, s)]
    if not starts:
        return Result(prop.name, prop.kind, Verdict.PROVED, "explicit",
                      message="it holds in every initial state" if prop.kind == "eventually" else
                      "every reachable state satisfying the left side satisfies the right side")
    # the non-Q states reachable from a P-state through non-Q states, with shortest paths back
    succ: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for s, t, k in ex.edges:
        i, j = ids[s], ids.get(t)
        if j is not None and not_q[i] and not_q[j]:
            succ[i].append((j, k))
    parent: dict[int, tuple[int, int] | None] = dict.fromkeys(starts)
    queue = deque(starts)
    while queue:
        i = queue.popleft()
        for j, k in succ[i]:
            if j not in parent:
                parent[j] = (i, k)
                queue.append(j)
    region = list(parent)  # breadth-first order: nearer states first
    control.note(f"{prop.name}: fair cycles among {len(region):,} states")
    fair = _fairness(interp)
    found = _fair_component(region, succ, fair, _enabled_fair(ex, ids, region, fair))
    if found is None:
        return Result(prop.name, prop.kind, Verdict.PROVED, "explicit",
                      message=f"no fair cycle avoids the right side after the left side ({len(region):,} "
                              "candidate states)")
    comp, entry = found
    tr = _lasso(ex, states, parent, succ, comp, entry, fair)
    validate(interp, tr, prop)
    return Result(prop.name, prop.kind, Verdict.VIOLATED, "explicit", tr,
                  message="lasso replayed on the interpreter, its fairness re-checked state by state")


def _fairness(interp: Interpreter) -> dict[int, str | None]:
    return {k: inst.action.fairness for k, inst in enumerate(interp.instances) if inst.action.fairness}


def _enabled_fair(ex: Exploration, ids: dict[int, int], region: list[int],
                  fair: dict[int, str | None]) -> dict[int, set[int]]:
    """The fair instances enabled in each region state: those with a step from it (a step that
    fails to evaluate records none, so where one does, the guards say)."""
    enabled: dict[int, set[int]] = {i: set() for i in region}
    assert ex.edges is not None
    for s, _, k in ex.edges:
        i = ids[s]
        if k in fair and i in enabled:
            enabled[i].add(k)
    for s in ex.failing:
        i = ids.get(s, -1)
        if i in enabled:
            enabled[i] = {k for k in fair if _enabled(ex.interp, k, s)}
    return enabled


def starving(ex: Exploration, q: Callable[[int], object]) -> list[bool]:
    """For each state of a complete exploration with edges (in `ex.parent` order): does some fair
    run from it never reach a state satisfying q? (Those that can enter a fair cycle of non-q
    states through non-q states; what `ftverify faults` reads for `leadsto`.)"""
    assert ex.edges is not None
    states = list(ex.parent)
    ids = {s: i for i, s in enumerate(states)}
    not_q = [not holds(q, s) for s in states]
    succ: list[list[tuple[int, int]]] = [[] for _ in states]
    pred: list[list[int]] = [[] for _ in states]
    for s, t, k in ex.edges:
        i, j = ids[s], ids.get(t)
        if j is not None and not_q[i] and not_q[j]:
            succ[i].append((j, k))
            pred[j].append(i)
    region = [i for i, x in enumerate(not_q) if x]
    fair = _fairness(ex.interp)
    out = [False] * len(states)
    stack = [i for comp in _fair_components(region, succ, fair, _enabled_fair(ex, ids, region, fair)) for i in comp]
    for i in stack:
        out[i] = True
    while stack:
        for i in pred[stack.pop()]:
            if not out[i]:
                out[i] = True
                stack.append(i)
    return out


def _fair_component(region: list[int], succ: list[list[tuple[int, int]]], fair: dict[int, str | None],
                    enabled: dict[int, set[int]]) -> tuple[set[int], int] | None:
    """A fair strongly connected set of region states and its state nearest to a start, or None."""
    order = {i: r for r, i in enumerate(region)}
    best: tuple[set[int], int] | None = None
    for comp in _fair_components(region, succ, fair, enabled):
        entry = min(comp, key=order.__getitem__)
        if best is None or order[entry] < order[best[1]]:
            best = (comp, entry)
    return best


def _fair_components(region: list[int], succ: list[list[tuple[int, int]]], fair: dict[int, str | None],
                     enabled: dict[int, set[int]]) -> list[set[int]]:
    """The fair strongly connected sets of region states (Streett refinement for strong fairness)."""
    pending: list[list[int]] = [region]
    out: list[set[int]] = []
    while pending:
        part = pending.pop()
        for comp in _sccs(part, succ):
            taken = {k for i in comp for j, k in succ[i] if j in comp}
            enabled_in: dict[int, list[int]] = {}  # fair instances not taken here -> where enabled
            for i in comp:
                for k in enabled[i]:
                    if k not in taken:
                        enabled_in.setdefault(k, []).append(i)
            strong_bad = [k for k, where in enabled_in.items() if fair[k] == "strong" and where]
            if strong_bad:
                drop = {i for k in strong_bad for i in enabled_in[k]}
                pending.append([i for i in comp if i not in drop])
                continue
            if any(fair[k] == "weak" and len(where) == len(comp) for k, where in enabled_in.items()):
                continue  # some instance enabled all along and never taken: no run stays here
            out.append(comp)
    return out


def _sccs(part: list[int], succ: list[list[tuple[int, int]]]) -> Iterable[set[int]]:
    if not part:
        return []
    local = {i: x for x, i in enumerate(part)}
    rows, cols = [], []
    for i in part:
        for j, _ in succ[i]:
            if j in local:
                rows.append(local[i])
                cols.append(local[j])
    g = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(part), len(part)))
    count, labels = csgraph.connected_components(g, directed=True, connection="strong")
    comps: list[set[int]] = [set() for _ in range(count)]
    for x, c in enumerate(labels):
        comps[c].add(part[x])
    return comps


def _lasso(ex: Exploration, states: list[int], parent: dict[int, tuple[int, int] | None],
           succ: list[list[tuple[int, int]]], comp: set[int], entry: int, fair: dict[int, str | None]) -> Trace:
    """Stem: initial state -> P-state -> entry (non-Q); loop: round the component from the entry,
    taking each fair instance it takes and visiting a state where each other one is disabled."""
    interp = ex.interp
    back = []
    i = entry
    while parent[i] is not None:
        j, k = parent[i]  # type: ignore[misc]
        back.append((i, k))
        i = j
    stem = ex.path_to(states[i])  # to the P-state, then through non-Q states to the entry
    labels = [step_label(interp, a, b) for a, b in itertools.pairwise(stem)]
    ids = {s: x for x, s in enumerate(states)}
    stem_states = [ids[s] for s in stem]
    for x, k in reversed(back):
        stem_states.append(x)
        labels.append(interp.instances[k].label)
    loop_at = len(stem_states) - 1
    taken = {k for a in comp for b, k in succ[a] if b in comp}
    goals: list[tuple[str, int]] = []  # ("edge", instance) or ("off", instance)
    for k in sorted(fair):
        if k in taken:
            goals.append(("edge", k))
        elif fair[k] == "weak":
            goals.append(("off", k))
    path, steps = [entry], []
    for what, k in goals:
        if what == "off" and not _enabled(interp, k, states[path[-1]]):
            continue  # disabled where the loop already is
        hop = _within(comp, succ, path[-1], lambda a, b, kk, what=what, k=k: (what == "edge" and kk == k)
                      or (what == "off" and not _enabled(interp, k, states[b])))
        for a, kk in hop:
            path.append(a)
            steps.append(kk)
    if path[-1] != entry:
        for a, kk in _within(comp, succ, path[-1], lambda a, b, kk: b == entry):
            path.append(a)
            steps.append(kk)
    closing = None  # no step at all: the run stutters in the entry for ever
    if len(path) > 1:
        path.pop()  # the loop's last step leads back to the entry, which the trace shows once
        closing = steps.pop()
    packed = [states[x] for x in stem_states + path[1:]]
    labels += [interp.instances[k].label for k in steps]
    tr = Trace([interp.decode(s) for s in packed], labels, [interp.layout.faults(s) for s in packed])
    tr.loop = loop_at
    tr.loop_step = interp.instances[closing].label if closing is not None else None
    return tr


def _within(comp: set[int], succ: list[list[tuple[int, int]]], start: int,
            goal: Callable[[int, int, int], bool]) -> list[tuple[int, int]]:
    """A shortest path inside comp from start whose last step (a, b, k) satisfies goal(a, b, k),
    as (state, instance) pairs after start."""
    prev: dict[int, tuple[int, int] | None] = {start: None}
    queue = deque([start])
    while queue:
        a = queue.popleft()
        for b, k in succ[a]:
            if b not in comp:
                continue
            if goal(a, b, k):
                out = [(b, k)]
                x = a
                while prev[x] is not None:
                    y, kk = prev[x]  # type: ignore[misc]
                    out.append((x, kk))
                    x = y
                return list(reversed(out))
            if b not in prev:
                prev[b] = (a, k)
                queue.append(b)
    raise ReplayError("no path inside the fair component (an internal inconsistency)")


def validate(interp: Interpreter, tr: Trace, prop: M.Property) -> None:
    """Replay the lasso and check, state by state on the interpreter, that it violates `prop`:
    a P-state on the stem with Q false from there on, the loop closing, and every fair instance
    taken in the loop or (weak) disabled somewhere in it or (strong) disabled all along it."""
    replay(interp, tr)
    assert tr.loop is not None and prop.target is not None
    layout = interp.layout
    packed = []
    faults = 0
    for i, st in enumerate(tr.states):
        if i and tr.steps[i - 1].is_fault:
            faults = layout.after_fault(faults, tr.steps[i - 1].action)
        packed.append(layout.encode(st, faults))
    p, q = interp.predicate(prop.pred), interp.predicate(prop.target)
    first_p = next((i for i, s in enumerate(packed) if holds(p, s)), None)
    if first_p is None or first_p > tr.loop:
        raise ReplayError("no state before the loop satisfies the left side")
    start = max(i for i in range(tr.loop + 1) if holds(p, packed[i]))
    if any(holds(q, s) for s in packed[start:]):
        raise ReplayError("the right side holds after the left side")
    loop = packed[tr.loop:]
    loop_steps = list(tr.steps[tr.loop:])
    if tr.loop_step is not None:
        inst = interp.find_instance(tr.loop_step.action, dict(tr.loop_step.args))
        if inst is None or not (inst.guard is None or inst.guard(packed[-1])) or inst.apply(packed[-1]) != loop[0]:
            raise ReplayError("the loop's last step does not lead back to where the loop starts")
        loop_steps.append(tr.loop_step)
    taken = {(lab.action, lab.args) for lab in loop_steps}
    for k, inst in enumerate(interp.instances):
        if not inst.action.fairness or (inst.label.action, inst.label.args) in taken:
            continue
        on = [_enabled(interp, k, s) for s in loop]
        if (inst.action.fairness == "weak" and all(on)) or (inst.action.fairness == "strong" and any(on)):
            raise ReplayError(f"the loop is not fair: {inst.label} is enabled "
                              f"{'all along' if all(on) else 'in it'} and never taken")
