"""The `s1` command: one Typer app over the libraries; each command lives in s1_cli/commands.

Only Typer and the small command modules are imported here; vLLM, TRL and Textual are
imported inside the commands that need them, so `s1 --help` is instant.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from s1_engine.lifeline import hold_if_spawned

# In vLLM's engine processes (spawned children import this module first): die with the
# command that started them, even when it is killed with SIGKILL (s1_engine/lifeline.py).
hold_if_spawned()

app = typer.Typer(
    name="s1",
    help="s1 console: curate, train, evaluate and steer reasoning models with budget forcing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def version() -> str:
    """The installed package's version (the source tree's when it is not installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("s1-console")
    except PackageNotFoundError:
        from pathlib import Path

        import tomllib

        project = Path(__file__).resolve().parents[1] / "pyproject.toml"
        return str(tomllib.loads(project.read_text())["project"]["version"])


def _print_version(value: bool) -> None:
    if value:
        print(f"s1 {version()}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """s1 console: curate, train, evaluate and steer reasoning models with budget forcing."""


def _flags_take_no_type() -> None:
    """Typer (0.29) shows `<bool>` beside every flag, --help too; a flag takes no value,
    so it shows none."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: object) -> str | None:
        return None if self.is_flag else shown(self, ctx)  # type: ignore[arg-type]

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


def _quiet_libraries() -> None:
    """Keep library chatter off stdout (where `--json` records go)."""
    os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def _register() -> None:
    from .commands import curate as curate_cli
    from .commands import eval as eval_cmd
    from .commands import generate, serve, train, tui

    tui.register(app)
    generate.register(app)
    eval_cmd.register(app)
    train.register(app)
    curate_cli.register(app)
    serve.register(app)


_register()
_flags_take_no_type()


INTERRUPTED = "interrupted; rerun the same command to resume (results so far are kept)"


def main(argv: list[str] | None = None) -> int:
    """Entry point. Bad input is one line on stderr and exit code 2 (S1Error, usage errors);
    Ctrl-C is one line and exit code 130; scripts can trust the exit code. A command that
    fails leaves no empty output folder (nor its lock) behind."""
    from .outdirs import OutDirs

    made = OutDirs(sys.argv[1:] if argv is None else argv)
    code = 1
    try:
        code = _run(argv)
    finally:
        if code != 0:
            made.remove_empty()
    return code


def _run(argv: list[str] | None) -> int:
    from s1_engine.errors import S1Error

    _quiet_libraries()
    try:
        code = app(args=argv, standalone_mode=False)
    except S1Error as e:
        print(f"error: {e.line()}", file=sys.stderr)
        if e.details:
            print(e.details, file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        code = 130
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except Exception as e:  # the command-line parser's usage errors: one line, exit 2
        if not hasattr(e, "format_message") or not isinstance(getattr(e, "exit_code", None), int):
            raise
        if e.format_message().strip():  # else a group run bare: its help is shown already
            print(f"error: {_usage_line(e)}", file=sys.stderr)
        return 2
    if code == 130:
        print(INTERRUPTED, file=sys.stderr)
    return code if isinstance(code, int) else 0


def _usage_line(e: Exception) -> str:
    message = " ".join(e.format_message().split())  # type: ignore[attr-defined]
    names, ctx = [], getattr(e, "ctx", None)
    while ctx is not None and ctx.parent is not None:  # the sub-command names, not the
        names.append(ctx.info_name)  # program's (which is "python -m ..." under a runner)
        ctx = ctx.parent
    return f"{message} (see {' '.join(['s1', *reversed(names)])} --help)"


if __name__ == "__main__":
    sys.exit(main())
