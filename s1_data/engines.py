"""The models of the engine stages (traces, difficulty, diversity), by name.

An engine is built on first use by a factory the caller passes: the library's own
(`build_engine`) sends the engine's output to a log file; the CLI passes one that also
shows a loading line. Tests pass ready engines (`preset`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from s1_engine.errors import S1Error
from s1_engine.settings import EngineOptions

EngineFactory = Callable[[EngineOptions, int], Any]  # (settings with the model, seed) -> Engine


def build_engine(opts: EngineOptions, seed: int) -> Any:
    """An engine for batch work, its own output in a log file (on the terminal with
    --verbose)."""
    from s1_engine.enginelog import EngineLog

    log = None if opts.verbose else EngineLog.new("curate")
    return opts.build(seed, "batch", log)


class Engines:
    """Engines by model, built on first use; building one closes the one before (two
    32B models would not fit one GPU together); presets (tests) stay open."""

    def __init__(
        self,
        opts: EngineOptions | None = None,
        preset: dict[str, Any] | None = None,
        seed: int = 0,
        build: EngineFactory | None = None,
    ) -> None:
        self.opts = opts or EngineOptions()
        self.preset = {str(k): v for k, v in (preset or {}).items()}
        self.built: dict[str, Any] = {}
        self.seed = seed
        self.build = build or build_engine

    def resolve(self, name: str | None) -> str:
        if name:
            return str(name)
        if self.opts.model:
            return str(self.opts.model)
        if len(self.preset) == 1:
            return next(iter(self.preset))
        from s1_engine.engine import default_model

        return default_model()

    def label(self, name: str | None) -> str:
        return str(
            name
            or self.opts.model
            or (next(iter(self.preset)) if len(self.preset) == 1 else "(default)")
        )

    def get(self, name: str | None) -> Any:
        key = self.resolve(name)
        if key in self.preset:
            return self.preset[key]
        if key not in self.built:
            self.close()  # one model in memory at a time: stages run one after another
            self.built[key] = self.build(replace(self.opts, model=key), self.seed)
        return self.built[key]

    def token_counter(self, name: str | None) -> tuple[Callable[[str], int], str]:
        """A function counting tokens with the model's tokenizer, or an estimate."""
        from .stages.traces import estimate_tokens

        try:
            key = self.resolve(name)
            eng = self.preset.get(key) or self.built.get(key)
            if eng is not None:
                tok = eng.tokenizer
            else:
                from s1_engine.engine import load_tokenizer

                tok = load_tokenizer(key)
        except S1Error:
            return estimate_tokens, "estimate (words and punctuation)"
        return (
            lambda text: len(tok.encode(text or "", add_special_tokens=False))
        ), f"tokenizer:{key}"

    def close(self) -> None:
        for eng in self.built.values():
            eng.close()
        self.built.clear()
