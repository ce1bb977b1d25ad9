"""Client ID Metadata Documents over real TLS on loopback: a threaded HTTPS server whose
certificate the project's dev PKI issued serves the document; the authorization server runs
in-process and resolves the client through its real outbound fetcher. Trusted only with
``outbound_ca_file``; without it, or with a certificate for another name, the client is
refused (``invalid_client`` on the page, never a 500)."""

from __future__ import annotations

import hashlib
import json
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from pydantic import ValidationError

from verifier.app import build_service, create_app
from verifier.ops.fetch import FetchError, OutboundCAError, SafeFetcher, outbound_tls
from verifier.protocol.jose import SigningKey, b64url_encode
from verifier.protocol.x509.chain import cert_to_pem
from verifier.protocol.x509.devpki import DevPKI
from verifier.settings import Settings
from verifier.setup.data_dir import init_data_dir
from verifier.store.memory import MemoryStore

pytestmark = pytest.mark.anyio
PUBLIC = "http://localhost:8080"
SHOP = "http://127.0.0.1:8765/mcp"
REDIRECT = "http://127.0.0.1:5555/callback"
CHALLENGE = b64url_encode(hashlib.sha256(b"v" * 50).digest())
SERVER_AUTH = (ExtendedKeyUsageOID.SERVER_AUTH,)


class TLSServer:
    """An HTTPS server on 127.0.0.1 (a free port) serving ``documents`` by path."""

    def __init__(self, tmp: Path, pki: DevPKI, dns: str, documents: dict[str, Any]) -> None:
        key = SigningKey.generate()
        now = int(time.time())
        leaf = pki.issue_leaf(dns, key, now=now, dns=(dns,), extended_key_usage=SERVER_AUTH)
        chain = tmp / f"{dns}-chain.pem"
        chain.write_text("".join(cert_to_pem(c) for c in pki.chain(leaf)))
        key_file = tmp / f"{dns}-key.pem"
        key_file.write_bytes(
            key.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(chain, key_file)
        self.documents = documents
        served = documents

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = served.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"https://localhost:{self.port}{path}"

    def publish(self, path: str, name: str) -> str:
        """Serve a valid metadata document at ``path``; its URL (the client_id)."""
        url = self.url(path)
        self.documents[path] = {"client_id": url, "client_name": name, "redirect_uris": [REDIRECT]}
        return url

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[DevPKI, Path]:
    pki = DevPKI.create(now=int(time.time()), name="agentvp outbound test")
    ca_file = tmp_path_factory.mktemp("ca") / "extra-ca.pem"
    ca_file.write_text(cert_to_pem(pki.root))
    return pki, ca_file


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory, pki: tuple[DevPKI, Path]) -> Iterator[TLSServer]:
    server = TLSServer(tmp_path_factory.mktemp("good"), pki[0], "localhost", {})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def misnamed(
    tmp_path_factory: pytest.TempPathFactory, pki: tuple[DevPKI, Path]
) -> Iterator[TLSServer]:
    server = TLSServer(tmp_path_factory.mktemp("bad"), pki[0], "wrong.example", {})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("authz-tls") / "data"
    api_key = init_data_dir(path, public_url=PUBLIC)["api_key"]
    policy = yaml.safe_load((path / "policy.yaml").read_text())
    policy["resources"] = {SHOP: {"policy": "shop-checkout"}}
    (path / "policy.yaml").write_text(yaml.safe_dump(policy))
    return path, api_key


async def authorize_page(
    data_dir: tuple[Path, str], client_id: str, **settings: Any
) -> httpx.Response:
    """GET /oauth/authorize for ``client_id`` at a verifier built with ``settings``."""
    values = Settings(
        data_dir=data_dir[0],
        api_keys=data_dir[1],
        store_url="memory://",
        public_url=PUBLIC,
        outbound_allow_hosts="localhost",  # loopback: development and tests only
        **settings,
    )
    app = create_app(values, service=build_service(values, store=MemoryStore()))
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "state": "st-1",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "resource": SHOP,
    }
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
        return await http.get("/oauth/authorize", params=params)


async def test_a_document_behind_the_extra_ca_is_accepted(
    data_dir: tuple[Path, str], pki: tuple[DevPKI, Path], good: TLSServer
) -> None:
    client_id = good.publish("/clients/host.json", "TLS host")
    page = await authorize_page(data_dir, client_id, outbound_ca_file=pki[1])
    assert page.status_code == 200, page.text
    assert "TLS host" in page.text and 'id="wallet-link"' in page.text


async def test_without_the_extra_ca_the_client_is_refused(
    data_dir: tuple[Path, str], good: TLSServer
) -> None:
    client_id = good.publish("/clients/untrusted.json", "Untrusted host")
    page = await authorize_page(data_dir, client_id)
    assert page.status_code == 400 and "location" not in page.headers
    assert "TLS certificate not accepted" in page.text
    assert "Untrusted host" not in page.text


async def test_a_certificate_for_another_name_is_refused(
    data_dir: tuple[Path, str], pki: tuple[DevPKI, Path], misnamed: TLSServer
) -> None:
    client_id = misnamed.publish("/clients/misnamed.json", "Misnamed host")
    page = await authorize_page(data_dir, client_id, outbound_ca_file=pki[1])
    assert page.status_code == 400 and "location" not in page.headers
    assert "TLS certificate not accepted" in page.text and "mismatch" in page.text.lower()


async def test_the_fetcher_trusts_the_extra_ca_only_when_configured(
    pki: tuple[DevPKI, Path], good: TLSServer
) -> None:
    good.documents["/plain.json"] = {"ok": True}
    trusting = SafeFetcher(timeout=3, allow_hosts=["localhost"], ca_file=pki[1])
    default = SafeFetcher(timeout=3, allow_hosts=["localhost"])
    try:
        fetched = await trusting.get(good.url("/plain.json"), accept="application/json")
        assert json.loads(fetched.body) == {"ok": True}
        with pytest.raises(FetchError, match="TLS certificate not accepted"):
            await default.get(good.url("/plain.json"), accept="application/json")
    finally:
        await trusting.close()
        await default.close()


def test_an_unusable_ca_file_stops_the_start(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("no certificate here\n")
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    for path, text in [
        (tmp_path / "missing.pem", "cannot be read"),
        (empty, "holds no PEM certificate"),
        (broken, "is not a PEM bundle"),
    ]:
        with pytest.raises(OutboundCAError, match=text):
            outbound_tls(path)
        with pytest.raises(ValidationError, match=text):
            Settings(data_dir=tmp_path, store_url="memory://", outbound_ca_file=path)
    assert outbound_tls(None) is True
    assert (
        Settings(data_dir=tmp_path, store_url="memory://", outbound_ca_file="").outbound_ca_file
        is None
    )
