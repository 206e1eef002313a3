"""The data-parallel explicit search (checker/engines/layered.py) against the scalar one.

Every shipped model and a few hundred generated specs are explored both ways from
the initial states; tests/differential.py's `check_layered` says what must agree.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from ftverify.checker.engines import explicit
from ftverify.checker.engines.layered import LayeredParents, VisitedSet, vector_model
from ftverify.spec.errors import SpecError
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import check_text, load_model
from hypothesis import HealthCheck, assume, given, seed, settings
from hypothesis import strategies as st

from tests.differential import Agreement, check_layered
from tests.strategies import specs

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p for p in (ROOT / "models").rglob("*.ftv") if p.stem != "common")
BENCH = ROOT / "bench"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.stem}")
@pytest.mark.parametrize("budget", [0, 1, 2])
def test_every_shipped_model_is_explored_alike(path: Path, budget: int) -> None:
    model = load_model(str(path))
    if budget and not model.has_faults:
        pytest.skip("no faults")
    if vector_model(Interpreter(model, budget)) is None:
        # Only the kernel's specs and Paxos (its message sets) are wider than one 64-bit word.
        assert path.parent.name == "kernel" or path.stem == "paxos", path
        return
    check_layered(model, budget)


@pytest.mark.parametrize("name,consts", [("philosophers.ftv", {"N": 6}), ("counters.ftv", {"N": 5})])
def test_the_benchmark_models_are_explored_alike(name: str, consts: dict[str, int]) -> None:
    check_layered(load_model(str(BENCH / name), consts), 0)


CHUNKS = 2
SPECS_PER_CHUNK = 110


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_generated_specs_are_explored_alike(chunk: int) -> None:
    tally = Agreement()

    @seed(100 + chunk)
    @settings(max_examples=SPECS_PER_CHUNK, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(specs(), st.integers(0, 2))
    def run(text: str, budget: int) -> None:
        try:
            model = check_text(text, "<generated>")
        except SpecError:
            assume(False)
        check_layered(model, budget if model.has_faults else 0, tally)

    run()
    # The generator's integers beyond 62 bits are refused by design; nearly every spec is compiled.
    assert tally.layered > 50 and tally.scalar_only <= tally.layered // 10, tally


def test_a_large_layer_hands_over_to_the_layered_search() -> None:
    """Without being asked, a search whose layer grows large goes data-parallel, and says the same."""
    text = """spec Cube
var x: 0..39
var y: 0..39
var z: 0..39
init { x == 0 && y == 0 && z == 0 }
action east when x < 39 { x := x + 1 }
action north when y < 39 { y := y + 1 }
action up when z < 39 { z := z + 1 }
invariant low: x + y + z < 100
"""
    model = check_text(text, "<cube>")
    ex = explicit.explore(Interpreter(model, 0), progress=None)
    assert isinstance(ex.parent, LayeredParents)
    path = ex.path_to(ex.violations["low"])
    assert len(path) == 101 and sum(ex.interp.decode(path[-1]).values()) == 100
    check_layered(model, 0)


def test_the_visited_set_is_a_set() -> None:
    rng = random.Random(7)
    vs = VisitedSet(bits=4)  # tiny, so that it grows and probes a lot
    seen: set[int] = set()
    for _ in range(40):
        batch = sorted({rng.randrange(1 << 63) if rng.random() < 0.5 else rng.randrange(64)
                        for _ in range(rng.randrange(1, 300))})
        fresh = vs.add(np.array(batch, dtype=np.uint64))
        assert [s not in seen for s in batch] == fresh.tolist()
        seen.update(batch)
        assert vs.count == len(seen)


def test_a_connective_over_an_integer_read_is_boolean() -> None:
    """`v && true` kept a 0/1 integer lane, and `~` of it is never false: the data-parallel search
    once missed the violation of `(v && true) -> false` that the scalar one reports."""
    text = """spec Flag
var v: bool
var w: -2..-1
init { !v }
action set { v := true }
action other { w := -1 }
invariant never: (v && true) -> false
"""
    model = check_text(text, "<flag>")
    fast = explicit.explore(Interpreter(model, 0), progress=None, stop_when_decided=False, vector=True)
    assert isinstance(fast.parent, LayeredParents) and set(fast.violations) == {"never"}
    check_layered(model, 0)
