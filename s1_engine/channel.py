"""The side channel between a session and the logits processor in vLLM's worker.

Two kinds of line, in files of one folder (on /dev/shm where there is one):
- `hints-<pid>.log`, written by each processor: `ID P end STOP` (the model tried to end
  thinking at position P with id STOP) and `ID P ctl SEQ` (intervention SEQ took effect
  at position P). A hint is written (a plain `os.write`, visible to every reader once it
  returns) in the step where the processor learns it, before that step samples: so a
  hint about position P is in the file before the token at P + 1 reaches the session.
  That is the whole ordering argument; the session reads hints up to the position
  before the last token it holds (all of them once the request has finished).
- `control.log`, written by sessions: `ID SEQ JSON` (an intervention, as
  `interventions.to_wire` writes it), read by every processor at each step (one
  `fstat` when nothing is new).
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections import defaultdict


def make_channel_dir() -> str:
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return tempfile.mkdtemp(prefix="s1-forcing-", dir=base)


class LineTail:
    """New whole lines of one append-only file, read without blocking."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._pos = 0
        self._rest = b""

    def lines(self) -> list[str]:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return []
        size = os.fstat(self._fd).st_size
        if size <= self._pos:
            return []
        data = self._rest + os.pread(self._fd, size - self._pos, self._pos)
        self._pos = size
        *whole, self._rest = data.split(b"\n")
        return [w.decode() for w in whole]

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Appender:
    """Whole lines appended to a file, each in one `write` (O_APPEND)."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def write(self, lines: list[str]) -> None:
        if lines:
            os.write(self._fd, ("\n".join(lines) + "\n").encode())

    def close(self) -> None:
        os.close(self._fd)


class HintReader:
    """The session side: every processor's hints, by request id, in file order."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._tails: dict[str, LineTail] = {}
        self.hints: dict[str, list[tuple[int, str, int]]] = defaultdict(list)

    def pull(self) -> None:
        for path in glob.glob(os.path.join(self.folder, "hints-*.log")):
            if path not in self._tails:
                self._tails[path] = LineTail(path)
        for tail in self._tails.values():
            for line in tail.lines():
                rid, p, kind, arg = line.split(" ")
                self.hints[rid].append((int(p), kind, int(arg)))

    def take(self, rid: str) -> list[tuple[int, str, int]]:
        """The hints of one request so far (removed from the reader)."""
        return self.hints.pop(rid, [])

    def close(self) -> None:
        for tail in self._tails.values():
            tail.close()
