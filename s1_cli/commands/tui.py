"""`s1 tui`: the live reasoning console (Textual is imported inside the command)."""

from __future__ import annotations

import typer

from s1_engine.settings import EngineOptions, PolicyOptions, PresetOptions
from s1_tui.settings import TUI_POLICY, TuiOptions, default_config_path, load_settings


def tui(
    engine: EngineOptions = None,  # type: ignore[assignment]
    policy: PolicyOptions = None,  # type: ignore[assignment]
    console: TuiOptions = None,  # type: ignore[assignment]
    preset: PresetOptions = None,  # type: ignore[assignment]
) -> None:
    """Watch a model think and steer it live: Wait, end, inject, budget, side-by-side demo."""
    from s1_engine.enginelog import EngineLog
    from s1_tui.app import S1App
    from s1_tui.terminal import app_owns_terminal

    from ..engine import stop_engine

    policy = preset.apply(policy)
    settings = load_settings(engine, policy, console, default_file=False)  # checks them
    log = EngineLog.new("tui")
    app = S1App(settings, log=log)
    try:
        with app_owns_terminal(log):
            app.run()
    finally:
        app.close_engine(stop_engine)


def register(app: typer.Typer) -> None:
    from ..options import command

    command(
        app,
        "tui",
        config_help="TOML settings file (default: $S1_CONFIG or <config dir>/s1/tui.toml).",
        config_default=default_config_path,
        defaults={"max_thinking": TUI_POLICY.max_thinking},
        epilog='Example: s1 tui -q "How many times can 3 be taken from 22?" --pace 10',
    )(tui)
