"""`s1 tui` for real, in a terminal: tmux send-keys / capture-pane.

Start it on the scripted model (think-tags: it thinks until stopped), ask, force a
"Wait", end thinking, quit; the captured screens are checked at each step.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        p = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20
        )
        if p.returncode != 0:
            raise AssertionError(f"tmux {args[0]} failed: {p.stderr}")
        return p.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "s1")

    def wait_for(self, *needles: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if all(n in text for n in needles):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"{needles} not on the screen:\n{text}")
            time.sleep(0.2)


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
    done = tmp_path / "exit-code"
    shell = f"cd {shlex.quote(os.getcwd())} && env -u COLUMNS -u LINES {exports} {shlex.join(argv)}; echo $? > {done}"
    tmux("-f", "/dev/null", "new-session", "-d", "-s", "s1", "-x", "120", "-y", "36", shell)
    tmux("resize-window", "-t", "s1", "-x", "120", "-y", "36")
    try:
        screen = tmux.wait_for("scripted · hf", "ready", timeout=90)
        assert "Ask a question" in screen
        tmux("send-keys", "-t", "s1", "-l", "What is 1+2?")
        tmux("send-keys", "-t", "s1", "Enter")
        tmux.wait_for("ua ub uc ua ub uc", "thinking")
        tmux("send-keys", "-t", "s1", "w")
        screen = tmux.wait_for("⟪Wait · user⟫", timeout=30)
        tmux("send-keys", "-t", "s1", "e")
        screen = tmux.wait_for("⟪end of", "xa xb xc", "done: stop", timeout=30)
        assert "Wait 1 (user 1)" in screen
        assert "end 1 (" in screen
        tmux("send-keys", "-t", "s1", "q")
        deadline = time.monotonic() + 30
        while not done.exists():
            assert time.monotonic() < deadline, "s1 tui did not quit:\n" + tmux.screen()
            time.sleep(0.2)
        assert done.read_text().strip() == "0"
    finally:
        subprocess.run(["tmux", "-L", tmux.socket, "kill-server"], capture_output=True)
    history = (private_dirs / "history.jsonl").read_text().splitlines()
    assert len(history) == 1
