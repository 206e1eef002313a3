"""The initial states of a model: every state satisfying `init`, enumerated without a blow-up."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product
from typing import TYPE_CHECKING

from ftverify.spec import model as M
from ftverify.spec.compile import (
    _C,
    Compiler,
    EvalError,
    Fn,
    _children,
    _Env,
    _mask,
)
from ftverify.spec.errors import SpecError
from ftverify.spec.types import (
    code_values,
    domain_size,
    domain_values,
    is_scalar,
    to_code,
    width,
)

if TYPE_CHECKING:
    from ftverify.spec.interp import Interpreter

# A `forall` of init over at most this many values is split into one conjunct per
# value, so that `forall i: I. a[i] == 0` pins every element on its own.
SPLIT_LIMIT = 1 << 16
# Limits on enumerating initial states (see `initial_states`).
MAX_INIT_COMBINATIONS = 2_000_000
MAX_INIT_STATES = 5_000_000


def _conjuncts(e: M.Expr, env: _Env) -> Iterator[tuple[M.Expr, _Env]]:
    """Split init into conjuncts, unrolling forall; exact because init is true only without errors."""
    if isinstance(e, M.Binary) and e.op == "and":
        yield from _conjuncts(e.left, env)
        yield from _conjuncts(e.right, env)
    elif isinstance(e, M.Quant) and e.kind == "forall" and domain_size(e.var.type) <= SPLIT_LIMIT:
        for v in domain_values(e.var.type):
            yield from _conjuncts(e.body, {**env, e.var.uid: _C(v)})
    else:
        yield e, env


def _bits_read(c: Compiler, e: M.Expr, env: _Env, out: list[tuple[int, int]]) -> None:
    """Bit ranges of the state e may read (whole variables where an index is computed)."""
    assert c.layout is not None
    p = c.path(e, env) if isinstance(e, M.VarRef | M.Index | M.Field) else None
    if p is not None:
        off, t = p
        if isinstance(off, int):
            out.append((off, width(t)))
        else:
            root = e
            while isinstance(root, M.Index | M.Field):
                root = root.base
            assert isinstance(root, M.VarRef)
            sl = c.layout.slot[root.name]
            out.append((sl.offset, sl.width))
        # the indices themselves
        x = e
        while isinstance(x, M.Index | M.Field):
            if isinstance(x, M.Index):
                _bits_read(c, x.index, env, out)
            x = x.base
        return
    if isinstance(e, M.Quant | M.MapLit | M.Let):
        # bound variables are unknown here: treat them as run-time values
        inner = {**env, e.var.uid: [None]}
        if isinstance(e, M.Let):
            _bits_read(c, e.value, env, out)
        _bits_read(c, e.body, inner, out)
        return
    if isinstance(e, M.VarRef):  # pragma: no cover - handled by path above
        return
    if isinstance(e, M.Faults):
        return  # zero in every initial state
    for k in _children(e):
        _bits_read(c, k, env, out)


def initial_states(interp: Interpreter) -> list[int]:
    """Every state satisfying init (a variable init leaves free ranges over its whole type).

    Init is split into conjuncts; each cell (scalar leaf) is linked to the
    conjuncts that read it, and only connected groups of cells are enumerated
    together, so independent constraints cost a sum, not a product. A conjunct
    `path == constant` pins its cells before enumeration.
    """
    layout, c = interp.layout, interp.compiler
    model = interp.model
    cells = layout.cells()
    cell_at: dict[int, int] = {}
    for i, cell in enumerate(cells):
        for b in range(cell.offset, cell.offset + cell.width):
            cell_at[b] = i
    conj = list(_conjuncts(model.init, {}))
    reads: list[set[int]] = []
    pinned: dict[int, int] = {}
    impossible = False
    for e, env in conj:
        ranges: list[tuple[int, int]] = []
        _bits_read(c, e, env, ranges)
        rs = {cell_at[b] for off, w in ranges for b in range(off, off + w) if b in cell_at}
        reads.append(rs)
        pin = _pin(c, e, env)
        if pin is not None:
            off, w, code = pin
            for i in {cell_at[b] for b in range(off, off + w) if b in cell_at}:
                cell = cells[i]
                v = (code >> (cell.offset - off)) & _mask(cell.width)
                if pinned.get(i, v) != v:
                    impossible = True
                pinned[i] = v
    if impossible:
        return []
    # Union-find over cells linked by a conjunct.
    parent = list(range(len(cells)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for rs in reads:
        rl = sorted(rs)
        for x in rl[1:]:
            parent[find(x)] = find(rl[0])
    groups: dict[int, list[int]] = {}
    for i in range(len(cells)):
        groups.setdefault(find(i), []).append(i)
    conj_fns = [c.fn(e, env) for e, env in conj]
    closed = [f for f, rs in zip(conj_fns, reads, strict=True) if not rs]
    for f in closed:
        if not _holds(f, 0):
            return []
    partials: list[list[int]] = []
    total = 1
    for root, members in groups.items():
        fs = [f for f, rs in zip(conj_fns, reads, strict=True) if rs and find(next(iter(rs))) == root]
        domains = []
        combos = 1
        for i in members:
            cell = cells[i]
            dom = [pinned[i]] if i in pinned else list(code_values(cell.type)) if not is_scalar(cell.type) \
                else list(range(domain_size(cell.type)))
            domains.append([(v << cell.offset) for v in dom])
            combos *= len(dom)
        if combos > MAX_INIT_COMBINATIONS:
            names = ", ".join(cells[i].path for i in members[:6]) + (" ..." if len(members) > 6 else "")
            raise SpecError(model.init.span, f"init leaves {combos} combinations of {names} to enumerate",
                            hint="pin these variables with `x == value` conjuncts, or split the constraint")
        found = []
        for combo in product(*domains):
            s = 0
            for bits in combo:
                s |= bits
            if all(_holds(f, s) for f in fs):
                found.append(s)
        if not found:
            return []
        partials.append(found)
        total *= len(found)
        if total > MAX_INIT_STATES:
            raise SpecError(model.init.span, f"init admits more than {MAX_INIT_STATES} initial states",
                            hint="constrain the variables init leaves free")
    states = [0]
    for group in partials:
        if len(group) == 1:
            g = group[0]
            states = [s | g for s in states]
        else:
            states = [s | g for s in states for g in group]
    return states


def _holds(f: Fn, s: int) -> bool:
    try:
        return bool(f(s))
    except EvalError:
        return False


def _pin(c: Compiler, e: M.Expr, env: _Env) -> tuple[int, int, int] | None:
    """(offset, width, code) when e is `path == constant` with a constant path."""
    if not (isinstance(e, M.Binary) and e.op == "eq"):
        return None
    for lhs, rhs in ((e.left, e.right), (e.right, e.left)):
        if isinstance(lhs, M.VarRef | M.Index | M.Field):
            p = c.path(lhs, env)
            if p is None or not isinstance(p[0], int):
                continue
            v = c.expr(rhs, env)
            if isinstance(v, _C):
                off, t = p
                try:
                    code = to_code(t, v.v)
                except (TypeError, ValueError):
                    return None
                if code < 0 or code > _mask(width(t)):
                    return None  # out of the type: no state satisfies it, the filter will say so
                if not is_scalar(t) or code < domain_size(t):
                    return off, width(t), code
    return None


