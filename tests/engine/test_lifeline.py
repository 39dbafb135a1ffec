"""s1_engine.lifeline with real processes: a child started by multiprocessing (spawned, or
forked while the engine starts) dies within seconds of its parent's SIGKILL; a child forked
outside that window is left alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import multiprocessing as mp, sys, time
    from s1_engine.lifeline import arming, hold_if_spawned

    hold_if_spawned()  # as s1_cli.main does: spawned children import the main module first


    def child():
        time.sleep(600)


    if __name__ == "__main__":
        method, armed = sys.argv[1], sys.argv[2] == "armed"
        ctx = mp.get_context(method)
        if armed:
            with arming():
                p = ctx.Process(target=child, daemon=False)
                p.start()
        else:
            p = ctx.Process(target=child, daemon=False)
            p.start()
        print(p.pid, flush=True)
        time.sleep(600)
    """
)


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start(tmp_path: Path, method: str, armed: bool) -> tuple[subprocess.Popen, int]:
    script = tmp_path / "parent.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    p = subprocess.Popen(
        [sys.executable, str(script), method, "armed" if armed else "plain"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    child = int(p.stdout.readline())
    return p, child


@pytest.mark.parametrize("method, armed", [("spawn", False), ("fork", True)])
def test_a_child_dies_with_its_killed_parent(tmp_path, method, armed):
    parent, child = start(tmp_path, method, armed)
    time.sleep(1.0)  # the child's watch is running
    assert running(child)
    parent.kill()
    parent.wait(10)
    deadline = time.monotonic() + 10
    while running(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = running(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive, f"the {method} child outlived its parent"


def test_a_child_forked_outside_the_engine_start_is_left_alone(tmp_path):
    parent, child = start(tmp_path, "fork", armed=False)
    time.sleep(1.0)
    parent.kill()
    parent.wait(10)
    time.sleep(2.0)  # four polls
    try:
        assert running(child)
    finally:
        os.kill(child, signal.SIGKILL)
