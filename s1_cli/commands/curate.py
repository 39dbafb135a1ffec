"""`s1 curate`: from a question pool to an s1K-style set, stage by stage.

    s1 curate --pool pool.jsonl --out my-s1k --n 1000          the whole pipeline
    s1 curate run pool.jsonl synthetic:500 --out my-s1k        the same
    s1 curate quality pool.jsonl --out q/                      one stage alone
    s1 curate traces q/ --out t/ --teacher Qwen/QwQ-32B        chained by hand

The commands are made from the stage registry (`s1_data.stages`): a stage's command
takes its settings classes as options, with the pool and output ones (`CurateConfig`)
and, for a stage that runs models, the engine's; `run` and `s1 curate` itself take them
all. The pipeline (datasets, datasketch, the engine) is imported when a command runs.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Annotated, Any

import typer

from s1_data.pipeline import CurateConfig, StageProgress
from s1_data.stages import STAGES, Stage, settings_classes
from s1_engine.errors import S1Error
from s1_engine.settings import EngineOptions

from ..engine import start_engine, stop_engine
from ..options import command

SourcesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Pool sources: files (.jsonl/.parquet/.csv), dataset folders, hub ids, synthetic:N."
    ),
]
GROUP_DOC = (
    "Curate an s1K-style set from a question pool (`s1 curate --pool FILE --out DIR`, "
    "or a sub-command)."
)
RUN_DOC = "The whole pipeline; rerun the same command to resume after a kill."
PIPELINE = (
    "--pool synthetic:1000 --kinds subtract,quotient,gcd --ngram 16 --out runs/curated --n 30"
)
EXAMPLES = {
    "": f"Example: s1 curate {PIPELINE}",
    "run": f"Example: s1 curate run {PIPELINE}",
    "quality": "Example: s1 curate quality --pool my_questions.jsonl --out runs/q",
    "decontaminate": "Example: s1 curate decontaminate runs/q --out runs/d --eval-tasks synthetic",
    "traces": "Example: s1 curate traces runs/d --out runs/t --teacher Qwen/QwQ-32B",
    "difficulty": "Example: s1 curate difficulty runs/t --out runs/h --ref-model runs/sft",
    "diversity": "Example: s1 curate diversity runs/h --out runs/v",
    "select": "Example: s1 curate select runs/v --out runs/sel --n 30 --strategy diverse",
}


def register(app: typer.Typer) -> None:
    curate_app = typer.Typer(
        help=f"Curate an s1K-style set: {', '.join(s.title for s in STAGES)}.",
        no_args_is_help=False,
        add_completion=False,
    )
    command(curate_app, callback=True, epilog=EXAMPLES[""])(
        curate_command(STAGES, GROUP_DOC, group=True)
    )
    command(curate_app, "run", epilog=EXAMPLES["run"])(curate_command(STAGES, RUN_DOC))
    for stage in STAGES:
        example = EXAMPLES.get(stage.name, f"Example: s1 curate {stage.name} POOL --out DIR")
        command(curate_app, stage.name, epilog=example)(curate_command((stage,), stage.help))
    app.add_typer(curate_app, name="curate")


def curate_command(stages: Sequence[Stage], doc: str, group: bool = False) -> Callable[..., None]:
    """A command running `stages`: its parameters are the pool sources (the group's own
    command: --pool only) and one settings object per class the stages read."""
    classes: list[type] = [CurateConfig, *settings_classes(stages)]
    if any(s.engine for s in stages):
        classes.append(EngineOptions)

    def curate(**kw: Any) -> None:
        ctx = kw.pop("ctx", None)
        if group and ctx is not None and ctx.invoked_subcommand is not None:
            return
        cfg: CurateConfig = kw.pop(CurateConfig.__name__)
        sources = [*(kw.pop("sources", None) or []), *(cfg.pool or [])]
        if not sources:
            if group:
                print(ctx.get_help())
                raise S1Error(
                    "no pool given",
                    "pass --pool FILE --out DIR, or use a sub-command (s1 curate run ...)",
                )
            raise S1Error(
                "no pool sources given", "pass a file, folder, hub id or synthetic:N (or --pool)"
            )
        if not cfg.out:
            raise S1Error("no output folder given", "pass --out FOLDER")
        engine = kw.pop(EngineOptions.__name__, None) or EngineOptions()
        cfg = replace(
            cfg,
            pool=sources,
            stages=tuple(s.name for s in stages),
            settings=tuple(kw[cls.__name__] for cls in classes[1:] if cls is not EngineOptions),
            engine=engine,
        )
        run_curate(cfg)

    if group:
        first = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)]
    else:
        first = [inspect.Parameter("sources", _KW, default=None, annotation=SourcesArg)]
    params = first + [inspect.Parameter(cls.__name__, _KW, annotation=cls) for cls in classes]
    curate.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    curate.__doc__ = doc
    return curate


_KW = inspect.Parameter.KEYWORD_ONLY


def run_curate(cfg: CurateConfig) -> None:
    """Run the pipeline with progress bars (none with --quiet), then print the survivors."""
    from s1_data.engines import Engines
    from s1_data.pipeline import Pipeline

    bars = StageBars(enabled=not cfg.quiet)
    engines = Engines(cfg.engine, seed=cfg.seed, build=bars.build)
    pipeline = Pipeline(cfg, engines, on_progress=bars)
    try:
        with bars:
            report = pipeline.run()
    finally:
        for engine in engines.built.values():
            stop_engine(engine)  # says so while vLLM takes its time
        engines.built.clear()
    skipped_note(report)
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


def skipped_note(report: dict) -> None:
    """Say it on the terminal (not only in report.json) when decontamination could not
    check some evaluation tasks: offline, the hub tasks do not load."""
    for s in report.get("stages", []):
        skipped = s.get("stats", {}).get("eval_tasks_skipped") or {}
        if s.get("name") == "decontaminate" and skipped:
            print(
                f"note: decontamination did not check {len(skipped)} evaluation task(s) that "
                f"do not load here ({', '.join(sorted(skipped))}; offline?): pass "
                "--eval-tasks FILE with local copies of their questions to check them",
                file=sys.stderr,
            )


class StageBars:
    """One progress bar per stage on stderr, fed by the pipeline's `on_progress`. While
    an engine loads (`build`) the bars stop, so its loading line shows alone; the
    stages not finished then go on in a new display."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}  # stage -> task id in the current display
        self.finished: set[str] = set()

    def __enter__(self) -> StageBars:
        self._start([])
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def __call__(self, p: StageProgress) -> None:
        if self.bar is None:
            return
        task = self.tasks.get(p.stage)
        if task is None:
            name = f"{p.stage} (resumed)" if p.resumed else p.stage
            task = self.tasks[p.stage] = self.bar.add_task(name, total=p.total)
        self.bar.update(task, completed=p.done, total=p.total)
        if p.finished:
            self.finished.add(p.stage)

    def build(self, opts: EngineOptions, seed: int) -> Any:
        """The engine factory: `s1_cli.engine.start_engine`, the bars paused meanwhile
        (quiet: no loading line either; the engine's output still goes to its log)."""
        if not self.enabled:
            return start_engine(opts, "curate", seed=seed, concurrency="many", line=False)
        with self._paused():
            return start_engine(opts, "curate", seed=seed, concurrency="many")

    @contextlib.contextmanager
    def _paused(self) -> Iterator[None]:
        if self.bar is None:
            yield
            return
        shown = {t.id: t for t in self.bar.tasks}
        going = [(s, shown[task]) for s, task in self.tasks.items() if s not in self.finished]
        for _, t in going:
            self.bar.update(t.id, visible=False)
        self.bar.stop()  # the finished stages stay on the screen
        try:
            yield
        finally:
            self._start(going)

    def _start(self, going: list[tuple[str, Any]]) -> None:
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self.tasks = {}
        for stage, old in going:
            task = self.bar.add_task(old.description, total=old.total, completed=old.completed)
            new = next(t for t in self.bar.tasks if t.id == task)
            new.start_time = old.start_time  # its elapsed time goes on
            self.tasks[stage] = task
        self.bar.start()
