"""Write a curated set as a dataset folder: `data/train-00000-of-00001.parquet` + README.md.

The columns are s1K's (question, solution, thinking_trajectories as a one-element list,
attempt, source_type, metadata, cot_type) plus `domain`, the reference answer and the
stage features. `datasets.load_dataset(folder)` reads it (the card's YAML names the data
files), and so does `s1 train`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .stages.select import STRATEGIES

DATA_FILE = "data/train-00000-of-00001.parquet"


def features() -> Any:
    from datasets import Features, List, Value

    s, i = Value("string"), Value("int64")
    return Features(
        {
            "id": s,
            "question": s,
            "solution": s,
            "thinking_trajectories": List(s),
            "attempt": s,
            "domain": s,
            "answer": s,
            "kind": s,
            "cot_type": s,
            "source_type": s,
            "metadata": s,
            "trace_tokens": i,
            "trace_source": s,
            "ref_models": List(s),
            "ref_correct": List(Value("bool")),
            "ref_thinking_tokens": List(i),
            "ref_solved": i,
            "domain_code": s,
            "domain_classifier": s,
            "domain_confidence": Value("float64"),
            "select_rank": i,
        }
    )


def to_row(item: dict[str, Any]) -> dict[str, Any]:
    thinking = item.get("thinking")
    row = {name: item.get(name) for name in features()}
    row["thinking_trajectories"] = [thinking] if thinking is not None else None
    row["cot_type"] = "math" if item.get("kind", "math") in ("math", None) else "science"
    return row


def card(
    name: str,
    rows: int,
    summary: dict[str, Any] | None = None,
    sizes: tuple[int, int] | None = None,
    digest: str = "",
) -> str:
    """The README: YAML (data files, sizes, and the data's digest in the config's
    description: `datasets` caches a local folder under its name and a hash of this YAML,
    so without the digest two outputs with the same folder name could share a cache
    entry and one would be read with the other's rows) + a description."""
    summary = summary or {}
    config = summary.get("config") or {}
    strategy = str(config.get("strategy") or "s1")
    selection = []
    if "select" in config.get("stages", ["select"]):
        desc = STRATEGIES.get(strategy, "")
        selection = [f"Selection strategy: `{strategy}` ({desc}).", ""]
    info = []
    if sizes is not None:
        download, dataset = sizes
        info = [
            "dataset_info:",
            "  config_name: default",
            f"  download_size: {download}",
            f"  dataset_size: {dataset}",
            "  splits:",
            "  - name: train",
            f"    num_bytes: {dataset}",
            f"    num_examples: {rows}",
        ]
    lines = [
        "---",
        *info,
        "configs:",
        "- config_name: default",
        f"  description: s1 curate output, data sha256 {digest or 'unknown'}",
        "  data_files:",
        "  - split: train",
        "    path: data/train-*",
        "tags:",
        "- reasoning",
        "- s1",
        "- s1-console",
        "---",
        "",
        f"# {name}",
        "",
        f"An s1K-style reasoning set of {rows} items, curated with `s1 curate` (s1 console):",
        "quality filters, decontamination against the evaluation tasks, reasoning traces,",
        "difficulty against reference models, MSC domains, and a selection.",
        "",
        *selection,
        "Load it with `datasets.load_dataset(PATH, split='train')`, or train on it with",
        "`s1 train PATH`.",
        "",
        "## Columns",
        "",
        "| column | meaning |",
        "| --- | --- |",
        "| question | the problem |",
        "| solution | the reference solution (or answer) from the pool |",
        "| thinking_trajectories | the reasoning trace, a one-element list as in s1K |",
        "| attempt | the answer written after the trace |",
        "| domain | MSC2020 top-level domain, `CODE Name` |",
        "| answer, kind | the reference answer used for grading; `math` or `choice` |",
        "| trace_tokens, trace_source | trace length in tokens; `pool` or `teacher:MODEL` |",
        "| ref_models, ref_correct, ref_solved, ref_thinking_tokens | difficulty stage |",
        "| domain_code, domain_classifier, domain_confidence | diversity stage |",
        "| select_rank | order of selection |",
        "",
    ]
    if summary.get("survivors"):
        lines += ["## Survivors per stage", "", "| stage | items |", "| --- | --- |"]
        lines += [f"| {k} | {v} |" for k, v in summary["survivors"].items()]
        lines.append("")
    if summary.get("config"):
        lines += [
            "## Curation settings",
            "",
            "```json",
            json.dumps(summary["config"], indent=1),
            "```",
            "",
        ]
    lines.append("See `report.md` / `report.json` next to this card for the full report.")
    return "\n".join(lines) + "\n"


def export_dataset(
    items: Sequence[dict[str, Any]], out: str | Path, summary: dict[str, Any] | None = None
) -> Path:
    """Write the parquet file and the card into `out` (atomically per file)."""
    from datasets import Dataset

    out = Path(out)
    (out / "data").mkdir(parents=True, exist_ok=True)
    ds = Dataset.from_list([to_row(it) for it in items], features=features())
    target = out / DATA_FILE
    tmp = target.with_suffix(".parquet.tmp")
    ds.to_parquet(str(tmp))
    os.replace(tmp, target)
    sizes = (target.stat().st_size, int(ds.data.nbytes))
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    (out / "README.md").write_text(
        card(out.name, len(items), summary, sizes, digest), encoding="utf-8"
    )
    return target
