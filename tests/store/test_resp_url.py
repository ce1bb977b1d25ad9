"""``redis://`` and ``rediss://`` store URLs: what they name, and what they refuse."""

from __future__ import annotations

import re
import ssl

import pytest

from verifier.store import RedisStore, open_store
from verifier.store.resp_url import RespTarget, parse_resp_url


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("redis://127.0.0.1", RespTarget("127.0.0.1")),
        ("redis://10.0.0.20:6380/3", RespTarget("10.0.0.20", 6380, 3)),
        ("redis://[::1]:7000/1", RespTarget("::1", 7000, 1)),
        ("redis://:s%40cret@r1/0", RespTarget("r1", password="s@cret")),
        ("redis://app:pw@r1:6379/2", RespTarget("r1", 6379, 2, "app", "pw")),
        ("redis://r1?db=4", RespTarget("r1", db=4)),  # redis-py's spelling
        (
            "rediss://r1?db=2&ssl_cert_reqs=none",
            RespTarget("r1", db=2, tls=True, tls_options={"ssl_cert_reqs": "none"}),
        ),
        ("rediss://cache.example:6380/0", RespTarget("cache.example", 6380, tls=True)),
        (
            "rediss://r1/0?ssl_ca_certs=/etc/ca.pem&ssl_cert_reqs=Required",
            RespTarget(
                "r1",
                tls=True,
                tls_options={"ssl_ca_certs": "/etc/ca.pem", "ssl_cert_reqs": "required"},
            ),
        ),
    ],
)
def test_urls_name_their_target(url: str, target: RespTarget) -> None:
    assert parse_resp_url(url) == target


def test_auth_follows_the_url() -> None:
    assert parse_resp_url("redis://r1").auth_command() is None
    assert parse_resp_url("redis://:pw@r1").auth_command() == ("AUTH", "pw")
    assert parse_resp_url("redis://app:pw@r1").auth_command() == ("AUTH", "app", "pw")


def test_tls_context_verifies_by_default_and_can_be_told_not_to() -> None:
    assert parse_resp_url("redis://r1").ssl_context() is None
    strict = parse_resp_url("rediss://r1").ssl_context()
    assert strict is not None
    assert strict.verify_mode == ssl.CERT_REQUIRED
    assert strict.check_hostname
    lax = parse_resp_url("rediss://r1?ssl_cert_reqs=none").ssl_context()
    assert lax is not None
    assert lax.verify_mode == ssl.CERT_NONE
    assert not lax.check_hostname


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://r1", "not a redis:// or rediss:// URL"),
        ("redis://", "not host[:port]"),
        ("redis://r1:x", "not host[:port]"),
        ("redis://r1:70000", "port must be 1-65535"),
        ("redis://r1/zero", "the path is the database number"),
        ("redis://r1/0?socket_timeout=3", "unknown option 'socket_timeout'"),
        ("redis://r1/1?db=2", "the database is given twice"),
        ("redis://r1?db=x", "db must be one database number"),
        ("redis://r1?db=1&db=2", "db must be one database number"),
        ("redis://r1/0?ssl_ca_certs=/ca.pem", "applies to rediss:// only"),
        ("rediss://r1/0?ssl_cert_reqs=maybe", "ssl_cert_reqs must be"),
        ("rediss://r1/0?ssl_check_hostname=perhaps", "ssl_check_hostname must be"),
    ],
)
def test_bad_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_resp_url(url)


def test_open_store_refuses_a_bad_redis_url_at_start_up() -> None:
    with pytest.raises(ValueError, match="unknown option 'max_connections'"):
        open_store("redis://r1/0?max_connections=8")


def test_a_refused_url_never_repeats_its_password() -> None:
    with pytest.raises(ValueError) as refused:
        parse_resp_url("redis://app:hunter2@r1/0?timeout=1")
    assert "hunter2" not in str(refused.value)


def test_rediss_builds_a_store_without_connecting() -> None:
    assert isinstance(open_store("rediss://cache.example:6380/0?ssl_cert_reqs=none"), RedisStore)
