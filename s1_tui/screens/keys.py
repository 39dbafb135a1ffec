"""What the main screen's keys do (mixed into `MainScreen`, which binds them).

Each steering key calls the `RunView`s, which call their run's session: w is
`action_wait_now` -> `RunView.force_wait_now` -> `session.force_wait`. The budget,
ignore-string and pace keys act on the runs while they think, and otherwise set the next
question's values. A steering key that no longer applies runs `action_late`, which says
why (the footer shows it greyed out, or not at all when the footer is narrow).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from s1_engine.errors import S1Error
from s1_engine.policy import parse_budget, parse_ignore_str

from ..knobs import next_budget, next_pace, pace_text
from ..screen_state import ScreenState, late_reason
from .ask import AskText
from .history import HistoryScreen

if TYPE_CHECKING:
    from .main import MainScreen

# What each key does: its tooltip in the footer and its line in the help screen.
WHAT = {
    "wait_now": 'Force "Wait" now (after or during the answer: reopen thinking and go on)',
    "wait_next": 'Turn the model\'s next attempt to stop thinking into "Wait"',
    "end_thinking": "End thinking now; the answer follows",
    "inject": "Type text to insert into the thinking (the run waits meanwhile)",
    "stop": "Stop generating (also Esc)",
    "budget_up": "Raise the thinking budget by the budget step (idle: the next question's)",
    "budget_down": "Lower the thinking budget (below the used count: end now; idle: the next "
    "question's)",
    "pace": "Pace: full speed, then 20, 10, 5, 2 tokens/s (and --pace): slow a fast model to "
    "steer it by hand",
    "set_ignore": 'Set the ignore string ("Wait", or "Wait|Hmm" to rotate)',
    "new_question": "New question: focus the prompt box",
    "follow": "Follow the stream again after scrolling up",
    "history": "Browse past runs: reopen, replay, export",
}
# the steering keys that say why when they come too late (or before any run)
LATE = {
    "w": "wait_now",
    "W": "wait_next",
    "e": "end_thinking",
    "i": "inject",
    "s": "stop",
}


class KeyActions:
    """The main screen's key actions."""

    def action_late(self: MainScreen, action: str) -> None:
        replay = bool(self.runs) and all(r.session is None for r in self.runs)
        self.notify(late_reason(action, self.screen_state, replay), title=action.replace("_", " "))

    def action_wait_now(self: MainScreen) -> None:
        for view in self.views:
            if view.force_wait_now():  # a finished run reopened: it streams again
                self._gc.hold(view.run)
        self._update_screen_state()

    def action_wait_next(self: MainScreen) -> None:
        for view in self.views:
            view.force_wait_at_next_end()
        self.notify("the model's next attempt to stop thinking becomes a Wait", title="armed")

    def action_end_thinking(self: MainScreen) -> None:
        for view in self.views:
            view.end_thinking()

    def action_stop(self: MainScreen) -> None:
        self.stop_all()

    def action_escape(self: MainScreen) -> None:
        """Esc: stop what runs."""
        if any(r.live for r in self.runs):
            self.action_stop()

    def action_budget_up(self: MainScreen) -> None:
        self._budget(+self.settings.tui.budget_step)

    def action_budget_down(self: MainScreen) -> None:
        self._budget(-self.settings.tui.budget_step)

    def _budget(self: MainScreen, delta: int) -> None:
        if self.screen_state is ScreenState.THINKING:
            for view in self.views:
                view.change_budget(delta)
            return
        if self.columns:
            self.notify("each demo column keeps its own budget (--demo)", title="budget")
            return
        policy = self.settings.policy
        new = next_budget(parse_budget(policy.max_thinking), delta)
        policy.max_thinking = str(new)
        late = (
            " (this run's thinking has ended)" if self.screen_state is ScreenState.ANSWERING else ""
        )
        self.notify(f"the next question thinks for at most {new} tokens{late}", title="budget")
        self.refresh_status()

    def action_pace(self: MainScreen) -> None:
        pace = self.console.pace
        if not self.console.paceable:
            self.notify(
                "this model runs elsewhere (--server): its pace is the server's",
                title="pace",
                severity="warning",
            )
            return
        pace.tokens_per_s = next_pace(pace.tokens_per_s, self.settings.tui.pace)
        self.notify(f"pace: {pace_text(pace.tokens_per_s)}", title="pace")
        self.refresh_status()

    def action_inject(self: MainScreen) -> None:
        hold = self.console.paceable
        if hold:
            self.hold_runs(True)  # nothing streams on while the user types

        def done(text: str | None) -> None:
            if text and not any(r.live for r in self.runs):
                self.notify(
                    "too late: the run ended before the text was sent; nothing was injected",
                    title="inject",
                    severity="warning",
                )
            elif text:
                for view in self.views:
                    view.inject(text if text[:1].isspace() else " " + text)
            if hold:
                self.hold_runs(False)

        title = "Inject into the thinking (the run waits meanwhile):"
        self.app.push_screen(AskText(title, placeholder="e.g. Let me check"), done)

    def action_set_ignore(self: MainScreen) -> None:
        def done(text: str | None) -> None:
            if not text:
                return
            try:
                value = parse_ignore_str(text)
            except S1Error as e:
                self.notify(e.line(), severity="error")
                return
            self.settings.policy.ignore_str = text
            for view in self.views:
                view.set_ignore_str(value)
            self.notify(f"ignore string: {text}", title="set")

        current = self.settings.policy.ignore_str
        self.app.push_screen(
            AskText('Ignore string ("Wait", or "Wait|Hmm" to rotate):', current), done
        )

    def action_new_question(self: MainScreen) -> None:
        box = self.prompt_box
        box.focus()
        box.select_all()

    def action_leave_prompt(self: MainScreen) -> None:
        self.views[0].thinking.focus()

    def action_follow(self: MainScreen) -> None:
        for view in self.views:
            if view.run is not None:
                view.follow()

    def action_history(self: MainScreen) -> None:
        def done(choice: tuple[str, dict] | None) -> None:
            if choice:
                what, record = choice
                self.replay(record, float("inf") if what == "open" else None)

        self.app.push_screen(HistoryScreen(self.store), done)
