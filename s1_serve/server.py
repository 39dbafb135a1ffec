"""Running the app with uvicorn: in the foreground (`s1 serve`) or in a thread (tests,
benchmarks, an app that embeds a server).

The socket is bound before anything slow happens, so a port in use is one line at once,
not after the model has loaded.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from s1_engine.errors import S1Error


def bind(host: str = "127.0.0.1", port: int = 8000) -> socket.socket:
    """A listening TCP socket on (host, port); port 0 picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise S1Error(
            f"cannot listen on {host}:{port}: {e.strerror or e}",
            "pick another --port, or stop what holds this one",
        ) from None
    # listening at once: a client that connects before uvicorn runs waits in the backlog
    # instead of being refused (the banner of `s1 serve` comes before uvicorn starts)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _config(app: Any, log_level: str) -> Any:
    import uvicorn

    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=log_level in ("debug", "info"),
        lifespan="off",
        timeout_graceful_shutdown=5,
        timeout_keep_alive=30,
    )


def run(app: Any, sock: socket.socket, log_level: str = "warning") -> None:
    """Serve `app` on `sock` until interrupted (Ctrl-C, SIGTERM): the foreground of `s1 serve`.

    Ctrl-C is how a server is stopped, not an interruption of its work: uvicorn shuts down
    (running streams get 5 s, then their requests are stopped) and this returns normally.
    """
    import uvicorn

    try:
        uvicorn.Server(_config(app, log_level)).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn raises the captured Ctrl-C again once it has stopped
        pass


class ServerThread:
    """`app` served by uvicorn on a daemon thread: `with ServerThread(app) as s: s.url`."""

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"
    ) -> None:
        import uvicorn

        self.app = app
        self.sock = bind(host, port)
        self.url = url_of(self.sock)
        self.server = uvicorn.Server(_config(app, log_level))
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name="s1-serve", daemon=True
        )

    def start(self, timeout: float = 30) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10) -> None:
        self.server.should_exit = True
        self._thread.join(timeout)
        self.sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
