"""A Dask distributed cluster as a place to run jobs: started here (`local:N`, N worker
processes on this machine) or reached at a running scheduler's address (`tcp://host:8786`).

Jobs are the same module-level functions and picklable items that the local process pool
runs (see engines/workers.py): they name files and constants, so any worker can load them.
Results are taken in the items' order. A worker that dies while it runs a job makes that
job run once more elsewhere; lost again, it is a `NotRun` result, never a missing one.
Ctrl-C and the command's deadline cancel the jobs not finished.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from ftverify.checker.engines import control
from ftverify.checker.engines.workers import NotRun, Relay, relay

INSTALL_HINT = "pip install 'ftverify[cluster]'"
_LOCAL = re.compile(r"local:([0-9]+)")


class ClusterUnavailable(Exception):
    """The cluster cannot be used (Dask not installed, no scheduler at the address): a user error."""


def check_address(text: str) -> str:
    """`local:N` or a scheduler's address; a ValueError says what was expected. Checked
    before any work starts (and before Dask is imported)."""
    m = _LOCAL.fullmatch(text)
    if m:
        if not 1 <= int(m.group(1)) <= 256:
            raise ValueError(f"{text}: a local cluster has 1 to 256 workers")
        return text
    if re.fullmatch(r"(tcp|tls|ucx|inproc)://[^\s/]+", text) or re.fullmatch(r"[A-Za-z0-9.\-]+:[0-9]+", text):
        return text
    raise ValueError(f"{text}: expected local:N (N worker processes here) or a scheduler's address, "
                     "such as tcp://host:8786")


def dask_installed() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


class Cluster:
    """A Dask client, and the local cluster behind it when this process starts one. It connects
    (or starts the local cluster) when first used: a run served from the proof cache needs none."""

    def __init__(self, address: str, timeout: float = 10.0) -> None:
        if not dask_installed():
            raise ClusterUnavailable(f"--cluster needs Dask distributed, which is not installed: {INSTALL_HINT}")
        self.address, self.timeout = address, timeout
        self.local: Any = None
        self._client: Any = None
        self.failed: ClusterUnavailable | None = None  # asked again, the answer is the same

    @property
    def client(self) -> Any:
        if self.failed is not None:
            raise self.failed
        if self._client is None:
            try:
                self._connect()
            except ClusterUnavailable as e:
                self.failed = e
                raise
        return self._client

    def _connect(self) -> None:
        import dask
        from distributed import Client, LocalCluster

        address, timeout = self.address, self.timeout
        m = _LOCAL.fullmatch(address)
        with _sigint_ignored():  # the workers leave Ctrl-C to this process, which cancels their jobs
            if m:
                # One retry of a job whose worker died is ours to make (and to report), not the scheduler's.
                dask.config.set({"distributed.scheduler.allowed-failures": 0})
                _quiet_resource_tracker()
                self.local = LocalCluster(n_workers=int(m.group(1)), threads_per_worker=1, processes=True,
                                          dashboard_address=":0", silence_logs=logging.CRITICAL)
                self._client = Client(self.local)
                self._client.wait_for_workers(int(m.group(1)), timeout=timeout)
                return
            try:
                client = Client(address, timeout=timeout)
            except OSError as e:
                raise ClusterUnavailable(f"--cluster {address}: no Dask scheduler answers there ({e})") from None
            try:
                client.wait_for_workers(1, timeout=timeout)
            except TimeoutError:
                client.close()
                raise ClusterUnavailable(f"--cluster {address}: the scheduler has no workers (start some with "
                                         f"`dask worker {address} --nthreads 1`)") from None
            self._client = client
            try:
                self._same_code(address)
                threads = client.ncores()
                threaded = sorted(a for a, n in threads.items() if n > 1)
                if threaded:
                    raise ClusterUnavailable(
                        f"--cluster {address}: workers must run one thread each (`dask worker ... --nthreads 1`): "
                        f"a worker's jobs share its solver and its time limits; {threaded[0]} runs "
                        f"{threads[threaded[0]]}")
            except ClusterUnavailable:
                self.close()
                raise

    def _same_code(self, address: str) -> None:
        """The workers must run this client's ftverify: jobs are its functions, verdicts its engines'."""
        from ftverify.spec.digest import code_digest, running_code

        try:  # the scheduler too: it unpickles the jobs
            theirs = {*self.client.run(running_code).values(), self.client.run_on_scheduler(running_code)}
        except Exception as e:  # a worker that cannot even import it runs something else
            theirs = {f"({type(e).__name__})"}
        if theirs - {code_digest()}:
            raise ClusterUnavailable(f"--cluster {address}: the scheduler or the workers run other ftverify code "
                                     "than this command (install the same version there, and restart them after "
                                     "an update)")

    @property
    def workers(self) -> list[str]:
        """The workers' addresses, sorted (asked of the scheduler: the client's own copy lags)."""
        return sorted(self.client.ncores())

    def describe(self) -> str:
        n = len(self.workers)
        where = "a local cluster" if self.local is not None else f"the cluster at {self.address}"
        return f"{where} of {n} worker{'s' * (n != 1)}"

    def in_order(self, work: Callable[[Any], Any], items: list[Any], on_result: Callable[[int, Any], None],
                 warn: Callable[[str], None] | None = None, label: Callable[[int], str] | None = None) -> str:
        """`work(item)` for every item on the cluster, `on_result(k, result)` in the items'
        order; a job lost with its worker twice gives a `NotRun` result. A stop (Ctrl-C,
        the deadline) cancels the jobs left and is returned; "" when every item was reported."""
        from distributed import KilledWorker, Queue

        client = self.client
        topic = f"ftverify-progress-{time.time_ns()}"
        notes = _Inbox(Queue(topic, client=client))
        latest: dict[int, tuple[str, str]] = {}  # per worker process, its job and its engine's last note

        def submit(item: Any) -> Any:
            return client.submit(_relayed, work, item, topic, pure=False)

        futures = [submit(item) for item in items]
        retried: set[int] = set()
        try:
            for k in range(len(items)):
                while True:
                    relay(notes, latest)  # Interrupted on a stop
                    try:
                        got = futures[k].result(timeout=0.2)
                    except TimeoutError:
                        continue
                    except KilledWorker:
                        what = label(k) if label else f"job {k + 1}"
                        if k in retried:
                            got = NotRun(f"worker lost (twice): {what} did not finish")
                        else:
                            retried.add(k)
                            if warn is not None:
                                warn(f"a cluster worker was lost with {what} on it (running or queued); it runs again")
                            futures[k] = submit(items[k])
                            continue
                    break
                futures[k].release()
                on_result(k, got)
            return ""
        except control.Interrupted as e:
            client.cancel(futures)
            return e.reason
        finally:
            with contextlib.suppress(Exception):  # the scheduler keeps a named queue until it is closed
                notes.queue.close()

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):  # a scheduler already gone has nothing to close
                self._client.close()
            self._client = None
        if self.local is not None:
            with contextlib.suppress(Exception):
                self.local.close()
            self.local = None

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def _sigint_ignored() -> Any:
    """Worker processes started meanwhile inherit an ignored SIGINT (a terminal's Ctrl-C goes to
    the whole process group: the workers must not die of it; this process decides)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _relayed(work: Callable[[Any], Any], item: Any, topic: str) -> Any:
    """`work(item)` on a worker, its engines' progress notes published to the client."""
    from distributed import Queue

    previous = control.current()
    control.adopt(control.Control(None, Relay(Queue(topic))))
    try:
        return work(item)
    finally:
        control.adopt(previous)


class _Inbox:
    """The client's end of the workers' progress notes (a Dask queue on the scheduler), read as
    `workers.relay` reads a process pool's queue."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.next: Any = None

    def empty(self) -> bool:
        if self.next is None:
            if not self.queue.qsize():
                return True
            self.next = self.queue.get()
        return False

    def get(self) -> Any:
        got, self.next = self.next, None
        return got


def _quiet_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with its stderr on /dev/null: when a worker is
    killed (by the user, by the kernel's OOM killer), the tracker would print a traceback about
    the semaphores the worker left behind, and the loss is reported as a warning already."""
    import os
    import sys
    from multiprocessing import resource_tracker

    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        resource_tracker.ensure_running()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def work_stamp(models: Any) -> str:
    """What a worker must agree on with the client before it works: ftverify's code and the typed
    models (imports and constants included), as digests. A cluster's workers read the files at the
    client's paths (a shared file system, or the same checkout at the same path)."""
    from ftverify.spec.digest import code_digest, model_digest

    h = hashlib.sha256(code_digest().encode())
    for digest in sorted(model_digest(m) for m in models):
        h.update(digest.encode())
    return h.hexdigest()


def load_checked(path: str, stamp: str, load: Callable[[], Any], models: Callable[[Any], Any]) -> Any:
    """On a cluster's worker: what `load()` gives, if its `models(...)` have the client's `stamp`;
    otherwise a `NotRun` that says why this worker cannot work on it."""
    from ftverify.spec.errors import SpecError

    try:
        loaded = load()
    except (SpecError, OSError) as e:
        return NotRun(f"not run: a cluster worker cannot load {path} ({getattr(e, 'message', e)}); the workers "
                      "must see the same files at the same paths")
    if work_stamp(models(loaded)) != stamp:
        return NotRun(f"not run: a cluster worker runs other ftverify code, or reads other files at {path}, "
                      "than this machine (the workers must run the same version and see the same files at the "
                      "same paths)")
    return loaded
