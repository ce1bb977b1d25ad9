"""Token Status Lists (digest §10 checks 43-45; draft-ietf-oauth-status-list §5, §8, §13). Each
credential points at a list served at a fresh URI on the allowed issuer host, so the verifier's
cache never answers for another case."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

from tests.attacks import forge
from tests.attacks.harness import Attack, Case, Rejected, World
from verifier.protocol import SigningKey

IDX = 7


def pointing(uri: Callable[[World], str], idx: int = IDX) -> Callable[[World], Attack]:
    def build(world: World) -> Attack:
        status = {"status_list": {"idx": idx, "uri": uri(world)}}
        return world.crafted_response(claims={"status": status})

    return build


def listed(
    statuses: dict[int, int] | None = None, idx: int = IDX, **opts: Any
) -> Callable[[World], Attack]:
    return pointing(lambda w: w.status_list(statuses or {}, **opts), idx)


def resigned(world: World, uri: str) -> bytes:
    """A valid token with one payload byte changed after signing."""
    token = world.wallet.issuer("ekyc").key.sign_jws(
        {"typ": "statuslist+jwt"},
        {"sub": uri, "iat": 1, "status_list": {"bits": 1, "lst": forge.b64(zlib.compress(b"\0"))}},
    )
    head, payload, sig = token.split(".")
    return f"{head}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{sig}".encode()


def bomb(world: World, uri: str) -> bytes:
    lst = forge.b64(zlib.compress(b"\0" * (20 * 1024 * 1024), 9))
    payload = {"sub": uri, "iat": 1, "status_list": {"bits": 1, "lst": lst}}
    return world.wallet.issuer("ekyc").key.sign_jws({"typ": "statuslist+jwt"}, payload).encode()


def not_zlib(world: World, uri: str) -> bytes:
    payload = {"sub": uri, "iat": 1, "status_list": {"bits": 1, "lst": forge.b64(b"plain bytes")}}
    return world.wallet.issuer("ekyc").key.sign_jws({"typ": "statuslist+jwt"}, payload).encode()


def served(
    body: bytes, media: str = "application/statuslist+jwt", **opts: Any
) -> Callable[[World], str]:
    def uri(world: World) -> str:
        path = f"/status-raw/{id(body)}-{opts.get('status', 200)}-{media.replace('/', '_')}"
        return world.host.serve(path, body, media, **opts)

    return uri


def infinite_ttl(world: World, uri: str) -> bytes:
    """``"ttl": 1e400`` - valid JSON, but infinity as a number of seconds."""
    lst = forge.b64(zlib.compress(b"\0"))
    payload = f'{{"sub":"{uri}","iat":1,"ttl":1e400,"status_list":{{"bits":1,"lst":"{lst}"}}}}'
    return forge.signed(
        world.wallet.issuer("ekyc").key,
        {"typ": "statuslist+jwt", "alg": "ES256", "kid": "ekyc-1"},
        payload.encode(),
    ).encode()


def redirect(world: World) -> str:
    target = f"http://127.0.0.1:{world.canary.port}/status"
    return world.host.serve(
        f"/status-redirect/{world.canary.port}",
        b"",
        "text/plain",
        status=302,
        headers={"Location": target},
    )


def _r(
    name: str, source: str, build: Callable[[World], Attack], code: str, fragment: str = ""
) -> Case:
    return Case(name, source, build, Rejected(code, fragment))


SPEC = "Token Status List §8.3"
CASES = [
    _r("status_revoked", "digest §10 #45; " + SPEC, listed({IDX: 1}), "status_invalid"),
    _r("status_suspended", "digest §10 #45; " + SPEC, listed({IDX: 2}), "status_suspended"),
    _r(
        "status_application_specific_value",
        "digest §10 #45; Token Status List §7.1",
        listed({IDX: 3}),
        "status_unknown_value",
    ),
    _r(
        "status_index_out_of_range", "digest §10 #45", listed(idx=5000), "status_index_out_of_range"
    ),
    _r(
        "status_list_wrong_media_type",
        "digest §10 #43; Token Status List §8.1",
        listed(media="application/json"),
        "status_list_malformed",
    ),
    _r(
        "status_list_signature_tampered",
        "digest §10 #44",
        pointing(lambda w: w.status_list({}, raw=lambda uri: resigned(w, uri))),
        "status_list_signature_invalid",
    ),
    _r(
        "status_list_signed_by_stranger",
        "digest §10 #44; T9",
        listed(key=SigningKey.generate(kid="intruder")),
        "status_list_untrusted",
    ),
    _r(
        "status_list_signed_by_stranger_without_kid",
        "digest §10 #44; T9",
        listed(key=SigningKey.generate()),
        "status_list_signature_invalid",
    ),
    _r(
        "status_list_alg_none",
        "digest §10 #44; RFC 8725 §3.1",
        pointing(
            lambda w: w.status_list(
                {},
                raw=lambda uri: forge.unsigned(
                    {"typ": "statuslist+jwt", "alg": "none"}, {"sub": uri, "iat": 1}
                ).encode(),
            )
        ),
        "alg_not_allowed",
    ),
    _r(
        "status_list_sub_mismatch",
        "digest §10 #44",
        listed(claims={"sub": "https://other.example/status"}),
        "status_list_sub_mismatch",
    ),
    _r(
        "status_list_expired",
        "digest §10 #44",
        listed(claims={"exp": 1_000_000_000}),
        "status_list_expired",
    ),
    _r(
        "status_list_typ_wrong",
        "digest §10 #44",
        listed(header={"typ": "JWT"}),
        "status_list_typ_invalid",
    ),
    _r(
        "status_list_iat_missing",
        "digest §10 #44",
        listed(claims={"iat": None}),
        "status_list_claim_missing",
    ),
    _r(
        "status_list_lst_missing",
        "digest §10 #44",
        listed(claims={"status_list": {"bits": 2}}),
        "status_list_claim_missing",
    ),
    _r(
        "status_list_bits_invalid",
        "digest §10 #45",
        listed(claims={"status_list": {"bits": 3, "lst": forge.b64(zlib.compress(b"\0"))}}),
        "status_list_malformed",
    ),
    _r(
        "status_list_not_zlib",
        "digest §10 #45",
        pointing(lambda w: w.status_list({}, raw=lambda uri: not_zlib(w, uri))),
        "status_list_malformed",
    ),
    _r(
        "status_list_ttl_overflowing_number",
        "digest §10 #44; RFC 8259 §6",
        pointing(lambda w: w.status_list({}, raw=lambda uri: infinite_ttl(w, uri))),
        "status_list_malformed",
        "not finite",
    ),
    _r(
        "status_list_zlib_bomb",
        "digest §10 #45; Token Status List §13",
        pointing(lambda w: w.status_list({}, raw=lambda uri: bomb(w, uri))),
        "status_list_malformed",
        "inflates beyond",
    ),
    _r(
        "status_list_not_a_jwt",
        "digest §10 #44",
        pointing(served(b"<html>hello</html>")),
        "status_list_malformed",
    ),
    _r(
        "status_list_not_found",
        "digest §10 #43; fail closed",
        pointing(served(b"gone", "text/plain", status=404)),
        "status_list_unavailable",
        "answered 404",
    ),
    _r(
        "status_list_redirect_not_followed",
        "digest §10 #43; digest §4.4 retrieval",
        pointing(redirect),
        "status_list_unavailable",
        "redirect",
    ),
    _r(
        "status_list_too_large",
        "AGENTVP_OUTBOUND_MAX_BYTES",
        pointing(served(b"A" * (3 * 1024 * 1024))),
        "status_list_unavailable",
        "larger than",
    ),
]
