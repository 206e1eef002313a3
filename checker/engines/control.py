"""How long work runs, how it is stopped, and what it says while it runs.

One `Control` watches a whole command:

- a **wall deadline** for the command (`--timeout`): every solver call is armed
  with what is left of it (see `symbolic.Deadline`), and when it is reached the
  work is stopped wherever it is;
- **Ctrl-C** that reaches into the solver: the signal wakes a watcher thread
  (through `signal.set_wakeup_fd`, which works while the main thread is inside
  Z3's C code) that cancels the running Z3 call, and the main thread then raises
  `Interrupted`, which every command turns into `unknown: interrupted` for the
  running obligation and a table of what is known so far;
- **progress notes**: engines call `note("depth 7")` as they go; a display (see
  `output.progress`) shows them on stderr, throttled.

Engines never set a Control up; they only read `current()`. Without one (a
library call, a test), there is no deadline and notes go nowhere.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol


class Interrupted(KeyboardInterrupt):
    """The command was stopped (Ctrl-C, or its time ran out): the running work is unknown.

    A KeyboardInterrupt, so that no `except Exception` on the way swallows it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Display(Protocol):
    live: Callable[[], str | None]

    def show(self, task: str, note: str) -> None: ...

    def clear(self) -> None: ...

    def close(self) -> None: ...


class Control:
    def __init__(self, timeout: float | None = None, display: Display | None = None) -> None:
        self.start = time.monotonic()
        self.end = self.start + timeout if timeout is not None else None
        self.timeout = timeout
        self.display = display
        self.stopped: str | None = None  # why the run was stopped
        self.task = ""
        self.live: Callable[[], str] | None = None  # read by the display when it refreshes

    def left(self) -> float | None:
        """Seconds left of the command's wall budget (None: no budget)."""
        return None if self.end is None else max(0.0, self.end - time.monotonic())

    def begin(self, task: str) -> None:
        """A new piece of work starts (an obligation, a property, a campaign)."""
        self.task = task
        if self.display is not None:
            self.display.show(task, "")

    def note(self, text: str) -> None:
        if self.display is not None:
            self.display.show(self.task, text)

    @contextlib.contextmanager
    def watching(self, measure: Callable[[], str]) -> Iterator[None]:
        """While the body runs, the display reads `measure()` itself, every time it refreshes:
        progress for a loop that must not spend anything on it (or whose code must not change)."""
        self.live = measure
        try:
            yield
        finally:
            self.live = None

    def stop(self, reason: str) -> None:
        """Stop the run from any thread: cancel a running Z3 call, make the main thread raise."""
        if self.stopped is None:
            self.stopped = reason
        _cancel_z3()


def _leave_ctrl_c_to_us() -> None:
    """Z3 catches SIGINT itself while it solves (and swallows it: the call just returns
    `unknown`); turn that off so that Ctrl-C reaches us, and we cancel Z3 ourselves.
    Z3 is not imported for this (an explicit run never loads it): `z3_loaded` does it
    when the symbolic engines load Z3 later in a controlled run."""
    z3 = sys.modules.get("z3")
    if z3 is not None:
        z3.set_param("ctrl_c", False)


def adopt(ctl: Control) -> None:
    """Make ctl the current control of this process (a worker process, whose parent runs the command)."""
    global _current
    _current = ctl


def z3_loaded() -> None:
    """Called by the module that first imports Z3 (`encode`)."""
    if _current is not _NONE:
        _leave_ctrl_c_to_us()


def _cancel_z3() -> None:
    z3 = sys.modules.get("z3")
    if z3 is None:
        return  # Z3 never loaded: no Z3 call to cancel
    with contextlib.suppress(Exception):  # no Z3 call to cancel: nothing to do
        z3.main_ctx().interrupt()


_NONE = Control()
_current: Control = _NONE


def current() -> Control:
    return _current


def note(text: str) -> None:
    """A progress note from an engine (what it is doing, how far it got)."""
    _current.note(text)


def check() -> None:
    """Raise `Interrupted` if the run has been stopped (for loops that never enter Z3)."""
    if _current.stopped is not None:
        raise Interrupted(_current.stopped)
    if _current.end is not None and time.monotonic() >= _current.end:
        _current.stopped = f"timeout after {_current.timeout:g} s"
        raise Interrupted(_current.stopped)


@contextlib.contextmanager
def controlled(timeout: float | None = None, display: Display | None = None) -> Iterator[Control]:
    """Run the body under a Control: the wall deadline, Ctrl-C, and the progress display."""
    global _current
    ctl = Control(timeout, display)
    if display is not None:
        display.live = lambda: ctl.live() if ctl.live is not None else None
    previous = _current
    _current = ctl
    main = threading.current_thread() is threading.main_thread()
    restore: list[object] = []
    done = threading.Event()
    if main:
        _leave_ctrl_c_to_us()
        reader, writer = os.pipe()  # the signal's C handler writes here; the watcher reads
        os.set_blocking(writer, False)

        me = sys._getframe()  # this generator's frame

        def on_sigint(signum: int, frame: Any) -> None:
            ctl.stop(ctl.stopped or "interrupted (Ctrl-C)")
            # Taken as the body returns (entering our `__exit__`, or back in here): the work is over.
            # Raising now would throw the stop at the caller, after the work already stopped.
            exiting = getattr(getattr(frame and frame.f_locals.get("self"), "gen", None), "gi_frame", None) is me
            if done.is_set() or frame is me or exiting:
                return
            raise Interrupted(ctl.stopped or "interrupted (Ctrl-C)")

        restore = [signal.signal(signal.SIGINT, on_sigint), signal.set_wakeup_fd(writer, warn_on_full_buffer=False)]

        def watch() -> None:  # runs while the main thread may be inside Z3's C code
            # The watcher owns the read end and closes it itself: closed from the main thread, its
            # number could be reused by the next open() before this loop reads again, and the read
            # would take the first bytes of somebody else's file.
            try:
                while not done.is_set():
                    try:
                        data = os.read(reader, 64)
                    except OSError:
                        return
                    if not data or done.is_set():
                        return
                    if signal.SIGINT in data:
                        ctl.stop("interrupted (Ctrl-C)")
            finally:
                os.close(reader)

        threading.Thread(target=watch, name="ftverify-sigint", daemon=True).start()
    # The stop may be raised while Python runs a finalizer (a Z3 object's __del__), where it is
    # "ignored" with a traceback on stderr; the run is stopped all the same (`stopped` is set,
    # and the loops look at it), so say nothing about it.
    previous_hook = sys.unraisablehook

    def quiet_stops(unraisable: sys.UnraisableHookArgs) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous_hook(unraisable)

    sys.unraisablehook = quiet_stops
    timer = None
    if timeout is not None:
        def expire() -> None:
            ctl.stop(f"timeout after {timeout:g} s")
            if main:
                import _thread

                _thread.interrupt_main(signal.SIGINT)

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
    try:
        yield ctl
    finally:
        done.set()
        sys.unraisablehook = previous_hook
        if timer is not None:
            timer.cancel()
            timer.join()  # `expire` has run to its end (its simulated Ctrl-C is pending), or never will
        if main:
            with contextlib.suppress(KeyboardInterrupt):  # take a pending one here, with our handler
                for _ in range(64):
                    pass
            signal.signal(signal.SIGINT, restore[0])  # type: ignore[arg-type]
            signal.set_wakeup_fd(restore[1])  # type: ignore[arg-type]
            with contextlib.suppress(OSError):
                os.write(writer, b"\0")  # wake the watcher so that it ends (it closes the read end)
            os.close(writer)
        if display is not None:
            display.close()
        _current = previous


def interrupted_message(e: BaseException) -> str:
    return e.reason if isinstance(e, Interrupted) else "interrupted (Ctrl-C)"


__all__ = ["Control", "Interrupted", "check", "controlled", "current", "note"]
