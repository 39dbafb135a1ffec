"""One run identity and one writer per output folder; nothing half-written stays.

A rerun with the same settings resumes; another run into the folder is refused with one
line naming what changed and the fix, before any model loads; a second run at once is
refused naming the first; torn and corrupt lines are repaired, torn checkpoints skipped.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from s1_cli.main import main
from s1_engine.rundir import RunFolder

from .test_bad_input import one_line_error


def write_task(path: Path, answers: dict[str, str]) -> Path:
    path.write_text(
        "".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in answers.items())
    )
    return path


TASK = {
    "How many times can 3 be taken from 22?": "7",
    "Take 7 away from 90 until it is less than 7.": "6",
}


def eval_argv(task: Path, out: Path, *extra: str) -> list[str]:
    return [
        "eval",
        "--task",
        str(task),
        "--out",
        str(out),
        "--backend",
        "hf",
        "--max-thinking",
        "16",
        *extra,
    ]


def test_eval_same_run_resumes_other_run_is_refused(capsys, tmp_path):
    task, out = write_task(tmp_path / "t.jsonl", TASK), tmp_path / "o"
    assert main(eval_argv(task, out)) == 0
    first = (out / "samples.jsonl").read_text()
    assert main(eval_argv(task, out)) == 0  # the same run: nothing to redo
    assert (out / "samples.jsonl").read_text() == first
    capsys.readouterr()
    t0 = time.perf_counter()
    for extra, needle in [
        (["--temperature", "0.5"], "temperature"),
        (["--answer-max-tokens", "7"], "answer_max_tokens"),
        (["--max-model-len", "2048"], "max_model_len"),
        (["--model", "/nowhere/else"], "model"),
    ]:
        code = main(eval_argv(task, out, *extra))
        line = one_line_error(code, capsys.readouterr().err, needle, "--overwrite")
        assert "another run" in line
    assert time.perf_counter() - t0 < 20  # refused before any model loads
    assert (out / "samples.jsonl").read_text() == first


def test_eval_task_edited_in_place_is_not_reported_as_current(capsys, tmp_path):
    task, out = write_task(tmp_path / "t.jsonl", TASK), tmp_path / "o"
    assert main(eval_argv(task, out)) == 0
    edited = dict(TASK)
    edited["How many times can 3 be taken from 22?"] = "6"  # the reference changed
    write_task(task, edited)
    capsys.readouterr()
    one_line_error(main(eval_argv(task, out)), capsys.readouterr().err, "stale", "--overwrite")
    assert main(eval_argv(task, out, "--overwrite")) == 0
    refs = [json.loads(x)["reference"] for x in (out / "samples.jsonl").read_text().splitlines()]
    assert sorted(refs) == ["6", "6"]


def test_a_second_run_into_a_locked_folder_is_refused_at_once(capsys, tmp_path):
    task, out = write_task(tmp_path / "t.jsonl", TASK), tmp_path / "o"
    with RunFolder(out, "eval"):  # another run holds it
        t0 = time.perf_counter()
        code = main(eval_argv(task, out))
        line = one_line_error(code, capsys.readouterr().err, "in use by another run", "pid")
        assert time.perf_counter() - t0 < 10, line
    assert not (out / "samples.jsonl").exists()


def test_corrupt_and_torn_lines_are_redone_and_removed(capsys, tmp_path):
    pandas = pytest.importorskip("pandas")
    task, out = write_task(tmp_path / "t.jsonl", TASK), tmp_path / "o"
    assert main(eval_argv(task, out, "--num-ignore", "0,1")) == 0
    path = out / "samples.jsonl"
    good = path.read_text().splitlines()
    path.write_text(good[0] + "\n" + "{not json\n" + good[1] + "\n" + good[2][:40])
    assert main(eval_argv(task, out, "--num-ignore", "0,1")) == 0
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and len({json.loads(x)["key"] for x in lines}) == 4
    assert len(pandas.read_json(path, lines=True)) == 4


def test_tiny_model_will_not_overwrite_a_trained_model(capsys, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights")
    one_line_error(main(["tiny-model", str(folder)]), capsys.readouterr().err, "--overwrite")
    assert (folder / "model.safetensors").read_bytes() == b"weights"
    assert main(["tiny-model", str(tmp_path / "new")]) == 0
    assert main(["tiny-model", str(tmp_path / "new")]) == 0  # the scripted model again: fine


@pytest.fixture()
def sft_data(tmp_path: Path) -> tuple[Path, Path]:
    from s1_data.synthetic import make_sft_rows, make_tasks

    def rows(seed: int) -> str:
        rs = make_sft_rows(make_tasks(16, seed=seed, kinds=["subtract"], max_steps=2), seed=seed)
        return "".join(json.dumps(r) + "\n" for r in rs)

    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(rows(1))
    b.write_text(rows(2))
    return a, b


def test_train_into_a_finished_folder_with_other_data_is_refused(capsys, tmp_path, sft_data):
    a, b = sft_data
    out = tmp_path / "sft"
    base = ["--output", str(out), "--recipe", "tiny-s1", "--max-steps", "2", "--no-progress"]
    assert main(["train", str(a), *base]) == 0
    weights = (out / "model.safetensors").read_bytes()
    capsys.readouterr()
    for argv, needle in [
        (["train", str(b), *base], "dataset"),
        (["train", str(a), *base, "--lr", "0.01"], "learning_rate"),
    ]:
        one_line_error(main(argv), capsys.readouterr().err, needle, "--overwrite")
    assert (out / "model.safetensors").read_bytes() == weights
    report = json.loads((out / "s1_train_report.json").read_text())
    assert report["dataset"] == str(a)  # the report still tells the truth
    assert main(["train", str(b), *base, "--overwrite"]) == 0
    assert json.loads((out / "s1_train_report.json").read_text())["dataset"] == str(b)


def test_a_torn_checkpoint_is_set_aside_and_the_run_resumes(capsys, tmp_path, sft_data):
    a, _ = sft_data
    out = tmp_path / "sft"
    base = [
        "--output",
        str(out),
        "--recipe",
        "tiny-s1",
        "--save-steps",
        "1",
        "--save-total-limit",
        "5",
        "--logging-steps",
        "1",
    ]
    base += ["--no-progress"]
    assert main(["train", str(a), *base, "--max-steps", "2"]) == 0
    (out / "checkpoint-2" / "trainer_state.json").unlink()  # killed while saving step 2
    assert main(["train", str(a), *base, "--max-steps", "3"]) == 0
    report = json.loads((out / "s1_train_report.json").read_text())
    assert report["resumed_from"].endswith("checkpoint-1")
    assert report["global_steps"] == 3
    steps = [json.loads(x)["step"] for x in (out / "loss_log.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps))  # no step logged twice after the resume


def test_curate_a_stage_alone_never_replaces_another_runs_result(capsys, tmp_path):
    pool, out = write_task(tmp_path / "pool.jsonl", TASK), tmp_path / "cur"
    # offline, decontamination cannot load the hub tasks: it says so on the terminal
    assert main(["curate", "decontaminate", str(pool), "--out", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "note: decontamination did not check" in err and "aime24" in err
    card = (out / "README.md").read_text()
    code = main(["curate", "quality", str(pool), "--out", str(out), "--quiet"])
    one_line_error(code, capsys.readouterr().err, "stages", "--overwrite")
    assert (out / "README.md").read_text() == card
    assert main(["curate", "quality", str(pool), "--out", str(out), "--quiet", "--overwrite"]) == 0


def test_a_torn_model_call_file_is_repaired_before_the_next_append(tmp_path):
    from s1_data.checkpoint import Checkpoint, read_jsonl

    path = tmp_path / "calls.jsonl"
    ck = Checkpoint(path, "fp")
    ck.save([{"key": "a", "out": 1}, {"key": "b", "out": 2}])
    path.write_bytes(path.read_bytes() + b'{"key": "c", "ou')  # killed mid-line
    again = Checkpoint(path, "fp")
    assert set(again.done) == {"a", "b"}
    again.save([{"key": "d", "out": 4}])
    assert [r.get("key") for r in read_jsonl(path)] == [None, "a", "b", "d"]
    assert path.read_bytes().endswith(b"\n")
