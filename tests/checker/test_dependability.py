"""Dependability forecasting (checker/engines/ctmc.py) against closed forms anyone can check,
immediate actions, the command's output and its errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from ftverify.checker.engines import ctmc
from ftverify.checker.engines.explicit import Limits
from ftverify.spec.errors import SpecError
from hypothesis import HealthCheck, assume, given, seed, settings
from hypothesis import strategies as st

from tests import ctmc_oracle as oracle
from tests.conftest import model_of, run_cli
from tests.strategies import chain_specs, specs

MODELS = Path(__file__).resolve().parents[2] / "models" / "dependability"
REL = 1e-9


def close(a: float, b: float) -> bool:
    return abs(a - b) <= REL * abs(b)


def chain_of(text: str, consts: dict[str, int] | None = None, up: str = "up") -> tuple[ctmc.Chain, dict[str, float]]:
    m = model_of(text, consts=consts)
    return ctmc.build(m, up, progress=None), ctmc.rate_values(m)


REPAIRABLE = """spec Repairable
rate lambda = 1e-3
rate mu = 0.25
var ok: bool
init { ok }
fault fail rate lambda when ok { ok := false }
action repair rate mu when !ok { ok := true }
def up: bool = ok
"""


def test_repairable_component() -> None:
    c, r = chain_of(REPAIRABLE)
    lam, mu = 1e-3, 0.25
    m = ctmc.measures(c, r)
    assert close(m.availability, mu / (lam + mu))
    assert close(m.unavailability, lam / (lam + mu))
    assert close(m.mttf, 1 / lam) and close(m.mean_up, 1 / lam) and close(m.mttr, 1 / mu)
    ts = np.linspace(0, 3000, 7)
    for t, rel in zip(ts, ctmc.reliability(c, r, ts), strict=True):
        assert close(rel, math.exp(-lam * t))
    # a sweep re-weights the same chain
    m2 = ctmc.measures(c, {**r, "mu": 4.0})
    assert close(m2.availability, 4.0 / (lam + 4.0))


@pytest.mark.parametrize("name, mttf, rel", [
    ("simplex.ftv", lambda lam: 1 / lam, lambda lam, t: math.exp(-lam * t)),
    ("dmr.ftv", lambda lam: 3 / (2 * lam), lambda lam, t: 2 * math.exp(-lam * t) - math.exp(-2 * lam * t)),
    ("tmr.ftv", lambda lam: 5 / (6 * lam), lambda lam, t: 3 * math.exp(-2 * lam * t) - 2 * math.exp(-3 * lam * t)),
])
def test_redundancy_without_repair(name: str, mttf, rel) -> None:
    c, r = chain_of((MODELS / name).read_text())
    lam = r["lambda"]
    m = ctmc.measures(c, r)
    assert close(m.mttf, mttf(lam))
    assert m.availability == 0 and m.mttr == math.inf  # down for good in the end
    ts = np.linspace(0, 4 / lam, 9)
    for t, got in zip(ts, ctmc.reliability(c, r, ts), strict=True):
        assert close(got, rel(lam, t))


def test_tmr_with_one_repair_crew() -> None:
    c, r = chain_of((MODELS / "tmr.ftv").read_text(), {"REPAIR": True})
    lam, mu = r["lambda"], r["mu"]
    m = ctmc.measures(c, r)
    assert close(m.mttf, (5 * lam + mu) / (6 * lam**2))
    # birth-death chain over the number of failed units (0, 1 up; 2, 3 down), one crew
    p = np.array([1, 3 * lam / mu, 3 * lam / mu * 2 * lam / mu, 3 * lam / mu * 2 * lam / mu * lam / mu])
    p /= p.sum()
    assert close(m.availability, p[0] + p[1])
    assert close(m.failure_frequency, p[1] * 2 * lam)


def test_immediate_actions_are_eliminated() -> None:
    # A failure is noticed at once (no rate), then one of two repairs is chosen at random:
    # MTTR = 1/2 (1/mu1 + 1/mu2).
    spec = """spec Detect
rate lambda = 0.01
rate mu1 = 2.0
rate mu2 = 0.5
enum S { Ok, Failed, Noticed, Fast, Slow }
var s: S
init { s == Ok }
fault fail rate lambda when s == Ok { s := Failed }
action notice when s == Failed { s := Noticed }
action pick_fast when s == Noticed { s := Fast }
action pick_slow when s == Noticed { s := Slow }
action fast rate mu1 when s == Fast { s := Ok }
action slow rate mu2 when s == Slow { s := Ok }
def up: bool = s == Ok
"""
    c, r = chain_of(spec)
    assert c.stats == {"vanishing": 2, "tangible": 3}
    m = ctmc.measures(c, r)
    mttr = 0.5 / 2.0 + 0.5 / 0.5
    assert close(m.mttr, mttr) and close(m.mttf, 100.0)
    assert close(m.availability, 100.0 / (100.0 + mttr))


def test_competing_rates_and_shipped_minix_model() -> None:
    c, r = chain_of((MODELS / "minix_rs.ftv").read_text())
    m = ctmc.measures(c, r)
    # renewal argument: each failure costs detection (hangs only), the restart, and with
    # probability p a manual reinstall
    crash, hang, hb, rs, bad, manual = (r[k] for k in ("crash_rate", "hang_rate", "heartbeat_rate", "restart_rate",
                                                       "bad_restart_rate", "manual_rate"))
    p = bad * rs / (rs + bad * rs)
    down = hang / (crash + hang) / hb + 1 / (rs + bad * rs) + p / manual
    assert close(m.mttr, down)
    assert close(m.availability, (1 / (crash + hang)) / (1 / (crash + hang) + down))


def test_checkpoint_interval_has_an_optimum() -> None:
    text = (MODELS / "checkpoint.ftv").read_text()
    avail = {k: ctmc.measures(*chain_of(text, {"K": k})).availability for k in (1, 6, 20)}
    assert avail[6] > avail[1] and avail[6] > avail[20]


def test_a_wrong_solution_is_caught_by_its_own_check(monkeypatch: pytest.MonkeyPatch) -> None:
    c, r = chain_of(REPAIRABLE)
    good = ctmc.stationary
    monkeypatch.setattr(ctmc, "stationary", lambda q, d: good(q, d)[::-1].copy())  # a solver gone wrong
    with pytest.raises(ctmc.Unreliable, match="balance check"):
        ctmc.measures(c, r)
    monkeypatch.setattr(ctmc, "stationary", good)
    q = c.generator(r)
    monkeypatch.setattr(ctmc, "_solve", lambda a, b: 2 * np.asarray(b))
    with pytest.raises(ctmc.Unreliable, match="mean time to failure"):
        ctmc.mttf(q, c.init, c.up)


def test_chains_that_are_not_defined() -> None:
    with pytest.raises(ctmc.ChainError, match="gives no action a rate"):
        chain_of("spec A\nvar x: bool\naction a { x := !x }\ndef up: bool = x\n")
    with pytest.raises(ctmc.ChainError, match="cycle forever without time passing"):
        chain_of("spec B\nrate r = 1.0\nvar x: 0..2\ninit { x == 0 }\naction go rate r when x == 0 { x := 1 }\n"
                 "action a when x == 1 { x := 2 }\naction b when x == 2 { x := 1 }\ndef up: bool = x == 0\n")
    with pytest.raises(ctmc.ChainError, match="does not say when it is up"):
        chain_of("spec C\nrate r = 1.0\nvar x: bool\naction a rate r { x := !x }\n")
    with pytest.raises(ctmc.ChainError, match="outgrow its type"):
        chain_of("spec D\nrate r = 1.0\nvar n: 0..3\ninit { n == 0 }\nfault f rate r { n := n + 1 }\n"
                 "def up: bool = n < 2\n")
    with pytest.raises(SpecError, match="a rate must be positive"):
        model_of("spec E\nrate r = 0.0\nvar x: bool\naction a rate r { x := !x }\n")
    with pytest.raises(SpecError, match="unknown rate `rr`"):
        model_of("spec F\nrate r = 1.0\nvar x: bool\naction a rate rr { x := !x }\n")


def test_command_text_json_and_plot(tmp_path: Path) -> None:
    spec = tmp_path / "rep.ftv"
    spec.write_text(REPAIRABLE)
    out_json, out_svg = tmp_path / "d.json", tmp_path / "d.svg"
    code, out, err = run_cli("dependability", str(spec), "--sweep", "mu=0.1:10:5", "--json", str(out_json),
                             "--plot", str(out_svg), "-q")
    assert code == 0, err
    assert "availability       0.996015936" in out and "MTTR               4 " in out
    doc = json.loads(out_json.read_text())
    (d,) = doc["specs"]
    assert doc["command"] == "dependability" and close(d["mttf"], 1000.0)
    assert [round(x["value"], 6) for x in d["sweep"]] == [0.1, 0.316228, 1.0, 3.162278, 10.0]
    assert close(d["sweep"][2]["availability"], 1.0 / 1.001)
    assert out_svg.read_text().lstrip().startswith("<?xml") and "Unavailability against mu" in out_svg.read_text()
    # overrides
    code, out, _ = run_cli("dependability", str(spec), "--rate", "mu=1", "-q")
    assert code == 0 and "availability       0.999000999" in out


def test_an_incomplete_exploration_is_unknown(tmp_path: Path) -> None:
    code, _, err = run_cli("dependability", str(MODELS / "tmr.ftv"), "--max-states", "3", "-q")
    assert code == 3 and "state limit 3 reached" in err


@pytest.mark.parametrize("args, message", [
    (["--rate", "mu=-1"], "positive rate"),
    (["--rate", "nu=1"], "declares no rate `nu`"),
    (["--sweep", "mu=1"], "NAME=LO:HI"),
    (["--sweep", "mu=0:1"], "a rate must be positive"),
    (["--sweep", "mu=0:1:log"], "log sweep needs LO > 0"),
    (["--sweep", "zz=1:2"], "no rate or constant `zz`"),
    (["--up", "ok + 1"], "cannot combine bool"),
    (["--up", "3"], "expected a bool expression"),
    (["--plot", "x.pdf"], "expected a .svg or .png file"),
])
def test_command_rejects_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    spec = tmp_path / "rep.ftv"
    spec.write_text(REPAIRABLE)
    code, _, err = run_cli("dependability", str(spec), *args, "-q")
    assert code == 2 and message in err and "Traceback" not in err


@pytest.mark.parametrize("name", ["minix_rs.ftv", "tmr.ftv", "checkpoint.ftv"])
def test_shipped_models_agree_with_storm(tmp_path: Path, name: str) -> None:
    """The chains we export, solved by Storm (an independent implementation of the same measures)."""
    stormpy = pytest.importorskip("stormpy", reason="stormpy (Storm's Python API) is not installed")
    prefix = tmp_path / "chain"
    consts = ["--const", "REPAIR=true"] if name == "tmr.ftv" else []
    code, _, err = run_cli("dependability", str(MODELS / name), "--export", str(prefix), "--json",
                           str(tmp_path / "d.json"), *consts, "-q")
    assert code == 0, err
    ours = json.loads((tmp_path / "d.json").read_text())["specs"][0]
    storm = stormpy.build_model_from_explicit(str(prefix) + ".tra", str(prefix) + ".lab")
    (init,) = storm.initial_states

    def value(prop: str) -> float:
        return stormpy.model_checking(storm, stormpy.parse_properties(prop)[0]).get_value_vector()[init]

    assert value('S=? ["up"]') == pytest.approx(ours["availability"], rel=1e-6)
    assert value('T=? [F !"up"]') == pytest.approx(ours["mttf"], rel=1e-6)
    if name != "minix_rs.ftv":  # Storm's transient analysis (Fox-Glynn) is unreliable at its stiff rates
        t = ours["reliability"][50]
        assert 1 - value(f'P=? [F<={t["t"]} !"up"]') == pytest.approx(t["R"], rel=1e-6)


@seed(0)
@settings(max_examples=120, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.one_of(specs(rated=True), chain_specs(), chain_specs()))
def test_chains_of_generated_specs_agree_with_an_independent_computation(text: str) -> None:
    """ctmc.py against tests/ctmc_oracle.py (its own search, dense algebra) on random specs with
    rates, immediate actions, recurring faults and parameters."""
    try:
        model = model_of(text)
    except SpecError:
        assume(False)
    rates = ctmc.rate_values(model)
    times = [0.0, 0.7, 3.0]
    want = oracle.figures(model, times, rates)
    try:
        chain = ctmc.build(model, progress=None, limits=Limits(max_states=401))
    except (ctmc.ChainError, ctmc.Incomplete):
        assert want is None
        return
    assume(want is not None)
    assert want is not None
    got = ctmc.measures(chain, rates)
    assert got.availability == pytest.approx(want.availability, rel=1e-7, abs=1e-10)
    assert got.mttf == pytest.approx(want.mttf, rel=1e-7, abs=1e-10)
    for a, b in zip(ctmc.reliability(chain, rates, np.array(times)), want.reliability, strict=True):
        assert a == pytest.approx(b, rel=1e-7, abs=1e-10)
