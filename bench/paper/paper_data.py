"""The s1 paper's data ablations (its Table 2, RQ2/RQ5) at the scale of this project's CPU:
one synthetic pool, each selection strategy at the same size, `s1 train` from the embedded
tiny-s1 model, `s1 eval` on the held-out synthetic tasks; the whole pool as the upper row
and the untrained tiny-s1 as the lower one (bench/paper/paper_tables.md).

    python bench/paper/paper_data.py --out runs/paper/data --pool 1200:7 --n 100 --seeds 0,1,2

Every step is a console command (printed as it runs, timed), each into its own folder, so
a rerun resumes: the pool goes through quality, decontamination, traces and diversity
once (the candidates); `s1 curate select --strategy X` picks N of them for random, diverse
and longest; difficulty and s1 pick among the candidates the tiny-s1 model cannot solve
(`s1 curate difficulty` first, once), as the whole pipeline does (`s1 curate --pool ...
--strategy s1` runs the same stages in one command; here the model calls are shared). Seeds
vary the selection and the training of the strategies that draw at random (random,
diverse, s1); the deterministic ones (longest, difficulty, full) run at the first seed.
Each model is evaluated twice: on the synthetic eval task (held-out tasks of the three
kinds tiny-s1 was trained on, where fine-tuning can only keep or lose what it knows) and on
held-out tasks of all seven kinds of the pool (`all_kinds.jsonl`, seed 99, no question of
the pool; four kinds tiny-s1 never learned, which the selected data can teach). Writes
OUT/paper_data.json and prints the markdown table.
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

ROOT = Path(__file__).resolve().parents[2]  # the repository
BASE = ["--backend", "vllm", "--max-model-len", "1024", "--answer-max-tokens", "16"]
BASE += ["--no-progress"]
EVAL = ["--task", "synthetic", *BASE, "--max-thinking", "64,auto"]
TRAIN = ["--model", "s1_engine/assets/tiny-s1", "--recipe", "tiny-s1", "--no-progress"]
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
        marker = self.out / "done" / name.replace("/", "@").replace(":", "@")
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


def selections(d: Path, pool: str, n: int, seeds: list[int], run: Runner) -> dict[str, Path]:
    """Every training set, made under `d`: name (strategy/seed) -> its folder."""
    sets: dict[str, Path] = {}
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
            src = d / "hard" if strategy in ("difficulty", "s1") else cands
            argv = ["curate", "select", "--pool", str(src), "--strategy", strategy]
            run(name, [*argv, *common])
            sets[name] = dest
    return sets


def all_kinds_tasks(out: Path, pool: Path, n: int) -> Path:
    """Held-out tasks of every kind of the pool (the synthetic eval task has only the three
    kinds tiny-s1 was trained on): seed 99, none whose question is in the pool."""
    from s1_data.checkpoint import read_jsonl
    from s1_data.synthetic import make_tasks

    seen = {r["question"] for r in read_jsonl(pool / "stages" / "00_pool.jsonl")}
    tasks = [t for t in make_tasks(2 * n, seed=99) if t.question not in seen][:n]
    path = out / "all_kinds.jsonl"
    path.write_text("".join(json.dumps({"question": t.question, "answer": t.answer}) + "\n"
                            for t in tasks))  # fmt: skip
    return path


def train_and_eval(
    out: Path, sets: dict[str, Path], args: argparse.Namespace, run: Runner
) -> dict[str, Path]:
    """Train on each set; evaluate each model (and tiny-s1) on both task sets."""
    epochs, limit = args.epochs, args.limit
    allk = all_kinds_tasks(out, sets["full"], limit)
    every = ["--task", str(allk), "--question-col", "question", "--answer-col", "answer"]
    every += ["--instruction", ""]  # as the synthetic task asks: no boxed-answer sentence
    tasks = {"": EVAL, "all:": [*every, *BASE, "--max-thinking", "auto"]}
    wanted = {{"synthetic": "", "all": "all:"}[t] for t in args.tasks.split(",")}
    models: dict[str, Path | None] = {"tiny-s1": None}
    for name, data in sets.items():
        seed = name.split("/")[1] if "/" in name else "0"
        model = out / "models" / name
        argv = ["train", str(data), *TRAIN, "--epochs", str(epochs), "--lr", args.lr]
        argv += ["--seed", seed]
        run(f"train:{name}", [*argv, "--output", str(model)])
        models[name] = model
    rows = {}
    for prefix, task in tasks.items():
        for name, model in models.items():
            dest = out / ("eval-all" if prefix else "eval") / name
            rows[prefix + name] = dest  # collected if it was evaluated, now or before
            if prefix not in wanted:
                continue
            argv = ["eval", *task, "--limit", str(limit), "--out", str(dest)]
            run(f"eval:{prefix}{name}", argv + (["--model", str(model)] if model else []))
    return rows


def collect(out: Path, rows: dict[str, Path], run: Runner) -> dict:
    result = {"rows": {}, "times": run.times}
    for name, folder in rows.items():
        if not (folder / "summary.json").exists():
            continue  # not evaluated (yet): --tasks left it out
        s = json.loads((folder / "summary.json").read_text())
        train = out / "models" / name.removeprefix("all:") / "s1_train_report.json"
        t = json.loads(train.read_text()) if train.exists() else {}
        result["rows"][name] = {
            "policies": {
                p["policy"]: {
                    "accuracy": p["accuracy"],
                    "mean_thinking_tokens": p.get("mean_thinking_tokens"),
                }
                for p in s["policies"]
            },
            "questions": s["questions"],
            "train_rows": t.get("used"),
            "train_steps": t.get("global_steps"),
        }
    return result


ORDER = ("tiny-s1", "random", "diverse", "longest", "difficulty", "s1", "full")


def table(result: dict) -> str:
    """One row a training set and budget: accuracy per seed, their median, the paper's;
    first on the synthetic eval task, then on held-out tasks of every kind of the pool."""
    by: dict[str, list[dict]] = {}
    for name, r in result["rows"].items():
        by.setdefault(name.split("/")[0], []).append(r)
    lines = []
    for prefix, title in (("", "synthetic (subtract, quotient, gcd)"), ("all:", "all 7 kinds")):
        lines += [
            "",
            f"| data | rows | eval: {title} | accuracy % (each seed) | median "
            "| thinking tokens | paper, 32B: AIME24 / MATH500 / GPQA |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for strategy in ORDER:
            rs = by.get(prefix + strategy)
            if not rs:
                continue
            paper = PAPER_T2.get(strategy)
            for policy in rs[0]["policies"]:
                acc = [r["policies"][policy]["accuracy"] for r in rs]
                think = statistics.median(
                    r["policies"][policy]["mean_thinking_tokens"] or 0 for r in rs
                )
                lines.append(
                    f"| {strategy} | {rs[0]['train_rows'] or '-'} | {policy} "
                    f"| {', '.join(f'{a:.0f}' for a in acc)} | {statistics.median(acc):.1f} "
                    f"| {think:.0f} | {' / '.join(map(str, paper)) if paper else ''} |"
                )
    times = ["", "| step | seconds | command |", "| --- | --- | --- |"]
    times += [f"| {k} | {v['seconds']} | `{v['command']}` |" for k, v in result["times"].items()]
    return "\n".join(lines + times)


EVAL_KINDS = ("away from", "taken from", "common divisor", "How many times")  # question text


def by_kind(out: Path) -> str:
    """The all-kinds evaluation split into the three kinds tiny-s1 knows and the four list/add
    kinds it never learned (bench/paper/paper_tables.md's last table)."""
    rows = []
    for name in ORDER:
        for summary in sorted((out / "eval-all").glob(f"{name}*/**/summary.json")):
            recs = [json.loads(x) for x in (summary.parent / "samples.jsonl").open()]
            known = [r for r in recs if any(k in r["prompt"] for k in EVAL_KINDS)]
            other = [r for r in recs if r not in known]

            def pct(rs: list[dict]) -> str:
                return (
                    f"{100 * sum(bool(r['correct']) for r in rs) / max(1, len(rs)):.0f} ({len(rs)})"
                )

            think = sum(int(r["thinking_tokens"]) for r in recs) / len(recs)
            label = str(summary.parent.relative_to(out / "eval-all"))
            rows.append(
                f"| {label} | {100 * sum(bool(r['correct']) for r in recs) / len(recs):.0f} "
                f"| {pct(known)} | {pct(other)} | {think:.0f} |"
            )
    head = "| model | accuracy % | on the 3 eval kinds (n) | on the 4 list/add kinds (n) "
    return "\n".join([head + "| thinking tokens |", "| --- | --- | --- | --- | --- |", *rows])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="runs/paper/data")
    ap.add_argument("--pool", default="1200:7", help="synthetic:N[:SEED] pool")
    ap.add_argument("--n", type=int, default=100, help="items each strategy selects")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=float, default=3)
    ap.add_argument("--lr", default="5e-4", help="fine-tuning learning rate")
    ap.add_argument("--sets", default="", help="the training sets' folder (default OUT/sets)")
    ap.add_argument("--limit", type=int, default=100, help="held-out tasks evaluated")
    ap.add_argument("--tasks", default="synthetic,all", help="the evaluations: synthetic, all")
    ap.add_argument("--table", action="store_true", help="print the table of a finished run")
    ap.add_argument("--by-kind", action="store_true", help="the all-kinds evaluation by kind")
    args = ap.parse_args(argv)
    out = Path(args.out)
    path = out / "paper_data.json"
    if args.by_kind:
        print(by_kind(out))
        return 0
    if args.table:
        print(table(json.loads(path.read_text())))
        return 0
    run = Runner(out)
    seeds = [int(s) for s in args.seeds.split(",")]
    sets = selections(Path(args.sets or out / "sets"), args.pool, args.n, seeds, run)
    rows = train_and_eval(out, sets, args, run)
    result = collect(out, rows, run)
    result["args"] = vars(args)
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
