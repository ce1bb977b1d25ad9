"""``transaction_data`` of type ``delegate`` (AP2 v0.2 ``agent_authorization.md`` "Delegation
using OpenID4VP"): the human signs mandates while presenting a credential.

The request entry carries ``format`` (the returned mandate's format: ``dc+sd-jwt``),
``delegate_payload`` (the mandate contents, JSON objects; all open - with ``cnf`` - or all
closed) and optionally ``delegate_disclosures`` (disclosures behind digests inside them).

The wallet answers with a Delegate SD-JWT instead of an SD-JWT+KB: ``<credential>~<its
disclosures>~~<KB-SD-JWT>~<item disclosures>~<delegate_disclosures>~``. The KB-SD-JWT is the
key binding: signed by the credential's ``cnf`` key, ``typ`` ``kb+sd-jwt`` (closed mandates) or
``kb+sd-jwt+kb`` (open ones naming the agent's key), with ``aud``, ``nonce``, ``iat``,
``sd_hash`` over the credential as presented, ``transaction_data_hashes`` (as any KB-JWT) and
``delegate_payload``: one array-element disclosure per requested item, in order.
:func:`check_delegations` then requires, per ``delegate`` entry, that the covering presentation
signed exactly the requested items (as raw JSON) and returned every requested disclosure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import InvalidTransactionDataError, KeyBindingError
from ..sdjwt.delegation import DelegationPolicy, split_chain, verify_chain
from ..sdjwt.kb_jwt import KeyBindingClaims, transaction_data_claims
from ..sdjwt.vc import IssuerKeyResolver, VerificationPolicy, VerifiedCredential

__all__ = [
    "DELEGATE_TYPE",
    "DelegateRequest",
    "check_delegations",
    "parse_delegate",
    "verify_delegated_presentation",
]

DELEGATE_TYPE = "delegate"
MAX_ITEMS = 8
MAX_DISCLOSURES = 64


@dataclass(frozen=True, slots=True)
class DelegateRequest:
    format: str
    items: tuple[dict[str, Any], ...]
    disclosures: tuple[str, ...]
    open: bool  # every item names a next key in cnf


class TransactionDataEntry(Protocol):
    """The fields of a :class:`.vp_token.TransactionData` read here: :mod:`.vp_token` imports
    this module, so this one names them rather than import that class back."""

    @property
    def type(self) -> str: ...
    @property
    def credential_ids(self) -> tuple[str, ...]: ...
    @property
    def data(self) -> dict[str, Any]: ...


def _bad(reason: str) -> InvalidTransactionDataError:
    return InvalidTransactionDataError("transaction_data_field_invalid", f"delegate: {reason}")


def parse_delegate(td: TransactionDataEntry) -> DelegateRequest:
    """Shape-check a ``delegate`` entry."""
    data = td.data
    if data.get("format") != "dc+sd-jwt":
        raise _bad("'format' must be 'dc+sd-jwt'")
    items = data.get("delegate_payload")
    if not isinstance(items, list) or not items or len(items) > MAX_ITEMS:
        raise _bad(f"'delegate_payload' must hold 1 to {MAX_ITEMS} objects")
    if not all(isinstance(i, dict) and isinstance(i.get("vct"), str) for i in items):
        raise _bad("every delegate_payload item must be an object with a 'vct'")
    disclosures = data.get("delegate_disclosures", [])
    if not isinstance(disclosures, list) or len(disclosures) > MAX_DISCLOSURES:
        raise _bad(f"'delegate_disclosures' must be an array of at most {MAX_DISCLOSURES}")
    if not all(isinstance(d, str) and d for d in disclosures):
        raise _bad("'delegate_disclosures' must hold disclosure strings")
    with_cnf = ["cnf" in i for i in items]
    if any(with_cnf) and not all(with_cnf):
        raise _bad("items must all be open (with cnf) or all closed")
    return DelegateRequest(data["format"], tuple(items), tuple(disclosures), all(with_cnf))


def verify_delegated_presentation(
    presentation: str,
    *,
    keys: IssuerKeyResolver,
    audience: str,
    nonce: str,
    now: int,
    policy: VerificationPolicy,
) -> VerifiedCredential:
    """A credential presented with a KB-SD-JWT as its key binding (see the module text)."""
    delegation = DelegationPolicy(
        algs=policy.kb_algs,
        sd_algs=policy.sd_algs,
        max_segments=2,
        leeway=policy.leeway,
        terminal_max_age=policy.kb_max_age,
        max_chain_bytes=policy.max_presentation_bytes,
        max_disclosures=policy.max_disclosures,
        credential=policy,
    )
    split_chain(presentation, policy=delegation)
    chain = verify_chain(
        presentation,
        issuers=keys,
        providers=None,
        audience=audience,
        nonce=nonce,
        now=now,
        policy=delegation,
        open_end=True,
    )
    hop = chain.terminal
    if "sd_hash" not in hop.claims:
        raise KeyBindingError("kb_claim_missing", "the KB-SD-JWT must bind with sd_hash")
    hashes, alg = transaction_data_claims(hop.claims)
    binding = KeyBindingClaims(
        iat=hop.claims["iat"],
        aud=hop.claims["aud"],
        nonce=hop.claims["nonce"],
        sd_hash=hop.claims["sd_hash"],
        transaction_data_hashes=hashes,
        transaction_data_hashes_alg=alg,
        payload=hop.claims,
    )
    assert chain.credential is not None
    return dataclasses.replace(
        chain.credential, key_binding=binding, delegated=hop.items, raw=presentation
    )


def check_delegations(
    expected: Sequence[TransactionDataEntry], verified: Mapping[str, Sequence[VerifiedCredential]]
) -> None:
    """Each ``delegate`` entry signed as requested by the presentation covering it."""
    for td in expected:
        if td.type != DELEGATE_TYPE:
            continue
        request = parse_delegate(td)
        covering = [
            c
            for query_id in td.credential_ids
            for c in verified.get(query_id, ())
            if c.key_binding is not None and c.delegated
        ]
        if len(covering) != 1:
            raise KeyBindingError(
                "transaction_data_not_covered", "no KB-SD-JWT signed the delegate payload"
            )
        items = covering[0].delegated
        if [item.raw for item in items] != list(request.items):
            raise KeyBindingError(
                "transaction_data_not_covered", "the signed delegate items are not the requested"
            )
        sent = set(covering[0].raw.split("~"))
        if not all(d in sent for d in request.disclosures):
            raise KeyBindingError(
                "transaction_data_not_covered", "a requested delegate disclosure is missing"
            )
