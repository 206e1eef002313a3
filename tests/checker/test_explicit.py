"""The explicit engine on the classic models: TLC's published counts, shortest traces."""

from __future__ import annotations

import pytest
from ftverify.checker.engines import explicit
from ftverify.checker.engines.replay import ReplayError, replay
from ftverify.checker.output.result import Verdict
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import load_model

from tests.conftest import CLASSIC, model_of


def explore(name: str, budget: int | None = None, **kw):
    m = load_model(str(CLASSIC / name))
    it = Interpreter(m, budget)
    return it, explicit.explore(it, progress=None, stop_when_decided=False, **kw)


# TLC's counts from tlaplus/Examples (manifest.json of each specification):
# distinct states, states generated (initial states plus every successor
# computed) and the depth TLC reports (the longest shortest path, counting the
# initial state as depth 1).
@pytest.mark.parametrize(("name", "distinct", "generated", "tlc_depth"), [
    ("peterson.ftv", 42, 77, 11),  # specifications/locks_auxiliary_vars/Peterson.cfg
    ("tcommit.ftv", 34, 94, 7),  # specifications/transaction_commit/TCommit.cfg, RM = {r1, r2, r3}
    ("twophase.ftv", 288, 1146, 11),  # specifications/transaction_commit/TwoPhase.cfg, RM = {r1, r2, r3}
])
def test_state_counts_match_tlc(name, distinct, generated, tlc_depth):
    it, ex = explore(name)
    assert ex.complete
    assert len(ex.parent) == distinct
    assert ex.transitions + len(it.initial_states()) == generated
    assert ex.depth + 1 == tlc_depth


@pytest.mark.parametrize(("rms", "distinct"), [(4, 1568), (5, 8832)])
def test_two_phase_with_a_message_set_of_records_gives_tlcs_counts_at_more_rms(rms: int, distinct: int) -> None:
    m = load_model(str(CLASSIC / "twophase.ftv"), {"N": rms})
    ex = explicit.explore(Interpreter(m), progress=None, stop_when_decided=False)
    assert ex.complete and len(ex.parent) == distinct


def check(name: str, budget: int | None = None):
    m = load_model(str(CLASSIC / name))
    rep = explicit.check(Interpreter(m, budget), progress=None)
    return {r.property: r for r in rep.results}, rep


def test_diehard_has_sixteen_states():
    # The reachable (small, big) pairs: every pair with a jug empty or full.
    it, ex = explore("diehard.ftv")
    pairs = {(d["small"], d["big"]) for d in map(it.decode, ex.parent)}
    assert pairs == {(s, b) for s in range(4) for b in range(6) if s in (0, 3) or b in (0, 5)}


def test_diehard_shortest_solution_is_six_steps():
    res, _ = check("diehard.ftv")
    assert res["solved"].verdict == Verdict.PROVED
    tr = res["solved"].trace
    assert len(tr) == 6 and tr.states[-1]["big"] == 4


def test_peterson_is_mutually_exclusive():
    res, _ = check("peterson.ftv")
    assert all(r.verdict == Verdict.PROVED for r in res.values())


def test_broken_mutex_shortest_counterexample():
    res, _ = check("broken_mutex.ftv")
    r = res["mutex"]
    assert r.verdict == Verdict.VIOLATED
    assert len(r.trace) == 6
    assert [s.action for s in r.trace.steps] == ["request", "request", "test", "test", "set", "set"]


def test_two_phase_commit_is_consistent():
    res, _ = check("twophase.ftv")
    assert res["consistent"].verdict == Verdict.PROVED
    res, _ = check("tcommit.ftv")
    assert res["consistent"].verdict == Verdict.PROVED


@pytest.mark.parametrize(("budget", "verdict"), [(0, Verdict.PROVED), (1, Verdict.PROVED), (2, Verdict.VIOLATED)])
def test_tmr_masks_one_fault_not_two(budget, verdict):
    res, rep = check("tmr.ftv", budget)
    assert str(rep.budget) == str(budget)
    assert res["masked"].verdict == verdict
    if verdict == Verdict.VIOLATED:
        tr = res["masked"].trace
        assert len(tr) == 6
        assert sum(1 for s in tr.steps if s.is_fault) == 2


def test_tmr_default_budget_is_the_single_fault_model():
    _, rep = check("tmr.ftv")
    assert str(rep.budget) == "1"


SPEC = """spec T
var x: 0..7
var stuck: bool
init { x == 0 && !stuck }
action inc when x < 7 && !stuck { x := x + 1 }
action reset when x == 7 { x := 0 }
fault jam when !stuck { stuck := true }
invariant small: x < 5
reachable top: x == 7
reachable never: x == 8
recovers unjam: from true to x == 0
"""


def test_unreachable_reachables_are_reported_vacuous():
    m = model_of(SPEC)
    res = {r.property: r for r in explicit.check(Interpreter(m, 0), progress=None).results}
    assert res["never"].verdict == Verdict.VIOLATED and "unreachable" in res["never"].message
    assert res["top"].verdict == Verdict.PROVED and len(res["top"].trace) == 7
    assert res["small"].verdict == Verdict.VIOLATED and len(res["small"].trace) == 5


def test_recovers_finds_a_doomed_state_reached_by_a_fault():
    m = model_of(SPEC)
    res = {r.property: r for r in explicit.check(Interpreter(m, 0), progress=None).results}
    assert res["unjam"].verdict == Verdict.PROVED
    res = {r.property: r for r in explicit.check(Interpreter(m, 1), progress=None).results}
    r = res["unjam"]
    assert r.verdict == Verdict.VIOLATED
    assert r.trace.steps[-1].is_fault and r.trace.states[-1]["x"] != 0


def test_deadlocks_are_warnings_with_a_trace():
    m = model_of("spec T\nvar x: 0..3\ninit { x == 0 }\naction inc when x < 2 { x := x + 1 }\n")
    rep = explicit.check(Interpreter(m, 0), progress=None)
    (msg, tr), = rep.warnings
    assert "deadlock" in msg and len(tr) == 2
    assert rep.exit_code() == 0


def test_type_errors_are_violations_of_type_ok_with_the_failing_step():
    m = model_of("spec T\nvar x: 0..3\ninit { x == 0 }\naction inc { x := x + 1 }\n")
    res = {r.property: r for r in explicit.check(Interpreter(m, 0), progress=None).results}
    r = res["type_ok"]
    assert r.verdict == Verdict.VIOLATED
    assert len(r.trace) == 4 and "4 is outside 0..3" in r.message


def test_limits_give_unknown_with_what_was_explored():
    m = load_model(str(CLASSIC / "twophase.ftv"))
    rep = explicit.check(Interpreter(m), explicit.Limits(max_states=50), progress=None)
    r = {x.property: x for x in rep.results}["consistent"]
    assert r.verdict == Verdict.UNKNOWN and "state limit 50" in r.message
    assert rep.exit_code() == 3
    rep = explicit.check(Interpreter(m), explicit.Limits(max_depth=3), progress=None)
    assert {x.property: x for x in rep.results}["consistent"].verdict == Verdict.UNKNOWN


def test_a_forged_trace_does_not_replay():
    res, _ = check("broken_mutex.ftv")
    m = load_model(str(CLASSIC / "broken_mutex.ftv"))
    it = Interpreter(m)
    tr = res["mutex"].trace
    replay(it, tr, m.property("mutex"))
    tr.states[-1]["flag"][1] = False  # the last state no longer follows from the step
    with pytest.raises(ReplayError):
        replay(it, tr, m.property("mutex"))


def test_explorer_agrees_with_a_naive_search_on_every_classic_model():
    """Breadth-first search without the engine's fast paths gives the same reachable set."""
    for path in sorted(CLASSIC.glob("*.ftv")):
        m = load_model(str(path), {"B": 1} if path.stem == "paxos" else None)  # Paxos: one ballot
        it = Interpreter(m)
        ex = explicit.explore(it, progress=None, stop_when_decided=False)
        seen = set(it.initial_states())
        frontier = list(seen)
        while frontier:
            nxt = []
            for s in frontier:
                for _, t in it.successors(s):
                    if t not in seen:
                        seen.add(t)
                        nxt.append(t)
            frontier = nxt
        assert seen == set(ex.parent), path.name
