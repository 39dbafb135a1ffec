"""`s1 tui` for real, in a terminal: tmux send-keys / capture-pane.

Start it on the scripted model (think-tags: it thinks until stopped), ask, force a
"Wait", end thinking, quit; the captured screens are checked at each step.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path

import pytest
from terminal import Tmux


def s1_command() -> list[str]:
    script = Path(sys.executable).parent / "s1"
    return [str(script)] if script.exists() else [sys.executable, "-m", "s1_cli.main"]


def test_s1_tui_in_tmux(tiny_model, tmp_path, private_dirs):
    tmux = Tmux(f"s1tui-{os.getpid()}")
    argv = s1_command() + [
        "tui",
        "--model",
        str(tiny_model),
        "--backend",
        "hf",
        "--format",
        "think-tags",
        "--max-thinking",
        "3000",
        "--answer-max-tokens",
        "16",
        # slow enough that `e` lands before the model ends by itself (5 tokens after the Wait)
        "--pace",
        "5",
    ]
    env = {
        "S1_DATA_DIR": str(private_dirs),
        "S1_CONFIG": str(tmp_path / "none.toml"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
    }
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    # wide enough that the status line keeps every cause (a narrower one shortens them)
    tmux.start(f"{exports} {shlex.join(argv)}", tmp_path / "exit-code", 160, 40)
    try:
        screen = tmux.wait_for("scripted · hf", "ready", timeout=90)
        assert "Ask a question" in screen
        tmux.keys("What is 1+2?", literal=True)
        tmux.keys("Enter")
        tmux.wait_for("ua ub uc ua ub uc", "thinking")
        tmux.keys("w")
        screen = tmux.wait_for("⟪Wait · user⟫", timeout=30)
        tmux.keys("e")
        screen = tmux.wait_for("⟪end of", "xa xb xc", "done: stop", timeout=30)
        assert "Wait 1 (user 1)" in screen
        assert "end 1 (user" in screen and "end of thinking · user" in screen, screen
        tmux.keys("q")
        assert tmux.exit_code() == "0"
    finally:
        tmux.kill()
    history = (private_dirs / "history.jsonl").read_text().splitlines()
    assert len(history) == 1


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_by_hand_at_a_pace_in_a_small_and_a_large_terminal(size, tmp_path, private_dirs):
    """`s1 tui -q ... --pace 10` on the embedded model: the question shows in its box, e
    pressed 2 s after the run starts ends the thinking (cause: user), and the footer keeps
    New, Help and Quit, the status the phase, at 80 x 24 as at 160 x 48."""
    cols, rows = size
    tmux = Tmux(f"s1pace-{os.getpid()}-{cols}")
    question = "How many times can 4 be taken from 30?"  # (not the box's example)
    argv = s1_command() + ["tui", "--backend", "hf", "--pace", "10", "-q", question]
    env = {
        "S1_DATA_DIR": str(private_dirs),
        "S1_CONFIG": str(tmp_path / "none.toml"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
    }
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    tmux.start(f"{exports} {shlex.join(argv)}", tmp_path / "exit-code", cols, rows)
    try:
        screen = tmux.wait_for("pace 10/s", "│ thinking", question, timeout=120)
        time.sleep(2.0)
        tmux.keys("e")
        screen = tmux.wait_for("done: stop", "Final Answer", timeout=60)
        footer = screen.rstrip("\n").splitlines()[-1]
        for key in ("n New", "f1 Help", "q Quit"):
            assert key in footer, screen
        assert "end 1" in screen.splitlines()[-2], screen
        assert all(len(line) <= cols for line in screen.splitlines())
        tmux.keys("q")
        assert tmux.exit_code() == "0"
    finally:
        tmux.kill()
    (record,) = [json.loads(x) for x in (private_dirs / "history.jsonl").read_text().splitlines()]
    assert record["prompt"] == question
    ends = [e for e in record["events"] if e["kind"] == "end_thinking"]
    assert [e["cause"] for e in ends] == ["user"]
    assert 8 <= record["thinking_tokens"] <= 45  # ~2.5 s at 10 tokens a second
