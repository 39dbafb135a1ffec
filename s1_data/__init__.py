"""s1_data: curation of s1K-style reasoning sets, and synthetic reasoning tasks.

    pool          question pools (files, folders, hub ids, synthetic:N) in one schema
    stages/       the curation stages, one module each (settings + run), and the registry
    pipeline      `CurateConfig` and the runner: the stages in order, saved, resumed
    checkpoint    what a run keeps on disk (each stage's items, every model call)
    engines       the models of the engine stages, built by a factory the caller passes
    report, export  the report, and the output as an s1K-style dataset folder
    msc           Mathematics Subject Classification domains and the classifiers
    synthetic/    procedural reasoning tasks and their s1-style traces

The synthetic tasks reach `s1 eval` through the "s1.tasks" entry point
(`s1_data.tasks:register`, declared in pyproject.toml), not through an import here.
"""
