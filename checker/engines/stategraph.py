"""The reachable state graph as a networkx MultiDiGraph, and the analyses that read it.

The explicit engine records every step it takes; `build` turns that into one
graph whose nodes are the reachable states (numbered in breadth-first order,
so node 0 is an initial state and a lower number is never farther from the
start) and whose edges are the steps, keyed by their action label. Every
picture (`checker.render`) and every analysis below reads this graph.

Fault steps raise the fault counter, which is part of a state; so the *fault
region* is exactly the set of states whose counter is not zero. A state of the
fault region has *returned* when its variables (the counter aside) equal those
of a state reachable without faults: from there on the system behaves as if
the fault never happened. A *recovery edge* is a non-fault step that makes
that return.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

import networkx as nx
from ftverify.checker.engines.explicit import Exploration, Limits, doomed_states, explore, holds
from ftverify.checker.engines.replay import replay, trace_of
from ftverify.checker.output.result import Trace
from ftverify.spec import model as M
from ftverify.spec.interp import Interpreter
from ftverify.spec.layout import StateLayout
from ftverify.spec.types import decode


class LazyState(Mapping[str, Any]):
    """A node's variables, decoded from its packed state when read: a decoded dict on
    every node cost kilobytes a state in large graphs, and most are never read."""

    __slots__ = ("_layout", "_s")

    def __init__(self, layout: StateLayout, s: int) -> None:
        self._layout = layout
        self._s = s

    def __getitem__(self, name: str) -> Any:
        sl = self._layout.slot[name]
        return decode(sl.type, self._layout.var_code(self._s, name))

    def __iter__(self) -> Iterator[str]:
        return (sl.name for sl in self._layout.slots)

    def __len__(self) -> int:
        return len(self._layout.slots)

    def __repr__(self) -> str:
        return repr(dict(self))


@dataclass
class StateGraph:
    """The graph, the exploration it came from, and the packed state of each node."""

    graph: nx.MultiDiGraph
    exploration: Exploration
    packed: list[int]  # node id -> packed state

    @property
    def interp(self) -> Interpreter:
        return self.exploration.interp

    @property
    def complete(self) -> bool:
        return self.exploration.complete

    def node_of(self, s: int) -> int:
        return self._ids[s]

    def __post_init__(self) -> None:
        self._ids = {s: i for i, s in enumerate(self.packed)}

    def trace_to(self, node: int) -> Trace:
        """A shortest trace from an initial state to `node`, replayed before it is returned."""
        tr = trace_of(self.interp, self.exploration.path_to(self.packed[node]))
        replay(self.interp, tr)
        return tr

    def path_nodes(self, node: int) -> list[int]:
        return [self._ids[s] for s in self.exploration.path_to(self.packed[node])]


def build(interp: Interpreter, limits: Limits | None = None, *, progress: TextIO | None = sys.stderr,
          start_from: Callable[[int], object] | None = None) -> StateGraph:
    """Explore the whole reachable graph (or as much as `limits` allow) and build it.

    `start_from` keeps only the initial states it accepts (to draw one scenario).
    """
    ex = explore(interp, limits, record_edges=True, stop_when_decided=False, progress=progress,
                 start_from=start_from)
    return from_exploration(ex)


def from_exploration(ex: Exploration) -> StateGraph:
    assert ex.edges is not None, "the exploration must record its edges"
    interp = ex.interp
    layout = interp.layout
    packed = list(ex.parent)
    ids = {s: i for i, s in enumerate(packed)}
    # a step property is violated at a state with a step out of it that breaks it
    invariants = [(p.name, interp.properties[p.name]) for p in interp.model.properties if p.kind in M.SAFETY_KINDS]
    vars_mask = (1 << layout.faults_offset) - 1
    fault_free_values = {s & vars_mask for s in packed if layout.faults(s) == 0}

    g = nx.MultiDiGraph(model=interp.model.name, budget=interp.budget.to_json(), complete=ex.complete)
    depth: dict[int, int] = {}
    for i, s in enumerate(packed):
        p = ex.parent[s]
        depth[i] = 0 if p is None else depth[ids[p]] + 1
        faults = layout.faults(s)
        g.add_node(i, state=LazyState(layout, s), faults=faults, initial=p is None, depth=depth[i],
                   violates=tuple(name for name, f in invariants if not holds(f, s)),
                   returned=faults > 0 and (s & vars_mask) in fault_free_values)
    labels = [inst.label for inst in interp.instances]
    keys = [str(label) for label in labels]  # one string per instance, shared by its edges
    for s, t, index in ex.edges:
        if t not in ids:  # a successor found after the search was cut off
            continue
        label = labels[index]
        u, v = ids[s], ids[t]
        recovery = (not label.is_fault and layout.faults(t) > 0 and (s & vars_mask) not in fault_free_values
                    and (t & vars_mask) in fault_free_values)
        g.add_edge(u, v, key=keys[index], label=label, fault=label.is_fault, recovery=recovery)
    return StateGraph(g, ex, packed)



def non_fault_view(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """The same graph with only the ordinary (non-fault) steps: a read-only view, no copy."""
    return nx.subgraph_view(g, filter_edge=lambda u, v, k: not g.edges[u, v, k]["fault"])


# ---------------------------------------------------------------- analyses
@dataclass
class Finding:
    """One analysis result: what was found, how many states, and a trace to a witness."""

    kind: str
    message: str
    nodes: list[int] = field(default_factory=list)
    witness: int | None = None
    trace: Trace | None = None


@dataclass
class Analysis:
    states: int
    transitions: int
    initial: int
    sccs: int
    terminal_sccs: list[list[int]]
    fault_region: int
    findings: list[Finding]
    complete: bool

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.kind != "info"]


def _shortest(sg: StateGraph, nodes: Iterable[int]) -> int:
    return min(nodes, key=lambda n: (sg.graph.nodes[n]["depth"], n))


def _finding(sg: StateGraph, kind: str, message: str, nodes: list[int]) -> Finding:
    w = _shortest(sg, nodes)
    return Finding(kind, message, sorted(nodes), w, sg.trace_to(w))


def deadlocks(sg: StateGraph) -> list[int]:
    """States with no enabled non-fault step (of a complete graph: a partial one has an unexpanded frontier)."""
    g = sg.graph
    return [n for n in g if not any(not d["fault"] for _, _, d in g.out_edges(n, data=True))]


def doomed(sg: StateGraph, prop: M.Property) -> list[int]:
    """States that satisfy the `from` side of a `recovers` and can never reach its `to` side."""
    return [sg.node_of(s) for s in doomed_states(sg.exploration, prop)]


def terminal_sccs(g: nx.MultiDiGraph) -> tuple[int, list[list[int]]]:
    """The number of strongly connected components, and those no edge leaves."""
    cond = nx.condensation(g)
    members = cond.graph["mapping"]
    groups: dict[int, list[int]] = {}
    for n, c in members.items():
        groups.setdefault(c, []).append(n)
    terminal = [sorted(groups[c]) for c in cond if cond.out_degree(c) == 0]
    return cond.number_of_nodes(), sorted(terminal, key=lambda ns: ns[0])


def fault_region(sg: StateGraph) -> tuple[list[int], list[int]]:
    """States reachable only through a fault step, and those of them that can never return
    (by non-fault steps) to a state whose variables equal those of a fault-free-reachable one."""
    g = sg.graph
    region = [n for n, d in g.nodes(data="faults") if d > 0]
    if not region:
        return [], []
    reach = can_reach(non_fault_view(g), [n for n in region if g.nodes[n]["returned"]])
    return region, [n for n in region if n not in reach]


def can_reach(view: Any, seeds: Iterable[int]) -> set[int]:
    """Every node that can reach a seed along the view's edges: one backward search from all seeds."""
    out = set(seeds)
    stack = list(out)
    while stack:
        n = stack.pop()
        for p in view.predecessors(n):
            if p not in out:
                out.add(p)
                stack.append(p)
    return out


def analyse(sg: StateGraph) -> Analysis:
    """Every analysis of the graph, each problem with a shortest trace to a witness state."""
    g = sg.graph
    model = sg.interp.model
    findings: list[Finding] = []
    if not sg.complete:
        findings.append(Finding("info", f"the graph is partial ({sg.exploration.reason}): analyses that need "
                                        "the whole graph are skipped"))
    dead = deadlocks(sg) if sg.complete else []  # a cut-off frontier has no successors yet
    if dead:
        findings.append(_finding(sg, "deadlock", f"{len(dead)} state(s) with no enabled non-fault step", dead))
    bad = [n for n, v in g.nodes(data="violates") if v]
    if bad:
        names = sorted({x for n in bad for x in g.nodes[n]["violates"]})
        steps = [n for n in names if model.property(n).kind == "step"]
        how = " (of a step property: a step out of the state breaks it)" if steps else ""
        findings.append(_finding(sg, "bad", f"{len(bad)} state(s) violate {', '.join(names)}{how}", bad))
    n_scc, terminal = terminal_sccs(g) if sg.complete else (0, [])
    region, stuck = fault_region(sg) if sg.complete else ([], [])
    if sg.complete:
        for p in model.properties:
            if p.kind == "recovers":
                d = doomed(sg, p)
                if d:
                    findings.append(_finding(sg, "recovers", f"recovers {p.name}: {len(d)} state(s) from which "
                                                              "the target is unreachable without further faults", d))
        # a terminal component is a trap when the system can cycle in it forever and
        # never get back to where it started (a single final state is not a trap)
        initial_values = {_vars(sg, n) for n in g if g.nodes[n]["initial"]}
        traps = [c for c in terminal if len(c) > 1 and not any(_vars(sg, n) in initial_values for n in c)]
        if traps:
            findings.append(_finding(sg, "trap", f"{len(traps)} terminal cycle(s) of {sum(map(len, traps))} "
                                                  "state(s) that never return to an initial state",
                                     [n for c in traps for n in c]))
        if stuck:
            findings.append(_finding(sg, "no-return", f"{len(stuck)} of the {len(region)} fault-region state(s) "
                                                       "can never return to a fault-free state", stuck))
    return Analysis(g.number_of_nodes(), g.number_of_edges(), sum(1 for _, i in g.nodes(data="initial") if i),
                    n_scc, terminal, len(region), findings, sg.complete)


def _vars(sg: StateGraph, n: int) -> int:
    return sg.packed[n] & ((1 << sg.interp.layout.faults_offset) - 1)


# ---------------------------------------------------------------- projection and condensation
def project(sg: StateGraph, variables: list[str]) -> nx.MultiDiGraph:
    """Collapse states that agree on `variables` and on the faults used so far: one node per
    combination (the fault count stays in the key so the fault region stays visible).

    An edge of the projection is an action (its name, arguments dropped) between two
    classes; steps inside a class (they change none of the named variables) are not
    drawn, only counted in the node's `hidden_steps`.
    """
    unknown = [v for v in variables if v not in sg.interp.layout.slot]
    if unknown:
        raise ValueError(f"no state variable {unknown[0]!r} (variables: {', '.join(sg.interp.layout.slot)})")
    return quotient(sg, projection_classes(sg, variables), lambda n: {v: sg.graph.nodes[n]["state"][v] for v in variables},
                    projection=tuple(variables))


def projection_classes(sg: StateGraph, variables: list[str]) -> dict[int, tuple[int, ...]]:
    """The class of each node: its fault count and the packed codes of the variables (cheap to compute)."""
    layout = sg.interp.layout
    slots = [(layout.slot[v].offset, (1 << layout.slot[v].width) - 1) for v in variables]
    return {n: (layout.faults(s), *((s >> off) & mask for off, mask in slots)) for n, s in enumerate(sg.packed)}


def condense(sg: StateGraph) -> tuple[nx.MultiDiGraph, dict[int, int]]:
    """The SCC condensation (one node per strongly connected component, shown by its first
    state) and the component of each state."""
    mapping = nx.condensation(sg.graph).graph["mapping"]
    return quotient(sg, mapping, lambda n: sg.graph.nodes[n]["state"], condensed=True), mapping


def projection_size(sg: StateGraph, variables: list[str]) -> int:
    return len(set(projection_classes(sg, variables).values()))


def suggest_projection(sg: StateGraph, max_nodes: int) -> list[str]:
    """Greedily, the largest set of variables whose projection has at most `max_nodes` nodes."""
    chosen: list[str] = []
    for v in sorted(sg.interp.layout.slot, key=lambda v: projection_size(sg, [v])):
        if projection_size(sg, [*chosen, v]) <= max_nodes:
            chosen.append(v)
    return chosen


def quotient(sg: StateGraph, cls: dict[int, Any], state_of: Any, **attrs: Any) -> nx.MultiDiGraph:
    """The graph with each class of `cls` made one node; the node shows `state_of` its first member."""
    g = sg.graph
    q = nx.MultiDiGraph(**g.graph, **attrs)
    for n, d in g.nodes(data=True):  # breadth-first order: a class's first member is its shallowest
        key = cls[n]
        if key not in q:
            q.add_node(key, state=state_of(n), members=0, faults=d["faults"], initial=False, violates=(),
                       depth=d["depth"], returned=False, hidden_steps=0)
        a = q.nodes[key]
        a["members"] += 1
        a["initial"] = a["initial"] or d["initial"]
        if d["violates"]:
            a["violates"] = tuple(sorted(set(a["violates"]) | set(d["violates"])))
        a["faults"] = min(a["faults"], d["faults"])
    for u, v, d in g.edges(data=True):
        name = d["label"].action
        cu, cv = cls[u], cls[v]
        if cu == cv:
            q.nodes[cu]["hidden_steps"] += 1
            continue
        if q.has_edge(cu, cv, name):
            e = q.edges[cu, cv, name]
            e["recovery"] = e["recovery"] or d["recovery"]
            e["count"] += 1
        else:
            q.add_edge(cu, cv, key=name, label=name, fault=d["fault"], recovery=d["recovery"], count=1)
    return q
