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

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from ftverify.checker.engines import control
from ftverify.checker.engines.workers import NotRun, in_order, slots
from ftverify.checker.output.result import Result


@dataclass(frozen=True)
class Job:
    path: str
    consts: tuple[tuple[str, int], ...]
    indices: tuple[int, ...]
    timeout: float | None  # per obligation (the command's deadline is the parent's to keep)
    rechecks: tuple[tuple[int, Result], ...] = ()  # cached verdicts to re-validate instead (--recheck-cache)
    stamp: str = ""  # on a cluster: the code and models as the client loaded them (`backend.work_stamp`)
    part: int | None = None  # one part of a refinement (its one obligation): `refine.PARTS`


@cache
def _proof(path: str, consts: tuple[tuple[str, int], ...], stamp: str = "") -> Any:
    """The loaded proof script (kept for the worker's next job; `stamp` tells versions apart)."""
    from ftverify.checker.commands.proofs import load_proof

    return load_proof(path, dict(consts))


_CHECKED: dict[tuple[str, tuple[tuple[str, int], ...], str], Any] = {}


def _checked_proof(path: str, consts: tuple[tuple[str, int], ...], stamp: str) -> Any:
    """On a cluster's worker: the proof script, if the files read here are those the client read
    (checked once per version: the digests take 20-100 ms); else a `NotRun` saying why."""
    key = (path, consts, stamp)
    if key not in _CHECKED:
        from ftverify.checker.cluster.backend import load_checked

        got = load_checked(path, stamp, lambda: _proof(path, consts, stamp), lambda p: p.models.values())
        if isinstance(got, NotRun):
            return got  # not kept: the worker's files may be mended
        _CHECKED[key] = got
    return _CHECKED[key]


def run_job(job: Job) -> list[Result] | NotRun:
    """Discharge the job's obligations in this process, in order."""
    from ftverify.checker.commands.proofs import ProofContext, _unknown, discharge, revalidate

    proof = _checked_proof(job.path, job.consts, job.stamp) if job.stamp else _proof(job.path, job.consts)
    if isinstance(proof, NotRun):
        return proof
    ctx = ProofContext(progress=None, timeout=job.timeout)
    rechecks = dict(job.rechecks)
    out = []
    for i in job.indices:
        ob = proof.obligations[i]
        control.current().begin(ob.name)
        t0 = time.monotonic()
        try:
            result = revalidate(ob, rechecks[i], ctx) if i in rechecks else discharge(ob, ob.budget, ctx, job.part)
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
        if thm.method == "explicit":
            key: Any = ("explicit", *ob.exploration_key)
        elif thm.method == "induction":
            key = ("induction", ob.alias, str(ob.budget.to_json()), frozenset([thm.prop, *thm.using]))
        else:
            key = ("one", i)
        if key not in by_key:
            by_key[key] = []
            order.append(key)
        by_key[key].append(i)
    return [tuple(by_key[k]) for k in order]


def run_parallel(proof: Any, indices: list[int], jobs: int, timeout: float | None,
                 on_result: Callable[[int, Result | None, str], None], describe: Callable[[int], str],
                 rechecks: dict[int, Result] | None = None, cluster: Any = None,
                 warn: Callable[[str], None] | None = None) -> None:
    """Run the obligations `indices` of `proof` on `jobs` worker processes, or on `cluster`;
    `on_result(i, r, "")` is called in script order. A stop (Ctrl-C, the command's deadline)
    ends the work: each obligation of an unfinished job gets `on_result(i, None, why)`, and so
    does each one of a job lost with its cluster worker (twice)."""
    ctl = control.current()
    consts = tuple(sorted(proof.consts.items()))
    stamp = ""
    path = proof.file
    if cluster is not None:  # the workers load the script by its absolute path, and check what they load
        from ftverify.checker.cluster.backend import work_stamp

        stamp, path = work_stamp(proof.models.values()), os.path.abspath(proof.file)
    from ftverify.checker.commands.proofs import merge_parts
    from ftverify.checker.engines.refine import PARTS

    todo = groups(proof, indices)
    # A refinement runs as its parts, one job each (the longest obligation of the kernel's proofs).
    units: list[tuple[tuple[int, ...], int | None]] = []
    for g in todo:
        whole = len(g) > 1 or proof.obligations[g[0]].theorem.method != "refinement" or bool(rechecks and g[0] in rechecks)
        units += [(g, None)] if whole else [(g, p) for p in range(len(PARTS))]
    partials: dict[int, dict[int, Result]] = {}
    finished: set[int] = set()  # units whose job has returned
    where = cluster.describe() if cluster is not None else f"{jobs} jobs"
    results: dict[int, tuple[Result | None, str]] = {}
    reported = 0  # indices[:reported] have been given to on_result

    def flush() -> None:
        nonlocal reported
        while reported < len(indices) and indices[reported] in results:
            i = indices[reported]
            on_result(i, *results[i])
            reported += 1
        if reported < len(indices):
            ctl.begin(f"{proof.name}: {describe(indices[reported])} ({reported} of {len(indices)} done, {where})")

    def arrived(k: int, got: Any) -> None:
        finished.add(k)
        g, part = units[k]
        if g[0] in results:
            pass  # a part of an obligation already decided (another part was not run)
        elif isinstance(got, NotRun):
            results.update((i, (None, got.reason)) for i in g)
        elif part is None:
            results.update((i, (r, "")) for i, r in zip(g, got, strict=True))
        else:
            partials.setdefault(g[0], {})[part] = got[0]
            if len(partials[g[0]]) == len(PARTS):
                results[g[0]] = (merge_parts([partials[g[0]][p] for p in range(len(PARTS))]), "")
        flush()

    items = [Job(path, consts, g, timeout, tuple((i, rechecks[i]) for i in g if rechecks and i in rechecks),
                 stamp, part) for g, part in units]
    flush()
    stopped = in_order(run_job, items, jobs, arrived, cluster, warn,
                       lambda k: ", ".join(describe(i) for i in units[k][0])
                       + (f" ({PARTS[units[k][1]]})" if units[k][1] is not None else ""))
    if stopped:
        # Jobs are handed out in order: the first unfinished ones were running.
        left = [g for k, (g, _) in enumerate(units) if k not in finished and g[0] not in results]
        running = set(left[:slots(jobs, cluster)])
        for g in dict.fromkeys(left):
            results.update((i, (None, stopped if g in running else f"not started ({stopped})")) for i in g)
        flush()


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
