"""Where the time of ours over raw vLLM goes: phases of raw, plain and (with --forced) forced in-engine runs at one
batch size, sampled in every process (bench/gpu/sampler), with per-run milestones.

    S1_SAMPLE_DIR=/tmp/prof PYTHONPATH=bench/gpu/sampler:$PYTHONPATH \\
        python bench/engine/profile_in_engine.py --shape 1.5b --requests 256 --out /tmp/prof
    python bench/engine/profile_in_engine.py --report /tmp/prof   # the top frames per phase
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # common; in_engine

from common import reset_prefix_cache  # noqa: E402
from in_engine import build, model_dir, policies, run_raw  # noqa: E402


def phase(name: str) -> None:
    folder = os.environ.get("S1_SAMPLE_DIR")
    if folder:
        Path(folder, "phase").write_text(name)
        time.sleep(0.3)


def run_plain(engine, prompts, policy, fmt: str | None = "think-tags") -> dict:
    reset_prefix_cache(engine)
    t = time.perf_counter()
    sessions = [engine.start(p, policy, format=fmt, live=False) for p in prompts]
    started = time.perf_counter() - t
    done, lens = [], set()
    for s in sessions:
        lens.add(len(s.result().output_ids))
        done.append(time.perf_counter() - t)
    return {
        "started_s": started,
        "first_done_s": min(done),
        "last_done_s": max(done),
        "tokens": sorted(lens),
    }


def report(folder: Path, top: int = 25) -> None:
    for path in sorted(folder.glob("stacks-*.txt")):
        lines = path.read_text().splitlines()
        print("=" * 20, path.name, lines[0][:150])
        by_phase: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        totals: collections.Counter = collections.Counter()
        for line in lines[1:]:
            stack, n = line.rsplit(" ", 1)
            parts = stack.split(";")
            ph, thread, frames = parts[0], parts[1], parts[2:]
            totals[(ph, thread)] += int(n)
            # self frame and every frame of ours / vLLM's (inclusive), per phase+thread
            seen = set()
            for f in frames:
                key = f.rsplit(":", 1)[0]
                if key not in seen:
                    seen.add(key)
                    by_phase[f"{ph} | {thread}"][key] += int(n)
            by_phase[f"{ph} | {thread} | SELF"][frames[-1]] += int(n)
        for (ph, thread), n in sorted(totals.items()):
            if n < 50:
                continue
            print(f"--- {ph} | {thread}: {n} samples")
            for key, c in by_phase[f"{ph} | {thread} | SELF"].most_common(8):
                print(f"   self {c:6d} {key}")
            for key, c in by_phase[f"{ph} | {thread}"].most_common(top):
                print(f"   incl {c:6d} {key}")


def main() -> None:
    a = argparse.ArgumentParser()
    a.add_argument("--shape", default="tiny")
    a.add_argument("--requests", type=int, default=256)
    a.add_argument("--repeats", type=int, default=2)
    a.add_argument("--out", default="/tmp/prof")
    a.add_argument("--report", default=None)
    a.add_argument("--forced", action="store_true", help="also a phase of 3 forced Waits")
    args = a.parse_args()
    if args.report:
        report(Path(args.report))
        return
    ns = argparse.Namespace(
        shape=args.shape, out=args.out, requests=str(args.requests), bare_floor=False
    )
    path = model_dir(ns)
    phase("startup")
    engine = build(ns, path)
    plain, forced = policies()
    prompts = [f"Question {i}" for i in range(args.requests)]
    ids = [engine.prompt_ids(p) for p in prompts]
    first = run_plain(engine, prompts, plain)  # warm-up, and the token count
    (n_tok,) = first["tokens"]
    runs = {"warmup": first}
    for i in range(args.repeats):
        phase(f"raw{i}")
        t = time.perf_counter()
        run_raw(engine, ids, n_tok)
        runs[f"raw{i}"] = {"last_done_s": time.perf_counter() - t}
        phase(f"plain{i}")
        runs[f"plain{i}"] = run_plain(engine, prompts, plain)
        if args.forced:
            phase(f"forced{i}")
            runs[f"forced{i}"] = run_plain(engine, prompts, forced, fmt=None)
        print(json.dumps(runs), flush=True)
    phase("end")
    Path(args.out, "milestones.json").write_text(json.dumps(runs, indent=1))
    engine.close()


if __name__ == "__main__":
    main()
