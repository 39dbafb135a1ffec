"""Do we generate what the s1 reference's evaluation code generates? Token for token.

The reference (simplescaling/s1, `eval/lm-evaluation-harness/lm_eval/models/vllm_causallms.py`)
runs budget forcing as lockstep rounds on vLLM's offline `LLM`. `reference_generate` below
is that code's thinking/answer logic, line by line, for one batch; our engine runs the same
questions with the same policies on vLLM (greedy, the embedded tiny-s1 model). Every
(question, budget, Wait count) cell is compared on the whole output (thinking, the
closing, the answer). Where they differ, the cell is put down to the reference's known
defects when one applies (each round getting the full budget again, then a cut with no
"Final Answer:"), else counted as unexplained.

    python bench/engine/reference_agreement.py --questions 24 --out bench/engine/reference_agreement.json
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's packages
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BUDGETS = ["32", "48", "64", "128", "auto"]
IGNORES = [0, 1, 2]


def reference_generate(
    llm, tok, prompts: list[list[int]], budget: str, n_ignore: int, max_tokens: int
):
    """The reference's `_model_generate` for the s1 format, greedy (its defaults)."""
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt

    def enc(s):
        return tok.encode(s, add_special_tokens=False)

    thinking_start, thinking_end = "<|im_start|>think", "<|im_start|>answer"
    thinking_start_tok, thinking_end_tok = enc(thinking_start), enc(thinking_end)
    thinking_end_max = thinking_end + "\nFinal Answer:"
    thinking_end_max_tok, newline_tok = enc(thinking_end_max), enc("\n")
    until_thinking = ["<|im_start|>"]
    until_thinking_tok = [enc(u) for u in until_thinking]
    requests = [list(p) for p in prompts]  # the chat prompt, without the thinking start
    params = {"temperature": 0.0}
    if budget == "auto":  # "Leave 100 tokens for answer"
        params["max_tokens"] = (
            max_tokens
            - max(len(x) for x in requests)
            - len(thinking_start_tok)
            - len(thinking_end_max_tok)
            - 100
        )
    else:
        params["max_tokens"] = int(budget)
    if n_ignore:  # thinking_n_ignore given: min_tokens=1, stops as token ids
        params["min_tokens"] = 1
        params["stop_token_ids"] = [x[0] for x in until_thinking_tok]
    else:
        params["stop"] = until_thinking
    requests = [r + thinking_start_tok for r in requests]
    sp = SamplingParams(**params, skip_special_tokens=False)

    def gen(reqs, p):
        return llm.generate([TokensPrompt(prompt_token_ids=r) for r in reqs], p, use_tqdm=False)

    if n_ignore:
        rounds = n_ignore + 1
        outputs = [None] * len(requests)
        reqs, idxs = copy.deepcopy(requests), list(range(len(requests)))
        ignore_tok = enc("Wait")
        for i in range(rounds):
            outs = gen(reqs, sp)
            new_reqs, new_idxs = [], []
            for j, o in enumerate(outs):
                idx, cont = idxs[j], list(o.outputs[0].token_ids)
                if o.outputs[0].finish_reason == "length" or i == rounds - 1:
                    if outputs[idx] is not None:
                        outputs[idx]["ids"] += cont
                        outputs[idx]["text"] += o.outputs[0].text
                        outputs[idx]["reason"] = o.outputs[0].finish_reason
                    else:
                        outputs[idx] = {
                            "ids": cont,
                            "text": o.outputs[0].text,
                            "reason": o.outputs[0].finish_reason,
                        }
                else:
                    for t in until_thinking_tok:
                        if cont[-len(t) :] == t:
                            cont = cont[: -len(t)]
                    cont += ignore_tok
                    text = o.outputs[0].text + "Wait"
                    if outputs[idx] is not None:
                        outputs[idx]["ids"] += cont
                        outputs[idx]["text"] += text
                    else:
                        outputs[idx] = {"ids": cont, "text": text, "reason": None}
                    new_reqs.append(reqs[j] + cont)
                    new_idxs.append(idx)
            reqs, idxs = new_reqs, new_idxs
        for o in outputs:  # "Generated more than max_tokens. Cutting."
            o["over"] = len(o["ids"]) > params["max_tokens"]  # rounds got the budget again
            o["ids"] = o["ids"][: params["max_tokens"]]
    else:
        outputs = [
            {
                "ids": list(o.outputs[0].token_ids),
                "text": o.outputs[0].text,
                "reason": o.outputs[0].finish_reason,
            }
            for o in gen(requests, sp)
        ]
    finals = []
    for i, o in enumerate(outputs):
        cont = list(o["ids"])
        for t in until_thinking_tok:
            if cont[-len(t) :] == t:
                cont = cont[: -len(t)]
        if o["reason"] == "length":
            if o["text"][-1:] == "\n":
                requests[i] = requests[i] + cont + thinking_end_max_tok
            else:
                requests[i] = requests[i] + cont + newline_tok + thinking_end_max_tok
        else:
            requests[i] = requests[i] + cont + thinking_end_tok
        finals.append(requests[i])
    answer = SamplingParams(temperature=0.0, max_tokens=max_tokens, skip_special_tokens=False)
    outs = gen(finals, answer)
    full = [r + list(o.outputs[0].token_ids) for r, o in zip(finals, outs)]
    return full, [bool(o.get("over")) for o in outputs]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=24)
    ap.add_argument("--max-model-len", type=int, default=1024)
    ap.add_argument("--out", default="bench/engine/reference_agreement.json")
    args = ap.parse_args()

    from s1_data.synthetic import held_out_tasks
    from s1_engine import BudgetPolicy, Engine
    from s1_engine.policy import parse_budget

    questions = [t.question for t in held_out_tasks()[: args.questions]]
    t0 = time.perf_counter()
    ours: dict[tuple, list[int]] = {}
    engine = Engine(backend="vllm", max_model_len=args.max_model_len)
    prompts = [engine.prompt_ids(q) for q in questions]
    suffix = len(engine.format.prompt_suffix_ids)
    jobs = [(q, b, k) for b in BUDGETS for k in IGNORES for q in range(len(questions))]
    policies = [
        BudgetPolicy(
            max_thinking_tokens=parse_budget(b), num_ignore=k, answer_max_tokens=args.max_model_len
        )
        for _, b, k in jobs
    ]
    results = engine.generate_many([prompts[q] for q, _, _ in jobs], policies)
    for (q, b, k), r in zip(jobs, results):
        ours[(q, b, k)] = r.prompt_ids + r.output_ids
    engine.close()
    ours_s = time.perf_counter() - t0

    from vllm import LLM

    from s1_engine.engine import DEFAULT_MODEL_DIR

    llm = LLM(
        str(DEFAULT_MODEL_DIR),
        max_model_len=args.max_model_len,
        enforce_eager=True,
        gpu_memory_utilization=0.3,
        block_size=32,
        max_num_batched_tokens=65536,
        seed=0,
    )
    tok = llm.get_tokenizer()
    chat = [p[:-suffix] for p in prompts]  # the reference adds the thinking start itself
    cells = []
    for b in BUDGETS:
        for k in IGNORES:
            ref, over = reference_generate(llm, tok, chat, b, k, args.max_model_len)
            for q in range(len(questions)):
                a, r = ours[(q, b, k)], ref[q]
                a_end = a[: len(r)] if len(a) > len(r) else a
                same = a == r or (a_end == r[: len(a_end)] and len(a) != len(r) and a[-1] == r[-1])
                cells.append(
                    {
                        "q": q,
                        "budget": b,
                        "num_ignore": k,
                        "same": a == r,
                        "prefix_same": same,
                        "reference_over_budget": over[q],
                    }
                )
    agree = sum(c["same"] for c in cells)
    by = {}
    for c in cells:
        key = f"think={c['budget']},wait={c['num_ignore']}"
        by.setdefault(key, [0, 0])
        by[key][0] += c["same"]
        by[key][1] += 1
    report = {
        "command": f"python bench/engine/reference_agreement.py --questions {args.questions} --max-model-len {args.max_model_len}",
        "model": "embedded tiny-s1",
        "cells": len(cells),
        "identical": agree,
        "by_policy": {k: f"{v[0]}/{v[1]}" for k, v in by.items()},
        "ours_seconds": round(ours_s, 1),
        "disagreements": len([c for c in cells if not c["same"]]),
        "disagreements_where_the_reference_thought_past_the_budget": len(
            [c for c in cells if not c["same"] and c["reference_over_budget"]]
        ),
        "unexplained": [c for c in cells if not c["same"] and not c["reference_over_budget"]],
    }
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
