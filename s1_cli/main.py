"""The `s1` command: one Typer app; each package contributes its sub-commands.

Only Typer and the packages' small `cli` modules are imported here; vLLM, TRL and
Textual are imported inside the commands that need them, so `s1 --help` is instant.
"""

from __future__ import annotations

import os
import sys

import typer

app = typer.Typer(
    name="s1",
    help="s1 console: curate, train, evaluate and steer reasoning models with budget forcing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _quiet_libraries() -> None:
    """Keep library chatter off stdout (where `--json` records go)."""
    os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def _register() -> None:
    from s1_data import cli as data_cli
    from s1_engine import cli as engine_cli
    from s1_engine import eval_cli
    from s1_serve import cli as serve_cli
    from s1_train import cli as train_cli
    from s1_tui import cli as tui_cli

    tui_cli.register(app)
    engine_cli.register(app)
    eval_cli.register(app)
    train_cli.register(app)
    data_cli.register(app)
    serve_cli.register(app)


_register()


def main(argv: list[str] | None = None) -> int:
    """Entry point: S1Error becomes one line on stderr and exit code 2."""
    from s1_engine.errors import S1Error

    _quiet_libraries()
    try:
        app(args=argv, standalone_mode=False)
    except S1Error as e:
        print(f"error: {e.line()}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 1
    except Exception as e:  # click's usage errors
        import click

        if isinstance(e, click.exceptions.ClickException):
            e.show()
            return e.exit_code
        if isinstance(e, click.exceptions.Abort):
            return 1
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
