"""The s1 paper's data ablations (its Table 2, RQ2/RQ5) at the scale of this project's CPU:
one synthetic pool, each selection strategy at the same size, `s1 train` from the embedded
tiny-s1 model, `s1 eval` on the held-out synthetic tasks; the whole pool as the upper row
and the untrained tiny-s1 as the lower one (bench/paper_tables.md).

    python bench/paper_data.py --out runs/paper/data --pool 800 --n 100 --seeds 0,1,2

Every step is a console command (printed as it runs, timed), each into its own folder, so
a rerun resumes: the pool goes through quality, decontamination, traces and diversity
once (the candidates); `s1 curate select --strategy X` picks N of them for random, diverse
and longest; difficulty picks among the candidates the tiny-s1 model cannot solve (`s1
curate difficulty` first); s1 is the whole pipeline (`s1 curate --strategy s1`). Seeds
vary the selection and the training of the strategies that draw at random (random,
diverse, s1); the deterministic ones (longest, difficulty, full) run at the first seed.
Writes OUT/paper_data.json and prints the markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVAL = ["--task", "synthetic", "--backend", "vllm", "--max-model-len", "1024"]
EVAL += ["--answer-max-tokens", "16", "--max-thinking", "64,auto", "--no-progress"]
TRAIN = ["--model", "s1_engine/assets/tiny-s1", "--recipe", "tiny-s1", "--lr", "5e-4"]
TRAIN += ["--no-progress"]
DRAWN = ("random", "diverse", "s1")  # strategies whose picks depend on the seed
# the paper's Table 2 (Qwen2.5-32B-Instruct fine-tuned; AIME24 / MATH500 / GPQA Diamond
# accuracy %), transcribed from arXiv 2501.19393v3
PAPER_T2 = {
    "random": (36.7, 90.6, 52.0),
    "diverse": (26.7, 91.2, 54.6),
    "longest": (33.3, 90.4, 59.6),
    "full": (53.3, 92.8, 58.1),
    "s1": (50.0, 93.0, 57.6),
}


class Runner:
    """Runs console commands from the repository root, each once (a done marker per
    step), and keeps their wall times."""

    def __init__(self, out: Path) -> None:
        self.out, self.times = out, {}
        self.env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))

    def __call__(self, name: str, argv: list[str]) -> None:
        marker = self.out / "done" / name
        if marker.exists():
            self.times[name] = json.loads(marker.read_text())
            return
        print("$ s1 " + shlex.join(argv), file=sys.stderr, flush=True)
        t = time.time()
        cmd = [sys.executable, "-m", "s1_cli.main", *argv]
        subprocess.run(cmd, cwd=ROOT, env=self.env, check=True, stdout=subprocess.DEVNULL)
        rec = {"command": "s1 " + shlex.join(argv), "seconds": round(time.time() - t, 1)}
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(rec))
        self.times[name] = rec


def selections(out: Path, pool: str, n: int, seeds: list[int], run: Runner) -> dict[str, Path]:
    """Every training set: name (strategy/seed) -> its folder."""
    d, sets = out / "sets", {}
    stages = [("quality", f"synthetic:{pool}"), ("decontaminate", None), ("traces", None)]
    stages.append(("diversity", None))
    prev: str | None = None
    for stage, src in stages:
        run(stage, ["curate", stage, "--pool", src or str(d / prev), "--out", str(d / stage)])
        prev = stage
    cands = d / "diversity"
    run("difficulty", ["curate", "difficulty", "--pool", str(cands), "--out", str(d / "hard")])
    sets["full"] = cands
    for seed in seeds:
        for strategy in ("random", "diverse", "longest", "difficulty", "s1"):
            if strategy not in DRAWN and seed != seeds[0]:
                continue
            name = f"{strategy}/{seed}"
            dest = d / strategy / str(seed)
            common = ["--n", str(n), "--seed", str(seed), "--out", str(dest)]
            if strategy == "s1":  # the whole pipeline, as a user runs it
                run(name, ["curate", "--pool", f"synthetic:{pool}", "--strategy", "s1", *common])
            else:
                src = d / "hard" if strategy == "difficulty" else cands
                argv = ["curate", "select", "--pool", str(src), "--strategy", strategy]
                run(name, [*argv, *common])
            sets[name] = dest
    return sets


def train_and_eval(out: Path, sets: dict[str, Path], epochs: float, limit: int, run: Runner):
    rows = {}
    base = out / "eval" / "tiny-s1"
    run("eval:tiny-s1", ["eval", *EVAL, "--limit", str(limit), "--out", str(base)])
    rows["tiny-s1"] = base
    for name, data in sets.items():
        seed = name.split("/")[1] if "/" in name else "0"
        model = out / "models" / name
        argv = ["train", str(data), *TRAIN, "--epochs", str(epochs), "--seed", seed]
        run(f"train:{name}", [*argv, "--output", str(model)])
        dest = out / "eval" / name
        run(f"eval:{name}", ["eval", *EVAL, "--limit", str(limit), "--model", str(model)] + [
            "--out", str(dest)])  # fmt: skip
        rows[name] = dest
    return rows


def collect(out: Path, rows: dict[str, Path], run: Runner) -> dict:
    result = {"rows": {}, "times": run.times}
    for name, folder in rows.items():
        s = json.loads((folder / "summary.json").read_text())
        p = s["policies"][0]
        train = out / "models" / name / "s1_train_report.json"
        t = json.loads(train.read_text()) if train.exists() else {}
        result["rows"][name] = {
            "accuracy": p["accuracy"],
            "mean_thinking_tokens": p.get("mean_thinking_tokens"),
            "questions": s["questions"],
            "train_rows": t.get("used"),
            "train_steps": t.get("global_steps"),
        }
    return result


def table(result: dict) -> str:
    by: dict[str, list[dict]] = {}
    for name, r in result["rows"].items():
        by.setdefault(name.split("/")[0], []).append(r)
    lines = [
        "| data | seeds | rows | accuracy % (each seed) | median | thinking tokens "
        "| paper, 32B: AIME24 / MATH500 / GPQA |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for strategy in ("tiny-s1", "random", "diverse", "longest", "difficulty", "s1", "full"):
        rs = by.get(strategy)
        if not rs:
            continue
        acc = [r["accuracy"] for r in rs]
        think = statistics.median(r["mean_thinking_tokens"] or 0 for r in rs)
        paper = PAPER_T2.get(strategy)
        lines.append(
            f"| {strategy} | {len(rs)} | {rs[0]['train_rows'] or '-'} "
            f"| {', '.join(f'{a:.0f}' for a in acc)} | {statistics.median(acc):.1f} "
            f"| {think:.0f} | {' / '.join(map(str, paper)) if paper else ''} |"
        )
    times = ["", "| step | seconds | command |", "| --- | --- | --- |"]
    times += [f"| {k} | {v['seconds']} | `{v['command']}` |" for k, v in result["times"].items()]
    return "\n".join(lines + times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="runs/paper/data")
    ap.add_argument("--pool", default="1200:7", help="synthetic:N[:SEED] pool")
    ap.add_argument("--n", type=int, default=60, help="items each strategy selects")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=float, default=2)
    ap.add_argument("--limit", type=int, default=100, help="held-out tasks evaluated")
    ap.add_argument("--table", action="store_true", help="print the table of a finished run")
    args = ap.parse_args(argv)
    out = Path(args.out)
    path = out / "paper_data.json"
    if args.table:
        print(table(json.loads(path.read_text())))
        return 0
    run = Runner(out)
    sets = selections(out, args.pool, args.n, [int(s) for s in args.seeds.split(",")], run)
    rows = train_and_eval(out, sets, args.epochs, args.limit, run)
    result = collect(out, rows, run)
    result["args"] = vars(args)
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
