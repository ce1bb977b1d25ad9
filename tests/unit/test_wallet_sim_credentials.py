"""The simulator's credentials have the shapes DESIGN.md "Credentials" promises."""

from __future__ import annotations

import pytest

from verifier.protocol import (
    AccessDeniedError,
    DCQLQuery,
    HeldCredential,
    InvalidTransactionDataError,
    StaticKeyResolver,
    encode_transaction_data,
    verify_presentation,
    verify_vp_token,
)
from verifier.protocol.jose import SigningKey
from wallet_sim.holder import build_vp_token
from wallet_sim.issuer import (
    IDENTITY_VCT,
    MANDATE_VCT,
    IdentitySubject,
    Issuer,
    MandateGrant,
    identity_claims,
    mandate_claims,
)

NOW = 1_780_000_000
IDP = Issuer("https://ekyc.sim.example", SigningKey.generate(kid="idp"))
MI = Issuer("https://mandates.sim.example", SigningKey.generate(kid="mi"))
HUMAN, AGENT = SigningKey.generate(), SigningKey.generate()
KEYS = StaticKeyResolver({IDP.iss: [IDP.key.public_jwk], MI.iss: [MI.key.public_jwk]})


def identity() -> HeldCredential:
    claims = identity_claims(IdentitySubject(), iss=IDP.iss, now=NOW)
    return HeldCredential.from_issuance(IDP.issue(claims, holder_jwk=HUMAN.public_jwk), id="id")


def mandate(**grant: object) -> HeldCredential:
    claims = mandate_claims(
        MandateGrant(**grant),
        iss=MI.iss,
        now=NOW,
        principal_jkt=HUMAN.thumbprint,  # type: ignore[arg-type]
    )
    return HeldCredential.from_issuance(MI.issue(claims, holder_jwk=AGENT.public_jwk), id="m")


def test_identity_has_twelve_disclosable_claims_and_framework_in_clear() -> None:
    held = identity()
    assert len(held.disclosures) == 12
    verification = held.payload["verified_claims"]["verification"]
    assert verification["trust_framework"] == "eidas"
    assert verification["assurance_level"] == "high"
    assert held.header["typ"] == "dc+sd-jwt"
    names = {d.name for d in held.disclosures}
    assert {"time", "verification_process", "given_name", "document_number"} <= names
    assert held.payload["cnf"]["jwk"]["x"] == HUMAN.public_jwk["x"]


def test_mandate_keeps_authority_in_clear_and_pads_allow_lists() -> None:
    held = mandate()
    authority = held.payload["authority"]
    assert authority["actions"] == ["commerce.checkout", "payment.initiate"]
    amount = authority["constraints"][0]
    assert amount == {"type": "payment.amount_range", "currency": "EUR", "min": 0, "max": 25_000}
    merchants = next(
        c for c in authority["constraints"] if c["type"] == "checkout.allowed_merchants"
    )
    assert all(set(m) == {"..."} for m in merchants["allowed"])
    assert len(merchants["allowed"]) > 2  # two real members plus at least one decoy
    disclosed_names = {d.name for d in held.disclosures}
    assert {"jkt", "verification", "purpose"} <= disclosed_names
    assert "actions" not in disclosed_names and "constraints" not in disclosed_names


def test_undisclosed_presentation_still_verifies_with_bounds_visible() -> None:
    held = mandate()
    presented = held.issuer_jwt + "~"
    verified = verify_presentation(
        presented, keys=KEYS, audience="a", nonce="n", now=NOW, require_key_binding=False
    )
    constraints = verified.claims["authority"]["constraints"]
    assert constraints[0]["max"] == 25_000
    assert verified.claims["principal"] == {"type": "natural_person", "pairwise_ids": []}


AGENT_TD = "https://agentvp.example/td/agent_action/1"


def test_holder_binds_transaction_data_and_verifier_accepts() -> None:
    query = DCQLQuery.parse(
        {
            "credentials": [
                {
                    "id": "mandate",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [MANDATE_VCT]},
                    "claims": [
                        {"path": ["authority", "actions"]},
                        {
                            "path": ["authority", "constraints", None, "allowed", None, "domain"],
                            "values": ["shop-a.example"],
                        },
                    ],
                }
            ]
        }
    )
    td = encode_transaction_data({"type": AGENT_TD, "credential_ids": ["mandate"], "payload": {}})
    presentation = build_vp_token(
        query=query,
        credentials=[mandate()],
        holder_keys={"m": AGENT},
        audience="x509_hash:rp",
        nonce="nonce-1234567890",
        now=NOW,
        transaction_data=[td],
        supported_td_types={AGENT_TD},
    )
    merchants = presentation.matches["mandate"][0].disclosures
    assert [d.value["domain"] for d in merchants] == ["shop-a.example"]
    verified = verify_vp_token(
        presentation.vp_token,
        query=query,
        keys=KEYS,
        audience="x509_hash:rp",
        nonce="nonce-1234567890",
        now=NOW,
        transaction_data=[td],
    )
    credential = verified.first("mandate")
    assert credential is not None and credential.key_binding is not None
    assert len(credential.key_binding.transaction_data_hashes) == 1


@pytest.mark.parametrize(
    ("td", "code"),
    [
        (
            {"type": "urn:unknown", "credential_ids": ["identity"]},
            "transaction_data_type_unsupported",
        ),
        ({"type": AGENT_TD, "credential_ids": ["nope"]}, "transaction_data_credential_ids_invalid"),
        ({"type": AGENT_TD, "credential_ids": []}, "transaction_data_credential_ids_invalid"),
    ],
)
def test_holder_refuses_bad_transaction_data(td: dict[str, object], code: str) -> None:
    query = DCQLQuery.parse(
        {
            "credentials": [
                {"id": "identity", "format": "dc+sd-jwt", "meta": {"vct_values": [IDENTITY_VCT]}}
            ]
        }
    )
    with pytest.raises(InvalidTransactionDataError) as info:
        build_vp_token(
            query=query,
            credentials=[identity()],
            holder_keys={"id": HUMAN},
            audience="a",
            nonce="n",
            now=NOW,
            transaction_data=[encode_transaction_data(td)],
            supported_td_types={AGENT_TD},
        )
    assert info.value.code == code


def test_holder_denies_when_nothing_matches() -> None:
    query = DCQLQuery.parse(
        {"credentials": [{"id": "x", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:none"]}}]}
    )
    with pytest.raises(AccessDeniedError):
        build_vp_token(
            query=query, credentials=[identity()], holder_keys={}, audience="a", nonce="n", now=NOW
        )
