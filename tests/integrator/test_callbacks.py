"""Point 3 of issue 15: a ``callback_url`` the outbound policy will refuse is a 400 at creation
naming the rule and ``AGENTVP_OUTBOUND_ALLOW_HOSTS`` (nothing created), an allowed one is
accepted, and a failing delivery is logged with its reason in every log format."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.e2e.harness import RP, make_data_dir, start_verifier
from tests.integrator.helpers import client, data_dir
from verifier.ops.callbacks import callback_refusal

pytestmark = pytest.mark.anyio
SECRET = "integrator-webhook-secret-0123456789"


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://rp.example/hook", "only https is allowed; allow rp.example over http with "),
        ("https://127.0.0.1:9000/hook", "AGENTVP_OUTBOUND_ALLOW_HOSTS=127.0.0.1:9000"),
        ("https://localhost/hook", "localhost is a loopback or private address"),
        ("https://10.1.2.3/hook", "10.1.2.3 is a loopback or private address"),
        ("ftp://rp.example/hook", "must be an http(s) URL"),
    ],
)
async def test_an_undeliverable_callback_is_refused_at_creation(
    tmp_path: Path, url: str, fragment: str
) -> None:
    key = data_dir(tmp_path)
    async with client(tmp_path, key, webhook_secret=SECRET) as rp:
        for path, body in (
            ("/v1/presentations", {"profile": "identity"}),
            (
                "/v1/agent-verifications",
                {
                    "policy": "shop-checkout",
                    "action": {
                        "action": "payment.initiate",
                        "transaction_id": "o-1",
                        "mandate_jti": "urn:uuid:1",
                    },
                },
            ),
        ):
            answer = await rp.post(path, json={**body, "callback_url": url})
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"] == "invalid_request"
            assert fragment in answer.json()["error_description"], answer.json()
            if "ftp" not in url:
                assert "AGENTVP_OUTBOUND_ALLOW_HOSTS" in answer.json()["error_description"]


async def test_public_https_and_allow_listed_hosts_are_accepted(tmp_path: Path) -> None:
    key = data_dir(tmp_path)
    settings = {"webhook_secret": SECRET, "outbound_allow_hosts": "127.0.0.1:9000"}
    async with client(tmp_path, key, **settings) as rp:
        for url in ("https://rp.example/hook", "http://127.0.0.1:9000/hook"):
            answer = await rp.post(
                "/v1/presentations", json={"profile": "identity", "callback_url": url}
            )
            assert answer.status_code == 201, answer.text


def test_the_check_needs_no_dns_and_trusts_the_allow_list() -> None:
    assert callback_refusal("https://unresolvable.invalid/hook", ()) is None  # at delivery
    assert callback_refusal("http://LOCALHOST:8080/h", ["localhost:8080"]) is None
    assert callback_refusal("http://localhost:8081/h", ["localhost:8080"]) is not None


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_failed_delivery_is_logged_with_its_reason(tmp_path: Path, log_format: str) -> None:
    port, dead = free_port(), free_port()  # nobody listens on `dead`
    key = make_data_dir(tmp_path / "v", f"http://localhost:{port}")
    verifier = start_verifier(
        tmp_path / "v",
        port=port,
        log_format=log_format,
        outbound_allow_hosts=f"127.0.0.1:{dead}",
        webhook_base_delay="60",
    )
    rp = RP(verifier.url, key)
    try:
        rp.create(profile="identity", callback_url=f"http://127.0.0.1:{dead}/hook")
        wanted = f"http://127.0.0.1:{dead}/hook is unreachable: ConnectError"
        deadline = time.monotonic() + 30
        while wanted not in verifier.log() and time.monotonic() < deadline:
            time.sleep(0.2)
        lines = [line for line in verifier.log().splitlines() if "attempt 1 failed" in line]
        assert lines and wanted in lines[0], verifier.log()[-2000:]
        if log_format == "json":
            entry = json.loads(lines[0])
            assert entry["level"] == "warning" and entry["reason"] == wanted
    finally:
        rp.close()
        verifier.stop()
