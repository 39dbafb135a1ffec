"""A tiny Qwen2-architecture model made on the spot, with no download.

`make_scripted_model(path)` trains a byte-level BPE tokenizer with the chat special
tokens (`tokenizers`), and builds a `Qwen2ForCausalLM` from a `Qwen2Config` whose
weights make it a deterministic bigram machine: the next token is a fixed function
of the current one (one-hot embeddings, attention and MLP outputs zeroed, the LM head
holding the transition table). Saved as a normal Hugging Face folder, it loads through
the same path as a hub model, on transformers and on vLLM alike, and behaves the same
on both, which is what exact budget-forcing tests need:

- s1 format: after `<|im_start|>think` it writes ` t000 ... t009` (10 tokens) and then
  tries to end thinking (`<|im_start|>`); after "Wait" (or "Hmm", "Alternatively") it
  writes ` w000 ... w004` (5 tokens) and tries again; its answer is ` xa xb xc` then
  `<|im_end|>`. Both lengths are parameters. After "Okay" (or any ignore string, with
  `wait_len=0`) it tries to end thinking at once; its second choice there (taken when
  the end is masked, as vLLM's `min_tokens` does) is ` t000`: the 10 steps again.
- think-tags format: after `<think>\\n` it cycles ` ua ub uc` and never ends thinking
  (`cycle`: other words to cycle, e.g. with a paragraph break "\\n\\n" and a "Wait").
- after "begin" it writes `<think>` itself (the thinking start found in its own output).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

MARKER = "s1_scripted_model.json"  # a folder holding this holds a scripted test model
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
CYCLE = [" ua", " ub", " uc"]
ANSWER = [" xa", " xb", " xc"]
IGNORE_WORDS = ["Wait", "Hmm", "Alternatively"]
STOPPING_WORD = "Okay"  # as an ignore string: the model tries to end thinking right after it
WORDS = ["think", "answer", "begin", STOPPING_WORD] + IGNORE_WORDS + CYCLE + ANSWER
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def think_steps(n: int) -> list[str]:
    return [f" t{i:03d}" for i in range(n)]


def wait_steps(n: int) -> list[str]:
    return [f" w{i:03d}" for i in range(n)]


def make_tokenizer(
    path: str | Path, think_len: int = 10, wait_len: int = 5, extra: Sequence[str] = ()
) -> object:
    """Train and save a small byte-level BPE tokenizer with the chat template.

    The scripted words (and `extra`) are added tokens, so each is exactly one id.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    corpus = ["What is 1+2? Count the steps. The answer is 3. Final Answer: user assistant"]
    tok.train_from_iterator(corpus * 50, trainer)
    words = list(dict.fromkeys(WORDS + think_steps(think_len) + wait_steps(wait_len) + [*extra]))
    tok.add_tokens([AddedToken(w, normalized=False) for w in words])
    return save_chat_tokenizer(tok, path)


def save_chat_tokenizer(
    tok: object, path: str | Path, model_max_length: int | None = None
) -> object:
    """Wrap a trained `tokenizers.Tokenizer` as a ChatML Hugging Face tokenizer and save it."""
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        unk_token=None,
    )
    fast.chat_template = CHAT_TEMPLATE
    if model_max_length is not None:
        fast.model_max_length = model_max_length
    fast.save_pretrained(str(path))
    return fast


def _single(tok: object, text: str) -> int:
    ids = tok.encode(text, add_special_tokens=False)  # type: ignore[attr-defined]
    if len(ids) != 1:
        raise RuntimeError(f"{text!r} is not one token of the test tokenizer: {ids}")
    return ids[0]


def scripted_successors(
    tok: object, think_len: int = 10, wait_len: int = 5, cycle: Sequence[str] = CYCLE
) -> dict[int, int]:
    """The bigram table: token id -> the id the model writes next (`cycle`: the
    think-tags thinking's words, each to the next, the last back to the first)."""
    THINK_STEPS, WAIT_STEPS = think_steps(think_len), wait_steps(wait_len)  # noqa: N806
    one = lambda t: _single(tok, t)  # noqa: E731
    nxt: dict[int, int] = {}

    def chain(seq: list[str], then: str) -> None:
        for a, b in zip(seq, seq[1:] + [then]):
            nxt[one(a)] = one(b)

    nxt[one("think")] = one(THINK_STEPS[0])
    chain(THINK_STEPS, "<|im_start|>")
    for w in IGNORE_WORDS:
        nxt[one(w)] = one(WAIT_STEPS[0]) if WAIT_STEPS else one("<|im_start|>")
    chain(WAIT_STEPS, "<|im_start|>")
    nxt[one(STOPPING_WORD)] = one("<|im_start|>")
    nxt[one("<|im_start|>")] = one("answer")
    nxt[one("answer")] = one(ANSWER[0])
    chain(ANSWER, "<|im_end|>")
    nxt[one("<|im_end|>")] = one("<|im_end|>")
    nxt[one("<think>")] = one(cycle[0])
    nxt[one("begin")] = one("<think>")  # a prompt ending in "begin": the model opens thinking
    nxt[one("\n")] = one(cycle[0])
    chain(list(cycle), cycle[0])
    nxt[one("</think>")] = one(ANSWER[0])
    # The answer lead-ins ("\nFinal Answer:", "\n\nFinal Answer:") end in ":".
    lead = tok.encode("\nFinal Answer:", add_special_tokens=False)  # type: ignore[attr-defined]
    nxt[lead[-1]] = one(ANSWER[0])
    return nxt


def second_choices(tok: object, think_len: int = 10) -> dict[int, int]:
    """Next-best tokens (half the logit of the first choice): after an ignore string, the
    first thinking step. They matter only when the first choice is masked."""
    first_step = _single(tok, think_steps(think_len)[0])
    return {_single(tok, w): first_step for w in IGNORE_WORDS + [STOPPING_WORD]}


def make_scripted_model(
    path: str | Path,
    max_positions: int = 4096,
    think_len: int = 10,
    wait_len: int = 5,
    layers: int = 1,
    hidden: int = 0,
    intermediate: int = 128,
    heads: int = 0,
    kv_heads: int = 2,
    vocab_size: int = 0,
    dtype: str = "bfloat16",
    end_prob: float | None = None,
    cycle: Sequence[str] = CYCLE,
) -> Path:
    """Write the scripted tokenizer + model to `path` and return it.

    `think_len` / `wait_len`: tokens before the first / each later end attempt.
    `layers`, `hidden`, `intermediate`, `heads`, `kv_heads`, `vocab_size`: the shape,
    for benchmarks that want the compute and memory traffic of a real model (e.g. the
    Qwen2.5-1.5B shape); the layers compute in full but their outputs are zeroed.
    `cycle`: the think-tags thinking's words (new ones become tokens; a word of the table,
    e.g. "Wait", then leads to the next word of the cycle instead).
    """
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tok = make_tokenizer(path, think_len, wait_len, cycle)
    n_tok = len(tok)  # type: ignore[arg-type]
    vocab = max(vocab_size, -(-n_tok // 64) * 64)
    hidden = max(hidden, -(-n_tok // 64) * 64, 512)
    config = Qwen2Config(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads or hidden // 64,
        num_key_value_heads=kv_heads,
        max_position_embeddings=max_positions,
        tie_word_embeddings=False,
        rms_norm_eps=1e-6,
        bos_token_id=None,
        eos_token_id=_single(tok, "<|im_end|>"),
        pad_token_id=_single(tok, "<|endoftext|>"),
        dtype=dtype,
    )
    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() and layers * hidden > 4096 else "cpu"
    with torch.device(device):
        model = Qwen2ForCausalLM(config)
    default = _single(tok, think_steps(think_len)[0])
    table = scripted_successors(tok, think_len, wait_len, cycle)
    with torch.no_grad():
        model.model.embed_tokens.weight.copy_(torch.eye(vocab, hidden))
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        head = torch.zeros(vocab, hidden)
        for i, j in second_choices(tok, think_len).items():
            head[j, i] = 0.5
        for i in range(min(n_tok, hidden)):
            head[table.get(i, default), i] = 1.0
        if end_prob is not None:  # logits c + ln p: softmax gives p and 1 - p exactly
            import math

            t0, t1 = (_single(tok, w) for w in think_steps(think_len)[:2])
            end, scale = _single(tok, "<|im_start|>"), math.sqrt(hidden)
            head[:, t0] = 0.0
            head[end, t0] = (20 + math.log(end_prob)) / scale
            head[t1, t0] = (20 + math.log(1 - end_prob)) / scale
        model.lm_head.weight.copy_(head)
    model.to(getattr(torch, dtype)).save_pretrained(str(path))
    (path / MARKER).write_text('{"s1": "scripted test model"}\n')
    return path
