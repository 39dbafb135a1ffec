"""Starting engine processes from inside an app that has replaced `sys.stderr`.

vLLM starts its engine core (and workers) with multiprocessing's "spawn". The first
spawn also starts multiprocessing's resource tracker, handing it `sys.stderr.fileno()`.
Textual, while its app runs, replaces `sys.stderr` with a print-capture object whose
`fileno()` is -1, and `_posixsubprocess.fork_exec` refuses that: "bad value(s) in
fds_to_keep". So `s1 tui` could not start vLLM. The fix at its cause: start the tracker
ourselves, before the engine, on the process's real stderr (fd 2).
"""

from __future__ import annotations

import os
import sys


def _stderr_fd_is_usable() -> bool:
    try:
        return sys.stderr.fileno() >= 0
    except Exception:  # noqa: BLE001 - no fileno at all: multiprocessing skips it itself
        return True


def ensure_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with a valid stderr (once per process)."""
    from multiprocessing import resource_tracker

    if _stderr_fd_is_usable():
        resource_tracker.ensure_running()
        return
    real = os.fdopen(2, "w", closefd=False)  # fd 2 itself: the terminal, or a log
    saved, sys.stderr = sys.stderr, real
    try:
        resource_tracker.ensure_running()
    finally:
        sys.stderr = saved
