"""How long the README's `s1 generate` example takes to answer, per backend, and where
vLLM's start-up time goes on this machine.

Each repeat runs the command as a user types it (a fresh process, the embedded model),
once per backend in alternating order, and times from the launch to the first thinking
character (stderr) and the first answer character (stdout). The vLLM runs' log files
(`$S1_DATA_DIR/logs`) give the phases of its start: this process's set-up, the engine
core process, the worker process, the model load, the KV cache and warm-up.

    python bench/engine/startup.py --repeats 8 --out bench/engine/startup.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

QUESTION = "How many times can 3 be taken from 22?"


def run_once(backend: str, data_dir: Path) -> dict:
    argv = [sys.executable, "-m", "s1_cli.main", "generate", QUESTION, "--num-ignore", "1"]
    if backend != "default":
        argv += ["--backend", backend]
    env = dict(os.environ, S1_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1")
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ, "out")
    sel.register(p.stderr, selectors.EVENT_READ, "err")
    first: dict[str, float] = {}
    text = {"out": b"", "err": b""}
    open_streams = 2
    while open_streams:
        for key, _ in sel.select():
            chunk = os.read(key.fileobj.fileno(), 4096)
            if not chunk:
                sel.unregister(key.fileobj)
                open_streams -= 1
                continue
            text[key.data] += chunk
            now = time.perf_counter() - t0
            if key.data == "out" and chunk.strip() and "answer" not in first:
                first["answer"] = now
            if key.data == "err" and b"count 1" in text["err"] and "thinking" not in first:
                first["thinking"] = now
    code = p.wait()
    total = time.perf_counter() - t0
    out = text["out"].decode(errors="replace")
    return {
        "backend": backend,
        "rc": code,
        "first_thinking_s": first.get("thinking"),
        "first_answer_s": first.get("answer"),
        "total_s": total,
        "answer": out.strip(),
    }


PHASES = [
    ("config", r"Resolved architecture"),
    ("engine core up", r"Initializing a V1 LLM engine"),
    ("worker up", r"Starting to load model"),
    ("weights loaded", r"Loading weights took"),
    ("engine ready", r"(init engine|KV cache|Reducing Torch threads|maximum concurrency)"),
]


def vllm_phases(log: Path, launched: float) -> dict:
    """Seconds from launch to each phase, read off the log's timestamps (1 s resolution)."""
    year = datetime.now().year
    out: dict[str, float] = {}
    for line in log.read_text(errors="replace").splitlines():
        m = re.match(r"\w+ (\d\d-\d\d \d\d:\d\d:\d\d) ", line)
        if not m:
            continue
        t = datetime.strptime(f"{year}-{m.group(1)}", "%Y-%m-%d %H:%M:%S").timestamp()
        for name, pattern in PHASES:
            if name not in out and re.search(pattern, line):
                out[name] = round(t - launched, 1)
    return out


def summary(values: list[float]) -> dict:
    values = sorted(v for v in values if v is not None)
    if not values:
        return {}
    return {
        "median": round(statistics.median(values), 2),
        "min": round(values[0], 2),
        "max": round(values[-1], 2),
        "n": len(values),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--backends", default="default,vllm")
    ap.add_argument("--out", default="bench/engine/startup.json")
    args = ap.parse_args()
    backends = args.backends.split(",")
    runs = []
    for i in range(args.repeats):
        order = backends if i % 2 == 0 else backends[::-1]
        for backend in order:
            with tempfile.TemporaryDirectory() as d:
                launched = time.time()
                r = run_once(backend, Path(d))
                logs = sorted(Path(d, "logs").glob("generate-*.log"))
                if backend == "vllm" and logs:
                    r["phases"] = vllm_phases(logs[-1], launched)
            r["repeat"] = i
            runs.append(r)
            print(json.dumps(r), flush=True)
    load = os.getloadavg()
    result = {
        "command": f"python bench/engine/startup.py --repeats {args.repeats} --backends {args.backends}",
        "question": QUESTION,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average_at_end": [round(x, 2) for x in load],
        "python": platform.python_version(),
        "runs": runs,
        "summary": {
            b: {
                k: summary([r[k] for r in runs if r["backend"] == b])
                for k in ("first_thinking_s", "first_answer_s", "total_s")
            }
            for b in backends
        },
    }
    phases = [r["phases"] for r in runs if r.get("phases")]
    if phases:
        result["summary"]["vllm_phases"] = {
            name: summary([p.get(name) for p in phases]) for name, _ in PHASES
        }
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result["summary"], indent=2))


if __name__ == "__main__":
    main()
