"""`s1 tui`: the live reasoning console (Textual).

Textual and the engine are imported inside the command, so `s1 --help` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from s1_engine.cli_options import (
    EngineOptions,
    PolicyOptions,
    engine_options,
    tui_policy_options,
)

PANEL_TUI = "Console"


@engine_options
@tui_policy_options
def tui(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML settings file (default: $S1_CONFIG or <config dir>/s1/tui.toml).",
            rich_help_panel=PANEL_TUI,
        ),
    ] = None,
    demo: Annotated[
        str,
        typer.Option(
            "--demo",
            help="Side by side: the same question at several budgets ('512,1024,2048') or Wait counts ('w0,w1,w2').",
            rich_help_panel=PANEL_TUI,
        ),
    ] = "",
    reference: Annotated[
        str,
        typer.Option(
            "--reference",
            help="The expected answer: each run is graded.",
            rich_help_panel=PANEL_TUI,
        ),
    ] = "",
    grade_kind: Annotated[
        str,
        typer.Option(
            "--grade",
            help="math | choice (how --reference is compared).",
            rich_help_panel=PANEL_TUI,
        ),
    ] = "math",
    question: Annotated[
        str,
        typer.Option(
            "--question",
            "-q",
            help="Ask this as soon as the model is loaded.",
            rich_help_panel=PANEL_TUI,
        ),
    ] = "",
    theme: Annotated[
        str,
        typer.Option(
            "--theme",
            help="Textual theme (e.g. textual-dark, nord, gruvbox).",
            rich_help_panel=PANEL_TUI,
        ),
    ] = "textual-dark",
    budget_step: Annotated[
        int,
        typer.Option(
            "--budget-step",
            help="Tokens the +/- keys add to or take from the budget.",
            rich_help_panel=PANEL_TUI,
        ),
    ] = 256,
    replay_speed: Annotated[
        float,
        typer.Option(
            "--replay-speed",
            help="Replay from history at this multiple of the recorded pace.",
            rich_help_panel=PANEL_TUI,
        ),
    ] = 4.0,
    engine_opts: EngineOptions = None,  # type: ignore[assignment]
    policy_opts: PolicyOptions = None,  # type: ignore[assignment]
) -> None:
    """Watch a model think and steer it live: Wait, end, inject, budget, side-by-side demo."""
    from .settings import TuiOptions, load_settings

    opts = TuiOptions(
        theme=theme,
        budget_step=budget_step,
        demo=demo,
        reference=reference,
        grade_kind=grade_kind,
        question=question,
        replay_speed=replay_speed,
    )
    settings = load_settings(engine_opts, policy_opts, opts, config)

    from s1_engine.enginelog import EngineLog

    from .app import S1App
    from .terminal import app_owns_terminal

    log = EngineLog.new("tui")
    app = S1App(settings, log=log)
    try:
        with app_owns_terminal(log):
            app.run()
    finally:
        app.close_engine()


def register(app: typer.Typer) -> None:
    app.command("tui")(tui)
