"""Seeded implementation bugs: kernels that must not pass refinement testing or `--prove`.

Each is a subclass of `Kernel`, importable as `tests.kernel_impl.mutants:Name`, so that
`ftverify refine --impl` can be pointed at it as at a user's own kernel variant. The first
five show in one to four calls of many kinds; the deep ones need particular calls with
particular arguments in a particular order: three, four, five and six of them (the shortest
sequences, found by the exhaustive check).
"""

from __future__ import annotations

from ftverify.kernel_impl.kernel import (
    CTE,
    READ,
    WRITE,
    Capability,
    Error,
    Kernel,
    ObjKind,
    Ok,
    Result,
    Thread,
)


class MintKeepsRights(Kernel):
    def _derived_rights(self, src: Capability, mask: int) -> int:
        return src.rights


class RevokeSkipsGrandchildren(Kernel):
    def _next_to_revoke(self, root: CTE) -> CTE | None:
        return root.children[-1] if root.children else None  # children first, not leaves

    def _revoke_one(self, victim: CTE) -> None:
        for child in victim.children:  # detached instead of moved up: they survive the revoke
            child.parent = None
        victim.children = []
        self._unlink(victim)


class DeleteLeavesDanglingChild(Kernel):
    def _unlink(self, cte: CTE) -> None:
        if cte.parent is not None:
            cte.parent.children.remove(cte)
        t, i = cte.slot
        self.threads[t].cspace[i] = None  # the children still point at the deleted entry


class FailedCallChangesState(Kernel):
    def _sys_move(self, t: Thread, i: int, j: int) -> Result:
        t.register = 0  # clobbers the caller's register before checking anything
        return super()._sys_move(t, i, j)


class GrantWithoutGrantRight(Kernel):
    def _may_grant(self, cap: Capability) -> bool:
        return cap.has(WRITE)


SHALLOW = [MintKeepsRights, RevokeSkipsGrandchildren, DeleteLeavesDanglingChild, FailedCallChangesState,
           GrantWithoutGrantRight]


# ---- deep: reached only by a particular sequence of three to six calls
class WriteChecksReadRight(Kernel):
    """`write` checks the read right instead of the write right."""

    def _frame_cap(self, t: Thread, i: int, right: int) -> CTE | Error:
        return super()._frame_cap(t, i, READ if right == WRITE else right)


class DeleteOrphansGrandchildren(Kernel):
    """Deleting a capability that is itself at depth two or more of the derivation tree makes
    its children roots instead of moving them up to its parent. Six calls at least (a chain of
    three derivations across two threads, then the delete): the search finds it by going on
    from the deepest derivation trees it has built (bench/refinement_testing.py: with most seeds)."""

    def _unlink(self, cte: CTE) -> None:
        if cte.parent is not None and cte.parent.parent is not None:
            for child in cte.children:
                child.parent = None
            cte.children = []
        super()._unlink(cte)


class SendThroughCopyDropsHighBit(Kernel):
    """IPC through an endpoint capability that was copied from a copy transfers only the low
    bit of the message register."""

    def _sys_send(self, t: Thread, e: int, u: int) -> Result:
        before = self.threads[u].register if 0 <= u < len(self.threads) else None
        result = super()._sys_send(t, e, u)
        ep = t.cspace.get(e)
        if isinstance(result, Ok) and ep is not None and ep.parent is not None and ep.parent.parent is not None:
            assert before is not None
            self.threads[u].register &= 1
        return result


class MoveForgetsDerivedChildren(Kernel):
    """Moving a capability that has both a parent and children leaves the children behind
    (they now hang from nothing)."""

    def _sys_move(self, t: Thread, i: int, j: int) -> Result:
        src = t.cspace.get(i)
        orphans = list(src.children) if src is not None and src.parent is not None else []
        result = super()._sys_move(t, i, j)
        if isinstance(result, Ok) and src is not None and src.cap.obj.kind is ObjKind.ENDPOINT:
            for child in orphans:
                child.parent = None
                src.children.remove(child)
        return result


DEEP = [WriteChecksReadRight, DeleteOrphansGrandchildren, SendThroughCopyDropsHighBit, MoveForgetsDerivedChildren]
ALL = SHALLOW + DEEP
