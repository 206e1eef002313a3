"""The differential check itself: every symbolic engine against the explicit one on one spec.

Used by tests/checker/test_differential.py (hundreds of specs in CI) and by
bench/differential.py (thousands).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ftverify.checker.engines import explicit
from ftverify.checker.engines.crosscheck import cross_check
from ftverify.checker.engines.portfolio import EngineOptions, prove_property
from ftverify.checker.output.result import Result, Verdict
from ftverify.spec import model as M
from ftverify.spec.interp import Interpreter


@dataclass
class Agreement:
    checked: int = 0
    unknown: dict[str, int] = field(default_factory=dict)
    evaluations: int = 0  # expression-level comparisons of the encoding with the interpreter
    layered: int = 0  # explorations compared data-parallel against scalar
    wide: int = 0  # specs wider than one 64-bit word (the data-parallel search does not take them)
    scalar_only: int = 0  # other specs the vector compiler refused (the engine stays scalar on them)


def check_layered(model: M.Model, budget: int, tally: Agreement | None = None) -> None:
    """Assert that the data-parallel search (run from the initial states) finds exactly what the
    scalar one does: the same states, transitions, depth, deadlocks, verdicts and warnings, and
    traces of the same (shortest) lengths, each replayed on the interpreter by `report_of`."""
    from ftverify.checker.engines.layered import LayeredParents

    tally = tally or Agreement()
    # `recovers` and liveness need the graph's edges, which only the scalar search records; it
    # alone checks step properties too.
    wanted = [p.name for p in model.properties if p.kind not in (*M.GRAPH_KINDS, "step")] + ["type_ok"]
    scalar = explicit.explore(Interpreter(model, budget), progress=None, stop_when_decided=False, vector=False,
                              wanted=wanted)
    fast = explicit.explore(Interpreter(model, budget), progress=None, stop_when_decided=False, vector=True,
                            wanted=wanted)
    if not fast.parent:
        return  # no initial state
    if not isinstance(fast.parent, LayeredParents):
        if fast.interp.layout.width > 63:
            tally.wide += 1
        else:
            tally.scalar_only += 1
        return
    tally.layered += 1
    assert (len(fast.parent), fast.transitions, fast.depth, fast.deadlocks, fast.complete) == \
        (len(scalar.parent), scalar.transitions, scalar.depth, scalar.deadlocks, scalar.complete)
    assert set(fast.parent) == set(scalar.parent)
    assert set(fast.violations) == set(scalar.violations) and set(fast.witnesses) == set(scalar.witnesses)
    assert (fast.type_error is None) == (scalar.type_error is None)
    assert fast.failing == scalar.failing
    assert set(fast.eval_errors) == set(scalar.eval_errors)

    def lengths(ex: explicit.Exploration) -> list[int]:
        found = [*ex.violations.values(), *ex.witnesses.values()]
        found += [ex.type_error[0]] if ex.type_error else []
        found += [ex.first_deadlock] if ex.first_deadlock is not None else []
        return [len(ex.path_to(s)) for s in found]

    assert lengths(fast) == lengths(scalar)
    want, got = explicit.report_of(scalar, wanted), explicit.report_of(fast, wanted)  # replays every trace
    assert [(r.property, r.verdict) for r in got.results] == [(r.property, r.verdict) for r in want.results]
    assert [w for w, _ in got.warnings] == [w for w, _ in want.warnings]


def check_encoding(model: M.Model, budget: int, states: int = 30, tally: Agreement | None = None) -> None:
    """Assert that the Z3 encoding (every integer representation) evaluates every guard,
    update and property as the interpreter does, on reachable and random states."""
    cc = cross_check(model, budget, states)
    assert not cc.disagreements, "\n".join(str(d) for d in cc.disagreements)
    if tally is not None:
        tally.evaluations += cc.evaluations


def expected_of(r: Result) -> tuple[Verdict, int | None]:
    """The explicit verdict and, for a trace, its length."""
    return r.verdict, len(r.trace) if r.trace is not None else None


def check_agreement(model: M.Model, budget: int, engines: tuple[str, ...] = ("bmc", "kind", "pdr", "induction", "infer"),
                    timeout: float = 20.0, tally: Agreement | None = None) -> None:
    """Assert that every engine's verdict agrees with exhaustive exploration.

    * a violation (or a witness) has the same shortest length in every engine that reports one;
    * `proved` by a symbolic engine means explicit proved it too, and conversely
      BMC to the diameter holds exactly where explicit proves;
    * PDR, complete on these tiny specs, must decide exactly as explicit does.
    """
    tally = tally or Agreement()
    interp = Interpreter(model, budget)
    ex = explicit.explore(interp, progress=None, stop_when_decided=False)
    assert ex.complete
    truth = {r.property: r for r in explicit.report_of(ex).results if r.kind not in M.GRAPH_KINDS}
    depth = ex.depth + 1  # BMC to the diameter (+ the failing step of a type error) covers every state
    for name, want in truth.items():
        wv, wlen = expected_of(want)
        for engine in engines:
            opts = EngineOptions(depth=depth if engine == "bmc" else 6, timeout=timeout * (3 if engine == "bmc" else 1),
                                 progress=None)
            got = prove_property(model, budget, name, engine, opts, interp=interp, exploration=ex)
            gv, glen = expected_of(got)
            where = f"{engine} on {name} ({want.kind}) under budget {budget}: explicit {wv}/{wlen}, {engine} {gv}/{glen}"
            if gv == Verdict.UNKNOWN:
                # BMC is complete to the diameter, except that it cannot show a state unreachable.
                assert engine != "bmc" or (want.kind == "reachable" and wv != Verdict.PROVED), where
                tally.unknown[engine] = tally.unknown.get(engine, 0) + 1
                continue
            tally.checked += 1
            if want.kind == "reachable":
                if wv == Verdict.PROVED:  # a witness exists, of length wlen
                    assert gv == Verdict.PROVED and glen == wlen, where
                else:  # unreachable
                    assert gv in (Verdict.VIOLATED, Verdict.HOLDS) and glen is None, where
                continue
            if wv == Verdict.VIOLATED:
                assert gv == Verdict.VIOLATED, where
                if glen is not None:
                    assert glen == wlen, where
            else:
                assert gv in (Verdict.PROVED, Verdict.HOLDS), where
                if engine == "pdr":
                    assert gv == Verdict.PROVED, where
