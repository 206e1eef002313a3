"""The abstraction function of the executable kernel, and the mapping of its calls to spec actions.

`KernelAdapter.abstract` reads a `Kernel` as a state of `models/kernel/concrete.ftv`
(slot s of the spec is thread s // 2's CSpace index s % 2; parents are slot numbers;
NONE is the number of slots). `perform` runs one call and names the spec action it
implemented: a successful system call is the action of the same name and arguments,
a failed one a stutter that the spec must refuse too, a preemption point during a
revoke is `revoke_step(d)` for the slot it emptied, or `revoke_done`.

The spec's ghost variables (`gone`, `illegal_write`) are kept here, from what the
kernel did: they are instrumentation, not kernel state.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ftverify.checker.engines.conformance import Adapter, Step
from ftverify.kernel_impl.kernel import CTE, MASKS, WRITE, Error, Kernel, Ok

OPS = ("copy", "mint", "move", "delete", "revoke", "send_grant", "send", "read", "write")


class KernelAdapter(Adapter):
    spec = "../models/kernel/concrete.ftv"
    kernel_class: type[Kernel] = Kernel  # tests put a mutant here

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
                if cte is None:
                    cap = {"valid": False, "obj": "EP0", "rights": 0, "badge": 0, "par": False}
                    parent = self.nslots
                else:
                    r = cte.cap.rights
                    cap = {"valid": True, "obj": cte.cap.obj.name, "rights": r, "badge": cte.cap.badge,
                           "par": bin(r).count("1") % 2 == 1}
                    parent = self.slot_of(cte.parent)
                slots[t.tid * self.per + i] = {"cap": cap, "parent": parent}
        return {
            "regs": {t.tid: t.register for t in k.threads},
            "mem": {i: f.data for i, f in enumerate(k.frames)},
            "slots": slots,
            "revoking": self.slot_of(k.revoking),
            "halted": k.halted,
            "gone": dict(enumerate(self.gone)),
            "illegal_write": self.illegal_write,
        }

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
        victims = self._victims(t, args[1]) if op == "revoke" and self._valid_local(t, args[1]) else []
        result = k.syscall(t, op, *args[1:])
        spec_args = self._spec_args(op, args)
        if isinstance(result, Error):
            return Step(None, refused=(op if op != "revoke" else "revoke_start", spec_args) if spec_args else None,
                        result=result.name)
        assert isinstance(result, Ok)
        if op == "revoke":
            self.gone = [s in victims for s in range(self.nslots)]
            return Step("revoke_start", spec_args, result="revoke started")
        self.gone = [False] * self.nslots
        if before is not None and before:
            self.illegal_write = True
        return Step(op, spec_args, result="ok")

    def _valid_local(self, t: int, i: int) -> bool:
        return 0 <= t < len(self.kernel.threads) and 0 <= i < self.per and self.kernel.threads[t].cspace[i] is not None

    def _victims(self, t: int, i: int) -> set[int]:
        cte = self.kernel.threads[t].cspace[i]
        assert cte is not None
        return {self.slot_of(d) for d in self.kernel.descendants(cte)}

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
    def calls(cls) -> Any:
        from hypothesis import strategies as st

        t, loc = st.integers(0, 2), st.integers(0, 1)
        near = st.integers(-1, 3)  # now and then out of range
        preempt = st.just(("preempt",))
        # Revoking the root's endpoint capability (slot 0 of t0) after t1 derived from its
        # copy of it is how the deepest derivation trees get torn down: drawn more often.
        copy = st.tuples(st.just("copy"), st.sampled_from([0, 1, 1, 2]), loc, loc, st.integers(0, 3))
        revoke = st.tuples(st.just("revoke"), st.sampled_from([0, 0, 1, 2]), st.sampled_from([0, 0, 1]))
        grant = st.tuples(st.just("send_grant"), t, loc, loc, t, loc)
        delete = st.tuples(st.just("delete"), t, loc)
        weighted = [  # building and tearing down derivation trees, most often
            preempt, preempt, preempt, copy, copy, copy, delete, delete, revoke, grant,
            st.tuples(st.just("mint"), t, loc, loc, st.integers(0, 2), st.integers(0, 2)),
            st.tuples(st.just("move"), t, loc, loc),
            st.tuples(st.sampled_from(["read", "write"]), t, loc),
            st.tuples(st.just("send"), t, loc, t),
            st.tuples(st.just("user_set"), t, st.integers(0, 3)),
            st.tuples(st.sampled_from(OPS), near, near),  # mostly invalid calls
        ]
        return st.one_of(*weighted)


Kernel.adapter = KernelAdapter  # type: ignore[attr-defined]  # `ftverify refine --impl ftverify.kernel_impl:Kernel`
