"""Bounded model checking: one incremental solver over increasing depth.

The transition relation is encoded once; step k adds one renamed copy of it
(`Encoding.step`). Each property is queried at each depth under an assumption
literal, so the solver keeps everything it learnt between depths and between
properties, and the first depth that is satisfiable gives a shortest trace.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import z3
from ftverify.checker.engines import control
from ftverify.checker.engines.encode import Encoding
from ftverify.checker.engines.symbolic import Deadline, Target, checked, failing_label, read_trace, targets
from ftverify.checker.output.result import Result, Verdict
from ftverify.spec import model as M
from ftverify.spec.budget import BudgetLike
from ftverify.spec.interp import Interpreter


@dataclass
class BMCStats:
    depth: int = 0
    solver_seconds: float = 0.0
    total_seconds: float = 0.0
    checks: int = 0
    per_depth: list[float] = field(default_factory=list)


class Unroller:
    """Path s0 -> s1 -> ... -> sk from the initial states, in one incremental solver."""

    def __init__(self, enc: Encoding, logic: str | None = "QF_BV", from_init: bool = True) -> None:
        self.enc = enc
        self.solver = z3.SolverFor(logic) if logic else z3.Solver()
        self.states = [enc.state_at(0)]
        self.stats = BMCStats()
        if from_init:
            self.solver.add(enc.rename(enc.init, enc.cur, self.states[0]))
        self.solver.add(enc.rename(enc.type_cur, enc.cur, self.states[0]))

    def extend(self) -> None:
        # Fresh state variables per step, linked by an instance of T. (Substituting
        # the next-state terms instead, with no per-step variables, was measured
        # 3x-190x slower: Z3's incremental solver re-processes the shared terms.)
        k = len(self.states) - 1
        nxt = self.enc.state_at(k + 1)
        self.solver.add(self.enc.step(k, self.states[k], nxt))
        self.solver.add(self.enc.rename(self.enc.type_cur, self.enc.cur, nxt))
        self.states.append(nxt)

    def at(self, formula: z3.ExprRef, k: int) -> z3.ExprRef:
        return self.enc.rename(formula, self.enc.cur, self.states[k])

    def check(self, formula: z3.ExprRef, k: int, name: str, deadline: Deadline) -> z3.CheckSatResult:
        lit = z3.Bool(f"?{name}@{k}")
        self.solver.add(z3.Implies(lit, self.at(formula, k)))
        deadline.arm(self.solver)
        t = time.perf_counter()
        r = self.solver.check(lit)
        self.stats.solver_seconds += time.perf_counter() - t
        self.stats.checks += 1
        return r


def bmc(model: M.Model, budget: BudgetLike, depth: int, names: list[str] | None = None, timeout: float | None = None,
        interp: Interpreter | None = None, enc: Encoding | None = None) -> tuple[dict[str, Result], BMCStats]:
    """Check invariants (and look for witnesses of `reachable`) up to `depth` steps."""
    start = time.perf_counter()
    enc = enc or Encoding(model, budget, "bv")
    interp = interp or Interpreter(model, budget)
    deadline = Deadline(timeout)
    un = Unroller(enc)
    pending: list[Target] = targets(enc, names)
    results: dict[str, Result] = {}
    reached = -1
    for k in range(depth + 1):
        control.check()
        control.note(f"BMC depth {k} of {depth}, {len(pending)} propert{'y' if len(pending) == 1 else 'ies'} open")
        t_depth = time.perf_counter()
        for tg in list(pending):
            r = un.check(tg.formula, k, tg.name, deadline)
            if r == z3.unknown:
                why = un.solver.reason_unknown()
                results[tg.name] = Result(tg.name, tg.kind, Verdict.UNKNOWN, "bmc", depth=k - 1 if k else None,
                                          message=f"solver gave up at depth {k}: {why}")
                pending.remove(tg)
            elif r == z3.sat:
                mdl = un.solver.model()
                states = un.states[:k + 1]
                if tg.kind == "type_ok":
                    trace = read_trace(enc, mdl, states, failing_label(enc, mdl, states[-1]))
                else:
                    trace = read_trace(enc, mdl, states)
                trace = checked(interp, trace, tg)
                verdict = Verdict.PROVED if tg.kind == "reachable" else Verdict.VIOLATED
                results[tg.name] = Result(tg.name, tg.kind, verdict, "bmc", trace, depth=k,
                                          message=trace.failing[1] if trace.failing else "")
                pending.remove(tg)
        # Every pending property holds at depth k: say so. It is implied already,
        # but as a clause it spares the solver paths through earlier violations
        # at every later depth (2x-5x faster on deep, holding models).
        for tg in pending:
            if tg.kind != "reachable":
                un.solver.add(z3.Not(un.at(tg.formula, k)))
        un.stats.per_depth.append(time.perf_counter() - t_depth)
        reached = k
        if not pending or deadline.expired() or k == depth:
            break
        un.extend()
    for tg in pending:
        if tg.kind == "reachable":
            results[tg.name] = Result(tg.name, tg.kind, Verdict.UNKNOWN, "bmc", depth=reached,
                                      message=f"no witness within {reached} steps")
        elif deadline.expired() and reached < depth:
            results[tg.name] = Result(tg.name, tg.kind, Verdict.UNKNOWN, "bmc", depth=reached,
                                      message=f"timeout after {timeout:g} s; holds to depth {reached}")
        else:
            results[tg.name] = Result(tg.name, tg.kind, Verdict.HOLDS, "bmc", depth=reached)
    un.stats.depth = reached
    un.stats.total_seconds = time.perf_counter() - start
    for r in results.values():
        r.seconds = un.stats.total_seconds
    return results, un.stats


def fresh_bmc_time(model: M.Model, budget: BudgetLike, depth: int, names: list[str] | None = None) -> float:
    """BMC that re-encodes from scratch at every depth: the baseline the incremental one is measured against."""
    start = time.perf_counter()
    for k in range(depth + 1):
        enc = Encoding(model, budget, "bv")
        solver = z3.SolverFor("QF_BV")
        states = [enc.state_at(i) for i in range(k + 1)]
        solver.add(enc.rename(enc.init, enc.cur, states[0]))
        for i in range(k + 1):
            solver.add(enc.rename(enc.type_cur, enc.cur, states[i]))
        for i in range(k):
            solver.add(enc.step(i, states[i], states[i + 1]))
        for tg in targets(enc, names, ("invariant", "type_ok")):
            solver.push()
            solver.add(enc.rename(tg.formula, enc.cur, states[k]))
            solver.check()
            solver.pop()
    return time.perf_counter() - start
