"""The AuthZEN PDP over HTTP: allow, deny with one reason per rule, step-up obligation, check
versus execute, batches (order, defaults, semantics), PEP authentication and request errors."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.authzen.conftest import PEP, tool_request
from tests.mcp.conftest import World, claims_of
from wallet_sim.issuer import MandateGrant

pytestmark = pytest.mark.e2e


def order(n: int, amount: int = 1000) -> dict[str, Any]:
    return {"order_id": f"ord-{n}", "amount": amount, "currency": "EUR"}


def reasons(answer: dict[str, Any]) -> list[str]:
    return [r["id"] for r in answer["context"]["reasons"]]


def test_metadata_names_the_endpoints(world: World) -> None:
    meta = httpx.get(f"{world.verifier.url}/.well-known/authzen-configuration", timeout=10).json()
    assert meta == {
        "policy_decision_point": world.verifier.url,
        "access_evaluation_endpoint": f"{world.verifier.url}/access/v1/evaluation",
        "access_evaluations_endpoint": f"{world.verifier.url}/access/v1/evaluations",
    }


def test_a_token_for_the_tool_is_allowed_and_executes_once(world: World, pep: PEP) -> None:
    agent = world.agent("allow")
    shop = world.shops["shop1"]
    token, _ = agent.token(shop, "checkout", order(1))
    claims = claims_of(token)
    check = pep.evaluate(tool_request(token, shop.resource, transaction_id="ord-1"))
    assert check.status_code == 200, check.text
    assert check.json()["decision"] is True
    assert check.json()["context"]["verification_id"] == claims["verification_id"]
    assert check.json()["context"]["executed"] is False
    request = tool_request(token, shop.resource, transaction_id="ord-1", execute=True)
    assert pep.evaluate(request).json()["decision"] is True
    again = pep.evaluate(request).json()
    assert again["decision"] is False and reasons(again) == ["already_executed"]


def test_denials_carry_one_reason_per_failed_rule(world: World, pep: PEP) -> None:
    agent = world.agent("deny")
    shop = world.shops["shop1"]
    token, _ = agent.token(shop, "checkout", order(1))
    other_server = pep.evaluate(tool_request(token, "http://127.0.0.1:1/mcp")).json()
    assert other_server["decision"] is False and reasons(other_server) == ["audience_mismatch"]
    too_much = pep.evaluate(
        tool_request(token, shop.resource, transaction_id="ord-9", amount=60_000, currency="EUR")
    ).json()
    assert too_much["decision"] is False
    assert "amount_exceeds_mandate" in reasons(too_much)
    assert all(set(r) == {"id", "reason_admin"} for r in too_much["context"]["reasons"])
    not_granted = pep.evaluate(
        {**tool_request(token, shop.resource), "action": {"name": "payment.refund"}}
    ).json()
    assert not_granted["decision"] is False and "action_not_granted" in reasons(not_granted)
    changed = pep.evaluate(
        tool_request(token, shop.resource, transaction_id="ord-1", amount=999, currency="EUR")
    ).json()
    assert reasons(changed) == ["action_differs_from_grant"]
    unknown = pep.evaluate(tool_request("not-a-token", shop.resource)).json()
    assert unknown["decision"] is False and reasons(unknown) == ["token_inactive"]


def test_an_amount_over_the_step_up_threshold_asks_for_the_person(world: World, pep: PEP) -> None:
    agent = world.agent("stepup")
    shop = world.shops["shop1"]
    token, _ = agent.token(shop, "checkout", order(1))
    big = tool_request(token, shop.resource, transaction_id="ord-2", amount=30_000, currency="EUR")
    answer = pep.evaluate(big).json()
    assert answer["decision"] is False and reasons(answer) == ["step_up_required"]
    step_up = answer["context"]["step_up"]
    assert step_up["reason"] == "identity_required"
    assert step_up["url"].startswith("openid4vp://") and "request_uri=" in step_up["url"]
    assert step_up["expires_at"] > 0
    assert pep.evaluate(big).json()["context"]["step_up"] == step_up  # one request, reused


def test_execute_consumes_counters_exactly_once_under_concurrency(world: World, pep: PEP) -> None:
    agent = world.agent("race", MandateGrant(max_amount=50_000, budget=None, max_uses=4))
    shop = world.shops["shop1"]
    token, _ = agent.token(shop, "checkout", order(1))  # uses one of the four

    async def burst() -> list[bool]:
        headers = dict(pep.http.headers)
        async with httpx.AsyncClient(base_url=str(pep.http.base_url), headers=headers) as client:

            async def one(n: int) -> bool:
                body = tool_request(
                    token,
                    shop.resource,
                    transaction_id=f"t-{n}",
                    execute=True,
                    amount=100,
                    currency="EUR",
                )
                response = await client.post("/access/v1/evaluation", json=body, timeout=60)
                assert response.status_code == 200, response.text
                return bool(response.json()["decision"])

            return await asyncio.gather(*(one(n) for n in range(100)))

    assert sum(asyncio.run(burst())) == 3
    check = pep.evaluate(
        tool_request(token, shop.resource, transaction_id="t-x", amount=100, currency="EUR")
    ).json()
    assert reasons(check) == ["uses_exhausted"]


def test_batches_answer_in_order_with_defaults_and_semantics(world: World, pep: PEP) -> None:
    agent = world.agent("batch")
    shop = world.shops["shop1"]
    token, _ = agent.token(shop, "checkout", order(1))
    base = tool_request(token, shop.resource)
    del base["context"]
    entries = [
        {"context": {"transaction_id": "ord-1"}},
        {"context": {"transaction_id": "x", "amount": 99_999, "currency": "EUR"}},
        {"action": {"name": "payment.refund"}},
        {"context": {"transaction_id": "ord-1"}},
    ]
    all_ = pep.evaluations({**base, "evaluations": entries}).json()["evaluations"]
    assert [a["decision"] for a in all_] == [True, False, False, True]
    assert "amount_exceeds_mandate" in reasons(all_[1])
    assert "action_not_granted" in reasons(all_[2])
    deny_first = {
        **base,
        "evaluations": entries,
        "options": {"evaluations_semantic": "deny_on_first_deny"},
    }
    assert [a["decision"] for a in pep.evaluations(deny_first).json()["evaluations"]] == [
        True,
        False,
    ]
    permit_first = {
        **base,
        "evaluations": entries[1:],
        "options": {"evaluations_semantic": "permit_on_first_permit"},
    }
    assert [a["decision"] for a in pep.evaluations(permit_first).json()["evaluations"]] == [
        False,
        False,
        True,
    ]
    single = pep.evaluations({**base, "context": {"transaction_id": "ord-1"}}).json()
    assert single == {"decision": True, "context": single["context"]}
    bad = pep.evaluations(
        {**base, "evaluations": entries, "options": {"evaluations_semantic": "x"}}
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_request"


def test_requests_that_cannot_be_evaluated_are_400(world: World, pep: PEP) -> None:
    body = tool_request("t", "http://x")
    for missing in ("subject", "action", "resource"):
        broken = {k: v for k, v in body.items() if k != missing}
        answer = pep.evaluate(broken, **{"X-Request-ID": "req-1"})
        assert answer.status_code == 400, answer.text
        assert (
            answer.json()["error"] == "invalid_request"
            and missing in answer.json()["error_description"]
        )
        assert answer.headers["x-request-id"] == "req-1"
    typed = pep.evaluate({**body, "subject": {"type": "token", "id": 7}})
    assert typed.status_code == 400
    nameless = pep.evaluations({"evaluations": [{"subject": body["subject"]}]})
    assert nameless.status_code == 400 and "evaluations[0]" in nameless.json()["error_description"]


def test_the_pep_must_present_an_api_key(world: World, pep: PEP) -> None:
    url = f"{world.verifier.url}/access/v1/evaluation"
    body = tool_request("t", "http://x")
    none = httpx.post(url, json=body, headers={"X-Request-ID": "abc"}, timeout=10)
    assert none.status_code == 401 and none.headers["x-request-id"] == "abc"
    wrong = httpx.post(url, json=body, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401
    ok = pep.evaluate(body, **{"X-Request-ID": "abc"})
    assert ok.status_code == 200 and ok.headers["x-request-id"] == "abc"


def test_a_verification_or_a_mandate_with_its_holder_key_is_a_subject(
    world: World, pep: PEP
) -> None:
    agent = world.agent("subjects")
    shop = world.shops["shop1"]
    token, _ = agent.token(shop, "checkout", order(1))
    claims = claims_of(token)
    rest = {
        "action": {"name": "commerce.checkout"},
        "resource": {
            "type": "payee",
            "id": "merchant-4711",
            "properties": {"domain": "shop-a.example", "name": "Shop A"},
        },
        "context": {"transaction_id": "ord-1"},
    }
    by_av = {"subject": {"type": "agent_verification", "id": claims["verification_id"]}, **rest}
    allowed = pep.evaluate(by_av).json()
    assert allowed["decision"] is True, allowed
    mandate_iss = world.wallet.issuer_data("mandates")["iss"]
    subject = {
        "type": "mandate",
        "id": claims["mandate_jti"],
        "properties": {"iss": mandate_iss, "jkt": agent.key.thumbprint},
    }
    by_mandate = pep.evaluate({"subject": subject, **rest}).json()
    assert by_mandate["decision"] is True, by_mandate
    assert by_mandate["context"]["verification_id"] == claims["verification_id"]
    other_key = {**subject, "properties": {"iss": mandate_iss, "jkt": "A" * 43}}
    denied = pep.evaluate({"subject": other_key, **rest}).json()
    assert denied["decision"] is False and reasons(denied) == ["mandate_not_granted"]
    incomplete = pep.evaluate({"subject": {"type": "mandate", "id": "x"}, **rest}).json()
    assert reasons(incomplete) == ["mandate_subject_incomplete"]
    unknown_av = pep.evaluate(
        {**by_av, "subject": {"type": "agent_verification", "id": "x"}}
    ).json()
    assert reasons(unknown_av) == ["grant_unknown"]
    other_payee = {
        **rest,
        "resource": {"type": "payee", "id": "evil", "properties": {"domain": "evil.example"}},
    }
    payee = pep.evaluate({**by_av, **other_payee}).json()
    assert payee["decision"] is False and "payee_not_allowed" in reasons(payee)
    user = pep.evaluate({**by_av, "subject": {"type": "user", "id": "alice"}}).json()
    assert reasons(user) == ["subject_type_unsupported"]
