"""The console's screens: the main one, and the modals it opens (help, history, a question)."""
