"""Symmetry reduction (`symmetric enum`): the explicit engine stores one state per class of
renamings of the members, with the same verdicts and concrete, replayed traces."""

from __future__ import annotations

import re

import pytest
from ftverify.checker.engines import explicit
from ftverify.checker.engines.replay import replay
from ftverify.spec.errors import SpecError
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import load_model
from hypothesis import HealthCheck, assume, given, seed, settings

from tests.conftest import CLASSIC, model_of, run_cli
from tests.strategies import symmetric_specs

REPLICAS = """spec Replicas
symmetric enum R { r1, r2, r3, r4 }
enum Phase { Idle, Busy, Done }
var phase: [R] Phase
var done: set[R]
var leader: R
init { (forall r: R. phase[r] == Idle) && done == {} }
action start(r: R) when phase[r] == Idle { phase[r] := Busy }
action finish(r: R) when phase[r] == Busy { phase[r] := Done; done := done | {r} }
action elect(r: R) when r in done { leader := r }
invariant done_means_done: forall r in done. phase[r] == Done
invariant never_three: size(done) < 3
"""


def verdicts(text: str, symmetry: bool, max_states: int | None = None) -> tuple[dict[str, str], dict]:
    rep = explicit.check(Interpreter(model_of(text)), explicit.Limits(max_states=max_states), progress=None,
                         stop_when_decided=False, symmetry=symmetry)
    return {r.property: r.verdict for r in rep.results}, rep


def test_a_replicated_model_is_explored_once_per_class_with_the_same_verdicts() -> None:
    full, rep_full = verdicts(REPLICAS, False)
    reduced, rep = verdicts(REPLICAS, True)
    assert full == reduced and reduced["never_three"] == "violated"
    assert rep.stats["symmetry"] == "R" and rep.stats["renamings"] == 24
    assert rep_full.stats["states"] == 324 and rep.stats["states"] == 30  # 10.8 times fewer


def test_a_counterexample_found_up_to_symmetry_is_a_concrete_run_that_replays() -> None:
    _, rep = verdicts(REPLICAS, True)
    r = next(r for r in rep.results if r.property == "never_three")
    assert r.trace is not None and len(r.trace) == 6
    assert [s.action for s in r.trace.steps][:3] == ["start", "start", "start"]
    assert len({s.args for s in r.trace.steps if s.action == "finish"}) == 3  # three distinct replicas
    m = model_of(REPLICAS)
    replay(Interpreter(m), r.trace)  # raises if a step is not the model's
    assert len(r.trace.states[-1]["done"]) == 3


def test_the_command_line_says_the_count_is_up_to_symmetry_and_can_turn_it_off(tmp_path) -> None:
    spec = tmp_path / "r.ftv"
    spec.write_text(REPLICAS)
    code, out, _ = run_cli("prove", str(spec), "--property", "done_means_done", "-q")
    assert code == 0 and "30 states up to symmetry of R (24 renamings)" in out
    code, out, _ = run_cli("prove", str(spec), "--property", "done_means_done", "--no-symmetry", "-q")
    assert code == 0 and "324 states," in out and "symmetry" not in out


def test_tcommit_declares_its_resource_managers_symmetric() -> None:
    m = load_model(str(CLASSIC / "tcommit.ftv"))
    reduced = explicit.check(Interpreter(m), progress=None, stop_when_decided=False, symmetry=True)
    assert reduced.stats["states"] == 13 and all(r.verdict == "proved" for r in reduced.results)
    # TLC's count without it (test_explicit compares 34 / 94 / 7)
    assert explicit.check(Interpreter(m), progress=None, stop_when_decided=False).stats["states"] == 34


@pytest.mark.parametrize(("change", "message"), [
    (("leader := r }", "leader := r1 }"), "`r1` is a member of the symmetric enum R: a symmetric spec never names one"),
    (("leader := r }", "leader := R.r2 }"), "`r2` is a member of the symmetric enum R"),
    (("r in done {", "r in done && ord(r) == 0 {"), "ord(...) tells the members of the symmetric enum R apart"),
])
def test_a_spec_that_tells_symmetric_members_apart_is_rejected(change: tuple[str, str], message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(message)):
        model_of(REPLICAS.replace(*change))


def test_symmetry_is_not_used_where_it_would_not_be_sound() -> None:
    live = REPLICAS + "fair action again(r: R) when phase[r] == Done { phase[r] := Idle }\n" \
                      "eventually some_done: size(done) > 0\n"
    _, rep = verdicts(live, True)
    assert "symmetry" not in rep.stats and "liveness" in rep.stats["no_symmetry"]
    queue = REPLICAS.replace("init {", "var q: queue[R, 2]\ninit { len(q) == 0 && ") + \
        "action send(r: R) when len(q) < 2 { q := push(q, r) }\n"  # a run-time check, not under forall
    full, _ = verdicts(queue, False)
    reduced, rep = verdicts(queue, True)
    assert rep.stats["symmetry"] == "R" and full == reduced
    # head(q) may fail inside `forall r: R`, which stops at the first member that decides it
    order = queue + "action take when forall r: R. phase[r] == Idle || head(q) != r { q := pop(q) }\n"
    _, rep = verdicts(order, True)
    assert "symmetry" not in rep.stats and "action take has a run-time check inside forall" in rep.stats["no_symmetry"]


def test_generated_symmetric_specs_get_the_same_verdicts_with_and_without_symmetry() -> None:
    # A spec of four members with a set of sets can have tens of millions of states in full: those
    # are left out (the bench runs larger ones), so that the test's time is bounded.
    compared = []

    @seed(0)
    @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(symmetric_specs())
    def run(text: str) -> None:
        full, rep_full = verdicts(text, False, max_states=60_000)
        assume(rep_full.stats["complete"])
        reduced, rep = verdicts(text, True)
        assert full == reduced
        n, m = rep.stats["states"], rep_full.stats["states"]
        assert n <= m <= n * rep.stats.get("renamings", 1)
        compared.append(m)

    run()
    assert len(compared) >= 20, compared
