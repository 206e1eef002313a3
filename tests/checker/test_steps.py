"""Step properties (`always step`, `x'`, `taken(...)`) and `enabled(...)`: every engine decides them
alike, a violation ends with the step that breaks the property and is replayed, bad uses are
clear errors. (The differential generator emits them too: tests/strategies.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from ftverify.checker.engines.portfolio import EngineOptions, prove_property
from ftverify.checker.engines.replay import ReplayError, replay
from ftverify.checker.output.result import Trace, Verdict
from ftverify.spec.errors import SpecError
from ftverify.spec.interp import Interpreter, Label
from ftverify.spec.typecheck import check_text, load_model

ROOT = Path(__file__).resolve().parents[2]

COUNTER = """spec Counter
var x: 0..5
var y: 0..5
init { x == 0 && y == 0 }
action inc when x < 5 { x := x + 1 }
action reset when x == 5 { x := 0 }
action copy { y := x }
fault drop { y := 0 }
always step monotone: x' >= x || taken(reset)
always step copies: y' == y || y' == x || taken(drop)
always step never_down: y' >= y || taken(drop)
always step only_reset_at_five: taken(reset) -> x == 5 && x' == 0
invariant can_move: enabled(inc) || enabled(reset)
invariant copy_always: enabled(copy)
"""

EXPECTED = {"monotone": Verdict.PROVED, "copies": Verdict.PROVED, "never_down": Verdict.VIOLATED,
            "only_reset_at_five": Verdict.PROVED, "can_move": Verdict.PROVED, "copy_always": Verdict.PROVED}


@pytest.mark.parametrize("engine", ["explicit", "bmc", "kind", "pdr", "induction", "auto"])
def test_every_engine_decides_step_properties_alike(engine: str) -> None:
    model = check_text(COUNTER, "<counter>")
    interp = Interpreter(model, 1)
    for name, want in EXPECTED.items():
        r = prove_property(model, 1, name, engine, EngineOptions(depth=14, timeout=60, progress=None), interp=interp)
        if engine == "induction" and want == Verdict.VIOLATED:
            assert r.verdict == Verdict.UNKNOWN, (name, r)  # induction alone cannot show a violation
            continue
        if engine == "bmc" and want == Verdict.PROVED:
            want = Verdict.HOLDS
        assert r.verdict == want, (engine, name, r.verdict, r.message)
        if want == Verdict.VIOLATED:
            assert r.trace is not None and len(r.trace) == 8, (engine, len(r.trace or []))
            # the last step breaks it: copy of 5 after a reset lowers y
            assert str(r.trace.steps[-1]) == "copy" and r.trace.states[-1]["y"] == 0


def test_a_trace_whose_last_step_keeps_the_property_does_not_replay() -> None:
    model = check_text(COUNTER, "<counter>")
    interp = Interpreter(model, 0)
    prop = model.property("never_down")
    good = Trace([{"x": 0, "y": 0}, {"x": 1, "y": 0}], [Label("inc", ())], [0, 0])
    with pytest.raises(ReplayError, match="breaks never_down"):
        replay(interp, good, prop)
    # a trace to the state the breaking step leaves is completed with that step
    states = [{"x": i, "y": 0} for i in range(6)] + [{"x": 5, "y": 5}, {"x": 0, "y": 5}]
    steps = [Label("inc", ())] * 5 + [Label("copy", ()), Label("reset", ())]
    tr = Trace(states, steps, [0] * len(states))
    replay(interp, tr, prop)
    assert str(tr.steps[-1]) == "copy" and tr.states[-1] == {"x": 0, "y": 0} and len(tr.faults) == len(tr.states)


def test_the_wildcard_and_arguments_of_taken_and_enabled() -> None:
    text = """spec Pairs
var owner: [0..1] 0..2
init { owner[0] == 0 && owner[1] == 0 }
action claim(t: 1..2, r: 0..1) when owner[r] == 0 { owner[r] := t }
action free(t: 1..2, r: 0..1) when owner[r] == t { owner[r] := 0 }
always step own_changes: forall r: 0..1. owner'[r] == owner[r]
  || taken(claim(_, r)) || (exists t: 1..2. taken(free(t, r)) && owner[r] == t)
always step wrong: forall r: 0..1. owner'[r] == owner[r] || taken(claim(1, _))
invariant free_or_claim: forall r: 0..1. enabled(claim(_, r)) || enabled(free(owner[r], r))
"""
    model = check_text(text, "<pairs>")
    interp = Interpreter(model, 0)
    opts = EngineOptions(depth=6, timeout=60, progress=None)
    for engine in ("explicit", "pdr"):
        assert prove_property(model, 0, "own_changes", engine, opts, interp=interp).verdict == Verdict.PROVED
        assert prove_property(model, 0, "free_or_claim", engine, opts, interp=interp).verdict == Verdict.PROVED
        r = prove_property(model, 0, "wrong", engine, opts, interp=interp)
        assert r.verdict == Verdict.VIOLATED and r.trace is not None and len(r.trace) == 1
        assert r.trace.steps[0].action == "claim" and dict(r.trace.steps[0].args)["t"] == 2


@pytest.mark.parametrize("text,message", [
    ("invariant i: x' == 1", "can be used only in a step property"),
    ("always step s: y' == 1", "only a state variable has a value after the step"),
    ("invariant i: taken(a)", "`taken(...)` describes a step"),
    ("always step s: taken(b)", "`b` is not an action"),
    ("always step s: taken(a(1, 2))", "a takes 1 argument(s), 2 given"),
    ("invariant i: enabled(f)", "`f` is a fault: `enabled` takes an action"),
    ("invariant i: enabled(x)", "`x` is not an action"),
    ("def d: bool = enabled(a)\naction g when d { x := 0 }", "can be used only in properties"),
])
def test_misuses_are_clear_errors(text: str, message: str) -> None:
    spec = f"spec Bad\nvar x: 0..3\naction a(i: 0..1) {{ x := i }}\nfault f {{ x := 0 }}\n{text}\n"
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_text(spec, "<bad>")


def test_the_kernel_integrity_step_property_catches_a_cross_cnode_delete() -> None:
    """Deleting a capability in another thread's CNode keeps every invariant of the kernel; the
    step property of integrity breaks at once (and holds in the concrete kernel, by induction)."""
    path = str(ROOT / "models" / "kernel" / "abstract.ftv")
    buggy = load_model(path, {"DELETE_ANY_CNODE": 1})
    opts = EngineOptions(depth=1, timeout=120, progress=None)
    r = prove_property(buggy, 1, "cnode_integrity", "bmc", opts)
    assert r.verdict == Verdict.VIOLATED and r.trace is not None and len(r.trace) == 1
    assert r.trace.steps[0].action == "delete_other"
    for inv in ("kernel_safe", "canonical"):
        assert prove_property(buggy, 1, inv, "bmc", EngineOptions(depth=2, timeout=120, progress=None)).verdict \
            == Verdict.HOLDS
    concrete = load_model(str(ROOT / "models" / "kernel" / "concrete.ftv"))
    r = prove_property(concrete, 1, "cnode_integrity", "induction", EngineOptions(timeout=120, progress=None))
    assert r.verdict == Verdict.PROVED, r.message
