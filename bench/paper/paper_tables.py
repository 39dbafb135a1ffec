"""The s1 paper's comparison of test-time methods (its Table 3, Table 4 and RQ3), at the
scale of this project's CPU: the embedded tiny-s1 model and a variant of it trained for the
conditional prompts, on the held-out synthetic tasks (bench/paper/paper_tables.md).

    python bench/paper/paper_tables.py variant --out runs/paper          # data + s1 train (~35 min)
    python bench/paper/paper_tables.py methods --out runs/paper --n 100  # every run below, timed

`methods` runs `s1 eval` once per row group of RUNS (each its own results folder, so each
resumes), prints every command, and writes OUT/paper_tables.json (the summaries' method
curves, the per-point numbers, wall times) and the markdown table of bench/paper/paper_tables.md.
`table` prints the markdown again from that file.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
PROMPTS = "bench/paper/paper_prompts_before.toml"  # the reference's sentences, before the question
VARIANT = "runs/paper/tiny-cond"  # `variant` trains it here
BUDGETS = "32,64,128,256"
COMMON = ["--task", "synthetic", "--backend", "vllm", "--max-model-len", "1024"]
COMMON += ["--answer-max-tokens", "16", "--no-progress"]
CONDITIONAL = "token-conditional,token-conditional+bf,step-conditional,step-conditional+bf"
CONDITIONAL += ",class-conditional,class-conditional+bf"
# name: (model, the rest of the s1 eval command, what it shows)
RUNS: dict[str, tuple[str | None, list[str], str]] = {
    "bf": (None, ["--max-thinking", BUDGETS, "--num-ignore", "0,1,2"], "budget forcing, greedy"),
    "extrapolation": (
        None,
        [
            "--max-thinking",
            "auto",
            "--num-ignore",
            "0,2",
            "--ignore-str",
            "none,Alternatively,Hmm,Wait",
        ],
        "Table 4: 2x an ignore string, greedy",
    ),  # fmt: skip
    "votes": (
        None,
        ["--method", "majority,shortest-majority", "--max-thinking", "256", "--samples", "8"]
        + ["--temperature", "1"],
        "RQ3: parallel, 8 samples at temperature 1",
    ),
    "rejection": (
        None,
        ["--method", "rejection", "--max-thinking", "32,64,128", "--max-draws", "8"]
        + ["--temperature", "1"],
        "rejection sampling, temperature 1",
    ),
    "untrained": (
        None,
        [
            "--config",
            PROMPTS,
            "--method",
            "token-conditional,token-conditional+bf,class-conditional",
        ]
        + ["--max-thinking", BUDGETS],
        "conditional prompts on tiny-s1, never trained on them",
    ),  # fmt: skip
    "conditional": (
        VARIANT,
        ["--config", PROMPTS, "--method", "budget," + CONDITIONAL, "--max-thinking", BUDGETS]
        + ["--steps", "2,4,8,16"],
        "the conditional methods on tiny-s1-cond (trained for them)",
    ),
}
# s1-32B on AIME24, the paper's Table 3 (Control %, Scaling, Performance %) and Table 4
# (AIME24 / MATH500 / GPQA Diamond accuracy %), transcribed from arXiv 2501.19393v3
PAPER_T3 = {
    "budget_forcing": (100, 15, 56.7),
    "token-conditional": (40, -24, 40.0),
    "token-conditional+bf": (100, 13, 40.0),
    "step-conditional": (60, 3, 36.7),
    "step-conditional+bf": (100, 6, 36.7),
    "class-conditional": (50, 25, 36.7),
    "rejection": (100, -35, 40.0),
}
PAPER_T4 = {
    "no extrapolation": (50.0, 93.0, 57.6),
    "none": (50.0, 90.2, 55.1),
    "Alternatively": (50.0, 92.2, 59.6),
    "Hmm": (50.0, 93.0, 59.6),
    "Wait": (53.3, 93.0, 59.6),
}


def eval_command(name: str, out: Path, n: int) -> list[str]:
    model, args, _ = RUNS[name]
    cmd = ["s1", "eval", *COMMON, "--limit", str(n), "--out", str(out / name), *args]
    return cmd + (["--model", model] if model else [])


def run_methods(out: Path, n: int, only: list[str]) -> dict:
    path = out / "paper_tables.json"
    done = json.loads(path.read_text()) if path.exists() else {"runs": {}}
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    for name in only or list(RUNS):
        cmd = eval_command(name, out, n)
        print("$ " + shlex.join(cmd), file=sys.stderr, flush=True)
        t = time.time()
        argv = [sys.executable, "-m", "s1_cli.main", *cmd[1:]]
        subprocess.run(argv, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        summary = json.loads((out / name / "summary.json").read_text())
        done["runs"][name] = {
            "command": shlex.join(cmd),
            "seconds": round(time.time() - t, 1),
            "model": summary["model"],
            "questions": summary["questions"],
            "methods": summary["methods"],
            "policies": [
                {k: p.get(k) for k in ("policy", "accuracy", "mean_thinking_tokens", "control")}
                | {"spent": p.get("mean_compute_tokens"), "draws": p.get("mean_draws")}
                for p in summary["policies"]
            ],
        }
        path.write_text(json.dumps(done, indent=1) + "\n")
    return done


def _f(x: float | None, fmt: str = "{:.1f}") -> str:
    return "-" if x is None else fmt.format(x)


def table(done: dict) -> str:
    """Table 3 at tiny scale: one row a method curve, the paper's s1-32B numbers beside it."""
    rows = [
        "| run | model | method | points | Control % | Scaling /2x | Scaling /1k tok "
        "| Perf. % | paper (s1-32B, AIME24): Control / Scaling / Perf. |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, run in done["runs"].items():
        model = "tiny-s1-cond" if run["model"].endswith("tiny-cond") else "tiny-s1"
        for method, c in run["methods"].items():
            paper = PAPER_T3.get(method) if name in ("bf", "rejection", "conditional") else None
            rows.append(
                f"| {name} | {model} | {method} | {len(c['points'])} | {_f(c['control'])} "
                f"| {_f(c['scaling_log2'])} | {_f(c['scaling'])} | {_f(c['performance'])} "
                f"| {' / '.join(map(str, paper)) if paper else ''} |"
            )
    points = ["", "| run | point | accuracy % | thinking | spent | Control % |"]
    points.append("| --- | --- | --- | --- | --- | --- |")
    for name, run in done["runs"].items():
        for p in run["policies"]:
            points.append(
                f"| {name} | {p['policy']} | {_f(p['accuracy'])} "
                f"| {_f(p['mean_thinking_tokens'])} | {_f(p['spent'])} | {_f(p['control'])} |"
            )
    times = ["", "| run | seconds | command |", "| --- | --- | --- |"]
    times += [f"| {k} | {r['seconds']} | `{r['command']}` |" for k, r in done["runs"].items()]
    return "\n".join(rows + points + times)


def train_variant(out: Path, n: int) -> None:
    """The tiny-s1-cond variant: bench/paper/paper_variants.py's rows, then s1 train from tiny-s1."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    data = out / "cond-data.jsonl"
    steps = [
        [sys.executable, "bench/paper/paper_variants.py", "--out", str(data), "--n", str(n)],
        [sys.executable, "-m", "s1_cli.main", "train", str(data), "--model",
         "s1_engine/assets/tiny-s1", "--recipe", "tiny-s1", "--output", VARIANT,
         "--lr", "5e-4", "--epochs", "2", "--no-progress"],
    ]  # fmt: skip
    for cmd in steps:
        print("$ " + shlex.join(cmd), file=sys.stderr, flush=True)
        t = time.time()
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)
        print(f"  {time.time() - t:.0f} s", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("methods", "table", "variant"))
    ap.add_argument("--out", default="runs/paper")
    ap.add_argument("--n", type=int, default=100, help="held-out tasks (methods)")
    ap.add_argument("--rows", type=int, default=1000, help="training rows a family (variant)")
    ap.add_argument("--only", default="", help=f"comma-separated runs of: {', '.join(RUNS)}")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.what == "variant":
        train_variant(out, args.rows)
        return 0
    if args.what == "methods":
        done = run_methods(out, args.n, [x for x in args.only.split(",") if x])
    else:
        done = json.loads((out / "paper_tables.json").read_text())
    print(table(done))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
