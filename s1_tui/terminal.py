"""The terminal belongs to the app while it runs.

Textual draws on `sys.__stderr__`. Anything else that writes to the process's fds 1 and
2 (C libraries, stray prints, and every child process: vLLM's engine core and workers
inherit those fds when they start) would print over the screen. So, while the app runs,
fds 1 and 2 point at the run's log file and Textual draws on a private duplicate of
the terminal. When stderr is not a terminal (tests, pipes) nothing is changed.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from s1_engine.enginelog import EngineLog, terminal_stream


@contextlib.contextmanager
def app_owns_terminal(log: EngineLog) -> Iterator[None]:
    if not (sys.__stderr__ and sys.__stderr__.isatty()):
        yield
        return
    tty = terminal_stream()
    saved = (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
    with log.capture():
        sys.stdout = sys.stderr = sys.__stdout__ = sys.__stderr__ = tty
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                tty.flush()
            sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__ = saved
    with contextlib.suppress(OSError):
        tty.close()
    with contextlib.suppress(OSError):
        os.fsync(1)
