"""`s1 eval`: headless batch evaluation of test-time scaling.

    s1 eval --list-tasks
    s1 eval --task aime24 --out runs/aime24 --max-thinking 512,1024,2048,auto --num-ignore 0,1,2
    s1 eval --task data.jsonl --out runs/mine --samples 8 --temperature 1
    s1 eval compare runs/a runs/b

Heavy imports (the engine, datasets, matplotlib) happen inside the command.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from s1_engine.errors import S1Error
from s1_engine.settings import EngineOptions, PolicyOptions
from s1_eval.settings import EvalOptions, MethodOptions

from ..engine import start_engine, stop_engine
from ..options import command


def eval_(
    ctx: typer.Context,
    list_tasks_: Annotated[
        bool,
        typer.Option(
            "--list-tasks",
            help="Print the task names, one a line.",
            rich_help_panel="Task and output",
        ),
    ] = False,
    run: EvalOptions = None,  # type: ignore[assignment]
    methods: MethodOptions = None,  # type: ignore[assignment]
    engine: EngineOptions = None,  # type: ignore[assignment]
    policy: PolicyOptions = None,  # type: ignore[assignment]
) -> None:
    """Evaluate test-time scaling: every (question, policy, sample) one concurrent request."""
    if ctx.invoked_subcommand is not None:
        return
    from s1_eval.tasks import default_instruction, list_tasks, load_task

    if list_tasks_:
        for name in list_tasks():
            print(name)
        return
    if not run.task:
        raise S1Error("no task given", "pass --task NAME or a file (see s1 eval --list-tasks)")
    if not run.out:
        raise S1Error("no output folder given", "pass --out DIR")
    from s1_engine.engine import default_model
    from s1_engine.rundir import RunFolder

    folder = RunFolder(run.out, "eval")  # a file or a read-only folder fails here
    # parse the lists (budgets, "Wait" counts, ignore strings, methods) before any slow work
    wanted, policies, points = methods.build(policy)
    if "deepconf-online" in wanted and run.samples <= methods.conf_warmup:
        raise S1Error(
            f"deepconf-online needs more --samples than its --conf-warmup {methods.conf_warmup}"
            f" (got --samples {run.samples})",
            f"e.g. --samples {2 * methods.conf_warmup}",
        )
    if policy.temperature == 0 and {"rejection", "majority", "shortest-majority"} & set(wanted):
        print(
            "note: --temperature 0 (greedy): every sample is the same, so rejection draws once "
            "and majority votes are over identical answers; give e.g. --temperature 1",
            file=sys.stderr,
        )
    items = load_task(
        run.task, run.question_col, run.answer_col, run.choices_col, run.limit, seed=policy.seed
    )

    from s1_eval.runner import EvalSpec, run_eval

    from ..progress import EvalProgressBar

    spec = EvalSpec(
        task=run.task,
        items=items,
        policies=policies,
        samples=run.samples,
        format=None if engine.format == "auto" else engine.format,
        instruction=run.instruction
        if run.instruction is not None
        else default_instruction(run.task, str(engine.model or default_model())),
        points=points,
        methods=wanted,
        prompts=methods.prompts(),
        conf=methods.vote(),
    )
    out_dir = folder.path
    with folder:  # locked now: a second run into this folder is refused before its model loads
        base = policies[0]
        early = {"task": run.task, "model": str(engine.model or default_model())}
        early |= {"temperature": base.thinking.temperature, "seed": base.thinking.seed}
        early |= {"answer_max_tokens": base.answer_max_tokens, "instruction": spec.instruction}
        if engine.max_model_len:
            early["max_model_len"] = engine.max_model_len
        folder.check(early, run.overwrite)
        eng = start_engine(engine, "eval", seed=policy.seed, concurrency="many")
        try:
            with EvalProgressBar(run.task, run.progress) as bar:
                summary = run_eval(eng, spec, folder, on_progress=bar, overwrite=run.overwrite)
        finally:
            stop_engine(eng)
    print_summary(summary, out_dir)
    if summary.get("failed"):
        raise S1Error(
            f"{summary['failed']} of {summary['requests']} requests failed in the engine",
            f"run the same command again to retry them (results so far are in {out_dir})",
        )


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
    title = f"A = {a} ({sa.get('task')}, {sa.get('model')})\nB = {b} ({sb.get('task')}, {sb.get('model')})"
    cells = [
        [
            r["policy"],
            _f(r["a_accuracy"]),
            _f(r["b_accuracy"]),
            _f(r["delta"], signed=True),
            _f(r["a_thinking_tokens"]),
            _f(r["b_thinking_tokens"]),
        ]
        for r in rows
    ]
    both = [
        [name, *(f"{_f(v[k][0])} | {_f(v[k][1])}" for k in ("control", "scaling", "performance"))]
        for name, v in methods.items()
    ]
    console = out_console()
    cols = ("A acc %", "B acc %", "Δ", "A think", "B think")
    print_table(console, title, "policy", cols, cells)
    m_cols = ("Control %", "Scaling /1k tok", "Perf. %")
    m_title = "Control / Scaling / Performance (A | B)"
    print_table(console, m_title, "method", m_cols, both)


def load_summary(folder: str) -> dict[str, Any]:
    """A folder's summary.json, or one recomputed from its samples.jsonl."""
    from s1_eval.metrics import summarize
    from s1_eval.runner import SAMPLES, SUMMARY, read_samples

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
    n = summary.get("samples", 1)
    title = f"{summary['task']}: {summary['questions']} questions x {n} samples"
    cols = ("runs", "acc %", f"maj@{n} %", "think", "spent", "answer", "Waits", "ctrl %")
    rows = [
        [
            p["policy"],
            str(p["runs"]),
            _f(p["accuracy"]),
            _f(p["majority_accuracy"]),
            _f(p["mean_thinking_tokens"]),
            _f(p.get("mean_compute_tokens", p["mean_thinking_tokens"])),
            _f(p["mean_answer_tokens"]),
            _f(p["mean_waits"]),
            _f(p["control"]),
        ]
        for p in summary["policies"]
    ]
    metrics = [
        [
            name,
            str(len(v["points"])),
            _f(v["control"]),
            _f(v["scaling"]),
            _f(v["scaling_log2"]),
            _f(v["performance"]),
        ]
        for name, v in summary.get("methods", {}).items()
    ]
    console = out_console()
    print_table(console, title, "policy", cols, rows)
    m_cols = ("points", "Control %", "Scaling /1k tok", "Scaling /2x", "Perf. %")
    print_table(console, "the s1 paper's metrics", "method", m_cols, metrics)
    if "instruction" in summary:
        console.print(f"prompt: {prompt_line(summary['instruction'])}", soft_wrap=True)
    console.print(f"results in {out}: samples.jsonl, summary.json, scaling.png", soft_wrap=True)


def out_console() -> Any:
    """stdout for tables: the terminal's width, or when piped as wide as a table needs
    (rich would crop it at 80 columns)."""
    from rich.console import Console

    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=160)


def prompt_line(instruction: str | None) -> str:
    """What each question was sent as, in words."""
    if instruction is None:
        return "each question with the standard instruction of its kind (--instruction)"
    if not instruction.strip():
        return "the question alone (no instruction; --instruction TEXT adds one)"
    return f"each question, then {instruction.strip()!r} (--instruction '' for none)"


def print_table(
    console: Any, title: str, first: str, columns: Sequence[str], rows: list[list[str]]
) -> None:
    """A rich table that never cuts a number: each number column exactly as wide as its
    longest value or header word (headers wrap at spaces), the first column gets the
    rest of the width and folds its labels if it must; on a screen too narrow even so,
    the lines run over (the terminal wraps them) rather than lose digits."""
    from rich import box
    from rich.table import Table

    def need(i: int, header: str) -> int:
        words = max((len(w) for w in header.split()), default=1)
        return max([words, *(len(r[i]) for r in rows)])

    sizes = [need(i, col) for i, col in enumerate(columns, 1)]
    labels = max([len(first), *(len(r[0]) for r in rows)])
    frame = sum(sizes) + 3 * len(sizes) + 2  # 3 between two columns, 1 at each edge
    first_width = max(10, min(labels, console.width - frame))
    t = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    t.add_column(first, overflow="fold", width=first_width)
    for col, size in zip(columns, sizes):
        t.add_column(col, justify="right", width=size)
    for r in rows:
        t.add_row(*r)
    if frame + first_width > console.width:  # rich would shrink the columns to fit
        from rich.console import Console

        console = Console(
            file=console.file,
            width=frame + first_width,
            highlight=False,
            force_terminal=console.is_terminal,
            color_system=console.color_system,
        )
    console.print(t)


def _f(x: Any, signed: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:+.1f}" if signed else f"{x:.1f}"


def register(app: typer.Typer) -> None:
    eval_app = typer.Typer(
        help="Evaluate test-time scaling on a task: a grid of budgets and 'Wait' counts, "
        "and the paper's other test-time methods (--method), graded, resumable, plotted.",
        no_args_is_help=False,
        add_completion=False,
    )
    command(
        eval_app,
        callback=True,
        shadow=("method",),  # --method: the test-time methods, not the policy preset
        epilog="Example: s1 eval --task synthetic --limit 20 --out runs/eval-synth "
        "--max-thinking 64,256 --num-ignore 0,1",
    )(eval_)
    eval_app.command("compare", epilog="Example: s1 eval compare runs/eval-synth runs/eval-sft")(
        compare
    )
    app.add_typer(eval_app, name="eval")
