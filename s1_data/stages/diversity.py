"""Diversity, part one: classify every item into an MSC domain.

`--classifier lexical` (the default): the offline naive Bayes of `s1_data.msc`, no model.
`--classifier model`: a model through the engine with a classification prompt; its
unreadable answers fall back to the lexical classifier (recorded in
`domain_classifier` as `model:NAME>lexical`). Selection is in `s1_data.stages.select`.

Settings: `DiversitySettings` (below); the stage (`depends_on`, `run`, `STAGE`): at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from s1_engine.errors import S1Error
from s1_engine.options import option
from s1_engine.policy import BudgetPolicy, parse_budget

from ..msc import Classification, LexicalClassifier, ModelClassifier
from ..pool import call_key
from .base import P_DIV, Job, Result, Rows, Stage

CLASSIFIERS = ("lexical", "model")


@dataclass
class DiversitySettings:
    classifier: str = option(
        "lexical",
        "MSC domain classifier: lexical (offline, no model) or model (--classifier-model "
        "through the engine).",
        panel=P_DIV,
        choices=CLASSIFIERS,
    )
    classifier_model: str | None = option(
        None, "Model for --classifier model (default: --model).", panel=P_DIV
    )
    classify_max_thinking: str = option(
        "512", "Thinking budget of the classifier model.", panel=P_DIV
    )

    def validate(self) -> None:
        parse_budget(self.classify_max_thinking)


def classify_policy(max_thinking: int | str = 512) -> BudgetPolicy:
    return BudgetPolicy(max_thinking_tokens=max_thinking, num_ignore=0, answer_max_tokens=16)  # type: ignore[arg-type]


def run_diversity(
    items: Sequence[dict[str, Any]],
    classifier: str,
    engine: Callable[[], Any] | None,
    model_name: str | None,
    done: dict[str, dict[str, Any]],
    save: Callable[[list[dict[str, Any]]], None],
    batch_size: int = 32,
    policy: BudgetPolicy | None = None,
    advance: Callable[[int], None] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """(kept, dropped, stats): every item is kept, with its domain."""
    if classifier not in CLASSIFIERS:
        raise S1Error(f"unknown classifier {classifier!r}", "use --classifier lexical or model")
    need = [it for it in items if call_key(it) not in done]
    if advance and len(items) - len(need):
        advance(len(items) - len(need))
    clf: Any
    if need:
        if classifier == "lexical":
            clf = LexicalClassifier()
        else:
            assert engine is not None
            clf = ModelClassifier(engine(), policy or classify_policy(), model_name or "model")
        for start in range(0, len(need), batch_size):
            chunk = need[start : start + batch_size]
            found: list[Classification] = clf.classify_many([it["question"] for it in chunk])
            records = [
                {
                    "key": call_key(it),
                    "code": c.code,
                    "label": c.label,
                    "confidence": round(float(c.confidence), 4),
                    "classifier": c.classifier,
                }
                for it, c in zip(chunk, found)
            ]
            save(records)
            done.update({r["key"]: r for r in records})
            if advance:
                advance(len(chunk))
    kept = []
    fallbacks = 0
    for it in items:
        item = dict(it)
        r = done[call_key(it)]
        item["domain"] = r["label"]
        item["domain_code"] = r["code"]
        item["domain_classifier"] = r["classifier"]
        item["domain_confidence"] = r["confidence"]
        fallbacks += ">" in r["classifier"]
        kept.append(item)
    return kept, [], {"classifier": classifier, "model_fallbacks": fallbacks}


# ----- the stage -------------------------------------------------------------------------
def depends_on(job: Job) -> dict[str, Any]:
    s = job.get(DiversitySettings)
    if s.classifier == "lexical":
        return {"clf": "lexical"}
    return {
        "clf": "model",
        "model": job.engines.label(s.classifier_model),
        "max": s.classify_max_thinking,
        **job.engine_key(),
    }


def run(items: Rows, job: Job) -> Result:
    s = job.get(DiversitySettings)
    return run_diversity(
        items,
        s.classifier,
        lambda: job.engines.get(s.classifier_model),
        job.engines.label(s.classifier_model),
        job.calls.done,
        job.calls.save,
        job.batch_size,
        classify_policy(parse_budget(s.classify_max_thinking)),
        job.advance,
    )


STAGE = Stage(
    "diversity",
    "diversity",
    "Classify every item into an MSC domain.",
    (DiversitySettings,),
    depends_on,
    run,
    engine=True,
)
