"""`refine --impl ... --prove`: the bounded proof of each handler of the Python kernel.

The symbolic executor is itself checked against the real kernel: pinned to a concrete
spec state, it must find exactly one path per call and end in exactly the state the real
kernel ends in (`test_symbolic_run_agrees_with_the_real_kernel`)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import z3
from click.testing import CliRunner
from ftverify.checker.commands.cli import cli
from ftverify.checker.engines import implproof as IP
from ftverify.checker.engines.conformance import Checker, bind
from ftverify.checker.engines.encode import Encoding
from ftverify.checker.engines.symexec import A, Paths, SymBool, SymEnum, SymInt, Unsupported
from ftverify.kernel_impl.abstraction import KernelAdapter
from ftverify.kernel_impl.kernel import Kernel

from tests.kernel_impl import mutants as MU

# The handler each seeded bug lives in (the proof of that handler must refute it).
WHERE = {
    "MintKeepsRights": "mint", "RevokeSkipsGrandchildren": "preempt", "DeleteLeavesDanglingChild": "delete",
    "FailedCallChangesState": "move", "GrantWithoutGrantRight": "send_grant", "WriteChecksReadRight": "write",
    "DeleteOrphansGrandchildren": "delete", "SendThroughCopyDropsHighBit": "send",
    "MoveForgetsDerivedChildren": "move",
}


def adapter_of(kernel: type[Kernel]) -> type[KernelAdapter]:
    return bind(KernelAdapter, kernel, kernel.__name__)  # type: ignore[return-value]


@pytest.mark.parametrize("mutant", MU.ALL, ids=lambda m: m.__name__)
def test_every_seeded_bug_is_refuted_with_a_state_and_call_that_replay(mutant: type[Kernel]) -> None:
    adapter = adapter_of(mutant)
    rep = IP.prove(adapter, handlers=[WHERE[mutant.__name__]])
    (res,) = rep.results
    assert res.verdict == "refuted", res
    cex = res.counterexample
    assert cex is not None
    # The counterexample is concrete: the real mutant, built in that state, diverges on that call.
    chk = Checker(adapter)
    real = adapter.from_state(cex.state)
    s = chk.state_of(real)
    from ftverify.checker.engines.conformance import _perform

    step = _perform(real, cex.call)
    assert chk.check_packed(s, step, chk.state_of(real)) == cex.problem
    # ... and the correct kernel does not, from the same state.
    good = KernelAdapter.from_state(cex.state)
    step = _perform(good, cex.call)
    assert chk.check_packed(s, step, chk.state_of(good)) is None


def test_handlers_of_the_shipped_kernel_are_proved_and_rechecked() -> None:
    # The cheaper handlers here; every handler in bench/refinement_testing.py --prove (README).
    rep = IP.prove(KernelAdapter, handlers=["user_set", "read", "write", "move", "send"])
    assert [r.verdict for r in rep.results] == ["proved"] * 5, rep.results
    assert all(r.recheck for r in rep.results)
    assert sum(r.paths for r in rep.results) > 500  # the case split is real, not one path per call


def _concrete(v: Any, mdl: z3.ModelRef) -> Any:
    if isinstance(v, dict):
        return {k: _concrete(x, mdl) for k, x in v.items()}
    if isinstance(v, SymInt):
        return A.value_of(mdl.eval(v.t, model_completion=True))
    if isinstance(v, SymBool):
        return z3.is_true(mdl.eval(v.t, model_completion=True))
    if isinstance(v, SymEnum):
        return next(m for m in v.members if z3.is_true(mdl.eval(v.t == v.value_of(m), model_completion=True)))
    return v


def _reachable_states(kernel: type[Kernel], n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    adapter = adapter_of(kernel)
    calls = adapter.all_calls()
    out = []
    while len(out) < n:
        a = adapter()
        for _ in range(rng.randrange(1, 12)):
            a.perform(rng.choice(calls))
        out.append(a.abstract())
    return out


@pytest.mark.parametrize("kernel", [Kernel, MU.MoveForgetsDerivedChildren, MU.RevokeSkipsGrandchildren],
                         ids=lambda k: k.__name__)
def test_symbolic_run_agrees_with_the_real_kernel(kernel: type[Kernel]) -> None:
    adapter = adapter_of(kernel)
    chk = Checker(adapter)
    enc = Encoding(chk.model, 0, "bv")
    types = {v.name: v.type for v in chk.model.vars}
    rng = random.Random(1)
    calls = adapter.all_calls()
    prover = IP._Prover(adapter, chk, enc)
    checked = 0
    for state in _reachable_states(kernel, 12, seed=7):
        pins = [enc.eq(t, enc.cur.tree[name], enc._plain(t, state[name])) for name, t in types.items()]
        for call in [("preempt",), *rng.sample(list(calls), 12)]:
            paths = Paths([*prover.base, *pins])
            pre = IP.PreState(enc, paths)
            runs = list(paths.explore(lambda c=call, p=pre: prover._run(p, c)))  # type: ignore[misc]
            assert len(runs) == 1, (state, call)  # a concrete start state has one path
            (_, (step, post)), mdl = runs[0], paths.model
            assert mdl is not None
            real = adapter.from_state(state)
            real_step = real.perform(call)
            assert step == real_step, (state, call)
            assert _concrete(post, mdl) == real.abstract(), (state, call)
            checked += 1
    assert checked == 12 * 13


def test_paths_are_a_complete_case_split() -> None:
    x = z3.BitVec("x", 3)
    paths = Paths([])

    def f() -> str:
        v = SymInt(paths, z3.ZeroExt(1, x))
        if v & 1:
            return "odd"
        return "big" if v > 4 else "small"

    got = sorted((out, str(z3.simplify(z3.And(*pc))) if pc else "") for pc, out in paths.explore(f))
    assert [o for o, _ in got] == ["big", "odd", "small"]
    assert paths.paths == 3


def test_what_the_executor_cannot_follow_is_unsupported_not_a_verdict() -> None:
    paths = Paths([])
    v = SymInt(paths, z3.BitVec("y", 4))
    with pytest.raises(Unsupported):
        list(paths.explore(lambda: v * 1.5))


def test_prove_on_the_command_line() -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["refine", "--impl", "tests.kernel_impl.mutants:WriteChecksReadRight", "--prove",
                            "--handler", "write", "--jobs", "1"])
    assert r.exit_code == 1, r.output
    assert "refuted write: " in r.output and "write(t=" in r.output
    assert "replayed on the real implementation" in r.output and "slots[0] = {cap:" in r.output
    r = runner.invoke(cli, ["refine", "--impl", "ftverify.kernel_impl:Kernel", "--prove", "--handler", "read",
                            "--json", "--jobs", "1"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)  # progress, if any, is on stderr
    assert doc["command"] == "refine" and doc["exit_code"] == 0
    (h,) = doc["handlers"]
    assert h["handler"] == "read" and h["verdict"] == "proved" and h["paths"] > 10 and h["recheck"]


def test_prove_options_are_validated_first() -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["refine", "--impl", "ftverify.kernel_impl:Kernel", "--prove", "--handler", "reed"])
    assert r.exit_code == 2 and "no handler reed (the handlers are: preempt, user_set, copy" in r.output
    r = runner.invoke(cli, ["refine", "--prove"])
    assert r.exit_code == 2 and "--prove, --handler, --json and --jobs go with --impl" in r.output
    r = runner.invoke(cli, ["refine", "--impl", "ftverify.kernel_impl:Kernel", "--json"])
    assert r.exit_code == 2 and "go with --prove" in r.output
    r = runner.invoke(cli, ["refine", "--impl", "tests.test_user_refinement_example:RingBufferAdapter", "--prove"])
    assert r.exit_code == 2 and "RingBufferAdapter cannot be proved: it needs symbolic()" in r.output
    assert "Traceback" not in r.output


def test_the_recheck_catches_a_wrong_first_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    # If the first encoding called every path of a buggy write fine, the re-check must not agree.
    monkeypatch.setattr(IP._Prover, "violation", lambda self, paths, step, post: None)
    (res,) = IP.prove(adapter_of(MU.WriteChecksReadRight), handlers=["write"]).results
    assert res.verdict == "unknown" and "is not a spec step" in res.reason, res


def test_the_recheck_catches_a_missing_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # If exploration lost a path (a wrong pruning), the re-check must see the gap.
    explore = IP.Paths.explore

    def lossy(self: Paths, run: Any) -> Any:
        for k, out in enumerate(explore(self, run)):
            if k != 1:
                yield out

    monkeypatch.setattr(IP.Paths, "explore", lossy)
    (res,) = IP.prove(KernelAdapter, handlers=["read"]).results
    assert res.verdict == "unknown" and "do not cover every start state" in res.reason, res


def test_a_stop_leaves_every_handler_in_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from ftverify.checker.engines import control

    calls = {"n": 0}
    explore = IP.Paths.explore

    def stop_in_second(self: Paths, run: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > 7:  # read has 7 calls: stop in the next handler
            raise control.Interrupted("interrupted (Ctrl-C)")
        yield from explore(self, run)

    monkeypatch.setattr(IP.Paths, "explore", stop_in_second)
    shown: list[IP.HandlerResult] = []
    rep = IP.prove(KernelAdapter, handlers=["read", "write", "send"], on_result=shown.append)
    assert [r.verdict for r in shown] == ["proved", "unknown", "unknown"]
    assert shown[1].reason == "interrupted (Ctrl-C)" and shown[2].reason == "not started (interrupted (Ctrl-C))"
    assert rep.stopped == "interrupted (Ctrl-C)"
