"""OpenID4VP 1.0 DCQL examples: wallet-side minimal matching, then verifier-side acceptance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sd_jwt.common import SDObj

from verifier.protocol import (
    AccessDeniedError,
    DCQLQuery,
    HeldCredential,
    StaticKeyResolver,
    match_credentials,
    select_presentation,
    verify_vp_token,
)
from verifier.protocol.jose import SigningKey
from wallet_sim.holder import build_vp_token
from wallet_sim.issuer import Issuer

DATA = json.loads((Path(__file__).parent / "dcql" / "openid4vp_examples.json").read_text())
NOW = 1_780_000_000
ISS = "https://issuer.dcql.example"
ISSUER = Issuer(ISS, SigningKey.generate(kid="dcql-issuer"))
HOLDER = SigningKey.generate()


def sd_claims(value: Any) -> Any:
    """Turn the vector notation ('~name', {'~': v}) into the reference library's SDObj marks."""
    if isinstance(value, dict):
        if set(value) == {"~"}:
            return SDObj(sd_claims(value["~"]))
        return {(SDObj(k[1:]) if k.startswith("~") else k): sd_claims(v) for k, v in value.items()}
    if isinstance(value, list):
        return [sd_claims(v) for v in value]
    return value


@pytest.fixture(scope="module")
def wallet() -> dict[str, HeldCredential]:
    held = {}
    for cred in DATA["credentials"]:
        claims = {"iss": ISS, "vct": cred["vct"], "iat": NOW - 60, **sd_claims(cred["claims"])}
        issuance = ISSUER.issue(claims, holder_jwk=HOLDER.public_jwk)
        held[cred["id"]] = HeldCredential.from_issuance(issuance, id=cred["id"])
    return held


def query_of(case: dict[str, Any]) -> DCQLQuery:
    raw = case["query"]
    if isinstance(raw, str):
        raw = DATA["queries"][raw.lstrip("@")]
    return DCQLQuery.parse(raw, supported_formats=("dc+sd-jwt", "mso_mdoc"))


def label(d: Any) -> str:
    return d.name if d.name is not None else f"[{d.value}]"


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in DATA["cases"]])
def test_wallet_matching(case: dict[str, Any], wallet: dict[str, HeldCredential]) -> None:
    query = query_of(case)
    held = [wallet[i] for i in case["holder"]]
    if "error" in case:
        with pytest.raises(AccessDeniedError):
            select_presentation(query, match_credentials(query, held))
        return
    chosen = select_presentation(query, match_credentials(query, held))
    got = {
        qid: [
            {"credential": m.credential.id, "disclosed": sorted(label(d) for d in m.disclosures)}
            for m in matches
        ]
        for qid, matches in chosen.items()
    }
    assert got == case["expected"]


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c["name"]) for c in DATA["cases"] if "expected" in c]
)
def test_presented_answer_satisfies_the_verifier(
    case: dict[str, Any], wallet: dict[str, HeldCredential]
) -> None:
    query = query_of(case)
    held = [wallet[i] for i in case["holder"]]
    presentation = build_vp_token(
        query=query,
        credentials=held,
        holder_keys={c.id: HOLDER for c in held},
        audience="x509_hash:dcql-test",
        nonce="n-0123456789",
        now=NOW,
    )
    verified = verify_vp_token(
        presentation.vp_token,
        query=query,
        keys=StaticKeyResolver({ISS: [ISSUER.key.public_jwk]}),
        audience="x509_hash:dcql-test",
        nonce="n-0123456789",
        now=NOW,
    )
    assert set(verified.credentials) == set(case["expected"])
