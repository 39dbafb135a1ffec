"""Evaluation tasks from local data files (jsonl, json, parquet, csv) with `datasets`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from s1_engine.errors import S1Error

from .grading import LETTERS
from .tasks import TaskItem, _first_line, _row_id

DATA_SUFFIXES = {
    ".jsonl": "json",
    ".json": "json",
    ".parquet": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
}
QUESTION_COLS = ("question", "problem", "Question", "prompt", "input")
ANSWER_COLS = ("answer", "Answer", "final_answer", "target", "solution")
CHOICE_COLS = ("choices", "options")
ID_COLS = ("id", "unique_id", "uid", "question_id", "problem_id", "idx", "ID")


# ----- local files ------------------------------------------------------------------------------
def check_json_lines(path: Path) -> None:
    """One clear line for an empty JSON-lines file or a broken line (its number), before
    `datasets` reads it (its own errors name neither)."""
    import json

    empty = True
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            empty = False
            try:
                row = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                msg = getattr(e, "msg", None) or str(e)
                raise S1Error(
                    f"cannot read line {n} of {path.name}: not valid JSON ({msg})",
                    "fix or remove that line",
                ) from None
            if not isinstance(row, dict):
                raise S1Error(
                    f"cannot read line {n} of {path.name}: not a JSON object",
                    'write one object a line, e.g. {"question": ..., "answer": ...}',
                )
    if empty:
        raise S1Error(
            f"{path.name} is empty",
            'add one JSON object a line, e.g. {"question": ..., "answer": ...}',
        )


def load_file(
    path: Path,
    question_col: str | None,
    answer_col: str | None,
    choices_col: str | None,
    seed: int,
) -> list[TaskItem]:
    if not path.is_file():
        raise S1Error(f"no task file at {str(path)!r}", "check the path given to --task")
    builder = DATA_SUFFIXES.get(path.suffix.lower())
    if builder is None:
        raise S1Error(
            f"cannot read {str(path)!r}: unknown file type {path.suffix!r}",
            "use .jsonl, .json, .parquet or .csv",
        )
    if path.suffix.lower() == ".jsonl":
        check_json_lines(path)
    elif path.stat().st_size == 0:
        raise S1Error(f"{path.name} is empty", "give a file with rows of questions and answers")
    try:
        import datasets

        datasets.logging.set_verbosity(
            datasets.logging.CRITICAL
        )  # failures become one S1Error line
        datasets.disable_progress_bars()
        kwargs: dict[str, Any] = {"delimiter": "\t"} if path.suffix.lower() == ".tsv" else {}
        ds = datasets.load_dataset(builder, data_files=str(path), split="train", **kwargs)
    except Exception as e:
        raise S1Error(
            f"cannot read {str(path)!r}: {_first_line(e)}",
            f"check that it is valid {path.suffix.lstrip('.')}",
        ) from None
    columns = list(ds.column_names)
    where = f"in {path.name} (its columns: {', '.join(columns) or 'none'})"
    q = _column(columns, question_col, QUESTION_COLS, "question", where)
    a = _column(columns, answer_col, ANSWER_COLS, "answer", where)
    c = (
        _column(columns, choices_col, CHOICE_COLS, "choices", where)
        if choices_col
        else next((x for x in CHOICE_COLS if x in columns), None)
    )
    idc = next((x for x in ID_COLS if x in columns), None)
    items = []
    for i, row in enumerate(ds):
        qid = _row_id(row, idc, i)
        question, answer = row[q], row[a]
        if question is None or answer is None or not str(question).strip():
            raise S1Error(
                f"row {i + 1} of {path.name} has no {'question' if not question else 'answer'}",
                "fill it in or drop the row",
            )
        if c is not None and row[c] is not None:
            items.append(_choice_item(qid, str(question), answer, row[c], path.name, i))
        else:
            items.append(TaskItem(qid, str(question), str(answer).strip()))
    return items


def _column(
    columns: Sequence[str], given: str | None, candidates: Sequence[str], what: str, where: str
) -> str:
    flag = "--choices-col" if what == "choices" else f"--{what}-col"
    if given is not None:
        if given not in columns:
            raise S1Error(f"no column {given!r} {where}", f"pass the right name to {flag}")
        return given
    for cand in candidates:
        if cand in columns:
            return cand
    raise S1Error(f"no {what} column {where}", f"name it with {flag} NAME")


def _choice_item(
    qid: str, question: str, answer: Any, choices: Any, fname: str, i: int
) -> TaskItem:
    if isinstance(choices, str):
        opts = [s.strip() for s in choices.split("|")]
    elif isinstance(choices, dict):
        opts = [str(v) for v in choices.values()]
    else:
        opts = [str(x) for x in choices]
    if not 2 <= len(opts) <= len(LETTERS):
        raise S1Error(
            f"row {i + 1} of {fname} has {len(opts)} choices",
            f"give 2 to {len(LETTERS)} choices (a list, or text split by '|')",
        )
    ans = str(answer).strip()
    if len(ans) == 1 and ans.upper() in LETTERS[: len(opts)]:
        letter = ans.upper()
    elif ans.isdigit() and int(ans) < len(opts) and ans not in opts:
        letter = LETTERS[int(ans)]  # a 0-based index
    elif ans in opts:
        letter = LETTERS[opts.index(ans)]
    else:
        raise S1Error(
            f"row {i + 1} of {fname}: the answer {ans[:40]!r} is not a letter or one of the choices",
            "give the answer as a letter (A, B, ...) or the text of the right choice",
        )
    return TaskItem(qid, question, letter, "choice", tuple(opts))


# ----- prompts ----------------------------------------------------------------------------------
