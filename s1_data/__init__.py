"""s1_data: curation of s1K-style reasoning sets."""
