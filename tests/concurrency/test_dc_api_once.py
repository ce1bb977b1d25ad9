"""A Digital Credentials API answer handed in 100 times at once (alternating between two
processes on Redis) is processed once: one ``200`` with the verified view, 99 ``400
invalid_request`` "this request was already answered"; one transition, one metric, one webhook
per status."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.concurrency.burst import burst, counter, spread
from tests.concurrency.conftest import SCENARIOS, Cluster, N
from tests.concurrency.test_exactly_once import ANSWERED, assert_overlapped
from wallet_sim.dc_api import answer_dc_api

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("mode", ["dc_api", "dc_api.jwt"])
def test_one_dc_api_answer_posted_100_times_at_once_is_processed_once(
    cluster: Cluster, mode: str
) -> None:
    world, name = cluster.world, f"once-{mode.replace('.', '-')}"
    world.prepare(name, SCENARIOS["plain"])
    origin = cluster.bases[0]  # the verifier's own origin: the default allow-list
    view = world.rp.create(
        profile="identity", flow="dc_api", response_mode=mode, callback_url=cluster.receiver.url
    )
    credential = answer_dc_api(
        world.wallet, view["dc_api_request"], origin, holders=[f"human-{name}"]
    )
    body = json.dumps({**credential, "origin": origin}).encode()
    headers = {
        "Authorization": world.rp.http.headers["Authorization"],
        "Content-Type": "application/json",
    }
    finished = counter(cluster.bases, "agentvp_presentations_finished", status="verified")
    path = f"/v1/presentations/{view['id']}/dc-response"

    race = burst(spread(N, cluster.everywhere(path), content=body, headers=headers))

    outcomes = race.outcomes()
    assert outcomes[ANSWERED] == N - 1 and sum(outcomes.values()) == N, outcomes
    assert_overlapped(race)
    (won,) = [r for r in race.responses if r.status_code == 200]
    assert won.json()["status"] == "verified"
    # The view names the URIs of the instance that serves it: read it back where it was won.
    winner = won.request.url
    again = httpx.get(
        f"{winner.scheme}://{winner.netloc.decode()}/v1/presentations/{view['id']}",
        headers={"Authorization": headers["Authorization"]},
        timeout=30,
    )
    assert again.json() == won.json()
    assert counter(cluster.bases, "agentvp_presentations_finished", status="verified") == (
        finished + 1
    )
    assert deliveries(cluster, view["id"]) == [("pending", 0), ("verified", 1)]


def deliveries(cluster: Cluster, tx_id: str) -> list[tuple[str, int]]:
    """(status, version) of every webhook for ``tx_id`` once the final one (version 1: a DC API
    transaction has no request fetch) has arrived, and a moment more for any duplicate."""

    def seen() -> list[tuple[str, int]]:
        bodies = [json.loads(r["body"]) for r in cluster.receiver.delivered()]
        return [(b["status"], b["version"]) for b in bodies if b["id"] == tx_id]

    deadline = time.monotonic() + 20
    while ("verified", 1) not in seen() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    return sorted(seen(), key=lambda delivery: delivery[1])
