"""Progress of a long command on stderr: which piece of work, how long, how far the engine got.

One status line (tqdm's, on stderr), shown only once the command has run for
a second, and refreshed every two seconds by a ticker thread, so that the time
keeps moving while the main thread is inside a long solver call. Quiet commands
(`--quiet`) make no display at all; `--json` keeps it on stderr, away from the
results on stdout.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

SHOW_AFTER = 1.0  # seconds before the first line
EVERY = 2.0  # seconds between refreshes


def _own_stderr() -> TextIO:
    try:
        if sys.stderr.fileno() == 2:
            return os.fdopen(os.dup(2), "w", buffering=1)
    except (AttributeError, OSError, ValueError):  # not a real file (a test runner's capture)
        pass
    return sys.stderr


class StatusLine:
    def __init__(self, stream: TextIO | None = None) -> None:
        # Its own copy of stderr: an engine may borrow file descriptor 2 to read Z3's
        # verbose output (see `pdr`), and the status line must not end up there.
        self.stream = stream or _own_stderr()
        self.start = time.monotonic()
        self.task = ""
        self.note = ""
        # A note the display reads itself at each refresh (set by whoever runs the work).
        self.live: Callable[[], str | None] = lambda: None
        self.lock = threading.Lock()
        self.bar: Any = None  # a tqdm bar once shown (tqdm is imported then: it costs start-up time)
        self.done = threading.Event()
        self.ticker = threading.Thread(target=self._tick, name="ftverify-progress", daemon=True)
        self.ticker.start()

    def show(self, task: str, note: str) -> None:
        with self.lock:
            self.task, self.note = task, note

    def _text(self) -> str:
        elapsed = time.monotonic() - self.start
        parts = [p for p in (self.task, self.live() or self.note) if p]
        return f"{' | '.join(parts)} | {elapsed:.0f} s" if parts else f"working, {elapsed:.0f} s"

    def _tick(self) -> None:
        if self.done.wait(SHOW_AFTER):
            return
        while True:
            with self.lock:
                text = self._text()
                if self.bar is None:
                    from tqdm import tqdm

                    self.bar = tqdm(total=None, bar_format="{desc}", file=self.stream, leave=False,
                                    dynamic_ncols=True, ascii=True)
                self.bar.set_description_str(text, refresh=True)
            if self.done.wait(EVERY):
                return

    def clear(self) -> None:
        """Take the status line off the screen before other output (the ticker puts it back)."""
        with self.lock:
            if self.bar is not None:
                self.bar.clear()

    def close(self) -> None:
        self.done.set()
        self.ticker.join(timeout=1.0)
        with self.lock:
            if self.bar is not None:
                self.bar.close()
                self.bar = None
