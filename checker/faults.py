"""Exhaustive fault-coverage campaigns: every fault, at every state where it can strike.

The error-coverage tables of the Romain and HAFT papers come from sampling
(inject a random bit flip, run, see what happens). Here every fault action
instance is injected at every reachable state where it is enabled (for budget
N: every state reached with N - 1 faults, so the injected fault is the last
one), and the outcome of each injection is decided on the whole state graph of
what can follow it without further faults:

- **silent data corruption**: some continuation violates an invariant in a state
  where the system has not detected anything;
- **detected, recovered**: the system detects the fault (the spec's `def detected`
  becomes true on some continuation) and every continuation can still get back
  to fault-free behaviour (the targets of the spec's `recovers` properties);
- **detected, fail-stop**: detected, but some continuation never gets back
  (the system stopped, as designed);
- **masked**: nothing is violated, nothing is detected, and every continuation
  can get back to fault-free behaviour;
- **unrecovered**: nothing violated or detected, but some continuation never
  gets back to fault-free behaviour (latent damage).

"Fault-free behaviour" is what the spec's `recovers` properties say it is (every
one of their targets stays reachable); a spec without any gets the graph notion
of `checker.graph`: a state whose variables (the fault counter aside) equal those
of a state reachable without faults. A spec that declares no `detected` never detects.
"""

from __future__ import annotations

import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, TextIO

from ftverify.checker import graph as G
from ftverify.checker.explicit import Limits
from ftverify.checker.result import Trace
from ftverify.checker.trace import replay, trace_of
from ftverify.spec import model as M
from ftverify.spec.errors import SpecError
from ftverify.spec.interp import Interpreter, Label

OUTCOMES = ("masked", "detected, recovered", "detected, fail-stop", "silent data corruption", "unrecovered")
COLOURS = {"masked": "#2e7d32", "detected, recovered": "#66bb6a", "detected, fail-stop": "#f9a825",
           "silent data corruption": "#c62828", "unrecovered": "#8e24aa"}


@dataclass
class Injection:
    state: int  # node of the state the fault strikes in
    fault: Label
    target: int  # node of the state right after it
    outcome: str
    trace: Trace | None = None  # for a silent corruption: a shortest trace to the violation


@dataclass
class Campaign:
    model: str
    file: str
    budget: int
    injections: list[Injection]
    states: int
    transitions: int
    seconds: float
    complete: bool
    reason: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(i.outcome for i in self.injections)

    def share(self, outcome: str) -> float:
        return self.counts[outcome] / len(self.injections) if self.injections else 0.0

    @property
    def masked_or_detected(self) -> float:
        return sum(self.share(o) for o in OUTCOMES[:3])


def detection_predicate(model: M.Model) -> Any:
    """The spec's `def detected: bool`, compiled, or None when it declares none."""
    from ftverify.spec.typecheck import parse_expression

    if not any(n == "detected" for n, _ in model.decl_spans):
        return None
    try:
        return parse_expression(model, "detected")
    except SpecError:
        return None


def run(model: M.Model, budget: int, limits: Limits | None = None, progress: TextIO | None = sys.stderr,
        max_traces: int = 50) -> Campaign:
    start = time.monotonic()
    interp = Interpreter(model, budget)
    camp = Campaign(model.name, model.file, budget, [], 0, 0, 0.0, False)
    if budget < 1 or not model.has_faults:
        camp.notes.append("no fault to inject (the spec declares none, or the budget is 0)")
        camp.complete = True
        return camp
    sg = G.build(interp, limits, progress=progress)
    g = sg.graph
    camp.states, camp.transitions, camp.complete = g.number_of_nodes(), g.number_of_edges(), sg.complete
    if not sg.complete:
        camp.reason = sg.exploration.reason
        camp.notes.append(f"the state graph is partial ({camp.reason}): outcomes may be wrong; "
                          "use the symbolic engines (`ftverify prove`) for properties of this model")
    det_expr = detection_predicate(model)
    det_fn = interp.predicate(det_expr) if det_expr is not None else None
    if det_fn is None:
        camp.notes.append("the spec declares no `def detected: bool`: nothing counts as a detection")

    view = G.non_fault_view(g)
    detected = {n for n in g if det_fn is not None and G.holds(det_fn, sg.packed[n])}
    corrupt = {n for n, v in g.nodes(data="violates") if v and n not in detected}
    can_corrupt = G.can_reach(view, corrupt)
    can_detect = G.can_reach(view, detected)
    can_return = _recoverable(sg, view, interp)
    may_get_stuck = G.can_reach(view, [n for n in g if n not in can_return])
    traces = 0
    for s in g:
        if g.nodes[s]["faults"] != budget - 1:
            continue
        for _, t, d in g.out_edges(s, data=True):
            if not d["fault"]:
                continue
            if t in can_corrupt:
                outcome = OUTCOMES[3]
            elif t in can_detect:
                outcome = OUTCOMES[1] if t not in may_get_stuck else OUTCOMES[2]
            else:
                outcome = OUTCOMES[0] if t not in may_get_stuck else OUTCOMES[4]
            inj = Injection(s, d["label"], t, outcome)
            if outcome == OUTCOMES[3] and traces < max_traces:
                inj.trace = _corruption_trace(sg, view, s, t, corrupt)
                traces += 1
            camp.injections.append(inj)
    camp.seconds = time.monotonic() - start
    return camp


def _recoverable(sg: G.StateGraph, view: Any, interp: Interpreter) -> set[int]:
    """States from which the system can get back to fault-free behaviour without further faults.

    What "back" means is the spec's to say: the `to` side of each of its `recovers`
    properties (a restarted server with a new incarnation number has recovered,
    though no fault-free state has that number). A spec without `recovers` gets
    the graph notion: a state whose variables equal those of a fault-free-reachable one.
    """
    g = sg.graph
    targets = [p for p in interp.model.properties if p.kind == "recovers"]
    if not targets:
        return G.can_reach(view, [n for n, r in g.nodes(data="returned") if r])
    out: set[int] | None = None
    for p in targets:
        f = interp.targets[p.name]
        reach = G.can_reach(view, [n for n in g if G.holds(f, sg.packed[n])])
        out = reach if out is None else out & reach
    assert out is not None
    return out


def _corruption_trace(sg: G.StateGraph, view: Any, s: int, t: int, corrupt: set[int]) -> Trace:
    """Init -> s (shortest), the fault, then the shortest non-fault path from t to a corrupt state."""
    parent: dict[int, int | None] = {t: None}
    queue = deque([t])
    end = None
    while queue:
        n = queue.popleft()
        if n in corrupt:
            end = n
            break
        for m in view.successors(n):
            if m not in parent:
                parent[m] = n
                queue.append(m)
    assert end is not None
    tail = []
    cur: int | None = end
    while cur is not None:
        tail.append(cur)
        cur = parent[cur]
    tail.reverse()
    path = [sg.packed[n] for n in sg.path_nodes(s)] + [sg.packed[n] for n in tail]
    tr = trace_of(sg.interp, path)
    replay(sg.interp, tr)
    return tr


# ---------------------------------------------------------------- output
def to_json(camps: list[Campaign]) -> list[dict[str, Any]]:
    from ftverify.checker.report import trace_json

    out = []
    for c in camps:
        out.append({
            "model": c.model, "file": c.file, "faults": c.budget, "states": c.states,
            "transitions": c.transitions, "complete": c.complete, "injections": len(c.injections),
            "outcomes": {o: c.counts[o] for o in OUTCOMES},
            "masked_or_detected": round(c.masked_or_detected, 4),
            "silent_corruptions": [{"fault": str(i.fault), "trace": trace_json(i.trace) if i.trace else None}
                                   for i in c.injections if i.outcome == OUTCOMES[3]],
            "notes": c.notes, "seconds": round(c.seconds, 3),
        })
    return out


def chart_svg(camps: list[Campaign], title: str = "Fault coverage") -> str:
    """A stacked horizontal bar per campaign (share of injections per outcome), as plain SVG."""
    row, left, width = 34, 230, 460
    height = 70 + row * len(camps) + 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 40}" height="{height}" '
             f'font-family="Helvetica, Arial, sans-serif" font-size="12">',
             f'<text x="{left}" y="24" font-size="15" font-weight="bold">{_x(title)}</text>']
    for i, c in enumerate(camps):
        y = 50 + i * row
        parts.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end">{_x(c.model)}, {c.budget} '
                     f'fault{"s" if c.budget != 1 else ""} ({len(c.injections)})</text>')
        x = float(left)
        for o in OUTCOMES:
            w = width * c.share(o)
            if w > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="24" fill="{COLOURS[o]}">'
                             f'<title>{_x(o)}: {c.counts[o]} of {len(c.injections)}</title></rect>')
                if w > 34:
                    parts.append(f'<text x="{x + w / 2:.1f}" y="{y + 16}" text-anchor="middle" fill="white">'
                                 f'{100 * c.share(o):.0f}%</text>')
            x += w
    y = 60 + row * len(camps)
    x = float(left)
    for o in OUTCOMES:
        parts.append(f'<rect x="{x:.0f}" y="{y}" width="12" height="12" fill="{COLOURS[o]}"/>'
                     f'<text x="{x + 16:.0f}" y="{y + 11}">{_x(o)}</text>')
        x += 16 + 7.0 * len(o) + 14
    parts.append("</svg>")
    return "\n".join(parts)


def _x(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def chart_png(camps: list[Campaign], path: str, title: str = "Fault coverage") -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("a PNG chart needs matplotlib (pip install 'ftverify[plots]'); "
                           "an .svg chart needs nothing") from None
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(camps) + 1.6))
    names = [f"{c.model}, {c.budget} fault{'s' if c.budget != 1 else ''} ({len(c.injections)})" for c in camps]
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

