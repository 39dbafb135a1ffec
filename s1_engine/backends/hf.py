"""transformers backend: a manual KV-cache loop, for small models on a laptop and for tests.

One worker thread owns the model and steps every active request one token at a time,
round-robin, so requests proceed independently (no lockstep rounds). A continuation
of the same session reuses the KV cache of the previous request up to the common
prefix, the way vLLM's prefix caching does.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import S1Error
from .base import Chunk, GenerateRequest

CACHE_SLOTS = 16


@dataclass
class _Job:
    request: GenerateRequest
    push: Any  # thread-safe callable taking a Chunk or an Exception
    cancelled: threading.Event = field(default_factory=threading.Event)
    cache: Any = None
    cached_ids: list[int] = field(default_factory=list)  # ids whose keys/values are in `cache`
    pending: list[int] = field(default_factory=list)  # ids still to feed before sampling
    generated: int = 0
    generator: Any = None
    held: list[int] = field(default_factory=list)  # tokens of a batch request, sent at its end
    held_lp: list[float] = field(default_factory=list)  # their log probabilities (if asked)
    held_top: list[tuple[float, ...]] = field(default_factory=list)


class HFBackend:
    name = "hf"

    def __init__(
        self,
        model: str,
        tokenizer: Any,
        dtype: str = "auto",
        max_model_len: int | None = None,
        device: str | None = None,
        **_ignored: Any,
    ) -> None:
        self.model_path = model
        self.tokenizer = tokenizer
        self.dtype = dtype
        self.device = device
        self.max_model_len = max_model_len or 0
        self.model: Any = None
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._store: OrderedDict[str, tuple[list[int], Any]] = OrderedDict()
        self._active = 0

    async def start(self) -> None:
        await asyncio.to_thread(self._load)
        self._thread = threading.Thread(target=self._worker, name="s1-hf-backend", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        if self.dtype == "auto":
            dtype = torch.float32 if device == "cpu" else "auto"
        else:
            dtype = getattr(
                torch, {"bf16": "bfloat16", "fp16": "float16"}.get(self.dtype, self.dtype)
            )
        try:
            model = AutoModelForCausalLM.from_pretrained(self.model_path, dtype=dtype)
        except (OSError, ValueError) as e:
            raise S1Error(
                f"cannot load model {self.model_path!r}: {str(e).splitlines()[0]}",
                "check --model (a local folder or a hub id on a machine with the hub)",
            ) from None
        self.model = model.to(device).eval()
        self.device = device
        limit = getattr(model.config, "max_position_embeddings", 0) or 4096
        if self.max_model_len and self.max_model_len > limit:
            raise S1Error(
                f"--max-model-len {self.max_model_len} is above the model's {limit} positions",
                f"use --max-model-len {limit} or less",
            )
        self.max_model_len = self.max_model_len or limit

    def num_unfinished(self) -> int:
        return self._active + self._jobs.qsize()

    async def shutdown(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            await asyncio.to_thread(self._thread.join, 5)
            self._thread = None
        self._store.clear()

    async def generate(self, request: GenerateRequest) -> AsyncIterator[Chunk]:
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[Chunk | Exception] = asyncio.Queue()

        def push(item: Chunk | Exception) -> None:
            loop.call_soon_threadsafe(inbox.put_nowait, item)

        job = _Job(request, push)
        self._jobs.put(job)
        try:
            while True:
                item = await inbox.get()
                if isinstance(item, Exception):
                    raise item
                yield item
                if item.finish_reason is not None:
                    return
        finally:
            job.cancelled.set()

    # ----- worker thread -----------------------------------------------------------
    def _worker(self) -> None:
        import torch

        active: list[_Job] = []
        with torch.inference_mode():
            while True:
                try:
                    while True:
                        job = self._jobs.get(block=not active)
                        if job is None:
                            return
                        active.append(job)
                except queue.Empty:
                    pass
                self._active = len(active)
                for job in list(active):
                    try:
                        finished = job.cancelled.is_set() or self._step(job)
                    except Exception as e:  # surface to the awaiting request, keep serving
                        job.push(e)
                        finished = True
                    if finished:
                        self._remember(job)
                        active.remove(job)
                        self._active = len(active)

    def _remember(self, job: _Job) -> None:
        key = job.request.cache_key
        if key is None or job.cache is None:
            return
        self._store[key] = (job.cached_ids, job.cache)
        self._store.move_to_end(key)
        while len(self._store) > CACHE_SLOTS:
            self._store.popitem(last=False)

    def _begin(self, job: _Job) -> None:
        import torch
        from transformers import DynamicCache

        ids = job.request.prompt_ids
        key = job.request.cache_key
        cached = self._store.pop(key, None) if key is not None else None
        common = 0
        if cached is not None:
            old_ids, old_cache = cached
            limit = min(len(old_ids), len(ids) - 1)  # always feed at least one token
            while common < limit and old_ids[common] == ids[common]:
                common += 1
            if common > 0:
                extra = old_cache.get_seq_length() - common
                if extra > 0:
                    old_cache.crop(-extra)
                job.cache = old_cache
        if job.cache is None:
            common = 0
            job.cache = DynamicCache()
        job.cached_ids = list(ids[:common])
        job.pending = list(ids[common:])
        seed = job.request.sampling.seed
        if seed is not None:
            job.generator = torch.Generator(device=self.device).manual_seed(seed)

    def _step(self, job: _Job) -> bool:
        """Feed pending ids, sample one token, push it. True when the request is over."""
        import torch

        if job.cache is None:
            self._begin(job)
        req = job.request
        x = torch.tensor([job.pending], device=self.device)
        out = self.model(input_ids=x, past_key_values=job.cache, use_cache=True)
        job.cache = out.past_key_values
        job.cached_ids.extend(job.pending)
        logits = out.logits[0, -1].float()
        # the raw distribution, before any mask (as vLLM's "raw_logprobs"), if asked
        raw = torch.log_softmax(logits, dim=-1) if req.logprobs is not None else None
        if job.generated < req.min_tokens and req.stop_ids:
            logits[sorted(req.stop_ids)] = -float("inf")  # as vLLM's min_tokens
        if req.ban_ids:
            logits[sorted(req.ban_ids)] = -float("inf")  # as vLLM's logit_bias of -100
        token = self._sample(logits, job)
        job.generated += 1
        job.pending = [token]
        reason = None
        if token in req.stop_ids:
            reason = "stop"
        elif job.generated >= req.max_tokens or len(job.cached_ids) + 1 >= self.max_model_len:
            reason = "length"
        if raw is not None:
            k = min(int(req.logprobs or 0), raw.numel())
            job.held_lp.append(float(raw[token]))
            job.held_top.append(tuple(torch.topk(raw, k).values.tolist()) if k else ())
        job.held.append(token)  # batch work: one chunk at the end, as vLLM's FINAL_ONLY
        if req.stream or reason is not None:
            lp = (job.held_lp, job.held_top) if raw is not None else (None, None)
            job.push(Chunk(job.held, reason, *lp))
            job.held, job.held_lp, job.held_top = [], [], []
        return reason is not None

    @staticmethod
    def _sample(logits: Any, job: _Job) -> int:
        import torch

        s = job.request.sampling
        if s.temperature <= 0:
            return int(torch.argmax(logits))
        logits = logits / s.temperature
        if s.top_k and s.top_k > 0:
            kth = torch.topk(logits, min(s.top_k, logits.numel())).values[-1]
            logits = torch.where(logits < kth, torch.full_like(logits, -float("inf")), logits)
        probs = torch.softmax(logits, dim=-1)
        if s.top_p < 1.0:
            sorted_p, order = torch.sort(probs, descending=True)
            keep = torch.cumsum(sorted_p, 0) - sorted_p < s.top_p
            mask = torch.zeros_like(probs, dtype=torch.bool)
            mask[order[keep]] = True
            probs = torch.where(mask, probs, torch.zeros_like(probs))
            probs = probs / probs.sum()
        return int(torch.multinomial(probs, 1, generator=job.generator))
