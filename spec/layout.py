"""Where a state's parts live in its packed int: the variables' bit fields and the fault counters.

A state is one Python int: every variable's packed code at a fixed bit offset
(see `types` for how values are packed), and above them the fault counters.
Packed states are hashed and compared as ints, which keeps every engine cheap.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ftverify.spec import model as M
from ftverify.spec.budget import BudgetLike, fault_budget
from ftverify.spec.types import (
    BVT,
    BoolT,
    EnumT,
    IntT,
    Keyed,
    KeyT,
    MapT,
    QueueT,
    RecordT,
    SetKeyT,
    SetT,
    Type,
    code_count,
    decode,
    decode_scalar,
    domain_values,
    field_text,
    format_value,
    key_index,
    ordinal,
    queue_len_width,
    width,
)


def _mask(w: int) -> int:
    return (1 << w) - 1


# ---------------------------------------------------------------- state layout
@dataclass(frozen=True)
class Slot:
    """Where a variable lives in the packed state."""

    name: str
    type: Type
    offset: int
    width: int


@dataclass(frozen=True)
class Cell:
    """A scalar leaf of a variable (sets and queues count as one cell each)."""

    var: str
    path: str
    type: Type
    offset: int
    width: int


@dataclass(frozen=True)
class FaultCounter:
    """A counted fault budget in the packed state: the shared one ("faults") or a fault's own."""

    name: str
    cap: int
    offset: int  # from the bottom of the whole state
    width: int


class StateLayout:
    """Bit offsets of the variables, and the fault counters above them.

    The bits above the variables hold the fault counters, one per counted
    budget (the shared one, if any fault draws on it, then each fault with a
    count of its own); their value as one int is the state's *fault code*
    (`faults(s)`), which for the usual single shared budget is the number of
    faults taken.
    """

    def __init__(self, model: M.Model, budget: BudgetLike | None) -> None:
        self.model = model
        self.budget = fault_budget(model, budget)
        off = 0
        slots = []
        for v in model.vars:
            w = width(v.type)
            slots.append(Slot(v.name, v.type, off, w))
            off += w
        self.slots = tuple(slots)
        self.slot = {s.name: s for s in slots}
        self.vars_width = off
        self.faults_offset = off
        counters: list[FaultCounter] = []
        self.counter_of: dict[str, FaultCounter | None] = {}  # fault -> its counter (None: not counted)
        faults = [a.name for a in model.actions if a.is_fault]
        if any(self.budget.of(f) == "shared" for f in faults):
            counters.append(FaultCounter("faults", self.budget.shared, off, self.budget.shared.bit_length()))
            off += counters[-1].width
        for name, cap in self.budget.own:
            if cap is not None:
                counters.append(FaultCounter(name, cap, off, cap.bit_length()))
                off += counters[-1].width
        for f in faults:
            own = self.budget.of(f)
            self.counter_of[f] = next((c for c in counters if c.name == (f if own != "shared" else "faults")), None)
        self.counters = tuple(counters)
        self.faults_width = off - self.faults_offset
        self.width = off
        self.total_budget = sum(c.cap for c in counters)  # the `budget` of expressions

    def faults(self, s: int) -> int:
        """The state's fault code: its fault counters as one int (for one counter, the count)."""
        return s >> self.faults_offset

    def fault_counts(self, code: int) -> tuple[int, ...]:
        """The value of each counter (in `counters` order) of a fault code."""
        return tuple((code >> (c.offset - self.faults_offset)) & _mask(c.width) for c in self.counters)

    def fault_total(self, code: int) -> int:
        """How many counted faults a fault code says were taken."""
        return sum(self.fault_counts(code))

    def after_fault(self, code: int, fault: str) -> int:
        """The fault code after one more step of fault `fault`."""
        c = self.counter_of.get(fault)
        return code if c is None else code + (1 << (c.offset - self.faults_offset))

    def within_budget(self, code: int) -> bool:
        return code >> self.faults_width == 0 and all(n <= c.cap for n, c in zip(self.fault_counts(code),
                                                                                  self.counters, strict=True))

    def describe_faults(self, code: int) -> str:
        """A fault code for people: `1`, or `faults=1, crash=0` with several counters."""
        counts = self.fault_counts(code)
        if len(self.counters) <= 1:
            return str(counts[0] if counts else 0)
        return ", ".join(f"{c.name}={n}" for c, n in zip(self.counters, counts, strict=True))

    def var_code(self, s: int, name: str) -> int:
        sl = self.slot[name]
        return (s >> sl.offset) & _mask(sl.width)

    def decode(self, s: int) -> dict[str, Any]:
        """A state as {variable: plain Python value}."""
        return {sl.name: decode(sl.type, (s >> sl.offset) & _mask(sl.width)) for sl in self.slots}

    def encode(self, values: dict[str, Any], faults: int = 0) -> int:
        """The packed state of {variable: plain Python value} (the inverse of decode)."""
        s = 0
        for sl in self.slots:
            if sl.name not in values:
                raise KeyError(f"no value for state variable {sl.name}")
            s |= encoder(sl.type)(values[sl.name]) << sl.offset
        return s | (faults << self.faults_offset)

    def cells(self) -> list[Cell]:
        out: list[Cell] = []
        for sl in self.slots:
            _cells_of(sl.name, sl.name, sl.type, sl.offset, out)
        return out

    def state_space_bound(self) -> int:
        n = 1
        for sl in self.slots:
            n *= code_count(sl.type)
        for c in self.counters:
            n *= c.cap + 1
        return n


def _cells_of(var: str, path: str, t: Type, off: int, out: list[Cell]) -> None:
    match t:
        case RecordT(fields):
            for n, ft in fields:
                _cells_of(var, field_text(path, n), ft, off, out)
                off += width(ft)
        case MapT(k, vt):
            wv = width(vt)
            for i, key in enumerate(domain_values(k)):
                _cells_of(var, f"{path}[{key_text(k, key)}]", vt, off + i * wv, out)
        case _:
            out.append(Cell(var, path, t, off, width(t)))


def key_text(t: Type, v: int) -> str:
    """A map key or set element (a value of `domain_values(t)`) as written in a cell's path."""
    if isinstance(t, Keyed):
        return format_value(decode_scalar(t, v))
    if isinstance(t, EnumT):
        return t.members[v]
    if isinstance(t, BoolT):
        return "true" if v else "false"
    return str(v)


def encode_value(t: Type, v: Any) -> int:
    """The packed code of a plain Python value of type t (as `decode` returns them)."""
    match t:
        case BoolT():
            if not isinstance(v, bool | int) or v not in (0, 1):
                raise ValueError(f"{v!r} is not a bool")
            return int(v)
        case KeyT():
            if not isinstance(v, dict) or set(v) != {n for n, _ in t.record.fields}:
                raise ValueError(f"{v!r} is not a record of {t}")
            for n, ft in t.record.fields:
                encode_value(ft, v[n])  # each field of its type, or a ValueError
            return key_index(t, v)
        case SetKeyT(elem=e):
            return encode_value(SetT(e), v)
        case IntT(lo, hi):
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                raise ValueError(f"{v!r} is not in {t}")
            return v - lo
        case BVT(w):
            if not isinstance(v, int) or not 0 <= v < (1 << w):
                raise ValueError(f"{v!r} is not a {t}")
            return v
        case EnumT(_, members):
            if isinstance(v, str) and v in members:
                return members.index(v)
            raise ValueError(f"{v!r} is not a member of {t}")
        case RecordT(fields):
            code, off = 0, 0
            for n, ft in fields:
                code |= encode_value(ft, v[n]) << off
                off += width(ft)
            return code
        case MapT(k, vt):
            wv = width(vt)
            code = 0
            for i, key in enumerate(domain_values(k)):
                key_v = decode_scalar(k, key)
                code |= encode_value(vt, v[key_v]) << (i * wv)
            return code
        case SetT(e):
            code = 0
            for x in v:
                code |= 1 << ordinal(e, _unplain(e, x))
            return code
        case QueueT(e, n):
            items = list(v)
            if len(items) > n:
                raise ValueError(f"{len(items)} elements do not fit {t}")
            lw, ew = queue_len_width(t), width(e)
            code = len(items)
            for i, x in enumerate(items):
                code |= encode_value(e, x) << (lw + i * ew)
            return code
    raise TypeError(f"unknown type {t}")


@functools.cache
def encoder(t: Type) -> Callable[[Any], int]:
    """`encode_value` for one type, with its layout worked out once (refinement testing
    encodes an implementation's state after every call)."""
    match t:
        case RecordT(fields):
            parts, off = [], 0
            for n, ft in fields:
                parts.append((n, off, encoder(ft)))
                off += width(ft)

            def record(v: Any) -> int:
                code = 0
                for n, o, enc in parts:
                    code |= enc(v[n]) << o
                return code
            return record
        case MapT(k, vt):
            wv, sub = width(vt), encoder(vt)
            keys = [(decode_scalar(k, key), i * wv) for i, key in enumerate(domain_values(k))]

            def total_map(v: Any) -> int:
                code = 0
                for key, o in keys:
                    code |= sub(v[key]) << o
                return code
            return total_map
        case KeyT() | SetKeyT():
            return lambda v: encode_value(t, v)
        case IntT(lo, hi):
            def integer(v: Any) -> int:
                if type(v) is not int or not lo <= v <= hi:
                    raise ValueError(f"{v!r} is not in {t}")
                return v - lo
            return integer
        case BVT(w):
            top = 1 << w

            def bitvector(v: Any) -> int:
                if type(v) is not int or not 0 <= v < top:
                    raise ValueError(f"{v!r} is not a {t}")
                return v
            return bitvector
        case BoolT():
            codes = {False: 0, True: 1}

            def boolean(v: Any) -> int:
                if type(v) is not bool:
                    return encode_value(t, v)  # 0 and 1 are accepted, anything else said
                return codes[v]
            return boolean
        case EnumT(_, members):
            index = {m: i for i, m in enumerate(members)}

            def member(v: Any) -> int:
                code = index.get(v) if isinstance(v, str) else None
                if code is None:
                    raise ValueError(f"{v!r} is not a member of {t}")
                return code
            return member
    return functools.partial(encode_value, t)


def _unplain(t: Type, x: Any) -> int:
    if isinstance(t, Keyed):
        return encode_value(t, x)
    if isinstance(t, EnumT):
        return t.members.index(x)
    return int(x)


