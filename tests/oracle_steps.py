"""What the test oracles share: the steps of a state (every enabled action instance whose update
evaluates; a step that fails to evaluate is no step), read straight off the interpreter, and
predicates that count a failure to evaluate as false."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ftverify.spec.compile import EvalError
from ftverify.spec.interp import Instance, Interpreter


def holds(f: Callable[[int], object], s: int) -> bool:
    """f(s), a failure to evaluate counting as false."""
    try:
        return bool(f(s))
    except EvalError:
        return False


def steps(interp: Interpreter, s: int) -> Iterator[tuple[int, Instance, int]]:
    """(instance index, instance, successor) for each step from s."""
    for k, inst in enumerate(interp.instances):
        try:
            if inst.guard is not None and not inst.guard(s):
                continue
            t = inst.apply(s)
        except EvalError:
            continue
        yield k, inst, t
