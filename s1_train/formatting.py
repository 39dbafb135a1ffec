"""s1K rows -> the s1 chat text, in one place (the format strings are the engine's).

A row becomes a prompt (the chat template up to the assistant header, exactly what
`Engine.prompt_ids` renders for the question) and a completion (the assistant turn):

    <|im_start|>think\\n THINKING \\n<|im_start|>answer\\n ATTEMPT <|im_end|>

Loss is taken on the completion only. Accepted columns:
- question: ``question`` (or ``problem``, ``prompt``);
- thinking: ``thinking_trajectories`` (a list, as in s1K, or a string), or any
  ``*_thinking_trajectory`` column (``deepseek_thinking_trajectory`` of s1K-1.1, ...),
  or ``thinking``;
- answer: ``attempt`` (or ``*_attempt``), else ``solution`` / ``answer``;
- or an already formatted ``text`` (split at the last assistant header; if it has none,
  the whole text is trained on).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from s1_engine.errors import S1Error
from s1_engine.formats import S1, ThinkingFormat

ASSISTANT_HEADER = "<|im_start|>assistant\n"
QUESTION_COLUMNS = ("question", "problem", "prompt")
THINKING_COLUMNS = ("thinking_trajectories", "thinking_trajectory", "thinking")
ATTEMPT_COLUMNS = ("attempt", "solution", "answer")


def chatml_prompt(question: str, system: str | None = None) -> str:
    """The ChatML prompt (for tokenizers without a chat template)."""
    text = f"<|im_start|>system\n{system}<|im_end|>\n" if system else ""
    return text + f"<|im_start|>user\n{question}<|im_end|>\n" + ASSISTANT_HEADER


def completion_text(thinking: str, attempt: str, fmt: ThinkingFormat = S1) -> str:
    """The assistant turn in the s1 thinking format (from the engine's format strings)."""
    end = fmt.end_of_turn[0]
    return f"{fmt.think_start}\n{thinking.strip()}\n{fmt.think_end}\n{attempt.strip()}{end}"


def prompt_text(question: str, tokenizer: Any = None, system: str | None = None) -> str:
    """The prompt as the engine renders it (chat template, generation prompt on)."""
    if tokenizer is not None and getattr(tokenizer, "chat_template", None):
        messages = [{"role": "user", "content": question}]
        if system:
            messages.insert(0, {"role": "system", "content": system})
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return chatml_prompt(question, system)


def s1_text(
    question: str, thinking: str, attempt: str, tokenizer: Any = None, system: str | None = None
) -> str:
    """One whole training text: prompt + completion."""
    return prompt_text(question, tokenizer, system) + completion_text(thinking, attempt)


# ----- columns -----------------------------------------------------------------------
class Columns:
    """Which columns of a dataset hold the question, thinking and answer (or text)."""

    def __init__(self, names: Sequence[str], thinking_column: str | None = None) -> None:
        names = list(names)
        self.text: str | None = None
        self.question = self.thinking = self.attempt = None
        if thinking_column is not None and thinking_column not in names:
            raise S1Error(
                f"the dataset has no column {thinking_column!r} (columns: {', '.join(names)})",
                "check --thinking-column",
            )
        self.question = _first(names, QUESTION_COLUMNS)
        self.thinking = thinking_column or _first(names, THINKING_COLUMNS)
        if self.thinking is None:
            self.thinking = next((n for n in names if n.endswith("_thinking_trajectory")), None)
        self.attempt = _first(names, ("attempt",)) or next(
            (n for n in names if n.endswith("_attempt")), None
        )
        self.attempt = self.attempt or _first(names, ATTEMPT_COLUMNS[1:])
        if self.question and self.thinking and self.attempt:
            return
        if "text" in names:
            self.text = "text"
            return
        missing = []
        if not self.question:
            missing.append("question")
        if not self.thinking:
            missing.append("thinking_trajectories (or a *_thinking_trajectory column)")
        if not self.attempt:
            missing.append("attempt (or solution)")
        raise S1Error(
            f"the dataset lacks the column(s) {', '.join(missing)} (it has: {', '.join(names) or 'none'})",
            "give s1K-style columns (question, thinking_trajectories, attempt) or a formatted 'text'",
        )

    def describe(self) -> str:
        if self.text:
            return "text"
        return f"question={self.question}, thinking={self.thinking}, attempt={self.attempt}"


def _first(names: Sequence[str], wanted: Sequence[str]) -> str | None:
    return next((w for w in wanted if w in names), None)


def _as_text(value: Any, what: str) -> str:
    if value is None:
        raise ValueError(f"empty {what}")
    if isinstance(value, list | tuple):
        parts = [str(v) for v in value if v is not None and str(v).strip()]
        if not parts:
            raise ValueError(f"empty {what}")
        return "\n".join(parts)
    text = str(value)
    if not text.strip():
        raise ValueError(f"empty {what}")
    return text


def to_prompt_completion(
    row: dict, columns: Columns, tokenizer: Any = None, system: str | None = None
) -> dict[str, str]:
    """One dataset row -> {"prompt", "completion"}. Raises ValueError for an unusable row."""
    if columns.text:
        text = _as_text(row[columns.text], "text")
        cut = text.rfind(ASSISTANT_HEADER)
        if cut < 0:
            return {"prompt": "", "completion": text}
        cut += len(ASSISTANT_HEADER)
        return {"prompt": text[:cut], "completion": text[cut:]}
    question = _as_text(row[columns.question], "question")
    thinking = _as_text(row[columns.thinking], "thinking")
    attempt = _as_text(row[columns.attempt], "attempt")
    return {
        "prompt": prompt_text(question, tokenizer, system),
        "completion": completion_text(thinking, attempt),
    }
