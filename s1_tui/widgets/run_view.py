"""One column: a run's label, its thinking and answer panes, a line of figures.

The view owns the run it shows (after oterm's ChatContainer, which owns its stream
task): `show(run)` starts a worker that reads the run's stream on Textual's loop, with
only cheap bookkeeping per item (the trace, the log), posts `RunEvent` for each
budget-forcing transition and `RunFinished` when the stream runs out. The app's flush
timer calls `flush()`, which moves only the new text into the panes. The steering
methods are what the main screen's key actions call; each calls the run's session.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from s1_engine.events import Result, TokenDelta

from ..messages import RunEvent, RunFinished
from ..run import Run, Steerable, machine_facts
from ..status import column_line
from ..trace import item_to_dict, prettify_math
from .stream_pane import StreamPane


class RunView(Vertical):
    DEFAULT_CSS = """
    RunView { width: 1fr; height: 1fr; }
    RunView > .label { height: 1; text-style: bold; color: $accent; padding: 0 1; }
    RunView > .line { height: 1; padding: 0 1; color: $text-muted; }
    RunView > #thinking { height: 2fr; }
    RunView > #answer { height: 1fr; }
    """

    def __init__(
        self,
        index: int,
        label: str = "",
        show_line: bool = False,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        super().__init__(id=f"run{index}", classes="run")
        self.index = index
        self._label_text = label
        self._show_line = show_line
        self._line_text = ""
        self.clock = clock
        self.run: Run | None = None  # the run shown; None before the first, or while starting
        # take() and its writes as one step: a flush that awaits a pane must not let the
        # final update (or a clear) write in between, or the text lands out of order
        self._writing = asyncio.Lock()

    def compose(self) -> ComposeResult:
        label = Static(self._label_text, classes="label")
        label.display = bool(self._label_text)
        yield label
        # kept as attributes: the flush timer may still tick while the app shuts down
        self.thinking = StreamPane("thinking", id="thinking")
        self.answer = StreamPane("answer", id="answer")
        self.line = Static("", classes="line")
        self.line.display = self._show_line
        yield self.thinking
        yield self.answer
        yield self.line

    # ----- what it shows ------------------------------------------------------------
    async def clear(self) -> None:
        """Empty panes, no run (a run let go streams on unseen until it ends)."""
        async with self._writing:
            self.run = None
            await self.thinking.set_text("")
            await self.answer.set_text("")

    def show(self, run: Run, follow: bool = True) -> None:
        """Show `run` from its first item on: its stream is read in this view's worker."""
        run.view = self
        self.run = run
        if follow:
            self.follow()
        self._consume(run)

    def follow(self) -> None:
        """Both panes follow the stream (again)."""
        self.thinking.follow()
        self.answer.follow()

    @work(group="stream")
    async def _consume(self, run: Run, skip: int = 0) -> None:
        """Read the run's stream on Textual's loop: per item only cheap bookkeeping.

        `skip`: items already shown (a run that goes on after a Wait after its answer)."""
        clock = self.clock
        t0 = clock() if run.started is None else run.started
        feed, log = run.trace.feed, run.log
        result: Result | None = None
        try:
            async for item in run.source.stream(skip):
                now = clock()
                if isinstance(item, TokenDelta):
                    run.streamed(now)
                    feed(item)
                else:
                    feed(item)
                    run.note_event(item)
                    self.post_message(RunEvent(run, item))
                log.append(item_to_dict(item, now - t0))
            aresult = getattr(run.session, "aresult", None)  # a fake session has none
            if aresult is not None:
                result = await aresult()
        except Exception as e:  # noqa: BLE001 - a broken stream ends the run, not the app
            run.trace.error = f"{type(e).__name__}: {e}"
        run.idle(run.last_token or clock())
        run.ended = True
        self.post_message(RunFinished(run, result))

    async def flush(self) -> None:
        """Move the run's new text into the panes (the app's flush timer calls this)."""
        async with self._writing:
            run = self.run
            if run is None:
                return
            think, answer, reset = run.trace.take()
            if reset:
                await self.answer.set_text("")
            if think:
                await self.thinking.write(think)
            if answer:
                await self.answer.write(answer)
            self._update_line(run)

    async def show_final(self, run: Run) -> None:
        """The last text, then one full update where it changes the view (math), as a
        stream end deserves."""
        async with self._writing:
            think, answer, reset = run.trace.take()
            if reset:
                await self.answer.set_text("")
            await self.thinking.write(think)
            await self.answer.write(answer)
            for pane, text in (
                (self.thinking, run.trace.thinking),
                (self.answer, run.trace.answer),
            ):
                pretty = prettify_math(text)
                if pretty != text:
                    await pane.set_text(pretty)
            self._update_line(run)

    def _update_line(self, run: Run) -> None:
        if self._show_line:
            text = column_line(run.figures())
            if text != self._line_text:
                self._line_text = text
                self.line.update(Content(text))

    # ----- steering: what the keys call -----------------------------------------------
    def _live(self, thinking: bool = False) -> tuple[Run, Steerable] | None:
        """The run and its session, if the keys can steer it now (and it thinks)."""
        run = self.run
        if run is None or run.session is None or not run.live:
            return None
        if thinking and not run.trace.thinking_now:
            return None
        return run, run.session

    def force_wait_now(self) -> bool:
        """w: "Wait" into the thinking now. On a finished run whose thinking can go on,
        the Wait reopens it and the view reads on; True then (it streams again)."""
        if live := self._live():
            run, session = live
            session.force_wait(None, now=True)
            run.pending_now += 1
            return False
        run = self.run
        if run is None or run.session is None or not run.reopenable:
            return False
        run.session.force_wait(None, now=True)  # reopens the finished request
        run.pending_now += 1
        run.finished = run.ended = False
        self._consume(run, skip=run.trace.items)
        return True

    def force_wait_at_next_end(self) -> None:
        """W: the model's next attempt to stop thinking becomes a Wait."""
        if live := self._live(thinking=True):
            run, session = live
            session.force_wait(None, now=False)
            run.armed_waits += 1

    def end_thinking(self) -> None:
        if live := self._live(thinking=True):
            live[1].end_thinking()

    def stop(self) -> None:
        if live := self._live():
            live[1].stop()

    def inject(self, text: str) -> None:
        if live := self._live():
            live[1].inject(text)

    def set_ignore_str(self, value: str | tuple[str, ...]) -> None:
        if live := self._live():
            live[1].set_ignore_str(value)

    def change_budget(self, delta: int) -> None:
        """+/-: move the thinking budget by `delta`, never below the tokens used (which
        ends thinking now)."""
        if not (live := self._live(thinking=True)):
            return
        run, session = live
        facts = machine_facts(session)
        if not isinstance(facts.budget, int):
            return
        used = max(run.trace.thinking_tokens, facts.thinking_tokens or 0)
        new = max(used, facts.budget + delta)
        session.set_budget(new)
        run.trace.budget = new
