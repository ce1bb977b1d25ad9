"""What the verifier *sends* (digest §10 checks 1, 2, 4-10, 14, 51). No wallet input can make
the verifier sign a bad request object, so these cannot be attacked as rejections over HTTP;
they are covered at the closest point: a hostile wallet fetches the request object (asking for
a downgrade where it can) and the probe checks what it was served - signed ``oauth-authz-req+jwt``
with an ``x5c`` that excludes the anchor and hashes to the ``client_id``, no ``redirect_uri``,
a fresh encryption key, fresh 256-bit ``nonce``/``state``. Check 51 (no secrets in logs) is
checked on the verifier's log after a rejected presentation."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding

from tests.attacks import forge
from tests.attacks.harness import FORM, Attack, Case, Rejected, Served, World
from verifier.protocol.jose import b64url_decode, b64url_encode
from verifier.protocol.x509.chain import load_pem_certificates

HOSTILE_METADATA = {
    "request_object_signing_alg_values_supported": ["none", "HS256"],
    "client_id_prefixes_supported": ["redirect_uri"],
    "authorization_encryption_alg_values_supported": [],
    "vp_formats_supported": {"dc+sd-jwt": {"sd-jwt_alg_values": ["none"]}},
}


def fetch(
    *,
    form: dict[str, str] | None,
    check: Callable[[World, dict[str, Any], httpx.Response], None],
    **create: Any,
) -> Callable[[World], Attack]:
    def build(world: World) -> Attack:
        view = world.rp.create(profile="identity", **create)
        headers = {"Content-Type": FORM} if form is not None else {}
        body = urlencode(form).encode() if form is not None else None
        method = "POST" if form is not None else "GET"
        attack = Attack(method, view["request_uri"], headers, body, target=view["id"])
        attack.after = lambda response: check(world, view, response)
        return attack

    return build


def parts(response: httpx.Response) -> tuple[dict[str, Any], dict[str, Any]]:
    token = response.text
    assert token.count(".") == 2, token[:80]
    return forge.decode_part(token, 0), forge.decode_part(token, 1)


def signed_with_x5c(world: World, view: dict[str, Any], response: httpx.Response) -> None:
    header, claims = parts(response)
    assert header["typ"] == "oauth-authz-req+jwt" and header["alg"] == "ES256", header
    chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in header["x5c"]]
    root = load_pem_certificates((world.data / "pki" / "root.pem").read_text())[0]
    assert all(c.fingerprint(hashes.SHA256()) != root.fingerprint(hashes.SHA256()) for c in chain)
    leaf_hash = b64url_encode(hashlib.sha256(chain[0].public_bytes(Encoding.DER)).digest())
    url_client_id = parse_qs(urlsplit(view["authorization_request_uri"]).query)["client_id"][0]
    assert claims["client_id"] == url_client_id == f"x509_hash:{leaf_hash}", claims
    head, payload, signature = response.text.split(".")
    raw = b64url_decode(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = chain[0].public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(der, f"{head}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    assert claims["wallet_nonce"] == "hostile-nonce", claims
    assert claims["response_mode"] == "direct_post.jwt", claims


def no_redirect_uri(world: World, view: dict[str, Any], response: httpx.Response) -> None:
    _, claims = parts(response)
    assert "redirect_uri" not in claims, claims
    assert claims["response_uri"].startswith(f"{world.verifier.url}/wallet/response/"), claims
    assert "https://rp.example/done" not in response.text


def fresh_values(world: World, view: dict[str, Any], response: httpx.Response) -> None:
    _, claims = parts(response)
    other = world.present(profile="identity", propose=False).request
    key = claims["client_metadata"]["jwks"]["keys"][0]
    assert set(key) == {"kty", "crv", "x", "y", "kid", "use", "alg"}, key  # no "d"
    assert (key["kty"], key["crv"], key["use"], key["alg"]) == ("EC", "P-256", "enc", "ECDH-ES")
    other_key = other.client_metadata["jwks"]["keys"][0]
    assert key["kid"] != other_key["kid"] and key["x"] != other_key["x"]
    assert claims["client_metadata"]["encrypted_response_enc_values_supported"] == [
        "A128GCM",
        "A256GCM",
    ]
    for name in ("nonce", "state"):
        assert len(b64url_decode(claims[name])) >= 32, claims[name]
        assert claims[name] != getattr(other, name)
    assert claims["nonce"] != claims["state"]
    assert "unknown_parameter" not in claims and claims["wallet_nonce"] == "n-1"


def log_free_of_secrets(world: World) -> Attack:
    """A rejected presentation: the verifier's log names the check, never the values."""
    live = world.present(profile="identity")
    token = live.vp_token
    jwt, *disclosures, _ = token["identity"][0].split("~")
    bad = live.rebind(jwt, disclosures, world.key("human"), nonce="not-the-nonce")
    attack = live.respond(vp_token={"identity": [bad]})
    salts = [json.loads(b64url_decode(d))[0] for d in disclosures]

    def check(_: httpx.Response) -> None:
        text = "".join(v.log() for v in world.verifiers)
        assert live.tx[:8] in text or "presentation rejected" in text
        secrets = [
            live.request.nonce,
            live.request.state or "",
            bad.split("~")[-1],
            jwt,
            *salts,
            *disclosures,
        ]
        leaked = [s[:12] for s in secrets if s and s in text]
        assert not leaked, f"secrets in the verifier log: {leaked}"

    attack.after = check
    return attack


def _s(name: str, source: str, build: Callable[[World], Attack], what: str) -> Case:
    return Case(name, source, build, Served(what))


CASES = [
    _s(
        "request_object_downgrade_refused",
        "digest §10 #4, #5, #6, #8; HAIP §5",
        fetch(
            form={"wallet_metadata": json.dumps(HOSTILE_METADATA), "wallet_nonce": "hostile-nonce"},
            check=signed_with_x5c,
        ),
        "signed oauth-authz-req+jwt, x5c without anchor, x509_hash client_id",
    ),
    _s(
        "request_object_same_device_has_no_redirect_uri",
        "digest §10 #7; OpenID4VP §8.2",
        fetch(
            form=None,
            check=no_redirect_uri,
            flow="same_device",
            redirect_uri="https://rp.example/done",
        ),
        "response_uri only",
    ),
    _s(
        "request_object_fresh_key_nonce_state",
        "digest §10 #1, #2, #9, #10; HAIP §5",
        fetch(
            form={"wallet_nonce": "n-1", "unknown_parameter": "x", "wallet_metadata": "{not json"},
            check=fresh_values,
        ),
        "fresh ephemeral key, nonce and state",
    ),
    Case(
        "log_free_of_presentation_secrets",
        "digest §10 #51",
        log_free_of_secrets,
        Rejected("kb_nonce_mismatch"),
    ),
]
