"""A bounded proof that a Python implementation refines its spec, one handler at a time.

For every call the adapter lists (`Adapter.all_calls`: every operation with every
argument in the spec's ranges, and some outside them) and for every spec state
that satisfies the spec's invariants (and that the implementation can represent,
`Adapter.symbolic_domain`), the real implementation code is run by symbolic
execution (`symexec`) on a symbolic implementation state built from that spec
state (`Adapter.symbolic`), every path of it; at the end of each path its
abstraction (`abstract_symbolic`) must be exactly the successor of the spec action
the call implemented, in the spec's Z3 encoding (`encode`), or, for a failed call,
the unchanged state with the spec refusing the action. One solver query per path
decides that; the states are not enumerated.

Both sides are independent of each other: the implementation is the Python code
itself, not a model of it; the spec side is the encoding the Z3 engines use. A
counterexample is a concrete spec state and call: it is turned into a real
implementation state (`Adapter.from_state`), the call is run on the real code, and
the reference interpreter must confirm the divergence, or the handler is
`unknown`. A proof counts only when a re-check agrees: the spec encoded again in
uniform-width bit-vectors shown free of overflow (no width decision shared with the
first encoding), the paths shown to cover every start state there, and each
path's step shown to be a spec step there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3
from ftverify.checker.engines import control
from ftverify.checker.engines.conformance import RAISED, Adapter, Checker, Step, _perform
from ftverify.checker.engines.encode import Encoding
from ftverify.checker.engines.symexec import A, Paths, SymBool, SymEnum, SymInt, Unsupported, term, truth
from ftverify.checker.output.report import flatten_state
from ftverify.spec.types import (
    BVT,
    BoolT,
    EnumT,
    IntT,
    MapT,
    RecordT,
    Type,
    decode_scalar,
    domain_values,
    format_value,
)


class PreState:
    """The symbolic spec state a proof starts from, as the adapter reads it: `get("slots", 3,
    "cap", "rights")` is the scalar at that place, a SymInt, SymBool or SymEnum."""

    def __init__(self, enc: Encoding, paths: Paths) -> None:
        self.enc, self.paths = enc, paths
        self.types = {v.name: v.type for v in enc.model.vars}
        self.memo: dict[Any, Any] = {}  # for the adapter: terms of the start state it builds on every path

    def get(self, var: str, *path: Any) -> Any:
        t, v = self.types[var], self.enc.cur.tree[var]
        for p in path:
            if isinstance(t, RecordT):
                names = [n for n, _ in t.fields]
                v, t = v[names.index(p)], t.fields[names.index(p)][1]
            elif isinstance(t, MapT):
                keys = [decode_scalar(t.key, k) for k in domain_values(t.key)]
                v, t = v[keys.index(p)], t.value
            else:
                raise KeyError(f"{var}: no place {p!r} in a {t}")
        return self.leaf(t, v)

    def leaf(self, t: Type, v: Any) -> Any:
        paths, enc = self.paths, self.enc
        match t:
            case BoolT():
                return SymBool(paths, v, leaf=v)
            case IntT():
                if enc.arith.name != "bv":
                    raise Unsupported(f"a start state in the {enc.arith.name} encoding")
                return SymInt(paths, v, leaf=v)
            case BVT():
                return SymInt(paths, z3.ZeroExt(1, v), leaf=v)
            case EnumT(_, ms):
                return SymEnum(paths, v, ms, lambda m: enc._plain(t, m), leaf=v)
        raise Unsupported(f"a spec variable of type {t}")


@dataclass
class Counterexample:
    call: tuple[Any, ...]
    state: dict[str, Any]  # the spec state the call starts from
    problem: str  # what the reference interpreter says of the real implementation's step
    result: str  # what the call returned

    def to_json(self) -> dict[str, Any]:
        return {"call": list(self.call), "state": {k: format_value(v) for k, v in flatten_state(self.state).items()},
                "problem": self.problem, "result": self.result}


@dataclass
class HandlerResult:
    handler: str
    verdict: str = "unknown"  # proved, refuted, unknown
    calls: int = 0  # calls (argument tuples) done
    paths: int = 0
    queries: int = 0
    seconds: float = 0.0
    reason: str = ""  # why unknown
    counterexample: Counterexample | None = None
    recheck: str = ""  # for proved: what the independent re-check said

    def to_json(self) -> dict[str, Any]:
        return {"handler": self.handler, "verdict": self.verdict, "calls": self.calls, "paths": self.paths,
                "solver_queries": self.queries, "seconds": round(self.seconds, 3), "reason": self.reason or None,
                "recheck": self.recheck or None,
                "counterexample": self.counterexample.to_json() if self.counterexample else None}


@dataclass
class ProofReport:
    results: list[HandlerResult] = field(default_factory=list)
    stopped: str | None = None


TRUE = z3.BoolVal(True)


def _conj(parts: Iterable[Any]) -> Any:
    """The conjunction of parts, where Python True stands for a part known to hold."""
    rest = [p for p in parts if p is not True]
    if any(p is False for p in rest):
        return False
    return True if not rest else rest[0] if len(rest) == 1 else z3.And(*rest)


class _Spec:
    """The spec side of the obligations: each action instance's enabledness and successor.

    `counterpart` maps (the id of) a leaf of the encoding the start state was read from to this
    encoding's leaf for the same place, when they differ (the re-check's encoding)."""

    def __init__(self, enc: Encoding, counterpart: dict[int, Any] | None = None) -> None:
        self.enc = enc
        self.by_name = {ae.action.name: ae for ae in enc.actions}
        self.types = {v.name: v.type for v in enc.model.vars}
        self.cur_leaves = {id(x) for x in enc.cur.leaves}
        self.counterpart = counterpart or {}
        self._cache: dict[tuple[str, tuple[tuple[str, Any], ...]], tuple[Any, dict[str, Any]] | None] = {}

    def instance(self, action: str, args: tuple[tuple[str, Any], ...]) -> tuple[Any, dict[str, Any]] | None:
        """(enabled, successor tree) of action(args) over the current state, or None if no such instance."""
        key = (action, args)
        if key not in self._cache:
            self._cache[key] = self._instance(action, args)
        return self._cache[key]

    def _instance(self, action: str, args: tuple[tuple[str, Any], ...]) -> tuple[Any, dict[str, Any]] | None:
        ae = self.by_name.get(action)
        if ae is None or ae.action.is_fault or [p.name for p in ae.action.params] != [n for n, _ in args]:
            return None
        pairs = []
        for p, leaf, (_, v) in zip(ae.action.params, ae.params, args, strict=True):
            if v not in [decode_scalar(p.type, k) for k in domain_values(p.type)]:
                return None
            pairs.append((leaf, self.enc._plain(p.type, v)))

        def sub(x: Any) -> Any:
            if isinstance(x, tuple):
                return tuple(sub(y) for y in x)
            if id(x) in self.cur_leaves or not pairs:  # unchanged: the leaf itself, recognised by identity
                return x
            return z3.substitute(x, *pairs)

        return sub(TRUE if ae.enabled is True else ae.enabled), {n: sub(v) for n, v in ae.next.items()}

    def equal(self, spec: dict[str, Any], impl: dict[str, Any]) -> Any:
        """The spec state `spec` (trees of terms) equals the implementation's abstraction `impl`."""
        c = _conj(self._eq(self.types[n], spec[n], impl[n]) for n in self.types)
        return TRUE if c is True else z3.BoolVal(False) if c is False else c

    def _eq(self, t: Type, s: Any, v: Any) -> Any:
        enc = self.enc
        match t:
            case RecordT(fields):
                return _conj(self._eq(ft, x, v[n]) for (n, ft), x in zip(fields, s, strict=True))
            case MapT(k, vt):
                return _conj(self._eq(vt, x, v[decode_scalar(k, key)]) for key, x in zip(domain_values(k), s, strict=True))
        leaf = getattr(v, "leaf", None)
        if leaf is not None and (leaf is s or self.counterpart.get(id(leaf)) is s):
            return True  # the start value, unchanged
        match t:
            case BoolT():
                return s == truth(v)
            case IntT(lo, hi):
                if isinstance(v, int) and not isinstance(v, bool) and not lo <= v <= hi:
                    return False
                return A.cmp("eq", s, term(v))
            case BVT(w):
                if isinstance(v, int) and not 0 <= v < 1 << w:
                    return False
                return A.cmp("eq", z3.ZeroExt(1, s), term(v))
            case EnumT(_, ms):
                if isinstance(v, SymEnum):
                    return s == v.t
                return s == enc._plain(t, v) if v in ms else False
        raise Unsupported(f"comparing a spec value of type {t}")


def _handlers(calls: Iterable[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    for c in calls:
        out.setdefault(str(c[0]), []).append(tuple(c))
    return out


def handler_names(adapter: type[Adapter], handlers: Sequence[str] | None = None) -> list[str]:
    """The handlers to prove (all by default), in the order of `all_calls`; ValueError for a name
    that is not one."""
    groups = _handlers(adapter.all_calls())
    unknown = [h for h in handlers or () if h not in groups]
    if unknown:
        raise ValueError(f"no handler {', '.join(unknown)} (the handlers are: {', '.join(groups)})")
    return list(handlers) if handlers else list(groups)


def prove(adapter: type[Adapter], chk: Checker | None = None, handlers: Sequence[str] | None = None,
          on_result: Callable[[HandlerResult], None] | None = None, recheck: bool = True) -> ProofReport:
    """Prove every handler of `adapter`'s implementation against its spec (see the module's doc)."""
    chk = chk or Checker(adapter)
    groups = _handlers(adapter.all_calls())
    groups = {h: groups[h] for h in handler_names(adapter, handlers)}
    report = ProofReport()
    main = _Prover(adapter, chk, Encoding(chk.model, 0, "bv"))
    second = _Recheck(adapter, chk, main.enc) if recheck else None
    for name, calls in groups.items():
        res = HandlerResult(name)
        report.results.append(res)
        if report.stopped:
            res.reason = f"not started ({report.stopped})"
            if on_result is not None:
                on_result(res)
            continue
        control.current().begin(f"handler {name}")
        started = time.monotonic()
        try:
            main.handler(res, calls, second)
        except control.Interrupted as e:
            report.stopped = e.reason
            res.verdict, res.reason = "unknown", e.reason
        res.seconds = time.monotonic() - started
        if on_result is not None:
            on_result(res)
    return report


def _bad(spec: _Spec, step: Step, post: dict[str, Any] | None) -> Any:
    """The condition under which a path's step is not a step of the spec."""
    if step.action == RAISED or post is None:
        return z3.BoolVal(True)
    cur = spec.enc.cur.tree
    if step.action is None:
        changed = z3.Not(spec.equal(cur, post))
        if step.refused is not None:
            inst = spec.instance(*step.refused)
            if inst is not None:
                return z3.Or(changed, inst[0])
        return changed
    inst = spec.instance(step.action, step.args)
    if inst is None:
        return z3.BoolVal(True)
    enabled, nxt = inst
    return z3.Not(z3.And(enabled, spec.equal(nxt, post)))


def _decision_tree(pcs: list[list[Any]], ends: list[Any] | None = None) -> Any:
    """The disjunction over paths of (path condition and the path's end formula, True by
    default), factored along shared prefixes (the paths are the leaves of one decision tree):
    as large as the tree, not as all paths together."""
    root: dict[int, Any] = {}
    for k, pc in enumerate(pcs):
        node = root
        for lit in pc:
            node = node.setdefault(lit.get_id(), (lit, {}))[1]
        node[-1] = TRUE if ends is None else ends[k]  # a path ends here

    def formula(node: dict[int, Any]) -> Any:
        if -1 in node:
            return node[-1]
        return z3.Or(*(z3.And(lit, formula(child)) for lit, child in node.values())) if node else z3.BoolVal(False)

    return formula(root)


class _Recheck:
    """The independent re-check of a proved call: the spec encoded again, in the re-check
    encoding of the Z3 engines (uniform-width bit-vectors whose freedom from overflow the solver
    has shown, sharing no width decision with the first), the explored paths' conditions
    translated to it. Two questions: do the paths cover every start state (so no path was
    pruned by a wrong encoding of the invariants), and is every path's step a spec step?"""

    def __init__(self, adapter: type[Adapter], chk: Checker, bv: Encoding) -> None:
        from ftverify.checker.engines.symbolic import Deadline, checked_encoding

        invariants = chk.model.invariants()
        enc, goods = checked_encoding(chk.model, 0, lambda e: [e.good(p.pred) for p in invariants], Deadline(None))
        self.enc = enc
        self.spec = _Spec(enc, {id(b): c for b, c in zip(bv.cur.leaves, enc.cur.leaves, strict=True)})
        # Integer leaves are W-bit vectors here; a bit-vector leaf of the first encoding is the
        # low bits of its counterpart (the type constraints keep the value in range).
        self.pairs = [(b, z3.Extract(b.size() - 1, 0, c)) for b, c in zip(bv.cur.leaves, enc.cur.leaves, strict=True)
                      if not b.eq(c)]
        domain = [truth(c) for c in adapter.symbolic_domain(PreState(bv, Paths([])))]
        self.base = [enc.type_cur, *goods, *(self.translate(d) for d in domain)]

    def translate(self, f: Any) -> Any:
        """A formula over the first encoding's start state, over this encoding's."""
        return z3.substitute(f, *self.pairs) if self.pairs else f

    def call(self, call: tuple[Any, ...], done: list[tuple[list[Any], Step, dict[str, Any] | None]]) -> str | None:
        """Why the paths of `call` do not re-check, or None."""
        s = z3.SolverFor("QF_BV")
        s.add(*self.base)
        left = control.current().left()
        if left is not None:
            s.set("timeout", max(1, int(left * 1000)))
        pcs = [pc for pc, _, _ in done]
        bad = [_bad(self.spec, step, post) for _, step, post in done]
        checks = [("the paths do not cover every start state", z3.Not(self.translate(_decision_tree(pcs)))),
                  (f"a path of {call} is not a spec step", self.translate(_decision_tree(pcs, bad)))]
        for what, f in checks:
            control.check()
            s.push()
            s.add(f)
            r = s.check()
            s.pop()
            if r != z3.unsat:
                control.check()
                return what if r == z3.sat else f"{what}? ({s.reason_unknown()})"
        return None


class _Prover:
    def __init__(self, adapter: type[Adapter], chk: Checker, enc: Encoding) -> None:
        self.adapter, self.chk, self.enc = adapter, chk, enc
        self.spec = _Spec(enc)
        base = [enc.type_cur] + [enc.good(p.pred) for p in chk.model.invariants()]
        self.base = [b for b in base if b is not True]

    def handler(self, res: HandlerResult, calls: list[tuple[Any, ...]], recheck: _Recheck | None) -> None:
        paths = Paths(self.base)
        pre = PreState(self.enc, paths)
        paths.solver.add(*[truth(c) for c in self.adapter.symbolic_domain(pre)])
        try:
            for call in calls:
                control.note(f"call {res.calls + 1} of {len(calls)}, {res.paths:,} paths")
                done = []
                for pc, (step, post) in paths.explore(lambda c=call: self._run(pre, c)):  # type: ignore[misc]
                    res.paths += 1
                    mdl = self.violation(paths, step, post)
                    if mdl is not None:
                        self._refuted(res, call, mdl)
                        return
                    done.append((pc, step, post))
                if recheck is not None:
                    control.note(f"call {res.calls + 1} of {len(calls)}, re-check")
                    problem = recheck.call(call, done)
                    if problem is not None:
                        res.verdict, res.reason = "unknown", f"the re-check (uniform-width bit-vectors) failed: {problem}"
                        return
                res.calls += 1
        except Unsupported as e:
            res.verdict, res.reason = "unknown", str(e)
            return
        finally:
            res.queries += paths.queries
        res.verdict = "proved"
        if recheck is not None:
            res.recheck = "re-checked in the checked encoding"

    def violation(self, paths: Paths, step: Step, post: dict[str, Any] | None) -> z3.ModelRef | None:
        """A start state on the current path from which its step is not a spec step, or None."""
        return paths.witness(_bad(self.spec, step, post))

    def _run(self, pre: PreState, call: tuple[Any, ...]) -> tuple[Step, dict[str, Any] | None]:
        impl = self.adapter.symbolic(pre)
        try:
            step = impl.perform(call)
        except Exception as e:  # the code under test failed on this path: no spec allows that
            return Step(RAISED, result=f"raised {type(e).__name__}"), None
        return step, impl.abstract_symbolic()

    def _refuted(self, res: HandlerResult, call: tuple[Any, ...], mdl: z3.ModelRef) -> None:
        """Replay a symbolic counterexample on the real implementation: the interpreter must agree."""
        state, _ = self.enc.decode_state(mdl, self.enc.cur)
        chk = self.chk
        try:
            real = self.adapter.from_state(state)
            s = chk.encode(state)
            if chk.state_of(real) != s:
                raise ValueError("the implementation state built from it abstracts to another spec state")
        except (ValueError, KeyError, TypeError) as e:
            res.verdict, res.reason = "unknown", f"a counterexample could not be replayed ({e})"
            return
        step = _perform(real, call)
        try:
            problem = chk.check_packed(s, step, chk.state_of(real))
        except ValueError as e:
            problem = str(e)
        if problem is None:
            res.verdict = "unknown"
            res.reason = f"the symbolic counterexample {call} does not replay on the implementation " \
                         "(a defect of the symbolic executor)"
            return
        res.verdict = "refuted"
        res.counterexample = Counterexample(call, state, problem, step.result)


__all__ = ["Counterexample", "HandlerResult", "PreState", "ProofReport", "handler_names", "prove"]
