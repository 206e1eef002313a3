"""Symmetry reduction for the explicit engine: `symmetric enum Replica { a, b, c }`.

A symmetric enum's members are never named by the spec (the type checker sees to
that), so renaming them maps runs to runs and properties to themselves. The
explorer then stores one state per class: the *canonical* one, the least packed
int among the renamings of a state (every permutation of every symmetric enum,
applied to each variable: scalar leaves, map keys, set elements, records used as
keys). Counts are "up to symmetry"; verdicts are the same. A trace is found on the
canonical states and made concrete before it is printed (`concrete_path`): from a
real initial state, at each step the action instance whose successor has the next
canonical form; the run is then renamed so that it ends in the very state the
search found. Every trace is an ordinary run, replayed on the interpreter.

Used only where it is sound and useful: the model declares a symmetric enum, no
guard or update has a run-time check inside `forall`/`exists` over it (those stop
at the first deciding member, so whether an error is met would depend on the
members' order), and no liveness property is asked for (fairness is per action
instance, which renaming does not preserve).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import permutations, product
from math import factorial

from ftverify.spec import model as M
from ftverify.spec.compile import EvalError
from ftverify.spec.interp import Interpreter
from ftverify.spec.layout import Slot
from ftverify.spec.types import (
    EnumT,
    KeyT,
    MapT,
    QueueT,
    RecordT,
    SetKeyT,
    SetT,
    Type,
    domain_size,
    key_fields,
    queue_len_width,
    width,
)

# Renamings tried per state; beyond this the canonical form costs more than it saves.
MAX_GROUP = 720

Renaming = dict[str, tuple[int, ...]]  # enum name -> the new index of each member
CodeFn = Callable[[int], int]
Move = tuple[int, list[tuple[int, int, CodeFn]]]  # the bits a renaming keeps, and how it rewrites each slot


def symmetric_enums(model: M.Model) -> list[EnumT]:
    return [t for t in model.enums if isinstance(t, EnumT) and t.name in model.symmetric]


def why_not(interp: Interpreter, wanted: Sequence[str] | None) -> str | None:
    """Why symmetry cannot be used for this exploration (None: it can)."""
    model = interp.model
    enums = symmetric_enums(model)
    if not enums:
        return "no symmetric enum"
    size = 1
    for e in enums:
        size *= factorial(len(e.members))
    if size > MAX_GROUP:
        return f"{size} renamings per state, more than {MAX_GROUP}"
    where = _order_dependent_check(model, {e.name for e in enums})
    if where is not None:
        return f"{where} has a run-time check inside forall/exists over a symmetric enum " \
               "(whether it fails would depend on the members' order)"
    if any(p.kind in M.LIVENESS_KINDS and (wanted is None or p.name in wanted) for p in model.properties):
        return "liveness is checked on the full graph (fairness is per action instance)"
    return None


class Symmetry:
    """The canonical form of the packed states of one interpreter.

    The canonical form is the least renaming of a state among a set of *candidate* renamings
    that depends only on the state's class: those that put the members in the order of a
    signature that renaming carries along with each member (its entry in each map keyed by
    the enum, its bit in each set of it, whether a variable of the enum holds it). Ties are
    tried in every order. Usually one or two renamings are tried, not every one of n!.
    """

    def __init__(self, interp: Interpreter) -> None:
        self.interp = interp
        self.enums = symmetric_enums(interp.model)
        names = [e.name for e in self.enums]
        self.description = ", ".join(names)
        self.group_size = 1
        for e in self.enums:
            self.group_size *= factorial(len(e.members))
        self._identity = tuple(tuple(range(len(e.members))) for e in self.enums)
        self._moves: dict[tuple[tuple[int, ...], ...], Move | None] = {}  # built as renamings are met
        self._signatures = [_signature_parts(interp.layout.slots, e, set(names)) for e in self.enums]

    def _move(self, combo: tuple[tuple[int, ...], ...]) -> Move | None:
        """How one renaming (the new index of each member, per enum) rewrites a state (None: it does not)."""
        move = self._moves.get(combo, False)
        if move is False:
            layout = self.interp.layout
            rn = dict(zip((e.name for e in self.enums), combo, strict=True))
            keep, fns = (1 << layout.width) - 1, []
            for slot in layout.slots:
                fn = _renamer(slot.type, rn)
                if fn is not None:
                    mask = (1 << slot.width) - 1
                    keep &= ~(mask << slot.offset)
                    fns.append((slot.offset, mask, fn))
            move = self._moves[combo] = None if combo == self._identity else (keep, fns)
        return move  # type: ignore[return-value]

    def canon(self, s: int) -> int:
        per_enum = []
        for e, parts in zip(self.enums, self._signatures, strict=True):
            n = len(e.members)
            sig = [0] * n
            for off, stride, width_, mask in parts[0]:  # one field of every member's signature
                if stride:  # the member's entry in a map or set
                    for i in range(n):
                        sig[i] = (sig[i] << width_) | ((s >> (off + i * stride)) & mask)
                else:  # whether a variable of the enum holds the member
                    v = (s >> off) & mask
                    for i in range(n):
                        sig[i] = (sig[i] << 1) | (v == i)
            order = sorted(range(n), key=sig.__getitem__)
            # With every place of the enum in the signature, members that tie are alike: their
            # renamings give the same state, so one order is enough.
            per_enum.append([tuple(order)] if parts[1] else _orders(order, sig))
        best = None
        for orders in product(*per_enum):
            # `order` lists the old members by new position: member order[j] becomes j
            combo = tuple(_inverse(o) for o in orders)
            move = self._move(combo)
            t = s if move is None else self._rename(s, move)
            if best is None or t < best:
                best = t
        assert best is not None
        return best

    @staticmethod
    def _rename(s: int, move: Move) -> int:
        keep, fns = move
        t = s & keep
        for off, mask, fn in fns:
            t |= fn((s >> off) & mask) << off
        return t

    def concrete_path(self, path: Sequence[int]) -> list[int]:
        """A run of the real transition system through the classes of a canonical path."""
        if not path:
            return []
        out = [path[0]]  # the canonical form of an initial state is one (`init` is symmetric)
        for target in path[1:]:
            s = out[-1]
            for inst in self.interp.instances:
                try:
                    if inst.guard is not None and not inst.guard(s):
                        continue
                    t = inst.apply(s)
                except EvalError:  # a step that fails is no step (type_ok reports it)
                    continue
                if self.canon(t) == target:
                    out.append(t)
                    break
            else:  # pragma: no cover - the spec would not be symmetric
                raise AssertionError("no step into the next class of a canonical path")
        # Renaming a run gives a run: rename it to end in the canonical state itself.
        end = path[-1]
        if out[-1] != end:
            every = product(*(permutations(range(len(e.members))) for e in self.enums))
            moves = (m for m in map(self._move, every) if m is not None)
            move = next(m for m in moves if self._rename(out[-1], m) == end)
            out = [self._rename(s, move) for s in out]
        return out


def _signature_parts(slots: Sequence[Slot], e: EnumT, symmetric: set[str]) \
        -> tuple[list[tuple[int, int, int, int]], bool]:
    """Where each member's signature is read, (offset of member 0, stride, width, mask) per part
    (stride 0: whether the variable at the offset holds the member), and whether that is every
    place of the state where the symmetric enums appear. Only parts that a renaming moves with the
    member and leaves unchanged: its entry in a map keyed by the enum whose values mention no
    symmetric enum, its bit in a set of the enum, a variable of the enum."""
    parts, complete = [], True
    for slot in slots:
        t = slot.type
        if isinstance(t, MapT) and t.key == e and not _mentions(t.value, symmetric):
            w = width(t.value)
            parts.append((slot.offset, w, w, (1 << w) - 1))
        elif isinstance(t, SetT) and t.elem == e:
            parts.append((slot.offset, 1, 1, 1))
        elif t == e:
            parts.append((slot.offset, 0, 1, (1 << slot.width) - 1))
        elif _mentions(t, symmetric):
            complete = False
    return [p for p in parts if p[2]], complete and len(symmetric) == 1


def _mentions(t: Type, symmetric: set[str]) -> bool:
    match t:
        case EnumT(name=n):
            return n in symmetric
        case KeyT():
            return any(_mentions(ft, symmetric) for _, ft in t.record.fields)
        case SetKeyT(elem=e):
            return _mentions(e, symmetric)
        case RecordT(fields):
            return any(_mentions(ft, symmetric) for _, ft in fields)
        case MapT(k, v):
            return _mentions(k, symmetric) or _mentions(v, symmetric)
        case SetT(e) | QueueT(e, _):
            return _mentions(e, symmetric)
    return False


def _orders(order: list[int], sig: list[int]) -> list[tuple[int, ...]]:
    """Every ordering of the members by signature: the members of a tie in every order."""
    groups: list[list[int]] = []
    for i in order:
        if groups and sig[groups[-1][0]] == sig[i]:
            groups[-1].append(i)
        else:
            groups.append([i])
    return [tuple(x for g in combo for x in g) for combo in product(*(permutations(g) for g in groups))]


def _inverse(order: tuple[int, ...]) -> tuple[int, ...]:
    """The renaming that sends member order[j] to j."""
    out = [0] * len(order)
    for j, i in enumerate(order):
        out[i] = j
    return tuple(out)


def _order_dependent_check(model: M.Model, enums: set[str]) -> str | None:
    """The first action whose guard or update may fail inside a forall/exists over a symmetric enum."""
    def may_fail(e: M.Expr) -> bool:
        return any(isinstance(x, M.Check) or (isinstance(x, M.Builtin) and x.name in ("head", "pop", "push"))
                   for x in M.walk(e))

    for a in model.actions:
        for e in [a.guard, *(x for st in M.walk_stmts(a.body) for x in M.stmt_exprs(st))]:
            for q in M.walk(e):
                if isinstance(q, M.Quant) and q.kind in ("forall", "exists") and _mentions(q.var.type, enums) \
                        and may_fail(q.body):
                    return f"action {a.name}"
    return None


def _index_renaming(t: Type, rn: Renaming) -> tuple[int, ...] | None:
    """Where each value (by its ordinal) of a scalar type goes under a renaming (None: nowhere)."""
    if isinstance(t, EnumT):
        return rn.get(t.name)
    if isinstance(t, KeyT):
        fields = key_fields(t)
        moved = [rn.get(ft.name) if isinstance(ft, EnumT) else None for _, ft, _, _ in fields]
        if not any(m is not None for m in moved):
            return None
        table = []
        for i in range(t.hi + 1):
            j = 0
            for (_, _, r, size), m in zip(fields, moved, strict=True):
                o = (i // r) % size
                j += (m[o] if m is not None else o) * r
            table.append(j)
        return tuple(table)
    if isinstance(t, SetKeyT):  # a set by its bit mask: the members' bits move
        elems = _index_renaming(t.elem, rn)
        if elems is None:
            return None
        return tuple(sum(1 << elems[i] for i in range(len(elems)) if mask >> i & 1) for mask in range(t.hi + 1))
    return None


def _renamer(t: Type, rn: Renaming) -> CodeFn | None:
    """The function on packed codes of type t that a renaming induces (None: the identity)."""
    match t:
        case EnumT() | KeyT() | SetKeyT():
            table = _index_renaming(t, rn)
            return None if table is None else table.__getitem__
        case RecordT(fields):
            parts, off = [], 0
            for _, ft in fields:
                w = width(ft)
                fn = _renamer(ft, rn)
                if fn is not None:
                    parts.append((off, (1 << w) - 1, fn))
                off += w
            if not parts:
                return None

            def record(code: int) -> int:
                for o, mask, f in parts:
                    code = (code & ~(mask << o)) | (f((code >> o) & mask) << o)
                return code
            return record
        case MapT(k, vt):
            keys, values = _index_renaming(k, rn), _renamer(vt, rn)
            if keys is None and values is None:
                return None
            n, wv = domain_size(k), width(vt)
            mv = (1 << wv) - 1
            where = keys or tuple(range(n))

            def total_map(code: int) -> int:
                out = 0
                for i in range(n):
                    v = (code >> (i * wv)) & mv
                    out |= (values(v) if values is not None else v) << (where[i] * wv)
                return out
            return total_map
        case SetT(e):
            elems = _index_renaming(e, rn)
            if elems is None:
                return None
            pairs = list(enumerate(elems))

            def subset(code: int) -> int:
                out = 0
                for i, j in pairs:
                    if code >> i & 1:
                        out |= 1 << j
                return out
            return subset
        case QueueT(e, _):
            fn = _renamer(e, rn)
            if fn is None:
                return None
            lw, ew = queue_len_width(t), width(e)
            me = (1 << ew) - 1

            def queue(code: int) -> int:
                out = code & ((1 << lw) - 1)
                for i in range(out):  # the slots past the length stay zero
                    o = lw + i * ew
                    out |= fn((code >> o) & me) << o
                return out
            return queue
    return None
