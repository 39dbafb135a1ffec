"""The curation stages, in the order they run: one module each, holding its settings
(dataclasses of `option()` fields), what its output depends on, and its run.

    STAGES              the registry: the pipeline runs it, the CLI makes a command of each
    settings_classes()  the settings classes of some stages, each once, in order

To add a stage: write its module (see `base` for what it exports) and list its `STAGE`
here; the pipeline, `s1 curate run` and `s1 curate NAME` pick it up.
"""

from __future__ import annotations

from collections.abc import Iterable

from . import decontaminate, difficulty, diversity, quality, select, traces
from .base import Job, Stage, drop_record

STAGES: tuple[Stage, ...] = (
    quality.STAGE,
    decontaminate.STAGE,
    traces.STAGE,
    difficulty.STAGE,
    diversity.STAGE,
    select.STAGE,
)
NAMES = tuple(s.name for s in STAGES)


def settings_classes(stages: Iterable[Stage] = STAGES) -> list[type]:
    """The settings classes of `stages`, each once, in the order the stages name them (a
    class two stages share: where the later one names it)."""
    out: list[type] = []
    for s in stages:
        for cls in s.settings:
            if cls in out:
                out.remove(cls)
            out.append(cls)
    return out


__all__ = ["NAMES", "STAGES", "Job", "Stage", "drop_record", "settings_classes"]
