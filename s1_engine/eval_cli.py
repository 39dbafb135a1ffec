"""`s1 eval`: headless batch evaluation of test-time scaling."""

from __future__ import annotations

import typer

from .errors import S1Error


def eval_() -> None:
    """Not yet: batch evaluation lands with its own issue."""
    raise S1Error("'s1 eval' is not built yet", "see the open issues")


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_)
