"""Settings declared once: a dataclass field that carries its help, panel, flag and limits.

Every library declares its settings as a dataclass whose fields are made with `option()`
(the engine, the budget policy, evaluation, curation stages, training, the console).
The CLI layer (`s1_cli.options`) turns those fields into command-line options, config
files are read against the same fields, and `check()` validates a filled-in object
before any model loads, so every setting has one name, one help text and one rule.
Nothing here imports a CLI library.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
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


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def known_settings(*classes: type) -> set[str]:
    return {f.name for cls in classes for f, _, _ in option_fields(cls)}
