"""Output folders where nothing is lost and nothing is silently wrong.

Every command that writes results (eval, curate, train) claims its `--out` folder:

- one writer at a time: a lock file the first run holds (released by the kernel when
  the process dies, even on `kill -9`); a second run is refused at once, naming the pid;
- one run identity per folder (the command, the inputs' content, the model, the
  settings that change results): a rerun with the same identity resumes; another one
  is refused with one line naming what changed and the fix (`--overwrite` or another
  `--out`);
- whole files only: `write_atomic` writes a temporary file and renames it over the old.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .errors import S1Error

LOCK = ".s1.lock"
IDENTITY = ".s1-run.json"


def check_out_dir(path: str | Path, flag: str = "--out") -> Path:
    """A folder we can create and write in: one clear error before any model loads.

    It is tried for real (the folder made, a file written and removed): permission bits
    say little when running as root or on a read-only filesystem."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise S1Error(f"{flag} {str(p)!r} is a file", f"give a folder for {flag}")
    try:
        p.mkdir(parents=True, exist_ok=True)
        probe = p / f".s1-write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise S1Error(
            f"cannot write to {flag} {str(p)!r}: {e.strerror or e}",
            f"give a folder you can write to for {flag}",
        ) from None
    return p


def write_atomic(path: str | Path, text: str) -> None:
    """Replace `path` with `text` whole: a reader never sees half a file."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, p)


def content_hash(paths: Iterable[str | Path]) -> str:
    """A hash of files' bytes (folders: every file in them, by relative name)."""
    h = hashlib.sha256()
    for raw in paths:
        p = Path(raw)
        files = sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
        for f in files:
            if not f.exists():
                continue
            h.update(str(f.relative_to(p) if p.is_dir() else f.name).encode())
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()[:16]


class RunFolder:
    """An output folder claimed by one run (use as a context manager)."""

    def __init__(self, path: str | Path, command: str, flag: str = "--out") -> None:
        self.path = check_out_dir(path, flag)
        self.command = command
        self.flag = flag
        self._lock: Any = None

    def __enter__(self) -> RunFolder:
        self.lock()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def lock(self) -> None:
        """Hold the folder's lock, or refuse: another run is writing to it."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            f = open(self.path / LOCK, "a+")
        except OSError as e:
            raise S1Error(
                f"cannot write to {self.flag} {str(self.path)!r}: {e.strerror}",
                f"give a folder you can write to for {self.flag}",
            ) from None
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            raise S1Error(
                f"{str(self.path)!r} is in use by another run ({holder})",
                f"wait for it to finish, or give another {self.flag}",
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"s1 {self.command}, pid {os.getpid()}")
        f.flush()
        self._lock = f

    def release(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
                self._lock.close()
            self._lock = None

    def identity(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.path / IDENTITY).read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def check(self, identity: dict[str, Any], overwrite: bool = False) -> None:
        """Refuse early (before a model loads) when a known part of the identity differs."""
        old = self.identity()
        if old is None or overwrite:
            return
        ident = {"command": self.command, **identity}
        for key, now in ident.items():
            if key in old and old[key] != now:
                raise S1Error(
                    f"{str(self.path)!r} holds the results of another run ({key}: "
                    f"{old[key]!r}, now {now!r})",
                    f"rerun with {self.flag} FOLDER for a new folder, or add --overwrite to "
                    "replace those results",
                )

    def claim(
        self,
        identity: dict[str, Any],
        overwrite: bool = False,
        clear: Callable[[Path], None] | None = None,
        has_results: Callable[[Path], bool] | None = None,
    ) -> bool:
        """Make the folder this run's. True if it holds this run's earlier results (resume).

        A folder of another identity is refused, unless `overwrite`: then `clear(path)`
        removes the old results first. A folder with results and no identity file (made
        before identities were kept) is taken as this run's.
        """
        ident = {"command": self.command, **identity}
        old = self.identity()
        results = has_results(self.path) if has_results else bool(old)
        if old is not None and old != ident and results and not overwrite:
            key, was, now = _first_difference(old, ident)
            raise S1Error(
                f"{str(self.path)!r} holds the results of another run ({key}: {was!r}, "
                f"now {now!r})",
                f"rerun with {self.flag} FOLDER for a new folder, or add --overwrite to "
                "replace those results",
            )
        resumed = results and (old == ident or old is None) and not overwrite
        if overwrite and results and clear is not None:
            clear(self.path)
        write_atomic(self.path / IDENTITY, json.dumps(ident, indent=2, default=str) + "\n")
        return resumed


def _first_difference(old: dict[str, Any], new: dict[str, Any]) -> tuple[str, Any, Any]:
    for key in list(new) + [k for k in old if k not in new]:
        if old.get(key) != new.get(key):
            return key, old.get(key), new.get(key)
    return "?", None, None


@contextlib.contextmanager
def claimed(path: str | Path, command: str, flag: str = "--out") -> Iterator[RunFolder]:
    """`with claimed(out, "eval") as folder:` the lock held for the block."""
    folder = RunFolder(path, command, flag)
    with folder:
        yield folder
