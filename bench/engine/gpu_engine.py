"""The engine's GPU figures, in one run on the lent GPU machine (bench/gpu/ carries vLLM
there; the figures: bench/engine/gpu_engine.md).

Measures, on the vLLM engine with a Qwen2.5-1.5B-shaped model made on the machine
(real architecture and sizes, random weights except the scripted embedding/LM head,
see s1_engine.testing.make_scripted_model):

1. the machine's ceilings: device-to-device copy bandwidth and bf16 matmul rate;
2. budget-forcing overhead: K forced continuations vs one uninterrupted generation
   of the same tokens (and the reference's lockstep rounds), bench/engine/forcing_overhead.py;
3. intervention latency: force_wait / end_thinking to the next streamed sampled token;
4. decode tokens/s at batch 1 (our session, and raw AsyncLLM) against the
   memory-bandwidth limit (weight bytes per token over the measured copy bandwidth).

    python bench/engine/gpu_engine.py --out $OUT
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # common; forcing_overhead
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")


# Qwen2.5 shapes (config.json of the released models): the real architecture and sizes.
SHAPES = {
    "1.5b": dict(
        layers=28, hidden=1536, intermediate=8960, heads=12, kv_heads=2, vocab_size=151936
    ),
    "7b": dict(layers=28, hidden=3584, intermediate=18944, heads=28, kv_heads=4, vocab_size=152064),
}


def cuda_median_seconds(fn, warmup: int, repeats: int) -> float:
    """Median time of fn() on the GPU, with CUDA events, after warm-up calls."""
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        torch.cuda.synchronize()
        times.append(s.elapsed_time(e) / 1e3)
    return statistics.median(times)


def matmul_rate(m: int = 8192) -> float:
    """bf16 FLOP/s of an m x m x m matrix product on random data."""
    import torch

    x = torch.randn(m, m, dtype=torch.bfloat16, device="cuda")
    y = torch.randn(m, m, dtype=torch.bfloat16, device="cuda")
    return 2 * m**3 / cuda_median_seconds(lambda: x @ y, 3, 10)


def ceilings() -> dict:
    import torch

    n = 1 << 30  # 1 GiB buffers
    a = torch.empty(n, dtype=torch.uint8, device="cuda").random_()
    b = torch.empty_like(a)
    copy_bw = 2 * n / cuda_median_seconds(lambda: b.copy_(a), 3, 20)  # bytes read + written
    return {
        "gpu": torch.cuda.get_device_name(),
        "copy_bandwidth_GBps": copy_bw / 1e9,
        "bf16_matmul_TFLOPs": matmul_rate() / 1e12,
    }


def weight_bytes_per_token(model_dir: str) -> tuple[int, int]:
    """(all parameter bytes, bytes read per decoded token: all but the embedding table)."""
    from safetensors import safe_open

    total = read = 0
    for f in Path(model_dir).glob("*.safetensors"):
        with safe_open(str(f), "pt") as st:
            for k in st.keys():
                t = st.get_slice(k)
                shape = t.get_shape()
                nbytes = 2
                for d in shape:
                    nbytes *= d
                total += nbytes
                if "embed_tokens" not in k:
                    read += nbytes
    return total, read


def intervention_latency(engine, trials: int) -> dict:
    """ms from the call to the next sampled token streamed after the intervention."""
    from s1_engine import BudgetPolicy, Event, TokenDelta

    out: dict[str, list[float]] = {"force_wait": [], "end_thinking": []}
    policy = BudgetPolicy(max_thinking_tokens=4000, answer_max_tokens=64)
    for i in range(trials):
        for kind in out:
            s = engine.start(f"Trial {i}: think about {kind}.", policy, format="think-tags")
            t0 = None
            seen_event = False
            for item in s:
                if t0 is None and isinstance(item, TokenDelta) and item.thinking_tokens >= 64:
                    t0 = time.perf_counter()
                    (s.force_wait if kind == "force_wait" else s.end_thinking)()
                elif t0 is not None and isinstance(item, Event) and item.cause == "user":
                    seen_event = True
                elif seen_event and isinstance(item, TokenDelta) and not item.forced:
                    out[kind].append((time.perf_counter() - t0) * 1e3)
                    s.stop()
                    break
            s.result(60)
    res = {}
    for kind, v in out.items():
        v.sort()
        res[kind] = {
            "median_ms": statistics.median(v),
            "p95_ms": v[min(len(v) - 1, int(round(0.95 * (len(v) - 1))))],
            "n": len(v),
        }
    return res


async def _raw_decode(llm, prompt_ids: list[int], n: int) -> float:
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt

    params = SamplingParams(max_tokens=n, temperature=0.0, ignore_eos=True, detokenize=False)
    first = None
    count = 0
    async for out in llm.generate(
        TokensPrompt(prompt_token_ids=prompt_ids), params, f"raw-{time.time()}"
    ):
        if first is None:
            first = time.perf_counter()
            count0 = len(out.outputs[0].token_ids)
        count = len(out.outputs[0].token_ids)
    return (count - count0) / (time.perf_counter() - first)


def decode_batch1(engine, n: int = 1024) -> dict:
    from s1_engine import BudgetPolicy, TokenDelta

    rates = []
    for i in range(3):
        s = engine.start(
            f"Decode run {i}",
            BudgetPolicy(max_thinking_tokens=n, answer_max_tokens=4),
            format="think-tags",
        )
        first = last = None
        k0 = 0
        for item in s:
            if isinstance(item, TokenDelta) and item.segment == "think":
                if first is None:
                    first, k0 = time.perf_counter(), item.thinking_tokens
                last, k = time.perf_counter(), item.thinking_tokens
        s.result(120)
        rates.append((k - k0) / (last - first))
    ids = engine.prompt_ids("Raw decode", format="think-tags")
    raw = [engine._loop.run(_raw_decode(engine.backend.engine, ids, n)) for _ in range(3)]
    return {"session_tok_s": statistics.median(rates), "raw_vllm_tok_s": statistics.median(raw)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.environ.get("OUT", "/tmp/gpu_out"))
    ap.add_argument("--requests", type=int, default=32)
    ap.add_argument("--segment", type=int, default=192)
    ap.add_argument("--waits", type=int, default=7)
    ap.add_argument("--repeats", type=int, default=8, help="overhead pairs, order alternated")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--skip", default="", help="comma list: overhead,latency,decode,default")
    ap.add_argument("--shape", default="1.5b", choices=sorted(SHAPES))
    ap.add_argument("--engine-arg", action="append", default=[], help="extra vLLM engine KEY=VALUE")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {"argv": sys.argv}

    def save() -> None:
        (out / "gpu_engine.json").write_text(json.dumps(results, indent=2, default=str))

    import torch  # noqa: F401  (both loaded before the ceilings, as in the recorded runs)
    import vllm  # noqa: F401
    from common import versions
    from forcing_overhead import compare, table

    from s1_engine import Engine
    from s1_engine.testing import make_scripted_model

    results["versions"] = versions()
    print(results["versions"], flush=True)
    results["ceilings"] = ceilings()
    print(results["ceilings"], flush=True)
    save()

    t = time.perf_counter()
    shape = SHAPES[args.shape]
    results["shape"] = {"name": args.shape, **shape}
    model = make_scripted_model(
        f"/tmp/qwen2.5-{args.shape}-shape",
        think_len=args.segment,
        wait_len=args.segment - 1,
        max_positions=32768,
        **shape,
    )
    results["model_build_s"] = time.perf_counter() - t
    total, per_token = weight_bytes_per_token(str(model))
    results["weights"] = {"total_bytes": total, "bytes_read_per_token": per_token}
    t = time.perf_counter()
    from s1_engine.settings import EngineOptions

    extra = EngineOptions(engine_arg=args.engine_arg).engine_args()
    results["engine_args"] = extra
    engine = Engine(
        str(model),
        backend="vllm",
        max_model_len=8192,
        engine_args={"gpu_memory_utilization": 0.6, **extra},
    )
    results["engine_start_s"] = time.perf_counter() - t
    print("engine up", results["engine_start_s"], flush=True)
    save()
    skip = set(args.skip.split(","))
    if "decode" not in skip:
        d = decode_batch1(engine)
        bw = results["ceilings"]["copy_bandwidth_GBps"] * 1e9
        d["bandwidth_limit_tok_s"] = bw / per_token
        d["session_vs_limit"] = d["bandwidth_limit_tok_s"] / d["session_tok_s"]
        d["raw_vs_limit"] = d["bandwidth_limit_tok_s"] / d["raw_vllm_tok_s"]
        results["decode_batch1"] = d
        print("decode", d, flush=True)
        save()
    if "latency" not in skip:
        results["intervention_latency"] = intervention_latency(engine, args.trials)
        print("latency", results["intervention_latency"], flush=True)
        save()
    if "overhead" not in skip:
        r = compare(
            engine,
            args.requests,
            args.segment,
            args.waits,
            args.repeats,
            log=lambda m: print(m, flush=True),
        )
        results["overhead"] = r
        results["overhead_table"] = table(r)
        print("\n".join(table(r)), flush=True)
        save()
    engine.close()
    if "default" not in skip:
        try:
            from s1_engine.engine import default_model

            eng = Engine(
                default_model(), backend="vllm", engine_args={"gpu_memory_utilization": 0.2}
            )
            d = decode_batch1(eng, n=512)
            results["default_model_decode"] = d
            print("default model decode", d, flush=True)
            eng.close()
        except Exception as e:  # the embedded model may not exist yet
            results["default_model_decode"] = f"skipped: {e}"
        save()
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
