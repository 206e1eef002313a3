"""Fault-coverage campaigns that classify exactly (docs/faults.md): one small seeded model per
outcome, the misclassifications the old campaign made, witnesses, and per-fault budgets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from ftverify.checker.engines import campaign as FC
from ftverify.checker.engines.replay import replay
from ftverify.spec.errors import SpecError
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import check_text
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.campaign_oracle import classify
from tests.conftest import model_of, run_cli
from tests.strategies import specs

FLIP = "fault flip when v == 0 { v := 1 }\n"

OUTCOME_SPECS = {
    # nothing breaks, nothing is noticed, and the system gets back to normal by itself
    FC.MASKED: "spec M\nvar v: 0..1\ninit { v == 0 }\naction fix when v == 1 { v := 0 }\n" + FLIP,
    # the same, but noticed
    FC.RECOVERED: "spec R\nvar v: 0..1\ninit { v == 0 }\naction fix when v == 1 { v := 0 }\n" + FLIP
                  + "def detected: bool = v == 1\n",
    # noticed, and the system halts for good
    FC.FAIL_STOP: "spec F\nvar v: 0..1\nvar halted: bool\ninit { v == 0 && !halted }\n"
                  "action check when v == 1 && !halted { halted := true }\n"
                  "fault flip when v == 0 && !halted { v := 1 }\n"
                  "recovers back: from true to v == 0\ndef detected: bool = halted\n",
    # noticed, and still a wrong output comes out afterwards
    FC.WRONG: "spec W\nvar v: 0..1\nvar alarm: bool\nvar out: 0..1\ninit { v == 0 && !alarm && out == 0 }\n"
              "action notice when v == 1 && !alarm { alarm := true }\naction emit when alarm { out := v }\n"
              + FLIP + "invariant good: out == 0\ndef detected: bool = alarm\n",
    # latent damage: never back to normal, and nothing can ever notice
    FC.UNRECOVERED: "spec U\nvar v: 0..1\ninit { v == 0 }\naction idle { skip }\n" + FLIP
                    + "recovers back: from true to v == 0\n",
    # a wrong output with nothing noticed
    FC.SDC: "spec S\nvar v: 0..1\nvar out: 0..1\ninit { v == 0 && out == 0 }\naction emit { out := v }\n" + FLIP
            + "invariant good: out == 0\n",
}


@pytest.mark.parametrize("outcome", list(OUTCOME_SPECS))
def test_each_outcome_has_a_model_that_lands_exactly_there(outcome: str) -> None:
    m = model_of(OUTCOME_SPECS[outcome])
    c = FC.run(m, 1, progress=None)
    assert c.complete and c.injections and {i.outcome for i in c.injections} == {outcome}
    for inj in c.injections:
        if outcome == FC.MASKED:
            assert not inj.witness
            continue
        tr = c.trace(inj)
        replay(Interpreter(m, 1), tr)
        assert any(s.is_fault for s in tr.steps) and inj.decided_by


# The misclassifications of the old campaign, each as a model of its own.
CHECKPOINT_EAGER = """spec Ckpt
enum Mode { Run, Crashed }
var x: 0..2
var ck: 0..2
var out: 0..2
var mode: Mode
init { x == 0 && ck == 0 && out == 0 && mode == Run }
action step when mode == Run && x < 2 { x := x + 1 }
action release when mode == Run && out < x { out := x }   # output before it is checkpointed
action checkpoint when mode == Run { ck := x }
action restart when mode == Crashed { x := ck; mode := Run }
fault crash when mode == Run { mode := Crashed }
invariant output_commit: out <= x
recovers running: from true to mode == Run
def detected: bool = mode == Crashed
"""

MINIX_NO_RELOAD = """spec Minix
enum Drv { Up, Dead }
var drv: Drv
var mem: 0..1
var ds: 0..1
init { drv == Up && mem == 0 && ds == 0 }
action work when drv == Up { mem := 1; ds := 1 }
action restart when drv == Dead { drv := Up; mem := 0 }   # the state is not reloaded from DS
fault crash when drv == Up { drv := Dead }
invariant state_kept: drv == Up -> mem == ds
def detected: bool = drv == Dead
"""

HEARTBEAT = """spec Heartbeat
var ch: bool         # a heartbeat in transit
var received: bool
init { ch && !received }
action receive when ch { ch := false; received := true }
fault lose when ch { ch := false }
recovers delivered: from ch to received
"""

VOTER = """spec Voter
var v: [0..2] 0..1
var out: 0..1
var alarm: bool
var done: bool
init { (forall i: 0..2. v[i] == 0) && out == 0 && !alarm && !done }
action vote when !done {
  out := if v[0] == v[1] || v[0] == v[2] then v[0] else v[1]
  alarm := !(v[0] == v[1] && v[1] == v[2])
  done := true
}
fault flip(i: 0..2) when !done && v[i] == 0 { v[i] := 1 }
invariant correct: out == 0
def detected: bool = alarm
"""


def test_a_violation_after_detection_is_not_hidden_as_recovered() -> None:
    c = FC.run(model_of(CHECKPOINT_EAGER), 1, progress=None)
    wrong = [i for i in c.injections if i.outcome == FC.WRONG]
    assert wrong and "output_commit" in wrong[0].decided_by and "detected" in wrong[0].decided_by
    assert c.counts[FC.RECOVERED] + len(wrong) == len(c.injections)


def test_a_crash_detected_before_anything_breaks_is_not_silent() -> None:
    c = FC.run(model_of(MINIX_NO_RELOAD), 1, progress=None)
    assert c.counts[FC.SDC] == 0 and c.counts[FC.WRONG] >= 1


def test_recovery_is_required_only_where_the_from_side_holds() -> None:
    c = FC.run(model_of(HEARTBEAT), 1, progress=None)
    assert [i.outcome for i in c.injections] == [FC.MASKED]


def test_detection_in_the_same_step_as_a_wrong_output_is_still_wrong() -> None:
    c = FC.run(model_of(VOTER), 2, progress=None)
    wrong = [i for i in c.injections if i.outcome == FC.WRONG]
    assert wrong and all("detected in the same state" in i.decided_by for i in wrong)
    assert c.counts[FC.SDC] == 0  # two equal flips always raise the alarm in the vote that goes wrong


def test_nothing_to_inject_is_its_own_message(tmp_path: Path) -> None:
    spec = tmp_path / "nofault.ftv"
    spec.write_text("spec N\nvar x: 0..1\ninit { x == 0 }\naction a { x := 1 - x }\n")
    code, out, _ = run_cli("faults", str(spec))
    assert code == 3 and "no fault can be injected: spec N declares no fault" in out and "0.0%" not in out
    spec.write_text("spec N\nvar x: 0..1\ninit { x == 0 }\naction a when x == 0 { x := 1 }\n"
                    "fault f when x == 7 - 6 - 1 && false { x := 0 }\n")
    code, out, _ = run_cli("faults", str(spec))
    assert code == 3 and "no fault is enabled in any of the 2 reachable states" in out


def test_options_are_checked_before_the_campaign(tmp_path: Path) -> None:
    spec = tmp_path / "s.ftv"
    spec.write_text(OUTCOME_SPECS[FC.SDC])
    for args, message in [(["--chart", str(tmp_path / "c.gif")], "expected a .svg or .png"),
                          (["--json", str(tmp_path / "no" / "c.json")], "no such directory"),
                          (["--faults", "two"], "expected N, FAULT=N or FAULT=unbounded"),
                          (["--faults", "crash=1"], "`crash` is not a fault of spec S")]:
        code, out, err = run_cli("faults", str(spec), *args)
        assert code == 2 and message in err and "injections" not in out, args


def test_the_text_groups_witnesses_by_outcome_and_fault(tmp_path: Path) -> None:
    spec = tmp_path / "voter.ftv"
    spec.write_text(VOTER)
    js = tmp_path / "v.json"
    code, out, _ = run_cli("faults", str(spec), "--faults", "2", "--show", "2", "--json", str(js))
    assert code == 0 and "detected, still wrong after FAULT flip:" in out and out.count("a shortest trace") == 2
    data = json.loads(js.read_text())["campaigns"][0]
    for inj in data["injections"]:
        assert inj["fault"].startswith("flip(") and inj["outcome"] in FC.OUTCOMES
        if inj["outcome"] != FC.MASKED:
            steps = inj["witness"]["states"]
            assert len(steps) >= 3 and inj["decided_by"]


# ---------------------------------------------------------------- budgets of each fault
LOSSY = """spec Lossy
enum Srv { Up, Down }
var srv: Srv
var inflight: bool
var acked: 0..3
init { srv == Up && !inflight && acked == 0 }
action send when srv == Up && !inflight && acked < 3 { inflight := true }
action ack when inflight { inflight := false; acked := acked + 1 }
action restart when srv == Down { srv := Up }
fault lose budget unbounded when inflight { inflight := false }
fault crash budget 1 when srv == Up { srv := Down }
invariant bounded: acked <= 3
reachable all_acked: acked == 3
"""


def test_a_fault_may_have_a_budget_of_its_own_or_none() -> None:
    m = model_of(LOSSY)
    c = FC.run(m, None, progress=None)
    assert str(c.budget) == "lose=unbounded, crash=1"
    faults = {i.fault.action for i in c.injections}
    assert faults == {"lose", "crash"}  # lose at every state it is enabled in, crash only as the first
    # losing is unbounded: no counter in the state for it, only for crash
    assert [x.name for x in Interpreter(m).layout.counters] == ["crash"]


COUNTED = LOSSY.replace("var acked: 0..3", "var acked: 0..3\nvar crashes: 0..3\nvar losses: 0..3").replace(
    "!inflight && acked == 0", "!inflight && acked == 0 && crashes == 0 && losses == 0").replace(
    "{ inflight := false }\nfault crash", "{ inflight := false; losses := min(losses + 1, 3) }\nfault crash").replace(
    "{ srv := Down }", "{ srv := Down; crashes := crashes + 1 }") + (
    "invariant one_crash: crashes <= 1\nreachable three_losses: losses == 3\n")


@pytest.mark.parametrize("engine", ["explicit", "bmc", "kind", "pdr", "induction"])
@pytest.mark.parametrize("faults, one_crash, three_losses", [
    (None, "proved", "proved"),             # the spec's own: crash=1, lose=unbounded
    ("crash=2", "violated", "proved"),      # a second crash is allowed: a counterexample
    ("lose=2", "proved", "violated"),       # losing counted: at most two losses, so never three
])
def test_every_engine_honours_the_budget_of_each_fault(tmp_path: Path, engine: str, faults: str | None,
                                                      one_crash: str, three_losses: str) -> None:
    spec = tmp_path / "counted.ftv"
    spec.write_text(COUNTED)
    depth = ["--depth", "12"] if engine in ("bmc", "kind") else []
    _, out, _ = run_cli("prove", str(spec), "--engine", engine, "--json", *depth,
                           *(["--faults", faults] if faults else []))
    got = {r["property"]: r["verdict"] for r in json.loads(out)["files"][0]["results"]}
    # What each engine can say when the truth is `proved` (a witness, for a reachable) or `violated`:
    answers = {"explicit": ({"proved"}, {"violated"}), "pdr": ({"proved"}, {"violated"}),
               "bmc": ({"holds"}, {"violated"}), "kind": ({"proved", "unknown"}, {"violated"}),
               "induction": ({"proved", "unknown"}, {"unknown"})}  # a CTI when not inductive
    holds_, fails = answers[engine]
    assert got["one_crash"] in (holds_ if one_crash == "proved" else fails), (engine, faults, got)
    witness = {"explicit": ({"proved"}, {"violated"}), "pdr": ({"proved"}, {"violated"}),
               "bmc": ({"proved"}, {"unknown"}), "kind": ({"proved"}, {"violated", "unknown"}),
               "induction": ({"unknown"}, {"unknown"})}[engine]
    assert got["three_losses"] in (witness[0] if three_losses == "proved" else witness[1]), (engine, faults, got)


def test_budgets_of_each_fault_on_the_command_line_and_in_proof_scripts(tmp_path: Path) -> None:
    (tmp_path / "counted.ftv").write_text(COUNTED)
    script = tmp_path / "p.ftv"
    script.write_text('proof P\nuse "counted.ftv" as c\n'
                      'theorem once: c.one_crash by explicit\n'
                      'theorem twice: c.one_crash under faults crash=2 by bmc 8 expect violated\n'
                      'theorem counted_losses: c.three_losses under faults lose=2 by explicit expect violated\n')
    code, out, _ = run_cli("prove", str(script))
    assert code == 0 and "crash=2" in out and "lose=2" in out, out
    script.write_text('proof P\nuse "counted.ftv" as c\ntheorem t: c.one_crash under faults crush=2 by explicit\n')
    code, _, err = run_cli("prove", str(script))
    assert code == 2 and "p.ftv:3:" in err and "`crush` is not a fault of spec Lossy" in err


# ---------------------------------------------------------------- against a naive classifier
@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(specs(), st.sampled_from([1, 2]))
def test_the_campaign_agrees_with_a_naive_classifier_on_generated_specs(text: str, budget: int) -> None:
    """Every injection of every generated spec gets the outcome a forward search per injection gives."""
    try:
        m = check_text(text, "<generated>")
    except SpecError:
        assume(False)
    assume(m.has_faults)
    camp = FC.run(m, budget, progress=None)
    assume(camp.complete and not camp.nothing)
    got = {(i.state, str(i.fault), i.target): i.outcome for i in camp.injections}
    assert got == classify(m, budget)


def test_campaigns_on_worker_processes_print_and_write_what_one_process_does(tmp_path: Path) -> None:
    files = []
    for outcome in (FC.RECOVERED, FC.WRONG):
        files.append(tmp_path / f"{outcome.split()[-1]}.ftv")
        files[-1].write_text(OUTCOME_SPECS[outcome])
    outs = {}
    for jobs in ("1", "2"):
        js, chart = tmp_path / f"c{jobs}.json", tmp_path / f"c{jobs}.svg"
        code, out, _ = run_cli("faults", *map(str, files), "--faults", "1", "--faults", "2", "--jobs", jobs,
                               "--json", str(js), "--chart", str(chart), "--quiet")
        doc = json.loads(js.read_text())
        for c in doc["campaigns"]:
            c.pop("seconds")
        outs[jobs] = (code, re.sub(r"\(\d+\.\d+ s\)", "", out), doc["campaigns"], chart.read_text())
    assert outs["1"] == outs["2"]
    assert outs["2"][0] == 3  # under budget 2 nothing is left to inject: no verdict
    assert [c["faults"] for c in outs["2"][2]] == [1, 2, 1, 2]
    assert outs["2"][1].count("fault injections") == 3 and outs["2"][1].count("no fault can be injected") == 1
