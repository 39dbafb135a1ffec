"""`s1 curate`: from a question pool to an s1K-style set, stage by stage.

    s1 curate --pool pool.jsonl --out my-s1k --n 1000          the whole pipeline
    s1 curate run pool.jsonl synthetic:500 --out my-s1k        the same
    s1 curate quality pool.jsonl --out q/                      one stage alone
    s1 curate traces q/ --out t/ --teacher Qwen/QwQ-32B        chained by hand

Only Typer is imported here; the pipeline (datasets, datasketch, the engine) is imported
when a command runs, so `s1 --help` stays instant.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from s1_engine.errors import S1Error
from s1_engine.settings import EngineOptions

from .cli_options import engine_options

P_DATA = "Pool and output"
P_QUAL = "Quality"
P_DECON = "Decontamination"
P_GEN = "Traces and reference answers"
P_DIV = "Diversity and selection"

OPTIONS: dict[str, list[tuple[str, Any, Any, Any]]] = {
    "common": [
        (
            "out",
            str | None,
            typer.Option(
                "--out",
                "-o",
                help="Output folder (dataset, report, stage files).",
                rich_help_panel=P_DATA,
            ),
            None,
        ),
        (
            "limit",
            int | None,
            typer.Option(
                "--limit",
                help="Keep a seeded random subset of the pool (quick runs).",
                rich_help_panel=P_DATA,
            ),
            None,
        ),
        (
            "seed",
            int,
            typer.Option(
                "--seed", help="Seed for --limit, sampling and selection.", rich_help_panel=P_DATA
            ),
            0,
        ),
        (
            "batch_size",
            int,
            typer.Option(
                "--batch-size",
                help="Requests sent to the engine at once (and checkpointed).",
                rich_help_panel=P_DATA,
            ),
            32,
        ),
        (
            "quiet",
            bool,
            typer.Option("--quiet", "-q", help="No progress bars.", rich_help_panel=P_DATA),
            False,
        ),
    ],
    "quality": [
        (
            "dedup_threshold",
            float,
            typer.Option(
                "--dedup-threshold",
                help="MinHash Jaccard at or above which two questions are near-duplicates.",
                rich_help_panel=P_QUAL,
            ),
            0.8,
        ),
        (
            "num_perm",
            int,
            typer.Option("--num-perm", help="MinHash permutations.", rich_help_panel=P_QUAL),
            128,
        ),
        (
            "shingle",
            int,
            typer.Option(
                "--shingle", help="Words per shingle for MinHash.", rich_help_panel=P_QUAL
            ),
            3,
        ),
    ],
    "decontaminate": [
        (
            "eval_tasks",
            str | None,
            typer.Option(
                "--eval-tasks",
                help="Comma-separated evaluation task names or files (default: every task of `s1 eval` that loads here; 'none' to skip).",
                rich_help_panel=P_DECON,
            ),
            None,
        ),
        (
            "ngram",
            int,
            typer.Option("--ngram", help="Word n-gram size for overlap.", rich_help_panel=P_DECON),
            8,
        ),
    ],
    "traces": [
        (
            "teacher",
            str | None,
            typer.Option(
                "--teacher",
                help="Model that writes missing traces (default: --model).",
                rich_help_panel=P_GEN,
            ),
            None,
        ),
        (
            "max_thinking",
            str,
            typer.Option(
                "--max-thinking",
                help="Cap on the teacher's thinking tokens (auto = the context).",
                rich_help_panel=P_GEN,
            ),
            "auto",
        ),
        (
            "regenerate_traces",
            bool,
            typer.Option(
                "--regenerate-traces",
                help="Generate traces for every item, not only where missing.",
                rich_help_panel=P_GEN,
            ),
            False,
        ),
    ],
    "difficulty": [
        (
            "ref_model",
            list[str] | None,
            typer.Option(
                "--ref-model",
                help="Reference model (repeatable; default: --model). Items all of them solve are dropped.",
                rich_help_panel=P_GEN,
            ),
            None,
        ),
        (
            "ref_max_thinking",
            str,
            typer.Option(
                "--ref-max-thinking",
                help="Cap on the reference models' thinking tokens.",
                rich_help_panel=P_GEN,
            ),
            "auto",
        ),
    ],
    "gen": [
        (
            "answer_max_tokens",
            int,
            typer.Option(
                "--answer-max-tokens", help="Tokens allowed for each answer.", rich_help_panel=P_GEN
            ),
            1024,
        ),
        (
            "temperature",
            float,
            typer.Option(
                "--temperature", help="Sampling temperature (0 = greedy).", rich_help_panel=P_GEN
            ),
            0.0,
        ),
    ],
    "diversity": [
        (
            "classifier",
            str,
            typer.Option(
                "--classifier",
                help="MSC domain classifier: lexical (offline, no model) or model (--classifier-model through the engine).",
                rich_help_panel=P_DIV,
            ),
            "lexical",
        ),
        (
            "classifier_model",
            str | None,
            typer.Option(
                "--classifier-model",
                help="Model for --classifier model (default: --model).",
                rich_help_panel=P_DIV,
            ),
            None,
        ),
        (
            "classify_max_thinking",
            str,
            typer.Option(
                "--classify-max-thinking",
                help="Thinking budget of the classifier model.",
                rich_help_panel=P_DIV,
            ),
            "512",
        ),
    ],
    "select": [
        (
            "n",
            int,
            typer.Option("--n", "-n", help="How many items to select.", rich_help_panel=P_DIV),
            1000,
        ),
        (
            "length_bias",
            float,
            typer.Option(
                "--length-bias",
                help="Within a domain, weight 2^(-bias * rank by trace length); 1 as s1, 0 uniform.",
                rich_help_panel=P_DIV,
            ),
            1.0,
        ),
    ],
}
ALL_GROUPS = (
    "common",
    "quality",
    "decontaminate",
    "traces",
    "difficulty",
    "gen",
    "diversity",
    "select",
)


def curate_options(*groups: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add the options of `groups`; the command receives them as one dict `opts`."""
    params = [p for g in groups for p in OPTIONS[g]]

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(func, eval_str=True)
        keep = [p for p in sig.parameters.values() if p.name != "opts"]
        added = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=default,
                annotation=Annotated[typ, opt],
            )
            for name, typ, opt, default in params
        ]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs["opts"] = {name: kwargs.pop(name) for name, *_ in params if name in kwargs}
            return func(*args, **kwargs)

        wrapper.__signature__ = sig.replace(parameters=keep + added)  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _eval_tasks(text: str | None) -> list[str] | None:
    if text is None:
        return None
    if text.strip().lower() in ("none", ""):
        return []
    return [t.strip() for t in text.split(",") if t.strip()]


def build_config(
    sources: list[str],
    opts: dict[str, Any],
    engine_opts: EngineOptions | None,
    stages: tuple[str, ...],
) -> Any:
    from .pipeline import CurateConfig

    if not sources:
        raise S1Error(
            "no pool sources given", "pass a file, folder, hub id or synthetic:N (or --pool)"
        )
    if not opts.get("out"):
        raise S1Error("no output folder given", "pass --out FOLDER")
    fields = {k: v for k, v in opts.items() if k not in ("ref_model", "eval_tasks")}
    if "ref_model" in opts:
        fields["ref_models"] = list(opts["ref_model"] or [])
    if "eval_tasks" in opts:
        fields["eval_tasks"] = _eval_tasks(opts["eval_tasks"])
    return CurateConfig(
        sources=list(sources), stages=stages, engine=engine_opts or EngineOptions(), **fields
    )


def _run(cfg: Any) -> None:
    from .pipeline import run_pipeline

    report = run_pipeline(cfg)
    if cfg.quiet:
        return
    print("stage          in   kept  dropped")
    for s in report["stages"]:
        reasons = ", ".join(f"{k} {v}" for k, v in s["reasons"].items())
        tag = " (resumed)" if s["resumed"] else ""
        print(f"{s['name']:<13}{s['input']:>4} {s['kept']:>6} {s['dropped']:>8}  {reasons}{tag}")
    print(
        f"wrote {report['output']['path']} ({report['output']['rows']} items); report: {cfg.out}/report.md"
    )


SourcesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Pool sources: files (.jsonl/.parquet/.csv), dataset folders, hub ids, synthetic:N."
    ),
]
PoolOpt = Annotated[
    list[str] | None,
    typer.Option("--pool", "-p", help="A pool source (repeatable).", rich_help_panel=P_DATA),
]

app = typer.Typer(
    name="curate",
    help="Curate an s1K-style set: quality, decontamination, traces, difficulty, diversity, selection.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@app.callback()
@engine_options
@curate_options(*ALL_GROUPS)
def curate(
    ctx: typer.Context,
    pool: PoolOpt = None,
    engine_opts: EngineOptions = None,  # type: ignore[assignment]
    opts: dict = None,  # type: ignore[assignment]
) -> None:
    """Curate an s1K-style set from a question pool (`s1 curate --pool FILE --out DIR`, or a sub-command)."""
    if ctx.invoked_subcommand is not None:
        return
    if not pool:
        print(ctx.get_help())
        raise S1Error(
            "no pool given", "pass --pool FILE --out DIR, or use a sub-command (s1 curate run ...)"
        )
    from .pipeline import STAGES

    _run(build_config(pool, opts, engine_opts, STAGES))


@app.command("run")
@engine_options
@curate_options(*ALL_GROUPS)
def run(
    sources: SourcesArg = None,
    pool: PoolOpt = None,
    engine_opts: EngineOptions = None,  # type: ignore[assignment]
    opts: dict = None,  # type: ignore[assignment]
) -> None:
    """The whole pipeline; rerun the same command to resume after a kill."""
    from .pipeline import STAGES

    _run(build_config((sources or []) + (pool or []), opts, engine_opts, STAGES))


def _stage_command(
    stage: str, groups: tuple[str, ...], engine: bool, doc: str
) -> Callable[..., Any]:
    def command(
        sources: SourcesArg = None,
        pool: PoolOpt = None,
        engine_opts: EngineOptions = None,  # type: ignore[assignment]
        opts: dict = None,  # type: ignore[assignment]
    ) -> None:
        _run(build_config((sources or []) + (pool or []), opts, engine_opts, (stage,)))

    command.__doc__ = doc
    command.__name__ = stage
    cmd = curate_options(*groups)(command)
    if engine:
        cmd = engine_options(cmd)
    else:
        sig = inspect.signature(cmd)
        cmd.__signature__ = sig.replace(  # type: ignore[attr-defined]
            parameters=[p for p in sig.parameters.values() if p.name != "engine_opts"]
        )
    return cmd


STAGE_COMMANDS = [
    (
        "quality",
        ("common", "quality"),
        False,
        "Drop broken, badly formatted and duplicate items (with reasons).",
    ),
    (
        "decontaminate",
        ("common", "decontaminate"),
        False,
        "Drop items whose n-grams overlap evaluation questions.",
    ),
    (
        "traces",
        ("common", "traces", "gen"),
        True,
        "Generate missing reasoning traces with a teacher model; record their length.",
    ),
    (
        "difficulty",
        ("common", "difficulty", "gen"),
        True,
        "Drop what every reference model solves (graded as in s1 eval).",
    ),
    ("diversity", ("common", "diversity"), True, "Classify every item into an MSC domain."),
    (
        "select",
        ("common", "select"),
        False,
        "Select N items: a domain uniformly, then favouring longer traces.",
    ),
]
for _name, _groups, _engine, _doc in STAGE_COMMANDS:
    app.command(_name)(_stage_command(_name, _groups, _engine, _doc))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="curate")
