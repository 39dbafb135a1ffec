"""A real terminal for tests: a command in a detached tmux session, keys sent to it,
its screen read back. Shared by the README, TUI and CLI tests that must see what a
user sees (the footer at 80 x 24, a "stopping vLLM" line, no log line on the screen).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class Tmux:
    """One tmux server (its own socket) running one session named "s1"."""

    def __init__(self, socket: str, wait: float = 60.0) -> None:
        self.socket = socket
        self.wait = wait  # how long wait_for waits unless told
        self.done: Path | None = None

    def __call__(self, *args: str) -> str:
        p = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20
        )
        if p.returncode != 0:
            raise AssertionError(f"tmux {args[0]} failed: {p.stderr}")
        return p.stdout

    def start(
        self,
        shell: str,
        done: Path,
        cols: int = 140,
        rows: int = 40,
        cwd: str | None = None,
        linger: float = 0.0,
    ) -> None:
        """Run `shell` (in `cwd`, COLUMNS / LINES unset) in a cols x rows terminal; its exit
        code is written to `done`, and the terminal stays `linger` seconds after it (to read
        the last screen)."""
        self.done = done
        done.unlink(missing_ok=True)
        where = shlex.quote(cwd or os.getcwd())
        line = f"cd {where} && env -u COLUMNS -u LINES {shell}; echo $? > {shlex.quote(str(done))}"
        if linger:
            line += f"; sleep {linger}"
        size = ["-x", str(cols), "-y", str(rows)]
        self("-f", "/dev/null", "new-session", "-d", "-s", "s1", *size, line)
        self("resize-window", "-t", "s1", *size)

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "s1")

    def keys(self, *keys: str, literal: bool = False) -> None:
        self("send-keys", "-t", "s1", *(["-l"] if literal else []), *keys)

    def wait_for(
        self,
        *needles: str,
        timeout: float | None = None,
        until: Callable[[str], bool] | None = None,
    ) -> str:
        """The screen once every needle is on it (a needle may wrap across lines)."""
        deadline = time.monotonic() + (self.wait if timeout is None else timeout)
        while True:
            text = self.screen()
            flat = text.replace("\n", "")
            if all(n in text or n in flat for n in needles) and (until is None or until(text)):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"{needles} not on the screen:\n{text}")
            time.sleep(0.2)

    def exit_code(self, timeout: float = 30.0, each: Callable[[], None] | None = None) -> str:
        """Wait for the command to exit (calling `each` every 0.2 s meanwhile)."""
        assert self.done is not None, "start() first"
        deadline = time.monotonic() + timeout
        while not self.done.exists():
            assert time.monotonic() < deadline, "the command did not exit:\n" + self.screen()
            if each is not None:
                each()
            time.sleep(0.2)
        return self.done.read_text().strip()

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
