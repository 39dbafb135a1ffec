"""The console's widgets: a streaming Markdown pane, and a run's column of panes."""
