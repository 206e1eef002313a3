"""The state graph, its analyses, and the pictures drawn from it (with both renderers)."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from ftverify.checker.engines import stategraph as G
from ftverify.checker.engines.explicit import Limits, explore
from ftverify.checker.engines.replay import replay
from ftverify.checker.output import render as R
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import load_model

from tests.conftest import CLASSIC, model_of, run_cli

SVG = "{http://www.w3.org/2000/svg}"


def graph_of(text: str, budget: int = 0) -> G.StateGraph:
    return G.build(Interpreter(model_of(text), budget), progress=None)


def available_renderers() -> list[str]:
    out = []
    for name in R.RENDERERS:
        try:
            R.find_renderer(name)
            out.append(name)
        except R.RenderError:
            pass
    return out


@pytest.mark.parametrize("name, budget", [("peterson", 0), ("tcommit", 0), ("twophase", 0), ("tmr", 1),
                                          ("diehard", 0)])
def test_graph_size_equals_the_explicit_engines_counts(name: str, budget: int) -> None:
    # The graph is built by the careful, edge-recording loop; the counts come from the hot loop.
    model = load_model(str(CLASSIC / f"{name}.ftv"))
    ex = explore(Interpreter(model, budget), Limits(), progress=None, stop_when_decided=False)
    sg = G.build(Interpreter(model, budget), progress=None)
    assert sg.graph.number_of_nodes() == len(ex.parent)
    assert sg.graph.number_of_edges() == ex.transitions


def test_node_attributes_and_fault_edges() -> None:
    sg = G.build(Interpreter(load_model(str(CLASSIC / "tmr.ftv")), 1), progress=None)
    g = sg.graph
    assert sum(1 for _, i in g.nodes(data="initial") if i) == 16  # the input is free at the start
    faulty = [d for _, _, d in g.edges(data=True) if d["fault"]]
    assert faulty and all(d["label"].action == "flip" for d in faulty)
    assert all(g.nodes[v]["faults"] == g.nodes[u]["faults"] + 1 for u, v, d in g.edges(data=True) if d["fault"])
    # under one fault the vote masks every flip: no state is bad, every fault state comes back
    an = G.analyse(sg)
    assert an.problems == []
    recovery = [(u, v) for u, v, d in g.edges(data=True) if d["recovery"]]
    assert recovery and all(g.nodes[v]["returned"] and not g.nodes[u]["returned"] for u, v in recovery)


DEADLOCK = """
spec Dead
var x: 0..5
init { x == 0 }
action inc when x < 3 { x := x + 1 }
action reset when x == 2 { x := 0 }
"""


def test_a_seeded_deadlock_is_found_with_a_shortest_trace() -> None:
    sg = graph_of(DEADLOCK)
    dead = G.deadlocks(sg)
    assert [sg.graph.nodes[n]["state"]["x"] for n in dead] == [3]
    (f,) = [f for f in G.analyse(sg).findings if f.kind == "deadlock"]
    assert f.trace is not None and len(f.trace) == 3 and f.trace.states[-1] == {"x": 3}


UNRECOVERABLE = """
spec Unrecoverable
enum Mode { Up, Down, Broken }
var mode: Mode
init { mode == Up }
action work when mode == Up { skip }
action repair when mode == Down { mode := Up }
fault crash when mode == Up { mode := Down }
fault corrupt when mode == Up { mode := Broken }
action spin when mode == Broken { skip }
recovers back: from mode != Up to mode == Up
"""


def test_unrecoverable_states_trap_cycles_and_the_fault_region() -> None:
    sg = graph_of(UNRECOVERABLE, budget=1)
    g = sg.graph
    region, stuck = G.fault_region(sg)
    assert {g.nodes[n]["state"]["mode"] for n in region} == {"Up", "Down", "Broken"}
    assert [g.nodes[n]["state"]["mode"] for n in stuck] == ["Broken"]
    prop = next(p for p in sg.interp.model.properties if p.name == "back")
    assert [g.nodes[n]["state"]["mode"] for n in G.doomed(sg, prop)] == ["Broken"]
    kinds = {f.kind: f for f in G.analyse(sg).findings}
    assert set(kinds) == {"recovers", "no-return"}  # Broken spins on a self-loop: a final state, not a trap
    for f in kinds.values():
        assert f.trace is not None and f.trace.steps[-1].action == "corrupt"
        replay(sg.interp, f.trace)
    # the repair step is the recovery edge: it takes Down (fault region) back to Up
    rec = [(g.nodes[u]["state"]["mode"], d["label"].action) for u, v, d in g.edges(data=True) if d["recovery"]]
    assert rec == [("Down", "repair")]


TRAP = """
spec Trap
var x: 0..3
init { x == 0 }
action go when x == 0 { x := 1 }
action a when x == 1 { x := 2 }
action b when x == 2 { x := 1 }
"""


def test_a_terminal_cycle_that_never_returns_is_a_trap() -> None:
    (f,) = [f for f in G.analyse(graph_of(TRAP)).findings if f.kind == "trap"]
    assert len(f.nodes) == 2 and f.trace is not None and len(f.trace) == 1


def test_projection_keeps_fault_counts_apart_and_counts_members() -> None:
    sg = G.build(Interpreter(load_model(str(CLASSIC / "tmr.ftv")), 1), progress=None)
    q = G.project(sg, ["phase"])
    assert sorted((d["faults"], d["state"]["phase"]) for _, d in q.nodes(data=True)) == \
        [(0, "Compute"), (0, "Done"), (1, "Compute"), (1, "Done")]
    assert sum(d["members"] for _, d in q.nodes(data=True)) == sg.graph.number_of_nodes()
    with pytest.raises(ValueError, match="no state variable"):
        G.project(sg, ["nope"])


def svg_counts(data: bytes) -> tuple[int, int]:
    root = ET.fromstring(data)
    groups = list(root.iter(f"{SVG}g"))
    return (sum(1 for x in groups if x.get("class") == "node"), sum(1 for x in groups if x.get("class") == "edge"))


@pytest.mark.parametrize("renderer", R.RENDERERS)
def test_pictures_render_with_node_counts_matching_the_graph(renderer: str, tmp_path: Path) -> None:
    if renderer not in available_renderers():
        pytest.skip(f"{renderer} is not installed here")
    sg = G.build(Interpreter(load_model(str(CLASSIC / "peterson.ftv")), 0), progress=None)
    g = sg.graph
    svg = tmp_path / "p.svg"
    assert R.write(g, str(svg), renderer=renderer) == renderer
    assert svg_counts(svg.read_bytes()) == (g.number_of_nodes(), R.drawn_edges(g))
    png = tmp_path / "p.png"
    R.write(g, str(png), renderer=renderer)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    page = tmp_path / "p.html"
    R.write(g, str(page), renderer=renderer, title="Peterson")
    text = page.read_text()
    states = json.loads(text.split("const STATES = ", 1)[1].split(";\n", 1)[0])
    assert len(states) == g.number_of_nodes() and "http" not in text.split("<svg", 1)[0].lower()
    assert text.count('class="node"') == g.number_of_nodes()


def test_dot_source_colours_faults_bad_states_and_the_trace(tmp_path: Path) -> None:
    sg = G.build(Interpreter(load_model(str(CLASSIC / "tmr.ftv")), 2), Limits(max_depth=6), progress=None,
                 start_from=lambda s: True)
    g = G.project(sg, ["computed", "phase", "result"])
    bad = [n for n, v in g.nodes(data="violates") if v]
    assert bad
    src = R.to_dot(g, trace=[next(iter(g)), bad[0]]).source
    assert 'style=dashed' in src and R.RED in src and R.PALE_RED in src and R.BLUE in src


def test_cli_graph_draws_projects_and_refuses_huge_pictures(tmp_path: Path) -> None:
    out = tmp_path / "tmr.svg"
    code, stdout, _ = run_cli("graph", str(CLASSIC / "tmr.ftv"), "--where", "input == 2", "--depth", "5",
                              "--project", "computed,phase,result", "--trace", "-o", str(out))
    assert code == 0, stdout
    assert "wrote" in stdout and svg_counts(out.read_bytes())[0] == 18
    code, stdout, _ = run_cli("graph", str(CLASSIC / "twophase.ftv"), "--max-nodes", "20", "-o",
                              str(tmp_path / "x.svg"))
    assert code == 3 and "nothing drawn" in stdout and "--project" in stdout
    assert not (tmp_path / "x.svg").exists()
    code, _, err = run_cli("graph", str(CLASSIC / "tmr.ftv"), "--project", "nope", "-o", str(out))
    assert code == 2 and "no state variable 'nope'" in err
    code, _, err = run_cli("graph", str(CLASSIC / "tmr.ftv"), "-o", str(tmp_path / "x.pdf"))
    assert code == 2 and "unknown output format" in err
    code, _, err = run_cli("graph", str(CLASSIC / "tmr.ftv"), "--where", "input ==", "-o", str(out))
    assert code == 2 and "--where" in err


NODE_DOM = """
const nodes = [];
function el(title) { const cls = new Set(); const h = {}; return {
  classList: {add: c => cls.add(c), remove: c => cls.delete(c)},
  querySelector: () => ({textContent: title}),
  addEventListener: (ev, f) => { h[ev] = f; }, fire: ev => h[ev](), cls }; }
const panel = {innerHTML: ""};
global.document = {getElementById: () => panel,
  querySelectorAll: sel => sel === "g.node" ? nodes : nodes.filter(n => n.cls.has("selected"))};
nodes.push(el("s0"), el("s1"));
eval(require("fs").readFileSync(process.argv[2], "utf8"));
nodes[1].fire("click");
process.stdout.write(panel.innerHTML);
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed here")
def test_the_html_panel_shows_a_clicked_state(tmp_path: Path) -> None:
    # Runs the page's own script against a minimal DOM and clicks the second node.
    sg = G.build(Interpreter(load_model(str(CLASSIC / "peterson.ftv")), 0), progress=None)
    page = tmp_path / "p.html"
    R.write(sg.graph, str(page), title="Peterson")
    script = page.read_text().split("<script>", 1)[1].split("</script>", 1)[0]
    (tmp_path / "page.js").write_text(script)
    (tmp_path / "dom.js").write_text(NODE_DOM)
    done = subprocess.run(["node", str(tmp_path / "dom.js"), str(tmp_path / "page.js")], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "state s1" in done.stdout and "<td>pc[1]</td>" in done.stdout and "&rarr;" in done.stdout
