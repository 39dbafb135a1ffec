"""A session whose budget forcing runs inside vLLM's step loop: one engine request from
the first thinking token to the end of the answer.

The logits processor in vLLM's worker (`s1_engine.vllm_plugin`) makes the decisions; this
session replays them on its own copy of the same machine with the same `StepCursor`,
fed by the request's tokens and the processor's hints (`s1_engine.channel`), and so
publishes exactly the items, events, segments and forced mask the continuation path
would. Interventions go to the processor through the channel and take effect at its
next step (no new request); the processor says at which position, and the replay applies
them there. `stop()` aborts the request.

Where the continuation path is still needed (`Session`, this class's base), and why:
- a Wait after the answer on a finished request (the request is over: a new one goes on
  from prompt + output);
- policies whose answer phase samples differently from the thinking, or with top-k /
  top-p (one request samples with one setting; the processor's end draw is exact for the
  temperature alone);
- suppressed words (NoWait): a word is caught as its last token is sampled, and the
  token sampled again without it (a new request of one token with the id masked);
- AlphaOne (`alpha`): past the alpha moment the model's own "Wait" is taken back and
  replaced by the end of thinking;
- DEER's early exit: a probe is a side request (a trial answer after the delimiter),
  which a logits processor inside one request cannot start;
- formats whose end of thinking is a multi-token string (an attempt is seen only once
  it is written) or that are not built in (the worker knows only the built-in formats);
- token confidence (DeepConf's `conf_stop`): the top-k log probabilities come with the
  request's tokens, which the processor does not see;
- the transformers backend, and vLLM with `in_engine_forcing=false`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from .backends.base import Chunk, GenerateRequest
from .cursor import StepCursor
from .forcing import BudgetForcer
from .formats import FORMATS, S1, THINK_TAGS
from .interventions import control_call
from .policy import BudgetPolicy
from .session import Session

BUILT_IN = {S1.name: S1, THINK_TAGS.name: THINK_TAGS}


def in_engine_ok(machine: BudgetForcer) -> bool:
    """Whether the processor can run this request's policy exactly (see the module doc)."""
    p, fmt = machine.policy, machine.fmt
    t, a = p.thinking, p.answer
    same = (t.temperature, t.top_p, t.top_k) == (a.temperature, a.top_p, a.top_k)
    plain = t.temperature == 0 or (t.top_p >= 1 and t.top_k <= 0)
    built_in = BUILT_IN.get(fmt.name) is fmt.fmt and FORMATS.get(fmt.name) is fmt.fmt
    return (
        same
        and plain
        and built_in
        and not fmt.think_stop_strings
        and not p.suppress
        and not p.alpha
        and p.deer_threshold is None
        and p.conf_stop is None
    )


def policy_args(policy: BudgetPolicy) -> dict[str, Any]:
    """A policy as the processor's request fields (`plugin_args.policy_from_args`)."""
    strings = policy.ignore_strings
    return {
        "max_thinking_tokens": policy.max_thinking_tokens,
        "min_thinking_tokens": policy.min_thinking_tokens,
        "num_ignore": policy.num_ignore,
        "ignore_str": list(strings) if strings else "none",
        "answer_max_tokens": policy.answer_max_tokens,
        "lead_in_on_user_end": policy.lead_in_on_user_end,
        "interventions": [list(x) for x in policy.interventions],
        "wrap_up": policy.wrap_up,
        "grace_tokens": policy.grace_tokens,
    }


class InEngineSession(Session):
    """`Session`, with the forcing decisions made in vLLM's step loop."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._seq = 0
        self._sent: dict[int, Callable[[BudgetForcer], bool]] = {}
        self._running = False

    # ----- control: to the processor, through the channel -------------------------------
    def control(self, action: str, **args: object) -> None:
        if self._continued or self.log.done:  # the continuation path has it now
            return super().control(action, **args)
        self._loop.call_soon_threadsafe(self._inbox.put_nowait, ("ctl", 0, (action, args)))

    def _send(self, action: str, args: dict) -> None:
        seq, self._seq = self._seq, self._seq + 1
        self._sent[seq] = control_call(action, args)
        body = json.dumps({"action": action, "args": args}, separators=(",", ":"))
        self._backend.controls.write([f"{self.id} {seq} {body}"])  # type: ignore[attr-defined]

    # ----- the driver, on the engine loop -----------------------------------------------
    async def run(self) -> Any:
        if self._continued:  # reopened after its answer: continuations from here
            return await super().run()
        m = self.machine
        cursor = StepCursor(m, eager=True)
        tokens: list[int] = []
        hints: list[tuple[int, str, int]] = []
        backend: Any = self._backend
        request = GenerateRequest(
            self.id,
            list(m.prompt),
            max(1, m.context_len - len(m.prompt)),
            m.policy.thinking,
            m.fmt.answer_stop_ids,
            cache_key=self.id,
            stream=self.live,
            extra_args={
                **policy_args(m.policy),
                "format": m.fmt.name,
                "s1_id": self.id,
                "s1_channel": backend.channel,
            },
        )
        reader = asyncio.create_task(self._read(1, request))
        error: BaseException | None = None
        stopped = False
        self._flush()
        try:
            while True:
                kind, _, payload = await self._inbox.get()
                if kind == "ctl":
                    action, args = payload
                    if action == "stop":
                        stopped = True
                        break
                    self._send(action, args)
                    continue
                if kind == "cmd":  # a queued call of the base class (none expected)
                    continue
                if kind == "error":
                    raise payload
                chunk: Chunk = payload
                tokens.extend(chunk.token_ids)
                finished = chunk.finish_reason is not None
                self._replay(cursor, tokens, hints, len(tokens) if finished else len(tokens) - 1)
                if finished:
                    cursor.finish(tokens, chunk.finish_reason or "stop")
                    self._check(tokens)
                    break
                self._flush()
        except asyncio.CancelledError:
            error = RuntimeError("the engine was closed")
        except Exception as e:  # noqa: BLE001 - the engine died, or a bug: end the request
            error = e
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        if stopped:  # aborted: what arrived stands, then the stop
            self._replay(cursor, tokens, hints, len(tokens))
            cursor.control(tokens, len(tokens), lambda mm: mm.stop())
        return self._close_run(error)

    def _replay(
        self, cursor: StepCursor, tokens: list[int], hints: list[tuple[int, str, int]], upto: int
    ) -> None:
        """Walk the machine over tokens[:upto], applying the processor's hints in order."""
        reader: Any = self._backend.hints  # type: ignore[attr-defined]
        reader.pull()
        hints.extend(reader.take(self.id))
        while hints and hints[0][0] <= upto:
            p, kind, arg = hints.pop(0)
            if kind == "end":
                cursor.end_attempt(tokens, p, arg)
            elif arg in self._sent:
                cursor.control(tokens, p, self._sent.pop(arg))
        cursor.feed_to(tokens, upto)

    def _check(self, tokens: list[int]) -> None:
        """The engine's tokens must be the machine's, forced ones included (a bug else)."""
        m = self.machine
        if tokens[: len(m.out)] != m.out[: len(tokens)]:
            at = next(i for i, (a, b) in enumerate(zip(tokens, m.out)) if a != b)
            raise RuntimeError(f"the engine's token {at} left the budget-forcing plan")
