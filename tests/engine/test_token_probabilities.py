"""Token probabilities in the backend protocol (`GenerateRequest.logprobs`): the sampled
tokens' log probabilities, and the k largest of each position, from both backends, under
the model's raw distribution; nothing is computed where a request does not ask.

The scripted model's logits are exact: after the final norm a one-hot state is sqrt(H)
at its id, and the LM head holds 1.0 for the successor and 0.5 for a second choice, so
the successor's logit is sqrt(H), a second choice's sqrt(H)/2, every other one 0.
"""

from __future__ import annotations

import math

import pytest

from s1_engine.backends.base import GenerateRequest
from s1_engine.policy import SamplingConfig


async def _collect(backend, request):
    return [c async for c in backend.generate(request)]


def run(engine, **kw):
    tok = engine.tokenizer
    prompt = tok.encode("<|im_start|>assistant\n<think>\n", add_special_tokens=False)
    base = {
        "request_id": f"lp-{kw.get('logprobs')}-{kw.get('stream', True)}-{id(kw)}",
        "prompt_ids": prompt,
        "max_tokens": 4,
        "sampling": SamplingConfig(),
        "stop_ids": frozenset(),
    }
    return engine._loop.run(_collect(engine.backend, GenerateRequest(**{**base, **kw})))


def hidden(engine) -> int:
    import json
    from pathlib import Path

    return json.loads((Path(engine.model) / "config.json").read_text())["hidden_size"]


@pytest.mark.parametrize("stream", [True, False])
def test_sampled_and_top_logprobs_on_both_backends(engine, stream):
    chunks = run(engine, logprobs=3, stream=stream)
    ids = [t for c in chunks for t in c.token_ids]
    lps = [x for c in chunks for x in c.logprobs]
    tops = [x for c in chunks for x in c.top_logprobs]
    cycle = [engine.tokenizer.encode(w, add_special_tokens=False)[0] for w in (" ua", " ub", " uc")]
    assert ids == cycle + cycle[:1]  # after "<think>\n" the scripted model cycles ua ub uc
    assert len(lps) == len(tops) == 4 and all(len(t) == 3 for t in tops)
    root = math.sqrt(hidden(engine))
    for lp, top in zip(lps, tops):
        assert lp == top[0] and math.exp(lp) > 0.9999  # greedy: the sampled id is the top one
        assert list(top) == sorted(top, reverse=True)
        assert top[1] == pytest.approx(-root, abs=0.2)  # a logit of 0 against sqrt(H)


def test_no_probabilities_unless_asked(engine):
    chunks = run(engine, logprobs=None)
    assert all(c.logprobs is None and c.top_logprobs is None for c in chunks)
    chunks = run(engine, logprobs=0)  # only the sampled tokens'
    assert all(len(c.logprobs) == len(c.token_ids) for c in chunks)
    assert all(t == () for c in chunks for t in c.top_logprobs)


def test_probabilities_are_raw_before_masks(engine):
    """A banned id is never sampled, yet the log probability is the model's own (vLLM's
    "raw_logprobs"): the second choice's, against the masked first choice."""
    tok = engine.tokenizer
    ua, ub = (tok.encode(w, add_special_tokens=False)[0] for w in (" ua", " ub"))
    chunks = run(engine, logprobs=2, ban_ids=frozenset({ua}), max_tokens=1)
    (token,), (lp,) = chunks[0].token_ids, chunks[0].logprobs
    assert token != ua and lp < -5  # not the model's choice: improbable under its raw logits
    assert chunks[0].top_logprobs[0][0] > -1e-4  # the masked id still tops the raw list
