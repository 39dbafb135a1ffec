"""Load question pools from any source `datasets` reads into one schema.

A source is one of:
- a local file: .jsonl / .json / .parquet / .csv / .arrow
- a local folder: a `save_to_disk` folder, or any folder `load_dataset` reads
  (for example the output of `s1 curate`)
- `synthetic:N[:SEED]`: N of our procedural reasoning tasks (s1_data.synthetic)
- a hub id, optionally `ID:SPLIT` or `ID@CONFIG:SPLIT` (on a machine with the hub)

Every record becomes a dict with the pool schema (`POOL_FIELDS`) plus any stage
features a previous `s1 curate` run wrote (so stages can be chained by hand).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from s1_engine.errors import S1Error

POOL_FIELDS = (
    "id",
    "question",
    "solution",
    "answer",
    "kind",
    "source_type",
    "metadata",
    "thinking",
    "attempt",
)
# Stage features written by the curate stages; kept when a curated set is read back.
FEATURE_FIELDS = (
    "trace_tokens",
    "trace_source",
    "ref_models",
    "ref_correct",
    "ref_thinking_tokens",
    "ref_solved",
    "domain",
    "domain_code",
    "domain_classifier",
    "domain_confidence",
    "select_rank",
)

ALIASES: dict[str, tuple[str, ...]] = {
    "question": ("question", "problem", "prompt", "input", "query", "Question", "Problem"),
    "solution": ("solution", "explanation", "rationale", "Solution"),
    "answer": ("answer", "final_answer", "target", "gold", "Answer", "reference"),
    "thinking": (
        "thinking_trajectories",
        "thinking",
        "thinking_trajectory",
        "deepseek_thinking_trajectory",
        "gemini_thinking_trajectory",
        "reasoning",
        "cot",
    ),
    "attempt": ("attempt", "response", "deepseek_attempt", "gemini_attempt"),
    "kind": ("kind", "answer_type"),
    "source_type": ("source_type", "source"),
    "id": ("id", "uid", "unique_id", "idx"),
}
FILE_BUILDERS = {
    ".jsonl": "json",
    ".json": "json",
    ".parquet": "parquet",
    ".csv": "csv",
    ".arrow": "arrow",
}


def call_key(item: dict[str, Any], prefix: str = "") -> str:
    """The key of a model call about an item: its id and a hash of its question, so a
    saved call is reused only for the same question (across reruns and changed pools)."""
    q = hashlib.sha1((item.get("question") or "").encode("utf-8")).hexdigest()[:12]
    return f"{prefix}{item['id']}\t{q}"


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:200] if text else type(e).__name__


def _text(value: Any) -> str | None:
    """A text field: lists (s1K stores trajectories as a list) become their first entry."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        value = next((v for v in value if v is not None), None)
        if value is None:
            return None
    return value if isinstance(value, str) else str(value)


def extract_answer(solution: str) -> str:
    """The reference answer inside a solution: its last \\boxed{...}, else the solution."""
    start = solution.rfind("\\boxed{")
    if start < 0:
        return solution.strip()
    i = start + len("\\boxed{")
    depth = 1
    for j in range(i, len(solution)):
        if solution[j] == "{":
            depth += 1
        elif solution[j] == "}":
            depth -= 1
            if depth == 0:
                return solution[i:j].strip()
    return solution.strip()


def source_name(spec: str) -> str:
    p = Path(spec)
    if spec.startswith("synthetic"):
        return "synthetic"
    if p.exists():
        return p.stem if p.is_file() else p.name
    return spec.split(":")[0]


def fingerprint_sources(specs: Sequence[str]) -> list[str]:
    """What identifies the sources' content cheaply: path + size + mtime for local ones."""
    out = []
    for spec in specs:
        p = Path(spec)
        if p.is_file():
            st = p.stat()
            out.append(f"{spec}|{st.st_size}|{st.st_mtime_ns}")
        elif p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file())
            h = hashlib.sha1()
            for f in files:
                st = f.stat()
                h.update(f"{f}|{st.st_size}|{st.st_mtime_ns}".encode())
            out.append(f"{spec}|{h.hexdigest()}")
        else:
            out.append(spec)
    return out


def _load_dataset_rows(spec: str) -> tuple[Any, str]:
    """A `datasets.Dataset` for one source spec (not synthetic)."""
    import datasets

    datasets.disable_progress_bars()
    level = datasets.logging.get_verbosity()
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)  # failures become one S1Error line
    try:
        return _load(spec)
    finally:
        datasets.logging.set_verbosity(level)


def _load(spec: str) -> tuple[Any, str]:
    import datasets

    p = Path(spec)
    try:
        if p.is_file():
            builder = FILE_BUILDERS.get(p.suffix.lower())
            if builder is None:
                raise S1Error(
                    f"cannot read the source {spec!r}: unknown file type {p.suffix!r}",
                    "give a .jsonl, .json, .parquet, .csv or .arrow file, or a dataset folder",
                )
            return datasets.load_dataset(builder, data_files=str(p), split="train"), "file"
        if p.is_dir():
            parquet = sorted(p.glob("data/*.parquet")) or sorted(p.glob("*.parquet"))
            if (p / "dataset_info.json").exists() and (p / "state.json").exists():
                ds = datasets.load_from_disk(str(p))
            elif parquet:
                # explicit files: `datasets` caches a folder by its name, these by path + mtime
                ds = datasets.load_dataset(
                    "parquet", data_files=[str(f) for f in parquet], split="train"
                )
            else:
                ds = datasets.load_dataset(str(p))
            if isinstance(ds, datasets.DatasetDict):
                split = "train" if "train" in ds else next(iter(ds))
                ds = ds[split]
            return ds, "folder"
        if spec.startswith((".", "/", "~")) or spec.endswith(tuple(FILE_BUILDERS)):
            raise FileNotFoundError(f"no file or folder at {spec}")
        name, _, split = spec.partition(":")
        name, _, config = name.partition("@")
        ds = datasets.load_dataset(name, config or None, split=split or "train")
        return ds, "hub"
    except S1Error:
        raise
    except Exception as e:
        raise S1Error(
            f"cannot load the source {spec!r}: {_first_line(e)}",
            "give a local .jsonl/.parquet/.csv file, a dataset folder, synthetic:N, "
            "or a hub id on a machine with the hub",
        ) from None


def _synthetic_rows(
    spec: str, seed: int, kinds: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    parts = spec.split(":")
    try:
        n = int(parts[1]) if len(parts) > 1 else 100
        s = int(parts[2]) if len(parts) > 2 else seed
    except ValueError:
        raise S1Error(
            f"cannot read the source {spec!r}", "write it as synthetic:N or synthetic:N:SEED"
        ) from None
    from . import synthetic

    rng = random.Random(s)
    rows = []
    for task in synthetic.make_tasks(n, seed=s, kinds=kinds or None):
        thinking, attempt = synthetic.make_trace(task, rng)
        rows.append(
            {
                "id": str(task.id),
                "question": task.question,
                "solution": attempt,
                "answer": str(task.answer),
                "kind": getattr(task, "kind", "math") or "math",
                "source_type": "synthetic",
                "metadata": {"domain": getattr(task, "domain", None), "steps": task.steps},
                "thinking": thinking,
                "attempt": attempt,
            }
        )
    return rows


def _pick(columns: Iterable[str], field: str) -> str | None:
    cols = list(columns)
    for alias in ALIASES.get(field, (field,)):
        if alias in cols:
            return alias
    return None


def normalize_rows(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[str],
    name: str,
    indices: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Map a source's columns onto the pool schema (raising on missing columns)."""
    qcol = _pick(columns, "question")
    scol = _pick(columns, "solution")
    acol = _pick(columns, "answer")
    if qcol is None:
        raise S1Error(
            f"the source {name!r} has no question column (it has: {', '.join(columns) or 'none'})",
            "name one 'question' (or problem / prompt)",
        )
    if scol is None and acol is None:
        raise S1Error(
            f"the source {name!r} has neither a solution nor an answer column "
            f"(it has: {', '.join(columns)})",
            "name one 'solution' or 'answer'",
        )
    picked = {f: _pick(columns, f) for f in ALIASES}
    used = {c for c in picked.values() if c}
    out = []
    for i, row in enumerate(rows):
        solution = _text(row.get(scol)) if scol else None
        answer = _text(row.get(acol)) if acol else None
        if solution is None and answer is not None:
            solution = answer
        if answer is None and solution:
            answer = extract_answer(solution)
        meta = row.get("metadata")
        extra = {
            k: v
            for k, v in row.items()
            if k not in used and k not in FEATURE_FIELDS and k != "metadata"
        }
        if isinstance(meta, str):
            try:
                meta = json.loads(meta)
            except ValueError:
                meta = {"metadata": meta}
        meta = dict(meta or {}) if isinstance(meta, dict) else ({"metadata": meta} if meta else {})
        meta.update({k: v for k, v in extra.items() if _jsonable(v)})
        rid = row.get(picked["id"]) if picked["id"] else None
        item: dict[str, Any] = {
            "id": str(rid) if rid is not None else f"{name}:{indices[i] if indices else i}",
            "question": _text(row.get(qcol)),
            "solution": solution,
            "answer": answer,
            "kind": _text(row.get(picked["kind"])) if picked["kind"] else None,
            "source_type": (
                _text(row.get(picked["source_type"])) if picked["source_type"] else None
            )
            or name,
            "metadata": json.dumps(meta, ensure_ascii=False, default=str, sort_keys=True),
            "thinking": _text(row.get(picked["thinking"])) if picked["thinking"] else None,
            "attempt": _text(row.get(picked["attempt"])) if picked["attempt"] else None,
        }
        if item["kind"] not in ("math", "choice"):
            item["kind"] = "math"
        for f in FEATURE_FIELDS:
            if f in row and row[f] is not None:
                item[f] = row[f]
        out.append(item)
    return out


def _jsonable(v: Any) -> bool:
    try:
        json.dumps(v)
        return True
    except (TypeError, ValueError):
        return False


def load_source(
    spec: str, seed: int = 0, limit: int | None = None, kinds: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """One source, normalized; `limit` takes a seeded random subset; `kinds`: the task
    kinds of a synthetic source."""
    name = source_name(spec)
    if spec.startswith("synthetic"):
        rows = _synthetic_rows(spec, seed, kinds)
        items = normalize_rows(rows, list(rows[0]) if rows else ["question", "answer"], name)
    else:
        ds, _ = _load_dataset_rows(spec)
        indices = None
        if limit is not None and limit < len(ds):
            indices = sorted(random.Random(seed).sample(range(len(ds)), limit))
            ds = ds.select(indices)
        items = normalize_rows(ds, ds.column_names, name, indices)
    return items


def parse_kinds(text: str | None) -> list[str]:
    """`--kinds subtract,quotient,gcd` -> the synthetic task kinds ([]: all of them)."""
    from .synthetic import KINDS

    kinds = [k.strip() for k in (text or "").split(",") if k.strip()]
    if unknown := [k for k in kinds if k not in KINDS]:
        raise S1Error(
            f"unknown synthetic task kind {unknown[0]!r}",
            f"--kinds takes some of {','.join(KINDS)} (the embedded model knows "
            "subtract,quotient,gcd)",
        )
    return kinds


def load_pool(
    specs: Sequence[str],
    limit: int | None = None,
    seed: int = 0,
    kinds: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """All sources in one list (ids made unique); `limit` keeps a seeded random subset;
    `kinds` the task kinds of the synthetic sources."""
    if not specs:
        raise S1Error(
            "no pool sources given", "pass at least one file, folder, hub id or synthetic:N"
        )
    if limit is not None and limit < 1:
        raise S1Error(f"--limit must be >= 1, got {limit}", "e.g. --limit 100")
    items: list[dict[str, Any]] = []
    for spec in specs:
        items.extend(load_source(spec, seed=seed, limit=limit, kinds=kinds))
    seen: Counter[str] = Counter()
    for item in items:
        seen[item["id"]] += 1
        if seen[item["id"]] > 1:
            item["id"] = f"{item['id']}#{seen[item['id']] - 1}"
    if limit is not None and limit < len(items):
        rng = random.Random(seed)
        items = rng.sample(items, limit)
    return items
