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
        self._md: Markdown | None = None
        self._stream: MarkdownStream | None = None
        self._len = 0
        self._fences = 0
        self._stopping: set[asyncio.Task] = set()
        self._busy = asyncio.Lock()  # one write / replace at a time (a flush may tick mid-replace)
        self.want_follow = False

    def compose(self) -> ComposeResult:
        yield Markdown("", classes="chunk")

    def on_mount(self) -> None:
        self._md = self.query_one(Markdown)
        self._stream = Markdown.get_stream(self._md)

    @property
    def text(self) -> str:
        """Everything written so far (Markdown source)."""
        parts = []
        for md in self.query(Markdown):
            parts.append(md.source)
        if self._stream is not None:
            parts.append("".join(self._stream._pending))
        return "".join(parts)

    async def write(self, text: str) -> None:
        if not text:
            return
        async with self._busy:
            await self._write(text)

    async def _write(self, text: str) -> None:
        if self._len >= CHUNK_CHARS and self._fences % 2 == 0 and text[:1].isspace():
            await self._new_chunk()
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
        elif self._anchor_released and self.scroll_y >= self.max_scroll_y - 2:
            self.anchor()

    async def _new_chunk(self, text: str = "") -> None:
        old = self._stream
        md = Markdown(text, classes="chunk")
        await self.mount(md)
        self._md, self._stream = md, Markdown.get_stream(md)
        self._len, self._fences = len(text), text.count("```")
        if old is not None:
            task = asyncio.create_task(stop_stream(old))  # the old chunk finishes its appends
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    async def settle(self) -> None:
        """Wait until everything written so far is in the widgets."""
        async with self._busy:
            await self._settle()

    async def _settle(self) -> None:
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)
        if self._stream is not None and (
            self._stream._pending or self._stream._new_markup.is_set()
        ):
            await stop_stream(self._stream)
            assert self._md is not None
            self._stream = Markdown.get_stream(self._md)

    async def set_text(self, text: str) -> None:
        """Replace everything (one full update: what a stream end deserves)."""
        async with self._busy:
            await self._set_text(text)

    async def _set_text(self, text: str) -> None:
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)
        if self._stream is not None:
            await stop_stream(self._stream, flush=False)
        await self.remove_children()
        chunks = split_chunks(text) or [""]
        widgets = [Markdown(c, classes="chunk") for c in chunks]
        await self.mount_all(widgets)
        self._md = widgets[-1]
        self._stream = Markdown.get_stream(self._md)
        self._len, self._fences = len(chunks[-1]), chunks[-1].count("```")

    def follow(self, on: bool = True) -> None:
        """Follow the stream (again): anchored to the bottom once there is overflow."""
        self.want_follow = on
        if not on:
            self.anchor(False)
        elif self.max_scroll_y > 0:
            self.anchor()


async def stop_stream(stream: MarkdownStream, flush: bool = True) -> None:
    """`MarkdownStream.stop()`, also for a stream whose task never got to run."""
    if not flush:
        stream._pending.clear()
    try:
        await stream.stop()
    except asyncio.CancelledError:
        me = asyncio.current_task()
        if me is not None and getattr(me, "cancelling", lambda: 0)():
            raise  # we are being cancelled ourselves
        stream._stopped = True
        rest = "".join(stream._pending)
        stream._pending.clear()
        if rest and flush:
            await stream.markdown_widget.append(rest)


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
