"""Pool -> `s1 curate` -> `s1 train` a few steps on the result -> `s1 eval` on the trained
model, all on models made on the spot (no download)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from s1_cli.main import main

from .planted import SOLVED

SHAPE = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "max_position_embeddings": 1024,
}


@pytest.fixture(scope="module")
def base_model(tmp_path_factory) -> Path:
    from s1_engine.testing import make_tokenizer
    from s1_train.recipes import tiny_s1

    path = tmp_path_factory.mktemp("base") / "random"
    tiny_s1.init_model(path, make_tokenizer(path), seed=0, shape=SHAPE)
    return path


def test_pool_to_curate_to_train_to_eval(capsys, tmp_path, tiny_model, base_model):
    easy = tmp_path / "easy.jsonl"
    easy.write_text(
        "".join(
            json.dumps(
                {"question": f"Repeat the three marks of round {i} of the game.", "answer": SOLVED}
            )
            + "\n"
            for i in range(4)
        )
    )
    curated = tmp_path / "set"
    argv = ["curate", "--pool", "synthetic:40:7", "--pool", easy, "--out", curated, "--n", 16]
    argv += ["-m", tiny_model, "--backend", "hf", "-q"]
    assert main([str(a) for a in argv]) == 0, capsys.readouterr().err
    report = json.loads((curated / "report.json").read_text())
    assert report["survivors"]["select"] == 16
    assert report["dropped_by_reason"].get("solved_by_all") == 4  # the easy ones
    # the synthetic task's held-out split is an evaluation set it was checked against
    decon = next(s for s in report["stages"] if s["name"] == "decontaminate")
    assert decon["stats"]["eval_questions"].get("synthetic", 0) > 0
    capsys.readouterr()

    run = tmp_path / "run"
    argv = ["train", curated, "-m", base_model, "-o", run, "--max-steps", 3, "--lr", "1e-3"]
    argv += ["--batch-size", 4, "--per-device-batch-size", 4, "--block-size", 512]
    argv += ["--warmup-ratio", 0, "--save-steps", 3, "--no-progress"]
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 0, err[-3000:]
    assert "done: 3 steps" in err
    train_report = json.loads((run / "s1_train_report.json").read_text())
    assert train_report["global_steps"] == 3

    ev = tmp_path / "eval"
    argv = ["eval", "--task", "synthetic", "--limit", 4, "--out", ev, "-m", run, "--backend", "hf"]
    argv += ["--max-thinking", 16, "--answer-max-tokens", 8, "--no-progress"]
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:]
    samples = [json.loads(x) for x in (ev / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 4
    assert all(s["thinking_tokens"] <= 16 for s in samples)
