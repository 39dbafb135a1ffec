"""Starting and stopping an engine for a command: one progress line each, the engine's
own output in a log."""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from s1_engine.enginelog import EngineLog, terminal_stream
from s1_engine.settings import EngineOptions


def start_engine(
    opts: EngineOptions, command: str, seed: int = 0, concurrency: str = "one", line: bool = True
) -> Any:
    """Build the engine for `command`: a spinner while it loads (unless `line` is off),
    its logs in a file under the data dir (on the terminal with --verbose), their tail in
    any start error."""
    if opts.verbose:
        return opts.build(seed, concurrency)
    log = EngineLog.new(command)
    text = f"loading {opts.model or 'the embedded model'} (log: {log.path})"
    with loading_line(text) if line else contextlib.nullcontext():
        return opts.build(seed, concurrency, log)


def stop_engine(engine: Any) -> None:
    """Close `engine`, saying so while vLLM's processes take their few seconds to end
    (a quiet terminal for 7-10 s reads as a hang)."""
    if engine is None:
        return
    if getattr(engine, "backend_name", "") != "vllm":
        engine.close()
        return
    with loading_line("stopping vLLM (its engine processes take a few seconds to end)", True):
        engine.close()


def loading_line(text: str, keep: bool = False) -> Any:
    """A spinner with `text` on the terminal (on a private handle: fds 1 and 2 point at
    the log meanwhile); nothing when stderr is not a terminal (scripts read it). With
    `keep` the line stays once done (a stop that is quick must still be seen).

    It leaves `sys.stdout` / `sys.stderr` alone (rich's `console.status` would send them
    to the terminal): what libraries print while an engine starts belongs in its log."""
    from rich.console import Console
    from rich.live import Live
    from rich.spinner import Spinner

    if not sys.stderr.isatty():
        return contextlib.nullcontext()
    console = Console(file=terminal_stream(), highlight=False)
    return Live(
        Spinner("dots", text),
        console=console,
        transient=not keep,
        refresh_per_second=12.5,
        redirect_stdout=False,
        redirect_stderr=False,
    )
