"""Typed errors of the protocol core.

Every failure the core can detect is an instance of a *leaf* class below. A leaf carries

- ``error``: the OAuth 2.0 / OpenID4VP error code a wallet or client may see (coarse);
- ``status_code``: the HTTP status an adapter should answer with;
- ``code``: a stable, machine-readable name of the exact check that failed (precise);
- ``reason``: human-readable text naming the failing check and the offending value.

"Coarse outward, precise inward": adapters send ``error`` (+ a generic description) to the
wallet and keep ``code``/``reason`` for the transaction record and the logs.

Tree::

    AgentVPError                        server_error     500
    ├── InvalidRequestError             invalid_request  400
    │   ├── MalformedError              input that does not parse (JSON, base64url, JWT, limits)
    │   ├── AlgorithmError              JOSE algorithm not on the allow-list (``none``, HS*, ...)
    │   ├── SignatureError              a signature that does not verify
    │   ├── SDJWTError                  RFC 9901 processing (digests, disclosures)
    │   ├── CredentialError             SD-JWT VC rules (typ, vct, iss, cnf, validity)
    │   ├── KeyBindingError             KB-JWT (typ, nonce, aud, iat, sd_hash, tx data hashes)
    │   ├── DCQLError                   query invalid, or a vp_token that does not satisfy it
    │   ├── TrustError                  issuer or key not trusted for this credential type
    │   ├── StatusError                 Token Status List: revoked, suspended, unusable list
    │   ├── DelegationError             Delegate SD-JWT chains (AP2): split, hop typ, binding, root
    │   ├── IDTokenError                SIOPv2 self-issued ID token
    │   ├── RequestObjectError          wallet side: request object / client_id checks
    │   └── DCAPIError                  Digital Credentials API: origins, protocol, answer shape
    ├── InvalidTransactionDataError     invalid_transaction_data  400
    ├── InvalidClientError              invalid_client   401
    ├── AccessDeniedError               access_denied    403
    ├── InvalidRequestURIMethodError    invalid_request_uri_method 400
    └── VPFormatsNotSupportedError      vp_formats_not_supported 400

Each leaf lists the ``codes`` it may carry; constructing it with another code is a programming
error (``ValueError``), so the set of codes is closed and documented in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from pydantic import ValidationError

__all__ = [
    "AccessDeniedError",
    "AgentVPError",
    "AlgorithmError",
    "CredentialError",
    "DCAPIError",
    "DCQLError",
    "DelegationError",
    "IDTokenError",
    "InvalidClientError",
    "InvalidRequestError",
    "InvalidRequestURIMethodError",
    "InvalidTransactionDataError",
    "KeyBindingError",
    "MalformedError",
    "RequestObjectError",
    "SDJWTError",
    "SignatureError",
    "StatusError",
    "TrustError",
    "VPFormatsNotSupportedError",
    "all_codes",
    "first_error",
]


class AgentVPError(Exception):
    """Base of every error the protocol core raises on bad input."""

    error: ClassVar[str] = "server_error"
    status_code: ClassVar[int] = 500
    codes: ClassVar[frozenset[str]] = frozenset({"internal"})

    def __init__(self, code: str, reason: str) -> None:
        if code not in self.codes:
            raise ValueError(f"{type(self).__name__} has no code {code!r}")
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason

    def as_dict(self) -> dict[str, str]:
        """The precise form kept in transaction records: ``{code, detail}``."""
        return {"code": self.code, "detail": self.reason}


class InvalidRequestError(AgentVPError):
    error = "invalid_request"
    status_code = 400
    codes = frozenset({"invalid_request"})


class MalformedError(InvalidRequestError):
    codes = frozenset(
        {
            "malformed_json",
            "json_duplicate_key",
            "json_too_deep",
            "input_too_large",
            "malformed_base64url",
            "base64url_not_canonical",
            "malformed_jwt",
            "malformed_sd_jwt",
            "malformed_disclosure",
            "too_many_disclosures",
            "malformed_jwk",
            "malformed_jwe",
            "jwe_iv_invalid",
            "jwe_tag_invalid",
            "malformed_form",
            "malformed_response",
        }
    )


class AlgorithmError(InvalidRequestError):
    codes = frozenset({"alg_not_allowed", "sd_alg_unsupported", "hash_alg_unsupported"})


class SignatureError(InvalidRequestError):
    codes = frozenset(
        {
            "issuer_signature_invalid",
            "kb_signature_invalid",
            "status_list_signature_invalid",
            "request_signature_invalid",
            "id_token_signature_invalid",
            "signature_invalid",
            "jwe_decryption_failed",
            "hop_signature_invalid",
            "checkout_signature_invalid",
        }
    )


class SDJWTError(InvalidRequestError):
    codes = frozenset(
        {
            "sd_alg_not_top_level",
            "sd_malformed",
            "disclosure_wrong_arity",
            "disclosure_reserved_name",
            "disclosure_name_collision",
            "duplicate_digest",
            "duplicate_disclosure",
            "unreferenced_disclosure",
            "kb_jwt_expected",
            "kb_jwt_unexpected",
        }
    )


class CredentialError(InvalidRequestError):
    codes = frozenset(
        {
            "issuer_typ_invalid",
            "vct_missing",
            "vct_not_accepted",
            "iss_missing",
            "credential_expired",
            "credential_not_yet_valid",
            "credential_iat_in_future",
            "validity_claim_invalid",
            "cnf_missing",
            "cnf_invalid",
            "reserved_claim_disclosed",
            "status_reference_malformed",
        }
    )


class KeyBindingError(InvalidRequestError):
    codes = frozenset(
        {
            "kb_missing",
            "kb_typ_invalid",
            "kb_claim_missing",
            "kb_nonce_mismatch",
            "kb_aud_mismatch",
            "kb_aud_not_origin",
            "kb_iat_out_of_window",
            "kb_expired",
            "kb_sd_hash_mismatch",
            "transaction_data_hash_missing",
            "transaction_data_hash_unexpected",
            "transaction_data_hash_alg_invalid",
            "transaction_data_not_covered",
        }
    )


class DCQLError(InvalidRequestError):
    codes = frozenset(
        {
            "dcql_invalid",
            "claims_path_invalid",
            "vp_token_malformed",
            "vp_token_unknown_query",
            "vp_token_cardinality",
            "credential_format_mismatch",
            "vct_not_requested",
            "claim_missing",
            "claim_value_mismatch",
            "credential_query_missing",
            "credential_set_unsatisfied",
            "holder_binding_missing",
        }
    )


class TrustError(InvalidRequestError):
    codes = frozenset(
        {
            "issuer_untrusted",
            "issuer_key_unknown",
            "vct_not_trusted_for_issuer",
            "x5c_invalid",
            "x5c_untrusted",
            "x5c_expired",
            "x5c_not_ca",
            "x5c_key_usage",
            "x5c_extended_key_usage",
            "x5c_name_constraints",
            "x5c_anchor_included",
            "x5c_name_mismatch",
            "x5c_self_signed",
            "issuer_metadata_invalid",
            "issuer_metadata_unavailable",
        }
    )


class StatusError(InvalidRequestError):
    codes = frozenset(
        {
            "status_invalid",
            "status_suspended",
            "status_unknown_value",
            "status_index_out_of_range",
            "status_list_malformed",
            "status_list_typ_invalid",
            "status_list_sub_mismatch",
            "status_list_expired",
            "status_list_claim_missing",
            "status_list_unavailable",
            "status_list_untrusted",
        }
    )


class DelegationError(InvalidRequestError):
    """A Delegate SD-JWT chain (``~~``-joined KB-SD-JWT hops) that does not verify."""

    codes = frozenset(
        {
            "chain_malformed",
            "chain_too_long",
            "chain_kb_jwt_unsupported",
            "root_untrusted",
            "root_typ_invalid",
            "root_claim_invalid",
            "hop_typ_invalid",
            "hop_claim_missing",
            "hop_binding_missing",
            "hop_binding_ambiguous",
            "hop_binding_mismatch",
            "hop_aud_mismatch",
            "hop_nonce_mismatch",
            "hop_iat_out_of_window",
            "hop_expired",
            "hop_cnf_missing",
            "hop_cnf_unexpected",
            "delegate_payload_invalid",
            "delegate_payload_not_single",
            "delegate_claim_disclosed",
            "delegate_expired",
            "delegate_not_yet_valid",
        }
    )


class IDTokenError(InvalidRequestError):
    codes = frozenset(
        {
            "id_token_missing",
            "id_token_not_self_issued",
            "id_token_sub_mismatch",
            "id_token_aud_mismatch",
            "id_token_nonce_mismatch",
            "id_token_expired",
            "id_token_iat_invalid",
            "id_token_claim_missing",
        }
    )


class RequestObjectError(InvalidRequestError):
    codes = frozenset(
        {
            "request_typ_invalid",
            "client_id_mismatch",
            "client_id_prefix_unsupported",
            "client_id_invalid",
            "wallet_nonce_mismatch",
            "request_parameter_invalid",
            "response_uri_invalid",
            "request_expired",
        }
    )


class DCAPIError(InvalidRequestError):
    """OpenID4VP over the Digital Credentials API (Appendix A): the page origin, the protocol
    identifier, the shape of the browser's answer, and (wallet side) ``expected_origins``."""

    codes = frozenset(
        {
            "dc_api_origin_invalid",
            "dc_api_origin_not_allowed",
            "dc_api_protocol_mismatch",
            "dc_api_response_malformed",
            "dc_api_state_present",
            "dc_api_request_invalid",
            "dc_api_origin_not_expected",
        }
    )


class InvalidTransactionDataError(AgentVPError):
    error = "invalid_transaction_data"
    status_code = 400
    codes = frozenset(
        {
            "transaction_data_malformed",
            "transaction_data_type_unsupported",
            "transaction_data_credential_ids_invalid",
            "transaction_data_field_invalid",
            "transaction_data_requires_holder_binding",
        }
    )


class InvalidClientError(AgentVPError):
    error = "invalid_client"
    status_code = 401
    codes = frozenset({"verifier_untrusted", "client_metadata_not_allowed"})


class AccessDeniedError(AgentVPError):
    error = "access_denied"
    status_code = 403
    codes = frozenset({"no_matching_credentials", "user_declined", "action_outside_mandate"})


class InvalidRequestURIMethodError(AgentVPError):
    error = "invalid_request_uri_method"
    status_code = 400
    codes = frozenset({"request_uri_method_invalid"})


class VPFormatsNotSupportedError(AgentVPError):
    error = "vp_formats_not_supported"
    status_code = 400
    codes = frozenset({"vp_formats_not_supported"})


def _leaves(cls: type[AgentVPError]) -> list[type[AgentVPError]]:
    out = [cls]
    for sub in cls.__subclasses__():
        out.extend(_leaves(sub))
    return out


def all_codes() -> dict[str, type[AgentVPError]]:
    """Every precise code and the leaf class that carries it (codes are unique across leaves)."""
    table: dict[str, type[AgentVPError]] = {}
    for cls in _leaves(AgentVPError):
        for code in cls.codes:
            if code in table and table[code] is not cls:
                raise RuntimeError(
                    f"code {code!r} used by {table[code].__name__} and {cls.__name__}"
                )
            table[code] = cls
    return table


def first_error(exc: ValidationError, *, whole: str = "") -> str:
    """``field.path: message`` for the first failure of a pydantic validation; ``whole`` names
    the value when the failure is about all of it (an empty location)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or whole
    return f"{where}: {first['msg']}"
