"""Wallet-facing endpoints against bad input: a specific error, never a 500, state unchanged."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.e2e.harness import RP, make_data_dir, start_verifier
from tests.e2e.test_flows import Env
from verifier.protocol import SigningKey
from verifier.protocol.oid4vp.response import direct_post_form, encrypted_form
from verifier.protocol.oid4vp.wallet_request import RequestObject
from wallet_sim.wallet import Proposal, WalletSimulator

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    environment = Env(tmp_path_factory.mktemp("wallet-endpoints"))
    yield environment
    environment.close()


class Live:
    """A created transaction whose request the wallet has fetched, and a ready answer."""

    def __init__(self, env: Env, **create: Any) -> None:
        self.env = env
        self.view = env.rp.create(profile="identity", **create)
        self.simulator: WalletSimulator = env.simulator()
        self.request: RequestObject = self.simulator.resolve(self.view["authorization_request_uri"])
        self.proposal: Proposal = self.simulator.propose(self.request)
        self.simulator.http.close()

    @property
    def response_uri(self) -> str:
        return self.request.response_uri

    def params(self, **extra: Any) -> dict[str, Any]:
        return {
            "vp_token": self.proposal.presentation.vp_token,
            "state": self.request.state,
            **extra,
        }

    def good_form(self) -> dict[str, str]:
        return encrypted_form(self.params(), self.request.client_metadata)

    def status(self) -> dict[str, Any]:
        view: dict[str, Any] = self.env.rp.get(self.view["id"]).json()
        return view


def post(url: str, data: dict[str, str] | bytes, content_type: str | None = None) -> httpx.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    if isinstance(data, bytes):
        return httpx.post(url, content=data, headers=headers, timeout=10)
    return httpx.post(url, data=data, headers=headers, timeout=10)


def assert_error(response: httpx.Response, status: int, error: str, fragment: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert fragment in body["error_description"]
    assert response.headers["cache-control"] == "no-store"


def test_unknown_transaction(env: Env) -> None:
    base = env.verifier.url
    assert_error(
        httpx.get(f"{base}/wallet/request/nope", timeout=5),
        404,
        "invalid_request",
        "unknown request",
    )
    assert_error(
        post(f"{base}/wallet/response/nope", {"response": "x"}),
        404,
        "invalid_request",
        "unknown request",
    )


def test_request_object_fetched_twice(env: Env) -> None:
    live = Live(env)
    request_uri = live.view["request_uri"]
    assert_error(httpx.get(request_uri, timeout=5), 400, "invalid_request", "already retrieved")
    assert live.status()["status"] == "request_retrieved"


def test_response_before_the_request_was_fetched(env: Env) -> None:
    view = env.rp.create(profile="identity")
    url = view["request_uri"].replace("/wallet/request/", "/wallet/response/")
    assert_error(post(url, {"response": "a.b.c.d.e"}), 400, "invalid_request", "never retrieved")
    assert env.rp.get(view["id"]).json()["status"] == "pending"


def test_wrong_content_type(env: Env) -> None:
    live = Live(env)
    body = b'{"response": "x"}'
    assert_error(
        post(live.response_uri, body, "application/json"), 415, "invalid_request", "content type"
    )
    assert live.status()["status"] == "request_retrieved"


def test_oversized_body(env: Env) -> None:
    live = Live(env)
    huge = {"response": "A" * (300 * 1024)}
    assert_error(post(live.response_uri, huge), 413, "invalid_request", "exceeds")
    assert live.status()["status"] == "request_retrieved"


def test_jwe_encrypted_to_another_transaction(env: Env) -> None:
    a, b = Live(env), Live(env)
    foreign = encrypted_form(a.params(), b.request.client_metadata)  # B's key, sent to A
    assert_error(post(a.response_uri, foreign), 400, "invalid_request", "malformed_jwe")
    assert a.status()["status"] == "request_retrieved"
    assert b.status()["status"] == "request_retrieved"


def test_wrong_state(env: Env) -> None:
    live = Live(env)
    form = encrypted_form(live.params(state="not-the-state"), live.request.client_metadata)
    assert_error(post(live.response_uri, form), 400, "invalid_request", "state does not match")
    assert live.status()["status"] == "request_retrieved"


@pytest.mark.parametrize(
    ("form", "fragment"),
    [
        ({"response": "not.a.jwe"}, "malformed_jwe"),
        ({"response": "a.b.c.d.e"}, "malformed_"),
        ({"vp_token": "{}", "state": "x"}, "malformed_jwe"),
        (b"response=a&response=b", "malformed_form"),
        (b"\xff\xfe=\x00", "malformed_form"),
    ],
)
def test_malformed_responses(env: Env, form: dict[str, str] | bytes, fragment: str) -> None:
    live = Live(env)
    content_type = "application/x-www-form-urlencoded" if isinstance(form, bytes) else None
    assert_error(post(live.response_uri, form, content_type), 400, "invalid_request", fragment)
    assert live.status()["status"] == "request_retrieved"


def test_direct_post_transaction_refuses_an_encrypted_response(env: Env) -> None:
    live = Live(env, response_mode="direct_post")
    form = encrypted_form(live.params(), {"jwks": {"keys": [{**_any_key(), "alg": "ECDH-ES"}]}})
    assert_error(post(live.response_uri, form), 400, "invalid_request", "expects direct_post")
    assert live.status()["status"] == "request_retrieved"


def test_each_transaction_has_its_own_random_values_and_a_key_only_when_it_is_encrypted(
    env: Env,
) -> None:
    lives = [Live(env), Live(env), Live(env, response_mode="direct_post")]
    values = []
    for live in lives:
        request_id = live.response_uri.rsplit("/", 1)[1]
        values += [live.view["id"], request_id, live.request.state, live.request.nonce]
    for value in values:  # 256 bits each, base64url without padding
        assert isinstance(value, str) and len(value) == 43
        assert len(base64.urlsafe_b64decode(value + "=")) == 32
    assert len(set(values)) == len(values)
    keys = [live.request.client_metadata.get("jwks", {}).get("keys", []) for live in lives]
    assert [len(k) for k in keys] == [1, 1, 0]  # direct_post: nothing to encrypt to
    kids = [k[0]["kid"] for k in keys[:2]]
    assert kids[0] != kids[1] and all(kid.startswith("enc-") for kid in kids)


def _any_key() -> dict[str, Any]:
    return SigningKey.generate(kid="k").public_jwk


def test_replay_and_second_response_after_success(env: Env) -> None:
    live = Live(env)
    form = live.good_form()
    first = post(live.response_uri, form)
    assert first.status_code == 200 and first.json() == {}
    before = live.status()
    assert before["status"] == "verified"
    assert_error(post(live.response_uri, form), 400, "invalid_request", "already answered")
    again = encrypted_form(live.params(), live.request.client_metadata)  # a fresh envelope
    assert_error(post(live.response_uri, again), 400, "invalid_request", "already answered")
    assert live.status() == before


def test_vp_token_replayed_into_another_transaction_is_rejected(env: Env) -> None:
    a, b = Live(env), Live(env)
    assert post(a.response_uri, a.good_form()).status_code == 200
    stolen = {"vp_token": a.proposal.presentation.vp_token, "state": b.request.state}
    assert (
        post(b.response_uri, encrypted_form(stolen, b.request.client_metadata)).status_code == 200
    )
    view = b.status()
    assert view["status"] == "rejected"
    assert view["error"]["code"] == "kb_nonce_mismatch"


def test_unencrypted_vp_token_where_encryption_is_required(env: Env) -> None:
    live = Live(env)
    assert_error(
        post(live.response_uri, direct_post_form(live.params())),
        400,
        "invalid_request",
        "malformed_jwe",
    )
    assert live.status()["status"] == "request_retrieved"


def test_expired_transaction(tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("expiry")
    port = free_port()
    key = make_data_dir(root / "v", f"http://localhost:{port}")
    verifier = start_verifier(root / "v", port=port, transaction_ttl="1")
    rp = RP(verifier.url, key)
    try:
        view = rp.create(profile="identity")
        time.sleep(1.3)
        assert_error(httpx.get(view["request_uri"], timeout=5), 400, "invalid_request", "expired")
        final = rp.get(view["id"]).json()
        assert final["status"] == "expired" and final["error"]["code"] == "expired"
    finally:
        rp.close()
        verifier.stop()
