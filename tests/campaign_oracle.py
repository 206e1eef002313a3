"""A second, naive classifier of fault injections, written from docs/faults.md alone.

It shares nothing with `checker.faults` but the interpreter: it finds the reachable
states and the steps with `Interpreter.successors`, and decides each injection
with plain forward searches from the state right after the fault. Slow (a search
per injection and per state), which is why the campaign does not work this way;
exact, which is why the tests compare the two.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from ftverify.checker.engines import campaign as FC
from ftverify.spec import model as M
from ftverify.spec.budget import BudgetLike
from ftverify.spec.compile import EvalError
from ftverify.spec.interp import Interpreter

from tests import liveness_oracle, oracle_steps
from tests.oracle_steps import holds


def classify(model: M.Model, budget: BudgetLike | None) -> dict[tuple[int, str, int], str]:
    """(state, fault label, state after) -> outcome, for every injection."""
    it = Interpreter(model, budget)
    steps: dict[int, list[tuple[int, bool]]] = {}  # state -> (successor, is a fault step)
    failing: set[int] = set()
    frontier = deque(it.initial_states())
    seen = set(frontier)
    while frontier:
        s = frontier.popleft()
        out = []
        for inst in it.instances:
            try:
                if inst.guard is not None and not inst.guard(s):
                    continue
                t = inst.apply(s)
            except EvalError:
                failing.add(s)
                continue
            out.append((t, inst.label.is_fault))
            if t not in seen:
                seen.add(t)
                frontier.append(t)
        steps[s] = out

    def reach(start: int, ok: Callable[[int], bool] = lambda s: True, normal: bool = False) -> set[int]:
        if not ok(start):
            return set()
        found, todo = {start}, [start]
        while todo:
            s = todo.pop()
            for t, fault in steps[s]:
                if (not normal or not fault) and t not in found and ok(t):
                    found.add(t)
                    todo.append(t)
        return found

    det_e, up_e = FC.definition(model, "detected"), FC.definition(model, "up")
    det = {s: det_e is not None and holds(it.predicate(det_e), s) for s in steps}
    up = {s: up_e is None or holds(it.predicate(up_e), s) for s in steps}
    bad = {s: s in failing or (up[s] and any(not holds(it.properties[p.name], s) for p in model.invariants()))
           for s in steps}
    recovers = [p for p in model.properties if p.kind == "recovers"]
    leadsto = [p for p in model.properties if p.kind == "leadsto"]
    mask = (1 << it.layout.faults_offset) - 1
    if recovers or leadsto:
        graph = liveness_oracle.state_graph(it) if leadsto else None

        def stuck(s: int) -> bool:
            return any(holds(it.properties[p.name], s)
                       and not any(holds(it.targets[p.name], x) for x in reach(s, normal=True)) for p in recovers) \
                or any(holds(it.properties[p.name], s)
                       and liveness_oracle.avoids_forever(it, graph, it.targets[p.name], {s}) for p in leadsto)
    else:
        normal_values = {x & mask for s0 in it.initial_states() for x in reach(s0, normal=True)}

        def stuck(s: int) -> bool:
            return not any((x & mask) in normal_values for x in reach(s, normal=True))

    out: dict[tuple[int, str, int], str] = {}
    for s in steps:
        for _, inst, t in oracle_steps.steps(it, s):
            if not inst.label.is_fault:
                continue
            c = it.layout.counter_of[inst.action.name]
            if c is not None and (t >> c.offset) & ((1 << c.width) - 1) != c.cap:
                continue
            quiet = reach(t, lambda x: not det[x])
            everything = reach(t)
            if any(bad[x] for x in quiet):
                o = FC.SDC
            elif any(bad[x] for x in everything):
                o = FC.WRONG
            elif any(stuck(x) and not any(det[y] for y in reach(x)) for x in quiet):
                o = FC.UNRECOVERED
            elif any(stuck(x) for x in everything):
                o = FC.FAIL_STOP
            elif any(det[x] for x in everything):
                o = FC.RECOVERED
            else:
                o = FC.MASKED
            out[(s, str(inst.label), t)] = o
    return out
