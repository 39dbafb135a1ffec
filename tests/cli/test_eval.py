"""`s1 eval` through the real entry point: listing, bad input as one-line errors, compare."""

from __future__ import annotations

import json

import pytest

from s1_cli.main import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], lines[0]


def test_list_tasks_prints_one_name_a_line(capsys):
    code, out, _ = run_cli(capsys, "eval", "--list-tasks")
    assert code == 0
    names = out.split()
    assert names[:4] == ["aime24", "aime25", "math500", "gpqa_diamond"]
    assert "synthetic" in names
    assert all(" " not in line for line in out.splitlines())


@pytest.fixture()
def files(tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"question": "1+1?", "answer": "2"}) + "\n")
    (tmp_path / "nocol.jsonl").write_text(json.dumps({"text": "1+1?", "answer": "2"}) + "\n")
    (tmp_path / "broken.jsonl").write_text('{"question": "1+1?", "ans\n')
    (tmp_path / "data.xlsx").write_text("x")
    return tmp_path


@pytest.mark.parametrize(
    "argv, needles",
    [
        (["--task", "aime2024", "--out", "{d}/o"], ["unknown task 'aime2024'", "--list-tasks"]),
        (["--task", "{d}/nope.jsonl", "--out", "{d}/o"], ["no task file", "nope.jsonl"]),
        (["--task", "{d}/broken.jsonl", "--out", "{d}/o"], ["cannot read", "broken.jsonl"]),
        (["--task", "{d}/data.xlsx", "--out", "{d}/o"], ["unknown file type", ".jsonl"]),
        (["--task", "{d}/nocol.jsonl", "--out", "{d}/o"], ["no question column", "--question-col"]),
        (
            ["--task", "{d}/good.jsonl", "--out", "{d}/o", "--answer-col", "gold"],
            ["no column 'gold'", "question, answer", "--answer-col"],
        ),
        (
            ["--task", "{d}/good.jsonl", "--out", "{d}/o", "--max-thinking", "512,,auto"],
            ["--max-thinking", "512,,auto"],
        ),
        (
            ["--task", "{d}/good.jsonl", "--out", "{d}/o", "--max-thinking", "512,lots"],
            ["lots", "whole number, 'auto' or 'fit'"],
        ),
        (
            ["--task", "{d}/good.jsonl", "--out", "{d}/o", "--num-ignore", "1,two"],
            ["--num-ignore", "two"],
        ),
        (
            ["--task", "{d}/good.jsonl", "--out", "{d}/o", "--max-thinking", "8,8"],
            ["listed twice"],
        ),
        (["--task", "{d}/good.jsonl", "--out", "{d}/o", "--samples", "0"], ["--samples"]),
        (["--task", "{d}/good.jsonl", "--out", "{d}/o", "--limit", "0"], ["--limit"]),
        (["--task", "{d}/good.jsonl"], ["--out"]),
        (["--out", "{d}/o"], ["--task"]),
        (["--task", "gpqa_diamond", "--out", "{d}/o"], ["Idavidrein/gpqa", "from the hub"]),
        (
            ["--task", "{d}/good.jsonl", "--out", "{d}/o", "-m", "{d}/no-model"],
            ["no-model", "--model"],
        ),
    ],
)
def test_bad_input_is_one_line(capsys, files, argv, needles):
    argv = [a.replace("{d}", str(files)) for a in argv]
    code, _, err = run_cli(capsys, "eval", *argv)
    assert_one_line_error(code, err, *needles)
    assert not (files / "o" / "samples.jsonl").exists()


def test_compare_two_folders(capsys, hf_engine, tmp_path):
    from s1_engine import BudgetPolicy
    from s1_eval.runner import EvalSpec, run_eval
    from s1_eval.tasks import TaskItem

    items = [TaskItem("a", "What is 1+1?", "2"), TaskItem("b", "What is 2+2?", "4")]
    run_eval(hf_engine, EvalSpec("t", items, [BudgetPolicy(max_thinking_tokens=4)]), tmp_path / "A")
    run_eval(
        hf_engine,
        EvalSpec("t", items, [BudgetPolicy(max_thinking_tokens=4), BudgetPolicy(num_ignore=1)]),
        tmp_path / "B",
    )
    code, out, err = run_cli(capsys, "eval", "compare", str(tmp_path / "A"), str(tmp_path / "B"))
    assert code == 0, err
    assert "think=4,wait=0" in out and "think=auto,wait=1" in out
    code, out, _ = run_cli(
        capsys, "eval", "compare", str(tmp_path / "A"), str(tmp_path / "B"), "--json"
    )
    rows = {r["policy"]: r for r in json.loads(out)["policies"]}
    assert rows["think=4,wait=0"]["a_thinking_tokens"] == 4
    assert rows["think=auto,wait=1"]["a_thinking_tokens"] is None
    assert rows["think=auto,wait=1"]["b_thinking_tokens"] == 16

    code, _, err = run_cli(capsys, "eval", "compare", str(tmp_path / "A"), str(tmp_path / "nope"))
    assert_one_line_error(code, err, "nope")


def test_an_out_folder_of_another_run_is_refused(capsys, hf_engine, tmp_path):
    from s1_engine import BudgetPolicy
    from s1_engine.errors import S1Error
    from s1_eval.runner import EvalSpec, run_eval
    from s1_eval.tasks import TaskItem

    items = [TaskItem("a", "What is 1+1?", "2")]
    run_eval(hf_engine, EvalSpec("t1", items, [BudgetPolicy(max_thinking_tokens=4)]), tmp_path)
    with pytest.raises(S1Error, match="another run"):
        run_eval(hf_engine, EvalSpec("t2", items, [BudgetPolicy(max_thinking_tokens=4)]), tmp_path)


def test_a_users_question_file_gets_the_prompt_the_model_was_made_for(tmp_path):
    """Held-out questions of the embedded model's kinds, in a file of the user's, with
    `s1 eval`'s default options: the bare question (tiny-s1 learned no instruction), and
    the score of the console, not the ~0% of an appended boxed-answer instruction."""
    import os
    import subprocess
    import sys

    from s1_data.synthetic import held_out_tasks

    questions = tmp_path / "my_questions.jsonl"
    with questions.open("w") as f:
        for t in held_out_tasks()[-40:]:
            f.write(json.dumps({"question": t.question, "answer": t.answer}) + "\n")
    out = tmp_path / "eval-mine"
    p = subprocess.run(
        [sys.executable, "-m", "s1_cli.main", "eval", "--task", str(questions), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, HF_HUB_OFFLINE="1", S1_DATA_DIR=str(tmp_path / "data")),
    )
    assert p.returncode == 0, p.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["instruction"] == ""
    (policy,) = summary["policies"]
    assert policy["accuracy"] >= 75, policy
    assert "prompt: the question alone" in p.stdout
    record = json.loads((out / "samples.jsonl").read_text().splitlines()[0])
    assert record["prompt"] in {t.question for t in held_out_tasks()}  # nothing appended
