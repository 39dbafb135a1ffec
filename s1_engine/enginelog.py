"""Where an engine's own chatter goes: a log file in the data dir, not the user's terminal.

vLLM and the libraries under it print dozens of lines while a model loads (weights cast,
kernels missing, deprecations), from this process and from the engine processes it
starts. A command keeps the terminal for its own output: while an engine starts, the
process's stdout and stderr (file descriptors 1 and 2, which child processes inherit)
point at the log, and vLLM's logger writes there for the rest of the run. The last
lines of the log come back with any start-up error.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

KEEP_LOGS = 20  # older logs in the folder are removed


def data_dir() -> Path:
    """$S1_DATA_DIR, else the user data dir (`<data>/s1`): history, logs."""
    env = os.environ.get("S1_DATA_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("s1", appauthor=False))


class EngineLog:
    """One log file for one command run (`<data dir>/logs/<command>-<time>-<pid>.log`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def new(cls, command: str, folder: Path | None = None) -> EngineLog:
        folder = folder or data_dir() / "logs"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _prune(folder)
        except OSError:
            import tempfile

            folder = Path(tempfile.gettempdir()) / "s1-logs"
            folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return cls(folder / f"{command}-{stamp}-{os.getpid()}.log")

    def route_library_logs(self) -> None:
        """vLLM's logger (here and in the engine processes) writes to this file.

        Must run before vLLM is imported; it reads its logging settings at import.
        """
        config = self.path.with_suffix(".logging.json")
        config.write_text(json.dumps(_vllm_logging_config(self.path)))
        os.environ["VLLM_LOGGING_CONFIG_PATH"] = str(config)
        os.environ["VLLM_CONFIGURE_LOGGING"] = "1"

    @contextlib.contextmanager
    def capture(self) -> Iterator[None]:
        """Point fds 1 and 2 at the log while the block runs (engine start-up)."""
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        log_fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        saved = (os.dup(1), os.dup(2))
        try:
            os.dup2(log_fd, 1)
            os.dup2(log_fd, 2)
            yield
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in (*saved, log_fd):
                os.close(fd)

    def tail(self, n: int = 12) -> list[str]:
        """The last `n` non-empty lines (for an error message)."""
        try:
            with open(self.path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 64_000))
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return []
        return [line.rstrip() for line in lines if line.strip()][-n:]


def terminal_stream() -> IO[str]:
    """A private handle on the terminal (a duplicate of fd 2): output written to it stays
    on the screen while fds 1 and 2 point at a log."""
    return os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")


def _vllm_logging_config(path: Path) -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {
                "format": "%(levelname)s %(asctime)s [%(process)d %(filename)s:%(lineno)d] "
                "%(message)s",
                "datefmt": "%m-%d %H:%M:%S",
            }
        },
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "filename": str(path),
                "mode": "a",
                "formatter": "plain",
                "level": "INFO",
            }
        },
        "loggers": {"vllm": {"handlers": ["file"], "level": "INFO", "propagate": False}},
    }


def _prune(folder: Path) -> None:
    logs = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime)
    for old in logs[: max(0, len(logs) - KEEP_LOGS + 1)]:
        with contextlib.suppress(OSError):
            old.unlink()
            old.with_suffix(".logging.json").unlink(missing_ok=True)
