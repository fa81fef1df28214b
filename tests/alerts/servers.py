"""Loopback receivers for alert tests: SMTP (aiosmtpd), webhooks, fake Slack."""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from tests.targets import free_port


class SMTPSink:
    """A real SMTP server on 127.0.0.1 that keeps what it receives.

    ``refuse`` lists recipients answered with 550 (a permanent refusal).
    """

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.refuse: set[str] = set()
        self.port = free_port()
        sink = self

        class Handler:
            async def handle_RCPT(
                self, server, session, envelope: Envelope, address: str, options
            ):
                if address in sink.refuse:
                    return "550 5.1.1 No such user"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope: Envelope):
                assert isinstance(envelope.content, bytes)  # decode_data is off
                sink.messages.append(email.message_from_bytes(envelope.content))
                return "250 Message accepted"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


Reply = tuple[int, bytes, dict[str, str]]


class Receiver:
    """An HTTP receiver on loopback that records requests and answers from a
    script: ``replies`` is consumed in order, then ``default`` forever.

    ``port`` lets a test stop it and start it again on the same address
    (a receiver that is down for a while).
    """

    def __init__(self, port: int | None = None) -> None:
        self.requests: list[Request] = []
        self.replies: list[Reply] = []
        self.default: Reply = (200, b"ok", {})
        self.on_request: Callable[[Request], None] | None = None
        self.lock = threading.Lock()
        self.port = port or free_port()
        self.server: ThreadingHTTPServer | None = None
        self.start()

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                )
                with receiver.lock:
                    receiver.requests.append(req)
                    reply = (
                        receiver.replies.pop(0)
                        if receiver.replies
                        else receiver.default
                    )
                if receiver.on_request is not None:
                    receiver.on_request(req)
                status, body, headers = reply
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ids(self) -> list[str]:
        return [r.headers.get("webhook-id", "") for r in self.requests]


def slack_reply(status: int, body: str, **headers: str) -> Reply:
    """What Slack's incoming-webhook endpoint answers (text bodies)."""
    return (status, body.encode(), {"Content-Type": "text/html", **headers})


def port_is_closed(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0
