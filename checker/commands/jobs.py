"""Proof obligations as jobs, run by a pool of worker processes (`prove --jobs N`).

A job names its work, not its objects: the proof script's path, the constants it
was loaded with and the indices of its obligations, so that it can be sent to any
process (a local pool today, a cluster engine later) and loaded there. Obligations
that share work in one process (several theorems over the same conjuncts by
induction, explicit theorems over one exploration) travel as one job.

Workers ignore SIGINT: the parent decides what a Ctrl-C means (it terminates the
pool; the obligations still running become `unknown`, the rest are not started);
see engines/workers.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from ftverify.checker.engines import control
from ftverify.checker.engines.workers import in_order, pool, wait
from ftverify.checker.output.result import Result


@dataclass(frozen=True)
class Job:
    path: str
    consts: tuple[tuple[str, int], ...]
    indices: tuple[int, ...]
    timeout: float | None  # per obligation (the command's deadline is the parent's to keep)
    rechecks: tuple[tuple[int, Result], ...] = ()  # cached verdicts to re-validate instead (--recheck-cache)


@cache
def _proof(path: str, consts: tuple[tuple[str, int], ...]) -> Any:
    from ftverify.checker.commands.proofs import load_proof

    return load_proof(path, dict(consts))


def run_job(job: Job) -> list[Result]:
    """Discharge the job's obligations in this process, in order."""
    from ftverify.checker.commands.proofs import ProofContext, _unknown, discharge, revalidate

    proof = _proof(job.path, job.consts)
    ctx = ProofContext(progress=None, timeout=job.timeout)
    rechecks = dict(job.rechecks)
    out = []
    for i in job.indices:
        ob = proof.obligations[i]
        control.current().begin(ob.name)
        t0 = time.monotonic()
        try:
            result = revalidate(ob, rechecks[i], ctx) if i in rechecks else discharge(ob, ob.budget, ctx)
        except Exception as e:  # one obligation's failure is its own unknown, not the job's
            result = _unknown(ob, f"internal error: {type(e).__name__}: {e}")
        result.seconds = time.monotonic() - t0
        out.append(result)
    return out


def groups(proof: Any, indices: list[int]) -> list[tuple[int, ...]]:
    """The obligations to run, in script order, grouped where they share work."""
    by_key: dict[Any, list[int]] = {}
    order: list[Any] = []
    for i in indices:
        ob = proof.obligations[i]
        thm = ob.theorem
        budget = str(ob.budget.to_json())
        if thm.method == "explicit":
            key: Any = ("explicit", ob.alias, budget)
        elif thm.method == "induction":
            key = ("induction", ob.alias, budget, frozenset([thm.prop, *thm.using]))
        else:
            key = ("one", i)
        if key not in by_key:
            by_key[key] = []
            order.append(key)
        by_key[key].append(i)
    return [tuple(by_key[k]) for k in order]


def run_parallel(proof: Any, indices: list[int], jobs: int, timeout: float | None,
                 on_result: Callable[[int, Result | None, str], None], describe: Callable[[int], str],
                 rechecks: dict[int, Result] | None = None) -> None:
    """Run the obligations `indices` of `proof` on `jobs` worker processes; `on_result(i, r, "")`
    is called in script order. A stop (Ctrl-C, the command's deadline) terminates the pool: each
    obligation of an unfinished job gets `on_result(i, None, why)`."""
    ctl = control.current()
    consts = tuple(sorted(proof.consts.items()))
    todo = groups(proof, indices)
    results: dict[int, Result] = {}
    reported: set[int] = set()
    workers = min(jobs, len(todo))
    workers_pool, notes = pool(workers)
    latest: dict[int, tuple[str, str]] = {}  # per worker, its obligation and its engine's last note
    pending: dict[tuple[int, ...], Any] = {}
    try:
        pending = {g: workers_pool.apply_async(run_job, (Job(proof.file, consts, g, timeout, tuple(
            (i, rechecks[i]) for i in g if rechecks and i in rechecks)),)) for g in todo}
        for i in indices:
            if i not in results:
                g = next(g for g in todo if i in g)
                ctl.begin(f"{proof.name}: {describe(i)} ({len(results)} of {len(indices)} done, {jobs} jobs)")
                got = wait(pending[g], notes, latest)
                results.update(zip(g, got, strict=True))
            on_result(i, results[i], "")
            reported.add(i)
    except control.Interrupted as e:
        workers_pool.terminate()
        # The pool hands out jobs in order, one per worker: the first unfinished ones were running.
        unfinished = [g for g in todo if g in pending and not pending[g].ready()]
        running = set(unfinished[:workers])
        for i in indices:
            if i in reported:
                continue
            if i in results:  # its job finished with it
                on_result(i, results[i], "")
            else:
                g = next(g for g in todo if i in g)
                on_result(i, None, e.reason if g in running else f"not started ({e.reason})")
    finally:
        workers_pool.terminate()
        workers_pool.join()


# ---------------------------------------------------------------- `refine --impl --prove --jobs N`
@dataclass(frozen=True)
class HandlerJob:
    """One handler of an implementation to prove: named by the `--impl` target, not by objects."""

    target: str
    spec: str | None
    consts: tuple[tuple[str, int], ...]
    handler: str


def run_handler_job(job: HandlerJob) -> Any:
    from ftverify.checker.engines import conformance as C
    from ftverify.checker.engines import implproof as IP

    adapter = C.adapter_for(job.target, job.spec, dict(job.consts))
    return IP.prove(adapter, handlers=[job.handler]).results[0]


def prove_handlers(target: str, spec: str | None, consts: dict[str, int], handlers: list[str], jobs: int,
                   on_result: Callable[[Any], None]) -> Any:
    """Prove `handlers` on `jobs` worker processes; `on_result` is called in order. A stop
    terminates the pool: the handlers not finished are `unknown`."""
    from ftverify.checker.engines.implproof import HandlerResult, ProofReport

    report = ProofReport()

    def arrived(_: int, res: Any) -> None:
        report.results.append(res)
        on_result(res)

    todo = [HandlerJob(target, spec, tuple(sorted(consts.items())), h) for h in handlers]
    report.stopped = in_order(run_handler_job, todo, jobs, arrived) or None
    for h in handlers[len(report.results):]:
        res = HandlerResult(h, reason=report.stopped or "")
        report.results.append(res)
        on_result(res)
    return report
