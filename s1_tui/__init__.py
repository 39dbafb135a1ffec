"""s1_tui: the live reasoning console (Textual)."""
