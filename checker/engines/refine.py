"""Refinement between two specs: every concrete step is an abstract step or a stutter.

A `refinement` declaration in the concrete spec gives the abstraction function
(a `map` per abstract variable, over the concrete state), the abstract action
each concrete action implements (with its arguments) or `skip`, and the concrete
invariants the proof may assume. `check` proves, by forward simulation with Z3:

1. the named concrete invariants are inductive (so assuming them is sound);
2. initiation: the image of every initial concrete state is an initial abstract state;
3. simulation, for every concrete action: from any state satisfying the
   invariants, if the action is enabled, the image of the pre-state enables the
   mapped abstract action, and the image of the post-state is the state that
   action leads to (for `skip`: the image does not change);
4. every image is a well-typed abstract state (the maps cannot leave a type).

A failure comes back as the concrete step (pre-state, action, post-state), the
two abstract images, and the abstract step that was expected: recomputed on the
reference interpreters before it is shown. `explore` checks the same thing on
every reachable concrete edge, which gives a trace from an initial state.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

import z3
from ftverify.checker.engines import control
from ftverify.checker.engines.encode import (
    ActionEnc,
    CheckedBVArith,
    Encoding,
    StateVars,
    WidthTooSmall,
    _and,
    uniform_width,
)
from ftverify.checker.engines.explicit import Limits, explore
from ftverify.checker.engines.induction import check_inductive
from ftverify.checker.engines.replay import trace_of
from ftverify.checker.engines.symbolic import (
    MAX_CHECKED_WIDTH,
    Deadline,
    must_be_unsat,
    overflow_free,
    type_preserved,
)
from ftverify.checker.output.result import (
    CTI,
    EngineBug,
    RecheckFailed,
    RecheckUnfinished,
    Result,
    Trace,
    Verdict,
    withheld,
)
from ftverify.spec import model as M
from ftverify.spec.budget import BudgetLike, FaultBudget, fault_budget
from ftverify.spec.compile import EvalError
from ftverify.spec.errors import SpecError
from ftverify.spec.interp import Instance, Interpreter, Label
from ftverify.spec.layout import StateLayout
from ftverify.spec.types import IntT, Type, decode, decode_scalar, is_scalar


@dataclass
class Mismatch:
    """A concrete step whose image is no abstract step (and no stutter)."""

    pre: dict[str, Any]
    label: Label
    post: dict[str, Any]
    abstract_pre: dict[str, Any]
    abstract_post: dict[str, Any]
    expected: str  # the abstract step the mapping asked for, or "skip"
    reason: str  # why the image is not that step
    faults: int = 0
    trace: Trace | None = None  # a trace to `pre` (explicit check only)


@dataclass
class RefinementReport:
    model: M.Model
    refinement: M.Refinement
    budget: BudgetLike
    verdict: Verdict
    engine: str
    message: str = ""
    mismatch: Mismatch | None = None
    invariants: Result | None = None  # the inductiveness check of the named concrete invariants
    obligations: list[tuple[str, float]] = field(default_factory=list)  # (obligation, seconds)
    seconds: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)

    def exit_code(self) -> int:
        return {Verdict.PROVED: 0, Verdict.HOLDS: 0, Verdict.VIOLATED: 1}.get(self.verdict, 3)


def find(model: M.Model, name: str | None = None) -> M.Refinement:
    if not model.refinements:
        raise ValueError(f"spec {model.name} declares no refinement")
    if name is None:
        if len(model.refinements) > 1:
            raise ValueError(f"spec {model.name} declares several refinements: name one "
                             f"({', '.join(r.name for r in model.refinements)})")
        return model.refinements[0]
    for r in model.refinements:
        if r.name == name:
            return r
    raise ValueError(f"spec {model.name} has no refinement {name!r} "
                     f"(it has: {', '.join(r.name for r in model.refinements)})")


def abstract_budget(model: M.Model, ref: M.Refinement, budget: BudgetLike) -> FaultBudget:
    """The abstract spec's fault budget for a run of the concrete one under `budget`.

    A concrete fault maps to an abstract fault, and the image of a state carries
    its fault counters over as they are: so both specs must count faults the same
    way (the same faults with budgets of their own, the same budgets)."""
    conc = StateLayout(model, budget)
    abst_faults = {a.name for a in ref.abstract.actions if a.is_fault}
    own = {n: b for n, b in conc.budget.own if n in abst_faults}
    abst = StateLayout(ref.abstract, fault_budget(ref.abstract, conc.budget.shared, own or None, ref.span))
    if [(c.name, c.cap) for c in conc.counters] != [(c.name, c.cap) for c in abst.counters]:
        raise SpecError(ref.span, f"refinement {ref.name}: the concrete spec counts faults as "
                                  f"{conc.budget}, the abstract one as {abst.budget}",
                        hint="give the same faults the same budgets of their own in both specs")
    return abst.budget


# ---------------------------------------------------------------- run-time values and images
def _code(t: Type, v: Any) -> int:
    """A run-time value of the interpreter as the packed code of type t."""
    if isinstance(t, IntT):
        return int(v) - t.lo
    return int(v)


def _plain(t: Type, v: Any) -> Any:
    return decode_scalar(t, v) if is_scalar(t) else decode(t, v)


class Images:
    """The abstraction function on packed concrete states, compiled once."""

    def __init__(self, ref: M.Refinement, conc: Interpreter, abst: Interpreter) -> None:
        self.ref, self.conc, self.abst = ref, conc, abst
        self.maps = [(m.target.name, m.target.type, conc.compiler.fn(m.value, {}))  # type: ignore[attr-defined]
                     for m in ref.maps]
        # looked up on every step of the explicit check: built once
        self.mapping = {r.action: r for r in ref.actions}
        self.abstract_actions = {a.name: a for a in abst.model.actions}
        self.abstract_instances = {(i.label.action, i.values): i for i in abst.instances}

    def of(self, s: int) -> int:
        """The packed abstract state of concrete state s (EvalError if a map fails)."""
        layout = self.abst.layout
        a = 0
        for name, t, f in self.maps:
            a |= _code(t, f(s)) << layout.slot[name].offset
        return a | (self.conc.layout.faults(s) << layout.faults_offset)

    def plain(self, s: int) -> dict[str, Any]:
        return self.abst.decode(self.of(s))


def _abstract_instance(images: Images, ref_action: M.RefinementAction, conc_inst: Instance,
                       s: int) -> tuple[Instance | None, str]:
    """The abstract instance a concrete instance maps to, in concrete state s."""
    from ftverify.spec.compile import _C

    env = {p.uid: _C(v) for p, v in zip(conc_inst.action.params, conc_inst.values, strict=True)}
    assert ref_action.abstract is not None
    b = images.abstract_actions[ref_action.abstract]
    values = tuple(images.conc.compiler.fn(x, env)(s) for x in ref_action.args)
    args = {p.name: _plain(p.type, v) for p, v in zip(b.params, values, strict=True)}
    text = f"{b.name}(" + ", ".join(f"{k}={v}" for k, v in args.items()) + ")" if args else b.name
    # None: statically disabled for these arguments
    return images.abstract_instances.get((b.name, values)), text


def step_mismatch(images: Images, inst: Instance, s: int, t: int) -> Mismatch | None:
    """Why the concrete step s -[inst]-> t has no abstract counterpart, or None if it has one."""
    ra = images.mapping[inst.label.action]
    try:
        a_pre, a_post = images.of(s), images.of(t)
    except EvalError as e:
        return _mismatch(images, s, inst.label, t, None, None, "?", f"the abstraction fails: {e.message}")
    if ra.abstract is None:
        if a_pre == a_post:
            return None
        return _mismatch(images, s, inst.label, t, a_pre, a_post, "skip",
                         "the step maps to a stutter, but it changes the abstract state")
    ainst, text = _abstract_instance(images, ra, inst, s)
    try:
        enabled = ainst is not None and (ainst.guard is None or bool(ainst.guard(a_pre)))
        if not enabled:
            return _mismatch(images, s, inst.label, t, a_pre, a_post, text,
                             f"{text} is not enabled in the abstract image of the pre-state")
        assert ainst is not None
        if ainst.apply(a_pre) != a_post:
            return _mismatch(images, s, inst.label, t, a_pre, a_post, text,
                             f"{text} leads to another abstract state than the image of the post-state")
    except EvalError as e:
        return _mismatch(images, s, inst.label, t, a_pre, a_post, text, f"{text} fails: {e.message}")
    return None


def _mismatch(images: Images, s: int, label: Label, t: int, a_pre: int | None, a_post: int | None,
              expected: str, reason: str) -> Mismatch:
    conc, abst = images.conc, images.abst
    return Mismatch(conc.decode(s), label, conc.decode(t), abst.decode(a_pre) if a_pre is not None else {},
                    abst.decode(a_post) if a_post is not None else {}, expected, reason, conc.layout.faults(s))


# ---------------------------------------------------------------- explicit: every reachable edge
def explore_refinement(model: M.Model, ref: M.Refinement, budget: BudgetLike, limits: Limits | None = None,
                       progress: TextIO | None = sys.stderr) -> RefinementReport:
    """Check every step of every reachable concrete state (as far as `limits` allow)."""
    start = time.monotonic()
    conc = Interpreter(model, budget)
    abst = Interpreter(ref.abstract, abstract_budget(model, ref, conc.budget))
    images = Images(ref, conc, abst)
    report = RefinementReport(model, ref, budget, Verdict.UNKNOWN, "explicit")
    for s in conc.initial_states():
        a = images.of(s)
        if not abst.predicate(ref.abstract.init)(a):
            report.verdict = Verdict.VIOLATED
            report.mismatch = Mismatch(conc.decode(s), Label("(initial)", ()), conc.decode(s), abst.decode(a),
                                       abst.decode(a), "init", "the image of an initial state is not initial")
            report.mismatch.trace = trace_of(conc, [s])
            return _done(report, start)
    instances = conc.instances
    found: list[Mismatch] = []

    def check_step(s: int, t: int, i: int) -> bool:  # every step as it is found: stop at the first failure
        mm = step_mismatch(images, instances[i], s, t)
        if mm is not None:
            found.append(mm)
        return mm is not None

    ex = explore(conc, limits, record_edges=True, stop_when_decided=False, progress=progress, on_edge=check_step,
                 check_properties=False)
    if found:
        mm = found[0]
        mm.trace = trace_of(conc, ex.path_to(conc.layout.encode(mm.pre, mm.faults)))
        report.verdict, report.mismatch = Verdict.VIOLATED, mm
        report.message = mm.reason
    elif ex.complete:
        report.verdict = Verdict.PROVED
        report.message = f"every step of the {len(ex.parent):,} reachable states maps to an abstract step"
    else:
        report.message = f"{ex.reason}: {len(ex.parent):,} states checked, no mismatch"
    report.stats = {"states": len(ex.parent), "transitions": ex.transitions}
    return _done(report, start)


def _done(report: RefinementReport, start: float) -> RefinementReport:
    report.seconds = time.monotonic() - start
    return report


# ---------------------------------------------------------------- symbolic: forward simulation with Z3
class _Sim:
    """The concrete encoding, the abstract encoding, and the abstraction as Z3 terms."""

    def __init__(self, model: M.Model, ref: M.Refinement, budget: BudgetLike, arith: str = "bv",
                 width: int | None = None) -> None:
        self.ref = ref
        self.arith = arith
        # Both sides store a value of a type the same way, so images are abstract states.
        self.c = Encoding(model, budget, arith, width)
        self.a = Encoding(ref.abstract, abstract_budget(model, ref, self.c.budget), arith, width)
        self.inv = _and(*(self.c.good(model.property(n).pred) for n in ref.invariants))
        self.image_leaves, self.image_ok = self.image(self.c.cur)

    def image(self, st: StateVars) -> tuple[list[z3.ExprRef], Any]:
        leaves: list[z3.ExprRef] = []
        oks = []
        by_name = {m.target.name: m for m in self.ref.maps}  # type: ignore[attr-defined]
        for v in self.ref.abstract.vars:
            sym, ok = self.c._stored_expr(v.type, by_name[v.name].value, st, {})
            self.a._flat(v.type, sym, leaves)
            oks.append(ok)
        leaves += st.counters  # the same fault budgets on both sides (checked when the refinement is loaded)
        return leaves, _and(*oks)

    def abstract_at(self, f: z3.ExprRef, leaves: list[z3.ExprRef]) -> z3.ExprRef:
        return z3.substitute(f, *zip(self.a.cur.leaves, leaves, strict=True))

    def obligations(self) -> list[tuple[str, ActionEnc | None, z3.ExprRef, z3.ExprRef]]:
        """(name, concrete action or None, hypothesis, conclusion) for every obligation."""
        c, a = self.c, self.a
        out: list[tuple[str, ActionEnc | None, z3.ExprRef, z3.ExprRef]] = []
        img, ok = self.image_leaves, self.image_ok
        out.append(("initiation", None, _and(c.init, c.type_cur, self.inv),
                    _and(ok, self.abstract_at(_and(a.init, a.type_cur), img))))
        by_abstract = {ae.action.name: ae for ae in a.actions}
        for ae in c.actions:
            ra = next(r for r in self.ref.actions if r.action == ae.action.name)
            hyp = _and(c.type_cur, c.param_types(ae), ae.enabled, self.inv, ok)
            post = [c.after(x, ae) for x in img]
            post_ok = c.after(ok, ae)
            if ra.abstract is None:
                concl = _and(post_ok, *(x == y for x, y in zip(post, img, strict=True)))
            else:
                be = by_abstract.get(ra.abstract)
                if be is None:  # a fault action under budget 0: never enabled on either side
                    continue
                env = {p.uid: v for p, v in zip(ae.action.params, ae.params, strict=True)}
                args = []
                arg_oks = []
                for x, p in zip(ra.args, be.action.params, strict=True):
                    sym, xok = c._stored_expr(p.type, x, c.cur, env)
                    args.append(sym)
                    arg_oks.append(xok)
                subst = list(zip(a.cur.leaves, img, strict=True)) + list(zip(be.params, args, strict=True))
                guard = z3.substitute(be.enabled, *subst)
                nxt = [z3.substitute(x, *subst) for x in a.next_leaves(be)]
                typed = z3.substitute(_and(a.param_types(be), a.type_cur), *subst)
                concl = _and(*arg_oks, typed, guard, post_ok, *(x == y for x, y in zip(post, nxt, strict=True)))
            out.append((ae.action.name, ae, hyp, concl))
        return out


def proved_message(obligations: int, extra: str = "") -> str:
    return f"every concrete step maps to its abstract step or a stutter ({obligations} obligations, re-checked{extra})"


# The proof's three independent parts: they can run in parallel (`prove --jobs`), and the
# refinement is proved when all three are (`merge_parts`).
PARTS = ("the assumed invariants", "the simulation", "the simulation's re-check")


def check(model: M.Model, ref: M.Refinement, budget: BudgetLike, timeout: float | None = None,
          progress: TextIO | None = None, part: int | None = None) -> RefinementReport:
    """Prove the refinement by forward simulation (see the module docstring); or only one of
    its PARTS (`part`), whose `proved` means that part holds.

    An answer that fails its independent check (a re-check, a replay) is withheld:
    the verdict is then `unknown` with the reason."""
    start = time.monotonic()
    report = RefinementReport(model, ref, budget, Verdict.UNKNOWN, "z3")
    try:
        return _check(model, ref, budget, timeout, report, start, part)
    except (EngineBug, RecheckUnfinished) as e:
        report.verdict, report.mismatch = Verdict.UNKNOWN, None
        report.message = withheld(e)
        return _done(report, start)
    except control.Interrupted as e:
        report.verdict, report.mismatch = Verdict.UNKNOWN, None
        report.message = f"{e.reason}, after {len(report.obligations)} obligation(s)"
        return _done(report, start)


def _check(model: M.Model, ref: M.Refinement, budget: BudgetLike, timeout: float | None, report: RefinementReport,
           start: float, part: int | None) -> RefinementReport:
    deadline = Deadline(timeout)
    if part == 2:
        _recheck(model, ref, budget, deadline)
        report.verdict, report.message = Verdict.PROVED, f"{PARTS[2]} holds"
        return _done(report, start)
    conc = Interpreter(model, budget)
    abst = Interpreter(ref.abstract, abstract_budget(model, ref, conc.budget))
    # 1. the invariants the simulation assumes
    if ref.invariants and part in (None, 0):
        goal = model.property(ref.invariants[0])
        helpers = [(n, model.property(n).pred) for n in ref.invariants[1:]]
        t0 = time.monotonic()
        res = check_inductive(model, budget, goal, helpers, deadline.left(), interp=conc)
        report.invariants = res
        report.obligations.append((f"invariants {', '.join(ref.invariants)}", time.monotonic() - t0))
        if res.verdict != Verdict.PROVED:
            report.verdict = Verdict.VIOLATED if res.verdict == Verdict.VIOLATED else Verdict.UNKNOWN
            report.message = f"the concrete invariants are not inductive: {res.message}"
            return _done(report, start)
    if part == 0:
        report.verdict, report.message = Verdict.PROVED, f"{PARTS[0]} are inductive"
        return _done(report, start)
    # 2-4. initiation and simulation, one solver per obligation
    sim = _Sim(model, ref, budget)
    images = Images(ref, conc, abst)
    obligations = sim.obligations()
    for i, (name, ae, hyp, concl) in enumerate(obligations):
        control.check()
        control.note(f"simulation of {name} ({i + 1} of {len(obligations)})")
        t0 = time.monotonic()
        s = z3.SolverFor("QF_BV")
        s.add(hyp)
        deadline.arm(s)
        r = s.check(z3.Not(concl))
        report.obligations.append((name, time.monotonic() - t0))
        if r == z3.unknown:
            report.message = f"solver gave up on {name}: {s.reason_unknown()}"
            return _done(report, start)
        if r == z3.sat:
            mm = _explain(sim, images, ref, s.model(), ae)
            report.mismatch = mm
            # The pre-state satisfies the assumed invariants, but that does not make
            # it reachable: only a trace from an initial state makes this a violation.
            mm.trace, note = _path_to(model, budget, conc, mm, deadline)
            if mm.trace is not None:
                report.verdict = Verdict.VIOLATED
                report.message = mm.reason
            else:
                report.message = (f"{mm.reason}, from a state that satisfies the assumed invariants but {note}: "
                                  "the invariants may be too weak (a counterexample to induction)")
            return _done(report, start)
    if part == 1:
        report.verdict, report.message = Verdict.PROVED, f"{PARTS[1]} holds ({len(obligations)} obligations)"
        return _done(report, start)
    _recheck(model, ref, budget, deadline)
    report.verdict = Verdict.PROVED
    report.message = proved_message(len(report.obligations))
    return _done(report, start)


REACH_STATES = 200_000  # states explored to show a failing pre-state reachable
REACH_SECONDS = 10.0  # ... and seconds for that, and again for a BMC search
REACH_DEPTH = 12


def _path_to(model: M.Model, budget: BudgetLike, conc: Interpreter, mm: Mismatch,
             deadline: Deadline) -> tuple[Trace | None, str]:
    """A replayed trace from an initial state to the mismatch's pre-state, or why there is none."""
    from ftverify.checker.engines.bmc import Unroller
    from ftverify.checker.engines.replay import replay
    from ftverify.checker.engines.symbolic import read_trace

    target = conc.layout.encode(mm.pre, mm.faults)

    def budget_s() -> float:
        left = deadline.left()
        return REACH_SECONDS if left is None else min(left, REACH_SECONDS)

    ex = explore(conc, Limits(max_states=REACH_STATES, timeout=budget_s()), progress=None, stop_when_decided=False)
    if target in ex.parent:
        return trace_of(conc, ex.path_to(target)), ""
    if ex.complete:
        return None, f"is unreachable (none of the {len(ex.parent):,} reachable states)"
    enc = Encoding(model, budget, "bv")
    counts = conc.layout.fault_counts(mm.faults)
    here = _and(*(enc.eq(v.type, enc.cur.tree[v.name], enc._plain(v.type, mm.pre[v.name])) for v in model.vars),
                *(enc.arith.cmp("eq", x, enc.arith.val(n)) for x, n in zip(enc.cur.counters, counts, strict=True)))
    un = Unroller(enc)
    search = Deadline(budget_s())
    for k in range(REACH_DEPTH + 1):
        r = un.check(here, k, "pre", search)
        if r == z3.sat:
            trace = read_trace(enc, un.solver.model(), un.states[:k + 1])
            replay(conc, trace, None)
            if conc.layout.encode(trace.states[-1], trace.faults[-1]) != target:
                raise RecheckFailed("refinement: the path to the failing pre-state ends elsewhere")
            return trace, ""
        if r == z3.unknown or search.expired():
            break
        un.extend()
    return None, (f"was not shown reachable ({len(ex.parent):,} states explored, no path of at most "
                  f"{len(un.states) - 1} steps)")


def recheck(model: M.Model, ref: M.Refinement, budget: BudgetLike, deadline: Deadline) -> None:
    """A proved refinement's independent half alone (to re-validate a stored verdict): the
    assumed invariants and every obligation, over the overflow-checked encoding."""
    if ref.invariants:
        from ftverify.checker.engines.induction import recheck_inductive

        helpers = [(n, model.property(n).pred) for n in ref.invariants[1:]]
        recheck_inductive(model, budget, model.property(ref.invariants[0]), helpers, False, "checked", deadline)
    _recheck(model, ref, budget, deadline)


def _recheck(model: M.Model, ref: M.Refinement, budget: BudgetLike, deadline: Deadline) -> None:
    """The same obligations over a fresh encoding in uniform-width bit-vectors whose
    freedom from overflow the solver proves first (the proof used per-term widths),
    each by a fresh solver. Both sides share the width, so images fit abstract states."""
    width = max(uniform_width(model), uniform_width(ref.abstract))
    while True:
        if width > MAX_CHECKED_WIDTH:
            raise RecheckUnfinished(f"no width up to {MAX_CHECKED_WIDTH} bits is free of overflow")
        try:
            sim = _Sim(model, ref, budget, "checked", width)
            obligations = sim.obligations()
        except WidthTooSmall:
            width *= 2
            continue
        assert isinstance(sim.c.arith, CheckedBVArith) and isinstance(sim.a.arith, CheckedBVArith)
        if overflow_free(sim.c, sim.c.arith, deadline) and overflow_free(sim.a, sim.a.arith, deadline):
            break
        width *= 2
    type_preserved(sim.c, "checked", deadline)
    for name, _, hyp, concl in obligations:
        must_be_unsat(f"refinement obligation {name}", z3.And(hyp, z3.Not(concl)), "checked", deadline)


def _explain(sim: _Sim, images: Images, ref: M.Refinement, mdl: z3.ModelRef, ae: ActionEnc | None) -> Mismatch:
    """The failing step, recomputed on the interpreters: a failure Z3 reports must be real."""
    c = sim.c
    pre, faults = c.decode_state(mdl, c.cur)
    conc = images.conc
    s = conc.layout.encode(pre, faults)
    if ae is None:
        a = images.of(s)
        if images.abst.predicate(ref.abstract.init)(a):
            raise RecheckFailed("refinement: the solver's failing initial state maps to an initial state")
        return Mismatch(pre, Label("(initial)", ()), pre, images.abst.decode(a), images.abst.decode(a), "init",
                        "the image of an initial state is not an initial abstract state", faults)
    values = tuple(c._value(p.type, mdl.eval(v, model_completion=True))
                   for p, v in zip(ae.action.params, ae.params, strict=True))
    inst = next((i for i in conc.instances if i.action is ae.action and i.values == values), None)
    if inst is None or not (inst.guard is None or inst.guard(s)):
        raise RecheckFailed(f"refinement: {ae.action.name} is not enabled in the solver's pre-state")
    t = inst.apply(s)
    mm = step_mismatch(images, inst, s, t)
    if mm is None:
        raise RecheckFailed(f"refinement: the solver's failing step {inst.label} maps to an abstract step")
    return mm


def as_cti(mm: Mismatch) -> CTI:
    return CTI(mm.pre, mm.label, mm.post, [mm.reason], mm.faults, mm.faults)
