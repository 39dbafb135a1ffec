"""The question box. While it has the focus, letters type into it; its footer says so.

The steering keys are letters, so they are left out of the footer while the box has
the focus (the main screen's `check_action`), and the box offers what works there: Esc
to leave it (then the letters steer), ctrl+q to quit.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class PromptBox(Input):
    BINDINGS = [
        Binding("escape", "screen.leave_prompt", "Keys", tooltip="Leave the box: keys steer"),
        # priority: as the app's own ctrl+q, which would else stand in for it, unshown
        Binding("ctrl+q", "app.quit", "Quit", tooltip="Quit", priority=True),
    ]
