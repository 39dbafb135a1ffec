"""`s1 generate` and `s1 --help`: the real command, bad input as one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from s1_cli.main import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], lines[0]


def test_help_is_instant_and_lists_the_commands():
    t = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-m", "s1_cli.main", "--help"], capture_output=True, text=True, check=True
    )
    elapsed = time.perf_counter() - t
    for cmd in ("tui", "eval", "train", "curate", "generate"):
        assert cmd in p.stdout
    assert elapsed < 5  # a generous bound for CI; heavy imports would take 10+ s
    mods = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, s1_cli.main; print(sorted(m for m in ('torch','vllm','trl','textual','transformers') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert mods.stdout.strip() == "[]"


def test_unknown_model_path(capsys, tmp_path):
    code, _, err = run_cli(capsys, "generate", "hi", "--model", str(tmp_path / "nope"))
    assert_one_line_error(code, err, "nope", "--model")


def test_negative_budget(capsys, tiny_model):
    code, _, err = run_cli(capsys, "generate", "hi", "-m", str(tiny_model), "--max-thinking", "-4")
    assert_one_line_error(code, err, "-4")


def test_unreadable_budget(capsys, tiny_model):
    code, _, err = run_cli(
        capsys, "generate", "hi", "-m", str(tiny_model), "--max-thinking", "lots"
    )
    assert_one_line_error(code, err, "lots")


def test_format_the_tokenizer_does_not_support(capsys, tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel()
    tok.train_from_iterator(
        ["plain text only"] * 5, trainers.BpeTrainer(vocab_size=300, show_progress=False)
    )
    PreTrainedTokenizerFast(tokenizer_object=tok).save_pretrained(str(tmp_path))
    code, _, err = run_cli(capsys, "generate", "hi", "-m", str(tmp_path), "--format", "think-tags")
    assert_one_line_error(code, err, "does not support", "think-tags", "--format")
    code, _, err = run_cli(capsys, "generate", "hi", "-m", str(tmp_path))
    assert_one_line_error(code, err, "--format")


def test_prompt_longer_than_the_context(capsys, tiny_model):
    code, _, err = run_cli(
        capsys,
        "generate",
        "What is 1+2? " * 40,
        "-m",
        str(tiny_model),
        "--backend",
        "hf",
        "--max-model-len",
        "64",
    )
    assert_one_line_error(code, err, "context", "--max-model-len")


def test_generate_json_on_vllm_subprocess(tiny_model):
    """The installed command end to end, on the default backend (vLLM here)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "s1_cli.main",
            "generate",
            "What is 1+2?",
            "-m",
            str(tiny_model),
            "--backend",
            "vllm",
            "--max-model-len",
            "1024",
            "--num-ignore",
            "2",
            "--max-thinking",
            "20",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    record = json.loads(p.stdout)
    assert set(record) >= {
        "thinking",
        "answer",
        "thinking_tokens",
        "answer_tokens",
        "events",
        "finish_reason",
    }
    assert record["thinking_tokens"] == 20
    kinds = [(e["kind"], e["cause"], e["token_index"]) for e in record["events"]]
    assert ("wait", "budget", 10) in kinds and ("wait", "budget", 16) in kinds
    assert ("end_thinking", "budget", 20) in kinds
    assert record["answer"] == "Final Answer: xa xb xc"


@pytest.mark.parametrize("stdin_text", ["What is 1+2?"])
def test_generate_reads_stdin_and_prints_live(tiny_model, stdin_text):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "s1_cli.main",
            "generate",
            "-",
            "-m",
            str(tiny_model),
            "--backend",
            "hf",
            "--num-ignore",
            "1",
        ],
        input=stdin_text,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "xa xb xc"  # the answer alone on stdout
    assert "t000" in p.stderr and "Wait" in p.stderr  # thinking on stderr
    assert "16 thinking" in p.stderr
