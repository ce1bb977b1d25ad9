"""OpenID4VP flows over real HTTP: `agentvp serve` (SQLite) and the wallet simulator."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import free_port
from tests.e2e.harness import RP, Verifier, make_data_dir, make_wallet, start_verifier
from verifier.protocol import jwk_thumbprint
from wallet_sim.scan import decode_qr
from wallet_sim.store import Wallet
from wallet_sim.wallet import WalletSimulator

pytestmark = pytest.mark.e2e


class Env:
    def __init__(self, root: Path) -> None:
        port = free_port()
        self.data_dir = root / "verifier"
        self.api_key = make_data_dir(self.data_dir, f"http://localhost:{port}")
        self.verifier: Verifier = start_verifier(self.data_dir, port=port)
        self.rp = RP(self.verifier.url, self.api_key)
        self.wallet: Wallet = make_wallet(root / "wallet", self.data_dir)

    def simulator(self) -> WalletSimulator:
        return WalletSimulator(self.wallet)

    def close(self) -> None:
        self.rp.close()
        self.verifier.stop()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    environment = Env(tmp_path_factory.mktemp("flows"))
    yield environment
    environment.close()


def answer(env: Env, uri: str, *, method: str | None = None) -> dict[str, object]:
    simulator = env.simulator()
    try:
        request = simulator.resolve(uri, method=method)
        return simulator.submit(simulator.propose(request))
    finally:
        simulator.http.close()


def test_cross_device_qr_png_decoded_and_answered(env: Env) -> None:
    view = env.rp.create(profile="identity")
    png = env.rp.http.get(view["qr_png_uri"]).content
    uri = decode_qr(png)
    assert uri == view["authorization_request_uri"]
    params = parse_qs(urlsplit(uri).query)
    assert set(params) == {
        "client_id",
        "request_uri",
        "request_uri_method",
    }  # nothing else in the QR
    assert params["client_id"][0].startswith("x509_hash:")
    assert answer(env, uri) == {}
    final = env.rp.wait(view["id"])
    assert final["status"] == "verified", final
    person = final["result"]["credentials"]["identity"][0]
    assert person["vct"] == "https://agentvp.example/vct/verified_person/1"
    assert person["iss"] == "https://ekyc.agentvp.example"
    claims = person["claims"]["verified_claims"]
    assert claims["verification"]["trust_framework"] == "eidas"
    assert claims["claims"] == {
        "given_name": "Erika",
        "family_name": "Mustermann",
        "birthdate": "1984-01-26",
    }
    assert "address" not in claims["claims"]  # not requested, not disclosed
    assert person["holder_jkt"] == env.wallet.key("human").thumbprint


@pytest.mark.parametrize("mode", ["direct_post", "direct_post.jwt"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_response_modes_and_request_uri_methods(env: Env, mode: str, method: str) -> None:
    view = env.rp.create(profile="agent_mandate", response_mode=mode)
    answer(env, view["authorization_request_uri"], method=method)
    final = env.rp.wait(view["id"])
    assert final["status"] == "verified", final
    assert final["response_mode"] == mode
    mandate = final["result"]["credentials"]["mandate"][0]["claims"]
    assert mandate["authority"]["actions"] == ["commerce.checkout", "payment.initiate"]


def test_request_object_is_signed_for_x509_hash_and_carries_the_wallet_nonce(env: Env) -> None:
    view = env.rp.create(profile="identity")
    simulator = env.simulator()
    try:
        request = simulator.resolve(view["authorization_request_uri"], method="post")
    finally:
        simulator.http.close()
    assert request.wallet_nonce is not None
    assert request.verifier_subject == "CN=localhost"
    jwks = request.client_metadata["jwks"]["keys"][0]
    assert jwks["alg"] == "ECDH-ES" and jwks["use"] == "enc" and "d" not in jwks
    assert request.client_metadata["encrypted_response_enc_values_supported"] == [
        "A128GCM",
        "A256GCM",
    ]


def test_same_device_response_code_is_required_and_single_use(env: Env) -> None:
    view = env.rp.create(
        profile="identity", flow="same_device", redirect_uri="https://rp.example/done"
    )
    reply = answer(env, view["authorization_request_uri"])
    redirect = str(reply["redirect_uri"])
    assert redirect.startswith("https://rp.example/done#response_code=")
    code = redirect.split("response_code=")[1]
    assert env.rp.wait(view["id"], response_code=code)["status"] == "verified"
    status_only = env.rp.get(view["id"])  # the RP's back end may read the status, no more
    assert status_only.status_code == 200 and status_only.json()["status"] == "verified"
    assert "result" not in status_only.json() and "error" not in status_only.json()
    wrong = env.rp.get(view["id"], response_code="x" + code[1:])
    assert wrong.status_code == 400
    used = env.rp.get(view["id"], response_code=code)
    assert used.status_code == 400 and "already used" in used.json()["error_description"]


def test_siopv2_id_token_subject_is_reported(env: Env) -> None:
    view = env.rp.create(profile="identity", response_type="vp_token id_token")
    answer(env, view["authorization_request_uri"])
    final = env.rp.wait(view["id"])
    assert final["status"] == "verified", final
    thumbprint = jwk_thumbprint(env.wallet.key("human").public_jwk)
    assert final["result"]["id_token"]["jwk_thumbprint"] == thumbprint
    assert final["result"]["id_token"]["sub"].endswith(thumbprint)


def test_wallet_decline_is_final_error(env: Env) -> None:
    view = env.rp.create(profile="identity")
    simulator = env.simulator()
    try:
        simulator.decline(simulator.resolve(view["authorization_request_uri"]))
    finally:
        simulator.http.close()
    final = env.rp.wait(view["id"])
    assert final["status"] == "error"
    assert final["error"]["code"] == "access_denied" and final["error"]["source"] == "wallet"


def test_presentation_not_satisfying_the_verifier_is_rejected_with_the_check(env: Env) -> None:
    # The wallet only holds an eidas/high identity; ask for a value it cannot have: the wallet
    # refuses (no match) and tells the verifier access_denied.
    query = {
        "credentials": [
            {
                "id": "identity",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": ["https://agentvp.example/vct/verified_person/1"]},
                "claims": [
                    {
                        "path": ["verified_claims", "verification", "trust_framework"],
                        "values": ["de_aml"],
                    }
                ],
            }
        ]
    }
    view = env.rp.create(dcql_query=query)
    simulator = env.simulator()
    try:
        request = simulator.resolve(view["authorization_request_uri"])
        with pytest.raises(Exception, match=r"access_denied|no_matching"):
            simulator.propose(request)
        simulator.decline(request, "access_denied", "no matching credential")
    finally:
        simulator.http.close()
    assert env.rp.wait(view["id"])["error"]["code"] == "access_denied"


def test_wallet_sim_cli_scans_and_answers(env: Env, tmp_path: Path) -> None:
    view = env.rp.create(profile="identity")
    png = tmp_path / "qr.png"
    png.write_bytes(env.rp.http.get(view["qr_png_uri"]).content)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wallet_sim.cli",
            "scan",
            str(png),
            "--yes",
            "--dir",
            str(env.wallet.path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "submitted" in done.stdout and "given_name" in done.stdout
    assert env.rp.wait(view["id"])["status"] == "verified"


def test_wallet_sim_cli_refuses_an_untrusted_verifier(env: Env, tmp_path: Path) -> None:
    stranger = Wallet.create(tmp_path / "stranger")  # trusts no verifier CA
    view = env.rp.create(profile="identity")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wallet_sim.cli",
            "present",
            view["authorization_request_uri"],
            "--yes",
            "--dir",
            str(stranger.path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "x5c_untrusted" in done.stderr
    assert env.rp.get(view["id"]).json()["status"] == "request_retrieved"


def test_qr_svg_and_api_auth(env: Env) -> None:
    view = env.rp.create(profile="identity")
    svg = env.rp.http.get(view["qr_svg_uri"])
    assert svg.headers["content-type"].startswith("image/svg+xml") and "<svg" in svg.text
    anonymous = httpx.get(view["status_uri"], timeout=5)
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_token"
    wrong = httpx.get(view["status_uri"], headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 401


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "exactly one of dcql_query and profile"),
        ({"profile": "nope"}, "unknown profile"),
        ({"dcql_query": {"credentials": []}}, "credentials"),
        ({"profile": "identity", "flow": "same_device"}, "redirect_uri"),
        (
            {"profile": "identity", "transaction_data": [{"type": "t", "credential_ids": ["x"]}]},
            "unknown queries",
        ),
        ({"profile": "identity", "bogus": 1}, "bogus"),
    ],
)
def test_create_validation_errors_name_the_problem(
    env: Env, body: dict[str, object], fragment: str
) -> None:
    response = env.rp.http.post("/v1/presentations", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert fragment in response.json()["error_description"]


def test_events_stream_follows_the_status(env: Env) -> None:
    view = env.rp.create(profile="identity")
    seen: list[str] = []
    with env.rp.http.stream("GET", view["events_uri"]) as stream:
        lines = stream.iter_lines()
        answered = False
        for line in lines:
            if line.startswith("data: "):
                seen.append(line)
                if not answered:
                    answer(env, view["authorization_request_uri"])
                    answered = True
            if '"verified"' in line:
                break
    statuses = [
        s for s in ("pending", "request_retrieved", "verified") if any(s in x for x in seen)
    ]
    assert statuses[0] == "pending" and statuses[-1] == "verified"


@pytest.mark.parametrize("prefix", ["x509_san_dns", "redirect_uri"])
def test_other_client_id_prefixes(tmp_path: Path, prefix: str) -> None:
    port = free_port()
    key = make_data_dir(tmp_path / "v", f"http://localhost:{port}")
    verifier = start_verifier(tmp_path / "v", port=port, client_id_prefix=prefix)
    rp = RP(verifier.url, key)
    wallet = make_wallet(tmp_path / "w", tmp_path / "v")
    simulator = WalletSimulator(wallet)
    try:
        view = rp.create(profile="identity")
        request = simulator.resolve(view["authorization_request_uri"])
        if prefix == "x509_san_dns":
            assert request.client_id == "x509_san_dns:localhost"
            assert request.verifier_subject == "CN=localhost"
        else:
            assert request.client_id == f"redirect_uri:{request.response_uri}"
            assert request.verifier_certificate is None  # unsigned: development only
        simulator.submit(simulator.propose(request))
        final = rp.wait(view["id"])
        assert final["status"] == "verified", final
    finally:
        simulator.http.close()
        rp.close()
        verifier.stop()
