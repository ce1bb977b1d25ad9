"""What the wallet's consent screen shows, and the user's one choice: optional credential sets.

:func:`consent_view` turns a verified request and the wallet's proposal into plain JSON for the
page: who is asking (client id, certificate subject and issuer - only a chain that validated
to a trusted verifier anchor gets this far), every ``transaction_data`` entry as a readable
action (:func:`~wallet_sim.wallet.describe_action`), and per presented credential the claim
paths the verifier asked for and the disclosures that would reveal them.

DCQL ``credential_sets`` entries with ``required: false`` are optional (OpenID4VP 1.0 §6.2): a
credential presented only for such a set is marked ``optional`` and may be left out
(:func:`without_optional` drops those sets from the query the wallet answers); one bound by
``transaction_data`` never is, since the action's hash must be signed.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

from verifier.protocol import DCQLQuery
from verifier.protocol.oid4vp.wallet_request import RequestObject

from .wallet import Proposal, WalletError, describe_action

__all__ = ["consent_view", "optional_query_ids", "without_optional"]

MAX_VALUE_CHARS = 160


def _path_text(path: tuple[Any, ...]) -> str:
    return " › ".join("*" if p is None else str(p) for p in path)


def _value_text(value: Any) -> str:
    """A disclosure's value in one short line (``k=v`` pairs for objects)."""
    if isinstance(value, dict):
        shown = {k: v for k, v in value.items() if k not in ("_sd", "...")}
        if all(not isinstance(v, dict | list) for v in shown.values()):
            text = ", ".join(f"{k}={v}" for k, v in shown.items())
        else:
            text = json.dumps(shown, ensure_ascii=False)
    else:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def optional_query_ids(query: DCQLQuery, chosen: Collection[str]) -> set[str]:
    """Presented query ids that only an optional (``required: false``) set asks for."""
    required: set[str] = set()
    optional: set[str] = set()
    for cset in query.credential_sets or ():
        option = next((o for o in cset.options if all(i in chosen for i in o)), None)
        if option is not None:
            (required if cset.required else optional).update(option)
    return optional - required


def optional_in(proposal: Proposal) -> set[str]:
    """The proposal's optional query ids, minus those ``transaction_data`` binds."""
    bound = {i for td in proposal.transaction_data for i in td.credential_ids}
    chosen = proposal.presentation.matches
    query = proposal.request.dcql_query
    return optional_query_ids(query, chosen) - bound if query is not None else set()


def without_optional(request: RequestObject, drop: Collection[str]) -> RequestObject:
    """``request`` minus the optional credential sets naming a query in ``drop``.

    Raises ``ValueError`` when nothing would be left to present.
    """
    query = request.dcql_query
    if not drop or query is None or query.credential_sets is None:
        return request
    kept = tuple(
        cset
        for cset in query.credential_sets
        if cset.required or not any(i in drop for option in cset.options for i in option)
    )
    if not kept:
        raise ValueError("nothing left to share; decline instead")
    narrowed = query.model_copy(update={"credential_sets": kept})
    return dataclasses.replace(request, dcql_query=narrowed)


def _verifier(request: RequestObject) -> dict[str, Any]:
    cert = request.verifier_certificate
    return {
        "client_id": request.client_id,
        "prefix": request.prefix,
        "subject": request.verifier_subject,
        "issuer": cert.issuer.rfc4514_string() if cert is not None else None,
        "trusted": cert is not None,  # resolve() returns only after the chain validated
        "response_host": urlsplit(request.response_uri).netloc,
        "response_mode": request.response_mode,
    }


def _queries(proposal: Proposal) -> list[dict[str, Any]]:
    optional = optional_in(proposal)
    shown = []
    for query_id, matches in proposal.presentation.matches.items():
        for match in matches:
            stored = proposal.credentials.get(match.credential.id)
            shown.append(
                {
                    "query_id": query_id,
                    "kind": stored.kind if stored else None,
                    "vct": match.credential.vct,
                    "issuer": match.credential.payload.get("iss"),
                    "requested": [_path_text(c.path) for c in match.claims],
                    "disclosed": [
                        {"name": d.name or "list item", "value": _value_text(d.value)}
                        for d in match.disclosures
                    ],
                    "optional": query_id in optional,
                }
            )
    return shown


def consent_view(
    request: RequestObject, proposal: Proposal | None, problem: WalletError | None
) -> dict[str, Any]:
    """The consent screen's data (``problem``: why the wallet cannot comply, if so)."""
    actions: list[Mapping[str, Any]] = []
    if proposal is not None:
        actions = [
            {"text": describe_action(td), "type": td.type, "payload": td.data.get("payload")}
            for td in proposal.transaction_data
        ]
    return {
        "verifier": _verifier(request),
        "wants_id_token": request.wants_id_token,
        "can_comply": proposal is not None,
        "problem": str(problem) if problem is not None else None,
        "queries": _queries(proposal) if proposal is not None else [],
        "actions": actions,
    }
