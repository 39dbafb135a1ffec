"""s1_serve: budget forcing and live steering behind an OpenAI-compatible server.

    from s1_serve import create_app, ServeConfig, ServerThread   # the server, over an Engine
    from s1_serve import RemoteEngine                             # its client, an Engine look-alike

Imports nothing heavy until a name is used, so `s1 --help` stays instant.
"""

from __future__ import annotations

from typing import Any

_NAMES = {
    "create_app": "app",
    "ServeConfig": "app",
    "ServerThread": "server",
    "RemoteEngine": "client",
    "RemoteSession": "remote_session",
}

__all__ = list(_NAMES)


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 's1_serve' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
