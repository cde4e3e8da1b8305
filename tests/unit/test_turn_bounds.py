"""Bounded turns: the deadline a request gets, from the server's default, its maximum, the key's own, the
request's header, and the remote API's own timeout, which nothing lengthens."""

from types import SimpleNamespace

import pytest

from llmaas._errors import BadRequestError
from llmaas.server.bounds import TIMEOUT_HEADER, TurnBounds, options_for

ANYONE = SimpleNamespace(max_tokens=None, max_seconds=None)


def seconds(bounds, who=ANYONE, headers=None):
    return options_for(bounds, who, headers or {}).timeout


def test_the_default_applies_when_nothing_is_asked():
    assert seconds(TurnBounds(default_seconds=600)) == 600


def test_a_header_asks_for_less_and_never_more_than_the_maximum():
    bounds = TurnBounds(default_seconds=600, max_seconds=900)
    assert seconds(bounds, headers={TIMEOUT_HEADER: "5"}) == 5
    with pytest.raises(BadRequestError) as err:
        seconds(bounds, headers={TIMEOUT_HEADER: "1000"})
    assert err.value.param == TIMEOUT_HEADER and "900" in err.value.message
    for bad in ("soon", "0", "-3"):
        with pytest.raises(BadRequestError):
            seconds(bounds, headers={TIMEOUT_HEADER: bad})


def test_a_keys_maximum_replaces_the_servers():
    bounds = TurnBounds(default_seconds=600, max_seconds=900)
    assert seconds(bounds, SimpleNamespace(max_tokens=None, max_seconds=30)) == 30


def test_the_remote_apis_timeout_is_never_lengthened():
    bounds = TurnBounds(default_seconds=600, upstream_seconds=1)
    assert seconds(bounds) == 1
    assert seconds(bounds, headers={TIMEOUT_HEADER: "60"}) == 1
    assert seconds(TurnBounds(default_seconds=None, upstream_seconds=7)) == 7
