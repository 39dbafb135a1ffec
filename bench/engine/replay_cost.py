"""The session side of an in-engine batch request: what replaying its finished tokens costs.

A batch session gets its request's tokens in one chunk when the request ends, then walks
`s1_engine.forcing`'s machine over them (`StepCursor.feed_to`, eager) to rebuild the events
and the text. At 1,024 requests that runs after the last decode step, serially, in the API
process; this measures it alone (no engine), per format, so its share of the gap to bare
vLLM (bench/engine/in_engine.md) is known.

    python bench/engine/replay_cost.py --tokens 512 --sessions 1024
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(BENCH), str(BENCH.parent)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=512, help="thinking budget per request")
    ap.add_argument("--sessions", type=int, default=1024, help="requests of one batch")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    from common import versions
    from transformers import AutoTokenizer

    from s1_engine import BudgetForcer, BudgetPolicy
    from s1_engine.cursor import StepCursor
    from s1_engine.formats import S1, THINK_TAGS, bind_format
    from s1_engine.testing import make_scripted_model

    tok = AutoTokenizer.from_pretrained(str(make_scripted_model(Path(tempfile.mkdtemp()) / "m")))

    def machine(fmt, policy) -> BudgetForcer:  # noqa: ANN001
        prompt = tok.encode(
            "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n" + fmt.prompt_suffix
        )
        return BudgetForcer(
            prompt,
            bind_format(fmt, tok),
            policy,
            args.tokens * 2 + 256,
            encode=lambda s: tok.encode(s, add_special_tokens=False),
            decode=lambda ids: tok.decode(list(ids), skip_special_tokens=False),
        )

    rng = random.Random(0)
    print(versions())
    for name, fmt, waits in (
        ("plain (think-tags)", THINK_TAGS, 0),
        ("forced (s1, 3 Waits)", S1, 3),
    ):
        policy = BudgetPolicy(
            max_thinking_tokens=args.tokens, answer_max_tokens=12, num_ignore=waits
        )
        bound = bind_format(fmt, tok)
        banned = set(bound.think_stop_ids) | set(bound.answer_stop_ids)
        words = [i for i in range(len(tok)) if i not in banned][:200]
        end = sorted(bound.think_stop_ids)[0]
        m = machine(fmt, policy)  # one run of the machine gives the engine's tokens
        sampled = 0
        while (step := m.next_step()) is not None:
            for _ in range(step.max_tokens):
                sampled += 1  # the model tries to end every 128 tokens, as in in_engine.py
                if m.feed(
                    end
                    if waits and step.phase == "think" and sampled % 128 == 0
                    else rng.choice(words)
                ):
                    break
            else:
                m.on_request_end("length")
        tokens = list(m.out)
        forced = sum(e.kind == "wait" for e in m.events)
        per = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            for _ in range(64):
                cursor = StepCursor(machine(fmt, policy), eager=True)
                cursor.finish(tokens, "stop")
            per.append((time.perf_counter() - t0) / 64)
        ms = statistics.median(per) * 1e3
        print(
            f"{name}: {len(tokens)} tokens, {forced} Waits, replay {ms:.3f} ms a session "
            f"({min(per) * 1e3:.3f}-{max(per) * 1e3:.3f}), x{args.sessions} = {ms * args.sessions / 1e3:.2f} s"
        )


if __name__ == "__main__":
    main()
