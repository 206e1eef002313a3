"""The command line: exit codes, outputs, and clean errors for bad input."""

from __future__ import annotations

import json

from tests.conftest import CLASSIC, run_cli


def test_prove_exit_codes():
    assert run_cli("prove", str(CLASSIC / "peterson.ftv"))[0] == 0
    assert run_cli("prove", str(CLASSIC / "broken_mutex.ftv"))[0] == 1
    assert run_cli("prove", str(CLASSIC / "twophase.ftv"), "--engine", "explicit", "--max-states", "10")[0] == 3
    assert run_cli("prove", "no/such/file.ftv")[0] == 2


def test_prove_prints_a_step_table_of_changes():
    code, out, _ = run_cli("prove", str(CLASSIC / "broken_mutex.ftv"))
    assert code == 1
    assert "violated: mutex (invariant): shortest counterexample, 6 step(s)" in out
    assert "request(p=0)" in out and "Critical" in out


def test_fault_steps_are_marked():
    code, out, _ = run_cli("prove", str(CLASSIC / "tmr.ftv"), "--faults", "2")
    assert code == 1
    assert out.count("FAULT flip") == 2


def test_json_output():
    code, out, _ = run_cli("prove", str(CLASSIC / "tmr.ftv"), "--faults", "2", "--json")
    doc = json.loads(out)
    assert doc["schema"] == 1 and doc["tool"] == "ftverify" and doc["command"] == "prove" and doc["exit_code"] == 1
    (data,) = doc["files"]
    assert code == 1 and data["faults"] == 2 and data["exit_code"] == 1
    assert doc["summary"] == {"results": 4, "as_expected": 3, "violated": 1, "unknown": 0}
    masked = next(r for r in data["results"] if r["property"] == "masked")
    assert masked["verdict"] == "violated" and masked["trace"]["length"] == 6
    assert [s["fault"] for s in masked["trace"]["steps"]].count(True) == 2


def test_itf_output(tmp_path):
    target = tmp_path / "cex.itf.json"
    code, _, _ = run_cli("prove", str(CLASSIC / "broken_mutex.ftv"), "--property", "mutex", "--itf", str(target))
    assert code == 1
    itf = json.loads(target.read_text())
    assert itf["#meta"]["format"] == "ITF"
    assert itf["vars"] == ["phase", "flag"]
    assert len(itf["states"]) == 7
    assert itf["states"][0]["phase"] == {"#map": [[{"#bigint": "0"}, "Idle"], [{"#bigint": "1"}, "Idle"]]}
    assert itf["states"][6]["#meta"]["action"] == "set"


def test_check_summarises_the_spec():
    code, out, _ = run_cli("check", str(CLASSIC / "tmr.ftv"))
    assert code == 0
    assert "fault flip" in out and "state space: at most" in out


def test_const_override_from_the_command_line():
    code, out, _ = run_cli("check", str(CLASSIC / "tmr.ftv"), "--const", "N=4")
    assert code == 0 and "3..4" not in out
    assert run_cli("check", str(CLASSIC / "tmr.ftv"), "--const", "Q=4")[0] == 2
    assert run_cli("check", str(CLASSIC / "tmr.ftv"), "--const", "N")[0] == 2


def test_simulate_is_repeatable_with_a_seed():
    a = run_cli("simulate", str(CLASSIC / "peterson.ftv"), "--steps", "15", "--seed", "7")
    b = run_cli("simulate", str(CLASSIC / "peterson.ftv"), "--steps", "15", "--seed", "7")
    assert a == b and a[0] == 0
    assert "15 steps" in a[1]


def test_simulate_reports_a_violation(tmp_path):
    spec = tmp_path / "grow.ftv"
    spec.write_text("spec Grow\nvar x: 0..9\ninit { x == 0 }\naction inc when x < 9 { x := x + 1 }\n"
                    "invariant small: x < 4\n")
    code, out, _ = run_cli("simulate", str(spec), "--steps", "20", "--seed", "3")
    assert code == 1
    assert "violated: small (invariant)" in out and "trace of 4 steps" in out


def test_unknown_property_is_bad_input():
    code, _, err = run_cli("prove", str(CLASSIC / "peterson.ftv"), "--property", "nope")
    assert code == 2 and "no property `nope`" in err


def test_syntax_error_has_location_and_expected_tokens(tmp_path):
    bad = tmp_path / "bad.ftv"
    bad.write_text("spec X\nvar x: 0..3\ninit { x == 0 \naction a { x := 1 }\n")
    code, out, err = run_cli("check", str(bad))
    assert code == 2 and out == ""
    assert err.startswith(f"{bad}:4:1: error: unexpected `action`")
    assert "expected one of: `}`" in err


def test_proof_scripts_override_constants_with_use_with(tmp_path):
    good = tmp_path / "good.ftv"
    good.write_text(f'proof P\nuse "{CLASSIC / "tmr.ftv"}" as t with N = 3\n'
                    "theorem a: t.masked under faults 1 by explicit\n")
    code, out, _ = run_cli("prove", str(good))
    assert code == 0 and "1 of 1 obligation(s) as expected" in out
    bad = tmp_path / "bad.ftv"
    bad.write_text(f'proof P\nuse "{CLASSIC / "tmr.ftv"}" as t with NOPE = 1\ntheorem a: t.masked by explicit\n')
    code, _, err = run_cli("prove", str(bad))
    assert code == 2 and "bad.ftv:2:" in err and "declares no constant `NOPE`" in err


def test_explicit_theorems_share_an_exploration_that_stops_once_they_are_decided(tmp_path):
    """A script's `by explicit` theorems on one model and budget share one exploration; it stops
    as soon as each of their properties is decided, and explores everything when one must hold."""
    use = f'proof P\nuse "{CLASSIC / "tmr.ftv"}" as t\n'
    violated = "theorem v: t.masked under faults 2 by explicit expect violated\n"
    holds = "theorem h: t.wrong_bounded under faults 2 by explicit\n"

    def stats(text: str) -> dict[str, dict]:
        path = tmp_path / "p.ftv"
        path.write_text(use + text)
        code, out, _ = run_cli("prove", str(path), "--json", "--no-cache", "--jobs", "1")
        assert code == 0, out
        return {r["theorem"]: r for r in json.loads(out)["files"][0]["obligations"]}

    alone = stats(violated)["v"]
    assert alone["verdict"] == "violated" and alone["stats"]["complete"] is False
    shared = stats(violated + holds)
    assert shared["h"]["verdict"] == "proved" and shared["h"]["stats"]["complete"] is True
    assert shared["v"]["stats"]["states"] == shared["h"]["stats"]["states"]  # one exploration
    assert shared["v"]["trace"]["length"] == alone["trace"]["length"]  # the same shortest trace
