"""Budget-forcing overhead on the vLLM engine, side by side in one run.

Three ways to produce the same tokens for a batch of requests:

- uninterrupted: each request thinks N tokens in one go (think-tags format, budget N),
  then answers: one backend request per phase;
- forced: each request is stopped K times by the model and continued with "Wait"
  (s1 format, num_ignore=K) for the same N thinking tokens: K+2 backend requests each,
  every continuation starting as soon as its own request needs it;
- lockstep: the reference implementation's rounds: every request of a round is
  resubmitted with its output so far, and the next round starts when all have finished.

The model is s1_engine.testing's scripted Qwen2 model (deterministic ends of thinking
every `segment` tokens) with extra layers for real per-token compute.

    python bench/engine/forcing_overhead.py --requests 32 --segment 192 --waits 7
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")


def run_engine(engine, prompts, policy, fmt):
    t = time.perf_counter()
    results = (
        engine.generate_many(prompts, policy)
        if fmt is None
        else [s.result() for s in [engine.start(p, policy, format=fmt) for p in prompts]]
    )
    return time.perf_counter() - t, results


async def _lockstep(engine, prompt_ids, rounds, segment, answer_tokens):
    """The reference code's rounds on the same AsyncLLM: resubmit all, wait for all."""
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt

    llm = engine.backend.engine
    fmt = engine.bound_format("s1")
    wait_ids = engine.tokenizer.encode("Wait", add_special_tokens=False)
    contexts = [list(p) for p in prompt_ids]
    counter = [0]

    async def one(ctx, max_tokens, stop):
        counter[0] += 1
        params = SamplingParams(
            max_tokens=max_tokens,
            temperature=0.0,
            stop_token_ids=sorted(stop),
            detokenize=False,
            skip_special_tokens=False,
        )
        last = None
        async for o in llm.generate(
            TokensPrompt(prompt_token_ids=ctx), params, f"lock-{counter[0]}"
        ):
            last = o
        return list(last.outputs[0].token_ids)

    sampled = 0
    for r in range(rounds):
        outs = await asyncio.gather(*[one(c, segment + 1, fmt.think_stop_ids) for c in contexts])
        for c, o in zip(contexts, outs):
            if o and o[-1] in fmt.think_stop_ids:
                o = o[:-1]  # drop the stop token
            sampled += len(o)
            c.extend(o + (wait_ids if r < rounds - 1 else list(fmt.think_end_ids)))
    outs = await asyncio.gather(*[one(c, answer_tokens, fmt.answer_stop_ids) for c in contexts])
    sampled += sum(len(o) for o in outs)
    return sampled


def compare(engine, requests: int, segment: int, waits: int, repeats: int, log=print) -> dict:
    """Time the three methods side by side on `engine` (a scripted model with
    think_len=segment, wait_len=segment-1). Returns medians, token counts and ratios."""
    from s1_engine import BudgetPolicy

    seg, k = segment, waits
    n_think = seg + k * seg  # first segment, then K x ("Wait" + seg-1 tokens)
    prompts = [f"Question {i}: what is {i}+{i}?" for i in range(requests)]
    forced = BudgetPolicy(num_ignore=k, answer_max_tokens=16)
    plain = BudgetPolicy(max_thinking_tokens=n_think, answer_max_tokens=16)
    engine.generate_many(prompts[:2], forced)  # warm-up: compilation, the template's prefix

    times: dict[str, list[float]] = {"uninterrupted": [], "forced": [], "lockstep": []}
    tokens: dict[str, int] = {}
    for rep in range(repeats):
        order = ["uninterrupted", "forced", "lockstep"]
        if rep % 2:
            order.reverse()
        for name in order:
            if name == "uninterrupted":
                sec, res = run_engine(engine, prompts, plain, "think-tags")
                assert all(r.thinking_tokens == n_think for r in res)
                tokens[name] = sum(len(r.output_ids) - sum(r.forced_mask) for r in res)
            elif name == "forced":
                sec, res = run_engine(engine, prompts, forced, "s1")
                assert all(r.thinking_tokens == n_think for r in res), [
                    r.thinking_tokens for r in res
                ]
                assert all(r.count("wait", "budget") == k for r in res)
                tokens[name] = sum(len(r.output_ids) - sum(r.forced_mask) for r in res)
            else:
                ids = [engine.prompt_ids(p, format="s1") for p in prompts]
                t = time.perf_counter()
                tokens[name] = engine._loop.run(_lockstep(engine, ids, k + 1, seg, 16))
                sec = time.perf_counter() - t
            times[name].append(sec)
            log(f"rep {rep} {name:14s} {sec:7.2f} s  sampled tokens {tokens[name]}")
    med = {n: statistics.median(v) for n, v in times.items()}
    # each repeat is one pair (same conditions, order alternated): the ratio per pair,
    # its median and spread, resolve what the medians of separate series may not
    pairs = {
        n: [a / b for a, b in zip(v, times["uninterrupted"])]
        for n, v in times.items()
        if n != "uninterrupted"
    }
    return {
        "requests": requests,
        "thinking_tokens": n_think,
        "waits": k,
        "repeats": repeats,
        "seconds": med,
        "seconds_min": {n: min(v) for n, v in times.items()},
        "seconds_max": {n: max(v) for n, v in times.items()},
        "all_seconds": times,
        "sampled_tokens": tokens,
        "ratio": {n: med[n] / med["uninterrupted"] for n in med},
        "pair_ratios": pairs,
        "pair_ratio_median": {n: statistics.median(v) for n, v in pairs.items()},
        "pair_ratio_min": {n: min(v) for n, v in pairs.items()},
        "pair_ratio_max": {n: max(v) for n, v in pairs.items()},
    }


def table(r: dict) -> list[str]:
    lines = [
        "| method | seconds: median (min-max) | sampled tokens | ratio to uninterrupted: "
        "median of pairs (min-max) |",
        "| --- | --- | --- | --- |",
    ]
    for name in ("uninterrupted", "forced", "lockstep"):
        sec = (
            f"{r['seconds'][name]:.2f} ({r['seconds_min'][name]:.2f}-{r['seconds_max'][name]:.2f})"
        )
        if name == "uninterrupted":
            ratio = "1"
        else:
            ratio = (
                f"{r['pair_ratio_median'][name]:.3f}x ({r['pair_ratio_min'][name]:.3f}-"
                f"{r['pair_ratio_max'][name]:.3f})"
            )
        lines.append(f"| {name} | {sec} | {r['sampled_tokens'][name]} | {ratio} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=32)
    ap.add_argument("--segment", type=int, default=192, help="thinking tokens between two ends")
    ap.add_argument("--waits", type=int, default=7, help="forced continuations per request (K)")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--intermediate", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=8, help="pairs, order alternated")
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".md")))
    args = ap.parse_args()

    from s1_engine import Engine
    from s1_engine.testing import make_scripted_model

    tmp = tempfile.mkdtemp(prefix="s1-bench-")
    model = make_scripted_model(
        Path(tmp) / "m",
        think_len=args.segment,
        wait_len=args.segment - 1,
        layers=args.layers,
        hidden=args.hidden,
        intermediate=args.intermediate,
        max_positions=8192,
    )
    engine = Engine(str(model), backend="vllm", max_model_len=8192)
    r = compare(engine, args.requests, args.segment, args.waits, args.repeats)
    engine.close()

    cmd = "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    lines = [
        f"## {dt.date.today()} — {platform.machine()}, {os.cpu_count()} CPU cores, vLLM CPU backend",
        "",
        f"Command: `{cmd}`",
        "",
        f"{args.requests} requests x {r['thinking_tokens']} thinking tokens; forced = {args.waits} "
        f'"Wait" continuations per request ({args.waits + 2} backend requests each); model: scripted '
        f"Qwen2, {args.layers} layers, hidden {args.hidden}. Median of {args.repeats} runs, order alternated.",
        "",
        *table(r),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    out = Path(args.out)
    header = "# Budget-forcing overhead (vLLM engine)\n\nSee bench/engine/forcing_overhead.py for what is measured.\n\n"
    prev = out.read_text() if out.exists() else header
    out.write_text(prev + text + "\n")


if __name__ == "__main__":
    main()
