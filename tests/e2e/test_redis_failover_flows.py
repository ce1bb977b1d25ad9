"""Full flows through two `agentvp serve` processes while a Redis master is killed: on the Redis
Cluster (the master serving the webhook queue) and with Sentinel (the one master).

Three wallet threads run cross-device flows (create on one instance, request object and
``direct_post.jwt`` response alternating between both, result polled) with a webhook to an
in-test receiver. After a few flows the master is SIGKILLed; its replica is promoted, and the
flows must go on: every flow verified (no 5xx seen by anyone),
every replayed response refused as already answered, every transaction readable afterwards,
each one counted once in the metrics, and each webhook (transaction, version) delivered once.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.concurrency.burst import counter
from tests.conftest import free_port
from tests.e2e.harness import RP, Verifier, make_data_dir, make_wallet, start_verifier
from tests.ops.receiver import Receiver
from tests.redis_ha import RedisCluster, SentinelSetup
from verifier.protocol.oid4vp.response import encrypted_form
from wallet_sim.client import WalletHTTP
from wallet_sim.store import Wallet
from wallet_sim.wallet import WalletSimulator

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

SECRET = "failover-webhook-secret"
THREADS = 3
BEFORE_KILL = 6  # flows completed before the master dies
AFTER_PROMOTION = 9  # flows completed after the replica took over


@dataclass
class Pair:
    verifiers: list[Verifier]
    rps: list[RP]
    wallet: Wallet
    receiver: Receiver
    prefix: str
    redis: RedisCluster | SentinelSetup


@pytest.fixture(scope="module", params=["cluster", "sentinel"])
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    redis: RedisCluster | SentinelSetup = request.getfixturevalue(f"redis_{request.param}")
    root = tmp_path_factory.mktemp(f"failover-flows-{request.param}")
    ports = [free_port(), free_port()]
    key = make_data_dir(root / "verifier", f"http://localhost:{ports[0]}")
    prefix = f"ff{int(time.time() * 1000) % 10**8}:"
    env = {
        "store_url": f"{redis.url}&prefix={prefix}",
        "webhook_secret": SECRET,
        "outbound_allow_hosts": "localhost,127.0.0.1",
        "wallet_rate_limit": "0",
    }
    receiver = Receiver(SECRET.encode())
    verifiers: list[Verifier] = []
    try:
        for port in ports:
            verifiers.append(start_verifier(root / "verifier", port=port, **env))
        rps = [RP(v.url, key) for v in verifiers]
        wallet = make_wallet(root / "wallet", root / "verifier")
        yield Pair(verifiers, rps, wallet, receiver, prefix, redis)
        for rp in rps:
            rp.close()
    finally:
        for verifier in verifiers:
            verifier.stop()
        receiver.stop()


@dataclass
class Flows:
    done: list[tuple[str, str]] = field(default_factory=list)  # (transaction id, final status)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def count(self) -> int:
        with self.lock:
            return len(self.done)


def run_flows(pair: Pair, thread: int, flows: Flows) -> None:
    simulator = WalletSimulator(pair.wallet, http=WalletHTTP(timeout=60))
    a, b = pair.verifiers
    step = 0
    try:
        while not flows.stop.is_set():
            step += 1
            rp = pair.rps[(thread + step) % 2]
            other = b if rp is pair.rps[0] else a
            created = rp.http.post(
                "/v1/presentations",
                json={"profile": "identity", "callback_url": pair.receiver.url},
                timeout=60,
            )
            if created.status_code != 201:
                raise AssertionError(f"create answered {created.status_code}: {created.text}")
            view = created.json()
            mine = a if rp is pair.rps[0] else b
            uri = view["authorization_request_uri"].replace(str(mine.port), str(other.port))
            request = simulator.resolve(uri)  # the request object from the other instance
            proposal = simulator.propose(request)
            params = {"vp_token": proposal.presentation.vp_token, "state": request.state}
            form = encrypted_form(params, request.client_metadata)
            answered = simulator.http._client.post(request.response_uri, data=form)
            if answered.status_code != 200:
                raise AssertionError(f"response answered {answered.status_code}: {answered.text}")
            final = rp.wait(view["id"], timeout=60)
            replay = simulator.http._client.post(request.response_uri, data=form)
            if replay.status_code != 400 or "already answered" not in replay.text:
                raise AssertionError(f"replay answered {replay.status_code}: {replay.text}")
            with flows.lock:
                flows.done.append((view["id"], final["status"]))
    except (AssertionError, httpx.HTTPError, ValueError) as exc:
        with flows.lock:
            flows.failures.append(f"thread {thread}: {exc!r}"[:600])
    finally:
        simulator.http.close()


def wait_until(what: str, check: object, timeout: float, flows: Flows) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert not flows.failures, flows.failures
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_flows_go_on_through_a_master_failover_and_nothing_happens_twice(pair: Pair) -> None:
    bases = [v.url for v in pair.verifiers]
    finished_before = counter(bases, "agentvp_presentations_finished", status="verified")
    redis = pair.redis
    if isinstance(redis, RedisCluster):
        victim = redis.master_of(f"{pair.prefix}q:{{webhooks}}")
        promoted: Callable[[], bool] = redis.promoted
    else:
        victim = redis.master()
        survivor = next(port for port in redis.data_ports if port != victim)
        promoted = lambda: redis.promoted(survivor)  # noqa: E731
    flows = Flows()
    threads = [
        threading.Thread(target=run_flows, args=(pair, n, flows), daemon=True)
        for n in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    try:
        wait_until("flows before the kill", lambda: flows.count() >= BEFORE_KILL, 180, flows)
        redis.kill(victim)
        wait_until("the replica's promotion", promoted, 90, flows)
        after = flows.count()
        wait_until(
            "flows after the promotion",
            lambda: flows.count() >= after + AFTER_PROMOTION,
            180,
            flows,
        )
    finally:
        flows.stop.set()
        for thread in threads:
            thread.join(timeout=120)
        # The killed master back, as a replica, for the tests after this one.
        if isinstance(redis, RedisCluster) and victim not in redis.procs:
            redis.start_node(victim)
        elif isinstance(redis, SentinelSetup):
            redis.restore()
    assert not flows.failures, flows.failures
    ids = [tx_id for tx_id, _ in flows.done]
    assert len(set(ids)) == len(ids) and {status for _, status in flows.done} == {"verified"}

    # Nothing lost: every transaction is still there, final, on both instances.
    for tx_id in ids:
        for rp in pair.rps:
            assert rp.get(tx_id).json()["status"] == "verified"
    # Counted once: the verified counter grew by exactly the number of flows.
    finished = counter(bases, "agentvp_presentations_finished", status="verified")
    assert finished - finished_before == len(ids)
    # Webhooks: each (transaction, version) delivered once, up to the final state of each. Wait
    # for all three of every transaction (not only the last: an earlier one may come later).
    expected = [("pending", 0), ("request_retrieved", 1), ("verified", 2)]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        seen = Counter(
            (body["id"], body["status"], body["version"])
            for body in (json.loads(r["body"]) for r in pair.receiver.delivered())
        )
        if all((tx_id, *step) in seen for tx_id in ids for step in expected):
            break
        time.sleep(0.2)
    time.sleep(1.0)  # and a moment more for any duplicate
    seen = Counter(
        (body["id"], body["status"], body["version"])
        for body in (json.loads(r["body"]) for r in pair.receiver.delivered())
    )
    assert all(r["valid"] for r in pair.receiver.delivered())
    for tx_id in ids:
        mine = sorted(
            (status, version, n) for (i, status, version), n in seen.items() if i == tx_id
        )
        assert mine == [("pending", 0, 1), ("request_retrieved", 1, 1), ("verified", 2, 1)], mine
    if isinstance(redis, RedisCluster):
        redis.wait_healthy(timeout=90)
    print(f"failover under flows ({type(redis).__name__}): {len(ids)} flows, {after} before")


def test_the_verifiers_still_answer_ready(pair: Pair) -> None:
    for verifier in pair.verifiers:
        assert httpx.get(f"{verifier.url}/readyz", timeout=10).status_code == 200
