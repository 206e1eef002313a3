"""Unbounded liveness with Z3: `leadsto` and `eventually` proved by PDR after liveness-to-safety.

Biere, Artho and Schuppan's translation: a fair lasso violating `P ~> Q` exists exactly when the
system, extended by a monitor, can reach a bad state. The monitor guesses once (the choice `save`)
that the current state starts the loop, keeps a copy of it, and from there on records what the
loop must show:

- `pend`: some P-state has been seen with Q false in it and in every state since;
- `qseen`: Q held in some state since the save;
- per weakly fair action instance, `wf`: it was taken, or its guard was false, since the save;
- per strongly fair one, `st`: it was taken since the save, and `sd`: its guard was false in
  every state since.

The bad states close the loop: the state equals the saved copy, the save happened while `pend`
held, Q never held since, and every fair instance is satisfied. A stutter step (the state is kept,
no action is taken) is part of the extended system, so a run that stays in one state for ever is a
loop of one stutter, as in the explicit engine and in `lasso.py`.

Spacer searches the extended system (integers as Z3 integers). Its inductive invariant, over the
state, the copy and the monitor, is re-checked before `proved` is printed: the extended system is
built again over a fresh *bit-vector* encoding, Spacer's formula carried over leaf by leaf, and
fresh solvers check initiation, consecution and that no bad state satisfies it. The monitor is the
same construction in both; it is checked against the explicit engine's fair-cycle search on
generated specs (tests/checker/test_liveness.py). A bad state found is turned into a lasso by the
bounded search and validated on the interpreter like every lasso.
"""

from __future__ import annotations

import time
from typing import Any

import z3
from ftverify.checker.engines import control
from ftverify.checker.engines.encode import Encoding
from ftverify.checker.engines.lasso import fair_instances, lasso_bmc
from ftverify.checker.engines.pdr import _enum_leaves, _invariant, spacer_query
from ftverify.checker.engines.symbolic import Deadline, must_be_unsat, type_preserved
from ftverify.checker.output.result import Result, Verdict
from ftverify.spec import model as M
from ftverify.spec.budget import BudgetLike
from ftverify.spec.interp import Interpreter


class Extended:
    """The model's transition system with the liveness-to-safety monitor of one property."""

    def __init__(self, enc: Encoding, prop: M.Property) -> None:
        assert prop.target is not None
        self.enc = enc
        self.fair = fair_instances(enc)
        cur, nxt = enc.cur.leaves, enc.nxt.leaves
        self.copy = [z3.Const(f"saved.{x}", x.sort()) for x in cur]
        self.copy_n = [z3.Const(f"saved.{x}'", x.sort()) for x in cur]
        names = ["saved", "pend", "qseen"]
        for f in self.fair:
            names += [f"st{f.index}.{f.values}", f"sd{f.index}.{f.values}"] if f.strong else [f"wf{f.index}.{f.values}"]
        self.bits = [z3.Bool(f"?{n}") for n in names]
        self.bits_n = [z3.Bool(f"?{n}'") for n in names]
        self.vars = [*cur, *self.copy, *self.bits]
        self.vars_n = [*nxt, *self.copy_n, *self.bits_n]
        self.stutter, self.save = z3.Bool("?stutter"), z3.Bool("?save")
        self.choices = [enc.sel, *(p for ae in enc.actions for p in ae.params), self.stutter, self.save]

        p_cur, q_cur = enc.good(prop.pred), enc.good(prop.target)
        p_nxt, q_nxt = enc.good(prop.pred, enc.nxt), enc.good(prop.target, enc.nxt)
        saved, pend, qseen, *flags = self.bits
        saved_n, pend_n, qseen_n, *flags_n = self.bits_n
        # Before the save the copy follows the state: Spacer's search stays small (56 s to 13 s on
        # l4reanimator) and its invariant says so in one equation.
        self.init = z3.And(enc.init, enc.type_cur, z3.Not(saved), pend == z3.And(p_cur, z3.Not(q_cur)),
                           *(a == b for a, b in zip(self.copy, cur, strict=True)))

        keep = z3.And(*(a == b for a, b in zip(nxt, cur, strict=True)))
        moves = z3.Or(z3.And(self.stutter, keep), z3.And(z3.Not(self.stutter), enc.trans))
        fresh = self.save  # the flags restart at the state that starts the loop
        update = [z3.Implies(self.save, z3.And(z3.Not(saved), pend)),
                  saved_n == z3.Or(saved, self.save),
                  pend_n == z3.And(z3.Or(pend, p_nxt), z3.Not(q_nxt)),
                  qseen_n == z3.Or(z3.And(z3.Not(fresh), qseen), q_cur)]
        update += [b == z3.If(self.save, a, z3.If(saved, c, b_)) for a, b, c, b_ in
                   zip(cur, self.copy_n, self.copy, nxt, strict=True)]
        i = 0
        for f in self.fair:
            taken = z3.And(z3.Not(self.stutter), f.taken_at_step(enc))
            off = z3.Not(f.guard)
            if f.strong:
                update += [flags_n[i] == z3.Or(z3.And(z3.Not(fresh), flags[i]), taken),
                           flags_n[i + 1] == z3.And(z3.Or(fresh, flags[i + 1]), off)]
                i += 2
            else:
                update.append(flags_n[i] == z3.Or(z3.And(z3.Not(fresh), flags[i]), taken, off))
                i += 1
        self.step = z3.And(moves, *update)

        fair_ok, i = [], 0
        for f in self.fair:
            fair_ok.append(z3.Or(flags[i], flags[i + 1]) if f.strong else flags[i])
            i += 2 if f.strong else 1
        closed = z3.And(*(a == b for a, b in zip(cur, self.copy, strict=True)))
        self.bad = z3.And(saved, closed, z3.Not(qseen), *fair_ok)

    def after(self, f: z3.ExprRef) -> z3.ExprRef:
        return z3.substitute(f, *zip(self.vars, self.vars_n, strict=True))


def pdr_liveness(model: M.Model, budget: BudgetLike, prop: M.Property, timeout: float | None = None,
                 interp: Interpreter | None = None, trace_depth: int = 40) -> Result:
    """`prop` (leadsto or eventually) proved for every fair run, or a fair lasso violating it."""
    assert prop.kind in M.LIVENESS_KINDS
    start = time.perf_counter()
    interp = interp or Interpreter(model, budget)
    deadline = Deadline(timeout)
    enc = Encoding(model, budget, "int")
    ext = Extended(enc, prop)
    control.note(f"pdr: searching the fair lassos of {prop.name} (liveness to safety)")
    fp, rel, r, reason, seconds = spacer_query("Live", ext.vars, ext.vars_n, ext.choices, [ext.init],
                                               [ext.step, enc.type_cur, enc.type_nxt], ext.bad, deadline, timeout)
    stats: dict[str, Any] = {"solver_seconds": round(seconds, 4)}
    if r == z3.unknown:
        control.check()  # a stop cancels Spacer: say so, not "gave up"
        return _result(prop, Verdict.UNKNOWN, start, stats, f"Spacer gave up: {reason}")
    if r == z3.sat:
        left = deadline.left()
        res = lasso_bmc(model, budget, prop, trace_depth, left, interp)
        if res.verdict != Verdict.VIOLATED:
            return _result(prop, Verdict.UNKNOWN, start, stats, f"Spacer found a fair lasso but the bounded "
                                                                f"search recovered none within {trace_depth} steps")
        return Result(prop.name, prop.kind, Verdict.VIOLATED, "pdr", res.trace, depth=res.depth, stats=stats,
                      seconds=time.perf_counter() - start, message="fair lasso (found by Spacer, shortest by bmc)")
    formula = _invariant(fp, rel, ext.vars)
    _recheck(model, budget, ext, prop, formula, deadline)
    return _result(prop, Verdict.PROVED, start, stats,
                   "every fair run satisfies it: liveness-to-safety invariant found and re-checked over bit-vectors")


def _recheck(model: M.Model, budget: BudgetLike, ext_int: Extended, prop: M.Property, formula: z3.ExprRef,
             deadline: Deadline) -> None:
    """Spacer's invariant, carried over to a fresh bit-vector encoding, is inductive for the
    extended system there and excludes its bad states."""
    enc = Encoding(model, budget, "bv")
    ext = Extended(enc, prop)
    unsigned = {x.decl().name() for x in _enum_leaves(enc)}
    n = len(enc.cur.leaves)
    pairs = []
    for k, (li, lb) in enumerate(zip(ext_int.vars, ext.vars, strict=True)):
        if li.sort() == lb.sort():
            continue
        template = enc.cur.leaves[k % n] if k < 2 * n else lb  # a saved leaf is signed like its original
        pairs.append((li, z3.BV2Int(lb, is_signed=template.decl().name() not in unsigned)))
    inv = z3.substitute(formula, *pairs) if pairs else formula
    type_preserved(enc, "bv", deadline)
    must_be_unsat(f"initiation of the liveness invariant of {prop.name}", z3.And(ext.init, z3.Not(inv)), "mixed",
                  deadline)
    must_be_unsat(f"consecution of the liveness invariant of {prop.name}",
                  z3.And(inv, enc.type_cur, enc.type_nxt, ext.step, z3.Not(ext.after(inv))), "mixed", deadline)
    must_be_unsat(f"the liveness invariant of {prop.name} excludes every closed fair loop",
                  z3.And(inv, enc.type_cur, ext.bad), "mixed", deadline)


def _result(prop: M.Property, verdict: Verdict, start: float, stats: dict[str, Any], message: str) -> Result:
    return Result(prop.name, prop.kind, verdict, "pdr", stats=stats, message=message,
                  seconds=time.perf_counter() - start)
