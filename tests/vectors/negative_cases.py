"""Crafted negative vectors: every verifier check of digest §10 items 17-45 gets at least one.

Each case is built from the fixed keys in ``tests/vectors/keys`` and the fixed clock ``NOW``;
``generate.py negative`` writes them to ``<area>/negative.json``. A case names its ``source``
(spec section and digest check number) and the exact error ``code`` expected.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from verifier.protocol.jose import SigningKey, b64url_encode, hash_b64
from verifier.protocol.oid4vp.vp_token import encode_transaction_data
from verifier.protocol.sdjwt.kb_jwt import create_kb_jwt
from verifier.protocol.status_list import encode_status_list

KEYS = Path(__file__).resolve().parent / "keys"
NOW = 1_780_000_000
ISS = "https://issuer.vectors.example"
VCT = "https://vectors.example/vct/person/1"
AUD = "x509_hash:vectors-verifier-client-id"
NONCE = "vector-nonce-0123456789abcdef"
STATUS_URI = "https://issuer.vectors.example/status/1"


def key(name: str) -> SigningKey:
    return SigningKey.from_jwk(json.loads((KEYS / f"{name}.json").read_text()))


ISSUER, OTHER_ISSUER = key("issuer"), key("issuer_other")
HOLDER, OTHER_HOLDER = key("holder"), key("holder_other")
STATUS_SIGNER = key("status_signer")


def b64json(value: Any) -> str:
    return b64url_encode(json.dumps(value, ensure_ascii=False).encode())


def disclosure(*items: Any) -> tuple[str, str]:
    encoded = b64json(list(items))
    return encoded, hash_b64(encoded)


def jws(header: dict[str, Any], payload: Any, signer: SigningKey | None = ISSUER) -> str:
    if signer is None:  # alg none
        return f"{b64json(header)}.{b64json(payload)}."
    head, body = b64json(header), b64json(payload)
    signing_input = f"{head}.{body}".encode()
    return f"{head}.{body}.{b64url_encode(signer.sign(signing_input))}"


def hs256(header: dict[str, Any], payload: Any, secret: bytes) -> str:
    head, body = b64json(header), b64json(payload)
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url_encode(mac)}"


class Cred:
    """A small SD-JWT VC whose every part a case can bend."""

    def __init__(self) -> None:
        self.d_given = disclosure("salt-given-0001", "given_name", "Erika")
        self.d_family = disclosure("salt-family-001", "family_name", "Mustermann")
        self.d_street = disclosure("salt-street-001", "street_address", "Heidestraße 17")
        self.d_de = disclosure("salt-de-0000001", "DE")
        self.d_fr = disclosure("salt-fr-0000001", "FR")
        self.header: dict[str, Any] = {"alg": "ES256", "typ": "dc+sd-jwt", "kid": "issuer-1"}
        self.payload: dict[str, Any] = {
            "iss": ISS,
            "vct": VCT,
            "iat": NOW - 3600,
            "exp": NOW + 30 * 86400,
            "cnf": {"jwk": HOLDER.public_jwk},
            "_sd_alg": "sha-256",
            "_sd": sorted([self.d_given[1], self.d_family[1], hash_b64("decoy-1")]),
            "address": {"_sd": [self.d_street[1]], "country": "DE"},
            "nationalities": [{"...": self.d_de[1]}, {"...": self.d_fr[1]}],
        }
        self.disclosures = [self.d_given[0], self.d_family[0], self.d_street[0], self.d_de[0]]
        self.signer: SigningKey | None = ISSUER

    def issuer_jwt(self) -> str:
        return jws(self.header, self.payload, self.signer)

    def presented(self) -> str:
        return self.issuer_jwt() + "~" + "".join(d + "~" for d in self.disclosures)

    def present(self, kb: bool = True, **kb_args: Any) -> str:
        presented = self.presented()
        if not kb:
            return presented
        return presented + kb_jwt(presented, **kb_args)


def kb_jwt(
    presented: str,
    *,
    signer: SigningKey = HOLDER,
    header: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    transaction_data: tuple[str, ...] = (),
    td_alg: str | None = None,
) -> str:
    if header is None and payload is None and not drop:
        return create_kb_jwt(
            presented=presented,
            holder_key=signer,
            audience=AUD,
            nonce=NONCE,
            iat=NOW - 5,
            transaction_data=transaction_data,
            transaction_data_hashes_alg=td_alg,
        )
    body: dict[str, Any] = {
        "iat": NOW - 5,
        "aud": AUD,
        "nonce": NONCE,
        "sd_hash": hash_b64(presented),
        **(payload or {}),
    }
    for name in drop:
        body.pop(name)
    head = {"typ": "kb+jwt", "alg": "ES256", **(header or {})}
    if head["alg"] == "none":
        return jws(head, body, None)
    if head["alg"] == "HS256":
        return hs256(head, body, json.dumps(signer.public_jwk).encode())
    return jws(head, body, signer)


Case = dict[str, Any]


def case(name: str, source: str, presentation: str, code: str, **extra: Any) -> Case:
    inputs: dict[str, Any] = {
        "presentation": presentation,
        "audience": AUD,
        "nonce": NONCE,
        "now": NOW,
        "require_key_binding": True,
        "trust": {ISS: ["issuer"]},
    }
    inputs.update(extra)
    return {"name": name, "source": source, "input": inputs, "expected": {"error": code}}


def bent(mutate: Callable[[Cred], None], *, kb: bool = True, **kb_args: Any) -> str:
    cred = Cred()
    mutate(cred)
    return cred.present(kb=kb, **kb_args)


def _set(**changes: Any) -> Callable[[Cred], None]:
    def apply(c: Cred) -> None:
        for k, v in changes.items():
            if v is _DROP:
                c.payload.pop(k, None)
            else:
                c.payload[k] = v

    return apply


_DROP = object()


def _header(**changes: Any) -> Callable[[Cred], None]:
    return lambda c: c.header.update(changes)


def _add_sd(item: tuple[str, str], where: str = "top") -> Callable[[Cred], None]:
    def apply(c: Cred) -> None:
        target = c.payload if where == "top" else c.payload["address"]
        target["_sd"] = [*target["_sd"], item[1]]
        c.disclosures.append(item[0])

    return apply


def sdjwt_cases() -> list[Case]:
    good = Cred()
    p = good.present()
    raw_bad_b64 = "not*base64url"
    raw_not_json = b64url_encode(b"[not json")
    cases = [
        case("split_no_tilde", "RFC 9901 §4; check 19", good.issuer_jwt(), "malformed_sd_jwt"),
        case(
            "split_empty_disclosure",
            "RFC 9901 §4; check 19",
            p.replace("~", "~~", 1),
            "malformed_sd_jwt",
        ),
        case(
            "split_last_not_jwt",
            "RFC 9901 §4, §7.3; check 19",
            good.presented() + "garbage",
            "malformed_sd_jwt",
        ),
        case(
            "issuer_typ_jwt",
            "SD-JWT VC §3.2.1; check 20",
            bent(_header(typ="JWT")),
            "issuer_typ_invalid",
        ),
        case(
            "issuer_typ_missing",
            "SD-JWT VC §3.2.1; check 20",
            bent(lambda c: c.header.pop("typ")),
            "issuer_typ_invalid",
        ),
        case(
            "issuer_typ_legacy_not_allowed",
            "SD-JWT VC (vc+sd-jwt legacy); check 20",
            bent(_header(typ="vc+sd-jwt")),
            "issuer_typ_invalid",
        ),
        case(
            "issuer_alg_none",
            "RFC 9901 §7.1 step 2, RFC 8725 §3.1; check 20",
            bent(lambda c: (c.header.update(alg="none"), setattr(c, "signer", None))),
            "alg_not_allowed",
        ),
        case(
            "issuer_alg_hs256_key_confusion",
            "RFC 8725 §3.1; check 20",
            _hs256_presentation(),
            "alg_not_allowed",
            require_key_binding=False,
        ),
        case(
            "issuer_alg_es384_not_allowed",
            "digest §9 (ES256 only); check 20",
            bent(_header(alg="ES384")),
            "alg_not_allowed",
        ),
        case(
            "issuer_unknown",
            "SD-JWT VC §3.5; check 21",
            bent(_set(iss="https://evil.example")),
            "issuer_untrusted",
        ),
        case(
            "issuer_kid_unknown",
            "SD-JWT VC §3.5 (key selection by kid); check 21",
            bent(_header(kid="rotated-away")),
            "issuer_key_unknown",
        ),
        case(
            "issuer_vct_not_trusted",
            "trust policy per vct; check 21",
            bent(_set(vct="https://vectors.example/vct/other/1")),
            "vct_not_trusted_for_issuer",
            trust_vct={ISS: [VCT]},
        ),
        case(
            "issuer_signed_by_other_key",
            "RFC 9901 §7.1 step 2; check 22",
            bent(lambda c: setattr(c, "signer", OTHER_ISSUER)),
            "issuer_signature_invalid",
        ),
        case(
            "issuer_payload_tampered",
            "RFC 7515 §5.2; check 22",
            _tamper_payload(p),
            "issuer_signature_invalid",
        ),
        case(
            "sd_alg_md5",
            "RFC 9901 §4.1.1; check 23",
            bent(_set(_sd_alg="md5")),
            "sd_alg_unsupported",
        ),
        case(
            "sd_alg_truncated",
            "RFC 9901 §4.1.1 (truncated hashes unfit); check 23",
            bent(_set(_sd_alg="sha-256-32")),
            "sd_alg_unsupported",
        ),
        case(
            "sd_alg_nested",
            "RFC 9901 §4.1.1 (top level only); check 23",
            bent(lambda c: c.payload["address"].update({"_sd_alg": "sha-256"})),
            "sd_alg_not_top_level",
        ),
        case(
            "digest_over_reencoded_text",
            "RFC 9901 §4.2.3 (digest over the exact base64url); check 24",
            bent(
                lambda c: c.disclosures.__setitem__(
                    0, b64url_encode(b'["salt-given-0001","given_name","Erika"]')
                )
            ),
            "unreferenced_disclosure",
        ),
        case(
            "disclosure_bad_base64",
            "RFC 9901 §7.1 step 5; check 25",
            bent(_add_sd((raw_bad_b64, hash_b64(raw_bad_b64)))),
            "malformed_base64url",
        ),
        case(
            "disclosure_non_ascii",
            "RFC 9901 §4.2.3 (digests over ASCII base64url); check 24",
            bent(lambda c: c.disclosures.append("WyJzYWx0IiwgIm4iLCAxXQé"), kb=False),
            "malformed_base64url",
            require_key_binding=False,
        ),
        case(
            "disclosure_not_json",
            "RFC 9901 §7.1 step 5; check 25",
            bent(_add_sd((raw_not_json, hash_b64(raw_not_json)))),
            "malformed_json",
        ),
        case(
            "disclosure_not_array",
            "RFC 9901 §4.2.1; check 25",
            bent(_add_sd(_raw_disclosure({"a": 1}))),
            "malformed_disclosure",
        ),
        case(
            "disclosure_four_elements",
            "RFC 9901 §4.2.1; check 25",
            bent(_add_sd(disclosure("s", "n", "v", "x"))),
            "malformed_disclosure",
        ),
        case(
            "disclosure_salt_not_string",
            "RFC 9901 §4.2.1; check 25",
            bent(_add_sd(disclosure(7, "n", "v"))),
            "malformed_disclosure",
        ),
        case(
            "disclosure_name_not_string",
            "RFC 9901 §4.2.1; check 25",
            bent(_add_sd(disclosure("s", 5, "v"))),
            "malformed_disclosure",
        ),
        case(
            "disclosure_array_element_in_sd",
            "RFC 9901 §7.1 step 5 (3 elements in _sd); check 25",
            bent(_add_sd(disclosure("salt-x", "lonely"))),
            "disclosure_wrong_arity",
        ),
        case(
            "disclosure_object_property_in_array",
            "RFC 9901 §7.1 step 5 (2 elements in arrays); check 25",
            bent(lambda c: _array_item(c, disclosure("salt-y", "named", "IT"))),
            "disclosure_wrong_arity",
        ),
        case(
            "disclosure_name_sd",
            "RFC 9901 §4.2.1; check 26",
            bent(_add_sd(disclosure("salt-z", "_sd", ["x"]))),
            "disclosure_reserved_name",
        ),
        case(
            "disclosure_name_ellipsis",
            "RFC 9901 §4.2.1; check 26",
            bent(_add_sd(disclosure("salt-z", "...", "x"))),
            "disclosure_reserved_name",
        ),
        case(
            "disclosure_name_collides_plain",
            "RFC 9901 §7.1 step 5; check 26",
            bent(_add_sd(disclosure("salt-c", "address", "x"))),
            "disclosure_name_collision",
        ),
        case(
            "disclosure_name_collides_disclosed",
            "RFC 9901 §7.1 step 5; check 26",
            bent(_add_sd(disclosure("salt-d", "given_name", "Eve"))),
            "disclosure_name_collision",
        ),
        case(
            "digest_twice_in_sd",
            "RFC 9901 §7.1 step 4 (digests unique); check 27",
            bent(lambda c: c.payload["_sd"].append(c.d_given[1])),
            "duplicate_digest",
        ),
        case(
            "digest_in_payload_and_disclosure",
            "RFC 9901 §7.1 step 4; check 27",
            _digest_reused_in_disclosure(),
            "duplicate_digest",
        ),
        case(
            "disclosure_unreferenced",
            "RFC 9901 §7.1 step 8; check 28",
            bent(lambda c: c.disclosures.append(disclosure("salt-u", "extra", 1)[0])),
            "unreferenced_disclosure",
        ),
        case(
            "disclosure_child_without_parent",
            "RFC 9901 §7.1 step 8 (recursive); check 28",
            _child_without_parent(),
            "unreferenced_disclosure",
        ),
        case(
            "disclosure_sent_twice",
            "RFC 9901 §4 (no disclosure twice); check 28",
            bent(lambda c: c.disclosures.append(c.d_given[0])),
            "duplicate_disclosure",
        ),
        case(
            "sd_not_array",
            "RFC 9901 §4.2.4.1; check 29",
            bent(lambda c: c.payload["address"].update({"_sd": "nope"})),
            "sd_malformed",
        ),
        case(
            "array_digest_with_extra_member",
            "RFC 9901 §4.2.4.2; check 29",
            bent(lambda c: c.payload["nationalities"][0].update({"x": 1})),
            "sd_malformed",
        ),
        case(
            "ellipsis_as_object_member",
            "RFC 9901 §4.2.4.2 ('...' reserved); check 29",
            bent(lambda c: c.payload["address"].update({"...": "x"})),
            "sd_malformed",
        ),
        case(
            "credential_expired",
            "RFC 7519 §4.1.4; check 30",
            bent(_set(exp=NOW - 3600)),
            "credential_expired",
        ),
        case(
            "credential_not_yet_valid",
            "RFC 7519 §4.1.5; check 30",
            bent(_set(nbf=NOW + 3600)),
            "credential_not_yet_valid",
        ),
        case(
            "credential_iat_future",
            "check 30 (iat not in the future beyond skew)",
            bent(_set(iat=NOW + 3600)),
            "credential_iat_in_future",
        ),
        case(
            "credential_exp_not_number",
            "RFC 7519 NumericDate; check 30",
            bent(_set(exp="tomorrow")),
            "validity_claim_invalid",
        ),
        case(
            "credential_required_exp_missing",
            "policy-required validity claim; check 30",
            bent(_set(exp=_DROP)),
            "validity_claim_invalid",
            policy={"required_claims": ["exp"]},
        ),
        case(
            "exp_selectively_disclosed",
            "RFC 9901 §9.7, SD-JWT VC §3.2.2; check 30",
            bent(
                lambda c: (c.payload.pop("exp"), _add_sd(disclosure("salt-e", "exp", NOW + 99))(c))
            ),
            "reserved_claim_disclosed",
        ),
        case("vct_missing", "SD-JWT VC §3.2.2.1.1; check 31", bent(_set(vct=_DROP)), "vct_missing"),
        case(
            "vct_not_string", "SD-JWT VC §3.2.2.1.1; check 31", bent(_set(vct=["a"])), "vct_missing"
        ),
        case(
            "iss_and_x5c_missing",
            "digest §4.2 [impl]; check 21",
            bent(_set(iss=_DROP)),
            "iss_missing",
        ),
        case("kb_missing", "RFC 9901 §7.3 step 2; check 33", good.present(kb=False), "kb_missing"),
        case(
            "cnf_missing_with_kb",
            "RFC 9901 §7.3 step 5; check 33",
            bent(_set(cnf=_DROP)),
            "cnf_missing",
        ),
        case(
            "cnf_not_a_key",
            "RFC 7800; check 33",
            bent(_set(cnf={"jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}})),
            "cnf_invalid",
        ),
        case(
            "kb_typ_jwt",
            "RFC 9901 §4.3; check 34",
            bent(lambda c: None, header={"typ": "JWT"}),
            "kb_typ_invalid",
        ),
        case(
            "kb_alg_none",
            "RFC 9901 §4.3 (never none); check 34",
            bent(lambda c: None, header={"alg": "none"}),
            "alg_not_allowed",
        ),
        case(
            "kb_alg_hs256",
            "RFC 8725 §3.1; check 34",
            bent(lambda c: None, header={"alg": "HS256"}),
            "alg_not_allowed",
        ),
        case(
            "kb_signed_by_other_key",
            "RFC 9901 §7.3 step 5; check 35",
            bent(lambda c: None, signer=OTHER_HOLDER),
            "kb_signature_invalid",
        ),
        case(
            "kb_nonce_mismatch",
            "OpenID4VP §14.1; check 36",
            bent(lambda c: None, payload={"nonce": "another-nonce"}),
            "kb_nonce_mismatch",
        ),
        case(
            "kb_aud_mismatch",
            "OpenID4VP §14.1; check 37",
            bent(lambda c: None, payload={"aud": "x509_hash:another-verifier"}),
            "kb_aud_mismatch",
        ),
        case(
            "kb_aud_array",
            "RFC 9901 §4.3 (aud single string); check 37",
            bent(lambda c: None, payload={"aud": [AUD]}),
            "kb_aud_mismatch",
        ),
        case(
            "kb_iat_too_old",
            "RFC 9901 §7.3 step 5; check 38",
            bent(lambda c: None, payload={"iat": NOW - 3600}),
            "kb_iat_out_of_window",
        ),
        case(
            "kb_iat_future",
            "RFC 9901 §7.3 step 5; check 38",
            bent(lambda c: None, payload={"iat": NOW + 3600}),
            "kb_iat_out_of_window",
        ),
        case(
            "kb_iat_missing",
            "RFC 9901 §4.3; check 38",
            bent(lambda c: None, drop=("iat",)),
            "kb_claim_missing",
        ),
        case(
            "kb_expired",
            "RFC 7519 §4.1.4 applied to the KB-JWT",
            bent(lambda c: None, payload={"exp": NOW - 600}),
            "kb_expired",
        ),
        case(
            "kb_sd_hash_after_dropping_disclosure",
            "RFC 9901 §4.3.1; check 39",
            _drop_after_kb(p),
            "kb_sd_hash_mismatch",
        ),
        case(
            "kb_sd_hash_missing",
            "RFC 9901 §4.3; check 39",
            bent(lambda c: None, drop=("sd_hash",)),
            "kb_claim_missing",
        ),
        case(
            "kb_nonce_missing",
            "RFC 9901 §4.3; check 36",
            bent(lambda c: None, drop=("nonce",)),
            "kb_claim_missing",
        ),
        case(
            "too_many_disclosures",
            "limit (issue 6); check 19",
            bent(
                lambda c: c.disclosures.extend(
                    disclosure(f"s{i}", f"n{i}", i)[0] for i in range(200)
                )
            ),
            "too_many_disclosures",
        ),
    ]
    return cases


def _hs256_presentation() -> str:
    """The issuer JWT 'signed' with HMAC keyed by the issuer's public JWK text."""
    c = Cred()
    secret = json.dumps(ISSUER.public_jwk).encode()
    token = hs256({**c.header, "alg": "HS256"}, c.payload, secret)
    return token + "~" + "".join(d + "~" for d in c.disclosures)


def _raw_disclosure(value: Any) -> tuple[str, str]:
    encoded = b64json(value)
    return encoded, hash_b64(encoded)


def _array_item(c: Cred, item: tuple[str, str]) -> None:
    c.payload["nationalities"].append({"...": item[1]})
    c.disclosures.append(item[0])


def _tamper_payload(presentation: str) -> str:
    head, body, sig = presentation.split("~", 1)[0].split(".")
    payload = json.loads(_b64d(body))
    payload["exp"] = NOW + 999_999_999
    return ".".join((head, b64json(payload), sig)) + "~" + presentation.split("~", 1)[1]


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _digest_reused_in_disclosure() -> str:
    c = Cred()
    inner = disclosure("salt-locality", "locality", "Köln")
    reuse = disclosure("salt-place", "place", {"_sd": [inner[1], c.d_given[1]]})
    c.payload["_sd"] = sorted([*c.payload["_sd"], reuse[1]])
    c.disclosures += [reuse[0], inner[0]]
    return c.present()


def _child_without_parent() -> str:
    c = Cred()
    inner = disclosure("salt-locality", "locality", "Köln")
    parent = disclosure("salt-place", "place", {"_sd": [inner[1]]})
    c.payload["_sd"] = sorted([*c.payload["_sd"], parent[1]])
    c.disclosures.append(inner[0])  # the parent is withheld
    return c.present()


def _drop_after_kb(presentation: str) -> str:
    parts = presentation.split("~")
    return "~".join([parts[0], *parts[2:]])


def vp_token_cases() -> list[Case]:
    """Token-level checks 17, 18, 40, 41, 42 with a DCQL query and transaction data."""
    query = {
        "credentials": [
            {
                "id": "person",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [VCT]},
                "claims": [
                    {"path": ["given_name"]},
                    {"path": ["address", "country"], "values": ["DE"]},
                ],
            }
        ]
    }
    td = encode_transaction_data(
        {"type": "urn:vectors:payment", "credential_ids": ["person"], "amount": 42}
    )
    td_sha384 = encode_transaction_data(
        {
            "type": "urn:vectors:payment",
            "credential_ids": ["person"],
            "transaction_data_hashes_alg": ["sha-384"],
        }
    )
    good = Cred()
    pres = good.present()

    def vp(name: str, source: str, token: Any, code: str, **extra: Any) -> Case:
        inputs = {
            "vp_token": token,
            "query": extra.pop("query", query),
            "audience": AUD,
            "nonce": NONCE,
            "now": NOW,
            "trust": {ISS: ["issuer"]},
            "transaction_data": extra.pop("transaction_data", []),
        }
        inputs.update(extra)
        expected: dict[str, Any] = {"error": code} if code else {"valid": True}
        return {"name": name, "source": source, "input": inputs, "expected": expected}

    no_given = Cred()
    no_given.disclosures = [d for d in no_given.disclosures if d != no_given.d_given[0]]
    wrong_country = Cred()
    wrong_country.payload["address"]["country"] = "FR"
    other_vct = Cred()
    other_vct.payload["vct"] = "https://vectors.example/vct/other/1"
    two_sets = {
        "credentials": [
            {"id": "a", "format": "dc+sd-jwt", "meta": {"vct_values": [VCT]}},
            {"id": "b", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:other"]}},
        ],
        "credential_sets": [{"options": [["b"]]}, {"options": [["a"]], "required": False}],
    }
    return [
        vp("vp_token_valid", "OpenID4VP §8.6 (positive control)", {"person": [pres]}, ""),
        vp("vp_token_not_object", "OpenID4VP §8.1; check 17", [pres], "vp_token_malformed"),
        vp(
            "vp_token_unknown_query",
            "OpenID4VP §8.1; check 17",
            {"person": [pres], "other": [pres]},
            "vp_token_unknown_query",
        ),
        vp(
            "vp_token_empty_array", "OpenID4VP §8.1; check 17", {"person": []}, "vp_token_malformed"
        ),
        vp(
            "vp_token_two_for_single",
            "OpenID4VP §6.1 multiple=false; check 18",
            {"person": [pres, pres]},
            "vp_token_cardinality",
        ),
        vp(
            "vp_token_vct_not_requested",
            "OpenID4VP §6.4.1; check 31",
            {"person": [other_vct.present()]},
            "vct_not_requested",
        ),
        vp(
            "vp_token_claim_missing",
            "OpenID4VP §6.4; check 41",
            {"person": [no_given.present()]},
            "claim_missing",
        ),
        vp(
            "vp_token_claim_value_mismatch",
            "OpenID4VP §6.3 values, verifier re-checks; check 41",
            {"person": [wrong_country.present()]},
            "claim_value_mismatch",
        ),
        vp(
            "vp_token_required_query_missing",
            "OpenID4VP §6.4.2; check 42",
            {"a": [Cred().present()]},
            "credential_set_unsatisfied",
            query=two_sets,
        ),
        vp(
            "td_not_bound",
            "OpenID4VP §8.4 / B.3.3.1; check 40",
            {"person": [pres]},
            "transaction_data_not_covered",
            transaction_data=[td],
        ),
        vp(
            "td_bound_to_other_entry",
            "OpenID4VP B.3.3.1; check 40",
            {
                "person": [
                    Cred().present(
                        transaction_data=(
                            encode_transaction_data(
                                {
                                    "type": "urn:vectors:payment",
                                    "credential_ids": ["person"],
                                    "amount": 43,
                                }
                            ),
                        )
                    )
                ]
            },
            "transaction_data_not_covered",
            transaction_data=[td],
        ),
        vp(
            "td_unexpected_hash",
            "OpenID4VP B.3.3.1; check 40",
            {"person": [Cred().present(transaction_data=(td,))]},
            "transaction_data_hash_unexpected",
        ),
        vp(
            "td_alg_not_offered",
            "OpenID4VP B.3.3.1 (alg must be one requested); check 40",
            {"person": [Cred().present(transaction_data=(td_sha384,))]},
            "transaction_data_hash_alg_invalid",
            transaction_data=[td_sha384],
        ),
        vp(
            "td_valid",
            "OpenID4VP B.3.3.1 (positive control)",
            {"person": [Cred().present(transaction_data=(td,))]},
            "",
            transaction_data=[td],
        ),
        vp(
            "td_requires_kb",
            "OpenID4VP §8.4 (transaction data needs holder binding); check 40",
            {"person": [good.present(kb=False)]},
            "kb_missing",
            query={
                "credentials": [
                    {**query["credentials"][0], "require_cryptographic_holder_binding": False}
                ]
            },
            transaction_data=[td],
        ),
    ]


def status_token(
    payload: dict[str, Any],
    header: dict[str, Any] | None = None,
    signer: SigningKey = STATUS_SIGNER,
) -> str:
    return jws(
        {"alg": "ES256", "typ": "statuslist+jwt", "kid": "status_signer-1", **(header or {})},
        payload,
        signer,
    )


def status_cases() -> list[Case]:
    statuses = [0, 1, 2, 3] + [0] * 12
    lst = encode_status_list(statuses, 2)
    body = {
        "sub": STATUS_URI,
        "iat": NOW - 60,
        "exp": NOW + 3600,
        "ttl": 300,
        "status_list": {"bits": 2, "lst": lst},
    }
    bomb = b64url_encode(zlib.compress(bytes(64 * 1024 * 1024), 9))

    def st(name: str, source: str, token: str, idx: int, code: str) -> Case:
        return {
            "name": name,
            "source": source,
            "input": {
                "token": token,
                "uri": STATUS_URI,
                "idx": idx,
                "now": NOW,
                "signer": "status_signer",
            },
            "expected": {"error": code} if code else {"valid": True, "status": statuses[idx]},
        }

    return [
        st("status_valid", "Token Status List §8.3 (positive control)", status_token(body), 0, ""),
        st(
            "status_revoked",
            "Token Status List §7.1 INVALID; check 45",
            status_token(body),
            1,
            "status_invalid",
        ),
        st(
            "status_suspended",
            "Token Status List §7.1 SUSPENDED; check 45",
            status_token(body),
            2,
            "status_suspended",
        ),
        st(
            "status_application_specific",
            "Token Status List §7.1 (0x03 not accepted by default); check 45",
            status_token(body),
            3,
            "status_unknown_value",
        ),
        st(
            "status_index_out_of_range",
            "Token Status List §8.3 step 6; check 45",
            status_token(body),
            64,
            "status_index_out_of_range",
        ),
        st(
            "status_typ_wrong",
            "Token Status List §5.1; check 44",
            status_token(body, {"typ": "JWT"}),
            0,
            "status_list_typ_invalid",
        ),
        st(
            "status_untrusted_signer",
            "Token Status List §8.3 step 4; check 44",
            status_token(body, signer=OTHER_ISSUER),
            0,
            "status_list_signature_invalid",
        ),
        st(
            "status_sub_mismatch",
            "Token Status List §8.3 step 5; check 44",
            status_token({**body, "sub": STATUS_URI + "x"}),
            0,
            "status_list_sub_mismatch",
        ),
        st(
            "status_expired",
            "Token Status List §8.3 step 5; check 44",
            status_token({**body, "exp": NOW - 3600}),
            0,
            "status_list_expired",
        ),
        st(
            "status_iat_missing",
            "Token Status List §5.1 (iat REQUIRED); check 44",
            status_token({k: v for k, v in body.items() if k != "iat"}),
            0,
            "status_list_claim_missing",
        ),
        st(
            "status_bits_invalid",
            "Token Status List §4.2; check 45",
            status_token({**body, "status_list": {"bits": 3, "lst": lst}}),
            0,
            "status_list_malformed",
        ),
        st(
            "status_lst_not_zlib",
            "Token Status List §4.1; check 45",
            status_token({**body, "status_list": {"bits": 1, "lst": b64url_encode(b"plain")}}),
            0,
            "status_list_malformed",
        ),
        st(
            "status_zlib_bomb",
            "decompression bound (issue 6)",
            status_token({**body, "status_list": {"bits": 1, "lst": bomb}}),
            0,
            "status_list_malformed",
        ),
        st(
            "status_alg_none",
            "RFC 8725 §3.1; check 44",
            jws({"alg": "none", "typ": "statuslist+jwt"}, body, None),
            0,
            "alg_not_allowed",
        ),
    ]


def build_negative_cases() -> list[tuple[str, str, list[Case]]]:
    return [
        (
            "sdjwt",
            "Negative SD-JWT / SD-JWT VC / KB-JWT vectors (digest §10 checks 19-39)",
            sdjwt_cases(),
        ),
        (
            "dcql",
            "vp_token-level vectors: structure, DCQL, transaction data (checks 17, 18, 31, 40-42)",
            vp_token_cases(),
        ),
        ("status_list", "Status List Token and lookup vectors (checks 43-45)", status_cases()),
    ]
