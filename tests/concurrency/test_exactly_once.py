"""Exactly once under real concurrency (issue 6 item 4), on every store: 100 requests released at
the same instant over HTTP (alternating between two processes on Redis) against

- one valid wallet response (``direct_post`` and ``direct_post.jwt``): one ``200``, 99 ``400
  invalid_request`` "this request was already answered"; the transaction moves to ``verified``
  once (one version step), one webhook, one metric, one decision, one audit event;
- one same-device ``response_code``: the result is released once, 99 reads are refused;
- 100 different checkouts on one mandate: exactly its ``max_uses`` / budget is allowed, the
  store's counters end exactly at the limit and every use is counted once.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.concurrency.burst import Burst, Call, burst, counter, spread
from tests.concurrency.conftest import SCENARIOS, Cluster, N
from verifier.agents.audit import verify_chain
from verifier.agents.counters import mandate_key as counter_key
from verifier.protocol.jose import b64url_decode

pytestmark = pytest.mark.e2e
ANSWERED = (400, "invalid_request", "this request was already answered")
CODE_USED = (400, "invalid_request", "response_code is wrong or already used")
WON = (200, "", "")


def assert_overlapped(race: Burst) -> None:
    """The requests went out together on connections opened before, and were in flight
    together, not one after another."""
    assert race.cold == 0, f"{race.cold} requests found their warm connection closed"
    assert race.started_before_first_answer >= N // 2, race.started_before_first_answer


def status_events(cluster: Cluster, tx_id: str) -> list[dict[str, Any]]:
    """The SSE stream of a final transaction: its one ``status`` event (status and version)."""
    text = cluster.world.rp.http.get(f"/v1/presentations/{tx_id}/events").text
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def webhooks_for(cluster: Cluster, tx_id: str, final: str) -> list[tuple[str, int]]:
    """(status, version) of every delivery for ``tx_id``, once the final one has arrived (and a
    moment more, in which a duplicate would have followed it)."""

    def seen() -> list[tuple[str, int]]:
        bodies = [json.loads(r["body"]) for r in cluster.receiver.delivered()]
        return [(b["status"], b["version"]) for b in bodies if b["id"] == tx_id]

    deadline = time.monotonic() + 20
    while (final, 2) not in seen() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    return sorted(seen(), key=lambda delivery: delivery[1])


@pytest.mark.parametrize("mode", ["direct_post", "direct_post.jwt"])
def test_one_response_posted_100_times_at_once_is_processed_once(
    cluster: Cluster, mode: str
) -> None:
    world, name = cluster.world, f"once-{mode.replace('.', '-')}"
    world.prepare(name, SCENARIOS["plain"])
    view = world.rp.create(
        profile="identity", response_mode=mode, callback_url=cluster.receiver.url
    )
    response_uri, form = world.answer_form(f"human-{name}", view["authorization_request_uri"])
    finished = counter(cluster.bases, "agentvp_presentations_finished", status="verified")

    race = burst(spread(N, cluster.everywhere(urlsplit(response_uri).path), data=form))

    assert race.outcomes() == {WON: 1, ANSWERED: N - 1}
    assert_overlapped(race)
    assert next(r for r in race.responses if r.status_code == 200).json() == {}
    final = world.rp.get(view["id"]).json()
    assert final["status"] == "verified", final
    assert final["result"]["credentials"]["identity"][0]["claims"]["verified_claims"]
    assert status_events(cluster, view["id"]) == [{"status": "verified", "version": 2}]
    assert counter(cluster.bases, "agentvp_presentations_finished", status="verified") == (
        finished + 1
    )
    assert webhooks_for(cluster, view["id"], "verified") == [
        ("pending", 0),
        ("request_retrieved", 1),
        ("verified", 2),
    ]


def test_one_agent_answer_posted_100_times_at_once_decides_and_counts_once(
    cluster: Cluster,
) -> None:
    world, name = cluster.world, "once-agent"
    mandate = world.prepare(name, SCENARIOS["uses"])
    view, action = world.start_step("uses", mandate, {})
    uri = view["agent_request"]["authorization_request_uri"]
    response_uri, form = world.answer_form(f"agent-{name}", uri, credential=mandate)
    allowed = counter(cluster.bases, "agentvp_agent_decisions", decision="allow")

    race = burst(spread(N, cluster.everywhere(urlsplit(response_uri).path), data=form))

    assert race.outcomes() == {WON: 1, ANSWERED: N - 1}
    assert_overlapped(race)
    decided = world.rp.http.get(f"/v1/agent-verifications/{view['id']}").json()
    assert (decided["decision"], decided["reasons"]) == ("allow", [])
    assert counter(cluster.bases, "agentvp_agent_decisions", decision="allow") == allowed + 1
    events = world.rp.http.get(f"/v1/agent-verifications/{view['id']}/events").json()["events"]
    kinds = Counter(e["type"] if e["type"] != "rule" else f"rule:{e['rule']}" for e in events)
    assert kinds == {
        "created": 1,
        "request_retrieved": 1,
        "response_received": 1,
        "rule:mandate": 1,
        "rule:counters": 1,
        "decision": 1,
    }, events
    assert [e["status"] for e in events if e["type"] == "response_received"] == ["verified"]
    assert [e["uses"] for e in events if e.get("rule") == "counters"] == [1]
    receipt = json.loads(b64url_decode(decided["receipt"].split(".")[1]))
    assert verify_chain(events, head=receipt["audit_head"], length=receipt["audit_len"]) == []
    assert receipt["audit_len"] == len(events)
    amount = action.payment_amount.amount if action.payment_amount else 0
    if cluster.store != "memory":  # read from the store itself
        assert cluster.counters(_counter_key(decided)) == {"uses": 1, "spent": amount}


def test_a_response_code_redeemed_100_times_at_once_releases_the_result_once(
    cluster: Cluster,
) -> None:
    world, name = cluster.world, "once-code"
    world.prepare(name, SCENARIOS["plain"])
    view = world.rp.create(
        profile="identity", flow="same_device", redirect_uri="https://rp.example/done"
    )
    response_uri, form = world.answer_form(f"human-{name}", view["authorization_request_uri"])
    answered = httpx.post(response_uri, data=form, timeout=10)
    assert answered.status_code == 200, answered.text
    code = answered.json()["redirect_uri"].split("#response_code=")[1]
    headers = dict(world.rp.http.headers)
    urls = [
        f"{u}?response_code={code}" for u in cluster.everywhere(f"/v1/presentations/{view['id']}")
    ]

    race = burst(spread(N, urls, "GET", headers=headers))

    assert race.outcomes() == {WON: 1, CODE_USED: N - 1}
    assert_overlapped(race)
    released = next(r for r in race.responses if r.status_code == 200).json()
    assert released["status"] == "verified"
    assert released["result"]["credentials"]["identity"][0]["holder_jkt"]
    assert status_events(cluster, view["id"]) == [{"status": "verified", "version": 3}]
    again = world.rp.get(view["id"], response_code=code)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_request")


@pytest.mark.parametrize(
    ("kind", "allowed", "exhausted"),
    [("uses", 7, "uses_exhausted"), ("budget", 10, "budget_exhausted")],
)
def test_100_checkouts_at_once_spend_a_mandate_exactly_to_its_limit(
    cluster: Cluster, kind: str, allowed: int, exhausted: str
) -> None:
    world, name = cluster.world, f"spend-{kind}"
    mandate = world.prepare(name, SCENARIOS[kind])

    def checkout(i: int) -> tuple[str, Call]:
        rp = cluster.rps[i % len(cluster.rps)]
        step = {"action": {"transaction_id": f"ord-{i}", "payment_amount": {"amount": 1000}}}
        view, _ = world.start_step(kind, mandate, step, rp=rp)
        uri = view["agent_request"]["authorization_request_uri"]
        response_uri, form = world.answer_form(f"agent-{name}", uri, credential=mandate)
        return view["id"], Call("POST", response_uri, data=form)

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids, calls = zip(*pool.map(checkout, range(N)), strict=True)
    before = {
        decision: counter(cluster.bases, "agentvp_agent_decisions", decision=decision)
        for decision in ("allow", "deny")
    }

    race = burst(calls)

    assert race.outcomes() == {WON: N}  # every presentation is fine; the mandate is the limit
    assert_overlapped(race)
    views = [world.rp.http.get(f"/v1/agent-verifications/{i}").json() for i in ids]
    decisions = Counter((v["decision"], tuple(v["reasons"])) for v in views)
    assert decisions == {("allow", ()): allowed, ("deny", (exhausted,)): N - allowed}
    for decision, count in (("allow", allowed), ("deny", N - allowed)):
        assert counter(cluster.bases, "agentvp_agent_decisions", decision=decision) == (
            before[decision] + count
        )
    counted = []
    for view in views:
        events = world.rp.http.get(f"/v1/agent-verifications/{view['id']}/events").json()
        counted += [e for e in events["events"] if e.get("rule") == "counters"]
    passed = sorted(e["uses"] for e in counted if e["outcome"] == "pass")
    assert passed == list(range(1, allowed + 1))  # each use counted once, none twice
    assert sorted(e["spent"] for e in counted if e["outcome"] == "pass") == [
        1000 * k for k in range(1, allowed + 1)
    ]
    assert [e["codes"] for e in counted if e["outcome"] == "fail"] == [[exhausted]] * (N - allowed)
    if cluster.store != "memory":  # read from the store itself
        stored = cluster.counters(_counter_key(views[0]))
        assert stored == {"uses": allowed, "spent": 1000 * allowed}


def _counter_key(view: dict[str, Any]) -> str:
    """The store key of the mandate an agent verification used."""
    mandate = view["mandate"]
    return counter_key({"iss": mandate["iss"], "claims": {"jti": mandate["jti"]}})
