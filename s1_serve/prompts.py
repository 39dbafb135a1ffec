"""The prompt of a `/v1/completions` request, and the policy as `/v1/models` shows it.

A completion's prompt is the text (or token ids) as the model sees it. One that never
opens thinking (the format's thinking start appears nowhere in it) would run with no
budget at all and leak the delimiter into `text`; it gets the thinking start appended,
as a chat prompt does, and the response says so (`s1.thinking_start_added: true`). A
prompt that opens and closes thinking itself is an answer to continue, and is left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from s1_engine.policy import BudgetPolicy

from .errors import RequestError

if TYPE_CHECKING:
    from s1_engine.engine import Engine


def _one_prompt(prompt: Any) -> Any:
    if isinstance(prompt, list) and prompt and isinstance(prompt[0], str | list):
        if len(prompt) != 1:
            raise RequestError(
                f"prompt holds {len(prompt)} prompts; send one per request", param="prompt"
            )
        return prompt[0]
    return prompt


def completion_ids(
    engine: Engine, prompt: Any, format_name: str | None
) -> tuple[list[int], dict[str, Any]]:
    """The prompt's token ids (with the thinking start where it lacks one), and what the
    response should say about it."""
    prompt = _one_prompt(prompt)
    tok = engine.tokenizer
    if isinstance(prompt, str):
        if not prompt:
            raise RequestError("the prompt is empty", param="prompt")
        text = prompt
        ids = list(tok(prompt)["input_ids"])
    else:
        vocab = len(tok)
        bad = [t for t in prompt if not 0 <= t < vocab]
        if not prompt or bad:
            raise RequestError(
                f"the prompt's token ids must be in [0, {vocab}), got {bad[:3] or '[]'}",
                param="prompt",
            )
        ids = list(prompt)
        text = tok.decode(ids, skip_special_tokens=False)
    fmt = engine.bound_format(format_name).fmt
    if fmt.think_start in text:
        return ids, {}
    ids += tok.encode(fmt.prompt_suffix, add_special_tokens=False)
    return ids, {"thinking_start_added": True}


def policy_info(p: BudgetPolicy) -> dict[str, Any]:
    return {
        "max_thinking_tokens": p.max_thinking_tokens,
        "min_thinking_tokens": p.min_thinking_tokens,
        "num_ignore": p.num_ignore,
        "ignore_str": p.ignore_str if isinstance(p.ignore_str, str) else list(p.ignore_str),
        "answer_max_tokens": p.answer_max_tokens,
        "temperature": p.thinking.temperature,
    }
