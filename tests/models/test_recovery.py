"""Recovery and redundancy models: their proof script, and the exhaustive fault-coverage campaign."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from ftverify.checker.commands.proofs import ProofContext, load_proof, run_proof
from ftverify.checker.engines import campaign as FC
from ftverify.checker.engines.replay import replay
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import load_model

from tests.conftest import MODELS, ROOT, run_cli


def test_every_model_gets_its_expected_verdict_and_every_seeded_bug_is_caught() -> None:
    rep = run_proof(load_proof(str(ROOT / "proofs" / "recovery.ftv")), ProofContext(progress=None))
    missed = [(ob.name, r.verdict, r.message) for ob, r in rep.results if not r.meets_expectation]
    assert missed == []
    assert len(rep.results) >= 50
    bugs = [r for ob, r in rep.results if "_bug_" in ob.name]
    assert len(bugs) >= 8 and all(r.trace is not None for r in bugs)


def campaign(name: str, budget: int, **consts: bool) -> FC.Campaign:
    return FC.run(load_model(str(MODELS / "redundancy" / f"{name}.ftv"), dict(consts)), budget, progress=None)


@pytest.mark.parametrize("name, outcome", [("romain_tmr", "masked"), ("dmr", "detected, fail-stop"),
                                           ("haft", "detected, recovered")])
def test_one_fault_is_always_masked_or_detected(name: str, outcome: str) -> None:
    c = campaign(name, 1)
    assert c.complete and len(c.injections) > 50
    assert c.masked_or_detected == 1.0 and c.counts[outcome] == len(c.injections)


@pytest.mark.parametrize("name", ["romain_tmr", "dmr", "haft"])
def test_two_faults_corrupt_silently_with_replayed_shortest_traces(name: str) -> None:
    c = campaign(name, 2)
    sdc = [i for i in c.injections if i.outcome == "silent data corruption"]
    assert sdc and c.masked_or_detected < 1.0
    model = load_model(str(MODELS / "redundancy" / f"{name}.ftv"))
    for i in sdc[:5]:
        tr = c.trace(i)
        assert sum(s.is_fault for s in tr.steps) == 2 and "no_sdc" in i.decided_by
        replay(Interpreter(model, 2), tr, model.property("no_sdc"))


def test_dmr_with_rollback_recovers_what_it_detects() -> None:
    c = campaign("dmr", 1, ROLLBACK=True)
    assert c.counts["detected, recovered"] == len(c.injections)


def test_recovery_is_what_the_specs_recovers_properties_say() -> None:
    # a restarted server has a new incarnation number, so no fault-free state looks like it:
    # recovery is judged by the spec's `recovers` target, not by returning to an old state
    model = load_model(str(MODELS / "recovery" / "l4reanimator.ftv"))
    one = {i.fault.action: i.outcome for i in FC.run(model, 1, progress=None).injections}
    assert one == {"srv_crash": "detected, recovered", "monitor_crash": "masked"}
    two = {i.outcome for i in FC.run(model, 2, progress=None).injections}
    assert "detected, fail-stop" in two  # the server dies after its monitor: nobody restarts it


def test_cli_faults_writes_json_and_a_chart(tmp_path: Path) -> None:
    js, svg = tmp_path / "c.json", tmp_path / "c.svg"
    code, out, _ = run_cli("faults", str(MODELS / "redundancy" / "romain_tmr.ftv"), "--faults", "1", "--faults", "2",
                           "--json", str(js), "--chart", str(svg))
    assert code == 0 and "silent data corruption after FAULT flip" in out
    doc = json.loads(js.read_text())
    assert doc["schema"] == 1 and doc["command"] == "faults"
    data = doc["campaigns"]
    assert [d["faults"] for d in data] == [1, 2] and data[0]["masked_or_detected"] == 1.0
    injections = data[1]["injections"]
    assert len(injections) == data[1]["total"] == sum(data[1]["outcomes"].values())
    for inj in injections:  # every injection has an outcome, and a witness unless masked
        assert inj["outcome"] in FC.OUTCOMES and (inj["witness"] is None) == (inj["outcome"] == "masked")
    sdc = [i for i in injections if i["outcome"] == "silent data corruption"]
    assert len(sdc) == data[1]["outcomes"]["silent data corruption"] and sdc[0]["witness"]["states"]
    rects = [r for r in ET.fromstring(svg.read_text()).iter("{http://www.w3.org/2000/svg}rect")]
    assert len(rects) >= 2 + 6  # bars and the legend
    code, out, err = run_cli("faults", str(MODELS / "redundancy" / "dmr.ftv"), "--chart", str(tmp_path / "c.gif"))
    assert code == 2 and "expected a .svg or .png" in err and out == ""  # refused before any work
