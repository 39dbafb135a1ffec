"""Every thinking-control method of the console on the embedded tiny-s1 model, at matched
thinking tokens.

    python bench/eval/methods_beyond_s1.py [--limit 12] [--seeds 0,1000,2000] [--parallel 2]

One real `s1 eval --task synthetic` run per seed (`python -m s1_cli.main eval`, transformers
backend, one CPU thread each) with `--method budget,nowait,alphaone,deer,majority,deepconf,
deepconf-online` over the budgets x "Wait" counts; then one `--method budget` run per seed
for each of `--wrap-up` and `--grace` at the budgets that cut (`--control-budgets`). Each
seed run is run a second time to check that it resumes: the rerun must write nothing.

Everything reported is recomputed from the runs' samples.jsonl with s1_eval's own vote
functions (and checked against each run's summary.json): per method and point, accuracy
pooled over seeds x questions x samples with its 95% Wilson interval, the mean thinking
tokens spent (DEER's probe tokens included; k voted samples cost k samples' thinking), and
the events that say whether a method acted at all (suppressions, probes, AlphaOne's Waits,
DeepConf's stops). Writes OUT.json and OUT.png and prints the markdown table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO)]

METHODS = "budget,nowait,alphaone,deer,majority,deepconf,deepconf-online"
WRAP_UP = "Time is up. I will answer now."
SEQUENTIAL = ("budget", "nowait", "alphaone", "deer")
Z = 1.959963984540054  # the normal's 97.5th percentile


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=24, help="held-out questions (the first N)")
    ap.add_argument("--seeds", default="0,1000,2000", help="one s1 eval run each")
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--conf-warmup", type=int, default=2)
    ap.add_argument("--conf-window", type=int, default=16)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--budgets", default="32,64,auto")
    ap.add_argument("--num-ignore", default="0,1")
    ap.add_argument("--control-budgets", default="32,64", help="wrap-up / grace runs ('' : none)")
    ap.add_argument("--wrap-up", default=WRAP_UP)
    ap.add_argument("--grace", type=int, default=10)
    ap.add_argument("--answer-max-tokens", type=int, default=16)
    ap.add_argument("--parallel", type=int, default=2, help="s1 eval processes at once")
    ap.add_argument("--work", default="runs/methods_beyond_s1", help="the s1 eval folders")
    ap.add_argument("--out", default="bench/eval/methods_beyond_s1")
    ap.add_argument("--report-only", action="store_true", help="only read the folders")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    work = Path(args.work)
    runs = plan_runs(args, seeds, work)
    t0 = time.time()
    walls: dict[str, float] = {}
    resume: dict[str, dict] = {}
    if not args.report_only:
        with ThreadPoolExecutor(args.parallel) as pool:
            for name, wall in pool.map(lambda r: (r[0], run_cli(r[1])), runs.items()):
                walls[name] = wall
        before = {n: digest(work / n) for n in runs if n.startswith("main")}
        with ThreadPoolExecutor(args.parallel) as pool:  # the resume check
            again = dict(pool.map(lambda n: (n, run_cli(runs[n])), before))
        resume = {
            n: {"unchanged": digest(work / n) == before[n], "seconds": round(again[n], 1)}
            for n in before
        }
    report = analyse(work, seeds, args)
    from common import versions

    report |= {
        "commands": {n: "s1 " + " ".join(a) for n, a in runs.items()},
        "run_seconds": walls,
        "wall_seconds": round(time.time() - t0, 1),
        "resume": resume,
        "versions": versions("matplotlib"),
        "commit": git_commit(),
    }
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    plot(report, out.with_suffix(".png"))
    print(table(report))
    return 0


# ----- the runs --------------------------------------------------------------------------
def plan_runs(args: argparse.Namespace, seeds: list[int], work: Path) -> dict[str, list[str]]:
    """The s1 eval argument lists, by folder name: main-SEED, wrapup-SEED, grace-SEED."""
    common = [
        "eval",
        "--task",
        "synthetic",
        "--backend",
        "hf",
        "--limit",
        str(args.limit),
        "--samples",
        str(args.samples),
        "--temperature",
        str(args.temperature),
        "--answer-max-tokens",
        str(args.answer_max_tokens),
        "--no-progress",
    ]
    runs: dict[str, list[str]] = {}
    for s in seeds:
        runs[f"main-{s}"] = [
            *common,
            *("--seed", str(s), "--out", str(work / f"main-{s}"), "--method", METHODS),
            *("--max-thinking", args.budgets, "--num-ignore", args.num_ignore),
            *("--conf-warmup", str(args.conf_warmup), "--conf-window", str(args.conf_window)),
        ]
    if args.control_budgets:
        for s in seeds:
            for name, flag in (
                ("wrapup", ["--wrap-up", args.wrap_up]),
                ("grace", ["--grace", str(args.grace)]),
            ):
                runs[f"{name}-{s}"] = [
                    *common,
                    *("--seed", str(s), "--out", str(work / f"{name}-{s}"), "--method", "budget"),
                    *("--max-thinking", args.control_budgets, "--num-ignore", "0", *flag),
                ]
    return runs


def run_cli(argv: list[str]) -> float:
    """One `python -m s1_cli.main ...` on one CPU thread; its wall seconds."""
    env = os.environ | {
        "PYTHONPATH": str(REPO),
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    t = time.time()
    p = subprocess.run([sys.executable, "-m", "s1_cli.main", *argv], env=env, cwd=REPO)
    if p.returncode != 0:
        raise SystemExit(f"s1 {' '.join(argv)} exited {p.returncode}")
    return round(time.time() - t, 1)


def digest(folder: Path) -> str:
    return hashlib.sha256((folder / "samples.jsonl").read_bytes()).hexdigest()


def git_commit() -> str:
    p = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
    )
    return p.stdout.strip()


def records(folder: Path) -> list[dict]:
    with open(folder / "samples.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ----- the numbers -----------------------------------------------------------------------
def wilson(k: int, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval of k successes in n trials."""
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    mid = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return (max(0.0, mid - half), min(1.0, mid + half))


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def events(rec: dict) -> dict[str, int]:
    """What the method did to this trace (counted from its events)."""
    c: dict[str, int] = defaultdict(int)
    for e in rec["events"]:
        c[f"{e['kind']}:{e['cause']}"] += 1
    forced = c["wait:budget"] + c["wait:policy"]
    return {
        "suppress": c["suppress:policy"],
        "probes": c["probe:policy"],
        "policy_ends": c["end_thinking:policy"],
        "policy_waits": c["wait:policy"],
        "budget_waits": c["wait:budget"],
        "stops": c["stop:policy"],
        "budget_cuts": c["end_thinking:budget"],
        "injects": c["inject:policy"],
        # "Wait"s the model wrote itself: those in the text less the forced ones
        "own_waits": max(0, rec["thinking"].count("Wait") - forced),
        "paragraph_breaks": rec["thinking"].count("\n\n"),
    }


def point_row(method: str, label: str, recs: list[dict], seeds: list[int]) -> dict:
    """A sequential point, pooled over seeds x questions x samples."""
    k, n = sum(bool(r["correct"]) for r in recs), len(recs)
    ev: dict[str, float] = defaultdict(float)
    for r in recs:
        for key, v in events(r).items():
            ev[key] += v
    probes = [
        float(e["text"].split()[1])
        for r in recs
        for e in r["events"]
        if e["kind"] == "probe" and e["text"].startswith("confidence")
    ]
    first = recs[0]
    return {
        "method": method,
        "policy": label,
        "budget": first["max_thinking"],
        "num_ignore": first["num_ignore"],
        "n": n,
        "accuracy": k / n,
        "ci95": wilson(k, n),
        "per_seed": [
            _mean([bool(r["correct"]) for r in recs if r["seed"] - r["sample"] == s]) for s in seeds
        ],
        "thinking_tokens": _mean([r["thinking_tokens"] for r in recs]),
        "compute_tokens": _mean(
            [r.get("compute_thinking_tokens", r["thinking_tokens"]) for r in recs]
        ),
        "events_per_trace": {key: v / n for key, v in ev.items()},
        "traces_with": {
            key: sum(events(r)[key] > 0 for r in recs)
            for key in ("suppress", "probes", "own_waits")
        },
        "probe_confidence": {
            "n": len(probes),
            "min": min(probes) if probes else None,
            "mean": _mean(probes) if probes else None,
        },
    }


def vote_row(
    method: str, votes: int, trials: list[tuple[bool, float]], extra: dict | None = None
) -> dict:
    """A parallel point: one vote per (seed, question); its cost every voter's thinking."""
    k, n = sum(c for c, _ in trials), len(trials)
    return {
        "method": method,
        "policy": f"{method}@{votes}",
        "budget": "auto",
        "num_ignore": 0,
        "votes": votes,
        "n": n,
        "accuracy": k / n,
        "ci95": wilson(k, n),
        "thinking_tokens": _mean([t for _, t in trials]),
        "compute_tokens": _mean([t for _, t in trials]),
        **(extra or {}),
    }


def analyse(work: Path, seeds: list[int], args: argparse.Namespace) -> dict:
    """Every point of every method, from the folders' records (checked against summaries)."""
    from s1_eval import deepconf
    from s1_eval.metrics import majority, vote_sizes

    vote = deepconf.ConfVote(eta=90.0, warmup=args.conf_warmup)
    rows: list[dict] = []
    by: dict[tuple[str, str], list[dict]] = defaultdict(list)  # (method, label) -> records
    order: list[tuple[str, str]] = []
    per_seed: dict[int, list[dict]] = {}
    checked = 0
    for s in seeds:
        recs = records(work / f"main-{s}")
        per_seed[s] = recs
        summary = json.loads((work / f"main-{s}" / "summary.json").read_text())
        for st in summary["policies"]:  # our per-seed accuracy is the run's own
            mine = [r for r in recs if r["policy"] == st["policy"]]
            assert abs(100 * _mean([bool(r["correct"]) for r in mine]) - st["accuracy"]) < 1e-9
            checked += 1
        for r in recs:
            key = (r.get("method", "budget"), r["policy"])
            if key not in by:
                order.append(key)
            by[key].append(r)
    for m in SEQUENTIAL:
        pts = [key for key in order if key[0] == m]
        pts.sort(key=lambda key: (by[key][0]["num_ignore"], _rank(by[key][0]["max_thinking"])))
        rows += [point_row(m, label, by[(m, label)], seeds) for _, label in pts]
    for name in ("wrapup", "grace"):
        for s in seeds:
            folder = work / f"{name}-{s}"
            if not folder.exists():
                break
            for r in records(folder):
                key = (name, r["policy"])
                if key not in by:
                    order.append(key)
                by[key].append(r)
        pts = sorted(
            (k for k in order if k[0] == name), key=lambda k: _rank(by[k][0]["max_thinking"])
        )
        rows += [point_row(name, label, by[(name, label)], seeds) for _, label in pts]

    # each control against budget forcing at the same cap and "Wait" count, trace by trace
    # (same seed, question and sample: the traces are one until the control acts)
    plain = {
        (r["budget"], r["num_ignore"]): {_trace(x): x for x in by[("budget", r["policy"])]}
        for r in rows
        if r["method"] == "budget"
    }
    for r in rows:
        if r["method"] != "budget":
            r["vs_budget"] = paired(
                by[(r["method"], r["policy"])],
                plain[(r["budget"], 0 if r["method"] in ("wrapup", "grace") else r["num_ignore"])],
            )

    # the parallel methods, per (seed, question) over the base point's samples
    base = next(
        k
        for k in order
        if k[0] == "budget" and by[k][0]["max_thinking"] == "auto" and by[k][0]["num_ignore"] == 0
    )[1]
    for k in vote_sizes(args.samples):
        maj, conf = [], []
        for s in seeds:
            q: dict[str, list[dict]] = defaultdict(list)
            for r in sorted(per_seed[s], key=lambda r: r["sample"]):
                if r["policy"] == base:
                    q[r["id"]].append(r)
            for v in q.values():
                cost = sum(r["thinking_tokens"] for r in v[:k])
                maj.append((majority(v[:k]), cost))
                conf.append((deepconf.offline_vote(v[:k], vote), cost))
        rows.append(vote_row("majority", k, maj))
        rows.append(vote_row("deepconf", k, conf))
    online, stops, thresholds = [], 0, []
    for s in seeds:
        warm: dict[str, list[dict]] = defaultdict(list)
        later: dict[str, list[dict]] = defaultdict(list)
        for r in sorted(per_seed[s], key=lambda r: r["sample"]):
            if r["policy"] == base and r["sample"] < args.conf_warmup:
                warm[r["id"]].append(r)
            elif r.get("method") == "deepconf-online":
                later[r["id"]].append(r)
                stops += deepconf.stopped(r)
                thresholds.append(r["conf_threshold"])
        for qid, v in later.items():
            cost = sum(r["thinking_tokens"] for r in warm[qid] + v)
            online.append((deepconf.online_vote(warm[qid], v, v[0]["conf_threshold"]), cost))
    later_n = sum(1 for s in seeds for r in per_seed[s] if r.get("method") == "deepconf-online")
    rows.append(
        vote_row(
            "deepconf-online",
            args.samples,
            online,
            {"stopped": stops, "later_traces": later_n, "threshold_mean": _mean(thresholds)},
        )
    )
    base_recs = by[("budget", base)]
    lows = [r["confidence"]["lowest"] for r in base_recs if r.get("confidence")]
    return {
        "model": "embedded tiny-s1 (s1_engine/assets/tiny-s1)",
        "task": "synthetic (held out)",
        "questions": args.limit,
        "seeds": seeds,
        "samples": args.samples,
        "temperature": args.temperature,
        "conf": {"eta": vote.eta, "warmup": vote.warmup, "window": args.conf_window},
        "base_point": base,
        "base_lowest_confidence": {
            "min": min(lows) if lows else None,
            "max": max(lows) if lows else None,
            "mean": _mean(lows),
        },
        "summary_points_checked": checked,
        "rows": rows,
    }


def _trace(r: dict) -> tuple:
    return (r["seed"] - r["sample"], r["id"], r["sample"])


def paired(recs: list[dict], plain: dict[tuple, dict]) -> dict:
    """Matched traces: how many the control got right that budget forcing got wrong (won),
    the reverse (lost), and the change in thinking tokens spent."""
    pairs = [(r, plain[_trace(r)]) for r in recs if _trace(r) in plain]
    spent = sum(r.get("compute_thinking_tokens", r["thinking_tokens"]) for r, _ in pairs)
    base = sum(b["thinking_tokens"] for _, b in pairs)
    return {
        "pairs": len(pairs),
        "won": sum(bool(r["correct"]) and not b["correct"] for r, b in pairs),
        "lost": sum(bool(b["correct"]) and not r["correct"] for r, b in pairs),
        "differ": sum(r["thinking"] != b["thinking"] for r, b in pairs),
        "token_change": (spent - base) / base if base else 0.0,
    }


def _rank(b: object) -> float:
    return float(b) if isinstance(b, int) else math.inf


# ----- the outputs -------------------------------------------------------------------------
def what_it_did(r: dict) -> str:
    """The events column: whether the method acted (counts over all the point's traces)."""
    ev, n = r.get("events_per_trace", {}), r["n"]

    def total(key: str) -> int:
        return round(ev.get(key, 0) * n)

    m = r["method"]
    if m == "nowait":
        return f"{total('suppress')} suppressed ({r['traces_with']['suppress']} traces)"
    if m == "deer":
        pc = r["probe_confidence"]
        conf = f", conf min {pc['min']:.3f}" if pc["n"] else ""
        return f"{total('probes')} probes, {total('policy_ends')} exits{conf}"
    if m == "alphaone":
        return f"{total('policy_waits')} Waits added, {total('policy_ends')} ends by policy"
    if m == "budget":
        return f"{total('budget_waits')} forced Waits, {total('own_waits')} own, {total('budget_cuts')} cuts"
    if m == "wrapup":
        return f"{total('injects')} wrap-ups, {total('budget_cuts')} cuts"
    if m == "grace":
        return f"{total('budget_cuts')} cuts"
    if m == "deepconf-online":
        return f"{r['stopped']}/{r['later_traces']} later traces stopped"
    return ""


def versus(r: dict) -> str:
    """+won / -lost of the matched traces, the tokens' change, and how many traces differ."""
    v = r.get("vs_budget")
    if not v:
        return ""
    return (
        f"+{v['won']} / -{v['lost']}, tokens {100 * v['token_change']:+.0f}% "
        f"({v['differ']}/{v['pairs']} differ)"
    )


def table(report: dict) -> str:
    lines = [
        "| method | point | accuracy [95% Wilson] | n | mean thinking tokens spent "
        "| vs budget forcing, same traces | what it did |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in report["rows"]:
        lo, hi = r["ci95"]
        point = f"k={r['votes']}" if "votes" in r else f"cap {r['budget']}, {r['num_ignore']} Wait"
        lines.append(
            f"| {r['method']} | {point} | {r['accuracy']:.3f} [{lo:.2f}, {hi:.2f}] | {r['n']} | "
            f"{r['compute_tokens']:.1f} | {versus(r)} | {what_it_did(r)} |"
        )
    return "\n".join(lines)


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.2))
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in report["rows"]:
        name = r["method"] if "votes" in r else f"{r['method']}, {r['num_ignore']} Wait"
        if r["method"] in ("wrapup", "grace"):
            name = {"wrapup": "wrap-up sentence", "grace": "grace"}[r["method"]] + ", 0 Wait"
        groups[name].append(r)
    colors = {
        "budget": "C0",
        "nowait": "C1",
        "alphaone": "C2",
        "deer": "C3",
        "majority": "C4",
        "deepconf": "C5",
        "deepconf-online": "C6",
        "wrap-up": "C7",
        "grace": "C8",
    }
    for i, (name, pts) in enumerate(groups.items()):
        pts = sorted(pts, key=lambda r: r["compute_tokens"])
        xs = [r["compute_tokens"] for r in pts]
        ys = [r["accuracy"] for r in pts]
        err = [
            [max(0.0, y - r["ci95"][0]) for y, r in zip(ys, pts)],
            [max(0.0, r["ci95"][1] - y) for y, r in zip(ys, pts)],
        ]
        key = name.split(",")[0].split(" ")[0]
        style = "--" if name.endswith("1 Wait") else "-"
        ax.errorbar(
            [x * (1 + 0.012 * (i % 5 - 2)) for x in xs],
            ys,
            yerr=err,
            fmt="o" + style,
            color=colors.get(key, None),
            label=name,
            capsize=2,
            alpha=0.85,
            ms=4,
            lw=1.2,
        )
    ax.set_xscale("log")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks([30, 40, 60, 80, 120, 160, 240, 320])
    ax.set_xlabel("mean thinking tokens spent per question (k votes: k samples; DEER: + probes)")
    ax.set_ylabel("accuracy (held-out synthetic tasks)")
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="lower right", ncols=2)
    ax.set_title(
        f"tiny-s1: thinking controls, {report['questions']} questions x {len(report['seeds'])} seeds"
        f" x {report['samples']} samples, T={report['temperature']:g} (95% Wilson)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    raise SystemExit(main())
