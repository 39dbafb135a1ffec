"""`s1 generate`: one prompt, thinking and answer printed live (or one JSON record)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from .cli_options import EngineOptions, PolicyOptions, engine_options, policy_options
from .errors import S1Error


@engine_options
@policy_options
def generate(
    prompt: Annotated[
        str | None, typer.Argument(help="The question; '-' or nothing reads stdin.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON record instead of the live text.")
    ] = False,
    system: Annotated[str | None, typer.Option("--system", help="A system message.")] = None,
    engine_opts: EngineOptions = None,  # type: ignore[assignment]
    policy_opts: PolicyOptions = None,  # type: ignore[assignment]
) -> None:
    """Answer one prompt with budget forcing; thinking goes to stderr (dim), the answer to stdout."""
    from rich.console import Console

    from .events import Event, TokenDelta

    if prompt is None or prompt == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise S1Error("no prompt given", "pass it as an argument or pipe it on stdin")
        prompt = sys.stdin.read()
    if not prompt.strip():
        raise S1Error("the prompt is empty", "pass a question")
    policy = policy_opts.policy()
    engine = engine_opts.start("generate", seed=policy_opts.seed)
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
                        err.print(
                            item.text,
                            style="yellow" if item.forced else "dim",
                            end="",
                            markup=False,
                        )
                    elif item.segment == "answer":
                        out.print(item.text, end="", markup=False)
                elif isinstance(item, Event) and item.kind == "end_thinking":
                    err.print(
                        f"\n[{item.cause} ended thinking at {item.thinking_tokens} tokens]",
                        style="cyan",
                        markup=False,
                    )
            result = session.result()
            out.print()
            err.print(
                f"[{result.thinking_tokens} thinking + {result.answer_tokens} answer tokens, "
                f"{result.count('wait')} Wait, {result.seconds:.2f}s, {result.finish_reason}]",
                style="cyan",
                markup=False,
            )
        if result.finish_reason == "error":
            raise S1Error(f"generation failed: {result.events[-2].text}", "see the message above")
        if as_json:
            print(json.dumps(result.to_dict(), ensure_ascii=False))
    finally:
        engine.close()


def tiny_model(
    path: Annotated[str, typer.Argument(help="Folder to write the model to.")],
) -> None:
    """Write the scripted tiny test model (no download): for tests, examples and demos."""
    from .testing import make_scripted_model

    out = make_scripted_model(path)
    print(out)


def register(app: typer.Typer) -> None:
    app.command("generate")(generate)
    app.command("tiny-model", hidden=False)(tiny_model)
