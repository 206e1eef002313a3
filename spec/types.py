"""The types of the .ftv language and how their values are represented.

Every value at run time is a Python int:

* scalars (`bool`, ranges, `bv[n]`, enums) are their own value (an enum value is
  its member's index; a bool is 0 or 1);
* composites (records, maps, sets, queues) are *packed*: their scalar leaves laid
  side by side as bit fields, each leaf stored as its *code* (the value minus the
  range's lower bound), so that two composite values are equal exactly when their
  packed ints are equal. A set is a bit mask over its element domain; a queue is
  its length followed by its elements, unused slots zero.

The whole state is packed the same way (see `interp.StateLayout`), which keeps a
state in one Python int and makes hashing and comparing states cheap.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from itertools import product
from typing import Any

import msgspec

# Counts of values above which a domain is not enumerated (quantifiers,
# parameters, map keys and set elements must range over small finite types).
MAX_DOMAIN = 1 << 16
# Elements of a set's type (one bit each in the packed value).
MAX_SET_DOMAIN = 256


class BoolT(msgspec.Struct, frozen=True):
    def __str__(self) -> str:
        return "bool"


class IntT(msgspec.Struct, frozen=True):
    """A range `lo..hi`; for an expression, the interval its values lie in."""

    lo: int
    hi: int

    def __str__(self) -> str:
        return f"{self.lo}..{self.hi}"


class BVT(msgspec.Struct, frozen=True):
    width: int

    def __str__(self) -> str:
        return f"bv[{self.width}]"


class EnumT(msgspec.Struct, frozen=True):
    name: str
    members: tuple[str, ...]

    def __str__(self) -> str:
        return self.name


class RecordT(msgspec.Struct, frozen=True):
    fields: tuple[tuple[str, Type], ...]

    def field_type(self, name: str) -> Type | None:
        for n, t in self.fields:
            if n == name:
                return t
        return None

    def __str__(self) -> str:
        if is_tuple([n for n, _ in self.fields]):
            return "tuple[" + ", ".join(str(t) for _, t in self.fields) + "]"
        return "{ " + ", ".join(f"{n}: {t}" for n, t in self.fields) + " }"


class MapT(msgspec.Struct, frozen=True):
    key: Type
    value: Type

    def __str__(self) -> str:
        return f"[{self.key}] {self.value}"


class SetT(msgspec.Struct, frozen=True):
    elem: Type

    def __str__(self) -> str:
        return f"set[{self.elem}]"


class QueueT(msgspec.Struct, frozen=True):
    elem: Type
    capacity: int

    def __str__(self) -> str:
        return f"queue[{self.elem}, {self.capacity}]"


class Keyed(IntT, frozen=True):
    """A composite value where a scalar is needed (a set element, a map key, a bound or parameter
    type), represented by its index among the values of its type: every engine sees a range
    `0..n-1`, and the type checker turns what the spec does with the value into arithmetic."""


class KeyT(Keyed, frozen=True):
    """A record of scalar fields, by its index (mixed radix over the fields, the first varying
    fastest); field reads and record literals become that arithmetic."""

    record: RecordT = RecordT(())

    def __str__(self) -> str:
        return str(self.record)


class SetKeyT(Keyed, frozen=True):
    """A set of a small scalar type, by its bit mask (bit i: the i-th value is a member); read as a
    set wherever the spec uses it (`action grant(s: set[Res])`, `exists s: set[Res]. ...`)."""

    elem: Type = BoolT()

    def __str__(self) -> str:
        return f"set[{self.elem}]"


Type = BoolT | IntT | BVT | EnumT | RecordT | MapT | SetT | QueueT
ScalarT = BoolT | IntT | BVT | EnumT

BOOL = BoolT()


def key_type(t: RecordT) -> KeyT | None:
    """The key form of a record whose fields are all scalars (None if one is not)."""
    if not t.fields or not all(is_scalar(ft) and not isinstance(ft, KeyT) for _, ft in t.fields):
        return None
    n = 1
    for _, ft in t.fields:
        n *= domain_size(ft)
    return KeyT(0, n - 1, t)


def key_fields(t: KeyT) -> list[tuple[str, Type, int, int]]:
    """(name, type, radix, size) of each field of a key: field i is (index // radix) % size."""
    out, radix = [], 1
    for n, ft in t.record.fields:
        size = domain_size(ft)
        out.append((n, ft, radix, size))
        radix *= size
    return out


def is_tuple(names: list[str]) -> bool:
    """Fields named 1, 2, ... (at least two): a tuple, written `(a, b)` and `tuple[A, B]`."""
    return len(names) >= 2 and names == [str(i) for i in range(1, len(names) + 1)]


def field_text(base: str, name: str) -> str:
    """A field as the spec reads it: `r.f`, and for a tuple's fields 1, 2, ... `t[1]`."""
    return f"{base}[{name}]" if name.isdigit() else f"{base}.{name}"


def is_scalar(t: Type) -> bool:
    return isinstance(t, BoolT | IntT | BVT | EnumT)


def domain_size(t: Type) -> int:
    """The number of values of a scalar type (the ones that may index a map)."""
    match t:
        case BoolT():
            return 2
        case IntT(lo, hi):
            return hi - lo + 1
        case BVT(w):
            return 1 << w
        case EnumT(_, members):
            return len(members)
    raise TypeError(f"{t} is not a scalar type")


def domain_values(t: Type) -> range:
    """The values of a scalar type, in order."""
    match t:
        case BoolT():
            return range(2)
        case IntT(lo, hi):
            return range(lo, hi + 1)
        case BVT(w):
            return range(1 << w)
        case EnumT(_, members):
            return range(len(members))
    raise TypeError(f"{t} is not a scalar type")


def ordinal(t: Type, value: int) -> int:
    """The position of a scalar value in its type's domain (map slot, set bit)."""
    return value - t.lo if isinstance(t, IntT) else int(value)


@functools.cache  # types are frozen: their widths never change
def width(t: Type) -> int:
    """Bits needed for the packed code of a value of type t."""
    match t:
        case BoolT():
            return 1
        case IntT(lo, hi):
            return (hi - lo).bit_length()
        case BVT(w):
            return w
        case EnumT(_, members):
            return (len(members) - 1).bit_length()
        case RecordT(fields):
            return sum(width(ft) for _, ft in fields)
        case MapT(k, v):
            return domain_size(k) * width(v)
        case SetT(e):
            return domain_size(e)
        case QueueT(e, n):
            return n.bit_length() + n * width(e)
    raise TypeError(f"unknown type {t}")


def field_offset(t: RecordT, name: str) -> int:
    off = 0
    for n, ft in t.fields:
        if n == name:
            return off
        off += width(ft)
    raise KeyError(name)


def queue_len_width(t: QueueT) -> int:
    return t.capacity.bit_length()


# ---------------------------------------------------------------- codes
def to_code(t: Type, value: int) -> int:
    """The packed code of a value: a range value is stored relative to its lower bound."""
    return value - t.lo if isinstance(t, IntT) else int(value)


def from_code(t: Type, code: int) -> int:
    return code + t.lo if isinstance(t, IntT) else code


def code_values(t: Type) -> Iterator[int]:
    """Every canonical packed code of type t (what a free variable ranges over)."""
    match t:
        case BoolT() | IntT() | BVT() | EnumT():
            yield from range(domain_size(t))
        case RecordT(fields):
            widths = [width(ft) for _, ft in fields]
            for combo in product(*(list(code_values(ft)) for _, ft in fields)):
                v, off = 0, 0
                for c, w in zip(combo, widths, strict=True):
                    v |= c << off
                    off += w
                yield v
        case MapT(k, vt):
            wv = width(vt)
            for combo in product(list(code_values(vt)), repeat=domain_size(k)):
                v = 0
                for i, c in enumerate(combo):
                    v |= c << (i * wv)
                yield v
        case SetT(e):
            yield from range(1 << domain_size(e))
        case QueueT(e, n):
            lw, ew = queue_len_width(t), width(e)
            elems = list(code_values(e))
            for length in range(n + 1):
                for combo in product(elems, repeat=length):
                    v = length
                    for i, c in enumerate(combo):
                        v |= c << (lw + i * ew)
                    yield v
        case _:
            raise TypeError(f"unknown type {t}")


def code_count(t: Type) -> int:
    """How many canonical codes type t has (the size of its domain)."""
    match t:
        case BoolT() | IntT() | BVT() | EnumT():
            return domain_size(t)
        case RecordT(fields):
            n = 1
            for _, ft in fields:
                n *= code_count(ft)
            return n
        case MapT(k, vt):
            return code_count(vt) ** domain_size(k)
        case SetT(e):
            return 1 << domain_size(e)
        case QueueT(e, n):
            m = code_count(e)
            return sum(m**i for i in range(n + 1))
    raise TypeError(f"unknown type {t}")


# ---------------------------------------------------------------- values for people
def decode(t: Type, code: int) -> Any:
    """A packed code as a plain Python value: bool, int, enum member name, dict, frozenset or list."""
    match t:
        case BoolT():
            return bool(code)
        case KeyT() | SetKeyT():
            return decode_scalar(t, code)
        case IntT(lo, _):
            return code + lo
        case BVT():
            return code
        case EnumT(_, members):
            return members[code] if 0 <= code < len(members) else f"<{code}>"
        case RecordT(fields):
            out, off = {}, 0
            for n, ft in fields:
                w = width(ft)
                out[n] = decode(ft, (code >> off) & ((1 << w) - 1))
                off += w
            return out
        case MapT(k, vt):
            wv = width(vt)
            return MapValue(
                (decode_scalar(k, key), decode(vt, (code >> (i * wv)) & ((1 << wv) - 1)))
                for i, key in enumerate(domain_values(k))
            )
        case SetT(e):
            return frozenset(decode_scalar(e, v) for i, v in enumerate(domain_values(e)) if code >> i & 1)
        case QueueT(e, _):
            lw, ew = queue_len_width(t), width(e)
            length = code & ((1 << lw) - 1)
            return [decode(e, (code >> (lw + i * ew)) & ((1 << ew) - 1)) for i in range(length)]
    raise TypeError(f"unknown type {t}")


def decode_scalar(t: Type, value: int) -> Any:
    """A scalar run-time value (not a code) as a plain Python value."""
    match t:
        case SetKeyT(elem=e):
            return frozenset(decode_scalar(e, v) for i, v in enumerate(domain_values(e)) if value >> i & 1)
        case KeyT():
            return RecordValue((n, decode_scalar(ft, domain_values(ft)[(value // r) % size]))
                               for n, ft, r, size in key_fields(t))
        case BoolT():
            return bool(value)
        case EnumT(_, members):
            return members[value]
        case _:
            return value


def format_value(v: Any) -> str:
    """A decoded value in .ftv syntax (as a user would write it)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | str):
        return str(v)
    if isinstance(v, frozenset):
        return "{" + ", ".join(format_value(x) for x in sorted(v, key=sort_key)) + "}"
    if isinstance(v, list):
        return "<" + ", ".join(format_value(x) for x in v) + ">"
    if isinstance(v, MapValue):
        return "[" + ", ".join(f"{format_value(k)}: {format_value(x)}" for k, x in v.items()) + "]"
    if isinstance(v, dict):
        if is_tuple(list(v)):
            return "(" + ", ".join(format_value(x) for x in v.values()) + ")"
        return "{" + ", ".join(f"{k}: {format_value(x)}" for k, x in v.items()) + "}"
    return repr(v)


class MapValue(dict):  # type: ignore[type-arg]
    """A decoded map value (a plain dict is a decoded record)."""


class RecordValue(dict):  # type: ignore[type-arg]
    """A decoded record that is a set element or a map key: hashable, by its fields."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self.items()))


def key_index(t: KeyT | SetKeyT, v: Any) -> int:
    """The index of a plain record value (a dict of plain field values) among the key's records,
    or the bit mask of a plain set value (a frozenset of plain values)."""
    if isinstance(t, SetKeyT):
        plain = [decode_scalar(t.elem, x) for x in domain_values(t.elem)]
        return sum(1 << plain.index(x) for x in v)
    index = 0
    for n, ft, r, _ in key_fields(t):
        x = v[n]
        value = ft.members.index(x) if isinstance(ft, EnumT) else int(x)
        index += ordinal(ft, value) * r
    return index


def sort_key(x: Any) -> Any:
    """The order in which a set's members are printed: scalars by value, records and sets (members
    of a set of records, of a set of sets) by their text."""
    if isinstance(x, dict | frozenset):
        return (str(type(x)), format_value(x))
    return (str(type(x)), x)
