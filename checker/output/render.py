"""Pictures of a state graph: DOT built with the graphviz package, drawn by a dot renderer.

The renderer is Debian's `dot` when it is on the PATH, else `graphviz-pure` (a
pip-installed port of Graphviz with the same command line), so a picture can be
drawn right after `pip install`. `FTVERIFY_RENDERER=dot|graphviz-pure` forces one.

Colours: initial states have a double border, states breaking an invariant are
red, fault-region states (reached through a fault) are pale yellow, fault edges
are red and dashed, recovery edges green, and a highlighted trace is blue and bold.
"""

from __future__ import annotations

import html
import io
import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import graphviz
import networkx as nx
from ftverify.checker.output.report import flatten_state
from ftverify.spec.types import format_value

FORMATS = ("svg", "png", "dot", "html", "json")
RENDERERS = ("dot", "graphviz-pure")
MAX_LABEL_LINES = 8  # a node shows at most this many variables; the tooltip and the HTML panel show all

RED, PALE_RED, PALE_YELLOW, GREEN, BLUE = "#c0392b", "#f5b7b1", "#fff3c4", "#1e8449", "#1f4e9e"


class RenderError(Exception):
    """No renderer, or the renderer failed (the message says which and why)."""


@dataclass(frozen=True)
class Renderer:
    name: str
    executable: str


def find_renderer(prefer: str | None = None) -> Renderer:
    """`dot` if installed, else the `graphviz-pure` next to this Python or on the PATH."""
    wanted = prefer or os.environ.get("FTVERIFY_RENDERER") or None
    if wanted is not None and wanted not in RENDERERS:
        raise RenderError(f"unknown renderer {wanted!r} (expected one of: {', '.join(RENDERERS)})")
    for name in [wanted] if wanted else list(RENDERERS):
        exe = shutil.which(name)
        if exe is None:
            beside = Path(sys.executable).parent / name
            exe = str(beside) if beside.exists() else None
        if exe is not None:
            return Renderer(name, exe)
    if wanted:
        raise RenderError(f"renderer {wanted} not found")
    raise RenderError("no renderer found: install Graphviz (`apt-get install graphviz`) or `pip install graphviz-pure`")


def run_renderer(renderer: Renderer, source: str, fmt: str) -> bytes:
    try:
        done = subprocess.run([renderer.executable, f"-T{fmt}"], input=source.encode(), capture_output=True,
                              timeout=300, check=False)
    except subprocess.TimeoutExpired:
        raise RenderError(f"{renderer.name} did not finish within 300 s") from None
    if done.returncode != 0:
        raise RenderError(f"{renderer.name} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


# ---------------------------------------------------------------- DOT
def _node_text(state: dict[str, Any], limit: int = MAX_LABEL_LINES) -> tuple[str, str]:
    """The node's label (at most `limit` variables) and its full text."""
    flat = [f"{k} = {format_value(v)}" for k, v in flatten_state(state).items()]
    shown = flat if len(flat) <= limit else [*flat[:limit - 1], f"... {len(flat) - limit + 1} more"]
    return "\\l".join(_esc(x) for x in shown) + "\\l", "\n".join(flat)


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def node_id(n: Any, index: dict[Any, int]) -> str:
    return f"s{index[n]}"


def to_dot(g: nx.MultiDiGraph, *, trace: Iterable[Any] = (), title: str | None = None) -> graphviz.Digraph:
    """The DOT picture of a state graph (or of a projection, whose nodes carry `members`)."""
    path = list(trace)
    on_path = set(path)
    path_edges = set(itertools.pairwise(path))
    index = {n: i for i, n in enumerate(g)}
    dot = graphviz.Digraph(g.graph.get("model", "graph"))
    dot.attr(rankdir="TB", fontname="Helvetica", fontsize="11", nodesep="0.3", ranksep="0.45")
    if title:
        dot.attr(label=_esc(title), labelloc="t")
    dot.attr("node", shape="box", style="rounded,filled", fillcolor="white", fontname="Helvetica", fontsize="9")
    dot.attr("edge", fontname="Helvetica", fontsize="8", color="#555555", fontcolor="#333333")
    for n, d in g.nodes(data=True):
        label, full = _node_text(d["state"])
        if "members" in d:
            label += (f"faults = {d['faults']}\\l" if d["faults"] else "") + f"({d['members']} state{'s' if d['members'] != 1 else ''})\\l"
        attrs = {"label": label, "tooltip": _esc(full)}
        if d["violates"]:
            attrs.update(fillcolor=PALE_RED, color=RED)
            attrs["tooltip"] = _esc(f"violates {', '.join(d['violates'])}\n{full}")
        elif d["faults"] > 0:
            attrs["fillcolor"] = PALE_YELLOW
        if d["initial"]:
            attrs["peripheries"] = "2"
        if n in on_path:
            attrs.update(color=BLUE, penwidth="2.5")
        dot.node(node_id(n, index), **attrs)
    # one drawn edge per ordered pair of states: parallel steps are listed in its label
    pairs: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for u, v, d in g.edges(data=True):
        pairs.setdefault((u, v), []).append(d)
    for (u, v), ds in pairs.items():
        names = sorted({str(d["label"]) for d in ds})
        text = "\\n".join(_esc(x) for x in names[:4]) + (f"\\n+{len(names) - 4} more" if len(names) > 4 else "")
        attrs = {"label": text, "tooltip": _esc(", ".join(names))}
        if all(d["fault"] for d in ds):
            attrs.update(color=RED, fontcolor=RED, style="dashed")
        elif any(d["recovery"] for d in ds):
            attrs.update(color=GREEN, fontcolor=GREEN, penwidth="1.8")
        if (u, v) in path_edges:
            attrs.update(color=BLUE, fontcolor=BLUE, penwidth="3")
        dot.edge(node_id(u, index), node_id(v, index), **attrs)
    return dot


def drawn_edges(g: nx.MultiDiGraph) -> int:
    """How many edges the picture has: one per ordered pair of states with a step between them."""
    return len({(u, v) for u, v in g.edges()})


# ---------------------------------------------------------------- HTML
_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ margin: 0; font-family: Helvetica, Arial, sans-serif; display: flex; height: 100vh; }}
#graph {{ flex: 1; overflow: auto; padding: 8px; }}
#panel {{ width: 340px; border-left: 1px solid #ccc; padding: 10px 14px; overflow: auto; background: #fafafa; }}
#panel h2 {{ font-size: 15px; margin: 4px 0 8px; }}
#panel table {{ border-collapse: collapse; font-size: 12px; width: 100%; }}
#panel td {{ border-bottom: 1px solid #e4e4e4; padding: 2px 4px; vertical-align: top; font-family: monospace; }}
#panel .tag {{ display: inline-block; margin: 0 4px 6px 0; padding: 1px 6px; border-radius: 3px; font-size: 11px; }}
.node {{ cursor: pointer; }}
.node.selected polygon, .node.selected path {{ stroke: #1f4e9e; stroke-width: 3px; }}
</style></head>
<body><div id="graph">{svg}</div>
<div id="panel"><h2>{title}</h2><p>{summary}</p><p>Click a state to see all of its variables.</p></div>
<script>
const STATES = {states};
const panel = document.getElementById("panel");
function esc(s) {{ return String(s).replace(/[&<>"]/g, c => ({{"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}})[c]); }}
function show(id, g) {{
  const s = STATES[id]; if (!s) return;
  document.querySelectorAll(".node.selected").forEach(n => n.classList.remove("selected"));
  g.classList.add("selected");
  let h = "<h2>state " + esc(id) + "</h2>";
  for (const t of s.tags) h += "<span class='tag' style='background:" + t[1] + "'>" + esc(t[0]) + "</span>";
  h += "<table>";
  for (const [k, v] of s.vars) h += "<tr><td>" + esc(k) + "</td><td>" + esc(v) + "</td></tr>";
  h += "</table>";
  if (s.out.length) {{ h += "<h2>steps</h2><table>";
    for (const [a, t] of s.out) h += "<tr><td>" + esc(a) + "</td><td>&rarr; " + esc(t) + "</td></tr>";
    h += "</table>"; }}
  panel.innerHTML = h;
}}
document.querySelectorAll("g.node").forEach(g => {{
  const id = g.querySelector("title").textContent.trim();
  g.addEventListener("click", () => show(id, g));
}});
</script></body></html>
"""


def to_html(g: nx.MultiDiGraph, svg: str, title: str, summary: str) -> str:
    """One self-contained page: the SVG inline and every node's full state as JSON."""
    index = {n: i for i, n in enumerate(g)}
    states: dict[str, Any] = {}
    for n, d in g.nodes(data=True):
        tags = []
        if d["initial"]:
            tags.append(["initial", "#dddddd"])
        if d["faults"]:
            tags.append([f"faults used: {d['faults']}", PALE_YELLOW])
        if d["violates"]:
            tags.append([f"violates {', '.join(d['violates'])}", PALE_RED])
        if "members" in d:
            tags.append([f"{d['members']} state{'s' if d['members'] != 1 else ''}", "#dddddd"])
        tags.append([f"depth {d['depth']}", "#eeeeee"])
        out = [[str(e["label"]), node_id(v, index)] for _, v, e in g.out_edges(n, data=True)]
        states[node_id(n, index)] = {
            "vars": [[k, format_value(v)] for k, v in flatten_state(d["state"]).items()],
            "tags": tags, "out": out,
        }
    body = svg[svg.index("<svg"):] if "<svg" in svg else svg
    data = json.dumps(states).replace("</", "<\\/")  # never close the script element early
    return _HTML.format(title=html.escape(title), summary=html.escape(summary), svg=body, states=data)


def to_json(g: nx.MultiDiGraph) -> str:
    """The graph as networkx node-link JSON (labels as text)."""
    out = io.StringIO()
    write_json(g, out)
    return out.getvalue()


def write_json(g: nx.MultiDiGraph, out: TextIO) -> None:
    """networkx's node-link JSON of the graph (`nx.node_link_graph(..., edges="edges")` reads it
    back), written a node and an edge at a time: a copy of a large graph, its node-link dict and
    the whole text at once took most of a gigabyte for 75,000 states."""
    index = {n: i for i, n in enumerate(g)}
    head = json.dumps({"directed": True, "multigraph": True, "graph": g.graph}, default=list)
    out.write(head[:-1] + ',\n "nodes": [')
    for i, (n, d) in enumerate(g.nodes(data=True)):
        node = {**d, "state": {k: format_value(v) for k, v in d["state"].items()}, "id": node_id(n, index)}
        out.write((",\n  " if i else "\n  ") + json.dumps(node, default=list))
    out.write('\n ],\n "edges": [')
    for i, (u, v, k, d) in enumerate(g.edges(keys=True, data=True)):
        edge = {**d, "label": str(d["label"]), "source": node_id(u, index), "target": node_id(v, index),
                "key": str(k)}
        out.write((",\n  " if i else "\n  ") + json.dumps(edge, default=list))
    out.write("\n ]\n}")


def write(g: nx.MultiDiGraph, path: str, *, trace: Iterable[Any] = (), title: str = "", summary: str = "",
          renderer: str | None = None) -> str:
    """Write the picture to `path` (its extension picks the format); return who drew it."""
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt == "gv":
        fmt = "dot"
    if fmt not in FORMATS:
        raise RenderError(f"{path}: unknown output format {fmt!r} (expected .{', .'.join(FORMATS)})")
    if fmt == "json":
        with open(path, "w", encoding="utf-8") as f:
            write_json(g, f)
            f.write("\n")
        return "networkx"
    dot = to_dot(g, trace=trace, title=title)
    if fmt == "dot":
        Path(path).write_text(dot.source, encoding="utf-8")
        return "graphviz (DOT source)"
    r = find_renderer(renderer)
    out = run_renderer(r, dot.source, "svg" if fmt == "html" else fmt)
    if fmt == "html":
        Path(path).write_text(to_html(g, out.decode(), title, summary), encoding="utf-8")
    else:
        Path(path).write_bytes(out)
    return r.name
