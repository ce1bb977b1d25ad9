"""Pins the public API of verifier.protocol: removing or renaming a name is a breaking change."""

import pytest

from verifier import protocol
from verifier.protocol.errors import all_codes

PINNED = {
    "AccessDeniedError",
    "AgentVPError",
    "AlgorithmError",
    "ClaimsQuery",
    "CredentialError",
    "CredentialMatch",
    "CredentialQuery",
    "CredentialSetQuery",
    "DCQLError",
    "DCQLQuery",
    "Disclosure",
    "HeldCredential",
    "IDTokenError",
    "InvalidClientError",
    "InvalidRequestError",
    "InvalidRequestURIMethodError",
    "RequestObject",
    "authorization_request_uri",
    "create_id_token",
    "parse_authorization_request_uri",
    "validate_chain",
    "verify_id_token",
    "verify_request_object",
    "x509_hash",
    "InvalidTransactionDataError",
    "IssuerKeyResolver",
    "KeyBindingClaims",
    "KeyBindingError",
    "MalformedError",
    "PublicKey",
    "RequestObjectError",
    "SDJWTError",
    "SDJWTParts",
    "SignatureError",
    "SigningKey",
    "StaticKeyResolver",
    "StatusError",
    "StatusList",
    "StatusListToken",
    "StatusReference",
    "TransactionData",
    "TrustError",
    "VPFormatsNotSupportedError",
    "VerificationPolicy",
    "VerifiedCredential",
    "VerifiedVPToken",
    "b64url_decode",
    "b64url_encode",
    "check_credential",
    "check_credential_sets",
    "check_status",
    "create_kb_jwt",
    "decode_status_list",
    "encode_status_list",
    "encode_transaction_data",
    "jwk_thumbprint",
    "match_credentials",
    "parse_transaction_data",
    "public_key_from_jwk",
    "reconstruct",
    "select_claims",
    "select_presentation",
    "serialize",
    "split_sd_jwt",
    "transaction_data_hash",
    "verify_kb_jwt",
    "verify_presentation",
    "verify_status_list_token",
    "verify_vp_token",
}


def test_public_names_are_exactly_the_pinned_set() -> None:
    assert set(protocol.__all__) == PINNED
    for name in PINNED:
        assert getattr(protocol, name) is not None


def test_error_codes_are_unique_and_carry_oauth_codes() -> None:
    table = all_codes()
    assert len(table) > 100
    for code, cls in table.items():
        err = cls(code, "reason")
        assert err.error in {
            "server_error",
            "invalid_request",
            "invalid_transaction_data",
            "invalid_client",
            "access_denied",
            "vp_formats_not_supported",
            "invalid_request_uri_method",
        }
        assert err.as_dict() == {"code": code, "detail": "reason"}


def test_unknown_code_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="has no code"):
        protocol.SDJWTError("kb_missing", "wrong leaf")
