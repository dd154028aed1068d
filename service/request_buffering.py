"""Whole requests read by the event loop of a gthread worker, not by its pool threads.

gunicorn's gthread worker hands a connection to a pool thread as soon as its first byte arrives;
the thread then blocks reading the rest of the request. A client sending one header line per
second holds a thread for as long as it likes, and 2 × 8 such clients stop the API. A buffering
reverse proxy (nginx, see docker-compose.yml) fixes that in front of gunicorn; for ``geobp serve``,
which has none, :class:`RequestBufferingMixin` does the same job inside the worker: the event loop
reads the request line, headers and body (non-blocking) and submits the connection to the pool
only once the request is complete, so a thread only ever runs the application.

Timeouts (``GEOBP_HEADER_TIMEOUT_S``, default 15 s: the whole head; ``GEOBP_BODY_TIMEOUT_S``,
default 30 s: between two reads of the body) end the clients that are too slow with a JSON 408.
"""

from __future__ import annotations

import errno
import json
import re
import selectors
import socket
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gunicorn import http, util

#: a head (request line + headers) larger than this goes to gunicorn's parser, which refuses it
MAX_HEAD_BYTES = 64 * 1024
_RECV_BYTES = 256 * 1024
#: how long a connection answered by the loop (408, 413) is drained before it is closed
LINGER_S = 2.0
_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*(\d+)[ \t]*\r?$", re.I | re.M)
_CHUNKED = re.compile(rb"^transfer-encoding[ \t]*:.*chunked", re.I | re.M)
_EXPECT_CONTINUE = re.compile(rb"^expect[ \t]*:[ \t]*100-continue[ \t]*\r\n", re.I | re.M)
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


@dataclass
class Incoming:
    """A request being read: the bytes so far and where its parts end."""

    conn: Any
    deadline: float
    data: bytearray = field(default_factory=bytearray)
    head_end: int | None = None  # offset just past the blank line
    content_length: int | None = None
    chunked: bool = False

    def feed(self, chunk: bytes) -> None:
        """Add bytes read from the client."""
        self.data += chunk
        if self.head_end is None:
            end = self.data.find(b"\r\n\r\n")
            if end >= 0:
                self.head_end = end + 4
                head = bytes(self.data[: self.head_end])
                lengths = _CONTENT_LENGTH.findall(head)
                self.content_length = int(lengths[0]) if len(lengths) == 1 else None
                self.chunked = bool(_CHUNKED.search(head))

    def complete(self, max_body_bytes: int) -> bool:
        """True when the request can go to a thread: the head and the body are in, or the
        parser would refuse it anyway (head too long, body over the limit, odd framing)."""
        if self.head_end is None:
            return len(self.data) > MAX_HEAD_BYTES
        if self.chunked:
            ended = _chunked_end(self.data, self.head_end) is not None
            return ended or self.too_large(max_body_bytes)
        if self.content_length is None:
            return True  # no body (or a framing the parser refuses)
        body = len(self.data) - self.head_end
        return self.content_length > max_body_bytes or body >= self.content_length

    def take_expect_continue(self) -> bool:
        """True (once) when the head asks ``Expect: 100-continue``; the header is removed, since
        the loop answers it (the client sends the body only after that answer, or a delay)."""
        if self.head_end is None:
            return False
        head = bytes(self.data[: self.head_end])
        match = _EXPECT_CONTINUE.search(head)
        if match is None:
            return False
        del self.data[match.start() : match.end()]
        self.head_end -= match.end() - match.start()
        return True

    def too_large(self, max_body_bytes: int) -> bool:
        """True for a chunked body past the limit (a body with a ``Content-Length`` over the limit
        is answered 413 by the app without being read)."""
        return self.chunked and len(self.data) - (self.head_end or 0) > max_body_bytes


def _chunked_end(data: bytearray, pos: int) -> int | None:
    """Offset just past a complete chunked body starting at ``pos``; None while incomplete."""
    while True:
        line_end = data.find(b"\r\n", pos)
        if line_end < 0:
            return None
        try:
            size = int(bytes(data[pos:line_end]).split(b";")[0].strip() or b"x", 16)
        except ValueError:
            return line_end  # malformed: the parser answers it
        if size == 0:
            end = data.find(b"\r\n\r\n", line_end)  # past the trailer fields, if any
            return None if end < 0 else end + 4
        pos = line_end + 2 + size + 2
        if pos > len(data):
            return None


#: error codes of the answers gunicorn itself gives (before the app sees a request)
_CODES = {
    400: "bad_request",
    403: "forbidden",
    408: "request_timeout",
    413: "payload_too_large",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
}


def error_response(status: int, reason: str, message: str) -> bytes:
    """A complete answer in the API's error shape, closing the connection."""
    code = _CODES.get(status, "http_error")
    body = json.dumps({"error": {"code": code, "message": message[:500], "details": []}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def timeout_response(message: str) -> bytes:
    """A ``408`` answer in the API's error shape."""
    return error_response(408, "Request Timeout", message)


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """Drop-in for ``gunicorn.util.write_error`` (which writes HTML): the errors gunicorn answers
    itself (bad request line 400, URI too long 414, headers too large 431…) in the API's shape."""
    util.write_nonblock(sock, error_response(status_int, reason, mesg or reason))


class RequestBufferingMixin:
    """For a subclass of gunicorn's ``ThreadWorker``: read each request in the event loop and
    hand it to the thread pool complete (see the module docstring)."""

    header_timeout_s: float = 15.0
    body_timeout_s: float = 30.0
    max_body_bytes: int = 8 * 1024 * 1024

    def enqueue_req(self, conn: Any) -> None:
        """Start reading ``conn``'s next request in the event loop (gthread would submit the
        connection to the pool at once)."""
        if getattr(conn, "buffered", False) or conn.is_http2 or self.cfg.is_ssl:
            conn.buffered = False
            super().enqueue_req(conn)  # type: ignore[misc]
            return
        incoming = Incoming(conn, time.monotonic() + self.header_timeout_s)
        if conn.parser is not None:  # pipelined bytes a previous request read ahead
            incoming.feed(conn.parser.unreader.take_buffered())
        if incoming.data and incoming.complete(self.max_body_bytes):
            self._hand_over(incoming)
            return
        self._incoming().append(incoming)
        conn.sock.setblocking(False)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._read, incoming))

    def _incoming(self) -> list[Incoming]:
        if not hasattr(self, "_reading"):
            self._reading: list[Incoming] = []
        return self._reading

    def _read(self, incoming: Incoming, sock: Any) -> None:
        try:
            chunk = sock.recv(_RECV_BYTES)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR):
                return
            chunk = b""
        if not chunk:  # the client went away
            self._drop(incoming, b"")
            return
        incoming.feed(chunk)
        if incoming.head_end is not None:  # the body timeout counts from the last read
            incoming.deadline = time.monotonic() + self.body_timeout_s
            if incoming.take_expect_continue() and not incoming.complete(self.max_body_bytes):
                try:
                    sock.send(CONTINUE)  # 25 bytes: they fit the empty send buffer
                except OSError:
                    pass
        if incoming.too_large(self.max_body_bytes):
            message = f"request body larger than the limit of {self.max_body_bytes} bytes"
            self._drop(incoming, error_response(413, "Payload Too Large", message))
        elif incoming.complete(self.max_body_bytes):
            self._stop_reading(incoming)
            self._hand_over(incoming)

    def _stop_reading(self, incoming: Incoming) -> None:
        self._incoming().remove(incoming)
        try:
            self.poller.unregister(incoming.conn.sock)
        except (KeyError, ValueError, OSError):
            pass

    def _hand_over(self, incoming: Incoming) -> None:
        conn = incoming.conn
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        conn.parser.unreader.unread(bytes(incoming.data))
        conn.data_ready = True
        conn.buffered = True
        super().enqueue_req(conn)  # type: ignore[misc]

    def _drop(self, incoming: Incoming, answer: bytes) -> None:
        """End a connection, after ``answer`` if any: sent, then the write side shut and what
        the client still sends read away for up to :data:`LINGER_S` (closing with unread bytes
        would reset the connection and lose the answer), all without blocking the loop."""
        self._stop_reading(incoming)
        self.nr_conns -= 1
        sock = incoming.conn.sock
        try:
            if not answer or sock.send(answer) < len(answer):  # a short answer fits the buffer
                raise OSError("not sent")
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            util.close(sock)
            return
        self._lingering().append((sock, time.monotonic() + LINGER_S))
        self.poller.register(sock, selectors.EVENT_READ, self._drain)

    def _lingering(self) -> list[tuple[Any, float]]:
        if not hasattr(self, "_closing"):
            self._closing: list[tuple[Any, float]] = []
        return self._closing

    def _drain(self, sock: Any) -> None:
        try:
            if sock.recv(_RECV_BYTES):
                return
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self._close_lingering(sock)

    def _close_lingering(self, sock: Any) -> None:
        self._closing = [(s, t) for s, t in self._lingering() if s is not sock]
        try:
            self.poller.unregister(sock)
        except (KeyError, ValueError, OSError):
            pass
        util.close(sock)

    def murder_pending(self) -> None:
        """gthread's sweep of idle connections, plus the requests read too slowly: 408."""
        super().murder_pending()  # type: ignore[misc]
        now = time.monotonic()
        for sock, until in list(self._lingering()):
            if until <= now:
                self._close_lingering(sock)
        for incoming in [i for i in self._incoming() if i.deadline <= now]:
            if not incoming.data:
                self._drop(incoming, b"")
                continue
            what = "headers" if incoming.head_end is None else "body"
            limit = self.header_timeout_s if incoming.head_end is None else self.body_timeout_s
            self.log.info(
                "closing %s: request %s not received in %s s", incoming.conn.client, what, limit
            )
            self._drop(incoming, timeout_response(f"request {what} not received within {limit} s"))
