"""`infer`: pairwise invariants from reachable states, kept by Houdini, proved by induction."""

from __future__ import annotations

from pathlib import Path

from ftverify.checker.engines import infer as I
from ftverify.checker.engines.portfolio import EngineOptions, prove_property
from ftverify.checker.output.result import Verdict
from ftverify.spec.typecheck import check_text, load_model

from tests.conftest import run_cli

PHILOSOPHERS = Path(__file__).parents[2] / "bench" / "philosophers.ftv"

COUNTER = """
spec Counter
var x: 0..7
var on: bool
init { x == 0 && !on }
action start when !on { on := true }
action tick when on && x < 5 { x := x + 1 }
action reset when on { x := 0; on := false }
invariant small: x <= 5
invariant never_three: x != 3
"""


def test_philosophers_mutual_exclusion_is_proved_by_inferred_invariants() -> None:
    model = load_model(str(PHILOSOPHERS), {"N": 6})
    r = prove_property(model, 0, "excl", "infer", EngineOptions(progress=None))
    assert r.verdict == Verdict.PROVED, r.message
    assert r.engine == "infer" and "re-checked by induction" in r.message
    assert r.invariant and any("fork[0]" in t for t in r.invariant)


def test_auto_decides_a_large_instance_by_inference() -> None:
    model = load_model(str(PHILOSOPHERS), {"N": 13})  # 5.5 million reachable states
    r = prove_property(model, 0, "excl", "auto", EngineOptions(progress=None))
    assert r.verdict == Verdict.PROVED and r.engine == "infer", r.message


def test_a_violated_or_unprovable_invariant_is_unknown_never_proved() -> None:
    model = check_text(COUNTER, "<counter>")
    assert prove_property(model, 0, "small", "infer", EngineOptions(progress=None)).verdict == Verdict.PROVED
    r = prove_property(model, 0, "never_three", "infer", EngineOptions(progress=None))
    assert r.verdict == Verdict.UNKNOWN and "do not imply" in r.message


def test_the_verdict_rests_on_the_induction_check_not_on_houdini(monkeypatch) -> None:
    """With Houdini made to keep every candidate and samples of the initial state only, the
    clauses claim x stays 0: they imply the property, but they are not inductive. The
    induction check must refuse them."""
    model = check_text(COUNTER, "<counter>")
    monkeypatch.setattr(I, "houdini", lambda enc, comps, cands, deadline: cands)
    monkeypatch.setattr(I, "sample", lambda interp, known, deadline, **_: interp.initial_states())
    r = I.infer(model, 0, "never_three")
    assert r.verdict == Verdict.UNKNOWN and "not confirmed by the inductiveness check" in r.message


def test_cli_engine_infer() -> None:
    code, out, _ = run_cli("prove", str(PHILOSOPHERS), "--const", "N=5", "--engine", "infer")
    assert code == 0, out
    assert "inferred, re-checked by induction" in out and "invariant excl_1:" in out


def test_a_layered_search_hands_over_its_deepest_states_without_walking_the_rest() -> None:
    from ftverify.checker.engines import explicit
    from ftverify.checker.engines.layered import LayeredParents
    from ftverify.spec.interp import Interpreter

    model = load_model(str(PHILOSOPHERS), {"N": 9})  # 46,763 states
    ex = explicit.explore(Interpreter(model, 0), progress=None)
    assert isinstance(ex.parent, LayeredParents)  # the data-parallel search ran
    every = list(ex.parent)
    assert set(ex.parent.last(1000)) == set(every[-1000:])
    assert set(ex.parent.last(len(every) + 5)) == set(every)


def test_walks_on_the_compiled_actions_visit_only_reachable_states(monkeypatch) -> None:
    """The lock-step walks (numpy) and the scalar walks both sample reachable states only, and
    the lock-step ones reach well beyond the initial state."""
    from ftverify.checker.engines import explicit
    from ftverify.checker.engines.layered import vector_model
    from ftverify.checker.engines.symbolic import Deadline
    from ftverify.spec.interp import Interpreter

    model = load_model(str(PHILOSOPHERS), {"N": 7})  # 8,706 states, some deadlocks
    interp = Interpreter(model, 0)
    reachable = set(explicit.explore(interp, progress=None).parent)
    vm = vector_model(interp)
    assert vm is not None
    walked = I._vector_walks(vm, interp.initial_states(), seed=1)
    assert walked <= reachable and len(walked) > 1000
    monkeypatch.setattr(I, "vector_model", lambda interp: None)  # the scalar walks
    scalar = set(I.sample(interp, (), Deadline(None)))
    assert scalar <= reachable and len(scalar) > 1000
