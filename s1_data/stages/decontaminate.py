"""Decontamination: drop pool items whose word n-grams overlap evaluation questions.

Evaluation questions come from named tasks (`s1_eval.tasks.load_task`, the registry
`s1 eval` uses) or local files (any source the pool loader reads). Questions shorter
than n words are matched whole (after normalization).

Settings: `DecontaminateSettings` (below); the stage (`depends_on`, `run`, `STAGE`): at the end.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s1_engine.errors import S1Error
from s1_engine.options import option

from .base import P_DECON, Job, Result, Rows, Stage, drop_record


@dataclass
class DecontaminateSettings:
    eval_tasks: str | None = option(
        None,
        "Comma-separated evaluation task names or files (default: every task of `s1 eval` "
        "that loads here; 'none' to skip).",
        panel=P_DECON,
    )
    ngram: int = option(
        8, "Word n-gram size for overlap.", panel=P_DECON, min=1, example="--ngram 8"
    )

    def task_list(self) -> list[str] | None:
        """The tasks and files to check against; None: every task that loads here."""
        if self.eval_tasks is None:
            return None
        if self.eval_tasks.strip().lower() in ("none", ""):
            return []
        return [t.strip() for t in self.eval_tasks.split(",") if t.strip()]


_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall((text or "").lower())


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    w = words(text)
    if len(w) < n:
        return {tuple(w)} if w else set()
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


@dataclass
class EvalSet:
    """The questions of the evaluation tasks, and what could not be loaded."""

    questions: dict[str, list[str]] = field(default_factory=dict)  # task -> questions
    skipped: dict[str, str] = field(default_factory=dict)  # task -> why


def _questions_of(task: Any) -> list[str]:
    items = task
    for attr in ("items", "examples"):
        if not isinstance(items, list | tuple) and hasattr(items, attr):
            items = getattr(items, attr)
            items = items() if callable(items) else items
    out = []
    for it in items:
        q = it.get("question") if isinstance(it, dict) else getattr(it, "question", None)
        if q:
            out.append(str(q))
    return out


def load_eval_set(specs: Sequence[str] | None) -> EvalSet:
    """Questions of the evaluation tasks.

    `specs=None`: every task of the registry that loads here (those that do not,
    e.g. hub tasks on an offline machine, are listed in `skipped`). Explicit names or
    files must load, or it is an S1Error.
    """
    from s1_eval.tasks import list_tasks, load_task

    from ..pool import load_source

    ev = EvalSet()
    if specs is None:
        for name in list_tasks():
            try:
                ev.questions[name] = _questions_of(load_task(name))
            except Exception as e:  # noqa: BLE001 - recorded in the report
                first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
                ev.skipped[name] = first
        return ev
    for spec in specs:
        if not spec:
            continue
        p = Path(spec)
        if p.exists():
            ev.questions[p.stem] = [i["question"] for i in load_source(spec) if i.get("question")]
            continue
        try:
            ev.questions[spec] = _questions_of(load_task(spec))
        except S1Error as e:
            raise S1Error(
                f"cannot load the evaluation task {spec!r}: {e.problem}",
                e.fix or "check --eval-tasks",
            ) from None
        except Exception as e:
            raise S1Error(
                f"cannot load the evaluation task {spec!r}: {str(e).strip()[:160]}",
                "check --eval-tasks (a task name or a local file)",
            ) from None
    return ev


def run_decontaminate(
    items: Sequence[dict[str, Any]],
    evals: EvalSet,
    n: int = 8,
    advance: Callable[[int], None] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(kept, dropped): an item is dropped when one of its n-grams is an eval n-gram."""
    if n < 1:
        raise S1Error(f"the n-gram size must be >= 1, got {n}", "e.g. --ngram 8")
    index: dict[tuple[str, ...], str] = {}
    for task, questions in evals.questions.items():
        for q in questions:
            for g in ngrams(q, n):
                index.setdefault(g, task)
    kept, dropped = [], []
    for item in items:
        hit = next((g for g in ngrams(item.get("question") or "", n) if g in index), None)
        if hit is None:
            kept.append(item)
        else:
            dropped.append(
                drop_record(
                    item,
                    "decontaminate",
                    "eval_overlap",
                    f"{len(hit)}-gram {' '.join(hit)!r} appears in {index[hit]}",
                )
            )
        if advance:
            advance(1)
    return kept, dropped


# ----- the stage -------------------------------------------------------------------------
def depends_on(job: Job) -> dict[str, Any]:
    from ..pool import fingerprint_sources

    s = job.get(DecontaminateSettings)
    tasks = s.task_list()
    return {"tasks": tasks, "files": fingerprint_sources(tasks or []), "n": s.ngram}


def run(items: Rows, job: Job) -> Result:
    s = job.get(DecontaminateSettings)
    ev = load_eval_set(s.task_list())
    kept, dropped = run_decontaminate(items, ev, s.ngram, job.advance)
    stats: dict[str, Any] = {
        "ngram": s.ngram,
        "eval_questions": {k: len(v) for k, v in ev.questions.items()},
    }
    if ev.skipped:
        stats["eval_tasks_skipped"] = ev.skipped
    return kept, dropped, stats


STAGE = Stage(
    "decontaminate",
    "decontamination",
    "Drop items whose n-grams overlap evaluation questions.",
    (DecontaminateSettings,),
    depends_on,
    run,
)
