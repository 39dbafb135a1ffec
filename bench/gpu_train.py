"""`s1 train` on the GPU machine: tokens/s and model FLOPs utilisation, 0.5B shape.

A Qwen2.5-0.5B-shaped model (24 layers, hidden 896, MLP 4864, 14 / 2 heads, vocab 151936,
tied embeddings; random weights) is made on the machine, with the scripted test
tokenizer; the data are s1-format rows of realistic length (~`--tokens` tokens each,
thinking made of numbered steps). The run is `s1_train.train.run` (TRL SFTTrainer with
the s1 recipe), bf16, for `--steps` optimizer steps of 16 sequences.

MFU = (6 N + 12 L H S) x tokens/s / the bf16 matmul rate measured there (N: parameters,
L layers, H hidden, S sequence length), the PaLM accounting.

    python3 bench/gpu_train.py --out $OUT
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHAPE_05B = dict(layers=24, hidden=896, intermediate=4864, heads=14, kv_heads=2, vocab=151936)


def matmul_rate() -> float:
    import torch

    if not torch.cuda.is_available():
        return float("nan")
    from gpu_engine import matmul_rate as rate

    return rate()


def make_model(path: Path) -> int:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from s1_engine.testing import make_tokenizer

    tok = make_tokenizer(path)
    s = SHAPE_05B
    config = Qwen2Config(
        vocab_size=s["vocab"],
        hidden_size=s["hidden"],
        intermediate_size=s["intermediate"],
        num_hidden_layers=s["layers"],
        num_attention_heads=s["heads"],
        num_key_value_heads=s["kv_heads"],
        max_position_embeddings=32768,
        tie_word_embeddings=True,
        eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tok.convert_tokens_to_ids("<|endoftext|>"),
        dtype="bfloat16",
    )
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = Qwen2ForCausalLM(config)
    model.to(torch.bfloat16).save_pretrained(str(path))
    return sum(p.numel() for p in model.parameters())


def make_rows(n: int, tokens: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        a = [rng.randint(1, 99) for _ in range(6)]
        steps, total, k = [], 0, 0
        while len(" ".join(steps)) < tokens * 0.9:
            x = rng.randint(1, 99)
            total += x
            k += 1
            steps.append(f"step {k}: add {x}, total {total}.")
        rows.append(
            {
                "question": f"Question {i}: add the numbers {a} and then the steps.",
                "thinking_trajectories": [" ".join(steps)],
                "attempt": f"Final Answer: {total}",
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.environ.get("OUT", "/tmp/gpu_train_out"))
    ap.add_argument("--tokens", type=int, default=4096, help="approximate tokens per row")
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--per-device", type=int, default=4)
    ap.add_argument("--gradient-checkpointing", action="store_true")
    ap.add_argument(
        "--smoke", action="store_true", help="a tiny shape, to check the script on a CPU"
    )
    args = ap.parse_args()
    if args.smoke:
        SHAPE_05B.update(layers=2, hidden=64, intermediate=128, heads=2, kv_heads=1, vocab=1024)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path("/tmp/s1_gpu_train")
    work.mkdir(parents=True, exist_ok=True)

    import torch
    from transformers import AutoTokenizer

    from s1_train.train import resolve_config, run

    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    results: dict = {"gpu": gpu, "shape": SHAPE_05B}
    results["bf16_matmul_TFLOPs"] = matmul_rate() / 1e12
    n_params = make_model(work / "model")
    results["params"] = n_params
    n_rows = args.steps * 16
    rows = make_rows(n_rows, args.tokens)
    data = work / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tok = AutoTokenizer.from_pretrained(str(work / "model"))
    lengths = [
        len(
            tok.encode(
                tok.apply_chat_template(
                    [
                        {"role": "user", "content": r["question"]},
                        {
                            "role": "assistant",
                            "content": "<|im_start|>think\n"
                            + r["thinking_trajectories"][0]
                            + "\n<|im_start|>answer\n"
                            + r["attempt"],
                        },
                    ],
                    tokenize=False,
                ),
                add_special_tokens=False,
            )
        )
        for r in rows
    ]
    block = max(lengths) + 64
    config = resolve_config(
        None,
        {
            "dataset": str(data),
            "model": str(work / "model"),
            "output_dir": str(work / "run"),
            "epochs": 1,
            "block_size": block,
            "per_device_batch_size": args.per_device,
            "batch_size": 16,
            "bf16": gpu != "cpu",
            "max_steps": args.steps,
            "save_steps": 10_000,
            "logging_steps": 1,
            "progress": False,
            "resume": False,
            "gradient_checkpointing": args.gradient_checkpointing,
        },
    )
    t = time.perf_counter()
    report = run(config)
    wall = time.perf_counter() - t
    trained_tokens = sum(lengths[: args.steps * 16])
    seconds = report["seconds"]
    tok_s = trained_tokens / seconds
    s = SHAPE_05B
    seq = statistics.mean(lengths)
    flops_per_token = 6 * n_params + 12 * s["layers"] * s["hidden"] * seq
    mfu = flops_per_token * tok_s / (results["bf16_matmul_TFLOPs"] * 1e12)
    results.update(
        {
            "rows": n_rows,
            "mean_tokens_per_row": seq,
            "block_size": block,
            "steps": report["global_steps"],
            "train_seconds": seconds,
            "wall_seconds": wall,
            "tokens_per_s": tok_s,
            "flops_per_token": flops_per_token,
            "mfu": mfu,
            "first_loss": report["first_loss"],
            "last_loss": report["last_loss"],
            "gradient_checkpointing": args.gradient_checkpointing,
            "per_device_batch": args.per_device,
        }
    )
    (out / "gpu_train.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
