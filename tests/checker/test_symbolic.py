"""The Z3 engines on the classic models, and the checks that keep them honest."""

from __future__ import annotations

import pytest
from ftverify.checker.engines import pdr as pdr_module
from ftverify.checker.engines.bmc import bmc
from ftverify.checker.engines.encode import Encoding
from ftverify.checker.engines.induction import check_inductive, recheck_inductive
from ftverify.checker.engines.kind import kinduction, recheck_kinduction
from ftverify.checker.engines.pdr import pdr
from ftverify.checker.engines.portfolio import EngineOptions, prove_all, prove_property
from ftverify.checker.engines.replay import ReplayError
from ftverify.checker.output.result import RecheckFailed, Verdict
from ftverify.spec.typecheck import load_model, parse_expression

from tests.conftest import CLASSIC, model_of, run_cli


def classic(name):
    return load_model(str(CLASSIC / name))


def test_bmc_finds_the_shortest_counterexample_and_witness():
    res, _ = bmc(classic("broken_mutex.ftv"), 0, 10)
    assert res["mutex"].verdict == Verdict.VIOLATED and len(res["mutex"].trace) == 6
    assert res["enters"].verdict == Verdict.PROVED and len(res["enters"].trace) == 3
    res, _ = bmc(classic("diehard.ftv"), 0, 10)
    assert len(res["solved"].trace) == 6 and res["solved"].trace.states[-1]["big"] == 4


def test_bmc_holds_to_depth_for_a_safe_model():
    res, stats = bmc(classic("peterson.ftv"), 0, 12)
    assert res["mutex"].verdict == Verdict.HOLDS and res["mutex"].depth == 12
    assert stats.depth == 12 and stats.solver_seconds <= stats.total_seconds


def test_bmc_under_a_fault_budget():
    m = classic("tmr.ftv")
    assert bmc(m, 1, 8)[0]["masked"].verdict == Verdict.HOLDS
    r = bmc(m, 2, 8)[0]["masked"]
    assert r.verdict == Verdict.VIOLATED and len(r.trace) == 6
    assert sum(s.is_fault for s in r.trace.steps) == 2


def test_bmc_reports_type_errors_with_the_failing_step():
    m = model_of("spec T\nvar x: 0..3\ninit { x == 0 }\naction inc { x := x + 1 }\n")
    r = bmc(m, 0, 8)[0]["type_ok"]
    assert r.verdict == Verdict.VIOLATED and len(r.trace) == 4
    assert r.trace.failing[0].action == "inc" and "4 is outside 0..3" in r.trace.failing[1]


def test_kinduction_proves_and_names_its_k():
    r = kinduction(classic("tmr.ftv"), 1, classic("tmr.ftv").property("masked"))
    assert r.verdict == Verdict.PROVED and r.depth is not None


def test_kinduction_with_helpers():
    m = classic("peterson.ftv")
    helpers = [("flags", m.property("flags").pred), ("turn_ok", m.property("turn_ok").pred)]
    r = kinduction(m, 0, m.property("mutex"), helpers)
    assert r.verdict == Verdict.PROVED and r.depth == 1


def test_induction_counterexample_to_induction():
    m = classic("peterson.ftv")
    r = check_inductive(m, 0, m.property("mutex"), [])
    assert r.verdict == Verdict.UNKNOWN and r.cti is not None
    assert r.cti.broken == ["mutex"]
    assert r.cti.label.action.startswith("step_")
    # With Peterson.tla's strengthening it is inductive.
    r = check_inductive(m, 0, m.property("mutex"), [("flags", m.property("flags").pred),
                                                    ("turn_ok", m.property("turn_ok").pred)])
    assert r.verdict == Verdict.PROVED


def test_induction_reports_a_violation_in_an_initial_state():
    m = model_of("spec T\nvar x: 0..3\ninit { x <= 1 }\naction a { skip }\ninvariant zero: x == 0\n")
    r = check_inductive(m, 0, m.property("zero"), [])
    assert r.verdict == Verdict.VIOLATED and len(r.trace) == 0


def test_pdr_prints_an_invariant_that_parses_and_proves():
    m = classic("twophase.ftv")
    r = pdr(m, 0, "consistent")
    assert r.verdict == Verdict.PROVED and r.invariant
    helpers = [(f"h{i}", parse_expression(m, text)) for i, text in enumerate(r.invariant)]
    again = check_inductive(m, 0, m.property("consistent"), helpers)
    assert again.verdict == Verdict.PROVED


def test_pdr_under_faults_finds_the_budget_aware_strengthening():
    r = pdr(classic("tmr.ftv"), 1, "masked")
    assert r.verdict == Verdict.PROVED
    assert any("faults" in text for text in r.invariant)


def test_pdr_violation_comes_with_the_shortest_trace():
    r = pdr(classic("tmr.ftv"), 2, "masked")
    assert r.verdict == Verdict.VIOLATED and len(r.trace) == 6


def test_pdr_shows_a_reachable_property_unreachable():
    m = model_of("spec T\nvar x: 0..3\ninit { x == 0 }\naction a when x < 2 { x := x + 1 }\n"
                 "reachable three: x == 3\n")
    r = pdr(m, 0, "three")
    assert r.verdict == Verdict.VIOLATED and "unreachable" in r.message


def test_a_timeout_is_unknown_never_proved():
    m = classic("twophase.ftv")
    r = prove_property(m, 0, "consistent", "pdr", EngineOptions(timeout=0.001))
    assert r.verdict == Verdict.UNKNOWN
    r = prove_property(m, 0, "consistent", "kind", EngineOptions(timeout=0.001, depth=30))
    assert r.verdict == Verdict.UNKNOWN


# ---------------------------------------------------------------- the checks that keep engines honest
def test_a_wrong_trace_from_the_solver_is_caught_by_replay(monkeypatch):
    real = Encoding.decode_label

    def wrong_label(self, mdl, k):
        label = real(self, mdl, k)
        return type(label)("request" if label.action != "request" else "leave", label.args, label.is_fault)

    monkeypatch.setattr(Encoding, "decode_label", wrong_label)
    with pytest.raises(ReplayError):
        bmc(classic("broken_mutex.ftv"), 0, 10)


def test_a_wrong_pdr_invariant_is_caught_by_the_recheck(monkeypatch):
    import z3

    monkeypatch.setattr(pdr_module, "_invariant", lambda fp, inv, enc: z3.BoolVal(True))
    with pytest.raises(RecheckFailed):
        pdr(classic("peterson.ftv"), 0, "mutex")


def test_recheck_rejects_a_claim_that_is_not_k_inductive():
    m = classic("peterson.ftv")
    with pytest.raises(RecheckFailed):
        recheck_kinduction(m, 0, m.property("mutex"), [], False, 2)
    with pytest.raises(RecheckFailed):
        recheck_inductive(m, 0, m.property("mutex"), [], False, "int")


def test_cli_engines_and_json(tmp_path):
    import json

    path = str(CLASSIC / "peterson.ftv")
    for engine in ("bmc", "kind", "pdr", "induction", "auto"):
        code, _, _ = run_cli("prove", path, "--engine", engine, "--property", "mutex")
        assert code in (0, 3), engine
    code, out, _ = run_cli("prove", path, "--engine", "pdr", "--property", "mutex", "--json")
    data = json.loads(out)["files"][0]
    assert code == 0 and data["results"][0]["invariant"]
    code, out, _ = run_cli("prove", str(CLASSIC / "broken_mutex.ftv"), "--engine", "induction", "--json")
    cti = json.loads(out)["files"][0]["results"][0]["cti"]
    assert code == 3 and cti["broken"] == ["mutex"] and cti["step"]["action"] == "set"


def test_auto_explores_small_models_and_says_which_engine():
    rep = prove_all(classic("tmr.ftv"), 1, "auto", EngineOptions(progress=None))
    assert all(r.verdict == Verdict.PROVED for r in rep.results)
    assert {r.engine for r in rep.results} == {"explicit"}


def test_auto_falls_back_to_symbolic_engines_on_large_models():
    m = model_of("spec Big\ntype I = 0..39\nvar c: [I] 0..3\ninit { forall i: I. c[i] == 0 }\n"
                 "action inc(i: I) when c[i] < 3 { c[i] := c[i] + 1 }\n"
                 "invariant first_small: c[0] <= 3\ninvariant never_two_at_once: !(c[0] == 3 && c[1] == 9)\n")
    rep = prove_all(m, 0, "auto", EngineOptions(timeout=60, progress=None))
    r = {x.property: x for x in rep.results}
    assert r["first_small"].verdict == Verdict.PROVED and r["first_small"].engine in ("infer", "pdr", "kind", "bmc")
