"""Worker processes: a pool that ignores Ctrl-C (the parent decides what it means), relays
its engines' progress notes to the parent's status line, and is terminated on a stop.

Work is a module-level function and a picklable item that names what to load (a file, its
constants), never live objects: the same items can go to any process.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from typing import Any

from ftverify.checker.engines import control


class NotRun:
    """The result of a job that did not run to its end: its cluster worker was lost (twice), or
    the worker could not load the job's files as the client reads them."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class Relay:
    """A worker's progress display: its notes go to the parent (at most four a second), through
    anything with a `put` (a process pool's queue, a cluster's publisher)."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.live = lambda: None
        self.sent = 0.0
        self.task = ""

    def show(self, task: str, note: str) -> None:
        now = time.monotonic()
        if task != self.task or now - self.sent >= 0.25:
            self.task, self.sent = task, now
            self.queue.put((os.getpid(), task, note))

    def clear(self) -> None:
        pass

    def close(self) -> None:
        pass


def _worker_init(queue: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what a Ctrl-C means
    control.adopt(control.Control(None, Relay(queue)))


def wait(fut: Any, notes: Any, latest: dict[int, tuple[str, str]]) -> Any:
    """A worker's result, showing the workers' progress notes meanwhile; Interrupted on a stop."""
    while True:
        try:
            return fut.get(timeout=0.2)
        except multiprocessing.TimeoutError:
            relay(notes, latest)


def relay(notes: Any, latest: dict[int, tuple[str, str]]) -> None:
    """Show the workers' latest notes (`latest`: per worker, its task and last note) on the
    status line; Interrupted when the command has been stopped."""
    ctl = control.current()
    if ctl.stopped:
        raise control.Interrupted(ctl.stopped)
    while not notes.empty():
        pid, task, note = notes.get()
        latest[pid] = (task, note)
    if latest:
        ctl.note(" | ".join(f"{t}: {n}" if n else t for t, n in (latest[p] for p in sorted(latest))))


def race(work: Callable[[Any], Any], items: list[Any], decisive: Callable[[Any], bool]) -> tuple[
        list[Any], int | None, dict[str, str]]:
    """`work(item)` for every item at once, one process each, until the first decisive result;
    the others are then terminated. Returns each item's result (None: did not finish), the
    index of the winner (None: none was decisive), and each worker's last progress note (by its
    task, as the work `begin`s it). Interrupted on a stop."""
    workers, notes = pool(len(items))
    latest: dict[int, tuple[str, str]] = {}
    results: list[Any] = [None] * len(items)
    try:
        pending = {k: workers.apply_async(work, (item,)) for k, item in enumerate(items)}
        while pending:
            for k in [k for k, fut in pending.items() if fut.ready()]:
                results[k] = pending.pop(k).get()
                if decisive(results[k]):
                    relay(notes, latest)
                    return results, k, dict(latest.values())
            time.sleep(0.05)
            relay(notes, latest)
        return results, None, dict(latest.values())
    finally:
        workers.terminate()
        workers.join()


def pool(workers: int) -> tuple[Any, Any]:
    """A pool of `workers` spawned processes, and the queue their progress notes arrive on.
    Spawned, not forked: the parent runs threads (the progress ticker, the SIGINT watcher)."""
    mp = multiprocessing.get_context("spawn")
    notes = mp.SimpleQueue()
    return mp.Pool(max(1, workers), initializer=_worker_init, initargs=(notes,)), notes


def can_start_processes() -> bool:
    """Whether this process may start workers of its own (a pool's workers may not)."""
    return not multiprocessing.current_process().daemon


def in_order(work: Callable[[Any], Any], items: list[Any], jobs: int, on_result: Callable[[int, Any], None],
             cluster: Any = None, warn: Callable[[str], None] | None = None,
             label: Callable[[int], str] | None = None) -> str:
    """`work(item)` for every item on `jobs` worker processes (`work` a module-level function,
    items picklable), `on_result(k, result)` called in the items' order; on `cluster` (see
    checker/cluster/backend.py) instead, when one is given, where a job lost with its worker
    gives a `NotRun` result (`warn` hears of each loss, `label(k)` names the job). A stop
    (Ctrl-C, the command's deadline) stops the work and is returned: the items not reported
    did not finish, and the first `slots(jobs, cluster)` of them were running. Returns "" when
    every item was reported."""
    if cluster is not None:
        return cluster.in_order(work, items, on_result, warn, label)
    workers, notes = pool(min(jobs, len(items)))
    latest: dict[int, tuple[str, str]] = {}
    try:
        pending = [workers.apply_async(work, (item,)) for item in items]
        for k, fut in enumerate(pending):
            on_result(k, wait(fut, notes, latest))
        return ""
    except control.Interrupted as e:
        return e.reason
    finally:
        workers.terminate()
        workers.join()


def slots(jobs: int, cluster: Any = None) -> int:
    """How many jobs run at once."""
    return len(cluster.workers) if cluster is not None else jobs
