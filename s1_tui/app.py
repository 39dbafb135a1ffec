"""The live reasoning console: watch a model think and steer it by hand.

Shape (after oterm and Toad): one async worker per run reads `session.stream()` on
Textual's loop and feeds a `Trace` (cheap, per token); a timer flushes the new text
into the panes' `MarkdownStream`s ~30 times a second, so a fast stream costs a few
appends a second and key presses are never starved. Engine events become small
`Message`s handled with `@on`; `check_action` greys out keys that do not apply now.
The engine is loaded in a thread worker (or injected, for tests) and lives on its
own background loop, so the app never blocks on it.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from s1_engine.engine import DEFAULT_MODEL_DIR, DEFAULT_MODEL_EXAMPLE
from s1_engine.errors import S1Error
from s1_engine.events import Event, StreamItem, TokenDelta
from s1_engine.policy import BudgetPolicy, parse_ignore_str
from s1_engine.settings import EngineOptions

from .history import HistoryStore
from .screens import AskText, HelpScreen, HistoryScreen
from .settings import Settings
from .trace import Trace, item_from_dict, item_to_dict, prettify_math
from .widgets import RunView, StreamPane, bar

FLUSH_HZ = 20


# ----- messages: engine news on the app's loop ------------------------------------------
@dataclass
class EngineEvent(Message):
    """A budget-forcing transition of run `index` (wait, end_thinking, inject, ...)."""

    run: Any
    event: Event


@dataclass
class RunFinished(Message):
    run: Any


@dataclass
class EngineReady(Message):
    engine: Any


@dataclass
class EngineFailed(Message):
    problem: str
    fix: str
    details: str = ""


# ----- sources of stream items ----------------------------------------------------------
class ReplaySource:
    """A recorded run fed back at `speed` x its original pace (inf: at once)."""

    def __init__(self, items: list[dict], speed: float = 4.0) -> None:
        self.items = items
        self.speed = speed

    async def stream(self) -> AsyncIterator[StreamItem]:
        start = time.perf_counter()
        for n, d in enumerate(self.items):
            if self.speed != float("inf"):
                due = d.get("t", 0.0) / self.speed
                wait = due - (time.perf_counter() - start)
                if wait > 0.004:
                    await asyncio.sleep(wait)
            elif n % 256 == 255:
                await asyncio.sleep(0)
            yield item_from_dict(d)


class Run:
    """One request in one column: its source, the trace, the view, timings, its log."""

    def __init__(
        self,
        index: int,
        label: str,
        policy: BudgetPolicy | None,
        prompt: str,
        view: RunView,
        source: Any,
        session: Any = None,
        budget: int | str = "auto",
    ) -> None:
        self.index = index
        self.label = label
        self.policy = policy
        self.prompt = prompt
        self.view = view
        self.source = source
        self.session = session  # None for replays: no interventions
        self.trace = Trace(budget)
        self.log: list[dict] = []
        self.started: float | None = None
        self.first_token: float | None = None
        self.last_token: float | None = None
        self.finished = False
        self.armed_waits = 0
        self.pending_now = 0
        self.grade: Any = None
        self.record: dict | None = None

    @property
    def live(self) -> bool:
        return self.session is not None and not self.finished and not self.trace.done

    @property
    def tokens(self) -> int:
        return self.trace.thinking_tokens + self.trace.answer_tokens


KEYS: list[tuple[str, str, str, str, bool]] = [
    # (key, action, footer label, help text, shown in footer)
    (
        "w",
        "wait_now",
        "Wait",
        'Force "Wait" now (after or during the answer: reopen thinking and go on)',
        True,
    ),
    (
        "W",
        "wait_next",
        "Wait@end",
        'Turn the model\'s next attempt to stop thinking into "Wait"',
        True,
    ),
    ("e", "end_thinking", "End", "End thinking now; the answer follows", True),
    ("i", "inject", "Inject", "Type text to insert into the thinking", True),
    ("s", "stop", "Stop", "Stop generating (also Esc)", True),
    ("plus", "budget_up", "Budget+", "Raise the thinking budget by the budget step", True),
    (
        "minus",
        "budget_down",
        "Budget-",
        "Lower the thinking budget (below the used count: end now)",
        True,
    ),
    (
        "g",
        "set_ignore",
        "Ignore str",
        'Set the ignore string ("Wait", or "Wait|Hmm" to rotate)',
        False,
    ),
    ("n", "new_question", "New", "New question: focus the prompt box", True),
    ("f", "follow", "Follow", "Follow the stream again after scrolling up", False),
    ("h", "history", "History", "Browse past runs: reopen, replay, export", False),
    ("m", "load_model", "Model", "Load another model (folder or hub id)", False),
    ("f1", "help", "Help", "This help (also ?)", True),
    ("q", "quit", "Quit", "Quit (also ctrl+q)", True),
]

THINK_ACTIONS = {"wait_next", "end_thinking", "budget_up", "budget_down"}
LIVE_ACTIONS = {"wait_now", "inject", "stop"}


class S1App(App):
    """`s1 tui`."""

    TITLE = "s1 console"
    CSS = """
    #error { display: none; background: $error 30%; color: $text; padding: 0 1; height: auto; }
    #error.shown { display: block; }
    #prompt { margin: 0 0; }
    #columns { height: 1fr; }
    #status { height: 1; background: $panel; color: $text; padding: 0 1; }
    RunView > #thinking > Markdown { color: $text-muted; }
    """
    BINDINGS = [Binding(k, a, label, show=shown) for k, a, label, _, shown in KEYS] + [
        Binding("question_mark", "help", "Help", show=False),
        Binding("escape", "escape", "Stop", show=False),
    ]

    def __init__(
        self,
        settings: Settings | None = None,
        engine: Any = None,
        *,
        store: HistoryStore | None = None,
        clock: Callable[[], float] = time.perf_counter,
        ask_now: str | None = None,
        load: bool = True,
        log: Any = None,
    ) -> None:
        super().__init__()
        self.log_file = log  # the engine's own output goes here (s1_engine.EngineLog)
        self.settings = settings or Settings()
        self.engine = engine
        self._owns_engine = engine is None
        self.engine_state = "ready" if engine is not None or not load else "loading"
        self._load = load
        self.engine_error: tuple[str, str] | None = None
        self.store = store or HistoryStore.default()
        self.clock = clock
        self.runs: list[Run] = []
        self.columns = self.settings.demo_policies() if self.settings.tui.demo else []
        self.last_action: tuple[str, float] | None = None  # (action, clock) for tests
        self.actions_log: list[tuple[str, float]] = []
        self._ask_now = ask_now if ask_now is not None else (self.settings.tui.question or None)
        self._status_text = ""
        self._group = 0
        self.flushes = 0
        self._keys_state: tuple = ()
        self._gc_saved: tuple[int, int, int] | None = None

    # ----- layout ---------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(icon="s1")
        yield Static("", id="error")
        yield Input(placeholder=self._prompt_hint(), id="prompt")
        with Horizontal(id="columns"):
            if self.columns:
                for i, (label, _) in enumerate(self.columns):
                    yield RunView(i, label, show_line=True)
            else:
                yield RunView(0)
        yield Static("", id="status")
        yield Footer()

    # ----- garbage collection: no full collections while a stream runs --------------------
    def _gc_streaming(self, on: bool) -> None:
        """A full (gen 2) collection of a big widget tree takes 0.1-0.4 s here, which is a
        frozen UI and a late key press. While a run streams, only the young generations
        are collected; the full collection runs once the runs are done."""
        if on and self._gc_saved is None:
            self._gc_saved = gc.get_threshold()
            t0, t1, _ = self._gc_saved
            gc.set_threshold(t0, t1, 1_000_000)
        elif not on and self._gc_saved is not None:
            gc.set_threshold(*self._gc_saved)
            self._gc_saved = None
            self.set_timer(2.0, self._gc_when_idle)

    def _gc_when_idle(self) -> None:
        if self._gc_saved is None and not self._live_runs():
            gc.collect()

    def on_unmount(self) -> None:
        if self._gc_saved is not None:
            gc.set_threshold(*self._gc_saved)
            self._gc_saved = None

    def on_mount(self) -> None:
        if self.settings.tui.theme:
            try:
                self.theme = self.settings.tui.theme
            except Exception:
                self.notify(f"unknown theme {self.settings.tui.theme!r}", severity="warning")
        self.sub_title = self._model_name()
        self.set_interval(1 / FLUSH_HZ, self._flush_panes)
        if self.engine is None and self._load:
            self._load_engine(self.settings.engine)
        self.query_one("#prompt", Input).focus()
        self._update_status()
        if self._ask_now and self.engine is not None:
            self.ask(self._ask_now)

    def _prompt_hint(self) -> str:
        """The prompt's placeholder: with the embedded model, a question it knows."""
        hint = "Ask a question… (Enter)"
        model = self.engine.model if self.engine is not None else self.settings.engine.model
        if model is None or Path(str(model)).resolve() == DEFAULT_MODEL_DIR.resolve():
            hint += f"  e.g. {DEFAULT_MODEL_EXAMPLE}"
        return hint

    def _model_name(self) -> str:
        if self.engine is not None:
            return str(self.engine.model).rstrip("/").split("/")[-1]
        return str(self.settings.engine.model or "default model").rstrip("/").split("/")[-1]

    # ----- the engine -------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="engine")
    def _load_engine(self, opts: EngineOptions) -> None:
        try:
            engine = opts.build(self.settings.policy.seed, "live", self.log_file)
        except S1Error as e:
            self.post_message(EngineFailed(e.problem, e.fix or "", e.details))
        except Exception as e:  # noqa: BLE001 - any load failure is shown in the app
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            self.post_message(
                EngineFailed(
                    f"the model failed to load: {type(e).__name__}: {first}",
                    "check --model and --backend (try --backend hf), or press m to load another",
                )
            )
        else:
            self.post_message(EngineReady(engine))

    @on(EngineReady)
    def _engine_ready(self, msg: EngineReady) -> None:
        self.engine = msg.engine
        self._owns_engine = True
        self.engine_state = "ready"
        self.sub_title = self._model_name()
        self._show_error(None)
        self._update_status()
        if self._ask_now:
            self.ask(self._ask_now)

    @on(EngineFailed)
    def _engine_failed(self, msg: EngineFailed) -> None:
        self.engine_state = "failed"
        self.engine_error = (msg.problem, msg.fix)
        self._show_error(
            f"Cannot load the model: {msg.problem}\nWhat to do: {msg.fix}. "
            "Press m to load another model, h for history, q to quit."
            + (f"\n{msg.details}" if msg.details else "")
        )
        self._update_status()

    def _show_error(self, text: str | None) -> None:
        box = self.query_one("#error", Static)
        box.update(Content(text or ""))  # plain text: an error may hold "[...]"
        box.set_class(bool(text), "shown")

    def close_engine(self) -> None:
        """Close an engine the app loaded itself (call after `run()` returns)."""
        if self.engine is not None and self._owns_engine:
            engine, self.engine = self.engine, None
            engine.close()

    # ----- asking -----------------------------------------------------------------------
    @on(Input.Submitted, "#prompt")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text:
            self.ask(text)

    def ask(self, prompt: str) -> None:
        """Start the question in every column (stopping what still runs)."""
        if self.engine is None:
            if self.engine_state == "loading":
                self.notify("the model is still loading: ask again in a moment", severity="warning")
            else:
                self.notify("no model loaded: press m to load one", severity="error")
            self._ask_now = prompt if self.engine_state == "loading" else None
            return
        self._ask_now = None
        for run in self.runs:
            if run.live:
                run.session.stop()
        self._group += 1
        base = self.settings.base_policy()
        plan = self.columns or [("", base)]
        self._show_error(None)
        self._start_runs(prompt, plan)

    @work(exclusive=True, group="start")
    async def _start_runs(self, prompt: str, plan: list[tuple[str, BudgetPolicy]]) -> None:
        views = list(self.query(RunView))
        self.runs = []
        for view in views:
            await view.clear()
        try:
            for i, (label, policy) in enumerate(plan):
                fmt = self.settings.engine.format
                session = self.engine.start(
                    prompt, policy, format=None if fmt in ("", "auto") else fmt, paused=True
                )
                budget = policy.max_thinking_tokens
                run = Run(i, label, policy, prompt, views[i], session, session, budget)
                self.runs.append(run)
        except S1Error as e:
            self._show_error(f"Cannot start: {e.problem}\nWhat to do: {e.fix}")
            return
        except Exception as e:  # noqa: BLE001 - the engine died: say so, stay usable
            self._show_error(
                f"The engine failed: {type(e).__name__}: {e}\n"
                "What to do: press m to load the model again, or q to quit."
            )
            return
        for run in self.runs:
            run.trace.budget = getattr(run.session.machine, "budget", run.trace.budget)
            run.started = self.clock()
            self._follow(run)
            run.session.begin()
            self._consume(run)
        self.query_one("#run0 #thinking", StreamPane).focus()
        self._refresh_keys()

    def replay(self, record: dict, speed: float | None = None) -> None:
        """Show a recorded run again (speed None: the setting; inf: at once)."""
        speed = self.settings.tui.replay_speed if speed is None else speed
        source = ReplaySource(record.get("items", []), speed)
        self.show_source(
            source, record.get("prompt", ""), record.get("label", ""), record.get("budget", "auto")
        )

    def show_source(
        self,
        source: Any,
        prompt: str = "",
        label: str = "",
        budget: int | str = "auto",
        session: Any = None,
    ) -> None:
        """Stream any source of items (`.stream()`) into the first column: a replay, or a
        synthetic stream (benchmarks). With `session`, the keys steer it."""
        for run in self.runs:
            if run.live:
                run.session.stop()
        self._start_source(source, prompt, label, budget, session)

    @work(exclusive=True, group="start")
    async def _start_source(
        self, source: Any, prompt: str, label: str, budget: int | str, session: Any
    ) -> None:
        views = list(self.query(RunView))
        for view in views:
            await view.clear()
        run = Run(0, label, None, prompt, views[0], source, session, budget)
        run.started = self.clock()
        self.runs = [run]
        self.query_one("#prompt", Input).value = prompt
        self._follow(run)
        self._consume(run)
        self.query_one("#run0 #thinking", StreamPane).focus()
        self._refresh_keys()

    def _follow(self, run: Run) -> None:
        if self.settings.tui.follow:
            run.view.thinking.follow()
            run.view.answer.follow()

    @work(group="runs")
    async def _consume(self, run: Run, skip: int = 0) -> None:
        """Read the run's stream on Textual's loop: per item only cheap bookkeeping.

        `skip`: items already shown (a run that goes on after a Wait after its answer)."""
        self._gc_streaming(True)
        t0 = self.clock() if run.started is None else run.started
        feed, log = run.trace.feed, run.log
        stream = run.source.stream(skip) if skip else run.source.stream()
        try:
            async for item in stream:
                now = self.clock()
                if isinstance(item, TokenDelta):
                    if run.first_token is None:
                        run.first_token = now
                    run.last_token = now
                    feed(item)
                else:
                    feed(item)
                    self.post_message(EngineEvent(run, item))
                log.append(item_to_dict(item, now - t0))
        except Exception as e:  # noqa: BLE001 - a broken stream ends the run, not the app
            run.trace.error = f"{type(e).__name__}: {e}"
        self.post_message(RunFinished(run))

    # ----- flushing into the panes ------------------------------------------------------
    async def _flush_panes(self) -> None:
        if not self.query("#columns") or not self.screen_stack:
            return  # shutting down
        self.flushes += 1
        for run in list(self.runs):
            think, answer, reset = run.trace.take()
            if reset:
                await run.view.answer.set_text("")
            if think:
                await run.view.thinking.write(think)
            if answer:
                await run.view.answer.write(answer)
        self._update_status()

    @on(EngineEvent)
    def _on_engine_event(self, msg: EngineEvent) -> None:
        e, run = msg.event, msg.run
        if e.kind == "wait" and e.cause == "user":
            if run.pending_now:
                run.pending_now -= 1
            elif run.armed_waits:
                run.armed_waits -= 1
        self._refresh_keys()

    @on(RunFinished)
    async def _on_finished(self, msg: RunFinished) -> None:
        run = msg.run
        run.finished = True
        if run.session is not None and hasattr(run.session, "aresult"):
            result = await run.session.aresult()
            await self._grade(run, result.answer)
            self._save(run, result)
        if run not in self.runs:
            return  # an earlier question, stopped by a new one: saved, not shown
        think, answer, reset = run.trace.take()
        if reset:
            await run.view.answer.set_text("")
        await run.view.thinking.write(think)
        await run.view.answer.write(answer)
        # one full update where it changes the view (math), as a stream end deserves
        for pane, text in (
            (run.view.thinking, run.trace.thinking),
            (run.view.answer, run.trace.answer),
        ):
            pretty = prettify_math(text)
            if pretty != text:
                await pane.set_text(pretty)
        self._report_problems(run)
        self._update_status()
        if all(r.finished for r in self.runs):
            self._gc_streaming(False)
        self._refresh_keys()

    async def _grade(self, run: Run, answer: str) -> None:
        """Grade off the UI loop (math-verify may take a while on odd answers)."""
        ref = self.settings.tui.reference
        if not ref:
            return
        from s1_eval.grading import grade

        try:
            run.grade = await asyncio.to_thread(grade, answer, ref, self.settings.tui.grade_kind)
        except Exception as e:  # noqa: BLE001 - grading must not take the app down
            self.notify(f"grading failed: {e}", severity="warning")

    def _report_problems(self, run: Run) -> None:
        t = run.trace
        if t.error:
            self._show_error(
                f"The engine failed during generation: {t.error}\n"
                "What to do: press n to ask again; if it keeps failing press m to reload "
                "the model (or restart with --backend hf)."
            )
            return
        machine = getattr(run.session, "machine", None)
        if machine is not None and t.finish_reason == "length":
            used = len(machine.prompt) + len(machine.out)
            if used >= machine.context_len - 8:
                self._show_error(
                    f"The context is full ({used} of {machine.context_len} tokens): the answer "
                    "was cut.\nWhat to do: lower the budget (-), ask a shorter question, or "
                    "restart with a larger --max-model-len."
                )

    def _save(self, run: Run, result: Any) -> None:
        engine = self.engine
        record = {
            "group": self._group,
            "label": run.label,
            "model": getattr(engine, "model", ""),
            "backend": getattr(engine, "backend_name", ""),
            "format": getattr(getattr(engine, "format", None), "name", ""),
            "prompt": run.prompt,
            "policy": run.policy.label() if run.policy else "",
            "budget": run.trace.budget,
            "reference": self.settings.tui.reference,
            "correct": bool(run.grade.correct) if run.grade is not None else None,
            "thinking": result.thinking,
            "answer": result.answer,
            "thinking_view": run.trace.thinking,
            "answer_view": run.trace.answer,
            "thinking_tokens": result.thinking_tokens,
            "answer_tokens": result.answer_tokens,
            "finish_reason": result.finish_reason,
            "seconds": round(result.seconds, 3),
            "events": [e.to_dict() for e in result.events],
            "items": run.log,
        }
        try:
            run.record = self.store.add(record)
        except OSError as e:
            self.notify(f"could not save the history: {e}", severity="warning")

    # ----- the status bar ---------------------------------------------------------------
    def _rate(self) -> str:
        firsts = [r.first_token for r in self.runs if r.first_token is not None]
        lasts = [r.last_token for r in self.runs if r.last_token is not None]
        if not firsts or not lasts:
            return "– tok/s"
        end = max(lasts) if all(r.finished for r in self.runs) else self.clock()
        span = end - min(firsts)
        tokens = sum(r.tokens for r in self.runs)
        if span <= 0 or tokens < 2:
            return "– tok/s"
        return f"{tokens / span:.1f} tok/s"

    def _state(self) -> str:
        if self.engine_state != "ready":
            return {"loading": "loading model…", "failed": "model failed"}[self.engine_state]
        if not self.runs:
            return "ready"
        if any(r.trace.error for r in self.runs):
            return "error"
        if all(r.finished for r in self.runs):
            reasons = sorted({r.trace.finish_reason or "?" for r in self.runs})
            return "done: " + ",".join(reasons)
        if any(r.trace.thinking_now for r in self.runs if not r.finished):
            return "thinking"
        return "answering"

    def _update_status(self) -> None:
        engine = self.engine
        backend = getattr(engine, "backend_name", self.settings.engine.backend)
        parts = [f"{self._model_name()} · {backend}"]
        if not self.columns:
            run = self.runs[0] if self.runs else None
            t = run.trace if run else Trace(self.settings.policy.max_thinking)
            c = t.counts
            parts.append(f"think {bar(t.thinking_tokens, t.budget, 12)}")
            parts.append(f"answer {t.answer_tokens}")
            parts.append(self._rate())
            who = ",".join(f"{k} {v}" for k, v in sorted(c.waits.items()))
            parts.append(f"Wait {c.n_waits}" + (f" ({who})" if who else ""))
            ends = ",".join(sorted(c.ends))
            parts.append(f"end {c.n_ends}" + (f" ({ends})" if ends else ""))
            if run is not None and run.armed_waits:
                parts.append(f"armed {run.armed_waits}")
            if run is not None and run.grade is not None:
                parts.append("✔ correct" if run.grade.correct else "✘ wrong")
        else:
            parts.append(f"{len(self.columns)} columns")
            parts.append(self._rate())
            for run in self.runs:
                run.view.line.update(Content(self._column_line(run)))
        parts.append(self._state())
        text = " │ ".join(parts)
        if text != self._status_text:
            for box in self.query("#status").results(Static):
                self._status_text = text
                box.update(Content(text))

    def _column_line(self, run: Run) -> str:
        """The grade first (what a demo is about), then the budget bar and the counts."""
        t = run.trace
        ends = ",".join(sorted(t.counts.ends)) or "–"
        line = f"{bar(t.thinking_tokens, t.budget, 6)} ans {t.answer_tokens} W{t.counts.n_waits} end:{ends}"
        if run.grade is not None:
            line = f"{'✔' if run.grade.correct else '✘'} {run.grade.extracted or '–'} │ {line}"
        elif run.finished:
            line += f" {t.finish_reason}"
        return line

    @property
    def status_text(self) -> str:
        return self._status_text

    # ----- keys -------------------------------------------------------------------------
    def _live_runs(self) -> list[Run]:
        return [r for r in self.runs if r.live]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "wait_now":
            return True if self._live_runs() or self._reopenable_runs() else None
        if action in LIVE_ACTIONS:
            return True if self._live_runs() else None
        if action in THINK_ACTIONS:
            return True if any(r.trace.thinking_now for r in self._live_runs()) else None
        if action == "follow":
            return True if self.runs else None
        return True

    def _refresh_keys(self) -> None:
        """Refresh the footer only when the set of usable keys changed (a footer
        refresh rebuilds its widgets: too costly for every event of a fast stream)."""
        state = tuple(
            self.check_action(a, ()) for a in sorted(LIVE_ACTIONS | THINK_ACTIONS | {"wait_now"})
        )
        state += (bool(self.runs),)
        if state != self._keys_state:
            self._keys_state = state
            self.refresh_bindings()

    def _acted(self, name: str) -> None:
        self.last_action = (name, self.clock())
        self.actions_log.append(self.last_action)

    def _reopenable_runs(self) -> list[Run]:
        """Finished runs whose thinking can go on (a Wait after the answer)."""
        return [
            r
            for r in self.runs
            if r.finished
            and r.session is not None
            and getattr(getattr(r.session, "machine", None), "can_reopen", lambda: False)()
        ]

    def action_wait_now(self) -> None:
        for run in self._live_runs():
            run.session.force_wait(None, now=True)
            run.pending_now += 1
        for run in self._reopenable_runs():
            run.session.force_wait(None, now=True)  # reopens the finished request
            run.pending_now += 1
            run.finished = False
            self._gc_streaming(True)
            self._consume(run, skip=run.trace.items)
        self._acted("wait_now")
        self._refresh_keys()

    def action_wait_next(self) -> None:
        for run in self._live_runs():
            if run.trace.thinking_now:
                run.session.force_wait(None, now=False)
                run.armed_waits += 1
        self._acted("wait_next")
        self.notify("the model's next attempt to stop thinking becomes a Wait", title="armed")

    def action_end_thinking(self) -> None:
        for run in self._live_runs():
            if run.trace.thinking_now:
                run.session.end_thinking()
        self._acted("end_thinking")

    def action_escape(self) -> None:
        """Esc: stop what runs; else leave the prompt box so the letter keys work."""
        if self._live_runs():
            self.action_stop()
        elif isinstance(self.focused, Input) and self.screen is self.screen_stack[0]:
            self.query_one("#run0 #thinking", StreamPane).focus()

    def action_stop(self) -> None:
        for run in self._live_runs():
            run.session.stop()
        self._acted("stop")

    def _change_budget(self, sign: int) -> None:
        step = self.settings.tui.budget_step
        for run in self._live_runs():
            if not run.trace.thinking_now:
                continue
            current = getattr(run.session.machine, "budget", None)
            if not isinstance(current, int):
                continue
            new = max(run.trace.thinking_tokens, current + sign * step)
            run.session.set_budget(new)
            run.trace.budget = new
        self._acted("budget_up" if sign > 0 else "budget_down")

    def action_budget_up(self) -> None:
        self._change_budget(+1)

    def action_budget_down(self) -> None:
        self._change_budget(-1)

    def action_inject(self) -> None:
        def done(text: str | None) -> None:
            if text:
                for run in self._live_runs():
                    run.session.inject(text if text[:1].isspace() else " " + text)
                self._acted("inject")

        self.push_screen(
            AskText("Inject into the thinking:", placeholder="e.g. Let me check"), done
        )

    def action_set_ignore(self) -> None:
        def done(text: str | None) -> None:
            if not text:
                return
            try:
                value = parse_ignore_str(text)
            except S1Error as e:
                self.notify(e.line(), severity="error")
                return
            self.settings.policy.ignore_str = text
            for run in self._live_runs():
                run.session.set_ignore_str(value)
            self._acted("set_ignore")
            self.notify(f"ignore string: {text}", title="set")

        current = self.settings.policy.ignore_str
        self.push_screen(AskText('Ignore string ("Wait", or "Wait|Hmm" to rotate):', current), done)

    def action_new_question(self) -> None:
        box = self.query_one("#prompt", Input)
        box.focus()
        box.select_all() if hasattr(box, "select_all") else None
        self._acted("new_question")

    def action_follow(self) -> None:
        for run in self.runs:
            run.view.thinking.follow()
            run.view.answer.follow()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(help_rows()))

    def action_history(self) -> None:
        def done(choice: tuple[str, dict] | None) -> None:
            if not choice:
                return
            what, record = choice
            self.replay(record, float("inf") if what == "open" else None)

        self.push_screen(HistoryScreen(self.store), done)

    def action_load_model(self) -> None:
        def done(text: str | None) -> None:
            if not text:
                return
            for run in self._live_runs():
                run.session.stop()
            old = self.engine if self._owns_engine else None
            self.engine = None
            self.engine_state = "loading"
            self.settings.engine.model = text.strip()
            self._show_error(None)
            self._update_status()
            self._reload(old)

        self.push_screen(
            AskText("Load a model (folder or hub id):", str(self.settings.engine.model or "")), done
        )

    @work(thread=True, group="engine")
    def _reload(self, old: Any) -> None:
        if old is not None:
            try:
                old.close()
            except Exception:  # noqa: BLE001
                pass
        self._load_engine(self.settings.engine)

    async def action_quit(self) -> None:
        for run in self._live_runs():
            run.session.stop()
        self.exit()

    # ----- command palette --------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for key, action, label, what, _ in KEYS:
            if action == "quit":
                continue
            if self.check_action(action, ()) is None:
                continue
            yield SystemCommand(f"{label} ({key})", what, getattr(self, f"action_{action}"))


def help_rows() -> list[tuple[str, str, str]]:
    names = {"plus": "+", "minus": "-", "W": "shift+w"}
    return [(names.get(k, k), label, what) for k, _, label, what, _ in KEYS]
