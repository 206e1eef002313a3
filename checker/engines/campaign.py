"""Exhaustive fault-coverage campaigns: every fault, at every state where it can strike,
each classified exactly, each with a witness.

The error-coverage tables of the Romain and HAFT papers come from sampling
(inject a random bit flip, run, see what happens). Here every fault action
instance is injected at every reachable state where it is enabled and is the
last fault of its kind the budget allows (an unbounded fault: at every state),
and the outcome of each injection is decided on the state graph of everything
that can follow it. docs/faults.md defines the outcomes; in short, on the
continuations of the state right after the fault, and in this order:

- **silent data corruption**: a continuation breaks an invariant (or a step
  fails to evaluate) with nothing detected before it, nor in that state (an
  invariant counts where the system is `up`, if the spec defines `def up`);
- **detected, still wrong**: a continuation breaks an invariant, but only after
  (or in the same state as) a detection;
- **unrecovered**: a continuation reaches a state from which a `recovers`
  obligation can no longer be met (its `from` holds, its `to` is unreachable)
  and nothing can be detected any more, with nothing detected before it;
- **detected, fail-stop**: a continuation gets stuck so, but the system detects
  (or can still detect) it;
- **detected, recovered**: a continuation detects, and none of the above;
- **masked**: no continuation breaks, detects or gets stuck.

Each outcome but `masked` comes with a witness: a shortest path from the state
right after the fault to the state that decides the outcome (with the shortest
path from an initial state to the injection in front), replayed on the
interpreter. Everything is decided with a handful of backward searches over the
whole graph, not one exploration per injection.
"""

from __future__ import annotations

import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from ftverify.checker.engines import control
from ftverify.checker.engines.explicit import Exploration, Limits, explore, holds
from ftverify.checker.engines.replay import StepReplayer, trace_of_steps
from ftverify.checker.output.result import Trace
from ftverify.spec import model as M
from ftverify.spec.budget import BudgetLike, FaultBudget
from ftverify.spec.errors import SpecError
from ftverify.spec.interp import Interpreter, Label

SDC, WRONG, UNRECOVERED, FAIL_STOP, RECOVERED, MASKED = (
    "silent data corruption", "detected, still wrong", "unrecovered", "detected, fail-stop", "detected, recovered",
    "masked")
# From the most to the least severe: an injection gets the first outcome that applies.
SEVERITY = (SDC, WRONG, UNRECOVERED, FAIL_STOP, RECOVERED, MASKED)
# Table order: from fine to bad.
OUTCOMES = (MASKED, RECOVERED, FAIL_STOP, WRONG, UNRECOVERED, SDC)
COLOURS = {MASKED: "#2e7d32", RECOVERED: "#66bb6a", FAIL_STOP: "#f9a825", WRONG: "#ef6c00", UNRECOVERED: "#8e24aa",
           SDC: "#c62828"}


@dataclass(slots=True)
class Injection:
    state: int  # the packed state the fault strikes in
    fault: Label
    target: int  # the packed state right after it
    outcome: str
    node: int = -1  # the graph node of `state`
    fault_step: int = -1  # the instance index of the fault
    target_node: int = -1
    how: Any = field(default=None, repr=False)  # the campaign's `_Classification`

    @property
    def witness(self) -> list[int]:
        """Graph nodes from the state right after the fault to the state that decides the outcome."""
        return [] if self.outcome == MASKED else self.how.path(self.outcome, self.target_node)[0]

    @property
    def steps(self) -> list[int]:
        """The instance index of each step of the witness."""
        return [] if self.outcome == MASKED else self.how.path(self.outcome, self.target_node)[1]

    @property
    def decided_by(self) -> str:
        """What decides the outcome, for people."""
        return "" if self.outcome == MASKED else self.how.decided_by(self)


@dataclass
class Campaign:
    model: str
    file: str
    budget: FaultBudget
    injections: list[Injection]
    states: int
    transitions: int
    seconds: float
    complete: bool
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    nothing: str = ""  # why no fault can be injected at all
    exploration: Exploration | None = field(default=None, repr=False)
    _graph: Any = field(default=None, repr=False)
    _traces: dict[int, Trace] = field(default_factory=dict, repr=False)

    @property
    def counts(self) -> Counter[str]:
        return Counter(i.outcome for i in self.injections)

    def share(self, outcome: str) -> float:
        return self.counts[outcome] / len(self.injections) if self.injections else 0.0

    @property
    def masked_or_detected(self) -> float:
        """The injections that end well: masked, or detected and handled (recovered or stopped)."""
        return sum(self.share(o) for o in (MASKED, RECOVERED, FAIL_STOP))

    def coverage(self) -> Coverage:
        return Coverage(f"{self.model}, faults {self.budget} ({len(self.injections)})", dict(self.counts),
                        len(self.injections))

    def trace(self, inj: Injection) -> Trace:
        """The witness of a non-masked injection as a trace from an initial state (`run`
        has replayed every witness on the interpreter already)."""
        key = id(inj)
        if key not in self._traces:
            path, steps = self._graph.full_path(inj)
            self._traces[key] = trace_of_steps(self._graph.interp, path, steps)
        return self._traces[key]


@dataclass(frozen=True)
class Coverage:
    """A campaign's share of injections per outcome, as a chart draws it (small enough to
    come back from a worker process)."""

    label: str
    counts: dict[str, int]
    total: int

    def share(self, outcome: str) -> float:
        return self.counts.get(outcome, 0) / self.total if self.total else 0.0


def definition(model: M.Model, name: str) -> Any:
    """The spec's `def NAME: bool` (`detected`, `up`), typed, or None when it declares none."""
    from ftverify.spec.typecheck import parse_expression

    decls = getattr(model.checker, "decls", {})
    if name not in decls or decls[name].kind != "def":
        return None
    try:
        return parse_expression(model, name)
    except SpecError:
        return None


def detection_predicate(model: M.Model) -> Any:
    return definition(model, "detected")


def nothing_to_inject(model: M.Model, budget: FaultBudget) -> str:
    """Why no fault can ever be injected under `budget` ("" if one can)."""
    faults = [a for a in model.actions if a.is_fault]
    if not faults:
        return f"spec {model.name} declares no fault"
    if all(budget.of(a.name) == 0 or (budget.of(a.name) == "shared" and budget.shared == 0) for a in faults):
        return f"the fault budget {budget} allows no fault"
    return ""


class _Graph:
    """The explored graph as index lists: successors with their instance, predecessors."""

    def __init__(self, ex: Exploration) -> None:
        assert ex.edges is not None
        self.ex, self.interp = ex, ex.interp
        self.nodes = list(ex.parent)
        self.id = {s: i for i, s in enumerate(self.nodes)}
        n = len(self.nodes)
        self.succ: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        self.pred: list[list[int]] = [[] for _ in range(n)]
        self.pred_normal: list[list[int]] = [[] for _ in range(n)]  # along non-fault steps only
        is_fault = [inst.label.is_fault for inst in self.interp.instances]
        ids = self.id
        succ, pred, pred_normal = self.succ, self.pred, self.pred_normal
        for s, t, k in ex.edges:
            v = ids.get(t)
            if v is None:  # found after the exploration was cut off
                continue
            u = ids[s]
            succ[u].append((v, k))
            pred[v].append(u)
            if not is_fault[k]:
                pred_normal[v].append(u)
        # the breadth-first tree: each node's parent and the step from it (-1 for an initial state)
        self.parent = [ids[p] if p is not None else -1 for p in ex.parent.values()]
        self.parent_step = [next(k for v, k in succ[p] if v == i) if p >= 0 else -1
                            for i, p in enumerate(self.parent)]
        self.verified = [False] * n  # the tree path to the node has been replayed

    def backward(self, targets: Sequence[bool], through: Sequence[bool] | None = None,
                 normal_only: bool = False) -> tuple[list[int], list[int]]:
        """Each node's distance to the nearest target (-1: none reachable), along paths whose
        every node satisfies `through` (the target included), and its next node on such a
        shortest path (-1 for a target): a forest of shortest paths into the targets."""
        dist = [-1] * len(self.nodes)
        hop = [-1] * len(self.nodes)
        queue: deque[int] = deque()
        for i, hit in enumerate(targets):
            if hit and (through is None or through[i]):
                dist[i] = 0
                queue.append(i)
        pred = self.pred_normal if normal_only else self.pred
        while queue:
            v = queue.popleft()
            for u in pred[v]:
                if dist[u] < 0 and (through is None or through[u]):
                    dist[u] = dist[v] + 1
                    hop[u] = v
                    queue.append(u)
        return dist, hop

    def step_between(self, u: int, v: int) -> int:
        """The first instance (in declaration order) of a step from node u to node v."""
        return min(k for w, k in self.succ[u] if w == v)

    def forward(self, seeds: set[int]) -> list[bool]:
        """Which nodes some path from a seed reaches (the seeds included)."""
        seen = [False] * len(self.nodes)
        stack = list(seeds)
        for i in stack:
            seen[i] = True
        while stack:
            u = stack.pop()
            for v, _ in self.succ[u]:
                if not seen[v]:
                    seen[v] = True
                    stack.append(v)
        return seen

    def prefix(self, node: int) -> tuple[list[int], list[int]]:
        """The breadth-first (shortest) path from an initial state to `node`: nodes and instances."""
        path, steps = [node], []
        while self.parent[path[-1]] >= 0:
            steps.append(self.parent_step[path[-1]])
            path.append(self.parent[path[-1]])
        path.reverse()
        steps.reverse()
        return path, steps

    def full_path(self, inj: Injection) -> tuple[list[int], list[int]]:
        """Packed states and instance indices of init -> the injection's state -> fault -> witness."""
        pre, pre_steps = self.prefix(inj.node)
        return [self.nodes[n] for n in pre + inj.witness], [*pre_steps, inj.fault_step, *inj.steps]

    def replay_prefix(self, node: int, replayer: StepReplayer) -> None:
        """Replay the breadth-first path to `node` (each node of the tree once)."""
        chain = []
        n = node
        while n >= 0 and not self.verified[n]:
            chain.append(n)
            n = self.parent[n]
        for n in reversed(chain):
            p = self.parent[n]
            if p < 0:
                replayer.initial_state(self.nodes[n])
            else:
                replayer.step(self.nodes[p], self.parent_step[n], self.nodes[n])
            self.verified[n] = True


class _Classification:
    """What decides each outcome: per outcome, every node's distance to a deciding state and
    its next node on a shortest way there; and the predicates, to explain an outcome."""

    def __init__(self, g: _Graph, dist: dict[str, tuple[list[int], list[int]]], broken: list[list[str]],
                 det: list[bool], why_stuck: dict[int, str]) -> None:
        self.g, self.dist, self.broken, self.det, self.why_stuck = g, dist, broken, det, why_stuck

    def outcome(self, v: int) -> str:
        return next((o for o in SEVERITY[:-1] if self.dist[o][0][v] >= 0), MASKED)

    def path(self, outcome: str, v: int) -> tuple[list[int], list[int]]:
        """The shortest path from v to a state deciding `outcome`: nodes and instance indices."""
        hop = self.dist[outcome][1]
        nodes, steps = [v], []
        while hop[nodes[-1]] >= 0:
            steps.append(self.g.step_between(nodes[-1], hop[nodes[-1]]))
            nodes.append(hop[nodes[-1]])
        return nodes, steps

    def decided_by(self, inj: Injection) -> str:
        return _decided_by(inj.outcome, inj.witness, self.broken, self.det, self.why_stuck)

    def verify(self, outcome: str, v: int, replayer: StepReplayer, checked: set[tuple[str, int]],
               check_end: Callable[[str, int], None]) -> None:
        """Replay the path from v down the forest of `outcome` (each node once), and check its end."""
        hop = self.dist[outcome][1]
        x = v
        while (outcome, x) not in checked:
            checked.add((outcome, x))
            if hop[x] < 0:
                check_end(outcome, self.g.nodes[x])
                break
            replayer.step(self.g.nodes[x], self.g.step_between(x, hop[x]), self.g.nodes[hop[x]])
            x = hop[x]


def run(model: M.Model, budget: BudgetLike | None, limits: Limits | None = None,
        progress: TextIO | None = sys.stderr) -> Campaign:
    """Inject every fault at every state where it is the last its budget allows; classify each."""
    start = time.monotonic()
    interp = Interpreter(model, budget)
    fb = interp.budget
    camp = Campaign(model.name, model.file, fb, [], 0, 0, 0.0, False)
    camp.nothing = nothing_to_inject(model, fb)
    if camp.nothing:
        camp.complete = True
        return camp
    # The campaign judges states itself (and only those after an injection).
    try:
        return _run(camp, model, interp, limits, progress, start)
    except control.Interrupted as e:
        camp.complete, camp.reason = False, e.reason
        camp.injections = []
        camp.notes.append(f"{e.reason}: the campaign did not finish, nothing is classified")
        camp.seconds = time.monotonic() - start
        return camp


def _run(camp: Campaign, model: M.Model, interp: Interpreter, limits: Limits | None, progress: TextIO | None,
         start: float) -> Campaign:
    fb = interp.budget
    ex = explore(interp, limits, record_edges=True, stop_when_decided=False, progress=progress,
                 check_properties=False)
    control.check()  # stopped while exploring: classify nothing
    control.note(f"classifying the injections over {len(ex.parent):,} states")
    g = _Graph(ex)
    camp.exploration, camp._graph = ex, g
    camp.states, camp.transitions, camp.complete = len(g.nodes), ex.transitions, ex.complete
    if not ex.complete:
        camp.reason = ex.reason
        camp.notes.append(f"the state graph is partial ({ex.reason}): outcomes may be wrong; use the symbolic "
                          "engines (`ftverify prove`) for properties of this model")
    det_expr = detection_predicate(model)
    if det_expr is None:
        camp.notes.append("the spec declares no `def detected: bool`: nothing counts as a detection")
    packed = g.nodes
    # The injections, and what can follow them: only there do predicates need evaluating.
    layout = interp.layout
    candidates: list[tuple[int, int, int]] = []
    for u in range(len(packed)):
        for v, k in g.succ[u]:
            inst = interp.instances[k]
            if not inst.label.is_fault:
                continue
            counter = layout.counter_of[inst.action.name]
            if counter is None or (packed[v] >> counter.offset) & ((1 << counter.width) - 1) == counter.cap:
                candidates.append((u, v, k))  # the last fault of its kind the budget allows
    after = g.forward({v for _, v, _ in candidates})
    det_fn = interp.predicate(det_expr) if det_expr is not None else None
    det = [after[i] and det_fn is not None and holds(det_fn, s) for i, s in enumerate(packed)]
    # A stopped system delivers nothing wrong: invariants are judged where it is `up`.
    up_expr = definition(model, "up")
    up_fn = interp.predicate(up_expr) if up_expr is not None else None
    invariants = [(p.name, interp.properties[p.name]) for p in model.invariants()]
    broken = [([name for name, f in invariants if not holds(f, s)] if up_fn is None or holds(up_fn, s) else [])
              + (["type_ok"] if s in ex.failing else []) if after[i] else [] for i, s in enumerate(packed)]
    bad = [bool(b) for b in broken]
    stuck, why_stuck = _stuck(g, interp, after)
    undetected = [not d for d in det]
    can_detect = g.backward(det)
    # Latent damage: stuck where the system can no longer even notice.
    unnoticed = [x and can_detect[0][i] < 0 for i, x in enumerate(stuck)]
    how = _Classification(g, {SDC: g.backward(bad, undetected), WRONG: g.backward(bad),
                              UNRECOVERED: g.backward(unnoticed, undetected), FAIL_STOP: g.backward(stuck),
                              RECOVERED: can_detect}, broken, det, why_stuck)
    labels = [inst.label for inst in interp.instances]
    camp.injections = [Injection(packed[u], labels[k], packed[v], how.outcome(v), u, k, v, how)
                       for u, v, k in candidates]
    if not camp.injections and camp.complete:
        camp.nothing = f"no fault is enabled in any of the {len(packed):,} reachable states under budget {fb}"
    # Every witness is a run of the model ending where the classification says: replayed on the
    # interpreter, each step once (witnesses share their prefixes and their shortest-path forests).
    replayer = StepReplayer(interp)
    checked: set[tuple[str, int]] = set()
    ends = _EndCheck(interp, det_fn, up_fn, invariants, ex)
    for inj in camp.injections:
        if inj.outcome != MASKED:
            g.replay_prefix(inj.node, replayer)
            replayer.step(inj.state, inj.fault_step, inj.target)
            how.verify(inj.outcome, inj.target_node, replayer, checked, ends.check)
            replayer.end(inj.target)
    camp.seconds = time.monotonic() - start
    return camp


def _stuck(g: _Graph, interp: Interpreter, relevant: list[bool]) -> tuple[list[bool], dict[int, str]]:
    """States from which a recovery obligation can no longer be met, and which one.

    With `recovers` properties: a state satisfying some `from` from which no state
    satisfying its `to` is reachable by non-fault steps. With `leadsto P ~> Q`: a P-state
    from which some fair run never reaches Q (recovery may happen, but is not certain).
    Without either: a state from which no state whose variables equal those of a state
    reachable without any fault step is reachable by non-fault steps (the system never
    gets back to normal). Decided for the `relevant` nodes only (a set closed under successors)."""
    n = len(g.nodes)
    stuck = [False] * n
    why: dict[int, str] = {}
    recovers = [p for p in interp.model.properties if p.kind == "recovers"]
    leadsto = [p for p in interp.model.properties if p.kind == "leadsto"]
    for p in recovers:
        src, dst = interp.properties[p.name], interp.targets[p.name]
        reach, _ = g.backward([relevant[i] and holds(dst, s) for i, s in enumerate(g.nodes)], normal_only=True)
        for i, s in enumerate(g.nodes):
            if relevant[i] and reach[i] < 0 and not stuck[i] and holds(src, s):
                stuck[i] = True
                why[i] = f"recovers {p.name}: its `from` holds and its `to` can no longer be reached"
    if leadsto and g.ex.complete:
        from ftverify.checker.engines.liveness import starving

        for p in leadsto:
            src = interp.properties[p.name]
            starved = starving(g.ex, interp.targets[p.name])
            for i, s in enumerate(g.nodes):
                if relevant[i] and starved[i] and not stuck[i] and holds(src, s):
                    stuck[i] = True
                    why[i] = f"leadsto {p.name}: its left side holds and a fair run never reaches its right side"
    if recovers or leadsto:
        return stuck, why
    mask = (1 << interp.layout.faults_offset) - 1
    free = [False] * n  # reachable from an initial state by non-fault steps
    queue = deque(i for i, s in enumerate(g.nodes) if g.ex.parent[s] is None)
    for i in queue:
        free[i] = True
    while queue:
        u = queue.popleft()
        for v, k in g.succ[u]:
            if not interp.instances[k].label.is_fault and not free[v]:
                free[v] = True
                queue.append(v)
    values = {s & mask for i, s in enumerate(g.nodes) if free[i]}
    reach, _ = g.backward([(s & mask) in values for s in g.nodes], normal_only=True)
    for i in range(n):
        if relevant[i] and reach[i] < 0:
            stuck[i] = True
            why[i] = "no way back (by non-fault steps) to a state reachable without faults"
    return stuck, why


def _decided_by(outcome: str, witness: list[int], broken: list[list[str]], det: list[bool],
                why_stuck: dict[int, str]) -> str:
    end = witness[-1]
    at = len(witness) - 1
    where = "in the state right after the fault" if at == 0 else f"{at} step(s) after the fault"
    first_det = next((i for i, n in enumerate(witness) if det[n]), None)
    detection = "" if first_det is None else \
        (" (detected in the same state)" if first_det == at else f" (detected {first_det} step(s) after the fault)"
         if first_det else " (detected right after the fault)")
    if outcome in (SDC, WRONG):
        return f"{', '.join(broken[end])} broken {where}{detection}"
    if outcome == UNRECOVERED:
        return f"{why_stuck[end]}, {where}, and nothing can detect it"
    if outcome == FAIL_STOP:
        return f"{why_stuck[end]}, {where}{detection}"
    return f"detected {where}"


class _EndCheck:
    """Re-checks on the interpreter that a witness's last state is what its outcome says."""

    def __init__(self, interp: Interpreter, det_fn: Callable[[int], Any] | None, up_fn: Callable[[int], Any] | None,
                 invariants: list[tuple[str, Callable[[int], Any]]], ex: Exploration) -> None:
        self.det_fn, self.up_fn, self.invariants, self.ex = det_fn, up_fn, invariants, ex

    def check(self, outcome: str, s: int) -> None:
        from ftverify.checker.engines.replay import ReplayError

        detected = self.det_fn is not None and holds(self.det_fn, s)
        if outcome in (SDC, WRONG):
            up = self.up_fn is None or holds(self.up_fn, s)
            ok = (up and any(not holds(f, s) for _, f in self.invariants)) or s in self.ex.failing
            ok = ok and not (outcome == SDC and detected)
        elif outcome == RECOVERED:
            ok = detected
        else:
            ok = True  # being stuck is a property of the graph, established by the backward search
        if not ok:
            raise ReplayError(f"a witness of {outcome} does not end as classified")


# ---------------------------------------------------------------- output
def groups(camp: Campaign) -> dict[tuple[str, str], list[Injection]]:
    """Injections by (outcome, fault action), in table order."""
    out: dict[tuple[str, str], list[Injection]] = {}
    for o in OUTCOMES:
        for inj in camp.injections:
            if inj.outcome == o:
                out.setdefault((o, inj.fault.action), []).append(inj)
    return out


def to_json(camps: list[Campaign]) -> list[dict[str, Any]]:
    from ftverify.checker.output.report import budget_json, trace_json

    out = []
    for c in camps:
        interp = c._graph.interp if c._graph is not None else None
        out.append({
            "model": c.model, "file": c.file, "faults": budget_json(c.budget), "states": c.states,
            "transitions": c.transitions, "complete": c.complete, "total": len(c.injections),
            "outcomes": {o: c.counts[o] for o in OUTCOMES},
            "masked_or_detected": round(c.masked_or_detected, 4),
            "nothing_to_inject": c.nothing or None,
            "injections": [{
                "state": interp.decode(i.state) if interp else None,
                "faults_before": interp.layout.describe_faults(interp.layout.faults(i.state)) if interp else None,
                "fault": str(i.fault), "outcome": i.outcome, "decided_by": i.decided_by or None,
                "witness": trace_json(c.trace(i)) if i.outcome != MASKED else None,
            } for i in c.injections],
            "notes": c.notes, "seconds": round(c.seconds, 3),
        })
    return out


def chart_svg(camps: list[Coverage], title: str = "Fault coverage") -> str:
    """A stacked horizontal bar per campaign (share of injections per outcome), as plain SVG."""
    row, left, width = 34, 260, 460
    height = 70 + row * len(camps) + 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 40}" height="{height}" '
             f'font-family="Helvetica, Arial, sans-serif" font-size="12">',
             f'<text x="{left}" y="24" font-size="15" font-weight="bold">{_x(title)}</text>']
    for i, c in enumerate(camps):
        y = 50 + i * row
        parts.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end">{_x(c.label)}</text>')
        x = float(left)
        for o in OUTCOMES:
            w = width * c.share(o)
            if w > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="24" fill="{COLOURS[o]}">'
                             f'<title>{_x(o)}: {c.counts.get(o, 0)} of {c.total}</title></rect>')
                if w > 34:
                    parts.append(f'<text x="{x + w / 2:.1f}" y="{y + 16}" text-anchor="middle" fill="white">'
                                 f'{100 * c.share(o):.0f}%</text>')
            x += w
    y = 60 + row * len(camps)
    x = float(left)
    for j, o in enumerate(OUTCOMES):
        if j == 3:  # second row of the legend
            x, y = float(left), y + 18
        parts.append(f'<rect x="{x:.0f}" y="{y}" width="12" height="12" fill="{COLOURS[o]}"/>'
                     f'<text x="{x + 16:.0f}" y="{y + 11}">{_x(o)}</text>')
        x += 16 + 7.0 * len(o) + 14
    parts.append("</svg>")
    return "\n".join(parts)


def _x(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def chart_png(camps: list[Coverage], path: str, title: str = "Fault coverage") -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("a PNG chart needs matplotlib (pip install 'ftverify[plots]'); "
                           "an .svg chart needs nothing") from None
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * len(camps) + 1.8))
    names = [c.label for c in camps]
    lefts = [0.0] * len(camps)
    for o in OUTCOMES:
        shares = [100 * c.share(o) for c in camps]
        ax.barh(names, shares, left=lefts, color=COLOURS[o], label=o)
        for i, v in enumerate(shares):
            if v >= 8:
                ax.text(lefts[i] + v / 2, i, f"{v:.0f}%", ha="center", va="center", color="white", fontsize=8)
        lefts = [a + b for a, b in zip(lefts, shares, strict=True)]
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of injected faults (%)")
    ax.set_title(title)
    ax.legend(ncol=3, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.25 if len(camps) > 3 else -0.4))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
