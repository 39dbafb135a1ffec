"""The settings of an evaluation run (declared once: the CLI, settings files, checks)."""

from __future__ import annotations

from dataclasses import dataclass

from s1_engine.options import option

PANEL_TASK = "Task and output"


@dataclass
class EvalOptions:
    task: str | None = option(
        None,
        "A task name (see --list-tasks) or a .jsonl/.json/.parquet/.csv file.",
        panel=PANEL_TASK,
    )
    out: str | None = option(
        None,
        "Results folder (samples.jsonl, summary.json, scaling.png); a rerun resumes it.",
        panel=PANEL_TASK,
        short="-o",
        out_dir=True,
    )
    limit: int | None = option(
        None, "Only the first N questions.", panel=PANEL_TASK, min=1, example="--limit 10"
    )
    samples: int = option(
        1,
        "Samples per question and policy (majority voting over them; use --temperature > 0).",
        panel=PANEL_TASK,
        short="-n",
        min=1,
        example="--samples 4",
    )
    question_col: str | None = option(None, "Question column of a file task.", panel=PANEL_TASK)
    answer_col: str | None = option(None, "Answer column of a file task.", panel=PANEL_TASK)
    choices_col: str | None = option(
        None, "Choices column (multiple choice: a list, or text split by '|').", panel=PANEL_TASK
    )
    instruction: str | None = option(
        None,
        "Text after each question (default: the task's; boxed answer for math, a letter for "
        "multiple choice). '' for the bare question.",
        panel=PANEL_TASK,
    )
    overwrite: bool = option(
        False,
        "Replace the results in --out of another run (other task, model or settings).",
        panel=PANEL_TASK,
        negatable=False,
    )
    progress: bool | None = option(
        None, "Show the live progress bar (default: when stderr is a terminal).", panel=PANEL_TASK
    )
