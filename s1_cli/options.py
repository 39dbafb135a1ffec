"""The one way a command gets its options: from settings dataclasses.

    @command(app, "generate")
    def generate(prompt: Annotated[str, typer.Argument()], engine: EngineOptions,
                 policy: PolicyOptions) -> None: ...

Every parameter annotated with a settings class (a dataclass whose fields are made with
`s1_engine.options.option`) becomes that class's options, declared once in the library;
the function receives the filled-in, validated object. Values are layered: the class
defaults < a settings file (`--config`, TOML or YAML; flat keys or tables) < the flags
actually given on the command line (the command-line parser says which were given, so a
flag given with its default value still wins over the file).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from s1_engine.options import _base, build, flag_of, load_settings_file, normalize, option_fields

GIVEN = ("COMMANDLINE", "ENVIRONMENT", "PROMPT")  # click's ParameterSource names
CTX = "s1_context"  # the parser's context, asked which flags were given
FILE = "s1_settings_file"  # the settings file's parameter (its flag: --config or another)
CONFIG_HELP = "Settings file (TOML or YAML) with any of this command's options; flags win."


def is_settings(annotation: Any) -> bool:
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


def _typer_param(f: dataclasses.Field, info: Any, typ: Any, default: Any) -> inspect.Parameter:
    flag = flag_of(f, info)
    names = [flag]
    if _base(typ) is bool and info.negatable:
        names = [f"{flag}/--no-{flag[2:]}"]
    if info.short:
        names.append(info.short)
    opt = typer.Option(*names, help=info.help, rich_help_panel=info.panel or None)
    if typing.get_origin(_base(typ)) is list and default is not None:
        default = list(default)
    return inspect.Parameter(
        f.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[typ, opt]
    )


def _field_default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


def command(
    app: typer.Typer,
    name: str | None = None,
    *,
    config: bool = True,
    config_flag: str = "--config",
    config_help: str = CONFIG_HELP,
    config_loader: Callable[[str], dict[str, Any]] | None = None,
    aliases: dict[str, str] | None = None,
    config_default: Callable[[], Path | None] | None = None,
    defaults: dict[str, Any] | None = None,
    callback: bool = False,
    shadow: tuple[str, ...] = (),
    **command_kwargs: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `func` as a command whose settings parameters become options.

    `callback=True`: as the group's own command (`s1 eval ...` beside `s1 eval compare`).
    `defaults`: this command's own defaults for some fields (shown in --help).
    `config_flag`, `config_loader`, `aliases`: the settings file's flag (e.g. train's
    --recipe), how to read it (a path or a shipped name) and other names for fields.
    `config_default`: the settings file read when the flag is not given (if it exists).
    `shadow`: option names an earlier settings group owns: a later group's field of the
    same name is not offered and keeps its default (eval's --method is its own, not the
    policy's preset).
    """
    overrides = defaults or {}

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(func, eval_str=True)
        own_ctx = next(
            (p.name for p in sig.parameters.values() if p.annotation is typer.Context), None
        )
        plain: list[inspect.Parameter] = []
        groups: dict[str, type] = {}
        for p in sig.parameters.values():
            if is_settings(p.annotation):
                groups[p.name] = p.annotation
            else:
                plain.append(p)
        added: list[inspect.Parameter] = []
        owner: dict[str, str] = {}
        typs: dict[str, Any] = {}
        for group, cls in groups.items():
            for f, info, typ in option_fields(cls):
                if f.name in shadow and f.name in owner:
                    continue
                if f.name in owner or f.name in sig.parameters:
                    raise TypeError(f"option {f.name!r} declared twice in {func.__name__}")
                owner[f.name] = group
                typs[f.name] = typ
                if info.cli:
                    default = overrides.get(f.name, _field_default(f))
                    added.append(_typer_param(f, info, typ, default))
        if config:
            opt = typer.Option(config_flag, help=config_help, rich_help_panel="Settings file")
            added.append(
                inspect.Parameter(
                    FILE,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=None,
                    annotation=Annotated[str | None, opt],
                )
            )

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            ctx = kwargs[own_ctx] if own_ctx else kwargs.pop(CTX)
            path = kwargs.pop(FILE, None) if config else None
            if path is None and config_default is not None:
                path = config_default()
                path = path if path is not None and path.is_file() else None
            known = set(owner)
            source = str(path) if path is not None else ""
            file: dict[str, Any] = {}
            if path is not None:
                raw = (config_loader or load_settings_file)(str(path))
                file = normalize(raw, known, source, aliases)
            per_group: dict[str, dict[str, Any]] = {g: {} for g in groups}
            for key, group in owner.items():
                if key not in kwargs:
                    if key in overrides and key not in file:
                        per_group[group][key] = overrides[key]
                    continue
                value = kwargs.pop(key)
                source_of = ctx.get_parameter_source(key)
                given = source_of is not None and source_of.name in GIVEN
                if given or key not in file:
                    per_group[group][key] = value
            for group, cls in groups.items():
                kwargs[group] = build(cls, per_group[group], file, source)
            return func(*args, **kwargs)

        context = inspect.Parameter(CTX, inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)
        params = plain + added + ([] if own_ctx else [context])
        wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        if callback:
            app.callback(invoke_without_command=True, **command_kwargs)(wrapper)
        else:
            app.command(name, **command_kwargs)(wrapper)
        return wrapper

    return decorate
