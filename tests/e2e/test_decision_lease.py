"""A decision whose instance dies is finished by another instance, and counted once.

Two `agentvp serve` processes share one real redis-server. Instance A decides with a test-only
pause (``AGENTVP_TEST_DECISION_PAUSE``) after it has consumed the mandate's use and before it
records the result; the test kills it there with SIGKILL. Instance B, read by the RP once A's
lease (``AGENTVP_DECISION_LEASE``) has run out, takes the decision over and records it: the
mandate's counters in Redis show one use, not two, and the next checkout counts from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest

from tests.conftest import free_port
from tests.e2e.harness import RP, Verifier
from tests.scenarios.runner import World
from verifier.agents.audit import verify_chain
from verifier.agents.counters import mandate_key
from verifier.protocol.jose import b64url_decode
from verifier.store import Transaction, open_store

pytestmark = [pytest.mark.e2e, pytest.mark.redis]
LEASE = 5
SCENARIOS = {"lease": {"grant": {"max_uses": 3, "budget": None}}}
T = TypeVar("T")


@dataclass
class Pair:
    world: World  # instance A (pauses mid-decision), issuers, wallet
    b: Verifier
    rp_b: RP
    store_url: str

    def read(self, fetch: Callable[[Any], Any]) -> Any:
        """Something read straight from Redis (no instance evaluates anything)."""

        async def run() -> Any:
            store = open_store(self.store_url)
            try:
                return await fetch(store)
            finally:
                await store.close()

        return asyncio.run(run())


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Pair]:
    store_url = redis_url.rsplit("/", 1)[0] + "/5"
    world = World.start(
        tmp_path_factory.mktemp("lease"),
        SCENARIOS,
        store_url=store_url,
        decision_lease=str(LEASE),
        test_decision_pause="600",
    )
    try:
        env = {**world.verifier.env, "AGENTVP_TEST_DECISION_PAUSE": "0"}
        b = Verifier(world.verifier.data_dir, free_port(), env).start()
    except BaseException:
        world.stop()
        raise
    api_key = world.rp.http.headers["Authorization"].split()[1]
    started = Pair(world, b, RP(b.url, api_key), store_url)
    yield started
    started.rp_b.close()
    b.stop()
    world.stop()


def eventually(what: str, probe: Callable[[], T | None], timeout: float = 60) -> T:
    """``probe()`` once it answers something (a generous bound: the machine may be busy)."""
    deadline = time.monotonic() + timeout
    while (found := probe()) is None:
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


def decided(rp: RP, av_id: str) -> dict[str, Any] | None:
    """The verification as ``rp`` reads it (which evaluates it), once it is decided."""
    seen: dict[str, Any] = rp.http.get(f"/v1/agent-verifications/{av_id}").json()
    return seen if seen["decision"] != "pending" else None


def test_a_decision_killed_mid_way_is_finished_by_another_instance_and_counted_once(
    pair: Pair,
) -> None:
    world = pair.world
    mandate = world.prepare("lease", SCENARIOS["lease"])
    view, action = world.start_step("lease", mandate, {})  # on A
    av_id = view["id"]
    response_uri, form = world.answer_form(
        "agent-lease", view["agent_request"]["authorization_request_uri"], credential=mandate
    )
    assert response_uri.startswith(world.verifier.url)

    def answer() -> None:  # A never answers: it pauses mid-decision, then dies
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(response_uri, data=form, timeout=600)

    posting = threading.Thread(target=answer, daemon=True)
    posting.start()

    def decided_on_a() -> list[dict[str, Any]] | None:
        events: list[dict[str, Any]] = pair.read(lambda s: s.read_events(f"audit:{av_id}"))
        return events if any(e["type"] == "decision" for e in events) else None

    before = eventually("A to reach its pause", decided_on_a)
    deciding: Transaction = pair.read(lambda s: s.get(av_id, kind="agent_verification"))
    assert deciding.status == "request_retrieved" and deciding.meta["lease"]["until"] > 0
    assert [e["uses"] for e in before if e.get("rule") == "counters"] == [1]

    os.kill(world.verifier.proc.pid, signal.SIGKILL)  # type: ignore[union-attr]
    world.verifier.proc.wait(timeout=30)  # type: ignore[union-attr]
    posting.join(timeout=30)
    died: Transaction = pair.read(lambda s: s.get(av_id, kind="agent_verification"))
    assert died.status == "request_retrieved" and died.result is None  # left mid-decision

    final = eventually("B to take over", lambda: decided(pair.rp_b, av_id), timeout=LEASE + 90)

    assert (final["decision"], final["reasons"]) == ("allow", []), final
    jti = final["mandate"]["jti"]
    key = mandate_key({"iss": final["mandate"]["iss"], "claims": {"jti": jti}})
    amount = action.payment_amount.amount if action.payment_amount else 0
    assert pair.read(lambda s: s.get_counters(key)) == {"uses": 1, "spent": amount}
    events = pair.rp_b.http.get(f"/v1/agent-verifications/{av_id}/events").json()["events"]
    kinds = Counter(e["type"] if e["type"] != "rule" else f"rule:{e['rule']}" for e in events)
    assert kinds["lease_taken_over"] == 1 and kinds["decision"] == 2, kinds
    assert [e["uses"] for e in events if e.get("rule") == "counters"] == [1, 1]  # not 1, 2
    receipt = json.loads(b64url_decode(final["receipt"].split(".")[1]))
    assert receipt["decision"] == "allow"
    assert verify_chain(events, head=receipt["audit_head"], length=receipt["audit_len"]) == []

    # the next checkout on the same mandate (on B) counts from there
    view, _ = world.start_step(
        "lease", mandate, {"action": {"transaction_id": "ord-2"}}, rp=pair.rp_b
    )
    response_uri, form = world.answer_form(
        "agent-lease", view["agent_request"]["authorization_request_uri"], credential=mandate
    )
    assert httpx.post(response_uri, data=form, timeout=60).status_code == 200
    second = eventually("the second decision", lambda: decided(pair.rp_b, view["id"]))
    assert second["decision"] == "allow", second
    assert pair.read(lambda s: s.get_counters(key)) == {"uses": 2, "spent": 2 * amount}
