"""Thinking formats: chosen by name, detected from the tokenizer, split, found in output."""

from __future__ import annotations

import pytest

from s1_engine import S1, THINK_TAGS, BudgetPolicy, S1Error, detect_format, get_format
from s1_engine.formats import bind_format


@pytest.fixture(scope="module")
def tok(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model))


def test_by_name_and_aliases():
    assert get_format("s1") is S1
    assert get_format("think-tags") is THINK_TAGS
    assert get_format("r1") is THINK_TAGS and get_format("qwen3") is THINK_TAGS
    with pytest.raises(S1Error, match="unknown thinking format"):
        get_format("nope")


def test_detected_from_the_chat_template(tok):
    assert detect_format(tok) is S1  # ChatML template without <think>: the s1 format
    tok2 = type(tok).from_pretrained(tok.name_or_path)
    tok2.chat_template = tok.chat_template.replace(
        "'<|im_start|>assistant\\n'", "'<|im_start|>assistant\\n<think>\\n'"
    )
    assert "<think>" in tok2.chat_template
    assert detect_format(tok2) is THINK_TAGS


def test_split_finished_texts():
    s1_text = "<|im_start|>think\nfirst, 1+2=3\n<|im_start|>answer\nFinal Answer: 3<|im_end|>"
    assert S1.split(s1_text) == ("first, 1+2=3", "Final Answer: 3")
    r1_text = "<think>\nhmm 2+2\n</think>\n\nIt is 4.<|im_end|>"
    assert THINK_TAGS.split(r1_text) == ("hmm 2+2", "It is 4.")
    assert THINK_TAGS.split("<think>\nstill going") == ("still going", "")
    assert THINK_TAGS.split("no thinking, just 5<|im_end|>") == ("", "no thinking, just 5")


def test_bound_ids(tok):
    b = bind_format(S1, tok)
    assert tok.decode(list(b.think_end_ids)) == "<|im_start|>answer"
    assert tok.convert_tokens_to_ids("<|im_start|>") in b.think_stop_ids
    assert tok.convert_tokens_to_ids("<|im_end|>") in b.answer_stop_ids
    t = bind_format(THINK_TAGS, tok)
    assert t.think_stop_ids >= {tok.convert_tokens_to_ids("</think>")}


def test_think_start_found_in_the_models_own_output(engine):
    """A prompt without the thinking start: the model writes `<think>` itself."""
    text = engine.tokenizer.apply_chat_template(
        [{"role": "user", "content": "q"}], tokenize=False, add_generation_prompt=True
    )
    ids = engine.tokenizer.encode(text + "begin", add_special_tokens=False)
    r = engine.generate(ids, BudgetPolicy(max_thinking_tokens=12), format="think-tags")
    starts = [(e.kind, e.cause, e.token_index) for e in r.events if e.kind == "think_start"]
    assert starts == [("think_start", "model", 1)]
    assert engine.tokenizer.decode(r.output_ids[:1]) == "<think>"
    assert r.thinking_tokens == 12
    assert r.thinking.startswith("ua ub uc")


def test_think_start_in_the_prompt_is_not_reopened(engine):
    ids = engine.prompt_ids("q", format="think-tags")
    assert engine.tokenizer.decode(ids).endswith("<|im_start|>assistant\n<think>\n")
    r = engine.generate(ids, BudgetPolicy(max_thinking_tokens=5), format="think-tags")
    assert [e.token_index for e in r.events if e.kind == "think_start"] == [0]
    assert r.thinking_tokens == 5
