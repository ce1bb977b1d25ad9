"""The link a PDP step-up rests on: an agent verification under a policy with identity rules
always asks for the mandate's ``principal.jkt`` (a later decision may want the person even when
this action does not), and a grant whose mandate did not disclose it is denied at once with
``principal_link_missing`` instead of sending the person to a wallet for nothing."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

from verifier.authzen.pdp import PDP, Decision
from verifier.authzen.subjects import Grant
from verifier.policy.identity import identity_link_needed
from verifier.policy.queries import mandate_query
from verifier.policy.rules import AgentPolicy
from verifier.protocol.mandates.authority import AgentAction
from verifier.setup.data_dir import default_policies
from verifier.store import MemoryStore
from verifier.store.base import Transaction, TxStatus

NOW = int(time.time())
SMALL = {
    "action": "commerce.checkout",
    "transaction_id": "ord-1",
    "payment_amount": {"amount": 1000, "currency": "EUR"},
    "mandate_jti": "m-1",
}
BIG = {**SMALL, "transaction_id": "ord-2", "payment_amount": {"amount": 30_000, "currency": "EUR"}}


def _policy(**identity: Any) -> AgentPolicy:
    rules: dict[str, Any] = default_policies()["shop-checkout"]
    if identity.get("identity") is None and "identity" in identity:
        del rules["identity"]
    else:
        rules["identity"].update(identity)
    return AgentPolicy.model_validate(rules)


def test_the_link_is_asked_for_whenever_the_policy_may_want_the_person() -> None:
    assert identity_link_needed(_policy())
    assert identity_link_needed(_policy(required_when=[{"amount_minor_gt": 25_000}]))
    assert identity_link_needed(_policy(required_when=[{"always": True}]))
    assert not identity_link_needed(_policy(required_when=[]))
    assert not identity_link_needed(_policy(identity=None))
    small = AgentAction.model_validate(SMALL)
    amount_only = _policy(required_when=[{"amount_minor_gt": 25_000}])
    query = mandate_query(amount_only, small, want_jkt=identity_link_needed(amount_only))
    mandate = query["credentials"][0]
    assert {"id": "principal_jkt", "path": ["principal", "jkt"]} in mandate["claims"]
    assert all("principal_jkt" in claim_set for claim_set in mandate["claim_sets"])


def _pdp(store: MemoryStore) -> PDP:
    async def no_request(*_: Any, **__: Any) -> None:
        raise AssertionError("no wallet request may be created for a grant without the link")

    pdp = PDP.__new__(PDP)
    pdp.store = store
    pdp.presentations = SimpleNamespace(now=lambda: NOW, create=no_request)  # type: ignore[assignment]
    return pdp


def _grant(principal: dict[str, Any]) -> Grant:
    mandate = {"iss": "https://m.example", "exp": NOW + 3600, "claims": {"principal": principal}}
    av = Transaction(
        id="av-1",
        request_id="r",
        state="",
        nonce="",
        client_id="",
        status=TxStatus.VERIFIED,
        meta={"policy": "p", "action": SMALL},
    )
    return Grant(av, mandate, None)


@pytest.mark.anyio
@pytest.mark.parametrize("principal", [{"type": "natural_person"}, {"jkt": 7}])
async def test_a_grant_without_the_link_is_denied_before_any_step_up(
    principal: dict[str, Any],
) -> None:
    store = MemoryStore()
    try:
        answer = await _pdp(store)._identity(
            _grant(principal), _policy(), AgentAction.model_validate(BIG)
        )
        assert isinstance(answer, Decision) and answer.decision is False
        assert [r["id"] for r in answer.context["reasons"]] == ["principal_link_missing"]
        assert "step_up" not in answer.context
        not_needed = await _pdp(store)._identity(
            _grant(principal), _policy(), AgentAction.model_validate(SMALL)
        )
        assert not_needed is None  # a small amount never needs the person, nor the link
    finally:
        await store.close()
