"""Completing a PDP step-up over real HTTP: the agent's grant is for a small order (no person
needed, so nothing about the person is asked of the agent beyond the link), the PEP then asks
about a large amount, the person's wallet answers the ``context.step_up`` request and the same
evaluation is allowed - and executed exactly once. Another person's identity credential (a
different holder key than the mandate's principal) never satisfies it. The identity answered is
watched: revoked by its issuer, it denies the decisions that needed the person and is signalled
once, while the grant's own action and token are untouched."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.authzen.conftest import PEP, WATCH, tool_request
from tests.authzen.receivers import PushReceiver
from tests.authzen.test_ssf import CAEP, PUSH, wait_for
from tests.mcp.conftest import World
from wallet_sim.issuing import set_credential_status
from wallet_sim.wallet import WalletSimulator

pytestmark = pytest.mark.e2e

SMALL = {"order_id": "ord-small", "amount": 1000, "currency": "EUR"}  # under 250 EUR


def reasons(answer: dict[str, Any]) -> list[str]:
    return [r["id"] for r in answer["context"]["reasons"]]


def answer_step_up(world: World, link: str, holder: str) -> None:
    """The wallet of ``holder`` presents its identity credential for the step-up request."""
    person = WalletSimulator(world.wallet, holders=[holder])
    try:
        person.submit(person.propose(person.resolve(link)))
    finally:
        person.http.close()


def big(token: str, server: str, transaction: str, **context: Any) -> dict[str, Any]:
    return tool_request(
        token, server, transaction_id=transaction, amount=30_000, currency="EUR", **context
    )


def test_the_person_answers_a_pdp_step_up_and_the_action_is_allowed(world: World, pep: PEP) -> None:
    agent = world.agent("pdp-step-up")
    shop = world.shops["shop1"]
    token, _ = agent.token(shop, "checkout", SMALL)  # no person needed: no step-up
    check = big(token, shop.resource, "ord-big")
    asked = pep.evaluate(check).json()
    assert asked["decision"] is False and reasons(asked) == ["step_up_required"]
    answer_step_up(world, asked["context"]["step_up"]["url"], agent.human)

    allowed = pep.evaluate(check).json()
    assert allowed["decision"] is True, allowed
    assert allowed["context"]["executed"] is False
    executed = pep.evaluate(big(token, shop.resource, "ord-big", execute=True)).json()
    assert executed["decision"] is True, executed
    assert executed["context"]["counters"]["uses"] == 2  # the grant's own order, then this one
    assert executed["context"]["counters"]["spent"] == SMALL["amount"] + 30_000
    again = pep.evaluate(check).json()
    assert again["decision"] is True  # a check consumes nothing
    other = pep.evaluate(big(token, shop.resource, "ord-other")).json()
    assert reasons(other) == ["step_up_required"]  # the person answered for that action only
    assert other["context"]["step_up"]["url"] != asked["context"]["step_up"]["url"]


def test_another_persons_identity_does_not_satisfy_a_pdp_step_up(world: World, pep: PEP) -> None:
    agent = world.agent("pdp-step-up-owner")
    stranger = world.agent("pdp-step-up-stranger")  # another person, own identity credential
    shop = world.shops["shop1"]
    token, _ = agent.token(shop, "checkout", SMALL)
    request = big(token, shop.resource, "ord-big", execute=True)
    asked = pep.evaluate(request).json()
    assert reasons(asked) == ["step_up_required"]
    answer_step_up(world, asked["context"]["step_up"]["url"], stranger.human)

    denied = pep.evaluate(request).json()
    assert denied["decision"] is False
    assert reasons(denied) == ["principal_mismatch"]
    check = pep.evaluate(tool_request(token, shop.resource, transaction_id="ord-x")).json()
    assert check["decision"] is True  # nothing was consumed by the denied execute
    assert "counters" not in check["context"]


def test_a_revoked_step_up_identity_denies_later_decisions(world: World, pep: PEP) -> None:
    """The identity answered at the step-up is watched: its revocation denies the decisions that
    needed the person (``identity_revoked``) and is signalled once (credential-change and
    assurance-level-change naming it); the grant itself never rested on it - its own action and
    token stay good and no session-revoked names it."""
    shop = world.shops["shop1"]
    push = PushReceiver(world.verifier.url, shop.resource)
    stream = {"delivery": {"method": PUSH, "endpoint_url": push.url}, "aud": shop.resource}
    push_id = pep.http.post("/ssf/stream", json=stream).json()["stream_id"]
    try:
        agent = world.agent("pdp-step-up-revoked")
        token, _ = agent.token(shop, "checkout", SMALL)
        check = big(token, shop.resource, "ord-big")
        asked = pep.evaluate(check).json()
        answer_step_up(world, asked["context"]["step_up"]["url"], agent.human)
        assert pep.evaluate(check).json()["decision"] is True
        identity = world.wallet.credentials(kind="identity", holder=agent.human)[-1]
        uri, idx = set_credential_status(world.wallet, identity.id, "revoked")

        def denied(request: dict[str, Any]) -> bool:
            answer = pep.evaluate(request).json()
            return answer["decision"] is False and reasons(answer) == ["identity_revoked"]

        wait_for(lambda: denied(check))  # checks only: nothing is consumed while waiting
        assert denied(big(token, shop.resource, "ord-big", execute=True))
        own = pep.evaluate(tool_request(token, shop.resource, transaction_id=SMALL["order_id"]))
        assert own.json()["decision"] is True, own.text  # the grant never rested on the person
        assert world.introspect(token)["active"] is True

        wait_for(lambda: len(push.received) >= 2)
        time.sleep(2 * WATCH + 1)  # several watch rounds later: nothing more
        assert push.refused == []
        kinds = sorted(next(iter(c["events"])).removeprefix(CAEP) for c in push.received)
        assert kinds == ["assurance-level-change", "credential-change"], push.events()
        named = {"format": "opaque", "id": f"{uri}#{idx}"}
        assert all(c["sub_id"] == named for c in push.received)
    finally:
        push.stop()
        pep.http.delete("/ssf/stream", params={"stream_id": push_id})
