"""The abstraction function of the executable kernel, and the mapping of its calls to spec actions.

`KernelAdapter.abstract` reads a `Kernel` as a state of `models/kernel/concrete.ftv`
(slot s of the spec is thread s // 2's CSpace index s % 2; parents are slot numbers;
NONE is the number of slots). `perform` runs one call and names the spec action it
implemented: a successful system call is the action of the same name and arguments,
a failed one a stutter that the spec must refuse too, a preemption point during a
revoke is `revoke_step(d)` for the slot it emptied, or `revoke_done`.

The spec's ghost variables are instrumentation, not kernel state: `gone` and
`illegal_write` are kept here from what the kernel did, `anc` (who is an ancestor of
whom) is read off the parent pointers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ftverify.checker.engines.conformance import Adapter, Step
from ftverify.kernel_impl.kernel import CTE, MASKS, WRITE, Error, Kernel, Ok
from ftverify.spec.layout import StateLayout, encoder
from ftverify.spec.types import MapT, width

OPS = ("copy", "mint", "move", "delete", "revoke", "send_grant", "send", "read", "write")


class KernelAdapter(Adapter):
    spec = "../models/kernel/concrete.ftv"
    kernel_class: type[Kernel] = Kernel  # `--impl module:MyKernel` puts MyKernel here
    implementation = "kernel_class"

    def __init__(self) -> None:
        self.kernel = self.kernel_class()
        c = self.kernel.config
        self.per = c.slots_per_thread
        self.nslots = c.threads * c.slots_per_thread
        self.gone = [False] * self.nslots
        self.illegal_write = False

    # ------------------------------------------------------------ the abstraction function
    def slot_of(self, cte: CTE | None) -> int:
        if cte is None:
            return self.nslots  # NONE
        t, i = cte.slot
        return t * self.per + i

    def abstract(self) -> dict[str, Any]:
        k = self.kernel
        slots = {}
        for t in k.threads:
            for i, cte in t.cspace.items():
                slots[t.tid * self.per + i] = self._entry(self._key(cte))
        anc = ancestry([slots[s]["parent"] for s in range(self.nslots)])
        return {
            "regs": {t.tid: t.register for t in k.threads},
            "mem": {i: f.data for i, f in enumerate(k.frames)},
            "slots": slots,
            "revoking": self.slot_of(k.revoking),
            "halted": k.halted,
            "gone": dict(enumerate(self.gone)),
            "illegal_write": self.illegal_write,
            "anc": {d: {p: p in anc[d] for p in range(self.nslots)} for d in range(self.nslots)},
        }

    def abstract_packed(self, layout: StateLayout) -> int:
        """`abstract()` as a packed state, built from per-slot codes that are remembered by
        value: unchanged slots cost a lookup, not an encoding."""
        k = self.kernel
        codes = _codes_for(layout)
        s = 0
        per = self.per
        parents = [self.nslots] * self.nslots
        for t in k.threads:
            base = t.tid * per
            for i, cte in t.cspace.items():
                key = self._key(cte)
                code = codes.entry.get(key)
                if code is None:
                    code = codes.entry[key] = codes.encode_entry(self._entry(key))
                s |= code << (codes.slots + (base + i) * codes.entry_width)
                if key:
                    parents[base + i] = key[3]
            s |= t.register << (codes.regs + t.tid * codes.word)
        tree = tuple(parents)
        anc = codes.anc_code.get(tree)
        if anc is None:
            anc = codes.anc_code[tree] = sum(1 << (d * self.nslots + p) for d, ps in enumerate(ancestry(parents))
                                             for p in ps)
        s |= anc << codes.anc
        for f, frame in enumerate(k.frames):
            s |= frame.data << (codes.mem + f * codes.word)
        s |= self.slot_of(k.revoking) << codes.revoking
        s |= k.halted << codes.halted
        s |= sum(1 << (codes.gone + d) for d, g in enumerate(self.gone) if g)
        return s | self.illegal_write << codes.illegal_write

    def _key(self, cte: CTE | None) -> tuple[Any, ...]:
        """What the spec sees of one slot: () when empty, else (object, rights, badge, parent slot)."""
        if cte is None:
            return ()
        return cte.cap.obj.name, cte.cap.rights, cte.cap.badge, self.slot_of(cte.parent)

    def _entry(self, key: tuple[Any, ...]) -> dict[str, Any]:
        """The spec's `Entry` value of a slot's key (the parity bit follows the rights)."""
        if not key:
            return {"cap": {"valid": False, "obj": "EP0", "rights": 0, "badge": 0, "par": False},
                    "parent": self.nslots}
        obj, r, b, parent = key
        return {"cap": {"valid": True, "obj": obj, "rights": r, "badge": b, "par": bin(r).count("1") % 2 == 1},
                "parent": parent}

    # ------------------------------------------------------------ calls
    def perform(self, call: tuple[Any, ...]) -> Step:
        op, *args = call
        k = self.kernel
        if op == "user_set":
            t, v = args
            k.user_set(t, v)
            return Step("user_set", (("t", t), ("v", v)), result="ok")
        if op == "preempt":
            if k.revoking is None:
                k.preemption_point()
                return Step(None, result="nothing to do")
            emptied = k.preemption_point()
            if emptied is None:
                return Step("revoke_done", result="revoke finished")
            return Step("revoke_step", (("d", emptied[0] * self.per + emptied[1]),), result="one descendant")
        t = args[0]
        before = self._write_info(t, args) if op == "write" else None
        gone = self._gone_by_revoke(t, args[1]) if op == "revoke" and self._valid_local(t, args[1]) else None
        result = k.syscall(t, op, *args[1:])
        spec_args = self._spec_args(op, args)
        if isinstance(result, Error):
            return Step(None, refused=(op if op != "revoke" else "revoke_start", spec_args) if spec_args else None,
                        result=result.name)
        assert isinstance(result, Ok)
        if op == "revoke":
            assert gone is not None
            self.gone = gone
            return Step("revoke_start", spec_args, result="revoke started")
        self.gone = [False] * self.nslots
        if before is not None and before:
            self.illegal_write = True
        return Step(op, spec_args, result="ok")

    def _valid_local(self, t: int, i: int) -> bool:
        return 0 <= t < len(self.kernel.threads) and 0 <= i < self.per and self.kernel.threads[t].cspace[i] is not None

    def _gone_by_revoke(self, t: int, i: int) -> list[Any]:
        """The ghost `gone` after a revoke of slot i of thread t: its descendants now."""
        cte = self.kernel.threads[t].cspace[i]
        assert cte is not None
        victims = {self.slot_of(d) for d in self.kernel.descendants(cte)}
        return [s in victims for s in range(self.nslots)]

    def _write_info(self, t: int, args: list[Any]) -> bool:
        """Would a successful write through this slot be illegal (wrong domain, or no write right)?"""
        if not self._valid_local(t, args[1]):
            return False
        cte = self.kernel.threads[t].cspace[args[1]]
        assert cte is not None
        return cte.cap.obj.domain != self.kernel.threads[t].domain or not cte.cap.has(WRITE)

    PARAMS: ClassVar[dict[str, tuple[str, ...]]] = {
        "copy": ("t", "i", "j", "m"), "mint": ("t", "i", "j", "m", "b"), "move": ("t", "i", "j"),
        "delete": ("t", "i"), "revoke": ("t", "i"), "send_grant": ("t", "e", "x", "u", "j"),
        "send": ("t", "e", "u"), "read": ("t", "i"), "write": ("t", "i"),
    }

    def _spec_args(self, op: str, args: list[Any]) -> tuple[tuple[str, Any], ...]:
        """The spec action's arguments, or () if a value is outside the spec's parameter types."""
        c = self.kernel.config
        bounds = {"t": c.threads, "u": c.threads, "i": self.per, "j": self.per, "e": self.per, "x": self.per,
                  "m": len(MASKS), "b": c.badges}
        names = self.PARAMS[op]
        if len(names) != len(args) or any(not 0 <= a < bounds[n] for n, a in zip(names, args, strict=True)):
            return ()
        return tuple(zip(names, args, strict=True))

    @classmethod
    def all_calls(cls) -> list[tuple[Any, ...]]:
        """Every call with arguments in the spec's ranges, plus one out of range per operation."""
        T, L = range(3), range(2)
        out: list[tuple[Any, ...]] = [("preempt",)]
        out += [("user_set", t, v) for t in T for v in (0, 3)]
        out += [("copy", t, i, j, m) for t in T for i in L for j in L for m in range(3)]
        out += [("mint", t, i, j, m, 1) for t in T for i in L for j in L for m in range(3)]
        out += [("move", t, i, j) for t in T for i in L for j in L]
        out += [(op, t, i) for op in ("delete", "revoke", "read", "write") for t in T for i in L]
        out += [("send_grant", t, e, x, u, j) for t in T for e in L for x in L for u in T for j in L]
        out += [("send", t, e, u) for t in T for e in L for u in T]
        out += [("copy", 0, 2, 0, 0), ("mint", 0, 0, 1, 0, 0), ("read", 3, 0)]
        return out

    @classmethod
    def call_for(cls, action: str, args: dict[str, Any]) -> tuple[Any, ...] | None:
        """The call implementing a spec action: a system call of the same name and arguments,
        user code for `user_set`, a preemption point for the steps of a revoke."""
        if action in ("revoke_step", "revoke_done"):
            return ("preempt",)
        if action == "user_set":
            return ("user_set", args["t"], args["v"])
        op = "revoke" if action == "revoke_start" else action
        names = cls.PARAMS.get(op)
        return None if names is None else (op, *(args[n] for n in names))


    # ------------------------------------------------------------ for `--prove` (kernel_impl.symbolic)
    @classmethod
    def symbolic(cls, pre: Any) -> KernelAdapter:
        from ftverify.kernel_impl.symbolic import symbolic_adapter

        return symbolic_adapter(cls, pre)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> KernelAdapter:
        from ftverify.kernel_impl.symbolic import concrete_kernel

        a = cls()
        concrete_kernel(a, state)
        return a

    @classmethod
    def symbolic_domain(cls, pre: Any) -> list[Any]:
        from ftverify.kernel_impl.symbolic import representable

        return representable(pre, cls().nslots)


Kernel.adapter = KernelAdapter  # type: ignore[attr-defined]  # `ftverify refine --impl ftverify.kernel_impl:Kernel`


@dataclass
class _Codes:
    """Where the concrete spec's variables sit in a packed state (whole-bit fields)."""

    slots: int
    entry_width: int
    encode_entry: Callable[[Any], int]
    regs: int
    mem: int
    word: int
    revoking: int
    halted: int
    gone: int
    illegal_write: int
    anc: int
    entry: dict[tuple[Any, ...], int] = field(default_factory=dict)
    anc_code: dict[tuple[int, ...], int] = field(default_factory=dict)  # parent slots -> packed `anc`


@functools.cache
def _codes_for(layout: StateLayout) -> _Codes:
    at = layout.slot
    entry_t = at["slots"].type
    assert isinstance(entry_t, MapT) and isinstance(at["regs"].type, MapT)
    return _Codes(at["slots"].offset, width(entry_t.value), encoder(entry_t.value), at["regs"].offset,
                  at["mem"].offset, width(at["regs"].type.value), at["revoking"].offset, at["halted"].offset,
                  at["gone"].offset, at["illegal_write"].offset, at["anc"].offset)


def ancestry(parent: list[int]) -> list[set[int]]:
    """The ancestors of each slot, following parent slots (NONE, the number of slots, ends a
    chain; a cycle ends where it repeats)."""
    n = len(parent)
    out = []
    for d in range(n):
        seen: set[int] = set()
        p = parent[d]
        while p != n and p not in seen:
            seen.add(p)
            p = parent[p]
        out.append(seen)
    return out

