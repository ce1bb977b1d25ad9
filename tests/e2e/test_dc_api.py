"""The Digital Credentials API flow over real HTTP: ``agentvp serve``, the RP API, and the wallet
simulator answering as the wallet the browser hands the request to (its command line too).

The rejection cases (origins, audiences, replay, crossing channels) are in the attack corpus
(``tests/attacks/cases/dc_api.py``), which also proves nothing else changed; here: the honest
flows in every variant, what creating a DC API request accepts, the settings, the command line,
and the agent step-up over the DC API.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.e2e.harness import RP, Verifier, make_data_dir, make_wallet
from verifier.protocol.jose import parse_unverified_jws
from wallet_sim.agent import full_mandate
from wallet_sim.dc_api import DCAPIWallet, answer_dc_api
from wallet_sim.store import Wallet

pytestmark = pytest.mark.e2e

SHOP = "https://shop.example"
LOCAL = "http://127.0.0.1:5173"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Verifier, RP, Wallet]]:
    root = tmp_path_factory.mktemp("dc-api")
    port = free_port()
    key = make_data_dir(root / "verifier", f"http://localhost:{port}")
    verifier = Verifier(root / "verifier", port, {"AGENTVP_DC_API_ORIGINS": f"{SHOP},{LOCAL}"})
    verifier.start()
    rp = RP(verifier.url, key)
    try:
        yield verifier, rp, make_wallet(root / "wallet", root / "verifier")
    finally:
        rp.close()
        verifier.stop()


def _answer(rp: RP, tx_id: str, credential: dict[str, Any], origin: str = SHOP) -> Any:
    return rp.http.post(
        f"/v1/presentations/{tx_id}/dc-response", json={**credential, "origin": origin}
    )


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("mode", ["dc_api.jwt", "dc_api"])
def test_identity_over_the_dc_api(
    world: tuple[Verifier, RP, Wallet], signed: bool, mode: str
) -> None:
    _, rp, wallet = world
    created = rp.create(profile="identity", flow="dc_api", signed=signed, response_mode=mode)
    assert created["status"] == "pending" and created["flow"] == "dc_api"
    assert created["response_mode"] == mode
    for name in ("authorization_request_uri", "request_uri", "qr_png_uri", "qr_svg_uri"):
        assert created[name] is None, name
    request = created["dc_api_request"]
    assert set(request) == {"protocol", "data"}
    if signed:
        assert request["protocol"] == "openid4vp-v1-signed"
        assert set(request["data"]) == {"request"}
        jws = parse_unverified_jws(request["data"]["request"])
        assert jws.header["typ"] == "oauth-authz-req+jwt" and len(jws.header["x5c"]) == 2
        claims = jws.payload_json()
        assert claims["expected_origins"] == [SHOP, LOCAL]  # default: AGENTVP_DC_API_ORIGINS
        assert claims["client_id"].startswith("x509_hash:")
        assert claims["exp"] == created["expires_at"]
    else:
        assert request["protocol"] == "openid4vp-v1-unsigned"
        claims = request["data"]
        assert "client_id" not in claims and "expected_origins" not in claims
    assert claims["response_mode"] == mode and claims["response_type"] == "vp_token"
    assert ("jwks" in claims["client_metadata"]) == (mode == "dc_api.jwt")
    assert not {"state", "response_uri", "redirect_uri", "request_uri"} & set(claims)
    assert rp.get(created["id"]).json()["dc_api_request"] == request  # the same in every view

    credential = answer_dc_api(wallet, request, LOCAL)
    answered = _answer(rp, created["id"], credential, LOCAL)
    assert answered.status_code == 200, answered.text
    assert answered.headers["cache-control"] == "no-store"
    view = answered.json()
    assert view["status"] == "verified" and "dc_api_request" not in view
    person = view["result"]["credentials"]["identity"][0]["claims"]["verified_claims"]["claims"]
    assert person["family_name"] == "Mustermann"
    assert view["result"]["dc_api"] == {"origin": LOCAL, "protocol": request["protocol"]}
    assert rp.get(created["id"]).json() == view  # no response_code needed to read it


def test_expected_origins_narrow_the_allow_list(world: tuple[Verifier, RP, Wallet]) -> None:
    _, rp, wallet = world
    created = rp.create(profile="identity", flow="dc_api", expected_origins=[SHOP])
    claims = parse_unverified_jws(created["dc_api_request"]["data"]["request"]).payload_json()
    assert claims["expected_origins"] == [SHOP]
    simulator = DCAPIWallet(wallet, holders=["human"])
    with pytest.raises(Exception, match="dc_api_origin_not_expected"):
        simulator.resolve(created["dc_api_request"], LOCAL)  # the wallet refuses other pages
    credential = answer_dc_api(wallet, created["dc_api_request"], SHOP)
    assert _answer(rp, created["id"], credential).json()["status"] == "verified"


def test_a_wallet_error_ends_the_transaction(world: tuple[Verifier, RP, Wallet]) -> None:
    _, rp, wallet = world
    created = rp.create(profile="identity", flow="dc_api")
    simulator = DCAPIWallet(wallet)
    declined = simulator.decline(simulator.resolve(created["dc_api_request"], SHOP))
    assert declined == {"protocol": "openid4vp-v1-signed", "data": {"error": "access_denied"}}
    view = _answer(rp, created["id"], declined).json()
    assert view["status"] == "error"
    assert view["error"] == {"code": "access_denied", "detail": "", "source": "wallet"}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"expected_origins": ["https://evil.example"]}, "not in AGENTVP_DC_API_ORIGINS"),
        ({"expected_origins": [SHOP + "/"]}, "not a serialised origin"),
        ({"expected_origins": ["http://shop.example"]}, "loopback hosts only"),
        ({"expected_origins": [SHOP, SHOP]}, "twice"),
        ({"expected_origins": []}, "no origin may use"),
        ({"response_mode": "direct_post.jwt"}, "dc_api.jwt or dc_api"),
        ({"redirect_uri": "https://rp.example/done"}, "no redirect_uri"),
        ({"response_type": "vp_token id_token"}, "response_type vp_token only"),
        ({"flow": "cross_device", "signed": True}, "need flow dc_api"),
        ({"flow": "cross_device", "expected_origins": [SHOP]}, "need flow dc_api"),
        ({"flow": "same_device", "response_mode": "dc_api", "redirect_uri": SHOP}, "flow dc_api"),
        ({"signed": "maybe"}, "signed"),
    ],
)
def test_what_a_dc_api_request_may_not_ask_for(
    world: tuple[Verifier, RP, Wallet], body: dict[str, Any], fragment: str
) -> None:
    _, rp, _ = world
    response = rp.http.post(
        "/v1/presentations", json={"profile": "identity", "flow": "dc_api", **body}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert fragment in response.json()["error_description"]


def test_the_qr_endpoints_refuse_a_dc_api_presentation(world: tuple[Verifier, RP, Wallet]) -> None:
    _, rp, _ = world
    created = rp.create(profile="identity", flow="dc_api")
    for suffix in ("qr.png", "qr.svg"):
        response = rp.http.get(f"/v1/presentations/{created['id']}/{suffix}")
        assert response.status_code == 400 and "no QR code" in response.text
    assert rp.get(created["id"]).json()["status"] == "pending"


def test_the_command_line_answers_a_request_file(
    world: tuple[Verifier, RP, Wallet], tmp_path: Path
) -> None:
    """``wallet-sim present --dc-api FILE --origin O`` prints the DigitalCredential."""
    _, rp, wallet = world
    created = rp.create(profile="identity", flow="dc_api")
    path = tmp_path / "request.json"
    path.write_text(json.dumps(created))  # the whole API answer: its dc_api_request is used
    base = [sys.executable, "-m", "wallet_sim.cli", "present", "--dir", str(wallet.path)]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*base, *args], capture_output=True, text=True, timeout=60, check=False
        )

    refused = run("--dc-api", str(path), "--origin", "https://evil.example", "--yes")
    assert refused.returncode == 2 and "dc_api_origin_not_expected" in refused.stderr
    assert json.loads(refused.stdout)["data"] == {"error": "invalid_request"}
    done = run("--dc-api", str(path), "--origin", SHOP, "--yes")
    assert done.returncode == 0, done.stderr
    assert "verifier: https://shop.example" in done.stderr
    credential = json.loads(done.stdout)
    assert credential["protocol"] == "openid4vp-v1-signed" and set(credential["data"]) == {
        "response"
    }
    assert _answer(rp, created["id"], credential).json()["status"] == "verified"
    declined = run("--dc-api", str(path), "--origin", SHOP, "--decline")
    assert declined.returncode == 0 and json.loads(declined.stdout)["data"] == {
        "error": "access_denied"
    }
    usage = run("--dc-api", str(path))
    assert usage.returncode == 1 and "--origin" in usage.stderr


def test_an_agent_step_up_over_the_dc_api(world: tuple[Verifier, RP, Wallet]) -> None:
    """``human_flow: dc_api``: the person's request is a DC API one; the decision as usual."""
    _, rp, wallet = world
    (mandate,) = wallet.credentials(kind="mandate", holder="agent")
    action = {
        "action": "payment.initiate",
        "transaction_id": "ord-dc-1",
        "payee": {"id": "merchant-4711", "name": "Shop A", "domain": "shop-a.example"},
        "payment_amount": {"amount": 12990, "currency": "EUR"},
        "mandate_jti": full_mandate(mandate)["jti"],
    }
    body = {"policy": "shop-checkout", "action": action, "human_flow": "dc_api"}
    refused = rp.http.post(
        "/v1/agent-verifications", json={**body, "expected_origins": ["https://evil.example"]}
    )
    assert refused.status_code == 400 and "AGENTVP_DC_API_ORIGINS" in refused.text
    no_flow = {k: v for k, v in body.items() if k != "human_flow"}
    refused = rp.http.post("/v1/agent-verifications", json={**no_flow, "expected_origins": [SHOP]})
    assert refused.status_code == 400 and "human_flow dc_api" in refused.text
    created = rp.http.post("/v1/agent-verifications", json=body)
    assert created.status_code == 201, created.text
    av = created.json()
    agent = subprocess.run(
        [
            sys.executable,
            "-m",
            "wallet_sim.cli",
            "agent",
            "answer",
            av["agent_request"]["authorization_request_uri"],
            "--dir",
            str(wallet.path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert agent.returncode == 0, agent.stdout + agent.stderr
    view = rp.http.get(f"/v1/agent-verifications/{av['id']}").json()
    human = view["human_request"]  # the principal's first checkout: the person is asked
    assert human["flow"] == "dc_api" and human["authorization_request_uri"] is None
    request = human["dc_api_request"]
    proposal = DCAPIWallet(wallet, holders=["human"])
    shown = proposal.propose(proposal.resolve(request, SHOP)).describe()
    assert any("129.90 EUR to Shop A" in line for line in shown)
    answered = _answer(rp, human["id"], answer_dc_api(wallet, request, SHOP))
    assert answered.json()["status"] == "verified", answered.text
    decided = rp.http.get(f"/v1/agent-verifications/{av['id']}").json()
    assert decided["decision"] == "allow", decided
    assert decided["identity"]["claims"]["verified_claims"]["claims"]["family_name"] == (
        "Mustermann"
    )
