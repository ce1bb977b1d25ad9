"""jwt-vc-issuer metadata rules and the outbound fetcher's refusals (no network: mock transport)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from verifier.ops.fetch import FetchError, SafeFetcher
from verifier.policy.issuer_metadata import IssuerMetadataCache, well_known_url
from verifier.protocol import SigningKey, TrustError

KEY = SigningKey.generate(kid="k1")


@pytest.mark.parametrize(
    ("iss", "url"),
    [
        ("https://example.com", "https://example.com/.well-known/jwt-vc-issuer"),
        ("https://example.com/", "https://example.com/.well-known/jwt-vc-issuer"),
        (
            "https://example.com/tenant/1234",
            "https://example.com/.well-known/jwt-vc-issuer/tenant/1234",
        ),
        ("https://example.com:8443/t/", "https://example.com:8443/.well-known/jwt-vc-issuer/t"),
    ],
)
def test_well_known_url_examples(iss: str, url: str) -> None:
    assert well_known_url(iss) == url


def test_well_known_url_refuses_query_and_fragment() -> None:
    for iss in ("https://example.com/?a=1", "https://example.com/#x"):
        with pytest.raises(TrustError):
            well_known_url(iss)


Handler = Callable[[httpx.Request], httpx.Response]


def fetcher(handler: Handler) -> SafeFetcher:
    return SafeFetcher(transport=httpx.MockTransport(handler), allow_hosts={"issuer.test"})


def metadata_handler(document: dict[str, object], jwks: dict[str, object] | None = None) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/.well-known/jwt-vc-issuer"):
            return httpx.Response(200, json=document)
        if request.url.path == "/jwks" and jwks is not None:
            return httpx.Response(200, json=jwks)
        return httpx.Response(404)

    return handle


ISS = "http://issuer.test/tenant"
JWKS = {"keys": [{**KEY.public_jwk, "use": "sig"}]}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("document", "jwks", "ok"),
    [
        ({"issuer": ISS, "jwks": JWKS}, None, True),
        ({"issuer": ISS, "jwks_uri": "http://issuer.test/jwks"}, JWKS, True),
        ({"issuer": ISS + "/other", "jwks": JWKS}, None, False),
        ({"issuer": ISS, "jwks": JWKS, "jwks_uri": "http://issuer.test/jwks"}, JWKS, False),
        ({"issuer": ISS}, None, False),
        ({"issuer": ISS, "jwks": {"keys": []}}, None, False),
    ],
)
async def test_metadata_documents(
    document: dict[str, object], jwks: dict[str, object] | None, ok: bool
) -> None:
    cache = IssuerMetadataCache(fetcher(metadata_handler(document, jwks)), clock=lambda: 1000.0)
    await cache.ensure(ISS, "k1")
    if ok:
        assert [kid for kid, _ in cache.keys(ISS)] == ["k1"]
    else:
        with pytest.raises(TrustError) as info:
            cache.keys(ISS)
        assert info.value.code == "issuer_metadata_unavailable"


@pytest.mark.anyio
async def test_unknown_kid_refetch_is_rate_limited() -> None:
    calls = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(200, json={"issuer": ISS, "jwks": JWKS})

    now = [1000.0]
    cache = IssuerMetadataCache(fetcher(handle), min_refresh=10, clock=lambda: now[0])
    await cache.ensure(ISS, "k1")
    await cache.ensure(ISS, "unknown-kid")
    await cache.ensure(ISS, "unknown-kid")
    assert len(calls) == 1
    now[0] += 11
    await cache.ensure(ISS, "unknown-kid")
    assert len(calls) == 2


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://public.example/x", "only https"),
        ("https://user:pw@public.example/x", "credentials"),
        ("ftp://public.example/x", "only https"),
        ("https://127.0.0.1/x", "non-public"),
        ("https://10.1.2.3/x", "non-public"),
        ("https://169.254.169.254/x", "non-public"),
        ("https://[::1]/x", "non-public"),
        ("https://[::ffff:192.168.0.1]/x", "non-public"),
        ("https://0.0.0.0/x", "non-public"),
    ],
)
async def test_fetcher_refuses(url: str, fragment: str) -> None:
    calls = []
    safe = SafeFetcher(
        transport=httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(200))
    )
    with pytest.raises(FetchError) as info:
        await safe.get(url, accept="*/*")
    assert info.value.refused and fragment in info.value.reason
    assert calls == []  # refused before any connection


@pytest.mark.anyio
async def test_fetcher_refuses_redirects_and_oversized_bodies() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/redirect":
            return httpx.Response(302, headers={"Location": "http://issuer.test/other"})
        return httpx.Response(200, content=b"x" * 5000)

    safe = SafeFetcher(
        transport=httpx.MockTransport(handle), allow_hosts={"issuer.test"}, max_bytes=1024
    )
    with pytest.raises(FetchError, match="redirect"):
        await safe.get("http://issuer.test/redirect", accept="*/*")
    with pytest.raises(FetchError, match="larger than"):
        await safe.get("http://issuer.test/big", accept="*/*")
