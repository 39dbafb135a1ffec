"""Evaluation tasks: a registry of named question sets, and local files by path.

    items = load_task("aime24")                      # a hub dataset, by its usual id
    items = load_task("data/my.jsonl", question_col="q", answer_col="a")
    register_task("synthetic", loader, "...")        # other packages add their own

Built-in names resolve to the hub datasets the s1 evaluation uses (they need a machine
with the hub, or its cache); any local jsonl/json/parquet/csv file with a question and
an answer column loads through `datasets`; names registered by other packages (the
synthetic tasks of `s1_data`) call their loader. Every problem is a one-line `S1Error`.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from s1_engine.errors import S1Error

from .grading import LETTERS


def _row_id(row: dict, col: str | None, index: int) -> str:
    if col and row.get(col) not in (None, ""):
        return str(row[col])
    return str(index)


@dataclass(frozen=True)
class TaskItem:
    """One question. For kind "choice", `answer` is the letter of the right choice."""

    id: str
    question: str
    answer: str
    kind: str = "math"  # or "choice"
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Registered:
    loader: Callable[[], list[TaskItem]]
    description: str
    instruction: str | None = None


@dataclass(frozen=True)
class HubTask:
    """A built-in task: where it lives on the hub and how to read its rows."""

    name: str
    hub_id: str
    config: str | None
    split: str
    question_col: str
    answer_col: str
    id_col: str | None
    description: str
    kind: str = "math"


# The datasets the s1 paper reports on (simplescaling/s1, its lm-evaluation-harness fork):
# AIME24/25 without figures, MATH500 (OpenAI's 500-problem test subset), GPQA Diamond.
HUB_TASKS: dict[str, HubTask] = {
    t.name: t
    for t in [
        HubTask(
            "aime24",
            "simplescaling/aime24_nofigures",
            None,
            "train",
            "problem",
            "answer",
            "id",
            "AIME 2024, 30 problems (hub: simplescaling/aime24_nofigures)",
        ),
        HubTask(
            "aime25",
            "simplescaling/aime25_nofigures",
            None,
            "train",
            "problem",
            "answer",
            "id",
            "AIME 2025, 30 problems (hub: simplescaling/aime25_nofigures)",
        ),
        HubTask(
            "math500",
            "HuggingFaceH4/MATH-500",
            None,
            "test",
            "problem",
            "answer",
            "unique_id",
            "MATH500, 500 problems (hub: HuggingFaceH4/MATH-500)",
        ),
        HubTask(
            "gpqa_diamond",
            "Idavidrein/gpqa",
            "gpqa_diamond",
            "train",
            "Question",
            "Correct Answer",
            "Record ID",
            "GPQA Diamond, 198 four-way multiple choice (hub: Idavidrein/gpqa, gated)",
            kind="choice",
        ),
    ]
}

_REGISTRY: dict[str, _Registered] = {}
ENTRY_POINTS = "s1.tasks"  # other packages offer tasks here: a function taking register_task
_plugins_loaded = False


# ----- the registry -------------------------------------------------------------------------
def register_task(
    name: str,
    loader: Callable[[], list[TaskItem]],
    description: str = "",
    instruction: str | None = None,
) -> None:
    """Make `name` loadable by `load_task` and listed by `s1 eval --list-tasks`.

    `instruction`: the text after each question in the prompt; None gives the standard
    one of the item's kind (a boxed answer for math, a letter for multiple choice), ""
    the question alone (for a model trained on bare questions).
    """
    if not name or any(c.isspace() for c in name):
        raise ValueError(f"a task name is one word, got {name!r}")
    _REGISTRY[name] = _Registered(loader, description, instruction)


def _load_plugins() -> None:
    """Let installed packages register their tasks (entry points, group "s1.tasks"), once.

    As simonw/llm finds its plugins: no import side effects, no guessing which sibling
    package happens to be imported. A plugin that fails to load is skipped, not fatal."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINTS):
        try:
            ep.load()(register_task)
        except Exception:  # noqa: BLE001 - a broken plugin must not break s1 eval
            import warnings

            warnings.warn(f"the task plugin {ep.name!r} ({ep.value}) failed to load", stacklevel=2)


def task_instruction(name: str) -> str | None:
    """The instruction a registered task asked for (None: the standard one)."""
    _load_plugins()
    reg = _REGISTRY.get(name)
    return reg.instruction if reg else None


TRAINED_MARK = "s1_train_report.json"  # in every model folder `s1 train` writes


def model_instruction(model: str | None) -> str | None:
    """The instruction a model was made for: none ("") for a model `s1 train` made (the
    embedded tiny-s1 too), which learned bare questions; else None (the standard one)."""
    return "" if model and (Path(model) / TRAINED_MARK).is_file() else None


def default_instruction(task: str, model: str | None) -> str | None:
    """The task's instruction if it names one, else the model's (None: the standard)."""
    own = task_instruction(task)
    return own if own is not None else model_instruction(model)


def list_tasks() -> list[str]:
    """Every task name: the built-in hub tasks, then the registered ones, sorted."""
    _load_plugins()
    return list(HUB_TASKS) + sorted(n for n in _REGISTRY if n not in HUB_TASKS)


def load_task(
    name_or_path: str,
    question_col: str | None = None,
    answer_col: str | None = None,
    choices_col: str | None = None,
    limit: int | None = None,
    seed: int = 0,
) -> list[TaskItem]:
    """The items of a task: a registered name, a built-in hub task, or a local data file."""
    _load_plugins()
    if limit is not None and limit < 1:
        raise S1Error(f"--limit must be >= 1, got {limit}", "e.g. --limit 10")
    name = str(name_or_path)
    if name in _REGISTRY:
        items = _call_loader(name)
    elif name in HUB_TASKS:
        items = _load_hub_task(HUB_TASKS[name], seed)
    elif _looks_like_file(name):
        from .files import load_file

        items = load_file(Path(name), question_col, answer_col, choices_col, seed)
    else:
        raise S1Error(
            f"unknown task {name!r}",
            f"pick one of {', '.join(list_tasks())} (s1 eval --list-tasks), "
            "or pass a .jsonl/.json/.parquet/.csv file",
        )
    if not items:
        raise S1Error(f"the task {name!r} has no questions", "check the file or the task name")
    ids = [it.id for it in items]
    if len(set(ids)) != len(ids):
        items = [
            TaskItem(str(i), it.question, it.answer, it.kind, it.choices)
            for i, it in enumerate(items)
        ]
    return items[:limit] if limit else items


def _call_loader(name: str) -> list[TaskItem]:
    try:
        items = list(_REGISTRY[name].loader())
    except S1Error:
        raise
    except Exception as e:
        raise S1Error(
            f"the task {name!r} could not load: {_first_line(e)}", "see its package"
        ) from None
    bad = [it for it in items if not isinstance(it, TaskItem)]
    if bad:
        raise S1Error(f"the task {name!r} gave {type(bad[0]).__name__} items", "return TaskItem")
    return items


def _looks_like_file(name: str) -> bool:
    from .files import DATA_SUFFIXES

    p = Path(name)
    return p.suffix.lower() in DATA_SUFFIXES or p.exists() or os.sep in name


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:300] if text else type(e).__name__


# ----- hub tasks --------------------------------------------------------------------------------
def _load_hub_task(task: HubTask, seed: int) -> list[TaskItem]:
    try:
        import datasets

        datasets.logging.set_verbosity(
            datasets.logging.CRITICAL
        )  # failures become one S1Error line
        datasets.disable_progress_bars()
        ds = datasets.load_dataset(task.hub_id, task.config, split=task.split)
    except Exception as e:
        raise S1Error(
            f"cannot load {task.name} ({task.hub_id}) from the hub: {_first_line(e)}",
            "run where the hub (or its cache) is reachable, or pass a local file: --task FILE.jsonl",
        ) from None
    rows = [dict(r) for r in ds]
    if task.kind == "choice":
        return [_gpqa_item(r, i, seed) for i, r in enumerate(rows)]
    return [
        TaskItem(
            _row_id(r, task.id_col, i),
            str(r[task.question_col]),
            str(r[task.answer_col]).strip(),
        )
        for i, r in enumerate(rows)
    ]


def _gpqa_item(row: dict, index: int, seed: int) -> TaskItem:
    """GPQA rows hold the right answer and three wrong ones: shuffle them with the seed."""
    right = str(row["Correct Answer"]).strip()
    wrong = [str(row[f"Incorrect Answer {k}"]).strip() for k in (1, 2, 3)]
    qid = _row_id(row, "Record ID", index)
    choices = [right, *wrong]
    random.Random(f"{seed}:{qid}").shuffle(choices)
    return TaskItem(
        qid,
        str(row["Question"]).strip(),
        LETTERS[choices.index(right)],
        "choice",
        tuple(choices),
    )


MATH_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
CHOICE_INSTRUCTION = (
    "Answer with the letter of the correct choice only, within \\boxed{} (for example \\boxed{A})."
)


def format_prompt(item: TaskItem, instruction: str | None = None) -> str:
    """The user message for an item: the question (and lettered choices), then the
    instruction (None: the standard one of the item's kind; "": none)."""
    text = item.question.strip()
    if item.kind == "choice":
        text += "\n\n" + "\n".join(f"{LETTERS[i]}) {c}" for i, c in enumerate(item.choices))
    if instruction is None:
        instruction = CHOICE_INSTRUCTION if item.kind == "choice" else MATH_INSTRUCTION
    return f"{text}\n\n{instruction.strip()}" if instruction.strip() else text
