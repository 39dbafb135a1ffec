"""A failed command leaves no trace in the output folders it made.

An output folder is made (and locked, and given the run's identity) as soon as the
options are read, before the task, the data or the model load. When any of those fails,
the folder would stay behind holding nothing but the lock: a `runs/x` the user never got
results in. `OutDirs` notes, before the command runs, which output folders (given with
--out / --output / -o, or a command's default) do not exist yet; after a failure it removes
those of them that hold nothing but our lock and identity files (and empty folders),
and the parents it made.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from collections.abc import Sequence
from pathlib import Path

from s1_engine.options import flag_of, info_of
from s1_engine.rundir import IDENTITY, LOCK

OURS = {LOCK, IDENTITY}


def _out_options() -> tuple[set[str], list[str]]:
    """The flags of every output-folder option, and the defaults of those that have one."""
    from s1_data.pipeline import CurateConfig
    from s1_eval.settings import EvalOptions
    from s1_train.config import TrainConfig

    flags: set[str] = set()
    defaults: list[str] = []
    for cls in (EvalOptions, CurateConfig, TrainConfig):
        for f in dataclasses.fields(cls):
            info = info_of(f)
            if info is None or not info.out_dir:
                continue
            flags.add(flag_of(f, info))
            if info.short:
                flags.add(info.short)
            if isinstance(f.default, str) and f.default:
                defaults.append(f.default)
    return flags, defaults


def out_dirs(argv: Sequence[str]) -> list[Path]:
    """The output folders a command line may make: its values of the out flags, and the
    defaults (a command that has one makes it when none is given)."""
    flags, defaults = _out_options()
    found: list[str] = []
    for i, arg in enumerate(argv):
        if "=" in arg and arg.split("=", 1)[0] in flags:
            found.append(arg.split("=", 1)[1])
        elif arg in flags and i + 1 < len(argv):
            found.append(argv[i + 1])
    return [Path(p) for p in found + defaults if p]


class OutDirs:
    """The folders (and their parents) that do not exist before the command runs."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.new: list[Path] = []
        for path in out_dirs(argv):
            p = path.absolute()
            while not p.exists() and p != p.parent:
                self.new.append(p)
                p = p.parent

    def remove_empty(self) -> None:
        """After a failure: remove the new folders that hold only our lock / identity
        and empty folders (deepest first, so an emptied parent goes too)."""
        for p in sorted(set(self.new), key=lambda q: len(q.parts), reverse=True):
            if p.is_dir() and _nothing_but_ours(p):
                with contextlib.suppress(OSError):
                    shutil.rmtree(p)


def _nothing_but_ours(folder: Path) -> bool:
    """Whether `folder` holds no results: only our lock / identity, and empty folders."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return False
    for e in entries:
        if e.is_symlink() or not (e.is_dir() or e.name in OURS):
            return False
        if e.is_dir() and not _nothing_but_ours(e):
            return False
    return True
