"""Verdicts that cannot lie: integer widths that cannot wrap, re-checks that share no
representation with what they check, the encoding cross-checked against the
interpreter, vacuity reported rather than proved.

Each reproduction below once made an engine print `proved` or `holds` for a
violated property (or end in an internal error); each must now give the explicit
engine's verdict, or `unknown`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import z3
from ftverify.checker.engines import encode as E
from ftverify.checker.engines import refine as RF
from ftverify.checker.engines.crosscheck import cross_check
from ftverify.checker.engines.portfolio import EngineOptions, prove_property
from ftverify.checker.output.result import RecheckFailed, RecheckUnfinished, Verdict
from ftverify.spec.typecheck import load_model
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import MODELS, model_of, run_cli

# 63 actions that do nothing and one that breaks the invariant: with 7-bit
# integers the action selector wrapped and BMC saw no transition at all.
SELECTOR = "\n".join(["spec Selector", "var b: bool", "init { !b }"]
                     + [f"action skip{i} {{ skip }}" for i in range(63)]
                     + ["action set { b := true }", "invariant never: !b"]) + "\n"

# `x >> 8` was x / 2^8 with 2^8 wrapped to 0 in the encoding's width.
SHIFT = """spec Shift
var x: 0..3
var y: bool
init { x == 0 && !y }
action inc when x < 3 { x := x + 1 }
action set when (x >> 8) == 0 { y := true }
invariant y_never_set: !y
"""

# The same with more than 48 bits of state, where the re-check used to share the
# bit-vector encoding (and its flaw) with the proof.
SHIFT_PAD = SHIFT.replace("var y: bool\n", "var y: bool\nvar pad: [0..15] bv[4]\n")

ENGINES = ("bmc", "kind", "pdr", "induction")


@pytest.mark.parametrize("text", [SELECTOR, SHIFT, SHIFT_PAD], ids=["selector", "shift", "shift+pad"])
@pytest.mark.parametrize("engine", ENGINES)
def test_no_engine_proves_a_violated_property(text: str, engine: str) -> None:
    m = model_of(text)
    prop = m.properties[0].name
    r = prove_property(m, 0, prop, engine, EngineOptions(depth=10, timeout=60, progress=None))
    if engine == "induction":  # not inductive: a counterexample to induction, never `proved`
        assert r.verdict == Verdict.UNKNOWN and r.cti is not None
    else:
        assert r.verdict == Verdict.VIOLATED and r.trace is not None and len(r.trace) == 1, r.message


def test_the_cli_and_a_proof_script_report_the_violation(tmp_path: Path) -> None:
    spec = tmp_path / "selector.ftv"
    spec.write_text(SELECTOR)
    code, out, _ = run_cli("prove", str(spec), "--engine", "bmc", "--depth", "10")
    assert code == 1 and "violated" in out
    script = tmp_path / "p.ftv"
    script.write_text('proof P\nuse "selector.ftv" as s\ntheorem t: s.never by bmc 10\n')
    code, out, _ = run_cli("prove", str(script))
    assert code == 1 and "violated" in out


# A concrete counter whose `set` is enabled only because of the shift: the abstract
# spec forbids it. The Z3 refinement check said "proved, re-checked".
ABSTRACT = """spec Abs
var x: 0..3
var y: bool
init { x == 0 && !y }
action inc when x < 3 { x := x + 1 }
action set when false { y := true }
"""
CONCRETE = SHIFT.replace("invariant y_never_set: !y\n", "") + 'refinement r refines "abs.ftv" { }\n'


@pytest.mark.parametrize("engine", ["z3", "explicit"])
def test_a_refinement_broken_through_a_shift_is_violated_with_a_trace(tmp_path: Path, engine: str) -> None:
    (tmp_path / "abs.ftv").write_text(ABSTRACT)
    (tmp_path / "conc.ftv").write_text(CONCRETE)
    m = load_model(str(tmp_path / "conc.ftv"))
    ref = RF.find(m)
    rep = RF.check(m, ref, 0, 60) if engine == "z3" else RF.explore_refinement(m, ref, 0, progress=None)
    assert rep.verdict == Verdict.VIOLATED and rep.mismatch is not None
    assert rep.mismatch.label.action == "set" and rep.mismatch.trace is not None  # reachable: shown from init


# ---------------------------------------------------------------- re-checks
def test_a_recheck_that_cannot_finish_is_unknown_not_proved(monkeypatch: pytest.MonkeyPatch) -> None:
    from ftverify.checker.engines import symbolic

    def out_of_time(*args: object, **kwargs: object) -> None:
        raise RecheckUnfinished("timeout")

    m = load_model(str(MODELS / "classic" / "peterson.ftv"))
    for module in ("induction", "kind", "pdr", "refine"):
        monkeypatch.setattr(f"ftverify.checker.engines.{module}.must_be_unsat", out_of_time)
    monkeypatch.setattr(symbolic, "must_be_unsat", out_of_time)
    for engine in ("induction", "kind", "pdr"):
        helpers = [("flags", m.property("flags").pred), ("turn_ok", m.property("turn_ok").pred)] \
            if engine != "pdr" else []
        r = prove_property(m, 0, "mutex", engine, EngineOptions(depth=8, progress=None), helpers)
        assert r.verdict == Verdict.UNKNOWN and "re-check did not finish" in r.message, (engine, r.message)


def test_a_failed_recheck_is_a_withheld_answer_not_an_internal_error(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    def wrong(*args: object, **kwargs: object) -> None:
        raise RecheckFailed("consecution of inc does not re-check")

    monkeypatch.setattr("ftverify.checker.engines.induction.must_be_unsat", wrong)
    spec = tmp_path / "c.ftv"
    spec.write_text("spec C\nvar x: 0..3\ninit { x == 0 }\naction inc when x < 3 { x := x + 1 }\n"
                    "invariant small: x <= 3\n")
    code, out, err = run_cli("prove", str(spec), "--engine", "induction")
    assert code == 3 and "unknown" in out and "bug in ftverify" in out and "internal error" not in err


def test_the_checked_recheck_widens_until_no_operation_overflows(monkeypatch: pytest.MonkeyPatch) -> None:
    # x * 65537 * 65537 needs 36 bits; start the guess at 5 bits: the solver finds
    # the overflow, and the width doubles until there is none.
    from ftverify.checker.engines import symbolic
    from ftverify.checker.engines.induction import recheck_inductive

    m = model_of("spec W\nvar x: 0..3\ninit { x == 0 }\naction inc when x < 3 { x := x + 1 }\n"
                 "invariant big: x * 65537 * 65537 >= 0\n")
    monkeypatch.setattr(symbolic, "uniform_width", lambda model: 5)
    enc, _ = symbolic.checked_encoding(m, 0, lambda e: e.good(m.property("big").pred), symbolic.Deadline(None))
    assert isinstance(enc.arith, E.CheckedBVArith) and enc.arith.W == 40  # 5, 10, 20: overflows; 40 does not
    recheck_inductive(m, 0, m.property("big"), [], False, "checked")  # no exception: re-checked


def test_a_helper_false_initially_comes_with_a_replayed_trace() -> None:
    m = model_of("spec H\nvar x: 0..3\ninit { x == 1 }\naction inc when x < 3 { x := x + 1 }\n"
                 "invariant small: x <= 3\ninvariant zero: x == 0\n")
    r = prove_property(m, 0, "small", "induction", EngineOptions(progress=None), [("zero", m.property("zero").pred)])
    assert r.verdict == Verdict.UNKNOWN and r.trace is not None and "zero" in r.message


# ---------------------------------------------------------------- arithmetic, exactly
OPS = ("add", "sub", "mul", "neg", "floordiv", "mod", "shl", "shr", "min", "max", "abs")


def _python(op: str, a: int, b: int, k: int) -> int:
    return {"add": a + b, "sub": a - b, "mul": a * b, "neg": -a, "floordiv": a // k, "mod": a % k,
            "shl": a << (k % 40), "shr": a >> (k % 40), "min": min(a, b), "max": max(a, b), "abs": abs(a)}[op]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(OPS), st.integers(-(1 << 40), 1 << 40), st.integers(-(1 << 40), 1 << 40),
       st.integers(1, 70000), st.sampled_from(["bv", "int", "checked"]))
def test_every_integer_operation_is_exact_in_every_representation(op: str, a: int, b: int, k: int,
                                                                  arith: str) -> None:
    ar: E.Arith = {"bv": E.BVArith(), "int": E.IntArith(), "checked": E.CheckedBVArith(96)}[arith]
    x, y = ar.val(a), ar.val(b)
    term = {"add": lambda: ar.add(x, y), "sub": lambda: ar.sub(x, y), "mul": lambda: ar.mul(x, y),
            "neg": lambda: ar.neg(x), "floordiv": lambda: ar.floordiv(x, k), "mod": lambda: ar.mod(x, k),
            "shl": lambda: ar.shl(x, k % 40), "shr": lambda: ar.shr(x, k % 40), "min": lambda: ar.min(x, y),
            "max": lambda: ar.max(x, y), "abs": lambda: ar.abs(x)}[op]()
    assert ar.value_of(z3.simplify(term)) == _python(op, a, b, k)
    if isinstance(ar, E.CheckedBVArith):  # exact, and the side conditions say so
        assert z3.is_true(z3.simplify(ar.overflow_free()))


def test_a_store_never_changes_a_value_silently() -> None:
    ar = E.BVArith()
    v, ok = ar.store(ar.val(300), 0, 3)  # does not fit: the condition is false
    assert z3.is_false(z3.simplify(ok))
    v, ok = ar.store(ar.add(ar.val(2), ar.val(1)), 0, 3)
    assert z3.is_true(z3.simplify(ok)) and ar.value_of(z3.simplify(v)) == 3


# ---------------------------------------------------------------- the cross-check
def test_the_cross_check_finds_a_wrong_encoding_and_points_at_the_expression(monkeypatch: pytest.MonkeyPatch,
                                                                             tmp_path: Path) -> None:
    def old_shr(self: E.BVArith, a: z3.ExprRef, k: int) -> z3.ExprRef:  # the division by a wrapped 2^k
        w = a.size()  # type: ignore[attr-defined]
        return a / z3.BitVecVal(1 << k, w)

    spec = tmp_path / "shift.ftv"
    spec.write_text(SHIFT)
    m = load_model(str(spec))
    assert not cross_check(m, 0).disagreements
    monkeypatch.setattr(E.BVArith, "shr", old_shr)
    found = cross_check(m, 0).disagreements
    assert found and all(d.arith == "bv" for d in found)
    assert any(d.span.line == 6 and d.span.col == 18 for d in found), [str(d) for d in found]  # `(x >> 8)`
    code, _, err = run_cli("check", str(spec), "--cross-check")
    assert code == 4 and "shift.ftv:6:" in err and "^" in err


SHIPPED = sorted(p for p in MODELS.rglob("*.ftv") if p.stem not in ("abstract", "concrete"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_the_encoding_agrees_with_the_interpreter_on_every_shipped_model(path: Path) -> None:
    # Paxos at one ballot: at two, its message sets make the encoding 7 times slower to build
    m = load_model(str(path), {"B": 1} if path.stem == "paxos" else None)
    cc = cross_check(m, 1 if m.has_faults else 0, states=60)
    assert not cc.disagreements, "\n".join(str(d) for d in cc.disagreements)
    assert cc.ariths == ["bv", "int", "checked"] and cc.evaluations > 0


@pytest.mark.parametrize("spec", ["abstract", "concrete"])
def test_the_encoding_agrees_with_the_interpreter_on_the_kernel(spec: str) -> None:
    m = load_model(str(MODELS / "kernel" / f"{spec}.ftv"), {"CAP_FAULTS": True, "PARITY": True}
                   if spec == "abstract" else None)
    cc = cross_check(m, 1, states=16)
    assert not cc.disagreements, "\n".join(str(d) for d in cc.disagreements)


# ---------------------------------------------------------------- vacuity
def test_an_empty_init_is_reported_not_proved(tmp_path: Path) -> None:
    spec = tmp_path / "empty.ftv"
    spec.write_text("spec E\nvar x: 0..3\ninit { x == 1 && x == 2 }\naction inc when x < 3 { x := x + 1 }\n"
                    "invariant small: x < 3\n")
    for engine in ("explicit", "bmc", "induction", "pdr", "auto"):
        code, out, _ = run_cli("prove", str(spec), "--engine", engine)
        assert code == 3 and "init admits no state" in out and "proved" not in out, engine
    script = tmp_path / "p.ftv"
    script.write_text('proof P\nuse "empty.ftv" as e\ntheorem t: e.small by induction\n')
    code, out, _ = run_cli("prove", str(script))
    assert code == 3 and "init admits no state" in out


def test_dead_actions_and_vacuous_implications_are_warned_about(tmp_path: Path) -> None:
    spec = tmp_path / "dead.ftv"
    spec.write_text("spec D\nvar x: 0..3\nvar ghost: bool\ninit { x == 0 && !ghost }\n"
                    "action inc when x < 2 { x := x + 1 }\naction never when x == 3 { x := 0 }\n"
                    "invariant vacuous: x == 3 -> ghost\n")
    code, out, _ = run_cli("prove", str(spec), "--engine", "explicit")
    assert code == 0
    assert f"{spec}:6:8: action never is never enabled" in out
    assert f"{spec}:7:20: the left side of invariant vacuous is false in every reachable state" in out
    code, out, err = run_cli("check", str(spec))
    assert code == 0 and f"{spec}:3:5: warning: no action assigns `ghost`" in err
