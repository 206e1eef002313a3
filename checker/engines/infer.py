"""Invariants inferred from reachable states, kept by Houdini, re-checked by induction.

Many safety properties of finite protocols follow from facts about pairs of state
components ("fork i is taken exactly when philosopher i holds it or its neighbour
does"), which PDR finds slowly when it finds them at all. This engine:

1. samples reachable states (those an explicit exploration already visited, and
   random walks from the initial states, so that components far apart are seen
   varying independently);
2. makes a candidate clause for every value, and every pair of values of two
   scalar components, that no sample shows (`!(x == a && y == b)`): each holds in
   every sampled state;
3. keeps the largest inductive subset (Houdini: drop every candidate a step can
   break from a state satisfying all of them, until none breaks), over the integer
   encoding;
4. if what is left excludes every bad state, prints it as .ftv helpers and hands
   property and helpers to the bit-vector inductiveness check (`check_inductive`),
   which proves them afresh and re-checks its own verdict. Only that makes it
   `proved`; otherwise the verdict is `unknown`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import z3
from ftverify.checker.engines import control
from ftverify.checker.engines.encode import Encoding
from ftverify.checker.engines.induction import check_inductive
from ftverify.checker.engines.layered import step_block, vector_model
from ftverify.checker.engines.symbolic import Deadline, targets
from ftverify.checker.engines.vectorize import U64, Lanes, VectorModel
from ftverify.checker.output.result import Result, Verdict
from ftverify.spec import model as M
from ftverify.spec.budget import BudgetLike
from ftverify.spec.compile import EvalError
from ftverify.spec.errors import SpecError
from ftverify.spec.interp import Instance, Interpreter
from ftverify.spec.typecheck import parse_expression
from ftverify.spec.types import BoolT, EnumT, IntT, Type

MAX_DOMAIN = 64  # values of a component taken part in candidates
MAX_CANDIDATES = 20_000
WALKS, WALK_LENGTH = 200, 200
KNOWN = 20_000  # states taken from an exploration


@dataclass(frozen=True)
class Component:
    """A scalar leaf of the state: its .ftv text, type, packed position and Z3 term."""

    text: str
    type: Type
    offset: int
    width: int
    term: z3.ExprRef

    @property
    def size(self) -> int:
        t = self.type
        return 2 if isinstance(t, BoolT) else len(t.members) if isinstance(t, EnumT) else t.hi - t.lo + 1  # type: ignore[union-attr]

    def test(self, code: int) -> str:
        """`component == value` as .ftv (`x` or `!x` for a bool)."""
        t = self.type
        if isinstance(t, BoolT):
            return self.text if code else f"!{self.text}"
        if isinstance(t, EnumT):
            return f"{self.text} == {t.members[code]}"
        return f"{self.text} == {code + t.lo}"  # type: ignore[union-attr]

    def is_(self, term: z3.ExprRef, code: int) -> z3.ExprRef:
        """`term == value` for the value with this packed code, in the integer encoding."""
        t = self.type
        if isinstance(t, BoolT):
            return term if code else z3.Not(term)
        return term == (code + t.lo if isinstance(t, IntT) else code)

    def code_of(self, value: z3.ExprRef) -> int:
        if isinstance(self.type, BoolT):
            return int(z3.is_true(value))
        return value.as_long() - (self.type.lo if isinstance(self.type, IntT) else 0)  # type: ignore[attr-defined]


def components(enc: Encoding) -> list[Component]:
    """The scalar leaves with small domains (bool, enum, small ranges), in layout order: the
    layout's cells, each with the leaf of the encoding that bears its path as its name."""
    leaf = {str(x): x for x in enc.cur.leaves}
    out = []
    for c in enc.layout.cells():
        if isinstance(c.type, BoolT | EnumT | IntT) and c.path in leaf:
            comp = Component(c.path, c.type, c.offset, c.width, leaf[c.path])
            if comp.size <= MAX_DOMAIN:
                out.append(comp)
    return out


def sample(interp: Interpreter, known: Iterable[int], deadline: Deadline, seed: int = 0,
           complete: bool = False) -> list[int]:
    """Reachable states: those given (the last KNOWN of them: the deepest of a breadth-first
    search), and those of random walks from the initial states, unless the given states are
    every reachable state (`complete`) and all of them were taken."""
    last = getattr(known, "last", None)  # a layered search's parents give their deepest layers cheaply
    given = last(KNOWN) if last is not None else list(known)[-KNOWN:]
    states = set(given)
    if complete and len(given) < KNOWN:
        return list(states)  # nothing a walk could add
    rng = random.Random(seed)
    try:
        inits = interp.initial_states()
    except SpecError:  # too many to enumerate: the given states only
        return list(states)
    insts = interp.instances
    if not inits or not insts:
        return list(states | set(inits))
    vm = vector_model(interp)
    if vm is not None:
        return list(states | _vector_walks(vm, inits, seed, deadline))
    end = time.monotonic() + 1.0  # walks are a cheap complement, not the search
    for _ in range(WALKS):
        if time.monotonic() > end or deadline.expired() or control.current().stopped:
            break
        s = rng.choice(inits)
        states.add(s)
        for _ in range(WALK_LENGTH):
            t = _step(insts, s, rng)
            if t is None:
                break  # a deadlock ends the walk
            s = t
            states.add(s)
    return list(states)


def _vector_walks(vm: VectorModel, inits: list[int], seed: int, deadline: Deadline | None = None) -> set[int]:
    """The same random walks, all of them in step on the numpy engine's compiled actions:
    at each step, every walk takes one of its enabled instances at random (a walk in a
    deadlock stops). Philosophers N=13: all 40,000 steps in 0.23 s, where the scalar walks
    took about 18,000 in their one-second cap (which these keep, for models with many
    instances)."""
    rng = np.random.default_rng(seed)
    block = np.array(inits, dtype=U64)[rng.integers(len(inits), size=WALKS)]
    seen = [block]
    end = time.monotonic() + 1.0
    for _ in range(WALK_LENGTH):
        control.check()
        if time.monotonic() > end or (deadline is not None and deadline.expired()):
            break
        succ, sources, _, _ = step_block(vm.instances, block, Lanes(block[None, :]))
        if not succ:
            break
        after, lanes = np.concatenate(succ), np.concatenate(sources)
        # a random successor per walk: shuffle, then keep each lane's first
        order = rng.permutation(lanes.size)
        lanes, pick = np.unique(lanes[order], return_index=True)
        block = after[order][pick]
        seen.append(block)
    return {int(s) for s in np.unique(np.concatenate(seen))}


def _step(insts: list[Instance], s: int, rng: random.Random) -> int | None:
    """A successor of s by a random enabled instance (None: none is enabled). A few random
    draws usually find one; then every instance is tried in random order."""
    def draws() -> Iterator[int]:
        for _ in range(8):
            yield rng.randrange(len(insts))
        yield from rng.sample(range(len(insts)), len(insts))

    for k in draws():
        inst = insts[k]
        try:
            if inst.guard is None or inst.guard(s):
                return inst.apply(s)
        except EvalError:
            continue
    return None


Candidate = tuple[int, int, int, int]  # (component a, its code, component b, its code); b = -1: unary


def candidates(comps: list[Component], states: list[int]) -> list[Candidate]:
    """Every value and pair of values no sampled state shows, as a clause excluding it."""
    codes = _codes(comps, states)
    out: list[Candidate] = []
    seen1 = []
    for a, c in enumerate(comps):
        seen = np.zeros(c.size, dtype=bool)
        seen[codes[:, a]] = True
        seen1.append(seen)
        out += [(a, v, -1, 0) for v in range(c.size) if not seen[v]]
    for a, ca in enumerate(comps):
        for b in range(a + 1, len(comps)):
            cb = comps[b]
            seen = np.zeros(ca.size * cb.size, dtype=bool)
            seen[codes[:, a] * cb.size + codes[:, b]] = True
            if seen.all():
                continue
            for k in np.flatnonzero(~seen):
                va, vb = divmod(int(k), cb.size)
                if seen1[a][va] and seen1[b][vb]:  # else the unary clause says it already
                    out.append((a, va, b, vb))
            if len(out) > MAX_CANDIDATES:
                return out
    return out


def _codes(comps: list[Component], states: list[int]) -> np.ndarray:
    """Each state's value code of each component, one row per state."""
    try:
        packed = np.array(states, dtype=U64)
    except OverflowError:  # states wider than 64 bits: one Python int each
        return np.array([[(s >> c.offset) & ((1 << c.width) - 1) for c in comps] for s in states],
                        dtype=np.int64).reshape(len(states), len(comps))
    return np.stack([((packed >> U64(c.offset)) & U64((1 << c.width) - 1)).astype(np.int64) for c in comps],
                    axis=1)


def _holds(comps: list[Component], cand: Candidate, terms: list[z3.ExprRef]) -> z3.ExprRef:
    a, va, b, vb = cand
    hit = comps[a].is_(terms[a], va)
    return z3.Not(hit if b < 0 else z3.And(hit, comps[b].is_(terms[b], vb)))


def houdini(enc: Encoding, comps: list[Component], cands: list[Candidate], deadline: Deadline) -> list[Candidate] | None:
    """The largest subset of `cands` that is inductive (None: the solver gave up or time ran out).

    Each candidate's formula, now and after each action, is built once: building Z3 terms
    from Python costs more than the solver's work on these small queries."""
    alive = list(cands)
    cur = [c.term for c in comps]
    now = {c: _holds(comps, c, cur) for c in cands}
    init = z3.Solver()
    init.add(enc.init, enc.type_cur)
    while alive:
        deadline.arm(init)
        r = init.check(z3.Or(*(z3.Not(now[c]) for c in alive)))
        if r == z3.unknown:
            return None
        if r == z3.unsat:
            break
        m = init.model()
        val = [comps[i].code_of(m.eval(t, model_completion=True)) for i, t in enumerate(cur)]
        alive = [c for c in alive if not _broken(c, val)]
    # Consecution, one action at a time (its parameters symbolic).
    changed = True
    steps: dict[int, tuple[z3.Solver, list[z3.ExprRef], dict[Candidate, z3.ExprRef]]] = {}
    while changed and alive:
        changed = False
        for ae in enc.actions:
            if ae.index not in steps:
                s = z3.Solver()
                s.add(enc.type_cur, enc.param_types(ae), ae.enabled)
                nxt = _after_terms(enc, comps, ae)
                steps[ae.index] = (s, nxt, {c: _holds(comps, c, nxt) for c in alive})
            s, nxt, later = steps[ae.index]
            while alive:
                control.note(f"Houdini: {len(alive):,} candidate clauses left")
                deadline.arm(s)
                s.push()
                s.add(*(now[c] for c in alive))
                r = s.check(z3.Or(*(z3.Not(later[c]) for c in alive)))
                if r != z3.sat:
                    s.pop()
                    if r == z3.unknown:
                        return None
                    break
                m = s.model()
                val = [comps[i].code_of(m.eval(t, model_completion=True)) for i, t in enumerate(nxt)]
                s.pop()
                alive = [c for c in alive if not _broken(c, val)]
                changed = True
    return alive


def _broken(c: Candidate, val: list[int]) -> bool:
    a, va, b, vb = c
    return val[a] == va and (b < 0 or val[b] == vb)


def _after_terms(enc: Encoding, comps: list[Component], ae: Any) -> list[z3.ExprRef]:
    """Each component's term after a step of `ae`, over the current state and the parameters."""
    position = {str(x): i for i, x in enumerate(enc.cur.leaves)}
    nl = enc.next_leaves(ae)
    return [nl[position[str(c.term)]] for c in comps]


def texts(comps: list[Component], kept: list[Candidate]) -> list[str]:
    """The kept clauses as .ftv helpers, one per component or pair of components."""
    groups: dict[tuple[int, int], list[Candidate]] = {}
    for c in kept:
        groups.setdefault((c[0], c[2]), []).append(c)
    out = []
    for (a, b), cs in groups.items():
        ca = comps[a]
        if b < 0:
            out.append(" && ".join(f"!({ca.test(va)})" for _, va, _, _ in cs))
        else:
            cb = comps[b]
            out.append(" && ".join(f"!({ca.test(va)} && {cb.test(vb)})" for _, va, _, vb in cs))
    return out


def infer(model: M.Model, budget: BudgetLike, name: str, timeout: float | None = None,
          interp: Interpreter | None = None, known: Iterable[int] = (), complete: bool = False) -> Result:
    """Prove an invariant by inferred pairwise invariants (see the module's doc); `known`: reachable
    states already found (`complete`: every one of them)."""
    start = time.perf_counter()
    interp = interp or Interpreter(model, budget)
    prop = model.property(name) if name != "type_ok" else None
    kind = prop.kind if prop is not None else "type_ok"

    def unknown(why: str, **stats: Any) -> Result:
        return Result(name, kind, Verdict.UNKNOWN, "infer", seconds=time.perf_counter() - start, message=why,
                      stats=stats)

    if prop is None or kind != "invariant":
        return unknown("infer proves invariants")
    deadline = Deadline(timeout)
    enc = Encoding(model, budget, "int")
    comps = components(enc)
    if not comps:
        return unknown("no state component with a small domain to infer invariants over")
    control.note("sampling reachable states")
    states = sample(interp, known, deadline, complete=complete)
    cands = candidates(comps, states)
    stats = {"samples": len(states), "candidates": len(cands)}
    kept = houdini(enc, comps, cands, deadline)
    if kept is None:
        return unknown("Houdini did not finish (solver gave up or time ran out)", **stats)
    stats["kept"] = len(kept)
    (tg,) = targets(enc, [name])
    s = z3.Solver()
    deadline.arm(s)
    r = s.check(enc.type_cur, tg.formula, *(_holds(comps, c, [x.term for x in comps]) for c in kept))
    if r != z3.unsat:
        return unknown(f"the {len(kept):,} inductive clauses inferred from {len(states):,} reachable states do "
                       "not imply the property" if r == z3.sat else "solver gave up", **stats)
    printed = texts(comps, kept)
    helpers = []
    for i, text in enumerate(printed):
        try:
            helpers.append((f"inferred_{i}", parse_expression(model, text, "<inferred invariant>")))
        except SpecError as e:  # a component's printed name does not parse back: an engine bug
            return unknown(f"an inferred clause does not type-check: {text}: {e.message}", **stats)
    control.note(f"re-checking {len(helpers)} inferred helpers by induction")
    r2 = check_inductive(model, budget, prop, helpers, deadline.left(), interp=interp)
    if r2.verdict != Verdict.PROVED:
        return unknown(f"the inferred invariant was not confirmed by the inductiveness check: {r2.message}",
                       **stats)
    return Result(name, kind, Verdict.PROVED, "infer", invariant=printed,
                  seconds=time.perf_counter() - start,
                  message=f"inductive invariant inferred ({len(kept):,} clauses over pairs of state components, "
                          f"from {len(states):,} reachable states) and re-checked by induction",
                  stats={**stats, **r2.stats})
