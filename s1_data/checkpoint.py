"""What a run keeps on disk as it goes, so a killed run resumes: each finished stage's
items (`StageFiles`), and every model call as it finishes (`Checkpoint`).

    OUT/stages/NN_STAGE.jsonl (+ .dropped.jsonl)   each finished stage
    OUT/stages/NN_STAGE.calls.jsonl                every model call of a stage
    OUT/stages/state.json                          finished stages + fingerprints
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def fingerprint(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
    os.replace(tmp, path)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except ValueError:  # a line cut by a kill
                continue
    return rows


def _damaged(path: Path, good_rows: int) -> bool:
    """A file with a line that did not parse, or a last line without its newline."""
    data = path.read_bytes()
    lines = [x for x in data.splitlines() if x.strip()]
    return (bool(data) and not data.endswith(b"\n")) or len(lines) != good_rows


class StageFiles:
    """The stages folder: what each finished stage kept and dropped, and state.json (its
    fingerprint, counts, stats and time), the record a rerun resumes from."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.state: dict[str, Any] = {"stages": {}}

    def open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        p = self._state_path()
        try:
            self.state = json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}
        except ValueError:
            self.state = {}
        self.state.setdefault("stages", {})

    def paths(self, idx: int, name: str) -> tuple[Path, Path, Path]:
        """(kept, dropped, model calls) of stage `name`, number `idx`."""
        base = f"{idx:02d}_{name}"
        return (
            self.folder / f"{base}.jsonl",
            self.folder / f"{base}.dropped.jsonl",
            self.folder / f"{base}.calls.jsonl",
        )

    def finished(self, idx: int, name: str, fp: str) -> dict[str, Any] | None:
        """The record of stage `name` if it finished with fingerprint `fp` (and its files
        are there), else None."""
        kept_p, dropped_p, _ = self.paths(idx, name)
        rec = self.state["stages"].get(name)
        if rec and rec.get("fingerprint") == fp and kept_p.exists() and dropped_p.exists():
            return rec
        return None

    def save(
        self,
        idx: int,
        name: str,
        fp: str,
        kept: list[dict[str, Any]],
        dropped: list[dict[str, Any]],
        stats: dict[str, Any],
        seconds: float,
    ) -> None:
        kept_p, dropped_p, _ = self.paths(idx, name)
        write_jsonl(kept_p, kept)
        write_jsonl(dropped_p, dropped)
        self.state["stages"][name] = {
            "fingerprint": fp,
            "kept": len(kept),
            "dropped": len(dropped),
            "stats": stats,
            "seconds": seconds,
        }
        p = self._state_path()
        tmp = p.with_name("state.json.tmp")
        tmp.write_text(json.dumps(self.state, indent=1), encoding="utf-8")
        os.replace(tmp, p)

    def _state_path(self) -> Path:
        return self.folder / "state.json"


class Checkpoint:
    """The model calls of a stage, appended as they finish and kept after it: a killed
    stage resumes from them, and a rerun after an upstream change (more sources, other
    eval tasks) asks the model only about new questions. Keyed by `pool.call_key`; reset
    when the stage's own settings (model, budgets, ...) change."""

    def __init__(self, path: Path, fp: str) -> None:
        self.path, self.fp = path, fp
        self.done: dict[str, dict[str, Any]] = {}
        self.saved = 0
        if path.exists():
            rows = read_jsonl(path)
            if rows and rows[0].get("fingerprint") == fp:
                self.done = {r["key"]: r for r in rows[1:] if "key" in r}
                if _damaged(path, len(rows)):  # a torn or broken line: rewrite it whole, so
                    write_jsonl(path, [rows[0], *self.done.values()])  # appends stay readable
            else:
                path.unlink()
        if not path.exists():
            path.write_text(json.dumps({"fingerprint": fp}) + "\n", encoding="utf-8")
        self.cached = len(self.done)

    def save(self, records: list[dict[str, Any]]) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.saved += len(records)
