"""The curation stages, one module each."""
