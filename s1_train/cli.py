"""`s1 train`: supervised fine-tuning with TRL."""

from __future__ import annotations

import typer

from s1_engine.errors import S1Error


def train() -> None:
    """Not yet: supervised fine-tuning with TRL lands with its own issue."""
    raise S1Error("'s1 train' is not built yet", "see the open issues")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
