"""Settings declared once: a dataclass field that carries its help, panel, flag and limits.

Every library declares its settings as a dataclass whose fields are made with `option()`
(the engine, the budget policy, evaluation, curation stages, training, the console).
The CLI layer (`s1_cli.options`) turns those fields into command-line options, settings
files (TOML or YAML) are read against the same fields (`load_settings_file`, `build`), and `check()` validates a filled-in object
before any model loads, so every setting has one name, one help text and one rule.
Nothing here imports a CLI library.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import S1Error

KEY = "s1"


@dataclass(frozen=True)
class OptionInfo:
    """What the command line and the validator know of one field."""

    help: str
    panel: str = ""
    flag: str = ""  # "--max-thinking"; default: the field name with dashes
    short: str = ""  # "-m"
    min: float | None = None  # numbers: the smallest value allowed
    max: float | None = None
    above: float | None = None  # numbers: strictly greater than this
    choices: tuple[str, ...] = ()
    cli: bool = True  # False: config files only
    negatable: bool = True  # bools: also --no-<flag>
    out_dir: bool = False  # a folder this run writes: must be creatable and writable
    example: str = ""  # for messages: "e.g. --max-thinking 1024"


def option(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    factory: Any = None,
    **info: Any,
) -> Any:
    """A dataclass field with its command-line and validation facts."""
    meta = {KEY: OptionInfo(help=help, **info)}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def info_of(f: dataclasses.Field) -> OptionInfo | None:
    return f.metadata.get(KEY)


def option_fields(cls: type) -> list[tuple[dataclasses.Field, OptionInfo, Any]]:
    """(field, info, resolved type) of every declared option of a settings class."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        info = info_of(f)
        if info is not None:
            out.append((f, info, hints[f.name]))
    return out


def flag_of(f: dataclasses.Field, info: OptionInfo | None = None) -> str:
    info = info or info_of(f)
    return (info.flag if info and info.flag else "") or "--" + f.name.replace("_", "-")


def check(obj: Any) -> None:
    """Validate a settings object by its fields' rules: one S1Error naming the flag."""
    for f, info, _ in option_fields(type(obj)):
        value = getattr(obj, f.name)
        if value is None or isinstance(value, bool):
            continue
        flag = flag_of(f, info)
        if info.out_dir and isinstance(value, str | Path):
            if not str(value).strip():
                raise S1Error(f"{flag} is empty", f"give a folder for {flag}")
            from .rundir import check_out_dir

            check_out_dir(value, flag)
            continue
        example = f" ({info.example})" if info.example else ""
        if info.choices and isinstance(value, str) and value not in info.choices:
            raise S1Error(
                f"{flag} must be one of {', '.join(info.choices)}, got {value!r}",
                f"e.g. {flag} {info.choices[0]}",
            )
        if isinstance(value, int | float):
            if isinstance(value, float) and math.isnan(value):
                raise S1Error(f"{flag} is not a number", f"give a number{example}")
            if info.min is not None and value < info.min:
                raise S1Error(
                    f"{flag} must be >= {_num(info.min)}, got {_num(value)}",
                    f"give {_num(info.min)} or more{example}",
                )
            if info.above is not None and value <= info.above:
                raise S1Error(
                    f"{flag} must be > {_num(info.above)}, got {_num(value)}",
                    f"give more than {_num(info.above)}{example}",
                )
            if info.max is not None and value > info.max:
                raise S1Error(
                    f"{flag} must be <= {_num(info.max)}, got {_num(value)}",
                    f"give {_num(info.max)} or less{example}",
                )


def _base(t: Any) -> Any:
    """int | None -> int; list[str] | None -> list[str]."""
    if typing.get_origin(t) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(t) if a is not type(None)]
        return args[0] if len(args) == 1 else t
    return t


def load_settings_file(path: str) -> dict[str, Any]:
    """The raw table of a TOML or YAML settings file."""
    p = Path(path)
    if not p.is_file():
        raise S1Error(f"no config file at {path!r}", "check the path (--config)")
    try:
        text = p.read_text()
        if p.suffix in (".yaml", ".yml"):
            import yaml

            raw = yaml.safe_load(text) or {}
        else:
            import tomllib

            raw = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as e:
        raise S1Error(f"cannot read the config {path!r}: {e}", "check the file") from None
    except Exception as e:  # noqa: BLE001 - any parse error: one line
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise S1Error(f"cannot read the config {path!r}: {first}", "fix its syntax") from None
    if not isinstance(raw, dict):
        raise S1Error(f"{path!r} is not a table of settings", "write key = value lines")
    return raw


def normalize(
    raw: dict[str, Any], known: set[str], source: str, aliases: dict[str, str] | None = None
) -> dict[str, Any]:
    """Flat settings by field name (tables merged in, aliases resolved); unknown names fail."""
    flat = {(aliases or {}).get(k, k): v for k, v in _flatten(raw, known).items()}
    unknown = sorted(set(flat) - known)
    if unknown:
        raise S1Error(
            f"unknown setting(s) in {source!r}: {', '.join(unknown)}",
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


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def known_settings(*classes: type) -> set[str]:
    return {f.name for cls in classes for f, _, _ in option_fields(cls)}
