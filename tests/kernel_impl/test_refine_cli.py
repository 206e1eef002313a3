"""`refine --impl` as a user meets it: a kernel that raises, the time limit (Ctrl-C: tests/test_long_runs.py)."""

from __future__ import annotations

from ftverify.checker.engines import conformance as C
from ftverify.kernel_impl import KernelAdapter
from ftverify.kernel_impl.kernel import Kernel, Result, Thread

from tests.conftest import run_cli


class ReadCrashes(Kernel):
    def _sys_read(self, t: Thread, i: int) -> Result:
        raise RuntimeError("null frame")


def test_an_exception_in_the_implementation_is_a_divergence_with_its_calls() -> None:
    out = C.random_test(C.bind(KernelAdapter, ReadCrashes, "ReadCrashes"), examples=200)
    assert out.divergence is not None
    assert "raised RuntimeError: null frame" in out.divergence.problem
    assert out.divergence.calls[-1].startswith("read(")


def test_the_time_limit_stops_refinement_testing_with_what_it_checked() -> None:
    code, out, _ = run_cli("refine", "--impl", "ftverify.kernel_impl:Kernel", "--examples", "100000",
                           "--timeout", "2")
    assert code == 3, out
    assert "unknown: timeout after 2 s" in out and "generated:" in out


def test_a_failure_found_once_is_replayed_first_next_time(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FTVERIFY_PROOF_CACHE", str(tmp_path / "proofs.sqlite"))
    args = ("refine", "--impl", "tests.kernel_impl.mutants:WriteChecksReadRight")
    code, first, _ = run_cli(*args)
    assert code == 1 and "from the failure store" not in first
    assert list((tmp_path / "refine").glob("*/failures.json"))
    code, again, _ = run_cli(*args)
    assert code == 1 and "from the failure store) still diverges" in again
    code, fresh, _ = run_cli(*args, "--no-cache")
    assert code == 1 and "from the failure store" not in fresh
