"""The retry policy, table-driven: which failures are retried and how long to wait."""

import httpx
import pytest

from llmaas import _retry as policy
from llmaas._errors import (
    APIConnectionError,
    APITimeoutError,
    IncompleteStreamError,
    status_error,
    status_error_from_response,
)


@pytest.mark.parametrize(
    ("status", "retry"),
    [(400, False), (401, False), (403, False), (404, False), (408, True), (409, True), (413, False),
     (422, False), (429, True), (500, True), (502, True), (503, True), (504, True)],
)
def test_status_decides_retry(status, retry):
    assert policy.is_retryable(status_error(status, "x")) is retry


@pytest.mark.parametrize(
    ("exc", "retry"),
    [(APIConnectionError(), True), (APITimeoutError(), True), (IncompleteStreamError("cut"), False),
     (ValueError("no"), False)],
)
def test_exception_kind_decides_retry(exc, retry):
    assert policy.is_retryable(exc) is retry


@pytest.mark.parametrize(("hint", "status", "retry"), [("true", 400, True), ("false", 503, False), ("maybe", 503, True)])
def test_x_should_retry_header_wins(hint, status, retry):
    response = httpx.Response(status, headers={"x-should-retry": hint}, request=httpx.Request("GET", "http://x"))
    assert policy.is_retryable(status_error_from_response(response)) is retry


@pytest.mark.parametrize(("verdict", "status", "retry"), [(False, 429, False), (True, 400, True), (None, 429, True)])
def test_an_in_process_errors_own_verdict_wins(verdict, status, retry):
    exc = status_error(status, "x")  # an in-process provider's error has no response to carry a header
    exc.should_retry = verdict
    assert policy.is_retryable(exc) is retry


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "2"}, 2.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),  # ms is more precise, preferred
        ({"retry-after-ms": "junk", "retry-after": "3"}, 3.0),
        ({"retry-after": "3600"}, policy.MAX_RETRY_AFTER),  # capped
        ({"retry-after": "-1"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "Thu, 01 Jan 2026 00:00:10 GMT"}, 10.0),
        ({"retry-after": "Thu, 01 Jan 2026 00:00:00 GMT"}, 0.0),
    ],
)
def test_retry_after_header(headers, expected):
    now = 1767225600.0  # 2026-01-01T00:00:00Z
    assert policy.retry_after_seconds(headers, now=now) == expected


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [(1, 0.0, 0.5), (2, 0.0, 1.0), (3, 0.0, 2.0), (4, 0.0, 4.0), (5, 0.0, 8.0), (9, 0.0, 8.0),
     (1, 1.0, 0.375), (3, 1.0, 1.5)],
)
def test_backoff_is_exponential_capped_with_jitter(monkeypatch, attempt, rand, expected):
    monkeypatch.setattr(policy, "INITIAL_BACKOFF", 0.5)
    monkeypatch.setattr(policy, "MAX_BACKOFF", 8.0)
    assert policy.backoff_seconds(attempt, rand) == pytest.approx(expected)


def test_delay_prefers_server_hint_over_backoff():
    response = httpx.Response(429, headers={"retry-after-ms": "20"}, request=httpx.Request("GET", "http://x"))
    assert policy.delay_for(status_error_from_response(response), 3) == pytest.approx(0.02)
    assert policy.delay_for(status_error(429, "x", retry_after=1.25), 1) == 1.25


def test_default_policy_numbers():
    assert policy.DEFAULT_MAX_RETRIES == 2
    from llmaas.providers.openai_compat.http import DEFAULT_TIMEOUT

    assert DEFAULT_TIMEOUT.read == 600 and DEFAULT_TIMEOUT.connect == 5
