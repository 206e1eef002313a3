"""Proof scripts: which theorems hold of which model, by which method.

    proof Classic
    use "../models/classic/tmr.ftv" as tmr
    theorem masked_1: tmr.masked under faults 1 by explicit
    theorem masked_2: tmr.masked under faults 2 by explicit expect violated

`ftverify prove proofs/` discharges every obligation and prints one table. An
obligation meets its expectation when its verdict is the expected one (by
default `proved`, or `holds` for a bounded method); a script that expects a
violation is satisfied only by a violation with a replayed trace.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

from ftverify.checker.commands.common import echo
from ftverify.checker.commands.proofcache import ProofCache
from ftverify.checker.engines import control, explicit
from ftverify.checker.engines.portfolio import EngineOptions, init_is_empty, prove_property
from ftverify.checker.output.result import EngineBug, RecheckUnfinished, Result, Verdict
from ftverify.spec import model as M
from ftverify.spec import syntax as S
from ftverify.spec.budget import BudgetLike, FaultBudget, budget_for
from ftverify.spec.errors import SpecError
from ftverify.spec.interp import Interpreter
from ftverify.spec.layout import StateLayout
from ftverify.spec.parser import parse_file
from ftverify.spec.typecheck import load_model


@dataclass
class Obligation:
    theorem: S.Theorem
    model: M.Model
    alias: str
    budget: FaultBudget  # under which it is checked (`under faults ...`, or the spec's own)
    # `by explicit`: the properties of every such theorem of the script on the same model and budget
    # (they share one exploration, which may stop once all of them are decided)
    explored_for: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return self.theorem.name

    @property
    def exploration_key(self) -> tuple[str, str]:
        """`by explicit` obligations with the same key share one exploration."""
        return self.alias, str(self.budget.to_json())


@dataclass
class Proof:
    name: str
    file: str
    models: dict[str, M.Model]
    obligations: list[Obligation]
    consts: dict[str, int] = field(default_factory=dict)  # the overrides it was loaded with


@dataclass
class ProofReport:
    proof: Proof
    results: list[tuple[Obligation, Result]] = field(default_factory=list)
    seconds: float = 0.0

    def exit_code(self) -> int:
        from ftverify.checker.output.result import exit_code

        return exit_code([r for _, r in self.results])


METHODS = ("auto", "explicit", "bmc", "kind", "pdr", "induction", "refinement")


def load_proof(path: str, consts: dict[str, int] | None = None) -> Proof:
    node = parse_file(path)
    if not isinstance(node, S.ProofFile):
        raise SpecError(node.span, "expected a proof script (`proof NAME ...`), found a spec")
    models: dict[str, M.Model] = {}
    for use in node.uses:
        if use.alias in models:
            raise SpecError(use.span, f"model alias `{use.alias}` is used twice")
        target = os.path.normpath(os.path.join(os.path.dirname(path), use.path))
        if not os.path.exists(target):
            raise SpecError(use.span, f"cannot use {use.path!r}: no such file ({target})")
        try:
            models[use.alias] = load_model(target, {**(consts or {}), **dict(use.consts)})
        except SpecError as e:
            bad = next((n for n, _ in use.consts if f"constant `{n}`" in e.message), None)
            if bad is None:
                raise
            raise SpecError(use.span, f"`with {bad} = ...`: {use.path} declares no constant `{bad}`",
                            hint=e.hint) from None
    obligations = []
    names: set[str] = set()
    for thm in node.theorems:
        if thm.name in names:
            raise SpecError(thm.span, f"theorem `{thm.name}` is stated twice")
        names.add(thm.name)
        if thm.model not in models:
            raise SpecError(thm.span, f"unknown model `{thm.model}`",
                            hint=f"declared with `use`: {', '.join(models) or 'none'}")
        m = models[thm.model]
        known = [p.name for p in m.properties] + ["type_ok"] + [r.name for r in m.refinements]
        if thm.prop not in known:
            raise SpecError(thm.span, f"model `{thm.model}` has no property `{thm.prop}`",
                            hint=f"its properties: {', '.join(known)}")
        if thm.method not in METHODS:
            raise SpecError(thm.span, f"method `{thm.method}` is not available",
                            hint=f"available: {', '.join(METHODS)}")
        refinement_names = [r.name for r in m.refinements]
        if (thm.method == "refinement") != (thm.prop in refinement_names):
            raise SpecError(thm.span, f"`by refinement` proves a refinement of `{thm.model}` "
                                      f"({', '.join(refinement_names) or 'it declares none'}), and a refinement "
                                      "is proved only `by refinement`")
        for h in thm.using:
            if h not in [p.name for p in m.invariants()]:
                raise SpecError(thm.span, f"helper `{h}` is not an invariant of `{thm.model}`",
                                hint=f"its invariants: {', '.join(p.name for p in m.invariants())}")
        if thm.using and thm.method not in ("induction", "kind", "auto"):
            raise SpecError(thm.span, f"`using` helper invariants needs `by induction` or `by kind`, "
                                      f"not `by {thm.method}`")
        if thm.depth is not None and thm.method not in ("bmc", "kind"):
            raise SpecError(thm.span, f"a depth is given to `by bmc K` or `by kind K`, not `by {thm.method}`")
        obligations.append(Obligation(thm, m, thm.model, budget_for(m, thm.faults, thm.span)))
    shared: dict[tuple[str, str], set[str]] = {}
    for ob in obligations:
        if ob.theorem.method == "explicit":
            shared.setdefault(ob.exploration_key, set()).add(ob.theorem.prop)
    obligations = [replace(ob, explored_for=frozenset(shared[ob.exploration_key]))
                   if ob.theorem.method == "explicit" else ob for ob in obligations]
    return Proof(node.name, path, models, obligations, dict(consts or {}))


@dataclass
class ProofContext:
    """Work shared between obligations: one exploration per (model, budget)."""

    progress: TextIO | None = sys.stderr
    timeout: float | None = None
    explorations: dict[tuple[int, int, frozenset[str]], explicit.Exploration] = field(default_factory=dict)
    # inductiveness results by (model, budget, the set of conjuncts): theorems that
    # prove each of a family of invariants using the others share one check
    inductions: dict[tuple[int, int, frozenset[str]], Result] = field(default_factory=dict)
    empty_init: dict[tuple[int, int], bool] = field(default_factory=dict)  # init admits no state
    cache: ProofCache | None = None  # decisive verdicts from earlier runs (see proofcache.py)
    recheck_cache: bool = False  # re-validate each cached verdict from its certificate before serving it
    certified: dict[tuple[int, int, frozenset[str]], str] = field(default_factory=dict)  # certificates re-checked
    jobs: int = 1  # worker processes for the obligations (see jobs.py)
    cluster: Any = None  # or a Dask cluster to run them on (checker/cluster/backend.py)

    def vacuous(self, model: M.Model, budget: BudgetLike) -> bool:
        key = (id(model), budget)
        if key not in self.empty_init:
            self.empty_init[key] = init_is_empty(model, budget)
        return self.empty_init[key]

    def exploration(self, model: M.Model, budget: BudgetLike, wanted: frozenset[str]) -> explicit.Exploration:
        """The exploration that decides the properties `wanted`: it stops once each of them is
        decided (an invariant violated, a witness found), else explores every state."""
        key = (id(model), budget, wanted)
        if key not in self.explorations:
            interp = Interpreter(model, budget)
            limits = explicit.Limits(timeout=self.timeout)
            self.explorations[key] = explicit.explore(interp, limits, progress=self.progress, wanted=sorted(wanted),
                                                      symmetry=True)
        return self.explorations[key]


def discharge(ob: Obligation, budget: BudgetLike, ctx: ProofContext, part: int | None = None) -> Result:
    """The obligation's verdict (`part`: only that part of a refinement, see `merge_parts`)."""
    thm = ob.theorem
    if ctx.vacuous(ob.model, budget):
        kind = "refinement" if thm.method == "refinement" else \
            ob.model.property(thm.prop).kind if thm.prop != "type_ok" else "type_ok"
        return Result(thm.prop, kind, Verdict.UNKNOWN, thm.method, message=explicit.VACUOUS)
    if thm.method == "refinement":
        return refinement_result(ob.model, thm.prop, budget, ctx.timeout, part)
    if thm.method == "explicit":
        return explicit.report_of(ctx.exploration(ob.model, budget, ob.explored_for or frozenset([thm.prop])),
                                  [thm.prop]).results[0]
    helpers = [(h, ob.model.property(h).pred) for h in thm.using]
    if thm.method == "induction" and thm.prop in {p.name for p in ob.model.invariants()}:
        key = (id(ob.model), budget, frozenset([thm.prop, *thm.using]))
        if key in ctx.inductions and ctx.inductions[key].verdict == Verdict.PROVED:
            shared = ctx.inductions[key]
            return Result(thm.prop, shared.kind, Verdict.PROVED, "induction", depth=1, invariant=shared.invariant,
                          message=f"{shared.message}; the same conjuncts as an earlier theorem, checked once")
    opts = EngineOptions(depth=thm.depth, timeout=ctx.timeout, progress=ctx.progress)
    result = prove_property(ob.model, budget, thm.prop, thm.method, opts, helpers)
    if thm.method == "induction" and result.verdict == Verdict.PROVED:
        ctx.inductions[(id(ob.model), budget, frozenset([thm.prop, *thm.using]))] = result
    return result


def revalidate(ob: Obligation, cached: Result, ctx: ProofContext) -> Result:
    """A cached verdict re-validated from its certificate (`--recheck-cache`); proved afresh when
    it has none, or when it fails (then `stats["recheck_failed"]` says why)."""
    try:
        how = recheck_certificate(ob, cached, ctx)
    except RecheckUnfinished as e:
        return _unknown(ob, f"the cached verdict's re-check did not finish: {e}")
    except EngineBug as e:  # a stored verdict that no longer stands
        failed = f"the cached verdict failed its re-check ({e})"
    except Exception as e:  # a bug of the re-check itself: the verdict is not served
        failed = f"internal error while re-checking the cached verdict ({type(e).__name__}: {e})"
    else:
        if how:
            cached.cached = True
            cached.stats = {**cached.stats, "rechecked": how, "first_seconds": round(cached.seconds, 3)}
            return cached
        return discharge(ob, ob.budget, ctx)  # no certificate to re-check
    fresh = discharge(ob, ob.budget, ctx)
    fresh.stats = {**fresh.stats, "recheck_failed": failed}
    return fresh


def recheck_certificate(ob: Obligation, r: Result, ctx: ProofContext) -> str:
    """Re-validate a cached verdict from its certificate, independently of the engine that found
    it: a trace is replayed on the interpreter; an inductive invariant (the conjuncts an
    induction used, or the .ftv clauses PDR or infer printed) is re-checked by fresh solvers over
    the overflow-checked encoding; a refinement's obligations likewise. Returns how, or "" when
    the verdict has no certificate to re-check (a bounded or explicit verdict): the caller
    proves it again.
    Raises EngineBug when the certificate fails, RecheckUnfinished when time runs out."""
    from ftverify.checker.engines.induction import recheck_inductive
    from ftverify.checker.engines.replay import replay
    from ftverify.checker.engines.symbolic import Deadline
    from ftverify.spec.typecheck import parse_expression

    model, prop = ob.model, ob.theorem.prop
    if ob.theorem.method == "refinement":
        if r.verdict != Verdict.PROVED:
            return ""
        from ftverify.checker.engines import refine

        refine.recheck(model, refine.find(model, prop), ob.budget, Deadline(ctx.timeout))
        return "refinement re-checked"
    goal = None if prop == "type_ok" else model.property(prop)
    if r.trace is not None:
        replay(Interpreter(model, ob.budget), r.trace, goal, witness=goal is not None and goal.kind == "reachable")
        return "trace replayed"
    if r.verdict != Verdict.PROVED or not r.invariant or (goal is not None and goal.kind not in M.SAFETY_KINDS):
        return ""
    names = {p.name for p in model.properties}
    helpers: list[tuple[str, M.Expr]] = []
    for k, text in enumerate(r.invariant):
        if text in names:
            helpers.append((text, model.property(text).pred))
        elif text != "type_ok":
            try:
                helpers.append((f"clause_{k + 1}", parse_expression(model, text, "<cached invariant>")))
            except SpecError:
                return ""  # printed in SMT-LIB: not a certificate this check can read
    key = (id(model), ob.budget, frozenset(r.invariant))
    if key not in ctx.certified:
        recheck_inductive(model, ob.budget, goal, helpers, "type_ok" in r.invariant or goal is None, "checked",
                          Deadline(ctx.timeout))
        ctx.certified[key] = "invariant re-checked"
    return ctx.certified[key]


def _unknown(ob: Obligation, why: str) -> Result:
    thm = ob.theorem
    kind = "refinement" if thm.method == "refinement" else \
        ob.model.property(thm.prop).kind if thm.prop != "type_ok" else "type_ok"
    return Result(thm.prop, kind, Verdict.UNKNOWN, thm.method, message=why)


def refinement_result(model: M.Model, name: str, budget: BudgetLike, timeout: float | None,
                      part: int | None = None) -> Result:
    """The refinement proved whole, or only one of its parts (`refine.PARTS`: see `merge_parts`)."""
    from ftverify.checker.engines import refine

    rep = refine.check(model, refine.find(model, name), budget, timeout, part=part)
    return Result(name, "refinement", rep.verdict, "refinement", message=rep.message,
                  cti=refine.as_cti(rep.mismatch) if rep.mismatch else None,
                  stats={"obligations": len(rep.obligations)})


def merge_parts(parts: list[Result]) -> Result:
    """A refinement from its parts, proved apart (`prove --jobs`): the first part that is not
    proved, in the order the whole proof would meet it, decides; proved only if every part is."""
    from ftverify.checker.engines.refine import PARTS, proved_message

    seconds = sum(r.seconds for r in parts)
    for r in parts:
        if r.verdict != Verdict.PROVED:
            r.seconds = seconds
            return r
    n = sum(r.stats.get("obligations", 0) for r in parts[:2])
    return Result(parts[0].property, "refinement", Verdict.PROVED, "refinement", seconds=seconds,
                  message=proved_message(n, f"; {len(PARTS)} parts proved apart, {seconds:.1f} s in all"),
                  stats={"obligations": n, "part_seconds": [round(r.seconds, 3) for r in parts]})


def run_proof(proof: Proof, ctx: ProofContext | None = None) -> ProofReport:
    """Discharge every obligation, reported in script order: from the proof cache where it has
    the verdict, else here (or on `ctx.jobs` worker processes). After Ctrl-C or the command's
    time limit, the running obligations are `unknown` with the reason and the rest are not
    started."""
    ctx = ctx or ProofContext()
    start = time.monotonic()
    report = ProofReport(proof)
    ctl = control.current()
    n = len(proof.obligations)
    results: dict[int, Result] = {}
    keys: dict[int, str] = {}
    rechecks: dict[int, Result] = {}  # cached verdicts to re-validate from their certificates (--recheck-cache)
    for i, ob in enumerate(proof.obligations):
        if ctx.cache is None or ctl.stopped:
            break
        thm = ob.theorem
        keys[i] = ctx.cache.key(ob.model, ob.budget, thm.prop, thm.method, thm.using, thm.depth)
        t0 = time.monotonic()
        cached = ctx.cache.get(keys[i], lambda ob=ob: StateLayout(ob.model, ob.budget))
        if cached is not None and ctx.recheck_cache:
            rechecks[i] = cached  # re-validated below, with the obligations to prove
            continue
        if cached is not None:
            cached.cached = True
            cached.stats = {**cached.stats, "first_seconds": round(cached.seconds, 3)}
            cached.seconds = time.monotonic() - t0
            results[i] = cached
    todo = [i for i in range(n) if i not in results]

    def store(i: int, result: Result) -> None:
        ob = proof.obligations[i]
        if "recheck_failed" in result.stats:
            echo(f"warning: {proof.name}: {ob.name}: {result.stats['recheck_failed']}; proved afresh", err=True)
        if ctx.cache is not None and i in keys and not result.cached:
            ctx.cache.put(keys[i], result, lambda: StateLayout(ob.model, ob.budget))
        results[i] = result

    from ftverify.checker.commands import jobs as J

    on_cluster = ctx.cluster is not None and bool(todo)
    if (on_cluster or (ctx.jobs > 1 and len(J.groups(proof, todo)) > 1)) and not ctl.stopped:
        def arrived(i: int, result: Result | None, why: str) -> None:
            if result is None:
                results[i] = _unknown(proof.obligations[i], why)
            else:
                store(i, result)

        J.run_parallel(proof, todo, ctx.jobs, ctx.timeout, arrived, lambda i: f"{proof.obligations[i].name}",
                       rechecks, ctx.cluster, lambda text: echo(f"warning: {proof.name}: {text}", err=True))
    else:
        for i in todo:
            ob = proof.obligations[i]
            t0 = time.monotonic()
            if ctl.stopped:
                results[i] = _unknown(ob, f"not started ({ctl.stopped})")
                continue
            ctl.begin(f"{proof.name} [{i + 1}/{n}] {ob.name}: {ob.alias}.{ob.theorem.prop} by {ob.theorem.method}")
            try:
                result = revalidate(ob, rechecks[i], ctx) if i in rechecks else discharge(ob, ob.budget, ctx)
            except control.Interrupted as e:
                result = _unknown(ob, e.reason)
            result.seconds = time.monotonic() - t0
            store(i, result)
    for i, ob in enumerate(proof.obligations):
        result = results[i]
        if ctl.stopped and result.verdict == Verdict.UNKNOWN and not result.cached \
                and "interrupt" not in result.message and "timeout" not in result.message \
                and "not started" not in result.message:
            result.message = f"{ctl.stopped}; {result.message}" if result.message else ctl.stopped
        result.expected = ob.theorem.expect
        result.stats = {**result.stats, "faults": ob.budget.to_json(), "method": ob.theorem.method}
        report.results.append((ob, result))
    report.seconds = time.monotonic() - start
    return report
