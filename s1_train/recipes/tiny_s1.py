"""Rebuild the embedded tiny-s1 model from scratch, on the CPU.

    python -m s1_train.recipes.tiny_s1 --out runs/tiny-s1 [--install]

1. synthetic tasks and s1-style traces (s1_data.synthetic), training seeds disjoint
   from the held-out split, any held-out question removed;
2. a byte-level BPE tokenizer trained on those texts with `tokenizers` (the chat special
   tokens, single-digit numbers, the s1 format words), with a ChatML chat template;
3. a randomly initialised Qwen2-architecture model (~3M parameters);
4. `s1 train` on the data with the tiny-s1 recipe (s1_train/recipes/tiny_s1.yaml);
5. `--install` copies the result (weights, tokenizer, config) to s1_engine/assets/tiny-s1.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from s1_data.synthetic import (
    HELD_OUT_KINDS,
    HELD_OUT_SEED,
    held_out_tasks,
    make_sft_rows,
    make_tasks,
)
from s1_engine.testing import save_chat_tokenizer

ASSET_DIR = Path(__file__).resolve().parents[2] / "s1_engine" / "assets" / "tiny-s1"
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# the model's shape: small enough to ship (< 20 MB) and to stream fast on 2 CPU cores
MODEL_SHAPE = {
    "hidden_size": 256,
    "intermediate_size": 768,
    "num_hidden_layers": 4,
    "num_attention_heads": 8,
    "num_key_value_heads": 4,
    "max_position_embeddings": 1024,
}
# hasty: the share of the tasks that can stop too early (s1_data.synthetic.can_pause)
# whose trace does stop there: the premature stops that "Wait" forcing repairs
HASTY = 0.6


def make_rows(n: int, seed: int) -> list[dict]:
    """Training rows: the held-out split's kinds, 1 to 12 steps, no held-out question."""
    held = {t.question for t in held_out_tasks()}
    if seed == HELD_OUT_SEED:
        raise ValueError("the training seed must differ from the held-out seed")
    tasks = make_tasks(n, seed=seed, kinds=HELD_OUT_KINDS, min_steps=1, max_steps=12)
    tasks = [t for t in tasks if t.question not in held]
    return make_sft_rows(tasks, seed=seed + 1, hasty=HASTY)


def train_tokenizer(path: Path, texts: list[str]) -> object:
    """Byte-level BPE where whitespace and punctuation are tokens of their own, so that a
    number up to 99 is one token wherever it stands (and "Wait" appended after a newline
    tokenizes as in training)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(r"[\s.,:;!?+=()*/-]"), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    return save_chat_tokenizer(tok, path, MODEL_SHAPE["max_position_embeddings"])


def init_model(path: Path, tok: object, seed: int = 0, shape: dict | None = None) -> None:
    """A randomly initialised Qwen2 model for `tok` (shape: MODEL_SHAPE, or `shape`)."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    vocab = -(-len(tok) // 64) * 64  # type: ignore[arg-type]
    config = Qwen2Config(
        vocab_size=vocab,
        tie_word_embeddings=True,
        rms_norm_eps=1e-6,
        rope_theta=10000.0,
        bos_token_id=None,
        eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),  # type: ignore[attr-defined]
        pad_token_id=tok.convert_tokens_to_ids("<|endoftext|>"),  # type: ignore[attr-defined]
        **(shape or MODEL_SHAPE),
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id
    )
    model.save_pretrained(str(path))


def overrides(extra_args: list[str]) -> dict:
    """`--max-steps 10 --lr 2e-3` -> {"max_steps": 10, "lr": 0.002} (recipe overrides)."""
    import yaml

    out, args = {}, list(extra_args)
    while args:
        flag = args.pop(0)
        if not flag.startswith("--") or not args:
            raise SystemExit(f"cannot read the training override {flag!r}: give --name value pairs")
        out[flag[2:].replace("-", "_")] = yaml.safe_load(args.pop(0))
    return out


def build(out: Path, n_train: int, seed: int, extra_args: list[str]) -> Path:
    from s1_train.formatting import s1_text
    from s1_train.train import resolve_config, run

    out.mkdir(parents=True, exist_ok=True)
    rows = make_rows(n_train, seed)
    data = out / "data.jsonl"
    with data.open("w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    init = out / "init"
    init.mkdir(exist_ok=True)
    texts = [
        s1_text(r["question"], r["thinking_trajectories"][0], r["attempt"]) for r in rows[:4000]
    ]
    tok = train_tokenizer(init, texts)
    init_model(init, tok, seed)
    model_out = out / "model"
    given = {"dataset": str(data), "model": str(init), "output_dir": str(model_out), "seed": seed}
    config = resolve_config("tiny-s1", given | overrides(extra_args))
    print(
        f"s1 train {data} --model {init} --recipe tiny-s1 ({config})", file=sys.stderr, flush=True
    )
    run(config, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    return model_out


def install(model_dir: Path, dest: Path = ASSET_DIR) -> None:
    """Copy the model files the engine needs (no checkpoints, no optimizer state)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in (
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "chat_template.jinja",
        "special_tokens_map.json",
        "s1_train_report.json",
    ):
        if (model_dir / name).exists():
            shutil.copy2(model_dir / name, dest / name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", default="runs/tiny-s1", help="work folder (data, init, model)")
    ap.add_argument("--n-train", type=int, default=13000, help="training tasks")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--install", action="store_true", help="copy the model to s1_engine/assets/tiny-s1"
    )
    args, extra = ap.parse_known_args(argv)
    t0 = time.time()
    model_dir = build(Path(args.out), args.n_train, args.seed, extra)
    print(f"built {model_dir} in {time.time() - t0:.0f} s", file=sys.stderr)
    if args.install:
        install(model_dir)
        print(f"installed into {ASSET_DIR}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
