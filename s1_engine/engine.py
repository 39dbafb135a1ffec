"""The public front: one object that loads a model and runs budget-forced requests.

    engine = Engine("path/or/hub-id", backend="auto")
    result = engine.generate("What is 2+2?", BudgetPolicy(max_thinking_tokens=512))
    session = engine.start("...", policy)   # live: stream + interventions

The backend lives on a private event loop in a background thread, so the same
engine serves plain scripts, pytest, and a Textual app (which has its own loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .backends import Concurrency, make_backend, resolve_backend_name
from .detok import codec
from .engine_base import EngineBase
from .enginelog import EngineLog
from .errors import S1Error
from .forcing import BudgetForcer
from .formats import BoundFormat, bind_format, detect_format, get_format
from .inengine import InEngineSession, in_engine_ok
from .loopthread import LoopThread
from .modelfiles import generation_eos_ids, load_tokenizer
from .policy import BudgetPolicy
from .session import Session
from .spawn import ensure_resource_tracker

Prompt = str | Sequence[int] | Sequence[dict]

DEFAULT_MODEL_DIR = Path(__file__).parent / "assets" / "tiny-s1"
# a question of the kinds the embedded model was trained on (s1_data.synthetic), one it
# answers too early unless it is made to "Wait": what front ends offer as an example
DEFAULT_MODEL_EXAMPLE = "How many times can 3 be taken from 22?"


def default_model() -> str:
    """The embedded default model shipped inside the package."""
    if not (DEFAULT_MODEL_DIR / "config.json").exists():
        raise S1Error(
            "the embedded default model is not in this install",
            "pass --model PATH_OR_HUB_ID (or build it: see README, 'The embedded default model')",
        )
    return str(DEFAULT_MODEL_DIR)


def _log_tail(log: EngineLog) -> str:
    lines = log.tail()
    if not lines:
        return f"log: {log.path}"
    return f"last lines of {log.path}:\n" + "\n".join("  " + line for line in lines)


async def _end_requests() -> None:
    me = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not me]
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class Engine(EngineBase):
    """A model, its tokenizer and thinking format, and a running backend."""

    def __init__(
        self,
        model: str | None = None,
        backend: str = "auto",
        format: str = "auto",
        dtype: str = "auto",
        max_model_len: int | None = None,
        seed: int = 0,
        engine_args: dict[str, Any] | None = None,
        concurrency: Concurrency = "one",
        log: EngineLog | None = None,
    ) -> None:
        """`concurrency` picks the backend under "auto" (one request at a time, as a
        console asks; or many, as an evaluation or a server). With `log`, the engine's own output (vLLM's logs, its processes' prints)
        goes to that file instead of the terminal, and a start-up error carries its tail."""
        self.model = str(model) if model else default_model()
        if os.path.sep in self.model and not os.path.exists(self.model):
            raise S1Error(f"no model folder at {self.model!r}", "check the path given to --model")
        self.log = log
        self.backend_name = resolve_backend_name(backend, concurrency, bool(engine_args))
        if self.backend_name == "hf" and engine_args:
            names = ", ".join(sorted(engine_args))
            raise S1Error(
                f"vLLM engine settings ({names}) do nothing on the transformers backend",
                "add --backend vllm, or leave them out",
            )
        if log is not None:
            log.route_library_logs()
        self._closed = True
        try:
            with log.capture() if log is not None else contextlib.nullcontext():
                ensure_resource_tracker()  # its process inherits the log as its stderr
                self._start(format, dtype, max_model_len, seed, engine_args)
        except S1Error as e:
            if log is not None and not e.details:
                e.details = _log_tail(log)
            raise
        self._closed = False

    def _start(
        self,
        format: str,
        dtype: str,
        max_model_len: int | None,
        seed: int,
        engine_args: dict[str, Any] | None,
    ) -> None:
        self.tokenizer = load_tokenizer(self.model)
        self._codec = codec(self.tokenizer)
        self._eos_ids = generation_eos_ids(self.model)
        self._formats: dict[str, BoundFormat] = {}
        self.format: BoundFormat = self.bound_format(format)
        self._ids = itertools.count()
        self.backend = make_backend(
            self.backend_name,
            self.model,
            self.tokenizer,
            dtype=dtype,
            max_model_len=max_model_len,
            engine_args=engine_args,
            seed=seed,
        )
        self._loop = LoopThread()
        try:
            self._loop.run(self.backend.start())
        except BaseException:
            self._loop.stop()
            raise
        self.max_model_len: int = self.backend.max_model_len

    def bound_format(self, name: str | None = None) -> BoundFormat:
        """The engine's format (None), or another one by name, resolved for this tokenizer."""
        if name is None:
            return self.format
        if name not in self._formats:
            fmt = detect_format(self.tokenizer) if name == "auto" else get_format(name)
            self._formats[name] = bind_format(fmt, self.tokenizer, self._eos_ids)
        return self._formats[name]

    # ----- prompts -----------------------------------------------------------------------
    def prompt_ids(
        self, prompt: Prompt, system: str | None = None, format: str | None = None
    ) -> list[int]:
        """Token ids for a question (chat template + the format's thinking start)."""
        if isinstance(prompt, str):
            messages: list[dict] = [{"role": "user", "content": prompt}]
            if system:
                messages.insert(0, {"role": "system", "content": system})
        elif prompt and isinstance(prompt[0], dict):
            messages = list(prompt)  # type: ignore[arg-type]
        else:
            return [int(t) for t in prompt]  # type: ignore[union-attr]
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:
            text = "\n\n".join(m["content"] for m in messages) + "\n\n"
        fmt = self.bound_format(format).fmt
        tail = text[text.rfind("assistant") :] if "assistant" in text else text[-64:]
        if fmt.think_start not in tail:
            text += fmt.prompt_suffix
        return tok.encode(text, add_special_tokens=False)

    # ----- requests ---------------------------------------------------------------------
    def _machine(
        self, prompt: Prompt, policy: BudgetPolicy | None, format: str | None
    ) -> BudgetForcer:
        return BudgetForcer(
            self.prompt_ids(prompt, format=format),
            self.bound_format(format),
            policy or BudgetPolicy(),
            self.max_model_len,
            *self._codec,
        )

    def start(
        self,
        prompt: Prompt,
        policy: BudgetPolicy | None = None,
        format: str | None = None,
        paused: bool = False,
        live: bool = True,
        in_engine: bool | None = None,
    ) -> Session:
        """Start one request and return its live session (thread-safe).

        `paused=True` returns it unstarted: interventions queued before `begin()` apply
        before the first token (e.g. `force_wait(now=False)`: Wait at the first end attempt).
        `live=False` is for batch work (evaluation): tokens arrive per backend request,
        not per token, and stream items carry no text; the result is the same, token for
        token, and much cheaper for thousands of concurrent requests. Interventions still
        work but take effect at the next backend request boundary.

        `in_engine`: budget forcing inside vLLM's step loop (`s1_engine.inengine`); None
        takes it wherever the backend and the policy allow it, False the continuation path.
        """
        if self._closed:
            raise S1Error("the engine is closed", "create a new Engine")
        machine = self._machine(prompt, policy, format)
        if in_engine is None:
            in_engine = getattr(self.backend, "in_engine", False) and in_engine_ok(machine)
        kind = InEngineSession if in_engine else Session
        session = kind(
            f"s{next(self._ids)}",
            machine,
            self.backend,
            self.tokenizer,
            self._loop.loop,
            live=live,
        )
        if not paused:
            session.begin()
        return session

    def num_unfinished(self) -> int:
        """Requests the backend still holds (0 once every session is finished)."""
        return self.backend.num_unfinished()

    # ----- lifetime ---------------------------------------------------------------------
    @property
    def format_name(self) -> str:
        return self.format.name

    def _shutdown(self) -> None:
        """End every running request (its result says so) and stop the backend: safe after
        Ctrl-C, as no request is left pending, so nothing is torn down mid-task."""
        self._loop.run(_end_requests(), timeout=30)
        self._loop.run(self.backend.shutdown(), timeout=30)
