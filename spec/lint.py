"""Warnings about a typed model that type-checks but probably does not say what was meant."""

from __future__ import annotations

from ftverify.spec import model as M
from ftverify.spec.errors import Span


def assigned_variables(model: M.Model) -> set[str]:
    """The variables some action or fault assigns (wholly or in part)."""
    out: set[str] = set()
    for a in model.actions:
        for st in M.walk_stmts(a.body):
            if isinstance(st, M.Assign):
                e = st.target
                while isinstance(e, M.Index | M.Field):
                    e = e.base
                assert isinstance(e, M.VarRef)
                out.add(e.name)
    return out


def unassigned_variables(model: M.Model) -> list[tuple[Span, str]]:
    """Variables no action assigns: they keep their initial value on every run."""
    assigned = assigned_variables(model)
    return [(v.span, f"no action assigns `{v.name}`: it keeps its initial value on every run "
                     "(a ghost variable that is never updated, or a missing assignment?)")
            for v in model.vars if v.name not in assigned]
