"""A pane of streaming Markdown that stays cheap on long traces (thinking, answer)."""

from __future__ import annotations

import asyncio
import re

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownStream

CHUNK_CHARS = 3000  # a pane starts a new Markdown block after this many characters


class StreamPane(VerticalScroll, can_focus=True):
    """A scrollable pane fed by a `MarkdownStream`.

    Appending re-parses the last Markdown block, so one endless paragraph would cost
    more with every flush. The pane starts a new `Markdown` widget every
    `CHUNK_CHARS` characters (at a space, never inside a code fence), which keeps
    each append's cost bounded by the chunk size, not the trace length.
    The view is anchored to the bottom (follows the stream) until the user scrolls up.
    """

    DEFAULT_CSS = """
    StreamPane { height: 1fr; border: round $panel-lighten-2; padding: 0 1; layout: stream; }
    StreamPane:focus { border: round $accent; }
    StreamPane > Markdown { margin: 0; padding: 0; layout: stream; }
    StreamPane > Markdown > MarkdownParagraph { margin: 0; }
    """

    def __init__(self, title: str, *, id: str | None = None, classes: str = "") -> None:
        super().__init__(id=id, classes=classes)
        self.border_title = title
        self._stream: MarkdownStream | None = None
        self._source: list[str] = []  # everything written (MarkdownStream keeps its queue private)
        self._len = 0
        self._fences = 0
        self._stopping: set[asyncio.Task] = set()
        self._busy = asyncio.Lock()  # one write / replace at a time (a flush may tick mid-replace)
        self._scrolled_away = False  # the user moved off the bottom since the last anchor()
        self.want_follow = False

    def compose(self) -> ComposeResult:
        yield Markdown("", classes="chunk")

    def on_mount(self) -> None:
        self._stream = Markdown.get_stream(self.query_one(Markdown))

    @property
    def text(self) -> str:
        """Everything written so far (Markdown source)."""
        if len(self._source) > 1:
            self._source[:] = ["".join(self._source)]
        return self._source[0] if self._source else ""

    async def write(self, text: str) -> None:
        if not text:
            return
        async with self._busy:
            await self._write(text)

    async def _write(self, text: str) -> None:
        if self._len >= CHUNK_CHARS and self._fences % 2 == 0 and text[:1].isspace():
            await self._new_chunk()
        self._source.append(text)
        self._len += len(text)
        self._fences += text.count("```")
        assert self._stream is not None
        await self._stream.write(text)
        self._keep_following()

    def _keep_following(self) -> None:
        """Anchor once the text overflows (short text stays at the top); re-anchor when
        the user scrolls back to within two rows of the bottom."""
        if not self.want_follow:
            return
        if not self.is_anchored:
            if self.max_scroll_y > 0:
                self.anchor()
        elif self._scrolled_away and self.scroll_y >= self.max_scroll_y - 2:
            self.anchor()

    # Textual keeps whether the user scrolled off an anchored view private; these two
    # public methods are where it changes, so the pane keeps its own record of it.
    def anchor(self, anchor: bool = True) -> None:
        super().anchor(anchor)
        self._scrolled_away = False

    def release_anchor(self) -> None:
        super().release_anchor()
        self._scrolled_away = True

    async def _new_chunk(self, text: str = "") -> None:
        old = self._stream
        md = Markdown(text, classes="chunk")
        await self.mount(md)
        self._stream = Markdown.get_stream(md)
        self._len, self._fences = len(text), text.count("```")
        if old is not None:
            task = asyncio.create_task(stop_stream(old))  # the old chunk finishes its appends
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    async def set_text(self, text: str) -> None:
        """Replace everything (one full update: what a stream end deserves)."""
        async with self._busy:
            await self._set_text(text)

    async def _set_text(self, text: str) -> None:
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)
        if self._stream is not None:
            await stop_stream(self._stream)
        await self.remove_children()
        chunks = split_chunks(text) or [""]
        widgets = [Markdown(c, classes="chunk") for c in chunks]
        await self.mount_all(widgets)
        self._stream = Markdown.get_stream(widgets[-1])
        self._source = [text]
        self._len, self._fences = len(chunks[-1]), chunks[-1].count("```")

    def follow(self, on: bool = True) -> None:
        """Follow the stream (again): anchored to the bottom once there is overflow."""
        self.want_follow = on
        if not on:
            self.anchor(False)
        elif self.max_scroll_y > 0:
            self.anchor()


async def stop_stream(stream: MarkdownStream) -> None:
    """`MarkdownStream.stop()`: the stream's last fragments go into its widget first.

    Its task must have started: a task cancelled before it ever ran raises
    CancelledError in `stop()` and drops what was queued. One turn of the loop lets it
    start (`get_stream` schedules it); a cancellation of our own still propagates."""
    await asyncio.sleep(0)
    await stream.stop()


def split_chunks(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """Cut text into pieces of about `size` chars before a space, outside code fences
    (the same rule `StreamPane.write` follows while streaming)."""
    out: list[str] = []
    cur: list[str] = []
    cur_len = fences = 0
    for piece in re.split(r"(?=\s)", text):
        if cur_len >= size and fences % 2 == 0 and piece[:1].isspace():
            out.append("".join(cur))
            cur, cur_len = [], 0
        cur.append(piece)
        cur_len += len(piece)
        fences += piece.count("```")
    if cur:
        out.append("".join(cur))
    return out
