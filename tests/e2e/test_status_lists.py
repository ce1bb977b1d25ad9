"""Revocation over real HTTP: the simulator's issuer server publishes Token Status Lists and
jwt-vc-issuer metadata; `agentvp serve` fetches, verifies, caches and enforces them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import free_port
from tests.e2e.harness import (
    RP,
    IssuerServer,
    Verifier,
    make_data_dir,
    start_verifier,
    wallet_with_served_issuers,
)
from tests.threaded_server import ThreadedServer
from verifier.protocol import SigningKey, b64url_encode
from wallet_sim.issuer import IdentitySubject, identity_claims
from wallet_sim.issuing import issue_credential
from wallet_sim.status import StatusRegistry, status_list_token
from wallet_sim.wallet import WalletSimulator

pytestmark = pytest.mark.e2e
MAX_AGE = 2
IDENTITY_VCT = "https://agentvp.example/vct/verified_person/1"
MANDATE_VCT = "https://agentvp.example/vct/agent_mandate/1"


class Fake:
    """A status server we control (tampered, foreign-signed, wrongly typed lists)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[str, bytes]] = {}
        self.port = free_port()

        async def serve(request: Request) -> Response:
            media, body = self.routes.get(request.url.path, ("text/plain", b"missing"))
            return Response(
                body, media_type=media, status_code=200 if request.url.path in self.routes else 404
            )

        app = Starlette(routes=[Route("/{path:path}", serve)])
        self._server = ThreadedServer(app, self.port)

    def url(self, path: str) -> str:
        return f"http://localhost:{self.port}{path}"

    def stop(self) -> None:
        self._server.stop()


class World:
    def __init__(self, root: Path) -> None:
        vport, self.iport = free_port(), free_port()
        self.data = root / "verifier"
        key = make_data_dir(self.data, f"http://localhost:{vport}")
        self.wallet = wallet_with_served_issuers(
            root, self.data, self.iport, iss="https://placeholder"
        )
        mandates = self.wallet.issuer_data("mandates")
        public = SigningKey.from_jwk(mandates["key"]).public_jwk
        trust = {
            "issuers": [
                {
                    "iss": self.wallet.issuer_data("ekyc")["iss"],
                    "metadata": True,
                    "vct": [IDENTITY_VCT],
                },
                {"iss": mandates["iss"], "jwks": {"keys": [public]}, "vct": [MANDATE_VCT]},
            ]
        }
        (self.data / "trust.json").write_text(json.dumps(trust))
        self.issuers = IssuerServer(self.wallet.path, self.iport)
        self.fake = Fake()
        self.verifier: Verifier = start_verifier(
            self.data,
            port=vport,
            outbound_allow_hosts="localhost,127.0.0.1",
            status_list_max_age=str(MAX_AGE),
            issuer_metadata_min_refresh="1",
        )
        self.rp = RP(self.verifier.url, key)

    def present(self, cred_id: str, profile: str = "identity") -> dict[str, Any]:
        view = self.rp.create(profile=profile)
        simulator = WalletSimulator(self.wallet, credentials=[cred_id])
        try:
            request = simulator.resolve(view["authorization_request_uri"])
            simulator.submit(simulator.propose(request))
        finally:
            simulator.http.close()
        return self.rp.wait(view["id"])

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "wallet_sim.cli", *args, "--dir", str(self.wallet.path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def identity_pointing_at(self, uri: str, idx: int = 0) -> str:
        """An identity credential whose status entry points wherever the test wants."""
        source = self.wallet.issuer("ekyc")
        claims = identity_claims(
            IdentitySubject(), iss=source.iss, now=int(time.time()), status={"idx": idx, "uri": uri}
        )
        issuance = source.issue(claims, holder_jwk=self.wallet.key("human").public_jwk)
        return self.wallet.add_credential(
            kind="identity", issuance=issuance, holder="human", issued_at=int(time.time())
        ).id

    def close(self) -> None:
        self.rp.close()
        self.verifier.stop()
        self.issuers.stop()
        self.fake.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("status"))
    yield w
    w.close()


def status_of(view: dict[str, Any], query: str = "identity") -> dict[str, Any]:
    result: dict[str, Any] = view["result"]["credentials"][query][0]["status"]
    return result


def test_verified_then_revoked_then_rejected_once_the_cache_bound_passes(world: World) -> None:
    cred = issue_credential(world.wallet, "identity", now=int(time.time()))
    first = world.present(cred.id)
    assert first["status"] == "verified", first
    report = status_of(first)
    assert report["status"] == "valid" and report["checked"] is True
    assert report["uri"].endswith("/status/ekyc") and report["idx"] == cred.meta["status"]["idx"]
    fetched = report["fetched_at"]
    assert "revoked" in world.cli("revoke", cred.id)
    second = world.present(cred.id)
    if second["status"] == "verified":  # still inside the cache bound: the list was not refetched
        assert status_of(second)["fetched_at"] == fetched
    else:
        assert time.time() >= fetched + MAX_AGE
    time.sleep(max(0.0, fetched + MAX_AGE + 0.2 - time.time()))
    third = world.present(cred.id)
    assert third["status"] == "rejected" and third["error"]["code"] == "status_invalid", third


def test_suspended_then_reinstated(world: World) -> None:
    cred = issue_credential(world.wallet, "identity", now=int(time.time()))
    world.cli("suspend", cred.id)
    time.sleep(MAX_AGE + 0.2)
    suspended = world.present(cred.id)
    assert suspended["status"] == "rejected" and suspended["error"]["code"] == "status_suspended"
    world.cli("reinstate", cred.id)
    time.sleep(MAX_AGE + 0.2)
    assert world.present(cred.id)["status"] == "verified"


def test_mandate_issuer_with_static_keys_also_has_a_checked_status(world: World) -> None:
    issue_credential(world.wallet, "identity", now=int(time.time()))  # the principal to bind
    cred = issue_credential(world.wallet, "mandate", now=int(time.time()))
    view = world.present(cred.id, profile="agent_mandate")
    assert view["status"] == "verified", view
    assert status_of(view, "mandate")["uri"].endswith("/status/mandates")


def test_index_out_of_range(world: World) -> None:
    registry = StatusRegistry(world.wallet.path / "status" / "ekyc.json")
    cred = world.identity_pointing_at(registry.uri, idx=10**7)
    view = world.present(cred)
    assert view["status"] == "rejected" and view["error"]["code"] == "status_index_out_of_range"


def _signed_list(key: SigningKey, uri: str) -> str:
    registry = StatusRegistry.create(Path(f"/tmp/fake-{key.thumbprint[:8]}.json"), uri=uri)
    return status_list_token(registry, key, now=int(time.time()))


def test_tampered_list_signature(world: World) -> None:
    uri = world.fake.url("/tampered")
    key = SigningKey.from_jwk(world.wallet.issuer_data("ekyc")["key"])
    head, payload, sig = _signed_list(key, uri).split(".")
    body = json.loads(__import__("base64").urlsafe_b64decode(payload + "=="))
    body["ttl"] = 999
    forged = ".".join((head, b64url_encode(json.dumps(body).encode()), sig))
    world.fake.routes["/tampered"] = ("application/statuslist+jwt", forged.encode())
    view = world.present(world.identity_pointing_at(uri))
    assert view["status"] == "rejected" and view["error"]["code"] == "status_list_signature_invalid"


def test_list_signed_by_an_untrusted_key(world: World) -> None:
    uri = world.fake.url("/foreign")
    world.fake.routes["/foreign"] = (
        "application/statuslist+jwt",
        _signed_list(SigningKey.generate(kid="intruder"), uri).encode(),
    )
    view = world.present(world.identity_pointing_at(uri))
    assert view["status"] == "rejected" and view["error"]["code"] == "status_list_untrusted"


def test_list_with_the_wrong_media_type(world: World) -> None:
    uri = world.fake.url("/json")
    world.fake.routes["/json"] = ("application/json", b"{}")
    view = world.present(world.identity_pointing_at(uri))
    assert view["error"]["code"] == "status_list_malformed"


def test_unreachable_list_fails_closed(world: World) -> None:
    view = world.present(world.identity_pointing_at(f"http://localhost:{free_port()}/status/gone"))
    assert view["status"] == "rejected" and view["error"]["code"] == "status_list_unavailable"


@pytest.mark.parametrize(
    "uri",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/status",
        "https://127.0.0.2:1/x",
        "http://[::1]:9/x",
        "file:///etc/passwd",
    ],
)
def test_status_uri_cannot_reach_internal_addresses(world: World, uri: str) -> None:
    view = world.present(world.identity_pointing_at(uri))
    assert view["status"] == "rejected", view
    assert view["error"]["code"] in ("status_list_unavailable", "status_reference_malformed")
    if view["error"]["code"] == "status_list_unavailable":
        assert "refusing" in view["error"]["detail"]


def test_issuer_key_rotation_is_picked_up_without_restart(world: World) -> None:
    before = issue_credential(world.wallet, "identity", now=int(time.time()))
    assert world.present(before.id)["status"] == "verified"
    kid = world.cli("issuer-rotate", "ekyc").split()[-1]
    after = issue_credential(world.wallet, "identity", now=int(time.time()))
    assert after.held().header["kid"] == kid
    time.sleep(1.1)  # issuer_metadata_min_refresh
    view = world.present(after.id)
    assert view["status"] == "verified", view  # unknown kid => metadata refetched
    assert world.present(before.id)["status"] == "verified"  # the old key is still published
