"""`s1 tui`: the live reasoning console (Textual)."""

from __future__ import annotations

import typer

from s1_engine.errors import S1Error


def tui() -> None:
    """Not yet: the live reasoning console (Textual) lands with its own issue."""
    raise S1Error("'s1 tui' is not built yet", "see the open issues")


def register(app: typer.Typer) -> None:
    app.command("tui")(tui)
