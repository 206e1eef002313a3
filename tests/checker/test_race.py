"""`auto`'s symbolic engines racing on worker processes (engines/portfolio.py, engines/workers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ftverify.checker.engines import portfolio
from ftverify.checker.engines.portfolio import EngineOptions
from ftverify.checker.engines.replay import replay
from ftverify.checker.output.result import Verdict
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import load_model

# Far too many states to explore, and a pair of counters whose equality is 1-inductive.
BIG = """spec Big
const TOP = 100000000
var x: 0..TOP
var y: 0..TOP
init { x == 0 && y == 0 }
action step when x < TOP { x := x + 1; y := y + 1 }
action drift when x == 3 { y := y + 1 }
invariant eq: x == y
invariant apart: y <= x + 1
invariant far: x < TOP
"""


@pytest.fixture
def big(tmp_path: Path):
    (tmp_path / "big.ftv").write_text(BIG)
    return load_model(str(tmp_path / "big.ftv"), {"TOP": 100000000})


def test_the_first_decisive_engine_wins_and_the_others_are_stopped(big) -> None:
    assert portfolio._can_race(big, None)
    # PDR and k-induction cannot prove `apart` quickly; BMC finds the violation of `eq` in 4 steps
    r = portfolio._race(big, 0, "eq", EngineOptions(depth=8), [], 60.0)
    assert r.verdict == Verdict.VIOLATED and r.engine in portfolio.RACERS
    replay(Interpreter(big, 0), r.trace, big.property("eq"))  # the winner's trace, replayed here too
    assert "first of 3 engines racing" in r.message


def test_without_a_decisive_engine_the_verdict_is_unknown_and_says_what_each_reached(big) -> None:
    # `far` holds only up to depth TOP - 1: no engine decides it in 3 s
    r = portfolio._race(big, 0, "far", EngineOptions(depth=4), [], 3.0)
    assert r.verdict == Verdict.UNKNOWN
    assert "bmc: holds to depth 4" in r.message and "pdr: unknown" in r.message


def test_a_model_a_worker_cannot_load_is_not_raced() -> None:
    from ftverify.spec.typecheck import check_text

    assert not portfolio._can_race(check_text(BIG.replace("100000000", "10")), None)
