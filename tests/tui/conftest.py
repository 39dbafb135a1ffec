"""Fixtures of the console tests: a private data dir, settings, an app on a real engine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from s1_engine.settings import EngineOptions, PolicyOptions

Q = "What is 1+2?"
SIZE = (120, 36)
SIZES = [(80, 24), (160, 48)]  # the smallest terminal we promise, and a large one


@pytest.fixture(autouse=True)
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """History goes to a temp data dir; no user config file is read."""
    data = tmp_path / "data"
    monkeypatch.setenv("S1_DATA_DIR", str(data))
    monkeypatch.setenv("S1_CONFIG", str(tmp_path / "no-config.toml"))
    return data


def make_settings(
    format: str = "auto",
    max_thinking: str = "auto",
    demo: str = "",
    reference: str = "",
    budget_step: int = 256,
    answer_max_tokens: int = 16,
    pace: float = 0.0,
    model: str | None = None,
    backend: str = "hf",
    **engine: object,
):
    from s1_tui.settings import TuiOptions, load_settings

    return load_settings(
        EngineOptions(model=model, backend=backend, format=format, **engine),  # type: ignore[arg-type]
        PolicyOptions(max_thinking=max_thinking, answer_max_tokens=answer_max_tokens),
        TuiOptions(demo=demo, reference=reference, budget_step=budget_step, pace=pace),
    )


def make_app(engine=None, clock: Callable[[], float] = time.perf_counter, load=True, **kw):
    from s1_tui.app import S1App

    return S1App(make_settings(**kw), engine, clock=clock, load=load)


async def until(pilot, cond: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    """Let the app run until cond() holds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await pilot.pause(0.02)


async def ask(pilot, question: str = Q) -> None:
    """Type the question in the prompt box and press Enter, like a user."""
    app = pilot.app
    app.query_one("#prompt").focus()
    await pilot.press(*question)
    await pilot.press("enter")
    main = app.main
    await until(pilot, lambda: main.runs and main.runs[0].session is not None, 10, "the run")


async def finished(pilot, timeout: float = 60.0) -> None:
    main = pilot.app.main
    await until(pilot, lambda: main.runs and all(r.finished for r in main.runs), timeout, "finish")
    await pilot.pause(0.1)
    await asyncio.sleep(0)


def kinds(run) -> list[tuple[str, str]]:
    return [(e.kind, e.cause) for e in run.trace.events]


def said(app) -> list[str]:
    """The notifications the app has shown (Textual keeps them privately: read here,
    in a test only)."""
    return [n.message for n in app._notifications]


@pytest.fixture(scope="session")
def embedded():
    """The embedded tiny-s1 model on transformers, shared (fast: it thinks ~70 tokens)."""
    from s1_engine import Engine

    engine = Engine(backend="hf")
    yield engine
    engine.close()
