"""What a curation stage is: a `Stage` (name, help, settings classes, run), the `Job` its
run gets, and the record of a dropped item.

A stage module declares its settings as dataclasses whose fields are made with
`s1_engine.options.option` (help, panel, flag, limits: the CLI turns them into options,
`check()` validates them), and two functions:

    depends_on(job) -> dict                    the settings its output depends on
    run(items, job) -> (kept, dropped, stats)  the stage itself

The pipeline (`s1_data.pipeline`) runs the stages of the registry (`s1_data.stages`) in
order, saves each one's output, and skips a stage on a rerun when what it depends on (and
everything before it) is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from s1_engine.settings import EngineOptions

P_DATA = "Pool and output"
P_QUAL = "Quality"
P_DECON = "Decontamination"
P_GEN = "Traces and reference answers"
P_DIV = "Diversity and selection"

Rows = list[dict[str, Any]]
Result = tuple[Rows, Rows, dict[str, Any]]  # kept, dropped, stats
T = TypeVar("T")


@dataclass
class Job:
    """What a stage's run gets besides its items."""

    settings: Mapping[type, Any] = field(default_factory=dict)  # by class; missing: defaults
    engine: EngineOptions = field(default_factory=EngineOptions)
    engines: Any = None  # `s1_data.engines.Engines`: the models, by name, built on first use
    seed: int = 0
    batch_size: int = 32
    advance: Callable[[int], None] = lambda k: None  # k more items done (progress)
    calls: Any = None  # engine stages: the `Checkpoint` of their model calls

    def get(self, cls: type[T]) -> T:
        """The run's settings object of class `cls` (its defaults if none was given)."""
        found = self.settings.get(cls)
        return found if found is not None else cls()

    def engine_key(self) -> dict[str, Any]:
        """The engine settings an engine stage's output depends on (besides the model)."""
        e = self.engine
        return {"backend": e.backend, "format": e.format, "dtype": e.dtype}


@dataclass(frozen=True)
class Stage:
    """One curation stage, as the pipeline and the CLI see it."""

    name: str  # "quality": its sub-command, its files (stages/NN_quality.jsonl), its report row
    title: str  # "quality": as the curate command's help lists the stages
    help: str  # one line: the sub-command's help
    settings: tuple[type, ...]  # its settings classes (a class may be shared by two stages)
    depends_on: Callable[[Job], dict[str, Any]]
    run: Callable[[Rows, Job], Result]
    engine: bool = False  # runs models: engine options on its command, model calls checkpointed
    ready: Callable[[Rows, Job], None] | None = None  # checks the loaded pool before any stage
    picks: bool = False  # picks its output from its input: the report compares the two


def drop_record(item: dict[str, Any], stage: str, reason: str, detail: str) -> dict[str, Any]:
    """What a dropped item leaves behind (stages/NN_STAGE.dropped.jsonl, dropped.jsonl)."""
    q = item.get("question")
    return {
        "id": item.get("id"),
        "stage": stage,
        "reason": reason,
        "detail": detail,
        "question": (q[:300] if isinstance(q, str) else q),
    }
