"""One reading of outbound failures for checks and alert transports
(uptime/failures.py), against real sockets on loopback."""

from __future__ import annotations

import pytest

from tests.targets import free_port
from uptime import failures, outbound


def _post_error(url: str, *, allow_private: bool) -> BaseException:
    with pytest.raises(Exception) as caught:
        outbound.post(url, b"{}", {}, timeout=2.0, allow_private=allow_private)
    return caught.value


def test_it_reads_a_refused_private_address_as_permanent_wherever_it_is_wrapped() -> (
    None
):
    exc = _post_error("http://localhost:9/hook", allow_private=False)
    failure = failures.classify(exc)
    assert failure.error == "blocked_address"
    assert failure.permanent
    assert failures.blocked_cause(exc) is not None
    assert "non-public address" in failure.message


def test_it_reads_a_closed_port_as_a_transient_connect_failure() -> None:
    exc = _post_error(f"http://127.0.0.1:{free_port()}/", allow_private=True)
    failure = failures.classify(exc)
    assert failure.error == "connect"
    assert not failure.permanent
    assert failures.blocked_cause(exc) is None


def test_it_reads_a_malformed_target_as_permanent() -> None:
    exc = _post_error("ftp://example.com/", allow_private=True)
    failure = failures.classify(exc)
    assert (failure.error, failure.permanent) == ("invalid_url", True)


def test_it_reads_a_deadline_as_a_transient_timeout() -> None:
    failure = failures.classify(TimeoutError())
    assert (failure.error, failure.permanent) == ("timeout", False)


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        (500, True),
        (503, True),
        (408, True),
        (409, True),
        (425, True),
        (429, True),
        (400, False),
        (403, False),
        (404, False),
        (410, False),
    ],
)
def test_it_tells_a_status_worth_retrying(status: int, transient: bool) -> None:
    assert failures.status_is_transient(status) is transient


def test_it_treats_smtp_5xx_as_final_and_4xx_as_later() -> None:
    assert failures.smtp_reply_is_permanent(550)
    assert not failures.smtp_reply_is_permanent(451)


def test_it_reads_retry_after_in_seconds_only() -> None:
    assert failures.retry_after_seconds({"Retry-After": "120"}) == 120.0
    assert failures.retry_after_seconds({}) is None
    assert (
        failures.retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
        is None
    )
