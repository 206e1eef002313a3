"""Spec refinement: forward simulation with Z3, and the explicit check of every reachable step."""

from __future__ import annotations

from pathlib import Path

import pytest
from ftverify.checker.engines import refine as RF
from ftverify.checker.engines.explicit import Limits
from ftverify.checker.output.result import Verdict
from ftverify.spec.errors import SpecError
from ftverify.spec.typecheck import load_model

from tests.conftest import MODELS, run_cli, verdict_rows

ABSTRACT = """
spec Counter
var x: 0..3
var done: bool
init { x == 0 && !done }
action inc when x < 3 { x := x + 1 }
action finish when x == 3 { done := true }
"""

# The increment is split in two steps; `finish` keeps its name and meaning.
CONCRETE = """
spec TwoPhaseCounter
var x: 0..3
var pending: bool
var done: bool
init { x == 0 && !pending && !done }
action start when !pending && x < 3 { pending := true }
action commit when pending { x := x + 1; pending := false }
action finish when x == 3 && !pending { done := true }
invariant no_overflow: pending -> x < 3
refinement counter refines "abstract.ftv" {
  action start -> skip
  action commit -> inc
  invariant no_overflow
}
"""


def write_pair(tmp_path: Path, concrete: str, abstract: str = ABSTRACT) -> str:
    (tmp_path / "abstract.ftv").write_text(abstract)
    path = tmp_path / "concrete.ftv"
    path.write_text(concrete)
    return str(path)


@pytest.mark.parametrize("engine", ["z3", "explicit"])
def test_a_correct_refinement_is_proved(tmp_path: Path, engine: str) -> None:
    m = load_model(write_pair(tmp_path, CONCRETE))
    ref = RF.find(m)
    rep = RF.check(m, ref, 0) if engine == "z3" else RF.explore_refinement(m, ref, 0, progress=None)
    assert rep.verdict == Verdict.PROVED, rep.message


@pytest.mark.parametrize("engine", ["z3", "explicit"])
def test_a_step_without_abstract_counterpart_is_reported_with_both_states(tmp_path: Path, engine: str) -> None:
    bad = CONCRETE.replace("action start when !pending && x < 3 { pending := true }",
                           "action start when !pending && x < 3 { pending := true; x := x + 0 }") \
                  .replace("action commit when pending { x := x + 1; pending := false }",
                           "action commit when pending { x := 3; pending := false }")
    m = load_model(write_pair(tmp_path, bad))
    ref = RF.find(m)
    rep = RF.check(m, ref, 0) if engine == "z3" else RF.explore_refinement(m, ref, 0, progress=None)
    assert rep.verdict == Verdict.VIOLATED
    mm = rep.mismatch
    assert mm is not None and mm.label.action == "commit" and mm.expected == "inc"
    assert mm.abstract_post["x"] == 3 and mm.abstract_pre["x"] < 2
    assert "leads to another abstract state" in mm.reason
    if engine == "explicit":
        assert mm.trace is not None and mm.trace.steps[-1].action == "start"


def test_a_stutter_that_changes_the_abstract_state_is_caught(tmp_path: Path) -> None:
    bad = CONCRETE.replace("action start -> skip", "action start -> skip\n  action finish -> skip")
    m = load_model(write_pair(tmp_path, bad))
    rep = RF.check(m, RF.find(m), 0)
    assert rep.verdict == Verdict.VIOLATED and rep.mismatch is not None
    assert rep.mismatch.label.action == "finish" and "stutter" in rep.mismatch.reason


def test_the_simulation_assumes_only_the_named_invariants(tmp_path: Path) -> None:
    # Without `no_overflow`, a state with x == 3 and a pending commit satisfies every
    # assumption, and its commit maps to an `inc` that is not enabled: the Z3 check
    # finds that step, but its pre-state is unreachable, so it is a counterexample to
    # induction (unknown, exit 3), not a violation; the explicit check, which sees only
    # reachable states, proves the refinement.
    text = CONCRETE.replace("{ x := x + 1; pending := false }", "{ x := min(x + 1, 3); pending := false }")
    m = load_model(write_pair(tmp_path, text.replace("  invariant no_overflow\n", "")))
    rep = RF.check(m, RF.find(m), 0)
    assert rep.verdict == Verdict.UNKNOWN and rep.exit_code() == 3 and rep.mismatch is not None
    assert rep.mismatch.pre == {"x": 3, "pending": True, "done": False} and "not enabled" in rep.mismatch.reason
    assert rep.mismatch.trace is None and "unreachable" in rep.message and "too weak" in rep.message
    assert RF.explore_refinement(m, RF.find(m), 0, progress=None).verdict == Verdict.PROVED
    m = load_model(write_pair(tmp_path, text))
    assert RF.check(m, RF.find(m), 0).verdict == Verdict.PROVED


@pytest.mark.parametrize("snippet, message", [
    ("map nope = x", "defines one variable of the abstract spec"),
    ("action commit -> inc(1)", r"takes 0 argument\(s\), 1 given"),
    ("action commit -> dec", "no action `dec`"),
    ("invariant missing", "not an invariant"),
])
def test_bad_refinement_declarations_are_clear_errors(tmp_path: Path, snippet: str, message: str) -> None:
    text = CONCRETE.replace("  invariant no_overflow\n}", f"  {snippet}\n}}").replace(
        "  action commit -> inc\n", "" if snippet.startswith("action commit") else "  action commit -> inc\n")
    with pytest.raises(SpecError, match=message):
        load_model(write_pair(tmp_path, text))


def test_cli_refine_reports_and_exits_by_verdict(tmp_path: Path) -> None:
    path = write_pair(tmp_path, CONCRETE)
    code, out, _ = run_cli("refine", path)
    assert code == 0 and "proved" in out and "commit" in out
    code, out, _ = run_cli("refine", path, "--engine", "explicit")
    assert code == 0 and "reachable states" in out


KERNEL = MODELS / "kernel" / "concrete.ftv"


@pytest.mark.slow
def test_the_concrete_kernel_refines_the_abstract_kernel() -> None:
    m = load_model(str(KERNEL))
    rep = RF.check(m, RF.find(m), 0)
    assert rep.verdict == Verdict.PROVED, rep.message


def test_a_kernel_refinement_bug_is_found_with_a_trace(tmp_path: Path) -> None:
    # ending a revoke must not forget which capabilities the abstract revoke removed
    old = "!(exists d: Slot. desc(d, revoking)) {\n  revoking := NONE"
    assert old in KERNEL.read_text()
    text = KERNEL.read_text().replace(old, old + "\n  gone := [s: Slot |-> false]")
    kdir = tmp_path / "kernel"
    kdir.mkdir()
    for f in ("abstract.ftv", "common.ftv"):
        (kdir / f).write_text((KERNEL.parent / f).read_text())
    (tmp_path / "machine.ftv").write_text((MODELS / "machine.ftv").read_text())
    (kdir / "concrete.ftv").write_text(text)
    m = load_model(str(kdir / "concrete.ftv"), {"THREADS": 3})
    rep = RF.explore_refinement(m, RF.find(m), 0, Limits(max_depth=4), progress=None)
    assert rep.verdict == Verdict.VIOLATED and rep.mismatch is not None
    assert rep.mismatch.label.action == "revoke_done" and rep.mismatch.trace is not None
    steps = [s.action for s in rep.mismatch.trace.steps]
    assert len(steps) == 3 and "revoke_start" in steps  # breadth-first: a shortest way to a finished revoke


def test_recheck_cache_rechecks_a_cached_refinement(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FTVERIFY_PROOF_CACHE", str(tmp_path / "cache.sqlite"))
    write_pair(tmp_path, CONCRETE)
    script = tmp_path / "p.ftv"
    script.write_text('proof P\nuse "concrete.ftv" as c\ntheorem refines: c.counter by refinement\n')
    assert run_cli("prove", str(script), "--quiet")[0] == 0
    code, out, _ = run_cli("prove", str(script), "--quiet", "--recheck-cache")
    assert code == 0 and "from the proof cache" in out and "refinement re-checked" in out


BROKEN_INVARIANT = CONCRETE.replace("invariant no_overflow: pending -> x < 3", "invariant no_overflow: !pending")
VIOLATED = CONCRETE.replace("action commit when pending { x := x + 1; pending := false }",
                            "action commit when pending { x := 3; pending := false }")
WEAK = CONCRETE.replace("{ x := x + 1; pending := false }", "{ x := min(x + 1, 3); pending := false }") \
               .replace("  invariant no_overflow\n", "")


@pytest.mark.parametrize("text", [CONCRETE, BROKEN_INVARIANT, VIOLATED, WEAK],
                         ids=["proved", "invariant-not-inductive", "violated", "counterexample-to-induction"])
def test_the_parts_of_a_refinement_proved_apart_give_the_whole_proofs_verdict(tmp_path: Path, text: str) -> None:
    """`prove --jobs` runs a refinement as its three parts in separate jobs and merges them:
    the merged verdict and message are those of the proof run whole."""
    from ftverify.checker.commands.proofs import merge_parts, refinement_result

    m = load_model(write_pair(tmp_path, text))
    whole = refinement_result(m, "counter", 0, None)
    parts = [refinement_result(m, "counter", 0, None, part=p) for p in range(len(RF.PARTS))]
    merged = merge_parts(parts)
    assert merged.verdict == whole.verdict
    if whole.verdict == Verdict.PROVED:
        assert all(p.verdict == Verdict.PROVED for p in parts)
        assert merged.message.startswith(whole.message.removesuffix(")"))
    else:
        assert merged.message == whole.message and (merged.cti is None) == (whole.cti is None)


def test_a_refinement_in_a_proof_script_gets_the_same_verdicts_with_jobs(tmp_path: Path) -> None:
    write_pair(tmp_path, CONCRETE)
    (tmp_path / "bad.ftv").write_text(VIOLATED)
    script = tmp_path / "p.ftv"
    script.write_text('proof P\nuse "concrete.ftv" as c\nuse "bad.ftv" as b\n'
                      "theorem good: c.counter by refinement\n"
                      "theorem bad: b.counter by refinement expect violated\n"
                      "theorem inv: c.no_overflow by induction\n")
    rows = []
    for jobs in ("1", "2"):
        code, out, _ = run_cli("prove", str(script), "--quiet", "--jobs", jobs)
        assert code == 0, out
        rows.append(verdict_rows(out))
    assert rows[0] == rows[1] and len(rows[0]) == 3
    assert "3 parts proved apart" in out
