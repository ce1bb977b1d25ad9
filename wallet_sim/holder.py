"""The holder: answer a DCQL query with minimal disclosures and a key-binding JWT.

Selection is ours (:mod:`verifier.protocol.dcql.match` finds the minimal disclosure set); the
presentation itself is assembled by the reference ``sd-jwt`` holder from an equivalent
``claims_to_disclose`` structure, and we check it picked exactly the same disclosures. The
KB-JWT is ours, because the reference library cannot add ``transaction_data_hashes``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sd_jwt.holder import SDJWTHolder

from verifier.protocol import (
    CredentialMatch,
    DCQLQuery,
    HeldCredential,
    InvalidTransactionDataError,
    SigningKey,
    TransactionData,
    create_kb_jwt,
    match_credentials,
    parse_transaction_data,
    select_presentation,
    serialize,
)
from verifier.protocol.oid4vp.delegate import DELEGATE_TYPE
from verifier.protocol.sdjwt.disclosures import ARRAY_DIGEST, SD_DIGESTS

from .ap2_wallet import delegate

__all__ = ["Presentation", "build_vp_token", "present_with_reference", "validate_transaction_data"]


def _to_disclose(raw: Any, chosen: Mapping[str, Any]) -> Any:
    """The reference holder's ``claims_to_disclose`` shape selecting exactly ``chosen`` digests."""
    if isinstance(raw, dict):
        out: dict[str, Any] = {}
        for key, value in raw.items():
            if key == SD_DIGESTS:
                continue
            sub = _to_disclose(value, chosen)
            if sub is not None:
                out[key] = sub
        for digest in raw.get(SD_DIGESTS, ()):
            if digest in chosen:
                name, value = chosen[digest]
                sub = _to_disclose(value, chosen)
                out[name] = sub if sub else True
        return out or None
    if isinstance(raw, list):
        items: list[Any] = []
        for element in raw:
            if isinstance(element, dict) and set(element) == {ARRAY_DIGEST}:
                digest = element[ARRAY_DIGEST]
                if digest in chosen:
                    sub = _to_disclose(chosen[digest][1], chosen)
                    items.append(sub if sub else True)
                else:
                    items.append(None)
            else:
                items.append(_to_disclose(element, chosen))
        return items if any(i is not None for i in items) else None
    return None


def present_with_reference(match: CredentialMatch) -> str:
    """``<issuer JWT>~<minimal disclosures>~`` assembled by the reference holder."""
    held = match.credential
    chosen = {d.digest: (d.name, d.value) for d in match.disclosures}
    issuance = serialize(held.issuer_jwt, (d.encoded for d in held.disclosures))
    holder = SDJWTHolder(issuance)
    holder.create_presentation(_to_disclose(held.payload, chosen) or {})
    presented = str(holder.sd_jwt_presentation)
    expected = {d.encoded for d in match.disclosures}
    got = set(presented.split("~")[1:-1])
    if got != expected:
        raise RuntimeError("reference holder selected other disclosures than the DCQL match")
    return presented


def validate_transaction_data(
    transaction_data: Sequence[str], query: DCQLQuery, supported_types: Collection[str]
) -> list[TransactionData]:
    """Wallet check 18: known type, credential_ids naming requested queries, holder binding."""
    by_id = query.by_id()
    parsed = []
    for encoded in transaction_data:
        td = parse_transaction_data(encoded)
        if td.type not in supported_types:
            raise InvalidTransactionDataError(
                "transaction_data_type_unsupported", f"transaction data type {td.type!r} unknown"
            )
        for query_id in td.credential_ids:
            if query_id not in by_id:
                raise InvalidTransactionDataError(
                    "transaction_data_credential_ids_invalid", f"no credential query {query_id!r}"
                )
            if not by_id[query_id].require_cryptographic_holder_binding:
                raise InvalidTransactionDataError(
                    "transaction_data_requires_holder_binding",
                    f"query {query_id!r} allows presentations without holder binding",
                )
        parsed.append(td)
    return parsed


@dataclass(frozen=True)
class Presentation:
    """What the holder is about to send, for the consent screen and for tests."""

    vp_token: dict[str, list[str]]
    matches: dict[str, list[CredentialMatch]]


def build_vp_token(
    *,
    query: DCQLQuery,
    credentials: Sequence[HeldCredential],
    holder_keys: Mapping[str, SigningKey],
    audience: str,
    nonce: str,
    now: int,
    transaction_data: Sequence[str] = (),
    supported_td_types: Collection[str] = (),
    td_hashes_alg: str | None = None,
) -> Presentation:
    """Select, present and key-bind; ``holder_keys`` maps a credential id to its cnf key."""
    entries = validate_transaction_data(transaction_data, query, supported_td_types)
    chosen = select_presentation(query, match_credentials(query, credentials))
    vp_token: dict[str, list[str]] = {}
    for query_id, matches in chosen.items():
        # Each entry is bound by the first of its credential_ids that we actually present.
        mine = [
            td
            for td in entries
            if next((i for i in td.credential_ids if i in chosen), None) == query_id
        ]
        alg = td_hashes_alg
        if alg is None and any(td.hashes_alg for td in mine):
            alg = next(td.hashes_alg[0] for td in mine if td.hashes_alg)
        vp_token[query_id] = []
        for match in matches:
            presented = present_with_reference(match)
            key = holder_keys.get(match.credential.id)
            if key is None:
                if mine or query.by_id()[query_id].require_cryptographic_holder_binding:
                    raise KeyError(f"no holder key for credential {match.credential.id!r}")
                vp_token[query_id].append(presented)
                continue
            delegations = [td for td in mine if td.type == DELEGATE_TYPE]
            if delegations:  # AP2: the key binding is a KB-SD-JWT signing the mandates
                vp_token[query_id].append(
                    delegate(presented, key, delegations, mine, audience, nonce, now, alg)
                )
                continue
            kb = create_kb_jwt(
                presented=presented,
                holder_key=key,
                audience=audience,
                nonce=nonce,
                iat=now,
                sd_alg=str(match.credential.payload.get("_sd_alg", "sha-256")),
                transaction_data=[td.encoded for td in mine],
                transaction_data_hashes_alg=alg,
            )
            vp_token[query_id].append(presented + kb)
    return Presentation(vp_token, chosen)
