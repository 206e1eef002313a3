"""One entry point over every engine: prove one property, or all of a model's.

`auto` explores explicitly when the state space is small enough to finish in
about a second, and otherwise runs a portfolio: invariants inferred from the
states seen and kept by Houdini (`infer`), a longer exploration, then BMC, PDR
and k-induction racing on worker processes (the first decisive verdict wins),
or, on one core, a short BMC (most bugs are shallow), then PDR, then
k-induction, each with a share of the time budget; the result says which engine
gave the verdict.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TextIO

from ftverify.checker.engines import control, explicit
from ftverify.checker.output.result import (
    EncodingError,
    EngineBug,
    RecheckUnfinished,
    Report,
    Result,
    Verdict,
    withheld,
)
from ftverify.spec import model as M
from ftverify.spec.budget import BudgetLike
from ftverify.spec.interp import Interpreter

ENGINES = ("auto", "explicit", "bmc", "kind", "pdr", "induction", "infer")
AUTO_FIRST_SECONDS = 0.5  # auto's first exploration (then `infer`) ...
AUTO_EXPLORE_SECONDS = 5.0  # ... and its second (then BMC, PDR, k-induction), without --timeout
DEFAULT_DEPTH = 20


@dataclass
class EngineOptions:
    depth: int | None = None
    timeout: float | None = None
    max_states: int | None = None
    progress: TextIO | None = sys.stderr
    symmetry: bool = True  # the explicit engine explores a spec with a symmetric enum up to renamings


def prove_property(model: M.Model, budget: BudgetLike, name: str, method: str, opts: EngineOptions,
                   using: list[tuple[str, M.Expr]] | None = None, interp: Interpreter | None = None,
                   exploration: explicit.Exploration | None = None) -> Result:
    """The verdict on one property (an invariant, `reachable`, `recovers` or `type_ok`) by one method.
    `exploration`: one already made (the explicit engine's verdict is read from it; `auto`
    and `infer` start from the states it saw)."""
    interp = interp or Interpreter(model, budget)
    prop = model.property(name) if name != "type_ok" else None
    kind = prop.kind if prop is not None else "type_ok"
    start = time.perf_counter()
    if prop is None and explicit.statically_type_safe(model):
        return Result(name, kind, Verdict.PROVED, method, message="no update or guard can leave its type")
    try:
        if method == "explicit":
            # Stop as soon as this property is decided (a shared exploration decides them all).
            ex = exploration or explicit.explore(interp, explicit.Limits(opts.max_states, opts.timeout),
                                                 progress=opts.progress, wanted=[name], symmetry=opts.symmetry)
            return explicit.report_of(ex, [name]).results[0]
        if kind in M.LIVENESS_KINDS and method == "bmc":
            from ftverify.checker.engines.lasso import lasso_bmc

            assert prop is not None
            return lasso_bmc(model, budget, prop, opts.depth or DEFAULT_DEPTH, opts.timeout, interp)
        if kind in M.LIVENESS_KINDS and method == "pdr":
            from ftverify.checker.engines.l2s import pdr_liveness

            assert prop is not None
            return pdr_liveness(model, budget, prop, opts.timeout, interp)
        if kind in M.GRAPH_KINDS:
            how = "the explicit engine, pdr, or bmc for a bounded search of fair lassos" if kind != "recovers" \
                else "the explicit engine"
            return Result(name, kind, Verdict.UNKNOWN, method,
                          message=f"{kind} is checked on the state graph: use {how}")
        # The symbolic engines (and z3) are imported only when asked for: start-up stays short.
        if method == "bmc":
            from ftverify.checker.engines.bmc import bmc

            res, _ = bmc(model, budget, opts.depth or DEFAULT_DEPTH, [name], opts.timeout, interp)
            return res[name]
        if method == "kind":
            from ftverify.checker.engines.kind import kinduction

            return kinduction(model, budget, prop, using or [], opts.depth or DEFAULT_DEPTH, opts.timeout,
                              type_ok=prop is None, interp=interp)
        if method == "pdr":
            from ftverify.checker.engines.pdr import pdr

            return pdr(model, budget, name, opts.timeout, interp)
        if method == "induction":
            if kind == "reachable":
                return Result(name, kind, Verdict.UNKNOWN, method,
                              message="induction proves invariants; use pdr or kind to show a state unreachable")
            from ftverify.checker.engines.induction import check_inductive

            return check_inductive(model, budget, prop, using or [], opts.timeout, interp=interp,
                                   type_ok=prop is None)
        if method == "infer":
            from ftverify.checker.engines.infer import infer

            return infer(model, budget, name, opts.timeout, interp, exploration.parent if exploration else (),
                         complete=exploration is not None and exploration.complete)
        if method == "auto":
            return _auto(model, budget, name, opts, using, interp, exploration)
    except EncodingError as e:
        return Result(name, kind, Verdict.UNKNOWN, method, message=f"cannot encode the model: {e}",
                      seconds=time.perf_counter() - start)
    except (EngineBug, RecheckUnfinished) as e:
        return Result(name, kind, Verdict.UNKNOWN, method, message=withheld(e), seconds=time.perf_counter() - start)
    except Exception as e:
        # A stop cancels Z3 (see control.py): a call outside `check`, such as building a term or
        # evaluating a model, then raises instead of returning unknown. That is the stop, not a bug.
        z3 = sys.modules.get("z3")
        stopped = control.current().stopped
        if stopped and z3 is not None and isinstance(e, z3.Z3Exception):
            raise control.Interrupted(stopped) from None
        raise
    raise ValueError(f"unknown method {method}")


def _auto(model: M.Model, budget: BudgetLike, name: str, opts: EngineOptions, using: list[tuple[str, M.Expr]] | None,
          interp: Interpreter, first: explicit.Exploration | None = None) -> Result:
    # Explicit first: exact and fast on small spaces; its time limit bounds its cost.
    ex = first or _auto_exploration(interp, opts, [name], AUTO_FIRST_SECONDS)
    r = explicit.report_of(ex, [name]).results[0]
    if r.verdict != Verdict.UNKNOWN:
        return r
    out: list[Result] = []
    _auto_rest(model, budget, [name], opts, using, interp, ex, out)
    return out[0]


def _auto_rest(model: M.Model, budget: BudgetLike, names: list[str], opts: EngineOptions,
               using: list[tuple[str, M.Expr]] | None, interp: Interpreter, ex: explicit.Exploration,
               out: list[Result]) -> None:
    """`auto` after its first exploration `ex`, for the properties it left open, each result
    appended to `out` as it comes: `recovers` by a whole exploration; `infer`; a longer
    exploration; then the symbolic engines one property at a time."""
    ctl = control.current()
    wanted = []
    for n in names:
        prop = model.property(n) if n != "type_ok" else None
        if prop is not None and prop.kind in M.GRAPH_KINDS:
            out.append(prove_property(model, budget, n, "explicit", opts, interp=interp))
            continue
        ctl.begin(f"{model.name}: {n} (auto: infer)")
        r = _infer_from(model, budget, n, opts, interp, ex)
        if r is not None:
            out.append(r)
        else:
            wanted.append(n)
    if wanted and _stopped_by_time(ex):  # give the exploration longer
        ctl.begin(f"{model.name} (auto: explicit)")
        rep = explicit.report_of(_auto_exploration(interp, opts, wanted, AUTO_EXPLORE_SECONDS), wanted)
        out += [r for r in rep.results if r.verdict != Verdict.UNKNOWN]
        wanted = [r.property for r in rep.results if r.verdict == Verdict.UNKNOWN]
    for n in wanted:
        ctl.begin(f"{model.name}: {n} (auto)")
        out.append(_auto_symbolic(model, budget, n, opts, using, interp, time.perf_counter()))


def _infer_from(model: M.Model, budget: BudgetLike, name: str, opts: EngineOptions, interp: Interpreter,
                ex: explicit.Exploration) -> Result | None:
    """`infer` from the states an exploration saw, with a quarter of the time left: the proof if
    it found one (invariants over pairs of components are quick when they suffice)."""
    prop = model.property(name) if name != "type_ok" else None
    if prop is None or prop.kind != "invariant":
        return None
    total = _time_for(opts)
    r = prove_property(model, budget, name, "infer", EngineOptions(timeout=total / 4 if total else None),
                       interp=interp, exploration=ex)
    return r if r.verdict == Verdict.PROVED else None


def _auto_symbolic(model: M.Model, budget: BudgetLike, name: str, opts: EngineOptions,
                   using: list[tuple[str, M.Expr]] | None, interp: Interpreter, start: float) -> Result:
    """The symbolic part of `auto`: BMC, PDR and k-induction racing on worker processes where the
    machine has cores to spare, else a short BMC, then PDR, then k-induction."""
    total = _time_for(opts)
    if _can_race(model, using):
        return _race(model, budget, name, opts, using or [], total)

    def share(fraction: float) -> float | None:
        if total is None:
            return None
        return max(0.5, (total - (time.perf_counter() - start)) * fraction)

    r = prove_property(model, budget, name, "bmc", EngineOptions(min(opts.depth or 10, 10), share(0.2)),
                       interp=interp)
    if r.verdict in (Verdict.VIOLATED, Verdict.PROVED):
        return r
    r = prove_property(model, budget, name, "pdr", EngineOptions(timeout=share(0.6)), interp=interp)
    if r.verdict != Verdict.UNKNOWN:
        return r
    return prove_property(model, budget, name, "kind", EngineOptions(opts.depth, share(1.0)), using, interp)


RACERS = ("bmc", "pdr", "kind")


@dataclass(frozen=True)
class EngineJob:
    """One engine on one property, named (file, constants, helpers by name) so that any process
    can load it."""

    task: str  # the engine, as the progress line shows it
    file: str
    consts: tuple[tuple[str, int], ...]
    budget: BudgetLike
    prop: str
    depth: int | None
    timeout: float | None
    using: tuple[str, ...]


def run_engine(job: EngineJob) -> Result:
    from ftverify.spec.typecheck import load_model

    control.current().begin(job.task)
    model = load_model(job.file, dict(job.consts))
    using = [(h, model.property(h).pred) for h in job.using]
    return prove_property(model, job.budget, job.prop, job.task, EngineOptions(job.depth, job.timeout), using)


def _can_race(model: M.Model, using: list[tuple[str, M.Expr]] | None) -> bool:
    """Racing needs cores to spare, a process allowed to start workers, and a model and helpers
    that a worker can load by name (a spec file, helpers that are its properties)."""
    import os

    from ftverify.checker.engines.workers import can_start_processes

    names = {p.name for p in model.properties}
    return (len(os.sched_getaffinity(0)) > 1 and can_start_processes() and os.path.isfile(model.file)
            and all(n in names for n, _ in using or []))


def _race(model: M.Model, budget: BudgetLike, name: str, opts: EngineOptions, using: list[tuple[str, M.Expr]],
          total: float | None) -> Result:
    """BMC, PDR and k-induction at once, one process each: the first proof or violation (each
    re-checked or replayed by its engine, as always) wins and the others are stopped."""
    from ftverify.checker.engines.workers import race

    helpers = tuple(n for n, _ in using)
    jobs = [EngineJob(m, model.file, model.consts, budget, name, opts.depth, total, helpers) for m in RACERS]
    results, winner, notes = race(run_engine, jobs, lambda r: r.verdict in (Verdict.PROVED, Verdict.VIOLATED))
    if winner is not None:
        r = results[winner]
        others = [f"{j.task} ({notes[j.task]})" if notes.get(j.task) else j.task
                  for j, res in zip(jobs, results, strict=True) if res is None]
        if others:
            r.message = f"{r.message}; first of {len(jobs)} engines racing (stopped: {', '.join(others)})"
        return r
    # None decisive: what k-induction says, and what the others reached.
    r = results[-1]
    reached = [f"{j.task}: {res.verdict}" + (f" to depth {res.depth}" if res.verdict == Verdict.HOLDS else "")
               + (f" ({res.message})" if res.message and res.verdict != Verdict.HOLDS else "")
               for j, res in zip(jobs[:-1], results[:-1], strict=True)]
    r.message = "; ".join([r.message, *reached]) if r.message else "; ".join(reached)
    return r


def init_is_empty(model: M.Model, budget: BudgetLike, interp: Interpreter | None = None) -> bool:
    """Does `init` admit no state at all (every property would then hold vacuously)?"""
    from ftverify.spec.errors import SpecError

    try:
        return not (interp or Interpreter(model, budget)).initial_states()
    except SpecError:  # too many initial states to enumerate: ask the solver
        import z3
        from ftverify.checker.engines.encode import Encoding

        enc = Encoding(model, budget, "bv")
        s = z3.SolverFor("QF_BV")
        s.add(enc.init, enc.type_cur)
        return s.check() == z3.unsat


def _time_for(opts: EngineOptions) -> float | None:
    """The time a piece of work may take: its own limit, within what is left of the command's."""
    left = control.current().left()
    if opts.timeout is None:
        return left
    return opts.timeout if left is None else min(opts.timeout, left)


def prove_all(model: M.Model, budget: BudgetLike, engine: str, opts: EngineOptions,
              names: list[str] | None = None) -> Report:
    """Every property of the model (or those named) by one engine."""
    start = time.perf_counter()
    interp = Interpreter(model, budget)
    wanted = [p.name for p in model.properties if names is None or p.name in names]
    if names is None or "type_ok" in names:
        wanted.append("type_ok")
    if engine != "explicit" and init_is_empty(model, budget, interp):
        kinds = {p.name: p.kind for p in model.properties}
        return Report(model.name, model.file, budget, [Result(n, kinds.get(n, "type_ok"), Verdict.UNKNOWN, engine,
                                                              message=explicit.VACUOUS) for n in wanted], engine,
                      seconds=time.perf_counter() - start)
    ctl = control.current()
    ctl.begin(f"{model.name} ({engine})")
    if engine == "explicit":
        rep = explicit.check(interp, explicit.Limits(opts.max_states, opts.timeout, opts.depth),
                             progress=opts.progress, properties=names, symmetry=opts.symmetry)
        return rep
    kinds = {p.name: p.kind for p in model.properties}

    def stopped(n: str, why: str) -> Result:
        return Result(n, kinds.get(n, "type_ok"), Verdict.UNKNOWN, engine, message=why)

    results: list[Result] = []
    try:
        if engine == "bmc":
            from ftverify.checker.engines.bmc import bmc

            try:
                res, _ = bmc(model, budget, opts.depth or DEFAULT_DEPTH, wanted, opts.timeout, interp)
            except EngineBug:  # one property's answer is withheld: ask for each alone
                res = {}
            results = [res[n] for n in wanted if n in res]
            wanted = [n for n in wanted if n not in res]
        elif engine == "induction":
            try:
                results = _induction_all(model, budget, wanted, opts, interp)
            except (EngineBug, RecheckUnfinished) as e:
                results = [stopped(n, withheld(e)) for n in wanted]
            wanted = []
        elif engine == "auto":
            # `_auto`'s stages, each for every property still open, so that they share explorations.
            ex = _auto_exploration(interp, opts, names, AUTO_FIRST_SECONDS)
            rep = explicit.report_of(ex, names)
            if all(r.verdict != Verdict.UNKNOWN for r in rep.results) or ctl.stopped:
                rep.engine = "auto"
                return rep
            results = [r for r in rep.results if r.verdict != Verdict.UNKNOWN]
            wanted = [r.property for r in rep.results if r.verdict == Verdict.UNKNOWN]
            _auto_rest(model, budget, wanted, opts, None, interp, ex, results)
            wanted = []
    except control.Interrupted as e:
        results += [stopped(n, e.reason) for n in wanted if n not in {r.property for r in results}]
        wanted = []
    # The rest one property at a time; after a stop, nothing new is started.
    for n in wanted:
        if ctl.stopped:
            results.append(stopped(n, f"not started ({ctl.stopped})"))
            continue
        ctl.begin(f"{model.name}: {n} ({engine})")
        try:
            results.append(prove_property(model, budget, n, engine, opts, interp=interp))
        except control.Interrupted as e:
            results.append(stopped(n, e.reason))
    order = {n: i for i, n in enumerate([p.name for p in model.properties] + ["type_ok"])}
    results.sort(key=lambda r: order.get(r.property, len(order)))
    return Report(model.name, model.file, budget, results, engine, seconds=time.perf_counter() - start)


def _stopped_by_time(ex: explicit.Exploration) -> bool:
    return not ex.complete and ex.reason.startswith("timeout")


def _auto_exploration(interp: Interpreter, opts: EngineOptions, names: list[str] | None,
                      seconds: float) -> explicit.Exploration:
    """An exploration that stops as soon as the properties asked for are decided, after `seconds`
    (at most a quarter of the time left), or at --max-states. No cap on states otherwise: the
    data-parallel search runs only without one, and it explores about a million states a second."""
    total = _time_for(opts)
    timeout = min(seconds, total / 4) if total else seconds
    return explicit.explore(interp, explicit.Limits(opts.max_states, timeout), progress=opts.progress, wanted=names,
                            symmetry=opts.symmetry)


def _induction_all(model: M.Model, budget: BudgetLike, wanted: list[str], opts: EngineOptions,
                   interp: Interpreter) -> list[Result]:
    """As mypyvy's `verify`: is the conjunction of all the model's invariants inductive?"""
    invariants = [(p.name, p.pred) for p in model.properties if p.kind == "invariant"]
    from ftverify.checker.engines.induction import check_inductive

    safe = explicit.statically_type_safe(model)
    whole = check_inductive(model, budget, None, invariants, opts.timeout, interp=interp, type_ok=not safe)
    out = []
    for n in wanted:
        prop = model.property(n) if n != "type_ok" else None
        kind = prop.kind if prop is not None else "type_ok"
        if prop is None and safe:
            out.append(Result(n, kind, Verdict.PROVED, "induction", message="no update or guard can leave its type"))
            continue
        if kind == "step":  # alone, or with the invariants as its helpers
            r = check_inductive(model, budget, prop, [], opts.timeout, interp=interp)
            if r.verdict != Verdict.PROVED and invariants:
                r = check_inductive(model, budget, prop, invariants, opts.timeout, interp=interp)
            out.append(r)
            continue
        if kind not in ("invariant", "type_ok"):
            out.append(Result(n, kind, Verdict.UNKNOWN, "induction",
                              message=f"induction proves invariants; use pdr, kind or explicit for {kind}"))
            continue
        r = Result(n, kind, whole.verdict, "induction", whole.trace, whole.depth, whole.message, whole.invariant,
                   seconds=whole.seconds, cti=whole.cti)
        out.append(r)
    return out
