"""An independent decision of `leadsto` under fairness, for the differential test of
checker/engines/liveness.py: written from the definition in docs/language.md, with its own
search over the interpreter, networkx's components, and Streett's refinement done on sets."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import networkx as nx
from ftverify.spec import model as M
from ftverify.spec.compile import EvalError
from ftverify.spec.interp import Interpreter

from tests.oracle_steps import holds, steps


def violated(interp: Interpreter, prop: M.Property) -> bool:
    """True when some fair run has a P-state never followed by a Q-state."""
    assert prop.target is not None
    p, q = interp.predicate(prop.pred), interp.predicate(prop.target)
    graph = state_graph(interp)
    return avoids_forever(interp, graph, q, {s for s in graph if holds(p, s)})


def state_graph(interp: Interpreter) -> nx.MultiDiGraph:
    """Every reachable state, each step an edge keyed by its instance."""
    inits = interp.initial_states()
    seen, queue = set(inits), deque(inits)
    graph = nx.MultiDiGraph()
    while queue:
        s = queue.popleft()
        graph.add_node(s)
        for k, _, t in steps(interp, s):
            graph.add_edge(s, t, key=k)
            if t not in seen:
                seen.add(t)
                queue.append(t)
    return graph


def avoids_forever(interp: Interpreter, graph: nx.MultiDiGraph, q: Callable[[int], object], starts: set[int]) -> bool:
    """True when some fair run from one of `starts` never reaches a Q-state."""
    bad = {s for s in graph if not holds(q, s)}
    region: set[int] = set()
    for s in starts & bad:
        if s not in region:
            region |= {s} | set(nx.descendants(graph.subgraph(bad), s))
    fair = {k: inst.action.fairness for k, inst in enumerate(interp.instances) if inst.action.fairness}

    def enabled(k: int, s: int) -> bool:
        g = interp.instances[k].guard
        try:
            return g is None or bool(g(s))
        except EvalError:
            return False

    def has_fair_cycle(nodes: set[int]) -> bool:
        sub = graph.subgraph(nodes)
        for comp in nx.strongly_connected_components(sub):
            taken = {k for _, _, k in sub.subgraph(comp).edges(keys=True)}
            strong = {k for k, f in fair.items() if f == "strong" and k not in taken
                      and any(enabled(k, s) for s in comp)}
            if strong:
                if has_fair_cycle({s for s in comp if not any(enabled(k, s) for k in strong)}):
                    return True
                continue
            if all(not (f == "weak" and k not in taken and all(enabled(k, s) for s in comp))
                   for k, f in fair.items()):
                return True  # stuttering makes every component, a single state too, a cycle
        return False

    return has_fair_cycle(region)
