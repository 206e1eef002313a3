"""Symbolic execution of ordinary Python code over Z3 values, by re-execution.

Code under test runs unchanged on `SymInt`, `SymBool` and `SymEnum` values in
place of ints, bools and enum members. Arithmetic builds Z3 terms; where the code
needs a concrete answer (an `if`, a `while`, `and`/`or`, indexing a list with a
symbolic number) the value asks `Paths.decide`, which answers from the recorded
branch decisions of the current path, or, at a new branch, asks the solver which
answers are possible under the path condition and remembers the other one for a
later run. `Paths.explore` re-runs the code from the start once per path (Python
cannot fork a running frame), so every feasible path of the code is run exactly
once, with its path condition: a complete case split, not a sample.

Integers are exact: terms are the signed bit-vectors of `encode.BVArith`, which
widens every operation so that nothing wraps, and Python's bitwise operators on
(negative) ints agree with two's-complement ones on sign-extended vectors.

What the executor cannot follow (an operation it does not model, a solver that
gives up) raises `Unsupported`, a BaseException so that no `except Exception` in
the code under test swallows it: the caller reports `unknown`, never a verdict.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import z3
from ftverify.checker.engines import control
from ftverify.checker.engines.encode import BVArith

T = TypeVar("T")
A = BVArith()


class Unsupported(BaseException):
    """The symbolic executor cannot follow the code here: the answer is unknown."""


class Paths:
    """The paths of one piece of code under fixed assumptions (the states it starts from)."""

    def __init__(self, assumptions: Sequence[Any], solver: z3.Solver | None = None) -> None:
        self.solver = solver or z3.SolverFor("QF_BV")
        self.solver.add(*assumptions)
        self.pending: list[tuple[list[bool], z3.ModelRef]] = []
        self.model: z3.ModelRef | None = None  # satisfies the assumptions and the path condition so far
        self.prefix: list[bool] = []
        self.trail: list[bool] = []
        self.pc: list[Any] = []
        self.queries = 0
        self.paths = 0

    def feasible(self, *conds: Any) -> bool:
        """Is the path condition, with conds, satisfiable under the assumptions?"""
        return self.witness(*conds) is not None

    def witness(self, *conds: Any) -> z3.ModelRef | None:
        """A model of the assumptions, the path condition and conds, or None if there is none."""
        control.check()
        self.queries += 1
        left = control.current().left()
        if left is not None:
            self.solver.set("timeout", max(1, int(left * 1000)))
        self.solver.push()
        try:
            self.solver.add(*self.pc, *conds)
            r = self.solver.check()
            if r == z3.unknown:
                control.check()  # stopped (Ctrl-C, time limit): Interrupted, not a verdict
                raise Unsupported(f"the solver gave up ({self.solver.reason_unknown()})")
            return self.solver.model() if r == z3.sat else None
        finally:
            self.solver.pop()

    def decide(self, cond: Any) -> bool:
        """The value of a symbolic condition on this path (a branch point)."""
        c = z3.simplify(cond)
        if z3.is_true(c):
            return True
        if z3.is_false(c):
            return False
        k = len(self.trail)
        if k < len(self.prefix):
            b = self.prefix[k]
        else:
            # The current model says which side is possible; one query asks about the other.
            assert self.model is not None
            b = z3.is_true(self.model.eval(c, model_completion=True))
            other = self.witness(c if not b else z3.Not(c))
            if other is not None:
                self.pending.append(([*self.trail, not b], other))
        self.trail.append(b)
        self.pc.append(c if b else z3.Not(c))
        return b

    def concretise(self, term: Any) -> int:
        """A concrete value of an integer term on this path, one branch per value it may take."""
        # Candidates in a fixed order (not the model's), so that a re-run replays the same branches.
        w = term.size()
        if w > 12:
            raise Unsupported(f"using a {w}-bit symbolic integer as a concrete one")
        for v in [*range(1 << (w - 1)), *range(-1, -(1 << (w - 1)) - 1, -1)]:
            if self.decide(A.cmp("eq", term, A.val(v))):
                return v
        raise Unsupported("no value for a term on a feasible path")

    def explore(self, run: Callable[[], T]) -> Iterator[tuple[list[Any], T]]:
        """Run `run` once per feasible path: (path condition, what the run returned)."""
        self.trail, self.pc = [], []
        first = self.witness()
        if first is None:
            return  # no start state at all
        self.pending = [([], first)]
        while self.pending:
            self.prefix, self.model = self.pending.pop()
            self.trail, self.pc = [], []
            out = run()
            self.paths += 1
            yield list(self.pc), out


def term(x: Any) -> Any:
    """The bit-vector term of an int or SymInt (booleans count as 0 and 1, as in Python)."""
    if isinstance(x, SymInt):
        return x.t
    if isinstance(x, SymBool):
        return z3.If(x.t, A.val(1), A.val(0))
    if isinstance(x, bool | int):
        return A.val(int(x))
    raise Unsupported(f"an integer operation on {type(x).__name__}")


def truth(x: Any) -> Any:
    """The Z3 Boolean of a bool or SymBool."""
    if isinstance(x, SymBool):
        return x.t
    if isinstance(x, bool):
        return z3.BoolVal(x)
    raise Unsupported(f"a Boolean operation on {type(x).__name__}")


def ite(c: Any, a: Any, b: Any) -> Any:
    """`a if c else b` without a branch: an int-like value (SymInt unless c is concrete)."""
    if isinstance(c, bool):
        return a if c else b
    paths = c.paths
    x, y = A._align(term(a), term(b))
    return SymInt(paths, A.ite(c.t, x, y))


class SymBool:
    """A Boolean that is a Z3 term. Using it as a condition is a branch point. `leaf`: the
    encoding's leaf it was read from, if it is one (comparing it with that leaf needs no term)."""

    __slots__ = ("leaf", "paths", "t")

    def __init__(self, paths: Paths, t: Any, leaf: Any = None) -> None:
        self.paths, self.t, self.leaf = paths, t, leaf

    def __bool__(self) -> bool:
        return self.paths.decide(self.t)

    def _other(self, o: Any) -> Any:
        return o.t if isinstance(o, SymBool) else z3.BoolVal(o) if isinstance(o, bool) else None

    def __eq__(self, o: object) -> Any:  # type: ignore[override]
        x = self._other(o)
        return NotImplemented if x is None else SymBool(self.paths, self.t == x)

    def __ne__(self, o: object) -> Any:  # type: ignore[override]
        x = self._other(o)
        return NotImplemented if x is None else SymBool(self.paths, self.t != x)

    def __and__(self, o: Any) -> Any:
        x = self._other(o)
        return NotImplemented if x is None else SymBool(self.paths, z3.And(self.t, x))

    __rand__ = __and__

    def __or__(self, o: Any) -> Any:
        x = self._other(o)
        return NotImplemented if x is None else SymBool(self.paths, z3.Or(self.t, x))

    __ror__ = __or__

    def __xor__(self, o: Any) -> Any:
        x = self._other(o)
        return NotImplemented if x is None else SymBool(self.paths, z3.Xor(self.t, x))

    __rxor__ = __xor__

    def negate(self) -> SymBool:
        """`not self` without a branch."""
        return SymBool(self.paths, z3.Not(self.t))

    def __hash__(self) -> int:
        return hash(bool(self))

    def __int__(self) -> int:
        return int(bool(self))

    __index__ = __int__

    def __repr__(self) -> str:
        return f"SymBool({self.t})"


def _other_number(o: Any) -> bool:
    """A number that is no int (a float, a fraction): Python would compute with it, we cannot."""
    if isinstance(o, numbers.Number) and not isinstance(o, int):
        raise Unsupported(f"arithmetic with a {type(o).__name__}")
    return False


def _binary(op: Callable[[Any, Any], Any]) -> Callable[[SymInt, Any], Any]:
    def f(self: SymInt, o: Any) -> Any:
        if _other_number(o) or not isinstance(o, SymInt | SymBool | int):
            return NotImplemented
        return SymInt(self.paths, op(self.t, term(o)))
    return f


def _reflected(op: Callable[[Any, Any], Any]) -> Callable[[SymInt, Any], Any]:
    def f(self: SymInt, o: Any) -> Any:
        if _other_number(o) or not isinstance(o, SymBool | int):
            return NotImplemented
        return SymInt(self.paths, op(term(o), self.t))
    return f


def _bitwise(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def f(a: Any, b: Any) -> Any:
        x, y = A._align(a, b)
        return op(x, y)
    return f


def _compare(name: str) -> Callable[[SymInt, Any], Any]:
    def f(self: SymInt, o: Any) -> Any:
        if _other_number(o) or not isinstance(o, SymInt | SymBool | int):
            return NotImplemented
        return SymBool(self.paths, A.cmp(name, self.t, term(o)))
    return f


def _by_constant(name: str) -> Callable[[SymInt, Any], Any]:
    def f(self: SymInt, o: Any) -> Any:
        if isinstance(o, SymInt | SymBool):
            o = o.paths.concretise(term(o))
        if _other_number(o) or not isinstance(o, int):
            return NotImplemented
        if name in ("floordiv", "mod") and o <= 0:
            raise Unsupported(f"{name} by {o}")
        if name in ("shl", "shr") and o < 0:
            raise ValueError("negative shift count")
        return SymInt(self.paths, getattr(A, name)(self.t, o))
    return f


class SymInt:
    """An integer that is a Z3 term (exact: never wraps). Using it where Python needs a
    concrete int (an index, a hash, a truth value) is a branch point."""

    __slots__ = ("leaf", "paths", "t")

    def __init__(self, paths: Paths, t: Any, leaf: Any = None) -> None:
        self.paths, self.t, self.leaf = paths, t, leaf

    __add__ = _binary(A.add)
    __radd__ = _reflected(A.add)
    __sub__ = _binary(A.sub)
    __rsub__ = _reflected(A.sub)
    __mul__ = _binary(A.mul)
    __rmul__ = _reflected(A.mul)
    __and__ = _binary(_bitwise(lambda x, y: x & y))
    __rand__ = _reflected(_bitwise(lambda x, y: x & y))
    __or__ = _binary(_bitwise(lambda x, y: x | y))
    __ror__ = _reflected(_bitwise(lambda x, y: x | y))
    __xor__ = _binary(_bitwise(lambda x, y: x ^ y))
    __rxor__ = _reflected(_bitwise(lambda x, y: x ^ y))
    __floordiv__ = _by_constant("floordiv")
    __mod__ = _by_constant("mod")
    __lshift__ = _by_constant("shl")
    __rshift__ = _by_constant("shr")
    __eq__ = _compare("eq")  # type: ignore[assignment]
    __ne__ = _compare("ne")  # type: ignore[assignment]
    __lt__ = _compare("lt")
    __le__ = _compare("le")
    __gt__ = _compare("gt")
    __ge__ = _compare("ge")

    def __neg__(self) -> SymInt:
        return SymInt(self.paths, A.neg(self.t))

    def __invert__(self) -> SymInt:
        return SymInt(self.paths, ~self.t)

    def __pos__(self) -> SymInt:
        return self

    def __abs__(self) -> SymInt:
        return SymInt(self.paths, A.abs(self.t))

    def __bool__(self) -> bool:
        return self.paths.decide(A.cmp("ne", self.t, A.val(0)))

    def __int__(self) -> int:
        return self.paths.concretise(self.t)

    __index__ = __int__

    def __hash__(self) -> int:
        return hash(int(self))

    def __str__(self) -> str:
        return str(int(self))

    def __format__(self, spec: str) -> str:
        return format(int(self), spec)

    def __repr__(self) -> str:
        return f"SymInt({self.t})"


class SymEnum:
    """A member of an enumeration that is a Z3 term (the encoding's leaf)."""

    __slots__ = ("leaf", "members", "paths", "t", "value_of")

    def __init__(self, paths: Paths, t: Any, members: Sequence[str], value_of: Callable[[str], Any],
                 leaf: Any = None) -> None:
        self.paths, self.t, self.members, self.value_of, self.leaf = paths, t, tuple(members), value_of, leaf

    def is_(self, member: str) -> SymBool:
        return SymBool(self.paths, self.t == self.value_of(member))

    def concrete(self) -> str:
        """Which member it is on this path (one branch per possible member)."""
        for m in self.members:
            if self.is_(m):
                return m
        raise Unsupported("an enumeration leaf outside its members")

    def __repr__(self) -> str:
        return f"SymEnum({self.t})"


__all__ = ["Paths", "SymBool", "SymEnum", "SymInt", "Unsupported", "ite", "term", "truth"]
