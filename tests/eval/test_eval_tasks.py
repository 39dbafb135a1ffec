"""The task registry: local files by path, registered tasks, hub tasks offline, prompts."""

from __future__ import annotations

import json
import time

import pytest

from s1_engine.errors import S1Error
from s1_eval.tasks import (
    HUB_TASKS,
    TaskItem,
    _gpqa_item,
    format_prompt,
    list_tasks,
    load_task,
    register_task,
)


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_jsonl_with_default_columns(tmp_path):
    f = write_jsonl(
        tmp_path / "t.jsonl",
        [{"problem": "1+1?", "answer": 2, "unique_id": "a"}, {"problem": "2+2?", "answer": "4"}],
    )
    items = load_task(str(f))
    assert items[0] == TaskItem("a", "1+1?", "2")
    assert items[1].answer == "4" and items[1].kind == "math"
    assert len(load_task(str(f), limit=1)) == 1


def test_csv_and_parquet_with_named_columns(tmp_path):
    (tmp_path / "t.csv").write_text("q,gold\nWhat is 3?,3\nWhat is 5?,5\n")
    items = load_task(str(tmp_path / "t.csv"), question_col="q", answer_col="gold")
    assert [(i.question, i.answer) for i in items] == [("What is 3?", "3"), ("What is 5?", "5")]
    import datasets

    datasets.Dataset.from_list([{"question": "x?", "answer": "1"}]).to_parquet(
        str(tmp_path / "t.parquet")
    )
    assert load_task(str(tmp_path / "t.parquet"))[0].answer == "1"


def test_multiple_choice_from_a_file(tmp_path):
    f = write_jsonl(
        tmp_path / "mc.jsonl",
        [
            {"question": "Sky?", "options": ["red", "blue", "green"], "answer": "B"},
            {"question": "Grass?", "options": "red|blue|green", "answer": "green"},
        ],
    )
    items = load_task(str(f), choices_col="options")
    assert [(i.kind, i.answer, i.choices) for i in items] == [
        ("choice", "B", ("red", "blue", "green")),
        ("choice", "C", ("red", "blue", "green")),
    ]
    prompt = format_prompt(items[0])
    assert "A) red\nB) blue\nC) green" in prompt and "letter" in prompt


def test_math_prompt_asks_for_a_boxed_answer_and_instruction_can_be_dropped():
    item = TaskItem("1", "What is 1+2?", "3")
    assert "\\boxed{}" in format_prompt(item)
    assert format_prompt(item, "") == "What is 1+2?"


def test_gpqa_choices_are_shuffled_with_the_seed():
    row = {
        "Question": "Q?",
        "Correct Answer": "right",
        "Incorrect Answer 1": "w1",
        "Incorrect Answer 2": "w2",
        "Incorrect Answer 3": "w3",
        "Record ID": "rec1",
    }
    letters = set()
    for seed in range(8):
        a, b = _gpqa_item(row, 0, seed), _gpqa_item(row, 0, seed)
        assert a == b  # deterministic
        assert a.choices[ord(a.answer) - 65] == "right" and sorted(a.choices) == sorted(
            ["right", "w1", "w2", "w3"]
        )
        letters.add(a.answer)
    assert len(letters) > 1  # the right answer is not always in one place


def test_registered_tasks_are_listed_and_loaded():
    register_task("unit-test-task", lambda: [TaskItem("q1", "1+1?", "2")], "a test task")
    assert "unit-test-task" in list_tasks()
    assert list_tasks()[:4] == ["aime24", "aime25", "math500", "gpqa_diamond"]
    assert load_task("unit-test-task")[0].id == "q1"


def test_the_synthetic_tasks_of_s1_data():
    import s1_data  # noqa: F401  (registers "synthetic")

    assert "synthetic" in list_tasks()
    items = load_task("synthetic", limit=5)
    assert len(items) == 5 and all(i.kind == "math" and i.answer for i in items)


def test_hub_ids_are_the_usual_ones():
    assert HUB_TASKS["aime24"].hub_id == "simplescaling/aime24_nofigures"
    assert HUB_TASKS["aime25"].hub_id == "simplescaling/aime25_nofigures"
    assert HUB_TASKS["math500"].hub_id == "HuggingFaceH4/MATH-500"
    g = HUB_TASKS["gpqa_diamond"]
    assert (g.hub_id, g.config, g.kind) == ("Idavidrein/gpqa", "gpqa_diamond", "choice")


def test_hub_task_offline_is_one_clear_error():
    t = time.perf_counter()
    with pytest.raises(S1Error) as e:
        load_task("aime24")
    assert time.perf_counter() - t < 60
    line = e.value.line()
    assert "\n" not in line and "simplescaling/aime24_nofigures" in line and "--task" in line


@pytest.mark.parametrize(
    "setup, args, needles",
    [
        ("none", {}, ["unknown task", "aime24", "--list-tasks"]),
        ("missing", {}, ["no task file", "--task"]),
        ("badjson", {}, ["cannot read", "bad.jsonl"]),
        ("nocol", {}, ["no question column", "--question-col"]),
        ("nocol", {"question_col": "qq"}, ["no column 'qq'", "--question-col"]),
        ("nocol", {"question_col": "text", "answer_col": "gold"}, ["no column 'gold'"]),
        ("choices", {"choices_col": "options"}, ["not a letter or one of the choices"]),
    ],
)
def test_bad_input_is_an_s1error(tmp_path, setup, args, needles):
    path = {
        "none": "no_such_task",
        "missing": str(tmp_path / "missing.jsonl"),
        "badjson": str(tmp_path / "bad.jsonl"),
        "nocol": str(tmp_path / "nocol.jsonl"),
        "choices": str(tmp_path / "choices.jsonl"),
    }[setup]
    (tmp_path / "bad.jsonl").write_text('{"question": "x", "answer": \n not json\n')
    write_jsonl(tmp_path / "nocol.jsonl", [{"text": "x", "answer": "1"}])
    write_jsonl(
        tmp_path / "choices.jsonl", [{"question": "x", "options": ["a", "b"], "answer": "zzz"}]
    )
    with pytest.raises(S1Error) as e:
        load_task(path, **args)
    line = e.value.line()
    assert "\n" not in line
    for n in needles:
        assert n in line, line


def test_the_default_instruction_follows_the_task_then_the_model(tmp_path):
    """A task's own instruction first; else none for a model `s1 train` made (it learned
    bare questions: the embedded one too), else the standard one (None)."""
    from s1_engine.engine import DEFAULT_MODEL_DIR
    from s1_eval.tasks import default_instruction

    plain = tmp_path / "some-model"
    plain.mkdir()
    (plain / "config.json").write_text("{}")
    trained = tmp_path / "sft"
    trained.mkdir()
    (trained / "s1_train_report.json").write_text("{}")
    assert default_instruction("mine.jsonl", str(DEFAULT_MODEL_DIR)) == ""
    assert default_instruction("mine.jsonl", str(trained)) == ""
    assert default_instruction("mine.jsonl", str(plain)) is None
    assert default_instruction("mine.jsonl", "Qwen/Qwen2.5-32B-Instruct") is None
    assert default_instruction("synthetic", str(plain)) == ""  # the task's own
