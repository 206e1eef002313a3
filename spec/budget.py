"""Fault budgets: how many fault steps a run may take, and of which faults.

Faults draw on a shared budget (`--faults N`, the single-fault model by default),
except those with a budget of their own, written in the spec (`fault crash
budget 1`, `fault lose budget unbounded`) or on the command line and in proof
scripts (`--faults crash=1,lose=3`, `under faults crash=1`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ftverify.spec import syntax as S
from ftverify.spec.errors import Span, SpecError
from ftverify.spec.model import MAX_FAULT_BUDGET, Model
from ftverify.spec.parser import parse_budget


@dataclass(frozen=True)
class FaultBudget:
    """How many fault steps a run may take.

    Faults draw on a shared budget (`--faults N`, the single-fault model by
    default), except those with their own: a count of their own
    (`fault crash budget 1`, `--faults crash=1`) or no limit at all
    (`budget unbounded`). A counted budget is a counter in the state; an
    unbounded fault is not counted.
    """

    shared: int
    own: tuple[tuple[str, int | None], ...] = ()  # fault -> its own budget, None: unbounded
    pooled: bool = True  # some fault draws on the shared budget

    def of(self, fault: str) -> int | str | None:
        """The fault's own budget (a count, or None: unbounded), or "shared"."""
        for name, n in self.own:
            if name == fault:
                return n
        return "shared"

    def __str__(self) -> str:
        own = [f"{n}={'unbounded' if b is None else b}" for n, b in self.own]
        return ", ".join(([str(self.shared)] if self.pooled or not own else []) + own)

    def to_json(self) -> Any:
        if not self.own:
            return self.shared
        return {"shared": self.shared, **{n: ("unbounded" if b is None else b) for n, b in self.own}}


BudgetLike = int | FaultBudget


def fault_budget(model: Model, budget: BudgetLike | None = None, own: dict[str, int | None] | None = None,
                 span: Span | None = None) -> FaultBudget:
    """The budget of a run: `budget` for the shared budget (int; None: the default), the faults'
    own budgets as the spec declares them, overridden by `own`. Raises SpecError at `span`."""
    if isinstance(budget, FaultBudget):
        if own is None:
            return budget
        budget = budget.shared
    where = span or model.span or Span(model.file, 1, 1, 1, 1)
    faults = {a.name: a for a in model.actions if a.is_fault}
    for name in own or {}:
        if name not in faults:
            raise SpecError(where, f"`{name}` is not a fault of spec {model.name}",
                            hint=f"its faults: {', '.join(faults) or 'none'}")
    resolved: list[tuple[str, int | None]] = []
    for name, a in faults.items():
        if own is not None and name in own:
            resolved.append((name, own[name]))
        elif a.budget is not None:
            resolved.append((name, None if a.budget == "unbounded" else int(a.budget)))
    shared_users = [n for n in faults if all(n != m for m, _ in resolved)]
    shared = (1 if shared_users else 0) if budget is None else budget
    if shared < 0 or any(n is not None and n < 0 for _, n in resolved):
        raise SpecError(where, "a fault budget cannot be negative")
    counted = (shared if shared_users else 0) + sum(n for _, n in resolved if n is not None)
    if counted > MAX_FAULT_BUDGET:
        raise SpecError(where, f"fault budget {FaultBudget(shared, tuple(resolved))}: at most {MAX_FAULT_BUDGET} "
                               "counted faults in all", hint="give a lossy fault `unbounded` instead of a count")
    return FaultBudget(shared, tuple(resolved), bool(shared_users))


def budget_for(model: Model, faults: int | str | S.BudgetSpec | None, span: Span | None = None) -> FaultBudget:
    """The fault budget of a run: `--faults N`, `--faults crash=1,lose=3`, `under faults ...`
    (text or parsed), or None for the spec's own (the single-fault model by default)."""
    if isinstance(faults, str):
        faults = parse_budget(faults)
    if isinstance(faults, int):
        faults = S.BudgetSpec(faults)
    spec = faults or S.BudgetSpec(None)
    return fault_budget(model, spec.shared, dict(spec.own) if spec.own else None, span)


