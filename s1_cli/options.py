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
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from s1_engine.errors import S1Error
from s1_engine.options import check, flag_of, option_fields

GIVEN = ("COMMANDLINE", "ENVIRONMENT", "PROMPT")  # click's ParameterSource names
CTX = "s1_context"  # the parser's context, asked which flags were given
CONFIG_HELP = "Settings file (TOML or YAML) with any of this command's options; flags win."


def is_settings(annotation: Any) -> bool:
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


def _base(t: Any) -> Any:
    """int | None -> int; list[str] | None -> list[str]."""
    if typing.get_origin(t) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(t) if a is not type(None)]
        return args[0] if len(args) == 1 else t
    return t


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


def read_settings_file(path: Path, known: set[str]) -> dict[str, Any]:
    """Flat `key = value` settings (tables are merged in) from a TOML or YAML file."""
    if not path.is_file():
        raise S1Error(f"no settings file at {str(path)!r}", "check --config")
    try:
        text = path.read_text()
        if path.suffix in (".yaml", ".yml"):
            import yaml

            raw = yaml.safe_load(text) or {}
        else:
            import tomllib

            raw = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as e:
        raise S1Error(f"cannot read {str(path)!r}: {e}", "check --config") from None
    except Exception as e:  # noqa: BLE001 - any parse error: one line
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise S1Error(f"cannot read {str(path)!r}: {first}", "fix its syntax") from None
    if not isinstance(raw, dict):
        raise S1Error(f"{str(path)!r} is not a table of settings", "write key = value lines")
    flat = _flatten(raw, known)
    unknown = sorted(set(flat) - known)
    if unknown:
        raise S1Error(
            f"unknown setting(s) in {str(path)!r}: {', '.join(unknown)}",
            f"known: {', '.join(sorted(known))}",
        )
    return flat


def _flatten(d: dict[str, Any], known: set[str]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in d.items():
        key = str(k).replace("-", "_")
        if isinstance(v, dict) and key not in known:
            flat.update(_flatten(v, known))
        else:
            flat[key] = v
    return flat


def coerce(value: Any, typ: Any, name: str, source: str) -> Any:
    """A settings-file value as the field's type ('512,1024' strings from lists, ...)."""
    base = _base(typ)
    if value is None:
        return None
    if base is str and isinstance(value, list):
        return ",".join(map(str, value))
    if base is str and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if base is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    ok = {
        str: isinstance(value, str),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, float),
        bool: isinstance(value, bool),
    }.get(base, True)
    if not ok:
        want = getattr(base, "__name__", str(base))
        raise S1Error(
            f"{name} in {source} must be a {want}, got {value!r}", f"write {name} as a {want}"
        )
    return value


def build(cls: type, values: dict[str, Any], file: dict[str, Any], source: str) -> Any:
    """The settings object: flags given > file > defaults (the values passed for the rest)."""
    kwargs: dict[str, Any] = {}
    for f, _, typ in option_fields(cls):
        if f.name in values:
            kwargs[f.name] = values[f.name]
        elif f.name in file:
            kwargs[f.name] = coerce(file[f.name], typ, f.name, source)
    obj = cls(**kwargs)
    check(obj)
    return obj


def command(
    app: typer.Typer,
    name: str | None = None,
    *,
    config: bool = True,
    config_default: Callable[[], Path | None] | None = None,
    defaults: dict[str, Any] | None = None,
    **command_kwargs: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `func` as a command whose settings parameters become options.

    `defaults`: this command's own defaults for some fields (shown in --help).
    `config_default`: the settings file read when --config is not given (if it exists).
    """
    overrides = defaults or {}

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(func, eval_str=True)
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
                if f.name in owner or f.name in sig.parameters:
                    raise TypeError(f"option {f.name!r} declared twice in {func.__name__}")
                owner[f.name] = group
                typs[f.name] = typ
                if info.cli:
                    default = overrides.get(f.name, _field_default(f))
                    added.append(_typer_param(f, info, typ, default))
        if config:
            opt = typer.Option("--config", help=CONFIG_HELP, rich_help_panel="Settings file")
            added.append(
                inspect.Parameter(
                    "config",
                    inspect.Parameter.KEYWORD_ONLY,
                    default=None,
                    annotation=Annotated[Path | None, opt],
                )
            )

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            ctx = kwargs.pop(CTX)
            path = kwargs.pop("config", None) if config else None
            if path is None and config_default is not None:
                path = config_default()
                path = path if path is not None and path.is_file() else None
            known = set(owner)
            file = read_settings_file(Path(path), known) if path is not None else {}
            source = str(path) if path is not None else ""
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
        params = plain + added + ([context] if CTX not in sig.parameters else [])
        wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        app.command(name, **command_kwargs)(wrapper)
        return wrapper

    return decorate
