"""Liveness under fairness (checker/engines/liveness.py): `leadsto` and `eventually`, weak and
strong fairness, stuttering, faults never fair, replayed lassos, and an independent decision on
generated specs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ftverify.checker.engines import explicit, liveness
from ftverify.checker.engines.encode import Encoding
from ftverify.checker.engines.l2s import pdr_liveness
from ftverify.checker.engines.lasso import fair_instances, lasso_bmc
from ftverify.checker.engines.replay import ReplayError
from ftverify.checker.output.result import Verdict
from ftverify.spec import model as M
from ftverify.spec.errors import SpecError
from ftverify.spec.interp import Interpreter
from hypothesis import HealthCheck, assume, given, seed, settings

from tests import liveness_oracle
from tests.conftest import model_of, run_cli
from tests.strategies import specs

RETRY = """spec Retry
enum Srv { Up, Down, Restarting }
var srv: Srv
init { srv == Up }
fault crash when srv == Up { srv := Down }
fair action restart when srv == Down { srv := Restarting }
FAIRNESS action come_up when srv == Restarting { srv := Up }
action fail_restart when srv == Restarting { srv := Down }
leadsto back: srv == Down ~> srv == Up
recovers possible: from true to srv == Up
"""


def result(text: str, name: str, budget: int = 1):
    m = model_of(text)
    ex = explicit.explore(Interpreter(m, budget), progress=None, stop_when_decided=False)
    return next(r for r in explicit.report_of(ex).results if r.property == name), m


def test_a_retry_loop_recovers_possibly_but_not_under_weak_fairness() -> None:
    r, _ = result(RETRY.replace("FAIRNESS", "fair"), "back")
    assert r.verdict == Verdict.VIOLATED
    tr = r.trace
    assert [s.action for s in tr.steps] == ["crash", "restart"] and tr.loop == 1
    assert tr.loop_step is not None and tr.loop_step.action == "fail_restart"
    # `recovers` (some run recovers) holds all the same: what the fair property adds
    assert result(RETRY.replace("FAIRNESS", "fair"), "possible")[0].verdict == Verdict.PROVED


def test_strong_fairness_of_the_recovery_step_proves_it() -> None:
    r, _ = result(RETRY.replace("FAIRNESS", "strong fair"), "back")
    assert r.verdict == Verdict.PROVED


def test_without_fairness_a_run_may_stutter_for_ever() -> None:
    r, _ = result(RETRY.replace("FAIRNESS", "").replace("fair action restart", "action restart"), "back")
    assert r.verdict == Verdict.VIOLATED
    assert r.trace.loop == len(r.trace.states) - 1 and r.trace.loop_step is None  # stays in Down


def test_nothing_may_rely_on_a_fault() -> None:
    spec = ("spec F\nvar x: bool\ninit { !x }\nfault flip when !x { x := true }\n"
            "fair action idle when !x { skip }\neventually set: x\n")
    r, _ = result(spec, "set", budget=1)
    assert r.verdict == Verdict.VIOLATED and r.trace.loop_step is not None and r.trace.loop_step.action == "idle"
    with pytest.raises(SpecError, match="a fault is never fair"):
        model_of("spec G\nvar x: bool\nfair fault flip { x := !x }\n")


def test_eventually_is_leadsto_from_the_initial_states() -> None:
    spec = ("spec E\nvar n: 0..3\ninit { n == 0 }\nfair action step when n < 3 { n := n + 1 }\n"
            "eventually top: n == 3\n")
    assert result(spec, "top", 0)[0].verdict == Verdict.PROVED
    r, _ = result(spec.replace("fair action", "action"), "top", 0)
    assert r.verdict == Verdict.VIOLATED and r.trace.loop == 0 and not r.trace.steps


def test_a_forged_lasso_is_rejected() -> None:
    r, m = result(RETRY.replace("FAIRNESS", "fair"), "back")
    interp = Interpreter(m, 1)
    liveness.validate(interp, r.trace, m.property("back"))
    r.trace.loop_step = None  # "stays in Restarting": but come_up is enabled there all along
    r.trace.loop = len(r.trace.states) - 1
    with pytest.raises(ReplayError, match="not fair"):
        liveness.validate(interp, r.trace, m.property("back"))


def test_symbolic_engines_decide_liveness_and_return_the_lasso(tmp_path: Path) -> None:
    spec = tmp_path / "retry.ftv"
    spec.write_text(RETRY.replace("FAIRNESS", "fair"))
    code, out, _ = run_cli("prove", str(spec), "--engine", "kind", "--property", "back", "-q")
    assert code == 3 and "use the explicit engine, pdr, or bmc" in out
    code, out, _ = run_cli("prove", str(spec), "--engine", "pdr", "--property", "back", "-q")
    assert code == 1 and "fail_restart, back to 1" in out and "found by Spacer" in out
    spec.write_text(RETRY.replace("FAIRNESS", "strong fair"))
    code, out, _ = run_cli("prove", str(spec), "--engine", "pdr", "--property", "back", "-q")
    assert code == 0 and "liveness-to-safety invariant found and re-checked" in out
    spec.write_text(RETRY.replace("FAIRNESS", "fair"))
    code, out, _ = run_cli("prove", str(spec), "--engine", "bmc", "--property", "back", "-q")
    assert code == 1 and "fail_restart, back to 1" in out and "then states 1 to 2 repeat for ever" in out
    spec.write_text(RETRY.replace("FAIRNESS", "strong fair"))
    code, out, _ = run_cli("prove", str(spec), "--engine", "bmc", "--depth", "8", "--property", "back", "-q")
    assert code == 0 and "no fair lasso violates it" in out
    spec.write_text(RETRY.replace("FAIRNESS", "fair"))
    itf = tmp_path / "t.itf.json"
    code, out, _ = run_cli("prove", str(spec), "--property", "back", "--itf", str(itf), "-q")
    assert code == 1 and "fail_restart, back to 1" in out and "then states 1 to 2 repeat for ever" in out
    doc = json.loads(itf.read_text())
    assert doc["loop"] == 1 and doc["#meta"]["loop_step"]["action"] == "fail_restart"
    code, out, _ = run_cli("graph", str(spec), "--trace", "back", "-o", str(tmp_path / "g.dot"), "-q")
    assert code == 0 and "highlighted: a fair run that never satisfies the right side of back" in out


def test_a_stop_while_deciding_liveness_keeps_what_is_known(monkeypatch: pytest.MonkeyPatch) -> None:
    from ftverify.checker.engines import control

    def stopped(ex, prop):  # type: ignore[no-untyped-def]
        raise control.Interrupted("interrupted (Ctrl-C)")

    m = model_of(RETRY.replace("FAIRNESS", "fair") + "invariant known: true\n")
    ex = explicit.explore(Interpreter(m, 1), progress=None, stop_when_decided=False)
    monkeypatch.setattr(liveness, "check", stopped)
    got = {r.property: r for r in explicit.report_of(ex).results}
    assert got["known"].verdict == Verdict.PROVED and got["possible"].verdict == Verdict.PROVED
    assert got["back"].verdict == Verdict.UNKNOWN and "interrupted while deciding it" in got["back"].message


def _live_model(text: str) -> tuple[M.Model, list[M.Property]]:
    """A generated spec that type-checks and has liveness properties (otherwise skipped), and those."""
    try:
        m = model_of(text)
    except SpecError:
        assume(False)
    live = [p for p in m.properties if p.kind in M.LIVENESS_KINDS]
    assume(live)
    return m, live


@seed(11)
@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(specs())
def test_generated_specs_agree_with_an_independent_decision(text: str) -> None:
    m, live = _live_model(text)
    interp = Interpreter(m, 1 if m.has_faults else 0)
    ex = explicit.explore(interp, progress=None, stop_when_decided=False)
    assume(ex.complete and len(ex.parent) <= 3000)
    got = {r.property: r for r in explicit.report_of(ex).results}
    for p in live:  # every violation's lasso was validated inside the engine
        assert (got[p.name].verdict == Verdict.VIOLATED) == liveness_oracle.violated(interp, p), p.name


@seed(12)
@settings(max_examples=15, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(specs())
def test_the_bounded_lasso_search_agrees_with_the_graph(text: str) -> None:
    """BMC's fair lassos (checker/engines/lasso.py) against the explicit engine: a lasso BMC finds
    is a violation there too, and where the graph has one BMC finds one of as many steps or fewer.
    (A fair loop may need many steps: one per fair instance it must take.)"""
    m, live = _live_model(text)
    budget = 1 if m.has_faults else 0
    interp = Interpreter(m, budget)
    ex = explicit.explore(interp, progress=None, stop_when_decided=False)
    assume(ex.complete and len(ex.parent) <= 12)
    got = {r.property: r for r in explicit.report_of(ex).results}
    for p in live:
        want = got[p.name]
        tr = want.trace
        depth = len(tr.steps) + (tr.loop_step is not None) if tr is not None else 2 * len(ex.parent)
        r = lasso_bmc(m, budget, p, min(depth, 10), interp=interp)
        assert r.verdict in (Verdict.VIOLATED, Verdict.HOLDS), r.message
        if r.verdict == Verdict.VIOLATED:
            assert want.verdict == Verdict.VIOLATED and r.depth is not None and r.depth <= depth, p.name
        else:
            assert want.verdict != Verdict.VIOLATED or depth > 10, p.name


@seed(13)
@settings(max_examples=20, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(specs())
def test_liveness_to_safety_agrees_with_the_graph(text: str) -> None:
    """PDR over the liveness-to-safety monitor (checker/engines/l2s.py) against the explicit
    engine's fair-cycle search: `proved` exactly where the graph has no fair lasso; a violation
    comes with a lasso validated on the interpreter. Unknown only when Spacer runs out of time."""
    m, live = _live_model(text)
    budget = 1 if m.has_faults else 0
    interp = Interpreter(m, budget)
    ex = explicit.explore(interp, progress=None, stop_when_decided=False)
    assume(ex.complete and len(ex.parent) <= 200)
    assume(sum(1 for _ in fair_instances(Encoding(m, budget, "int"))) <= 12)  # a fair loop takes each one
    got = {r.property: r for r in explicit.report_of(ex).results}
    for p in live:
        r = pdr_liveness(m, budget, p, timeout=20, interp=interp)
        if r.verdict == Verdict.UNKNOWN:
            assert "timeout" in r.message or "canceled" in r.message, r.message
            continue
        assert (r.verdict == Verdict.VIOLATED) == (got[p.name].verdict == Verdict.VIOLATED), p.name
        if r.verdict == Verdict.VIOLATED:
            liveness.validate(interp, r.trace, p)
