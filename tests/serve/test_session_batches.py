"""`Session.stream_batches()`: the items of `stream()`, grouped as they arrived."""

from __future__ import annotations

import asyncio

from s1_engine import BudgetPolicy, TokenDelta


def test_batches_flatten_to_the_stream(vllm_engine):
    async def read(session):
        return [batch async for batch in session.stream_batches()]

    s = vllm_engine.start("What is 1+2?", BudgetPolicy(num_ignore=2), paused=True)
    s.begin()
    batches = asyncio.run(read(s))
    r = s.result(60)
    assert all(batches), "an empty batch"
    assert [x for b in batches for x in b] == s.items()
    assert sum(len(x.token_ids) for b in batches for x in b if isinstance(x, TokenDelta)) == len(
        r.output_ids
    )
    # a late reader gets everything at once
    assert asyncio.run(read(s)) == [s.items()]
