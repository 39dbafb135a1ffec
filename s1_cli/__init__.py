"""The `s1` command line."""
