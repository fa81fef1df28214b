"""Real servers on loopback for the tests: HTTP targets with scripted routes.

Each route is a function ``handler(request_handler)`` that writes the whole
response itself, so a test can answer slowly, drip bytes, hang or close.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Route = Callable[[BaseHTTPRequestHandler], None]


def respond(
    status: int, body: bytes = b"ok", headers: dict[str, str] | None = None
) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    return route


def redirect(location: str, status: int = 301) -> Route:
    return respond(status, b"", {"Location": location})


def hang(seconds: float) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)

    return route


def drip(interval: float, count: int) -> Route:
    """Send the status line and headers a byte at a time, forever-ish."""

    def route(h: BaseHTTPRequestHandler) -> None:
        payload = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * count
        try:
            for i in range(len(payload)):
                h.wfile.write(payload[i : i + 1])
                h.wfile.flush()
                time.sleep(interval)
        except OSError:
            pass

    return route


class Target:
    """A threaded HTTP(S) server on loopback. ``routes[path] = Route``."""

    def __init__(
        self, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        self.default: Route = respond(200)
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                target.hits.append(self.path)
                path = self.path.split("?", 1)[0]
                route = target.routes.get(path, target.default)
                route(self)

            do_GET = do_POST = do_HEAD = do_PUT = do_PATCH = do_DELETE = _handle
            do_OPTIONS = _handle

        family = socket.AF_INET6 if ":" in host else socket.AF_INET

        class Server(ThreadingHTTPServer):
            address_family = family
            daemon_threads = True
            request_queue_size = 256

        self.server = Server((host, 0), Handler)
        if ssl_context is not None:
            self.server.socket = ssl_context.wrap_socket(
                self.server.socket, server_side=True
            )
        self.host = host
        self.port = self.server.server_address[1]
        self.scheme = "https" if ssl_context else "http"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/", host: str | None = None) -> str:
        h = host or self.host
        if ":" in h and not h.startswith("["):
            h = f"[{h}]"
        return f"{self.scheme}://{h}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Listener:
    """A raw TCP listener that records whether anything connected."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self.thread.join(timeout=2)
        self.sock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
