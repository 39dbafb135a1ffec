"""s1_data: curation of s1K-style reasoning sets, and synthetic reasoning tasks.

The synthetic tasks reach `s1 eval` through the "s1.tasks" entry point
(`s1_data.tasks:register`, declared in pyproject.toml), not through an import here.
"""
