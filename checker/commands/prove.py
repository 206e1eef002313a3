"""The library entry points behind `ftverify prove` and `ftverify simulate`.

The CLI parses arguments, calls one of these functions and hands the returned
`Report` to a reporter; tests and users' scripts call them the same way.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from ftverify.checker.engines.portfolio import ENGINES, EngineOptions, prove_all
from ftverify.checker.engines.replay import replay, trace_of
from ftverify.checker.output.result import Report, Result, Trace, Verdict
from ftverify.spec import model as M
from ftverify.spec import syntax as S
from ftverify.spec.budget import budget_for
from ftverify.spec.compile import EvalError
from ftverify.spec.errors import SpecError
from ftverify.spec.interp import Interpreter, Label
from ftverify.spec.typecheck import load_model

__all__ = ["ENGINES", "Options", "prove_file", "prove_model", "simulate"]


@dataclass
class Options:
    engine: str = "auto"
    faults: int | str | S.BudgetSpec | None = None  # None: the model's default budget
    max_states: int | None = None
    timeout: float | None = None
    depth: int | None = None
    properties: list[str] | None = None
    consts: dict[str, int] = field(default_factory=dict)
    progress: TextIO | None = sys.stderr
    use_cache: bool = True  # proof scripts: serve and store decisive verdicts (checker/commands/proofcache.py)
    jobs: int = 1  # proof scripts: worker processes for the obligations (checker/commands/jobs.py)
    recheck_cache: bool = False  # proof scripts: re-validate cached verdicts from their certificates
    symmetry: bool = True  # explore specs with a symmetric enum up to renamings of its members
    cluster: Any = None  # a Dask cluster (checker/cluster/backend.py): proof scripts' jobs, explicit exploration


def check_properties(model: M.Model, names: list[str] | None) -> None:
    if names is None:
        return
    known = [p.name for p in model.properties] + ["type_ok"]
    for n in names:
        if n not in known:
            assert model.span is not None
            raise SpecError(model.span, f"--property {n}: the spec has no property `{n}`",
                            hint=f"its properties: {', '.join(known)}")


def prove_model(model: M.Model, opts: Options) -> Report:
    """Check every property of a model with the chosen engine."""
    budget = budget_for(model, opts.faults)
    check_properties(model, opts.properties)
    if opts.engine not in ENGINES:
        raise ValueError(f"unknown engine {opts.engine}")
    eopts = EngineOptions(opts.depth, opts.timeout, opts.max_states, opts.progress, opts.symmetry)
    return prove_all(model, budget, opts.engine, eopts, opts.properties)


def prove_file(path: str, opts: Options) -> Report:
    if opts.cluster is not None and opts.engine == "explicit":
        from ftverify.checker.cluster.explore import check
        from ftverify.checker.engines.explicit import Limits

        model = load_model(path, opts.consts)
        budget_for(model, opts.faults)  # a bad budget is an error before the cluster works
        check_properties(model, opts.properties)
        return check(opts.cluster, path, opts.consts, opts.faults, Limits(opts.max_states, opts.timeout, opts.depth),
                     opts.properties, progress=opts.progress is not None, model=model)
    return prove_model(load_model(path, opts.consts), opts)


def simulate(model: M.Model, steps: int, seed: int | None, faults: int | str | S.BudgetSpec | None) -> Report:
    """One random run: a random initial state, then a random enabled step at a time.

    Invariants are checked on every state, step properties on every step; the first violation
    ends the run.
    A simulation proves nothing, so it never reports `proved`.
    """
    start = time.monotonic()
    budget = budget_for(model, faults)
    interp = Interpreter(model, budget)
    import random

    rng = random.Random(seed)
    inits = interp.initial_states()
    results: list[Result] = []
    if not inits:
        return Report(model.name, model.file, budget, [Result("init", "init", Verdict.UNKNOWN, "simulate",
                                                              message="init admits no state")], "simulate")
    s = rng.choice(inits)
    path = [s]
    invariants = [p for p in model.properties if p.kind == "invariant"]
    # each step of the run against each step property: (property, its check per instance)
    step_props = [(p, interp.step_checks(p)) for p in model.properties if p.kind == "step"]
    index = {id(inst): i for i, inst in enumerate(interp.instances)}
    failing: tuple[Label | None, str] | None = None
    violated: M.Property | None = None
    stop = "step bound reached"
    for _ in range(steps + 1):
        for p in invariants:
            try:
                ok = interp.properties[p.name](s)
            except EvalError:
                ok = False
            if not ok:
                violated = p
                break
        if violated or len(path) > steps:
            break
        options = []
        for inst in interp.instances:
            try:
                if inst.guard is None or inst.guard(s):
                    options.append((inst, inst.apply(s)))
            except EvalError as e:
                failing = (inst.label, e.message)
                break
        if failing:
            break
        if not options:
            stop = "deadlock: no action enabled"
            break
        inst, t = rng.choice(options)
        violated = next((p for p, checks in step_props
                         if not interp.step_keeps(checks[index[id(inst)]], s, t)), None)
        s = t
        path.append(s)
        if violated:
            break
    trace: Trace = trace_of(interp, path, failing)
    replay(interp, trace, violated)
    elapsed = time.monotonic() - start
    if violated is not None:
        results.append(Result(violated.name, violated.kind, Verdict.VIOLATED, "simulate", trace,
                              message="found by random simulation (not necessarily shortest)"))
    elif failing is not None:
        results.append(Result("type_ok", "type_ok", Verdict.VIOLATED, "simulate", trace, message=failing[1]))
    else:
        results.append(Result("run", "simulation", Verdict.HOLDS, "simulate", trace, depth=len(path) - 1,
                              message=f"{len(path) - 1} steps, no invariant violated ({stop})"))
    for r in results:
        r.seconds = elapsed
    return Report(model.name, model.file, budget, results, "simulate", stats={"steps": len(path) - 1,
                                                                              "seed": seed}, seconds=elapsed)
