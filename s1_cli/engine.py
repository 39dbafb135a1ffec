"""Starting an engine for a command: one progress line, the engine's own output in a log."""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from s1_engine.enginelog import EngineLog, terminal_stream
from s1_engine.settings import EngineOptions


def start_engine(opts: EngineOptions, command: str, seed: int = 0, workload: str = "live") -> Any:
    """Build the engine for `command`: a spinner while it loads, its logs in a file
    under the data dir (on the terminal with --verbose), their tail in any start error."""
    if opts.verbose:
        return opts.build(seed, workload)
    log = EngineLog.new(command)
    with loading_line(f"loading {opts.model or 'the embedded model'} (log: {log.path})"):
        return opts.build(seed, workload, log)


def loading_line(text: str) -> Any:
    """A spinner with `text` on the terminal (on a private handle: fds 1 and 2 point at
    the log meanwhile); nothing when stderr is not a terminal (scripts read it)."""
    from rich.console import Console

    if not sys.stderr.isatty():
        return contextlib.nullcontext()
    console = Console(file=terminal_stream(), highlight=False)
    return console.status(text, spinner="dots")
