"""Every run kept as one JSONL line in the user's data dir; export as Markdown or JSONL."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .settings import data_dir


@dataclass
class HistoryStore:
    root: Path

    @classmethod
    def default(cls) -> HistoryStore:
        return cls(data_dir())

    @property
    def path(self) -> Path:
        return self.root / "history.jsonl"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        record.setdefault("id", time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6])
        record.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%S"))
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        return record

    def records(self) -> list[dict[str, Any]]:
        """All runs, oldest first (a damaged line is skipped, not fatal)."""
        if not self.path.exists():
            return []
        out = []
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out

    def get(self, record_id: str) -> dict[str, Any] | None:
        for r in self.records():
            if r.get("id") == record_id:
                return r
        return None

    def export(self, record: dict[str, Any], kind: str, dest: Path | None = None) -> Path:
        """Write one run as `md` (readable) or `jsonl` (the full record); return the path."""
        if kind not in ("md", "jsonl"):
            raise ValueError(kind)
        dest = dest or self.exports / f"{record['id']}.{kind}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        if kind == "md":
            dest.write_text(to_markdown(record), encoding="utf-8")
        else:
            dest.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
        return dest


def to_markdown(r: dict[str, Any]) -> str:
    lines = [
        f"# {r.get('label') or 's1 run'} — {r.get('created', '')}",
        "",
        f"- model: `{r.get('model', '')}` ({r.get('backend', '')}, format {r.get('format', '')})",
        f"- policy: `{r.get('policy', '')}`",
        f"- thinking tokens: {r.get('thinking_tokens', 0)}, answer tokens: "
        f"{r.get('answer_tokens', 0)}, finish: {r.get('finish_reason', '')}, "
        f"{r.get('seconds', 0):.2f} s",
    ]
    if r.get("reference"):
        lines.append(
            f"- reference: `{r['reference']}` → {'correct' if r.get('correct') else 'wrong'}"
        )
    lines += ["", "## Question", "", r.get("prompt", ""), "", "## Thinking", ""]
    lines += [r.get("thinking_view") or r.get("thinking", ""), "", "## Answer", ""]
    lines += [r.get("answer", ""), "", "## Steering", ""]
    lines += ["| token | event | cause | text |", "| ---: | --- | --- | --- |"]
    for e in r.get("events", []):
        text = str(e.get("text", "")).replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {e.get('token_index', '')} | {e['kind']} | {e['cause']} | {text} |")
    return "\n".join(lines) + "\n"
