"""service.request_buffering.Incoming: when a request read by the event loop is complete."""

from __future__ import annotations

import pytest

from service.request_buffering import MAX_HEAD_BYTES, Incoming, error_response

LIMIT = 1000


def _fed(*pieces: bytes) -> Incoming:
    incoming = Incoming(conn=None, deadline=0.0)
    for piece in pieces:
        incoming.feed(piece)
    return incoming


@pytest.mark.parametrize(
    ("pieces", "complete"),
    [
        ([b"GET / HTTP/1.1\r\nHost: x\r\n"], False),
        ([b"GET / HTTP/1.1\r\n", b"Host: x\r\n\r\n"], True),
        ([b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabc"], False),
        ([b"POST / HTTP/1.1\r\ncontent-length:5\r\n\r\nabc", b"de"], True),
        ([b"POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n"], True),  # over the limit: the app
        ([b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"], False),
        ([b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"], True),
        ([b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n"], False),
        ([b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n\r\n"], True),
        ([b"GET /" + b"a" * (MAX_HEAD_BYTES + 1)], True),  # too long a head: the parser refuses
    ],
)
def test_a_request_is_complete_when_head_and_body_are_in(pieces, complete) -> None:
    assert _fed(*pieces).complete(LIMIT) is complete


def test_a_chunked_body_over_the_limit_is_too_large() -> None:
    head = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert not _fed(head, b"10\r\n" + b"x" * 16 + b"\r\n").too_large(LIMIT)
    assert _fed(head, b"%x\r\n" % 2000 + b"x" * 2000).too_large(LIMIT)


def test_expect_100_continue_is_taken_from_the_head_once() -> None:
    incoming = _fed(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    assert incoming.take_expect_continue() and not incoming.take_expect_continue()
    assert bytes(incoming.data) == b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n"
    incoming.feed(b"ok")
    assert incoming.complete(LIMIT)


def test_error_answers_have_the_api_shape() -> None:
    answer = error_response(431, "Request Header Fields Too Large", "x" * 1000)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ") and b"Content-Type: application/json" in head
    assert body.startswith(b'{"error": {"code": "headers_too_large", "message": "xxx')
    assert len(body) < 700
