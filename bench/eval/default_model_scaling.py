"""Test-time scaling of the embedded tiny-s1 model on its held-out synthetic tasks.

    python bench/eval/default_model_scaling.py [--model DIR] [--n 200] [--out bench/eval/default_model_scaling]

Runs the engine's budget forcing (transformers backend, greedy) over a grid of
thinking budgets with no forcing, and "Wait" forcing (num_ignore 1 and 2) at the
largest budgets; grades with s1_data.synthetic.verify; writes OUT.json, OUT.png and
prints a markdown table. "pause" is the accuracy on the held-out tasks whose traces can
stop too early (s1_data.synthetic.can_pause): the ones "Wait" can repair.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BUDGETS = [0, 8, 24, 48, 96, 128, 192, "auto"]
WAIT_BUDGETS = [128, 192, "auto"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None, help="default: the embedded tiny-s1")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--out", default="bench/eval/default_model_scaling")
    ap.add_argument("--max-model-len", type=int, default=1024)
    ap.add_argument("--budgets", default=",".join(map(str, BUDGETS)))
    ap.add_argument("--wait-budgets", default=",".join(map(str, WAIT_BUDGETS)))
    ap.add_argument("--parallel", type=int, default=1, help="grid points run at once (processes)")
    args = ap.parse_args(argv)
    budgets = [_budget(b) for b in args.budgets.split(",")]
    wait_budgets = [_budget(b) for b in args.wait_budgets.split(",") if b]

    grid = [(b, 0) for b in budgets] + [(b, k) for b in wait_budgets for k in (1, 2)]
    t0 = time.time()
    jobs = [(args.model, args.n, args.max_model_len, b, k) for b, k in grid]
    if args.parallel > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.parallel, mp_context=mp.get_context("spawn")) as pool:
            rows = list(pool.map(_run_policy, jobs))
    else:
        rows = [_run_policy(j) for j in jobs]
    out = Path(args.out)
    summary = {
        "model": args.model or "embedded tiny-s1",
        "tasks": args.n,
        "rows": rows,
        "seconds": round(time.time() - t0, 1),
    }
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    _plot(rows, out.with_suffix(".png"))
    print(_table(rows))
    return 0


def _run_policy(job: tuple) -> dict:
    """One grid point on its own engine (one CPU thread when run in parallel)."""
    model, n, max_model_len, budget, k = job
    import torch

    from s1_data.synthetic import can_pause, held_out_tasks, verify
    from s1_engine import BudgetPolicy, Engine

    if os.environ.get("S1_BENCH_THREADS"):
        torch.set_num_threads(int(os.environ["S1_BENCH_THREADS"]))
    tasks = held_out_tasks()[:n]
    engine = Engine(model, backend="hf", max_model_len=max_model_len)
    pol = BudgetPolicy(max_thinking_tokens=budget, num_ignore=k, answer_max_tokens=16)
    t = time.time()
    results = engine.generate_many([x.question for x in tasks], pol)
    engine.close()
    ok = [verify(r.answer, x) for r, x in zip(results, tasks)]
    by_kind: dict[str, list[bool]] = {}
    for x, c in zip(tasks, ok):
        by_kind.setdefault(x.kind, []).append(c)
    gen = sum(r.thinking_tokens + r.answer_tokens for r in results)
    row = {
        "budget": budget,
        "num_ignore": k,
        "accuracy": sum(ok) / len(ok),
        "mean_thinking_tokens": sum(r.thinking_tokens for r in results) / len(results),
        "by_kind": {kk: sum(v) / len(v) for kk, v in sorted(by_kind.items())},
        "pause_accuracy": _acc([c for x, c in zip(tasks, ok) if can_pause(x)]),
        "waits": sum(r.count("wait") for r in results) / len(results),
        "wrong": [x.id for x, c in zip(tasks, ok) if not c],
        "seconds": round(time.time() - t, 1),
        "tokens_per_second": round(gen / max(1e-9, time.time() - t), 1),
    }
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def _budget(text: str) -> int | str:
    return "auto" if text.strip() == "auto" else int(text)


def _acc(xs: list[bool]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _table(rows: list[dict]) -> str:
    kinds = sorted(rows[0]["by_kind"])
    head = (
        "| max thinking | num_ignore | accuracy | mean thinking tokens | pause | "
        + " | ".join(kinds)
        + " |"
    )
    lines = [head, "|" + " --- |" * (5 + len(kinds))]
    for r in rows:
        tp = "-" if r["pause_accuracy"] is None else f"{r['pause_accuracy']:.2f}"
        lines.append(
            f"| {r['budget']} | {r['num_ignore']} | {r['accuracy']:.3f} | "
            f"{r['mean_thinking_tokens']:.1f} | {tp} | "
            + " | ".join(f"{r['by_kind'][k]:.2f}" for k in kinds)
            + " |"
        )
    return "\n".join(lines)


def _plot(rows: list[dict], path: Path) -> None:
    """Left: accuracy against the thinking it took (the budget cap only). Right: at each
    maximum budget that has "Wait" runs, no forcing against 1 and 2 forced "Wait"s."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4.2), width_ratios=(3, 2))
    base = [r for r in rows if r["num_ignore"] == 0]
    ax.plot(
        [r["mean_thinking_tokens"] for r in base],
        [r["accuracy"] for r in base],
        "o-",
        label="budget cap, no forcing",
    )
    labels: dict[tuple[float, float], list[str]] = {}
    for r in base:  # one label per point (caps the model never reaches share one)
        xy = (round(r["mean_thinking_tokens"], 1), r["accuracy"])
        labels.setdefault(xy, []).append(str(r["budget"]))
    for (x, y), names in labels.items():
        ax.annotate(
            ", ".join(names), (x, y), fontsize=8, xytext=(4, -11), textcoords="offset points"
        )
    for k, marker in ((1, "s"), (2, "^")):
        pts = [r for r in rows if r["num_ignore"] == k]
        ax.plot(
            [r["mean_thinking_tokens"] for r in pts],
            [r["accuracy"] for r in pts],
            marker,
            label=f'{k} x "Wait" (cap {", ".join(str(r["budget"]) for r in pts)})',
        )
    ax.set_xlabel("mean thinking tokens")
    ax.set_ylabel("accuracy (held-out synthetic tasks)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("accuracy vs thinking")

    caps = list(dict.fromkeys(r["budget"] for r in rows if r["num_ignore"] > 0))
    acc = {(r["budget"], r["num_ignore"]): r["accuracy"] for r in rows}
    width = 0.26
    for i, k in enumerate((0, 1, 2)):
        xs = [j + (i - 1) * width for j, c in enumerate(caps) if (c, k) in acc]
        ys = [acc[(c, k)] for c in caps if (c, k) in acc]
        bars = bx.bar(xs, ys, width, label="no forcing" if k == 0 else f'{k} x "Wait"')
        bx.bar_label(bars, fmt="%.2f", fontsize=7)
    bx.set_xticks(range(len(caps)), [f"cap {c}" for c in caps])
    bx.set_ylim(0, 1.2)
    bx.set_ylabel("accuracy")
    bx.legend(loc="upper center", ncols=3, fontsize=8)
    bx.set_title('same cap, with and without "Wait"')
    fig.suptitle("tiny-s1: test-time scaling with budget forcing")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    raise SystemExit(main())
