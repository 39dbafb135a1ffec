"""Engine processes die with the process that started them, whatever killed it.

vLLM runs its engine core, and the core its workers, as child processes (multiprocessing's
"spawn" on the CPU, "spawn" or "fork" on a GPU). When the command that started them dies
by a signal it cannot catch (SIGKILL: the OOM killer, a CI timeout, `kill -9`), nothing
tells them: they were seen holding 3.7 GB and a core for hours. So each such child watches
its parent: `hold()` starts a daemon thread that polls the parent's pid and, once the
parent is gone (the child was re-parented), kills the child at once with SIGKILL; that
child's own children see their parent go the same way, and multiprocessing's resource
tracker ends by itself when the last process holding its pipe is gone.

How the watch gets into a child: a spawned child imports the parent's main module before
it runs its target (multiprocessing's `prepare`), so the `s1` entry point calls
`hold_if_spawned()` when it is imported (`s1_cli.main`); a forked child gets the watch from
an at-fork hook, on while the vLLM backend starts the engine (`arming()`) and for good in
every watched child. A poll (not PR_SET_PDEATHSIG) because the death signal follows the
parent *thread* that forked, and vLLM starts its core from the engine's loop thread.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator

POLL_SECONDS = 0.5
_held = False
_arming = False  # forked children get the watch
_registered = False


def _watch(parent: int, interval: float) -> None:
    while os.getppid() == parent:
        time.sleep(interval)
    os.kill(os.getpid(), signal.SIGKILL)


def _start_watch(interval: float) -> None:
    parent = os.getppid()
    if parent == 1:  # already orphaned before the watch began
        os.kill(os.getpid(), signal.SIGKILL)
    threading.Thread(
        target=_watch, args=(parent, interval), name="s1-lifeline", daemon=True
    ).start()


def _after_fork_in_child() -> None:
    if _arming:
        _start_watch(POLL_SECONDS)


@contextlib.contextmanager
def arming() -> Iterator[None]:
    """Every child this process forks meanwhile dies with it (vLLM forks its engine core on
    a GPU by default: the vLLM backend starts it inside this). Only meanwhile: a program
    the process runs later through a fork (subprocess) gets no watch."""
    global _arming
    _register()
    before, _arming = _arming, True
    try:
        yield
    finally:
        _arming = before


def _register() -> None:
    global _registered
    if not _registered:
        _registered = True
        os.register_at_fork(after_in_child=_after_fork_in_child)


def hold(interval: float = POLL_SECONDS) -> None:
    """Die with the parent process (this process, and every child it forks later)."""
    global _held, _arming
    if _held:
        return
    _held = True
    _start_watch(interval)
    _arming = True  # the children it forks (vLLM's workers) die with it too
    _register()


def is_spawned_child() -> bool:
    """True in a process started by multiprocessing's spawn: its interpreter's command line
    says so (`sys.argv` is the parent's by then; `sys.orig_argv` is this process's own)."""
    return "--multiprocessing-fork" in getattr(sys, "orig_argv", ())


def hold_if_spawned() -> None:
    """`hold()` when this process is a multiprocessing child (e.g. vLLM's engine core)."""
    if is_spawned_child():
        hold()
