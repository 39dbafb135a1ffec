"""`s1 eval`: headless batch evaluation of test-time scaling.

    s1 eval --list-tasks
    s1 eval --task aime24 --out runs/aime24 --max-thinking 512,1024,2048,auto --num-ignore 0,1,2
    s1 eval --task data.jsonl --out runs/mine --samples 8 --temperature 1
    s1 eval compare runs/a runs/b

Heavy imports (the engine, datasets, matplotlib) happen inside the command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from .cli_options import EngineOptions, PolicyOptions, engine_options, policy_options
from .errors import S1Error

eval_app = typer.Typer(
    help="Evaluate test-time scaling on a task: a grid of budgets and 'Wait' counts, graded, resumable, plotted.",
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
)

PANEL_TASK = "Task and output"


@eval_app.callback(invoke_without_command=True)
@engine_options
@policy_options
def eval_(
    ctx: typer.Context,
    task: Annotated[
        str | None,
        typer.Option(
            "--task",
            help="A task name (see --list-tasks) or a .jsonl/.json/.parquet/.csv file.",
            rich_help_panel=PANEL_TASK,
        ),
    ] = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            "-o",
            help="Results folder (samples.jsonl, summary.json, scaling.png); a rerun resumes it.",
            rich_help_panel=PANEL_TASK,
        ),
    ] = None,
    list_tasks_: Annotated[
        bool,
        typer.Option(
            "--list-tasks", help="Print the task names, one a line.", rich_help_panel=PANEL_TASK
        ),
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option("--limit", help="Only the first N questions.", rich_help_panel=PANEL_TASK),
    ] = None,
    samples: Annotated[
        int,
        typer.Option(
            "--samples",
            "-n",
            help="Samples per question and policy (majority voting over them; use --temperature > 0).",
            rich_help_panel=PANEL_TASK,
        ),
    ] = 1,
    question_col: Annotated[
        str | None,
        typer.Option(
            "--question-col", help="Question column of a file task.", rich_help_panel=PANEL_TASK
        ),
    ] = None,
    answer_col: Annotated[
        str | None,
        typer.Option(
            "--answer-col", help="Answer column of a file task.", rich_help_panel=PANEL_TASK
        ),
    ] = None,
    choices_col: Annotated[
        str | None,
        typer.Option(
            "--choices-col",
            help="Choices column (multiple choice: a list, or text split by '|').",
            rich_help_panel=PANEL_TASK,
        ),
    ] = None,
    instruction: Annotated[
        str | None,
        typer.Option(
            "--instruction",
            help="Text after each question (default: the task's; boxed answer for math, "
            "a letter for multiple choice). '' for the bare question.",
            rich_help_panel=PANEL_TASK,
        ),
    ] = None,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="Show the live progress bar (default: when stderr is a terminal).",
            rich_help_panel=PANEL_TASK,
        ),
    ] = None,
    engine_opts: EngineOptions = None,  # type: ignore[assignment]
    policy_opts: PolicyOptions = None,  # type: ignore[assignment]
) -> None:
    """Evaluate test-time scaling: every (question, policy, sample) one concurrent request."""
    if ctx.invoked_subcommand is not None:
        return
    from .tasks import list_tasks, load_task, task_instruction

    if list_tasks_:
        for name in list_tasks():
            print(name)
        return
    if not task:
        raise S1Error("no task given", "pass --task NAME or a file (see s1 eval --list-tasks)")
    if not out:
        raise S1Error("no output folder given", "pass --out DIR")
    if limit is not None and limit < 1:
        raise S1Error(f"--limit must be >= 1, got {limit}", "e.g. --limit 10")
    if samples < 1:
        raise S1Error(f"--samples must be >= 1, got {samples}", "e.g. --samples 4")
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        raise S1Error(f"--out {out!r} is a file", "give a folder")
    policies = policy_opts.grid()  # parse the lists before any slow work
    items = load_task(task, question_col, answer_col, choices_col, limit, seed=policy_opts.seed)

    from .evaluate import EvalSpec, run_eval

    spec = EvalSpec(
        task=task,
        items=items,
        policies=policies,
        samples=samples,
        format=None if engine_opts.format == "auto" else engine_opts.format,
        instruction=instruction if instruction is not None else task_instruction(task),
    )
    engine = engine_opts.start("eval", seed=policy_opts.seed, workload="batch")
    try:
        summary = run_eval(engine, spec, out_dir, progress=progress)
    finally:
        engine.close()
    print_summary(summary, out_dir)
    if summary.get("failed"):
        raise S1Error(
            f"{summary['failed']} of {summary['requests']} requests failed in the engine",
            f"run the same command again to retry them (results so far are in {out_dir})",
        )


@eval_app.command("compare")
def compare(
    a: Annotated[str, typer.Argument(help="A results folder of s1 eval.")],
    b: Annotated[str, typer.Argument(help="Another results folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON record.")] = False,
) -> None:
    """Two result folders side by side: accuracy and thinking tokens per policy, and the metrics."""
    sa, sb = load_summary(a), load_summary(b)
    pa = {p["policy"]: p for p in sa["policies"]}
    pb = {p["policy"]: p for p in sb["policies"]}
    labels = list(pa) + [p for p in pb if p not in pa]
    rows = []
    for label in labels:
        x, y = pa.get(label), pb.get(label)
        rows.append(
            {
                "policy": label,
                "a_accuracy": x and x["accuracy"],
                "b_accuracy": y and y["accuracy"],
                "delta": (y["accuracy"] - x["accuracy"]) if x and y else None,
                "a_thinking_tokens": x and x["mean_thinking_tokens"],
                "b_thinking_tokens": y and y["mean_thinking_tokens"],
            }
        )
    methods = {}
    for name in list(sa.get("methods", {})) + [
        m for m in sb.get("methods", {}) if m not in sa.get("methods", {})
    ]:
        ma, mb = sa.get("methods", {}).get(name), sb.get("methods", {}).get(name)
        methods[name] = {
            k: [ma and ma.get(k), mb and mb.get(k)] for k in ("control", "scaling", "performance")
        }
    if as_json:
        print(json.dumps({"a": a, "b": b, "policies": rows, "methods": methods}))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(
        title=f"A = {a} ({sa.get('task')}, {sa.get('model')})\nB = {b} ({sb.get('task')}, {sb.get('model')})"
    )
    t.add_column("policy", no_wrap=True)
    for col in ("A acc %", "B acc %", "Δ", "A think", "B think"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(
            r["policy"],
            _f(r["a_accuracy"]),
            _f(r["b_accuracy"]),
            _f(r["delta"], signed=True),
            _f(r["a_thinking_tokens"]),
            _f(r["b_thinking_tokens"]),
        )
    m = Table(title="Control / Scaling / Performance (A | B)")
    m.add_column("method", no_wrap=True)
    for col in ("Control %", "Scaling /1k tok", "Perf. %"):
        m.add_column(col, justify="right")
    for name, vals in methods.items():
        m.add_row(
            name,
            *(
                f"{_f(vals[k][0])} | {_f(vals[k][1])}"
                for k in ("control", "scaling", "performance")
            ),
        )
    console = Console(highlight=False)
    console.print(t)
    console.print(m)


def load_summary(folder: str) -> dict[str, Any]:
    """A folder's summary.json, or one recomputed from its samples.jsonl."""
    from .evaluate import SAMPLES, SUMMARY, read_samples
    from .metrics import summarize

    d = Path(folder)
    if not d.is_dir():
        raise S1Error(f"no results folder at {folder!r}", "give a folder written by s1 eval --out")
    path = d / SUMMARY
    if path.exists():
        try:
            data = json.loads(path.read_text())
            if isinstance(data, dict) and "policies" in data:
                return data
        except (OSError, json.JSONDecodeError):
            pass
    records = list(read_samples(d / SAMPLES).values())
    if not records:
        raise S1Error(f"{folder!r} holds no results", "give a folder written by s1 eval --out")
    return {"task": records[0].get("task"), "model": "", **summarize(records)}


def print_summary(summary: dict[str, Any], out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    n = summary.get("samples", 1)
    t = Table(title=f"{summary['task']}: {summary['questions']} questions x {n} samples")
    t.add_column("policy", no_wrap=True)
    for col in ("runs", "acc %", f"maj@{n} %", "think", "answer", "Waits", "ctrl %"):
        t.add_column(col, justify="right")
    for p in summary["policies"]:
        t.add_row(
            p["policy"],
            str(p["runs"]),
            _f(p["accuracy"]),
            _f(p["majority_accuracy"]),
            _f(p["mean_thinking_tokens"]),
            _f(p["mean_answer_tokens"]),
            _f(p["mean_waits"]),
            _f(p["control"]),
        )
    m = Table(title="the s1 paper's metrics")
    m.add_column("method", no_wrap=True)
    for col in ("points", "Control %", "Scaling /1k tok", "Scaling /2x", "Perf. %"):
        m.add_column(col, justify="right")
    for name, v in summary.get("methods", {}).items():
        m.add_row(
            name,
            str(len(v["points"])),
            _f(v["control"]),
            _f(v["scaling"]),
            _f(v["scaling_log2"]),
            _f(v["performance"]),
        )
    console = Console(highlight=False)
    console.print(t)
    console.print(m)
    console.print(f"results in {out}: samples.jsonl, summary.json, scaling.png", soft_wrap=True)


def _f(x: Any, signed: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:+.1f}" if signed else f"{x:.1f}"


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
