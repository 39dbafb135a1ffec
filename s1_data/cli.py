"""`s1 curate`: curation of s1K-style reasoning sets."""

from __future__ import annotations

import typer

from s1_engine.errors import S1Error


def curate() -> None:
    """Not yet: curation of s1K-style reasoning sets lands with its own issue."""
    raise S1Error("'s1 curate' is not built yet", "see the open issues")


def register(app: typer.Typer) -> None:
    app.command("curate")(curate)
