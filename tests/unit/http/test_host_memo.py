"""validate_head remembers Host values it found valid, without letting an invalid one through or growing."""

from __future__ import annotations

import pytest

from aiowsgi.errors import ProtocolError
from aiowsgi.http import connection
from aiowsgi.http.connection import validate_head
from tests.requests.corpus import LIMITS


def head_with_host(host: bytes) -> object:
    return validate_head(b"GET", b"/", "1.1", [(b"host", host)], LIMITS)


def test_a_valid_host_is_remembered_and_an_invalid_one_never_is() -> None:
    head_with_host(b"example.com:8080")
    assert b"example.com:8080" in connection._valid_hosts
    head_with_host(b"example.com:8080")  # from the memo
    for bad in (b"a b", b"a/b", b"u@a", b"example.com:8080 "):
        with pytest.raises(ProtocolError, match="Host"):
            head_with_host(bad)
        assert bad not in connection._valid_hosts


def test_the_memo_stays_bounded() -> None:
    for number in range(3 * connection._VALID_HOSTS_LIMIT):
        head_with_host(b"host%d.example" % number)
        assert len(connection._valid_hosts) <= connection._VALID_HOSTS_LIMIT
