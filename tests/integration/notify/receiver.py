"""A webhook receiver on loopback for notification tests: records every request, and answers each
path from a script (succeed, fail, hang, ask to retry later), as Slack, Teams or a webhook
endpoint would.

Start it with `serving()`; it listens on 127.0.0.1, port 0, so tests run in parallel. Each URL
ends in `SECRET_PATH`, which stands for the secret part of a real webhook URL: tests assert it
never shows up where launchdeck writes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["SECRET_PATH", "Hit", "Receiver", "Reply", "serving"]

SECRET_PATH = "/services/T0001/B0001/s3cr3t-webhook-token"


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    hang_s: float = 0.0
    """Wait this long (or until the receiver stops) before answering."""
    headers: tuple[tuple[str, str], ...] = ()
    """Sent besides Content-Length, e.g. (("Retry-After", "0"),)."""


@dataclass(frozen=True)
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    """time.monotonic() when the request was read."""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each path from its script (the last reply repeats) and records every request."""

    server: ThreadingHTTPServer
    release: threading.Event
    scripts: dict[str, list[Reply]] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, name: str) -> str:
        """The URL of endpoint `name`, answering 200 unless scripted otherwise."""
        return f"{self.base}/{name}{SECRET_PATH}"

    def script(self, name: str, *replies: Reply) -> str:
        """The URL of endpoint `name`, answering `replies` in turn (the last one repeats)."""
        self.scripts[f"/{name}{SECRET_PATH}"] = list(replies)
        return self.url(name)

    def at(self, name: str) -> list[Hit]:
        with self.lock:
            return [hit for hit in self.hits if hit.path == f"/{name}{SECRET_PATH}"]

    def _record(self, hit: Hit) -> Reply:
        with self.lock:
            self.hits.append(hit)
            seen = sum(1 for h in self.hits if h.path == hit.path)
        replies = self.scripts.get(hit.path, [Reply()])
        return replies[min(seen, len(replies)) - 1]


@contextmanager
def serving() -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 until the block ends; hanging replies are released then."""
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            reply = owner._record(
                Hit(self.path, dict(self.headers.items()), body, time.monotonic())
            )
            if reply.hang_s:
                release.wait(reply.hang_s)
            try:
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except OSError:  # the client gave up first
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    owner = Receiver(server, release)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield owner
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
