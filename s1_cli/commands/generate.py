"""`s1 generate`: one prompt, thinking and answer printed live (or one JSON record);
`s1 tiny-model`: the scripted test model, made locally."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from s1_engine.errors import S1Error
from s1_engine.settings import EngineOptions, PolicyOptions

from ..engine import start_engine, stop_engine
from ..options import command


def generate(
    prompt: Annotated[
        str | None, typer.Argument(help="The question; '-' or nothing reads stdin.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON record instead of the live text.")
    ] = False,
    system: Annotated[str | None, typer.Option("--system", help="A system message.")] = None,
    engine: EngineOptions = None,  # type: ignore[assignment]
    policy: PolicyOptions = None,  # type: ignore[assignment]
) -> None:
    """Answer one prompt with budget forcing; thinking goes to stderr (dim), the answer to stdout."""
    run_generate(prompt, as_json, system, engine, policy)


def tiny_model(
    path: Annotated[str, typer.Argument(help="Folder to write the model to.")],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace what the folder holds.")
    ] = False,
) -> None:
    """Write the scripted tiny test model (no download): for tests, examples and demos."""
    from pathlib import Path

    from s1_engine.rundir import check_out_dir
    from s1_engine.testing import MARKER, make_scripted_model

    folder = check_out_dir(path, "PATH")
    holds = folder.is_dir() and any(folder.iterdir())
    if holds and not overwrite and not (folder / MARKER).exists():
        raise S1Error(
            f"{path!r} already holds files (a model?) that are not the scripted test model",
            "give an empty or new folder, or add --overwrite",
        )
    print(make_scripted_model(Path(path)))


def register(app: typer.Typer) -> None:
    command(
        app,
        "generate",
        epilog='Examples: s1 generate "How many times can 3 be taken from 22?" --num-ignore 1'
        '\n\necho "Find the greatest common divisor of 42 and 30 by subtraction." | s1 generate -',
    )(generate)
    command(app, "tiny-model", config=False, epilog="Example: s1 tiny-model runs/tiny")(tiny_model)


def run_generate(
    prompt: str | None,
    as_json: bool,
    system: str | None,
    engine_opts: EngineOptions,
    policy_opts: PolicyOptions,
) -> None:
    from rich.console import Console

    from s1_engine.events import Event, TokenDelta

    if prompt is None or prompt == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise S1Error("no prompt given", "pass it as an argument or pipe it on stdin")
        prompt = sys.stdin.read().strip()  # `echo` adds a newline the question lacks
    if not prompt.strip():
        raise S1Error("the prompt is empty", "pass a question")
    policy = policy_opts.policy()
    engine = start_engine(engine_opts, "generate", seed=policy_opts.seed)
    try:
        messages = [{"role": "system", "content": system}] if system else []
        session = engine.start(messages + [{"role": "user", "content": prompt}], policy)
        if as_json:
            result = session.result()
        else:
            err = Console(stderr=True, highlight=False)
            out = Console(highlight=False)
            for item in session:
                if isinstance(item, TokenDelta):
                    if item.segment == "think":
                        style = "yellow" if item.forced else "dim"
                        err.print(item.text, style=style, end="", markup=False)
                    elif item.segment == "answer":
                        out.print(item.text, end="", markup=False)
                elif isinstance(item, Event) and item.kind == "probe":
                    err.print(
                        f"\n[probe at {item.thinking_tokens} tokens: {item.text}]",
                        style="cyan",
                        markup=False,
                    )
                elif isinstance(item, Event) and item.kind == "end_thinking":
                    err.print(
                        f"\n[{item.cause} ended thinking at {item.thinking_tokens} tokens]",
                        style="cyan",
                        markup=False,
                    )
            result = session.result()
            out.print()
            probes = (
                f"{result.probes} probes ({result.probe_tokens} tokens), " if result.probes else ""
            )
            err.print(
                f"[{result.thinking_tokens} thinking + {result.answer_tokens} answer tokens, "
                f"{probes}"
                f"{result.count('wait')} Wait, {result.seconds:.2f}s, {result.finish_reason}]",
                style="cyan",
                markup=False,
            )
        if result.finish_reason == "error":
            raise S1Error(f"generation failed: {result.events[-2].text}", "see the message above")
        if as_json:
            print(json.dumps(result.to_dict(), ensure_ascii=False))
    finally:
        stop_engine(engine)
