"""The small things a newcomer meets first: --version, an example in every --help, flags
without a `<type>`, no folder left by a failed command, a piped question without its
newline, tables that keep every digit, and vLLM that says it is stopping (and keeps its
Triton line in its log)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from terminal import Tmux

from s1_cli.main import app, main

NO_EXAMPLE: dict[str, str] = {}


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    from importlib.metadata import version

    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out.strip() == f"s1 {version('s1-console')}"


def commands() -> list[list[str]]:
    """Every command and sub-command, as the words that name it."""
    found: list[list[str]] = []

    def walk(cmd: object, path: list[str]) -> None:
        found.append(path)
        if hasattr(cmd, "commands"):  # a group (Typer keeps its own copy of click)
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


@pytest.mark.parametrize("words", commands(), ids=lambda w: " ".join(w) or "s1")
def test_every_help_has_an_example_and_flags_show_no_type(capsys, monkeypatch, words):
    monkeypatch.setenv("COLUMNS", "120")
    code, out, _ = run_cli(capsys, *words, "--help")
    assert code == 0
    assert "<bool>" not in out, out  # a flag takes no value: no type shown
    if words and words[0] not in NO_EXAMPLE:
        example = out[out.index("Example") :] if "Example" in out else ""
        assert example and f"s1 {' '.join(words)}" in " ".join(example.split()), out


def test_bare_s1_prints_its_help_and_no_empty_error(capsys):
    code, out, err = run_cli(capsys)
    assert "Usage:" in out + err and "error:" not in err, err
    assert code == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["eval", "--task", "no-such-task", "--out", "{tmp}/runs/x"],
        ["eval", "--task", "synthetic", "--out", "{tmp}/runs/x", "-m", "{tmp}/no-model"],
        ["curate", "--pool", "{tmp}/no-pool.jsonl", "--out", "{tmp}/runs/x"],
        ["curate", "--pool", "synthetic:5", "--kinds", "sum,nope", "--out", "{tmp}/runs/x"],
        ["train", "{tmp}/no-data.jsonl", "--output", "{tmp}/runs/x"],
    ],
    ids=["eval-task", "eval-model", "curate-pool", "curate-kinds", "train-data"],
)
def test_a_failed_command_leaves_no_folder_and_no_lock(capsys, tmp_path, argv):
    code, _, err = run_cli(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert code == 2, err
    assert not (tmp_path / "runs").exists(), sorted(tmp_path.rglob("*"))


def test_a_failure_keeps_what_was_there(capsys, tmp_path):
    """A folder that existed, or holds anything but our lock, stays."""
    kept = tmp_path / "old"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    code, _, _ = run_cli(capsys, "eval", "--task", "no-such-task", "--out", kept)
    assert code == 2 and (kept / "notes.txt").read_text() == "mine"
    empty = tmp_path / "empty-before"
    empty.mkdir()
    code, _, _ = run_cli(capsys, "eval", "--task", "no-such-task", "--out", empty)
    assert code == 2 and empty.is_dir()


def generate_json(*argv: str, stdin: str | None = None) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    p = subprocess.run(
        [sys.executable, "-m", "s1_cli.main", "generate", *argv, "--json", "--backend", "hf"],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    record = json.loads(p.stdout)
    return {k: record[k] for k in ("thinking", "answer", "thinking_tokens", "answer_tokens")}


def test_a_piped_question_loses_the_newline_echo_adds():
    """`echo Q | s1 generate -` asks Q, not "Q\\n" (the embedded model answers "Q\\n"
    differently: 95 thinking tokens and 7 instead of 71 and 5)."""
    question = "How many times can 3 be taken from 22?"
    piped = generate_json("-", stdin=question + "\n")
    assert piped == generate_json(question)


def test_tables_never_cut_a_number(tmp_path):
    """`s1 eval compare` (the same table code as the summary): piped, and at 80 columns."""
    long = "token-conditional+bf(256 tokens),think=256,wait=0"
    policies = [
        {"policy": "think=64,wait=0", "accuracy": 55.0, "mean_thinking_tokens": 54.5},
        {"policy": long, "accuracy": 100.0, "mean_thinking_tokens": 12345.5},
    ]
    for name, scale in (("a", 1.0), ("b", 0.5)):
        folder = tmp_path / name
        folder.mkdir()
        rows = [{**p, "mean_thinking_tokens": p["mean_thinking_tokens"] * scale} for p in policies]
        summary = {"task": "synthetic", "model": "m", "policies": rows, "methods": {}}
        (folder / "summary.json").write_text(json.dumps(summary))
    numbers = ["55.0", "100.0", "12345.5", "6172.8", "27.2", "+0.0"]
    argv = [sys.executable, "-m", "s1_cli.main", "eval", "compare", "a", "b"]
    piped = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0, piped.stderr
    for n in numbers:
        assert n in piped.stdout, piped.stdout
    assert "…" not in piped.stdout and long in piped.stdout  # one line when piped
    at80 = subprocess.run(
        ["script", "-qec", shlex.join(argv), "/dev/null"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, COLUMNS="80", LINES="24", TERM="dumb"),
    )
    assert at80.returncode == 0, at80.stdout
    for n in numbers:
        assert n in at80.stdout, at80.stdout
    assert "…" not in at80.stdout
    assert max(len(x) for x in at80.stdout.splitlines()) <= 80


def _vllm_in_tmux(
    tmp_path, argv: list[str], ready: str | None = None, ready_url: str | None = None
) -> tuple[str, list[str]]:
    """Run `s1 ARGV` on vLLM in a tmux terminal until it exits (after `ready` is on the
    screen and `ready_url` answers, Ctrl-C); returns the exit code and every screen seen."""
    t = Tmux(f"s1vllm-{os.getpid()}-{argv[0]}")
    argv = [sys.executable, "-m", "s1_cli.main", *argv, "--backend", "vllm"]
    env = f"HF_HUB_OFFLINE=1 S1_DATA_DIR={shlex.quote(str(tmp_path))}"
    t.start(f"{env} {shlex.join(argv)}", tmp_path / "exit-code", 120, 40, linger=5)
    screens: list[str] = []
    pending = [ready]

    def look() -> None:
        screens.append(t.screen())
        want = pending[0]
        if want and want in screens[-1] and (ready_url is None or _answers(ready_url)):
            t.keys("C-c")
            pending[0] = None

    try:
        code = t.exit_code(400, each=look)
        screens.append(t.screen())
    finally:
        t.kill()
    return code, screens


def test_vllm_says_it_is_stopping_and_keeps_its_triton_line_off_the_terminal(tmp_path):
    """In a terminal (tmux): no "Triton is installed, but doesn't include CPU backend"
    line on the screen, and while vLLM takes its seconds to stop, a line says so."""
    code, screens = _vllm_in_tmux(tmp_path, ["generate", "What is 1+2?"])
    final = screens[-1]
    assert code == "0", final
    seen = "\n".join(screens)
    assert "Triton" not in seen, seen[-3000:]
    assert any("stopping vLLM" in s for s in screens[:-1]), final
    log = next(Path(tmp_path, "logs").glob("generate-*.log")).read_text()
    assert "Triton is installed" in log  # kept, in the log


def test_s1_serve_on_vllm_says_it_is_stopping_after_ctrl_c(tmp_path):
    """Ctrl-C in `s1 serve --backend vllm`: a line says vLLM is stopping, not a silent hang."""
    port = str(_free_port())
    url = f"http://127.0.0.1:{port}/health"  # the line comes before uvicorn listens
    argv = ["serve", "--port", port]
    code, screens = _vllm_in_tmux(tmp_path, argv, ready="Ctrl-C stops", ready_url=url)
    assert any("Ctrl-C stops" in s for s in screens), screens[-1]
    assert any("stopping vLLM" in s for s in screens), screens[-1]
    assert code in ("0", "130"), screens[-1]


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
