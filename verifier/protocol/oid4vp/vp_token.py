"""Verifying a whole ``vp_token`` against the request that asked for it (OpenID4VP 1.0 §8.6).

Order (digest §1.13, §10 checks 17-42):

1. structure: a JSON object keyed by requested credential query ids, each a non-empty array of
   presentation strings, one element unless the query says ``multiple`` (17, 18);
2. each presentation verified as an SD-JWT VC (:func:`.sdjwt_vc.verify_presentation`), with key
   binding required by the query (or by transaction data, which always needs holder binding),
   then checked against its query (:func:`.dcql.check_credential`);
3. the presented ids satisfy the query's credential sets (42);
4. every ``transaction_data`` entry the verifier sent is covered by the KB-JWT of exactly one
   presentation of one of its ``credential_ids``, hashed over the exact base64url string with an
   accepted algorithm, and no KB-JWT carries a hash we did not ask for (40).

Any failing presentation rejects the whole response: the core fails closed (stricter than the
"discard and re-evaluate" latitude of §8.6, and what §14.1 demands for a wrong ``nonce``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import jsonutil
from ..dcql.query import DCQLQuery, check_credential, check_credential_sets
from ..errors import DCQLError, InvalidTransactionDataError, KeyBindingError, MalformedError
from ..jose import b64url_decode, b64url_encode
from ..sdjwt.kb_jwt import TD_HASH_ALGS, transaction_data_hash
from ..sdjwt.vc import (
    DEFAULT_POLICY,
    IssuerKeyResolver,
    VerificationPolicy,
    VerifiedCredential,
    verify_presentation,
)
from .delegate import DELEGATE_TYPE, check_delegations, verify_delegated_presentation

__all__ = [
    "TransactionData",
    "VerifiedVPToken",
    "encode_transaction_data",
    "parse_transaction_data",
    "verify_vp_token",
]

DEFAULT_MAX_ENTRIES = 16


@dataclass(frozen=True, slots=True)
class TransactionData:
    """One decoded ``transaction_data`` entry and the exact string it was sent as."""

    encoded: str
    type: str
    credential_ids: tuple[str, ...]
    hashes_alg: tuple[str, ...] | None
    data: dict[str, Any]

    def accepts_alg(self, alg: str | None) -> bool:
        if self.hashes_alg is None:
            return alg in (None, "sha-256")
        return alg is not None and alg in self.hashes_alg


def encode_transaction_data(data: Mapping[str, Any]) -> str:
    return b64url_encode(jsonutil.dumps_compact(dict(data)).encode("utf-8"))


def parse_transaction_data(encoded: Any) -> TransactionData:
    """Decode and shape-check one entry (VP §5.1 ``transaction_data``)."""
    if not isinstance(encoded, str):
        raise InvalidTransactionDataError("transaction_data_malformed", "entry is not a string")
    try:
        data = jsonutil.loads(
            b64url_decode(encoded, what="transaction_data"), what="transaction_data"
        )
    except MalformedError as exc:
        raise InvalidTransactionDataError("transaction_data_malformed", exc.reason) from None
    if not isinstance(data, dict):
        raise InvalidTransactionDataError(
            "transaction_data_malformed", "entry is not a JSON object"
        )
    td_type, ids, algs = (
        data.get("type"),
        data.get("credential_ids"),
        data.get("transaction_data_hashes_alg"),
    )
    if not isinstance(td_type, str) or not td_type:
        raise InvalidTransactionDataError("transaction_data_malformed", "'type' missing")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise InvalidTransactionDataError(
            "transaction_data_credential_ids_invalid",
            "'credential_ids' is not a non-empty string array",
        )
    if algs is not None and (
        not isinstance(algs, list)
        or not algs
        or not all(isinstance(a, str) and a in TD_HASH_ALGS for a in algs)
    ):
        raise InvalidTransactionDataError(
            "transaction_data_field_invalid",
            "'transaction_data_hashes_alg' is not a list of known hashes",
        )
    return TransactionData(encoded, td_type, tuple(ids), tuple(algs) if algs else None, data)


@dataclass(frozen=True, slots=True)
class VerifiedVPToken:
    """Verified presentations per credential query id."""

    credentials: dict[str, tuple[VerifiedCredential, ...]]

    def first(self, query_id: str) -> VerifiedCredential | None:
        found = self.credentials.get(query_id)
        return found[0] if found else None


def _structure(vp_token: Any, query: DCQLQuery, max_entries: int) -> dict[str, list[str]]:
    if not isinstance(vp_token, dict) or not vp_token:
        raise DCQLError("vp_token_malformed", "vp_token is not a non-empty JSON object")
    requested = query.requested_ids()
    by_id = query.by_id()
    total = 0
    for query_id, entries in vp_token.items():
        if query_id not in requested:
            raise DCQLError(
                "vp_token_unknown_query", f"vp_token key {query_id!r} was not requested"
            )
        if not isinstance(entries, list) or not entries:
            raise DCQLError(
                "vp_token_malformed", f"vp_token[{query_id!r}] is not a non-empty array"
            )
        if len(entries) > 1 and not by_id[query_id].multiple:
            raise DCQLError(
                "vp_token_cardinality",
                f"{len(entries)} presentations for single query {query_id!r}",
            )
        if not all(isinstance(e, str) for e in entries):
            raise DCQLError("vp_token_malformed", f"vp_token[{query_id!r}] holds a non-string")
        total += len(entries)
    if total > max_entries:
        raise MalformedError(
            "input_too_large", f"vp_token has {total} presentations, limit {max_entries}"
        )
    return vp_token


def _check_transaction_data(
    expected: Sequence[TransactionData], verified: Mapping[str, tuple[VerifiedCredential, ...]]
) -> None:
    claimed: dict[int, set[str]] = {}  # id(presentation) -> hashes that some entry accounted for
    for td in expected:
        covering = 0
        for query_id in td.credential_ids:
            for credential in verified.get(query_id, ()):
                kb = credential.key_binding
                if kb is None or not kb.transaction_data_hashes:
                    continue
                alg = kb.transaction_data_hashes_alg or "sha-256"
                digest = transaction_data_hash(td.encoded, alg)
                if digest not in kb.transaction_data_hashes:
                    continue
                if not td.accepts_alg(kb.transaction_data_hashes_alg):
                    raise KeyBindingError(
                        "transaction_data_hash_alg_invalid",
                        f"{query_id}: hash alg {kb.transaction_data_hashes_alg!r} was not offered",
                    )
                claimed.setdefault(id(credential), set()).add(digest)
                covering += 1
        if covering != 1:
            code = (
                "transaction_data_not_covered"
                if covering == 0
                else "transaction_data_hash_unexpected"
            )
            raise KeyBindingError(
                code, f"transaction_data of type {td.type!r} is bound by {covering} presentations"
            )
    for query_id, credentials in verified.items():
        for credential in credentials:
            kb = credential.key_binding
            extra = set(kb.transaction_data_hashes if kb else ()) - claimed.get(
                id(credential), set()
            )
            if extra:
                raise KeyBindingError(
                    "transaction_data_hash_unexpected",
                    f"{query_id}: KB-JWT binds transaction data that was not requested",
                )


def verify_vp_token(
    vp_token: Any,
    *,
    query: DCQLQuery,
    keys: IssuerKeyResolver,
    audience: str,
    nonce: str,
    now: int,
    transaction_data: Sequence[str] = (),
    policy: VerificationPolicy = DEFAULT_POLICY,
    max_entries: int = DEFAULT_MAX_ENTRIES,
) -> VerifiedVPToken:
    """Verify every presentation and the token-level rules; raise on the first failure."""
    entries = _structure(vp_token, query, max_entries)
    expected = [parse_transaction_data(t) for t in transaction_data]
    bound_ids = {i for td in expected for i in td.credential_ids}
    delegating = {i for td in expected if td.type == DELEGATE_TYPE for i in td.credential_ids}
    by_id = query.by_id()
    verified: dict[str, tuple[VerifiedCredential, ...]] = {}
    for query_id, presentations in entries.items():
        cq = by_id[query_id]
        need_kb = cq.require_cryptographic_holder_binding or query_id in bound_ids
        out = []
        for presentation in presentations:
            if "~~" in presentation and query_id in delegating:
                credential = verify_delegated_presentation(
                    presentation, keys=keys, audience=audience, nonce=nonce, now=now, policy=policy
                )
            else:
                credential = verify_presentation(
                    presentation,
                    keys=keys,
                    audience=audience,
                    nonce=nonce,
                    now=now,
                    require_key_binding=need_kb,
                    policy=policy,
                )
            check_credential(cq, credential)
            out.append(credential)
        verified[query_id] = tuple(out)
    check_credential_sets(query, verified.keys())
    _check_transaction_data(expected, verified)
    check_delegations(expected, verified)
    return VerifiedVPToken(verified)
