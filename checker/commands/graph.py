"""`ftverify graph`: explore, analyse, pick what to highlight, and draw within a size budget."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import networkx as nx
from ftverify.checker.commands.common import BadInput, check_output
from ftverify.checker.engines import liveness
from ftverify.checker.engines import stategraph as G
from ftverify.checker.engines.control import current
from ftverify.checker.engines.explicit import Limits
from ftverify.checker.output import render as R
from ftverify.checker.output.report import format_trace, table
from ftverify.spec import model as M
from ftverify.spec.budget import budget_for
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import load_model, parse_expression

EXIT_OK, EXIT_BAD_INPUT, EXIT_UNKNOWN = 0, 2, 3


@dataclass
class GraphRequest:
    file: str
    output: str | None
    faults: Any
    trace: str | None  # a property name, "*" for the first thing worth showing, or None
    projection: list[str] | None
    max_nodes: int
    max_states: int
    renderer: str | None
    consts: dict[str, int]
    where: str | None = None  # keep only the initial states satisfying this expression
    depth: int | None = None  # draw only the first `depth` steps


def run_graph(req: GraphRequest, echo: Callable[[str], None]) -> int:

    fmt = ""
    if req.output is not None:  # fail on a bad output name before exploring
        fmt = req.output.rsplit(".", 1)[-1].lower() if "." in req.output else ""
        if fmt not in (*R.FORMATS, "gv"):
            raise BadInput(f"{req.output}: unknown output format (expected .{', .'.join(R.FORMATS)})")
        check_output(req.output, "-o")
    model = load_model(req.file, req.consts)
    interp = Interpreter(model, budget_for(model, req.faults))
    start_from = None
    if req.where:
        start_from = interp.predicate(parse_expression(model, req.where, "--where"))
    current().begin(f"state graph of {model.name}")
    sg = G.build(interp, Limits(max_states=req.max_states, max_depth=req.depth), progress=sys.stderr,
                 start_from=start_from)
    if sg.graph.number_of_nodes() == 0:
        raise BadInput(f"--where {req.where}: no initial state satisfies it")
    an = G.analyse(sg)
    code = EXIT_OK if sg.complete or req.depth is not None else EXIT_UNKNOWN
    echo(f"state graph of {model.name} under fault budget {interp.budget}:")
    rows = [["states", f"{an.states:,}"], ["transitions", f"{an.transitions:,}"], ["initial states", str(an.initial)]]
    if sg.complete:
        rows += [["strongly connected components", f"{an.sccs:,}"],
                 ["terminal components", ", ".join(str(len(c)) for c in an.terminal_sccs[:8])
                  + (" ..." if len(an.terminal_sccs) > 8 else "") + " state(s)"],
                 ["fault region (reached through a fault)", f"{an.fault_region:,} state(s)"]]
    echo(table(rows))
    for f in an.findings:
        echo(f"  {f.kind}: {f.message}" + (" (a shortest trace to one):" if f.trace else ""))
        if f.trace is not None:
            echo(format_trace(f.trace))
    if not an.problems and sg.complete:
        echo("  no deadlock, bad state, trap cycle, unrecoverable state or unreturning fault state")

    path = _highlight(sg, an, req.trace, echo)
    if req.output is None:
        return code
    # A data format holds the whole graph, however big; only pictures are limited to --max-nodes.
    picture, path = _picture(sg, req, path, echo, data=fmt in ("json", "dot", "gv"))
    if picture is None:
        return EXIT_UNKNOWN
    if req.projection is None and picture.graph.get("condensed") is None:
        title = f"{model.name}: {an.states} states, {an.transitions} transitions, fault budget {interp.budget}"
    else:
        title = f"{model.name}: {picture.number_of_nodes()} of {an.states} states shown"
    summary = f"{an.states} states, {an.transitions} transitions; fault budget {interp.budget}."
    try:
        who = R.write(picture, req.output, trace=path, title=title, summary=summary, renderer=req.renderer)
    except R.RenderError as e:
        raise BadInput(str(e)) from None
    except OSError as e:
        raise BadInput(f"cannot write {req.output}: {e.strerror}") from None
    echo(f"wrote {req.output}: {picture.number_of_nodes()} nodes, {R.drawn_edges(picture)} edges (drawn by {who})")
    return code


def _highlight(sg: G.StateGraph, an: G.Analysis, wanted: str | None, echo: Callable[[str], None]) -> list[int]:
    """The node path of the trace to highlight, or [] when none is asked for or there is none."""

    if wanted is None:
        return []
    g = sg.graph
    model = sg.interp.model
    props = {p.name: p for p in model.properties}
    if wanted != "*" and wanted not in props and wanted != "deadlock":
        raise BadInput(f"--trace {wanted}: no such property (properties: {', '.join(props) or 'none'}, deadlock)")
    candidates: list[tuple[str, int]] = []
    for p in model.properties:
        if wanted in ("*", p.name):
            if p.kind == "invariant":
                bad = [n for n, v in g.nodes(data="violates") if p.name in v]
                if bad:
                    candidates.append((f"counterexample to {p.name}", min(bad)))
            elif p.kind == "recovers" and sg.complete:
                doomed = G.doomed(sg, p)
                if doomed:
                    candidates.append((f"counterexample to {p.name}", min(doomed)))
            elif p.kind in M.LIVENESS_KINDS and sg.complete:
                r = liveness.check(sg.exploration, p)
                if r.trace is not None and r.trace.loop is not None:
                    tr, layout = r.trace, sg.interp.layout
                    nodes = [sg.node_of(layout.encode(st, f)) for st, f in zip(tr.states, tr.faults, strict=True)]
                    if tr.loop_step is not None:
                        nodes.append(nodes[tr.loop])  # the step back into the loop
                    echo(f"  highlighted: a fair run that never satisfies the right side of {p.name}: "
                         f"{tr.loop} step(s) to the loop, which repeats for ever")
                    return nodes
            elif p.kind == "step":
                bad = [n for n, v in g.nodes(data="violates") if p.name in v]
                if bad:
                    found = sg.interp.breaking_step(p, sg.packed[min(bad)])
                    assert found is not None, "a state marked as violating a step property has a breaking step"
                    path = [*sg.path_nodes(min(bad)), sg.node_of(found[1])]
                    echo(f"  highlighted: counterexample to {p.name}, {len(path) - 1} step(s), the last one breaks it")
                    return path
    if wanted in ("*", "deadlock"):
        dead = G.deadlocks(sg) if sg.complete else []
        if dead:
            candidates.append(("trace to a deadlock", min(dead)))
    if wanted == "*":
        candidates += [(f"trace to a {f.kind} state", f.witness) for f in an.findings if f.witness is not None]
    for p in model.properties:
        if wanted in ("*", p.name) and p.kind == "reachable":
            f = sg.interp.properties[p.name]
            hits = [n for n in g if G.holds(f, sg.packed[n])]
            if hits:
                candidates.append((f"witness for {p.name}", min(hits)))
    if not candidates:
        echo(f"  --trace: nothing to highlight ({'no violation, deadlock or witness' if wanted == '*' else wanted}"
             " has no counterexample or witness in this graph)")
        return []
    what, node = candidates[0]
    path = sg.path_nodes(node)
    echo(f"  highlighted: {what}, {len(path) - 1} step(s)")
    return path


def _picture(sg: G.StateGraph, req: GraphRequest, path: list[int], echo: Callable[[str], None],
             data: bool = False) -> tuple[nx.MultiDiGraph | None, list[object]]:
    """The graph to draw (the full one, a projection, or the SCC condensation) and the path in it;
    for a data format (`data`), the full graph or projection whatever its size."""

    if req.projection:
        try:
            q = G.project(sg, req.projection)
        except ValueError as e:
            raise BadInput(f"--project: {e}") from None
        mapping = G.projection_classes(sg, req.projection)
        if q.number_of_nodes() > req.max_nodes and not data:
            echo(f"  the projection has {q.number_of_nodes()} nodes, more than --max-nodes {req.max_nodes}; "
                 f"try --project {','.join(G.suggest_projection(sg, req.max_nodes)) or '(fewer variables)'}")
            return None, []
        return q, _dedupe([mapping[n] for n in path])
    g = sg.graph
    if g.number_of_nodes() <= req.max_nodes or data:
        return g, list(path)
    suggestion = ",".join(G.suggest_projection(sg, req.max_nodes))
    if not sg.complete:  # the components of a partial graph say nothing about the spec's
        echo(f"  {g.number_of_nodes():,} states of a partial graph are more than --max-nodes {req.max_nodes}: "
             "nothing drawn. " + (f"Try --project {suggestion}" if suggestion else "Try --project")
             + ", or --where and --depth to draw one scenario.")
        return None, []
    cond, mapping = G.condense(sg)
    if cond.number_of_nodes() <= req.max_nodes and cond.number_of_nodes() < g.number_of_nodes():
        echo(f"  {g.number_of_nodes():,} states are more than --max-nodes {req.max_nodes}: drawing the "
             f"{cond.number_of_nodes()} strongly connected components instead"
             + (f" (or try --project {suggestion})" if suggestion else ""))
        return cond, _dedupe([mapping[n] for n in path])
    echo(f"  {g.number_of_nodes():,} states (and {cond.number_of_nodes():,} strongly connected components) are "
         f"more than --max-nodes {req.max_nodes}: nothing drawn. "
         + (f"Try --project {suggestion}" if suggestion else "Try --project with fewer variables")
         + " or a larger --max-nodes.")
    return None, []


def _dedupe(path: list[object]) -> list[object]:
    out: list[object] = []
    for x in path:
        if not out or out[-1] != x:
            out.append(x)
    return out
