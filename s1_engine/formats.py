"""Thinking formats: where thinking starts and ends, and how a finished text splits.

A `ThinkingFormat` is plain strings; `BoundFormat` is the same format resolved
against one tokenizer (token ids for the pieces the budget-forcing machine inserts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import S1Error


@dataclass(frozen=True)
class ThinkingFormat:
    """How a reasoning model marks its thinking."""

    name: str
    think_start: str  # the tag that opens thinking (in the prompt or the model's output)
    think_end: str  # the delimiter appended when thinking ends
    prompt_suffix: str  # appended to the chat prompt to open thinking
    stop_strings: tuple[str, ...]  # "the model tried to end thinking"
    answer_lead_in: str  # appended after a forced end (budget or user)
    end_of_turn: tuple[str, ...]  # strings that end the answer
    required_tokens: tuple[str, ...] = field(default=())  # special tokens the tokenizer must have

    def split(self, text: str) -> tuple[str, str]:
        """Split a finished completion (or prompt + completion) into (thinking, answer)."""
        start = text.rfind(self.think_start)
        body = text[start + len(self.think_start) :] if start >= 0 else text
        end = body.find(self.think_end)
        if end < 0:
            if start < 0:
                return "", _strip_turn(body, self.end_of_turn).strip()
            return body.strip(), ""
        thinking = body[:end]
        answer = _strip_turn(body[end + len(self.think_end) :], self.end_of_turn)
        return thinking.strip(), answer.strip()


def _strip_turn(text: str, enders: tuple[str, ...]) -> str:
    cut = len(text)
    for s in enders:
        i = text.find(s)
        if i >= 0:
            cut = min(cut, i)
    return text[:cut]


S1 = ThinkingFormat(
    name="s1",
    think_start="<|im_start|>think",
    think_end="<|im_start|>answer",
    prompt_suffix="<|im_start|>think",
    stop_strings=("<|im_start|>", "<|im_end|>"),
    answer_lead_in="\nFinal Answer:",
    end_of_turn=("<|im_end|>", "<|endoftext|>"),
    required_tokens=("<|im_start|>", "<|im_end|>"),
)

THINK_TAGS = ThinkingFormat(
    name="think-tags",
    think_start="<think>",
    think_end="</think>",
    prompt_suffix="<think>\n",
    stop_strings=("</think>",),
    answer_lead_in="\n\nFinal Answer:",
    end_of_turn=("<|im_end|>", "<|endoftext|>", "<｜end▁of▁sentence｜>"),
    required_tokens=("<think>", "</think>"),
)

FORMATS: dict[str, ThinkingFormat] = {f.name: f for f in (S1, THINK_TAGS)}
ALIASES = {"think": "think-tags", "r1": "think-tags", "qwen3": "think-tags", "s1.1": "s1"}


def register_format(fmt: ThinkingFormat) -> None:
    """Make `fmt` available by its name (`get_format`, `Engine.start(format=...)`): e.g. a
    known format with one more stop string (s1_eval's step-conditional control)."""
    FORMATS[fmt.name] = fmt


def get_format(name: str) -> ThinkingFormat:
    key = ALIASES.get(name, name)
    if key not in FORMATS:
        raise S1Error(
            f"unknown thinking format {name!r}", f"use one of: auto, {', '.join(FORMATS)}"
        )
    return FORMATS[key]


def _vocab_has(tokenizer: Any, token: str) -> bool:
    ids = tokenizer.encode(token, add_special_tokens=False)
    return len(ids) == 1 and tokenizer.convert_ids_to_tokens(ids[0]) == token


def detect_format(tokenizer: Any) -> ThinkingFormat:
    """Pick the format from the tokenizer: `<think>` tokens win, else the s1 (ChatML) format."""
    template = getattr(tokenizer, "chat_template", None) or ""
    if isinstance(template, dict):
        template = " ".join(template.values())
    if _vocab_has(tokenizer, "</think>") and ("<think>" in template or not _is_chatml(tokenizer)):
        return THINK_TAGS
    if _is_chatml(tokenizer):
        return S1
    if _vocab_has(tokenizer, "</think>"):
        return THINK_TAGS
    raise S1Error(
        "cannot tell the thinking format of this tokenizer",
        "pass --format s1 or --format think-tags",
    )


def _is_chatml(tokenizer: Any) -> bool:
    return _vocab_has(tokenizer, "<|im_start|>") and _vocab_has(tokenizer, "<|im_end|>")


@dataclass(frozen=True)
class BoundFormat:
    """A format resolved against one tokenizer: the token ids the engine inserts and stops on."""

    fmt: ThinkingFormat
    think_end_ids: tuple[int, ...]
    prompt_suffix_ids: tuple[int, ...]
    lead_in_ids: tuple[int, ...]
    newline_ids: tuple[int, ...]  # put before the delimiter on a forced end, as the reference does
    end_max_ids: tuple[int, ...]  # delimiter + lead-in encoded together (the reference's "auto")
    think_stop_ids: frozenset[int]  # single-token stops while thinking
    think_stop_strings: tuple[str, ...]  # multi-token stops, found in decoded text
    answer_stop_ids: frozenset[int]

    @property
    def name(self) -> str:
        return self.fmt.name


def bind_format(fmt: ThinkingFormat, tokenizer: Any, eos_ids: tuple[int, ...] = ()) -> BoundFormat:
    """Resolve `fmt` against `tokenizer`; raises S1Error if the tokenizer lacks its tokens.

    `eos_ids`: extra end-of-turn ids (a model's generation config may list several).
    """
    missing = [t for t in fmt.required_tokens if not _vocab_has(tokenizer, t)]
    if missing:
        raise S1Error(
            f"the tokenizer does not support the {fmt.name!r} thinking format "
            f"(no single token for {', '.join(missing)})",
            "pick another with --format, or use auto",
        )

    def enc(s: str) -> tuple[int, ...]:
        return tuple(tokenizer.encode(s, add_special_tokens=False)) if s else ()

    stop_ids: set[int] = set()
    stop_strings: list[str] = []
    for s in fmt.stop_strings:
        ids = enc(s)
        if len(ids) == 1:
            stop_ids.add(ids[0])
        else:
            stop_strings.append(s)
    answer_stop: set[int] = set()
    for s in fmt.end_of_turn:
        ids = enc(s)
        if len(ids) == 1 and _vocab_has(tokenizer, s):
            answer_stop.add(ids[0])
    if tokenizer.eos_token_id is not None:
        answer_stop.add(int(tokenizer.eos_token_id))
    answer_stop.update(int(i) for i in eos_ids)
    # A model that ends its turn while thinking has also tried to end thinking.
    stop_ids |= answer_stop
    return BoundFormat(
        fmt=fmt,
        think_end_ids=enc(fmt.think_end),
        prompt_suffix_ids=enc(fmt.prompt_suffix),
        lead_in_ids=enc(fmt.answer_lead_in),
        newline_ids=enc("\n"),
        end_max_ids=enc(fmt.think_end + fmt.answer_lead_in),
        think_stop_ids=frozenset(stop_ids),
        think_stop_strings=tuple(stop_strings),
        answer_stop_ids=frozenset(answer_stop),
    )
