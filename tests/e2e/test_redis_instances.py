"""Two verifier processes on one real redis-server, and on a real Redis Cluster (three masters,
one replica each): nothing lives in one process's memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.e2e.harness import RP, Verifier, make_data_dir, make_wallet, start_verifier
from verifier.protocol.oid4vp.response import encrypted_form
from wallet_sim.client import WalletHTTP
from wallet_sim.wallet import WalletSimulator

pytestmark = [pytest.mark.e2e, pytest.mark.redis]


@pytest.fixture(scope="module", params=["redis", "cluster"])
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Verifier, Verifier, str, Path]]:
    root = tmp_path_factory.mktemp(f"{request.param}-pair")
    port_a, port_b = free_port(), free_port()
    key = make_data_dir(root / "verifier", f"http://localhost:{port_a}")
    if request.param == "redis":
        store = request.getfixturevalue("redis_url").rsplit("/", 1)[0] + "/3"
    else:
        store = request.getfixturevalue("redis_cluster_url") + "&prefix=pair:"
    a = start_verifier(root / "verifier", port=port_a, store_url=store)
    b = start_verifier(root / "verifier", port=port_b, store_url=store)
    yield a, b, key, root
    a.stop()
    b.stop()


def test_created_on_a_fetched_from_b_answered_on_a_read_on_b(
    pair: tuple[Verifier, Verifier, str, Path],
) -> None:
    a, b, key, root = pair
    rp_a, rp_b = RP(a.url, key), RP(b.url, key)
    wallet = make_wallet(root / "wallet", root / "verifier")
    simulator = WalletSimulator(wallet, http=WalletHTTP())
    try:
        view = rp_a.create(profile="identity")
        uri_via_b = view["authorization_request_uri"].replace(str(a.port), str(b.port))
        request = simulator.resolve(uri_via_b)  # the request object comes from B
        assert str(b.port) in request.response_uri
        assert rp_a.get(view["id"]).json()["status"] == "request_retrieved"  # A sees B's step
        proposal = simulator.propose(request)
        params = {"vp_token": proposal.presentation.vp_token, "state": request.state}
        on_a = request.response_uri.replace(str(b.port), str(a.port))
        assert (
            simulator.http.post_response(on_a, encrypted_form(params, request.client_metadata))
            == {}
        )
        final = rp_b.wait(view["id"])  # and B reads what A decided
        assert final["status"] == "verified", final
        assert (
            final["result"]["credentials"]["identity"][0]["claims"]["verified_claims"]["claims"][
                "given_name"
            ]
            == "Erika"
        )
        # The same response replayed on B: the transaction is final everywhere.
        replay = simulator.http._client.post(
            request.response_uri, data=encrypted_form(params, request.client_metadata)
        )
        assert (
            replay.status_code == 400 and "already answered" in replay.json()["error_description"]
        )
    finally:
        simulator.http.close()
        rp_a.close()
        rp_b.close()
