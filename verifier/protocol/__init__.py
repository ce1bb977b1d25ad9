"""The pure protocol library: OpenID4VP 1.0, DCQL, SD-JWT (RFC 9901), SD-JWT VC, Token Status List.

No web framework, no storage, no environment reads, no network I/O: clocks, keys and fetched
documents are passed in. Shared by the verifier service and the wallet simulator. It imports
nothing else of ``verifier`` (a test enforces it). One package per spec family: :mod:`.jose`,
:mod:`.x509`, :mod:`.sdjwt`, :mod:`.dcql`, :mod:`.oid4vp`, :mod:`.oauth`, :mod:`.mandates`;
:mod:`.status_list`, :mod:`.errors` (the typed error tree) and :mod:`.jsonutil` (strict JSON)
stand alone.

The names below are the public API (a test pins them); everything else is internal.
"""

from .dcql.claims_path import select_claims
from .dcql.match import CredentialMatch, HeldCredential, match_credentials, select_presentation
from .dcql.query import (
    ClaimsQuery,
    CredentialQuery,
    CredentialSetQuery,
    DCQLQuery,
    check_credential,
    check_credential_sets,
)
from .errors import (
    AccessDeniedError,
    AgentVPError,
    AlgorithmError,
    CredentialError,
    DCQLError,
    IDTokenError,
    InvalidClientError,
    InvalidRequestError,
    InvalidRequestURIMethodError,
    InvalidTransactionDataError,
    KeyBindingError,
    MalformedError,
    RequestObjectError,
    SDJWTError,
    SignatureError,
    StatusError,
    TrustError,
    VPFormatsNotSupportedError,
)
from .jose import (
    PublicKey,
    SigningKey,
    b64url_decode,
    b64url_encode,
    jwk_thumbprint,
    public_key_from_jwk,
)
from .oid4vp.request import authorization_request_uri, parse_authorization_request_uri
from .oid4vp.siop import create_id_token, verify_id_token
from .oid4vp.vp_token import (
    TransactionData,
    VerifiedVPToken,
    encode_transaction_data,
    parse_transaction_data,
    verify_vp_token,
)
from .oid4vp.wallet_request import RequestObject, verify_request_object
from .sdjwt.disclosures import Disclosure, SDJWTParts, reconstruct, serialize, split_sd_jwt
from .sdjwt.kb_jwt import KeyBindingClaims, create_kb_jwt, transaction_data_hash, verify_kb_jwt
from .sdjwt.vc import (
    IssuerKeyResolver,
    StaticKeyResolver,
    StatusReference,
    VerificationPolicy,
    VerifiedCredential,
    verify_presentation,
)
from .status_list import (
    StatusList,
    StatusListToken,
    check_status,
    decode_status_list,
    encode_status_list,
    verify_status_list_token,
)
from .x509.chain import validate_chain, x509_hash

__all__ = [
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
    "InvalidTransactionDataError",
    "IssuerKeyResolver",
    "KeyBindingClaims",
    "KeyBindingError",
    "MalformedError",
    "PublicKey",
    "RequestObject",
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
    "authorization_request_uri",
    "b64url_decode",
    "b64url_encode",
    "check_credential",
    "check_credential_sets",
    "check_status",
    "create_id_token",
    "create_kb_jwt",
    "decode_status_list",
    "encode_status_list",
    "encode_transaction_data",
    "jwk_thumbprint",
    "match_credentials",
    "parse_authorization_request_uri",
    "parse_transaction_data",
    "public_key_from_jwk",
    "reconstruct",
    "select_claims",
    "select_presentation",
    "serialize",
    "split_sd_jwt",
    "transaction_data_hash",
    "validate_chain",
    "verify_id_token",
    "verify_kb_jwt",
    "verify_presentation",
    "verify_request_object",
    "verify_status_list_token",
    "verify_vp_token",
    "x509_hash",
]
