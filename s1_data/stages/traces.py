"""Reasoning traces: keep the pool's, generate the missing ones with a teacher model.

The teacher runs through the engine with budget forcing off (thinking ends when the
model ends it, up to the context; no "Wait"). Every kept item gets `trace_tokens`,
the trace length in tokens of the teacher's tokenizer (or a word-piece estimate
when no tokenizer is at hand), the second difficulty signal used by selection.

Settings: `TracesSettings`, and `GenerationSettings` (shared with the difficulty stage);
the stage (`depends_on`, `run`, `STAGE`): at the end.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from s1_engine.options import option
from s1_engine.policy import BudgetPolicy, SamplingConfig, parse_budget

from ..pool import call_key
from .base import P_GEN, Job, Result, Rows, Stage, drop_record


@dataclass
class TracesSettings:
    teacher: str | None = option(
        None, "Model that writes missing traces (default: --model).", panel=P_GEN
    )
    max_thinking: str = option(
        "auto", "Cap on the teacher's thinking tokens (auto = the context).", panel=P_GEN
    )
    regenerate_traces: bool = option(
        False,
        "Generate traces for every item, not only where missing.",
        panel=P_GEN,
        negatable=False,
    )

    def validate(self) -> None:
        parse_budget(self.max_thinking)


@dataclass
class GenerationSettings:
    """How the teacher and the reference models answer (the traces and difficulty stages)."""

    answer_max_tokens: int = option(1024, "Tokens allowed for each answer.", panel=P_GEN, min=1)
    temperature: float = option(0.0, "Sampling temperature (0 = greedy).", panel=P_GEN, min=0)


_PIECES = re.compile(r"\w+|[^\w\s]")


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: words and punctuation marks."""
    return len(_PIECES.findall(text or ""))


def teacher_policy(
    max_thinking: int | str = "auto",
    answer_max_tokens: int = 1024,
    temperature: float = 0.0,
    seed: int = 0,
) -> BudgetPolicy:
    """Budget forcing off: the model thinks as long as it likes, no "Wait" is added."""
    sampling = SamplingConfig(temperature=temperature, seed=seed)
    return BudgetPolicy(
        max_thinking_tokens=max_thinking,  # type: ignore[arg-type]
        num_ignore=0,
        answer_max_tokens=answer_max_tokens,
        thinking=sampling,
        answer=sampling,
    )


def run_traces(
    items: Sequence[dict[str, Any]],
    engine: Callable[[], Any],
    teacher_name: str,
    policy: BudgetPolicy,
    count_tokens: Callable[[str], int],
    done: dict[str, dict[str, Any]],
    save: Callable[[list[dict[str, Any]]], None],
    batch_size: int = 32,
    regenerate: bool = False,
    advance: Callable[[int], None] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """(kept, dropped, stats).

    `engine()` builds (or returns) the teacher engine, only called if some trace is
    missing; `done` maps `call_key(item)` -> a generation finished before (resume) and `save`
    appends new ones to the stage's checkpoint.
    """
    need = [
        it
        for it in items
        if (regenerate or not (it.get("thinking") or "").strip()) and call_key(it) not in done
    ]
    have = len(items) - len(need)
    if advance and have:
        advance(have)
    if need:
        eng = engine()
        for start in range(0, len(need), batch_size):
            chunk = need[start : start + batch_size]
            results = eng.generate_many([it["question"] for it in chunk], [policy] * len(chunk))
            records = [
                {
                    "key": call_key(it),
                    "thinking": r.thinking,
                    "attempt": r.answer,
                    "trace_tokens": int(r.thinking_tokens),
                    "finish_reason": r.finish_reason,
                }
                for it, r in zip(chunk, results)
            ]
            save(records)
            done.update({r["key"]: r for r in records})
            if advance:
                advance(len(chunk))
    kept, dropped = [], []
    generated = 0
    for it in items:
        item = dict(it)
        gen = (
            done.get(call_key(item))
            if (regenerate or not (item.get("thinking") or "").strip())
            else None
        )
        if gen is not None:
            generated += 1
            if gen["finish_reason"] == "error" or not gen["thinking"].strip():
                dropped.append(
                    drop_record(
                        item,
                        "traces",
                        "trace_failed",
                        f"the teacher wrote no thinking (finish: {gen['finish_reason']})",
                    )
                )
                continue
            item["thinking"] = gen["thinking"].strip()
            item["attempt"] = gen["attempt"].strip()
            item["trace_tokens"] = gen["trace_tokens"]
            item["trace_source"] = f"teacher:{teacher_name}"
        else:
            if item.get("trace_tokens") is None:
                item["trace_tokens"] = count_tokens(item["thinking"])
            item.setdefault("trace_source", "pool")
            if item.get("trace_source") is None:
                item["trace_source"] = "pool"
        kept.append(item)
    return kept, dropped, {"generated": generated, "from_pool": len(items) - generated}


# ----- the stage -------------------------------------------------------------------------
def depends_on(job: Job) -> dict[str, Any]:
    s, g = job.get(TracesSettings), job.get(GenerationSettings)
    return {
        "teacher": job.engines.label(s.teacher),
        "max": s.max_thinking,
        "ans": g.answer_max_tokens,
        "temp": g.temperature,
        "seed": job.seed,
        "regen": s.regenerate_traces,
        **job.engine_key(),
    }


def run(items: Rows, job: Job) -> Result:
    s, g = job.get(TracesSettings), job.get(GenerationSettings)
    policy = teacher_policy(
        parse_budget(s.max_thinking), g.answer_max_tokens, g.temperature, job.seed
    )
    count, by = job.engines.token_counter(s.teacher)
    kept, dropped, stats = run_traces(
        items,
        lambda: job.engines.get(s.teacher),
        job.engines.label(s.teacher),
        policy,
        count,
        job.calls.done,
        job.calls.save,
        job.batch_size,
        s.regenerate_traces,
        job.advance,
    )
    stats["tokens_counted_by"] = by
    return kept, dropped, stats


STAGE = Stage(
    "traces",
    "traces",
    "Generate missing reasoning traces with a teacher model; record their length.",
    (TracesSettings, GenerationSettings),
    depends_on,
    run,
    engine=True,
)
