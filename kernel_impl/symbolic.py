"""The kernel built from a spec state: concretely (to replay a counterexample) and
symbolically (for `ftverify refine --impl ... --prove`).

`concrete_kernel` is the inverse of the abstraction: a real `Kernel` whose
`abstract()` is the given spec state, with the derivation tree's child lists in
slot order.

`SymbolicKernel` builds the same kernel lazily from a symbolic spec state
(`implproof.PreState`): nothing exists until the code reads it. Reading a slot
branches on whether it holds a capability (and on which object); reading an
entry's `parent` branches on the parent slot; reading its `children` branches on
which slots name it as parent (appending to a list nobody read does not). A
register, a frame's word, a capability's rights and badge stay symbolic. So one
run of a handler explores only the cases the handler can tell apart, and every
slot it never looked at keeps its symbolic value in the abstraction afterwards.
Parent pointers are object references, as in the real kernel: an entry nobody
read that names slot p as parent points at whatever entry was in p, wherever
that entry is now.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping, MutableSequence
from typing import TYPE_CHECKING, Any

from ftverify.checker.engines.conformance import Step
from ftverify.checker.engines.symexec import SymBool, ite
from ftverify.kernel_impl.kernel import CTE, Capability, Kernel, KernelObject

if TYPE_CHECKING:
    from ftverify.checker.engines.implproof import PreState
    from ftverify.kernel_impl.abstraction import KernelAdapter

OBJECTS = ("EP0", "FR0", "FR1")  # the spec's Obj enumeration


def odd(r: Any) -> Any:
    """The parity bit of a rights value (an int, or a SymBool for a SymInt)."""
    return ((r ^ (r >> 1) ^ (r >> 2)) & 1) == 1


def objects_of(k: Kernel) -> dict[str, KernelObject]:
    return {o.name: o for o in (k.ep0, *k.frames)}


# ------------------------------------------------------------ concrete
def concrete_kernel(adapter: KernelAdapter, state: dict[str, Any]) -> None:
    """Make adapter's kernel the one whose abstraction is `state` (a decoded spec state)."""
    k = adapter.kernel
    per, n = adapter.per, adapter.nslots
    objs = objects_of(k)
    entries: dict[int, CTE] = {}
    for s in range(n):
        e = state["slots"][s]
        if e["cap"]["valid"]:
            cap = e["cap"]
            entries[s] = CTE(Capability(objs[cap["obj"]], cap["rights"], cap["badge"]), None, [], (s // per, s % per))
    for s, cte in entries.items():
        p = state["slots"][s]["parent"]
        if p != n:
            cte.parent = entries[p]  # KeyError: a parent slot that is empty
            entries[p].children.append(cte)
    for t in k.threads:
        t.cspace = {i: entries.get(t.tid * per + i) for i in range(per)}
        t.register = state["regs"][t.tid]
    for f, frame in enumerate(k.frames):
        frame.data = state["mem"][f]
    k.revoking = None if state["revoking"] == n else entries[state["revoking"]]
    k.halted = state["halted"]
    adapter.gone = [bool(state["gone"][d]) for d in range(n)]
    adapter.illegal_write = bool(state["illegal_write"])


# ------------------------------------------------------------ symbolic
_UNREAD = object()


class SymbolicKernel:
    """The lazily built kernel state of one path (see the module's doc)."""

    def __init__(self, adapter: KernelAdapter, pre: PreState) -> None:
        self.pre, self.paths = pre, pre.paths
        self.per, self.n = adapter.per, adapter.nslots
        k = adapter.kernel
        self.kernel = k
        self.objects = objects_of(k)
        self.originals: dict[int, CTE | None] = {}  # slot -> the entry that was there (None: empty)
        self.parents: dict[int, int] = {}  # slot -> its parent slot in the start state, once read
        self.not_parents: dict[int, set[int]] = {}  # slot -> slots the path says are not its parent
        for t in k.threads:
            t.cspace = LazyCSpace(self, t.tid)
            t.register = pre.get("regs", t.tid)
        for f, frame in enumerate(k.frames):
            frame.data = pre.get("mem", f)
        k.halted = pre.get("halted")
        # `revoking` is a reference too: read lazily, through a subclass with a property.
        k.__class__ = _lazy_class(type(k))
        del k.__dict__["revoking"]
        k._sym = self  # type: ignore[attr-defined]
        adapter.gone = [pre.get("gone", d) for d in range(self.n)]
        adapter.illegal_write = pre.get("illegal_write")
        self.anc: list[list[Any]] = [[pre.get("anc", d, p) for p in range(self.n)] for d in range(self.n)]

    def keep_ancestry(self, step: Step) -> None:
        """The ghost `anc` after the step the call implemented, updated as the spec updates it.
        Like `gone` it is instrumentation, not kernel state: by the spec's invariant `c_ancestry` it
        is a function of the parent slots, and those the proof compares with the spec's. (The
        concrete abstraction reads it off the parent pointers instead; symbolically that closure
        would be a large term on every path.)"""
        args = dict(step.args)

        def at(t: int, i: int) -> int:
            return t * self.per + i

        old, n = self.anc, self.n
        new = [row[:] for row in old]
        if step.action in ("copy", "mint", "send_grant"):
            src, dst = (at(args["t"], args["x"]), at(args["u"], args["j"])) if step.action == "send_grant" \
                else (at(args["t"], args["i"]), at(args["t"], args["j"]))
            new[dst] = [True if q == src else old[src][q] for q in range(n)]
        elif step.action == "move":
            src, dst = at(args["t"], args["i"]), at(args["t"], args["j"])
            for x in range(n):
                new[x][dst], new[x][src] = old[x][src], False
            new[dst], new[src] = old[src][:], [False] * n
        elif step.action in ("delete", "revoke_step"):
            gone = args["d"] if step.action == "revoke_step" else at(args["t"], args["i"])
            for x in range(n):
                new[x][gone] = False
            new[gone] = [False] * n
        self.anc = new

    def slot(self, s: int) -> tuple[int, int]:
        return s // self.per, s % self.per

    def original(self, s: int) -> CTE | None:
        """The entry in slot s at the start (a branch: empty or not, and on which object)."""
        if s not in self.originals:
            valid = self.pre.get("slots", s, "cap", "valid")
            if not valid:
                self.originals[s] = None
            else:
                obj = self.pre.get("slots", s, "cap", "obj").concrete()
                cap = Capability(self.objects[obj], self.pre.get("slots", s, "cap", "rights"),
                                 self.pre.get("slots", s, "cap", "badge"))
                self.originals[s] = LazyCTE.make(self, s, cap)
        return self.originals[s]

    def parent_slot(self, s: int) -> int:
        """The parent slot of slot s at the start (one branch per possible value)."""
        if s not in self.parents:
            leaf = self.pre.get("slots", s, "parent")
            ruled_out = self.not_parents.get(s, set())
            for p in [self.n, *range(self.n)]:
                if p != s and p not in ruled_out and leaf == p:
                    self.parents[s] = p
                    break
            else:
                raise AssertionError("a parent outside the slots")
        return self.parents[s]

    def names_as_parent(self, x: int, s: int) -> bool:
        """Did slot x's entry have slot s's entry as parent at the start? (one branch)"""
        if x in self.parents:
            return self.parents[x] == s
        if s in self.not_parents.get(x, ()):
            return False
        if self.pre.get("slots", x, "parent") == s:
            self.parents[x] = s
            return True
        self.not_parents.setdefault(x, set()).add(s)
        return False

    def pre_children(self, s: int) -> list[CTE]:
        out = []
        for x in range(self.n):
            if x != s and self.names_as_parent(x, s):
                child = self.original(x)
                assert child is not None, "the invariant says a child slot holds a capability"
                out.append(child)
        return out

    def descendant_flags(self, s: int) -> list[Any]:
        """For each slot d: is d's entry a descendant of s's entry in the start state? One
        condition per chain of parent links from d to s through distinct slots (no branch)."""
        key = ("descendants", s)
        if key in self.pre.memo:  # the same terms on every path: built once
            return self.pre.memo[key]  # type: ignore[no-any-return]
        parent = [self.pre.get("slots", x, "parent") for x in range(self.n)]

        def chains(d: int, seen: frozenset[int]) -> Any:
            hit = parent[d] == s
            for p in range(self.n):
                if p not in seen and p != s:
                    hit = hit | ((parent[d] == p) & chains(p, seen | {p}))
            return hit

        flags = self.pre.memo[key] = [chains(d, frozenset([d])) if d != s else False for d in range(self.n)]
        return flags

    # -- the abstraction afterwards
    def slot_number(self, cte: CTE | None) -> int:
        if cte is None:
            return self.n
        t, i = cte.slot
        return t * self.per + i

    def moved(self, leaf: Any) -> Any:
        """A start-state slot number (a symbolic leaf) as the slot where that entry is now: what
        a reference to it that nobody followed now designates."""
        out = leaf
        for p, cte in self.originals.items():
            if cte is not None and self.slot_number(cte) != p:
                out = ite(leaf == p, self.slot_number(cte), out)
        return out

    def entry(self, cte: CTE | None) -> dict[str, Any]:
        if cte is None:
            return {"cap": {"valid": False, "obj": "EP0", "rights": 0, "badge": 0, "par": False}, "parent": self.n}
        if isinstance(cte, LazyCTE) and not cte.parent_known:
            parent = self.moved(self.pre.get("slots", cte.start, "parent"))
        else:
            parent = self.slot_number(cte.parent)
        r = cte.cap.rights
        return {"cap": {"valid": True, "obj": cte.cap.obj.name, "rights": r, "badge": cte.cap.badge, "par": odd(r)},
                "parent": parent}

    def untouched(self, s: int) -> dict[str, Any]:
        """Slot s when nothing read or wrote it: its start value, with its parent reference followed."""
        g = self.pre.get
        return {"cap": {f: g("slots", s, "cap", f) for f in ("valid", "obj", "rights", "badge", "par")},
                "parent": self.moved(g("slots", s, "parent"))}

    def abstract(self, adapter: KernelAdapter) -> dict[str, Any]:
        k = self.kernel
        slots = {}
        for t in k.threads:
            cs = t.cspace
            assert isinstance(cs, LazyCSpace)
            for i in range(self.per):
                s = t.tid * self.per + i
                raw = cs.raw(i)
                if raw is _UNREAD:
                    slots[s] = self.entry(self.originals[s]) if s in self.originals else self.untouched(s)
                else:
                    slots[s] = self.entry(raw)
        lazy = k.__dict__.get("_revoking", _UNREAD)
        revoking = self.moved(self.pre.get("revoking")) if lazy is _UNREAD else self.slot_number(lazy)
        return {
            "regs": {t.tid: t.register for t in k.threads},
            "mem": {i: f.data for i, f in enumerate(k.frames)},
            "slots": slots,
            "revoking": revoking,
            "halted": k.halted,
            "gone": dict(enumerate(adapter.gone)),
            "illegal_write": adapter.illegal_write,
            "anc": {d: dict(enumerate(row)) for d, row in enumerate(self.anc)},
        }


class LazyCSpace(MutableMapping[int, Any]):
    """A thread's CSpace whose slots are read from the symbolic state on first access."""

    def __init__(self, owner: SymbolicKernel, tid: int) -> None:
        self.owner, self.tid = owner, tid
        self.slots: dict[int, Any] = dict.fromkeys(range(owner.per), _UNREAD)

    def raw(self, i: int) -> Any:
        return self.slots[i]

    def __getitem__(self, i: int) -> Any:
        v = self.slots[i]
        if v is _UNREAD:
            v = self.slots[i] = self.owner.original(self.tid * self.owner.per + i)
        return v

    def __setitem__(self, i: int, v: Any) -> None:
        if i not in self.slots:
            raise KeyError(i)  # the real CSpace is a dict, but no code adds slots to it
        self.slots[i] = v

    def __delitem__(self, i: int) -> None:
        raise KeyError(i)

    def __iter__(self) -> Iterator[int]:
        return iter(self.slots)

    def __len__(self) -> int:
        return len(self.slots)


class LazyChildren(MutableSequence[CTE]):
    """An entry's child list, read from the symbolic state only as far as it is looked at:
    appending and removing a known entry do not look, `if children` asks one question
    ("has it any child?"), `children[-1]` asks about the candidates from the end; anything
    else reads the whole list (in slot order, then what was appended)."""

    def __init__(self, owner: SymbolicKernel, start: int) -> None:
        self.owner, self.start = owner, start
        self.items: list[CTE] | None = None
        self.member: dict[int, bool] = {}  # start-state slot -> is (still) a child, as far as asked
        self.appended: list[CTE] = []

    def _candidates(self) -> list[int]:
        return [x for x in range(self.owner.n) if x != self.start]

    def _is_child(self, x: int) -> bool:
        if x not in self.member:
            self.member[x] = self.owner.names_as_parent(x, self.start)
        return self.member[x]

    def _child(self, x: int) -> CTE:
        child = self.owner.original(x)
        assert child is not None, "the invariant says a child slot holds a capability"
        return child

    def _all(self) -> list[CTE]:
        if self.items is None:
            self.items = [self._child(x) for x in self._candidates() if self._is_child(x)] + self.appended
        return self.items

    def append(self, x: CTE) -> None:
        (self.appended if self.items is None else self.items).append(x)

    def remove(self, x: CTE) -> None:
        if self.items is not None:
            self.items.remove(x)
        elif any(y is x for y in self.appended):
            self.appended.remove(x)
        elif isinstance(x, LazyCTE) and x.owner is self.owner and x.start != self.start and self._is_child(x.start):
            self.member[x.start] = False
        else:
            raise ValueError("list.remove(x): x not in list")

    def __bool__(self) -> bool:
        if self.items is not None:
            return bool(self.items)
        if self.appended or any(self.member.values()):
            return True
        unknown = [x for x in self._candidates() if x not in self.member]
        if not unknown:
            return False
        leaf = self.owner.pre.get
        anyone = unknown[0] if len(unknown) == 1 else None
        if anyone is not None:
            return self._is_child(anyone)
        has = leaf("slots", unknown[0], "parent") == self.start
        for x in unknown[1:]:
            has = has | (leaf("slots", x, "parent") == self.start)
        if has:
            return True
        self.member.update(dict.fromkeys(unknown, False))
        for x in unknown:
            self.owner.not_parents.setdefault(x, set()).add(self.start)
        return False

    def __getitem__(self, i: Any) -> Any:
        if self.items is None and i == -1:  # the last: what was appended, else scan from the end
            if self.appended:
                return self.appended[-1]
            for x in reversed(self._candidates()):
                if self._is_child(x):
                    return self._child(x)
            raise IndexError("list index out of range")
        return self._all()[i]

    def __setitem__(self, i: Any, v: Any) -> None:
        self._all()[i] = v

    def __delitem__(self, i: Any) -> None:
        del self._all()[i]

    def __len__(self) -> int:
        return len(self._all())

    def insert(self, i: int, x: CTE) -> None:
        self._all().insert(i, x)

    def __iter__(self) -> Iterator[CTE]:
        return iter(self._all())  # the list itself: a loop over a list it changes behaves as in Python


class LazyCTE(CTE):
    """An entry of the start state: its parent and child list are read when first used."""

    @classmethod
    def make(cls, owner: SymbolicKernel, s: int, cap: Capability) -> LazyCTE:
        e = object.__new__(cls)
        e.__dict__.update(cap=cap, slot=owner.slot(s), start=s, owner=owner, parent_known=False,
                          _parent=None, _children=LazyChildren(owner, s))
        return e

    @property  # type: ignore[override]
    def parent(self) -> CTE | None:
        d = self.__dict__
        if not d["parent_known"]:
            p = d["owner"].parent_slot(d["start"])
            d["_parent"] = None if p == d["owner"].n else d["owner"].original(p)
            d["parent_known"] = True
        return d["_parent"]  # type: ignore[no-any-return]

    @parent.setter
    def parent(self, v: CTE | None) -> None:
        self.__dict__.update(_parent=v, parent_known=True)

    @property  # type: ignore[override]
    def children(self) -> Any:
        return self.__dict__["_children"]

    @children.setter
    def children(self, v: Any) -> None:
        self.__dict__["_children"] = v


_LAZY: dict[type, type] = {}


def _lazy_class(cls: type) -> type:
    """cls with `revoking` read from the symbolic state on first access."""
    if cls not in _LAZY:
        def get(k: Any) -> Any:
            d = k.__dict__
            if "_revoking" not in d:
                sym = d["_sym"]
                leaf = sym.pre.get("revoking")
                for p in [sym.n, *range(sym.n)]:
                    if leaf == p:
                        d["_revoking"] = None if p == sym.n else sym.original(p)
                        break
            return d["_revoking"]

        def put(k: Any, v: Any) -> None:
            k.__dict__["_revoking"] = v

        _LAZY[cls] = type(cls.__name__, (cls,), {"revoking": property(get, put), "__module__": cls.__module__,
                                                "__qualname__": cls.__qualname__})
    return _LAZY[cls]


def symbolic_adapter(cls: type[KernelAdapter], pre: PreState) -> KernelAdapter:
    """An instance of adapter class cls over a `SymbolicKernel` built from pre."""
    sub = _ADAPTERS.get(cls)
    if sub is None:
        def gone_by_revoke(self: Any, t: int, i: int) -> list[Any]:
            # The ghost is instrumentation, not kernel state: computed from the start state's
            # parent slots (d is a descendant of s if some ancestor of d is s), not by walking
            # the kernel's child lists, which would branch on the shape of the whole subtree.
            return self.sym.descendant_flags(t * self.per + i)

        def perform(self: Any, call: tuple[Any, ...]) -> Step:
            step = cls.perform(self, call)
            self.sym.keep_ancestry(step)
            return step

        sub = _ADAPTERS[cls] = type(cls.__name__, (cls,), {
            "_gone_by_revoke": gone_by_revoke, "perform": perform,
            "abstract_symbolic": lambda self: self.sym.abstract(self),
            "__module__": cls.__module__, "__qualname__": cls.__qualname__})
    a = sub()
    a.sym = SymbolicKernel(a, pre)
    return a


_ADAPTERS: dict[type, type] = {}


def representable(pre: PreState, n: int) -> list[SymBool]:
    """The spec states the kernel can hold: it keeps no parity bit, the abstraction computes it."""
    out = []
    for s in range(n):
        valid, r = pre.get("slots", s, "cap", "valid"), pre.get("slots", s, "cap", "rights")
        par = pre.get("slots", s, "cap", "par")
        out.append(valid.negate() | (par == odd(r)))
    return out


__all__ = ["SymbolicKernel", "concrete_kernel", "odd", "representable", "symbolic_adapter"]
