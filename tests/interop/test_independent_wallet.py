"""An independent OpenID4VP 1.0 wallet against `agentvp serve`, using only the README.

Nothing here imports agentvp's protocol library or wallet simulator: JWS and JWE come from
`jwcrypto`, certificates from `cryptography`, the SD-JWT presentation and its KB-JWT from the
reference `sd-jwt` library, HTTP from `httpx`. Credentials are issued with the demo issuer keys
that `agentvp init` writes, exactly as the README describes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jwcrypto import jwe, jwk, jws
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer

from tests.conftest import free_port
from tests.e2e.harness import RP, Verifier, make_data_dir, start_verifier

pytestmark = pytest.mark.e2e
VCT = "https://agentvp.example/vct/verified_person/1"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class IndependentWallet:
    def __init__(self, data_dir: Path) -> None:
        issuer = json.loads((data_dir / "demo" / "issuers" / "ekyc.json").read_text())
        self.holder = jwk.JWK.generate(kty="EC", crv="P-256")
        issuer_key = jwk.JWK(**issuer["key"])
        claims = {
            "iss": issuer["iss"],
            "vct": VCT,
            "iat": int(time.time()),
            "verified_claims": {
                "verification": {
                    "trust_framework": "eidas",
                    "assurance_level": "high",
                    SDObj("time"): "2026-01-02T10:00Z",
                    "evidence": [SDObj({"type": "electronic_record"})],
                },
                "claims": {
                    SDObj("given_name"): "Ada",
                    SDObj("family_name"): "Lovelace",
                    SDObj("birthdate"): "1815-12-10",
                },
            },
        }
        self.issuance = SDJWTIssuer(
            claims,
            issuer_key,
            holder_key=self.holder,
            extra_header_parameters={"typ": "dc+sd-jwt", "kid": issuer["key"]["kid"]},
        ).sd_jwt_issuance
        self.anchor = x509.load_pem_x509_certificate((data_dir / "pki" / "root.pem").read_bytes())

    def fetch_request(self, uri: str) -> tuple[dict[str, Any], str]:
        params = {k: v[0] for k, v in parse_qs(urlsplit(uri).query).items()}
        nonce = secrets.token_urlsafe(16)
        answer = httpx.post(
            params["request_uri"], data={"wallet_nonce": nonce}, follow_redirects=False
        )
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/oauth-authz-req+jwt")
        token = jws.JWS()
        token.deserialize(answer.text)
        header = token.jose_header
        assert header["typ"] == "oauth-authz-req+jwt"
        chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in header["x5c"]]
        leaf, intermediate = chain
        assert intermediate.issuer == self.anchor.subject and self.anchor not in chain
        intermediate.verify_directly_issued_by(self.anchor)  # the chain ends at our anchor
        leaf.verify_directly_issued_by(intermediate)
        leaf_pem = leaf.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        token.verify(jwk.JWK.from_pem(leaf_pem))
        claims: dict[str, Any] = json.loads(token.payload)
        expected_id = "x509_hash:" + b64url(
            hashlib.sha256(leaf.public_bytes(Encoding.DER)).digest()
        )
        assert params["client_id"] == claims["client_id"] == expected_id
        assert claims["wallet_nonce"] == nonce
        return claims, params["client_id"]

    def answer(self, request: dict[str, Any], client_id: str) -> httpx.Response:
        holder = SDJWTHolder(self.issuance)
        holder.create_presentation(
            {
                "verified_claims": {
                    "verification": {"time": True, "evidence": [True]},
                    "claims": {"given_name": True, "family_name": True, "birthdate": True},
                }
            },
            nonce=request["nonce"],
            aud=client_id,
            holder_key=self.holder,
        )
        query_id = request["dcql_query"]["credentials"][0]["id"]
        params = {"vp_token": {query_id: [holder.sd_jwt_presentation]}, "state": request["state"]}
        if request["response_mode"] == "direct_post":
            form = {"vp_token": json.dumps(params["vp_token"]), "state": params["state"]}
        else:
            key = request["client_metadata"]["jwks"]["keys"][0]
            offered = request["client_metadata"]["encrypted_response_enc_values_supported"]
            enc = "A256GCM" if "A256GCM" in offered else "A128GCM"
            envelope = jwe.JWE(
                json.dumps(params).encode(),
                protected=json.dumps({"alg": key["alg"], "enc": enc, "kid": key["kid"]}),
            )
            envelope.add_recipient(jwk.JWK(**{k: key[k] for k in ("kty", "crv", "x", "y")}))
            form = {"response": envelope.serialize(compact=True)}
        return httpx.post(request["response_uri"], data=form, follow_redirects=False)


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Verifier, str, Path]]:
    root = tmp_path_factory.mktemp("interop")
    port = free_port()
    key = make_data_dir(root / "v", f"http://localhost:{port}")
    server = start_verifier(root / "v", port=port)
    yield server, key, root / "v"
    server.stop()


@pytest.mark.parametrize("mode", ["direct_post", "direct_post.jwt"])
def test_independent_wallet_completes_both_response_modes(
    verifier: tuple[Verifier, str, Path], mode: str
) -> None:
    server, api_key, data_dir = verifier
    rp = RP(server.url, api_key)
    try:
        view = rp.create(profile="identity", response_mode=mode)
        wallet = IndependentWallet(data_dir)
        request, client_id = wallet.fetch_request(view["authorization_request_uri"])
        assert request["response_mode"] == mode
        reply = wallet.answer(request, client_id)
        assert reply.status_code == 200 and reply.json() == {}
        final = rp.wait(view["id"])
        assert final["status"] == "verified", final.get("error")
        claims = final["result"]["credentials"]["identity"][0]["claims"]["verified_claims"][
            "claims"
        ]
        assert claims == {"given_name": "Ada", "family_name": "Lovelace", "birthdate": "1815-12-10"}
    finally:
        rp.close()
