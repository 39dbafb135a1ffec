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
import threading
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .backends import Workload, make_backend, resolve_backend_name
from .enginelog import EngineLog
from .errors import S1Error
from .events import Result
from .forcing import BudgetForcer
from .formats import BoundFormat, bind_format, detect_format, get_format
from .policy import BudgetPolicy
from .session import Session
from .spawn import ensure_resource_tracker

T = TypeVar("T")
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


class _LoopThread:
    """An asyncio loop running forever in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="s1-engine", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


def load_tokenizer(model: str) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(model)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise S1Error(
            f"cannot load the tokenizer of {model!r}: {first}",
            "check --model: a local model folder, or a hub id on a machine with the hub",
        ) from None


def _generation_eos_ids(model: str) -> tuple[int, ...]:
    try:
        from transformers import GenerationConfig

        eos = GenerationConfig.from_pretrained(model).eos_token_id
    except Exception:
        return ()
    if eos is None:
        return ()
    return tuple(eos) if isinstance(eos, list | tuple) else (int(eos),)


class Engine:
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
        workload: Workload = "live",
        log: EngineLog | None = None,
    ) -> None:
        """`workload` picks the backend under "auto" (live: one request at a time; batch:
        many). With `log`, the engine's own output (vLLM's logs, its processes' prints)
        goes to that file instead of the terminal, and a start-up error carries its tail."""
        self.model = str(model) if model else default_model()
        if os.path.sep in self.model and not os.path.exists(self.model):
            raise S1Error(f"no model folder at {self.model!r}", "check the path given to --model")
        self.log = log
        self.backend_name = resolve_backend_name(backend, workload, bool(engine_args))
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
        self._eos_ids = _generation_eos_ids(self.model)
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
        self._loop = _LoopThread()
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
        tok = self.tokenizer
        return BudgetForcer(
            self.prompt_ids(prompt, format=format),
            self.bound_format(format),
            policy or BudgetPolicy(),
            self.max_model_len,
            encode=lambda s: tok.encode(s, add_special_tokens=False),
            decode=lambda ids: tok.decode(list(ids), skip_special_tokens=False),
        )

    def start(
        self,
        prompt: Prompt,
        policy: BudgetPolicy | None = None,
        format: str | None = None,
        paused: bool = False,
        live: bool = True,
    ) -> Session:
        """Start one request and return its live session (thread-safe).

        `paused=True` returns it unstarted: interventions queued before `begin()` apply
        before the first token (e.g. `force_wait(now=False)`: Wait at the first end attempt).
        `live=False` is for batch work (evaluation): tokens arrive per backend request,
        not per token, and stream items carry no text; the result is the same, token for
        token, and much cheaper for thousands of concurrent requests. Interventions still
        work but take effect at the next backend request boundary.
        """
        if self._closed:
            raise S1Error("the engine is closed", "create a new Engine")
        session = Session(
            f"s{next(self._ids)}",
            self._machine(prompt, policy, format),
            self.backend,
            self.tokenizer,
            self._loop.loop,
            live=live,
        )
        if not paused:
            session.begin()
        return session

    def generate(
        self, prompt: Prompt, policy: BudgetPolicy | None = None, format: str | None = None
    ) -> Result:
        return self.start(prompt, policy, format).result()

    def generate_many(
        self,
        prompts: Sequence[Prompt],
        policies: BudgetPolicy | Sequence[BudgetPolicy] | None = None,
    ) -> list[Result]:
        """Run all requests concurrently, each on its own schedule; results in input order."""
        if policies is None or isinstance(policies, BudgetPolicy):
            policies = [policies or BudgetPolicy()] * len(prompts)
        if len(policies) != len(prompts):
            raise S1Error(
                f"{len(prompts)} prompts but {len(policies)} policies", "give one policy per prompt"
            )
        sessions = [self.start(p, pol, live=False) for p, pol in zip(prompts, policies)]
        return [s.result() for s in sessions]

    # ----- lifetime ---------------------------------------------------------------------
    def close(self) -> None:
        """End every running request (its result says so), stop the backend and the loop.

        Safe after Ctrl-C: no request is left pending, so nothing is torn down mid-task."""
        if self._closed:
            return
        self._closed = True
        try:
            self._loop.run(_end_requests(), timeout=30)
            self._loop.run(self.backend.shutdown(), timeout=30)
        finally:
            self._loop.stop()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "backend": self.backend_name,
            "format": self.format.name,
            "max_model_len": self.max_model_len,
        }
