"""The executable kernel refines its spec; seeded implementation bugs are caught with short traces."""

from __future__ import annotations

import pytest
from ftverify.checker.engines import conformance as C
from ftverify.kernel_impl import Error, Kernel, KernelAdapter
from ftverify.kernel_impl.kernel import CTE, WRITE, Capability, Thread

from tests.conftest import run_cli


def test_the_kernel_refines_its_spec_on_random_runs() -> None:
    out = C.random_test(KernelAdapter, examples=150, max_calls=30)
    assert out.divergence is None, str(out.divergence)
    assert out.calls > 3000


def test_the_kernel_refines_its_spec_on_every_run_to_depth_3() -> None:
    out = C.exhaustive_test(KernelAdapter, 3)
    assert out.divergence is None, str(out.divergence)
    assert out.complete and out.states > 1000


def test_invalid_calls_fail_with_the_right_error_and_change_nothing() -> None:
    k = Kernel()
    a = KernelAdapter()
    before = a.abstract()
    assert k.syscall(1, "copy", 0, 0, 0) is Error.SLOT_OCCUPIED  # t1 copies into its own full slot 0
    assert k.syscall(2, "mint", 0, 1, 0, 1) is Error.SLOT_OCCUPIED
    assert k.syscall(1, "copy", 1, 0, 0) is Error.INVALID_CAPABILITY  # slot 1 of t1 is empty
    assert k.syscall(2, "send_grant", 0, 1, 1, 1) is Error.INSUFFICIENT_RIGHTS  # t2's endpoint cap has no grant
    assert k.syscall(1, "write", 0) is Error.INVALID_CAPABILITY  # an endpoint is not a frame
    assert k.syscall(0, "fly", 0) is Error.ILLEGAL_OPERATION
    assert k.syscall(0, "copy", 0) is Error.INVALID_ARGUMENT
    a.kernel = k
    assert a.abstract() == before


# ---- seeded implementation bugs: each must be caught, with a shrunk trace of at most 6 calls
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
    def _sys_move(self, t: Thread, i: int, j: int) -> object:
        t.register = 0  # clobbers the caller's register before checking anything
        return super()._sys_move(t, i, j)


class GrantWithoutGrantRight(Kernel):
    def _may_grant(self, cap: Capability) -> bool:
        return cap.has(WRITE)


MUTANTS = [MintKeepsRights, RevokeSkipsGrandchildren, DeleteLeavesDanglingChild, FailedCallChangesState,
           GrantWithoutGrantRight]


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.__name__ for m in MUTANTS])
def test_seeded_implementation_bugs_are_caught_with_short_traces(mutant: type[Kernel]) -> None:
    adapter = type(f"{mutant.__name__}Adapter", (KernelAdapter,), {"kernel_class": mutant})
    # 1,000 runs: at 300, whether the two deepest bugs were found depended on hypothesis's seed
    out = C.random_test(adapter, examples=1000, max_calls=30)
    assert out.divergence is not None, f"{mutant.__name__} was not caught"
    assert len(out.divergence.calls) <= 6, str(out.divergence)
    text = str(out.divergence)
    assert "(initial)" in text and "refinement fails after" in text  # printed as a trace


def test_exhaustive_search_finds_a_mutant_with_a_shortest_trace() -> None:
    adapter = type("A", (KernelAdapter,), {"kernel_class": DeleteLeavesDanglingChild})
    out = C.exhaustive_test(adapter, 2)
    assert out.divergence is not None and len(out.divergence.calls) == 1
    assert out.divergence.calls[0].startswith("delete(0, 0)")


def test_assert_refines_raises_with_the_trace() -> None:
    adapter = type("A", (KernelAdapter,), {"kernel_class": GrantWithoutGrantRight})
    with pytest.raises(AssertionError, match="refinement fails after"):
        C.assert_refines(adapter, examples=300)


def test_cli_refine_impl() -> None:
    code, out, _ = run_cli("refine", "--impl", "ftverify.kernel_impl:Kernel", "--examples", "50", "--depth", "2")
    assert code == 0, out
    assert "calls/s" in out and "no divergence" in out
