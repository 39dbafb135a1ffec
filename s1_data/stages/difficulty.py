"""Difficulty: drop what every reference model solves.

Each reference model answers every question through the engine (budget forcing off);
answers are graded with `s1_eval.grading.grade`, the grader `s1 eval` uses, so
"solved" means the same in both. Items solved by all reference models are dropped;
the others keep, per model, whether it solved the item and how long it thought.
The trace length (`trace_tokens`, from the traces stage) is the second signal, used
by selection.

Settings: `DifficultySettings` (below) and the traces stage's `GenerationSettings`;
the stage (`depends_on`, `run`, `STAGE`): at the end.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from s1_engine.options import option
from s1_engine.policy import parse_budget

from ..pool import call_key
from .base import P_GEN, Job, Result, Rows, Stage, drop_record
from .traces import GenerationSettings, teacher_policy


@dataclass
class DifficultySettings:
    ref_models: list[str] = option(
        factory=list,
        help="Reference model (repeatable; default: --model). Items all of them solve are dropped.",
        panel=P_GEN,
        flag="--ref-model",
    )
    ref_max_thinking: str = option(
        "auto", "Cap on the reference models' thinking tokens.", panel=P_GEN
    )

    def validate(self) -> None:
        parse_budget(self.ref_max_thinking)


_FINAL = re.compile(r"final answer\s*[:：]?\s*", re.IGNORECASE)


def _plain(text: str) -> str:
    parts = _FINAL.split(text or "")
    return " ".join(parts[-1].split()).strip(" .$").lower()


def is_correct(answer: str, reference: str | None, kind: str | None) -> tuple[bool, str]:
    """Graded by `s1_eval.grading.grade`; where the grader reads no expression at all
    from the answer (plain words, which math-verify does not parse), an exact match of
    the normalized answer text with the reference counts as solved."""
    from s1_eval.grading import grade

    if not reference:
        return False, ""
    try:
        g = grade(answer or "", str(reference), kind or "math")
    except Exception:  # noqa: BLE001 - an answer the grader chokes on is not a solve
        return False, ""
    if not g.correct and not g.extracted and (kind or "math") == "math":
        plain = _plain(answer)
        if plain and plain == _plain(str(reference)):
            return True, plain
    return g.correct, g.extracted


def run_difficulty(
    items: Sequence[dict[str, Any]],
    models: Sequence[str],
    engine: Callable[[str], Any],
    policy: Any,
    done: dict[str, dict[str, Any]],
    save: Callable[[list[dict[str, Any]]], None],
    batch_size: int = 32,
    advance: Callable[[int], None] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """(kept, dropped, stats). `done` maps `call_key(item, "MODEL\\t")` -> a graded answer."""
    solved_by: dict[str, int] = {}
    for model in models:
        need = [it for it in items if call_key(it, f"{model}\t") not in done]
        if advance and len(items) - len(need):
            advance(len(items) - len(need))
        if not need:
            continue
        eng = engine(model)
        for start in range(0, len(need), batch_size):
            chunk = need[start : start + batch_size]
            results = eng.generate_many([it["question"] for it in chunk], [policy] * len(chunk))
            records = []
            for it, r in zip(chunk, results):
                ok, extracted = is_correct(r.answer, it.get("answer"), it.get("kind"))
                records.append(
                    {
                        "key": call_key(it, f"{model}\t"),
                        "correct": bool(ok) and r.finish_reason != "error",
                        "extracted": extracted,
                        "thinking_tokens": int(r.thinking_tokens),
                    }
                )
            save(records)
            done.update({rec["key"]: rec for rec in records})
            if advance:
                advance(len(chunk))
    kept, dropped = [], []
    for it in items:
        item = dict(it)
        recs = [done[call_key(it, f"{m}\t")] for m in models]
        item["ref_models"] = list(models)
        item["ref_correct"] = [bool(r["correct"]) for r in recs]
        item["ref_thinking_tokens"] = [int(r["thinking_tokens"]) for r in recs]
        item["ref_solved"] = sum(item["ref_correct"])
        for m, r in zip(models, recs):
            solved_by[m] = solved_by.get(m, 0) + int(bool(r["correct"]))
        if models and all(item["ref_correct"]):
            answers = ", ".join(repr(r["extracted"]) for r in recs)
            dropped.append(
                drop_record(
                    item,
                    "difficulty",
                    "solved_by_all",
                    f"all {len(models)} reference model(s) solved it (answered {answers})",
                )
            )
        else:
            kept.append(item)
    return kept, dropped, {"models": list(models), "solved_by_model": solved_by}


# ----- the stage -------------------------------------------------------------------------
def _models(job: Job) -> list[str | None]:
    """The reference models (none given: the engine's --model)."""
    return list(job.get(DifficultySettings).ref_models or [None])


def depends_on(job: Job) -> dict[str, Any]:
    s, g = job.get(DifficultySettings), job.get(GenerationSettings)
    return {
        "refs": [job.engines.label(m) for m in _models(job)],
        "max": s.ref_max_thinking,
        "ans": g.answer_max_tokens,
        "temp": g.temperature,
        "seed": job.seed,
        **job.engine_key(),
    }


def run(items: Rows, job: Job) -> Result:
    s, g = job.get(DifficultySettings), job.get(GenerationSettings)
    names = {job.engines.label(m): m for m in _models(job)}
    policy = teacher_policy(
        parse_budget(s.ref_max_thinking), g.answer_max_tokens, g.temperature, job.seed
    )
    return run_difficulty(
        items,
        [job.engines.label(m) for m in _models(job)],
        lambda label: job.engines.get(names[label]),
        policy,
        job.calls.done,
        job.calls.save,
        job.batch_size,
        job.advance,
    )


STAGE = Stage(
    "difficulty",
    "difficulty",
    "Drop what every reference model solves (graded as in s1 eval).",
    (DifficultySettings, GenerationSettings),
    depends_on,
    run,
    engine=True,
)
