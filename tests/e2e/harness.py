"""Real parts for end-to-end tests: `agentvp serve` processes on free loopback ports, an RP API
client, a wallet directory with issued credentials; and the app in-process on a memory store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import free_port
from verifier.app import build_service, create_app
from verifier.protocol.jose import SigningKey
from verifier.settings import Settings
from verifier.setup.data_dir import IDENTITY_VCT, MANDATE_VCT, init_data_dir
from verifier.store.memory import MemoryStore
from wallet_sim.issuer import IdentitySubject, MandateGrant, identity_claims, mandate_claims
from wallet_sim.issuing import serve_issuers_at
from wallet_sim.store import Wallet

FINAL = ("verified", "rejected", "expired", "error")


def make_data_dir(path: Path, public_url: str) -> str:
    """A dev data dir; returns its API key."""
    return init_data_dir(path, public_url=public_url)["api_key"]


def in_process_app(
    data_dir: Path,
    api_key: str,
    *,
    public_url: str,
    wallet_rate_limit: int = 0,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The app in-process on a fresh memory store; ``clock`` is the service's and the store's."""
    settings = Settings(
        data_dir=data_dir,
        api_keys=api_key,
        store_url="memory://",
        public_url=public_url,
        wallet_rate_limit=wallet_rate_limit,
    )
    service = build_service(settings, store=MemoryStore(clock=clock), clock=clock)
    return create_app(settings, service=service)


def wait_ready(
    proc: subprocess.Popen[bytes], url: str, what: str, log: Callable[[], str], timeout: float
) -> None:
    """Poll ``url`` until it answers 200; fail with the tail of the log if ``proc`` exits first
    or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start: {log()[-2000:]}")
        time.sleep(0.1)


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Verifier:
    """One `agentvp serve` process."""

    data_dir: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def start(self, timeout: float = 60.0) -> Verifier:
        env = {
            **os.environ,
            "AGENTVP_DATA_DIR": str(self.data_dir),
            "AGENTVP_PORT": str(self.port),
            "AGENTVP_HOST": "127.0.0.1",
            **self.env,
        }
        env.setdefault("AGENTVP_PUBLIC_URL", self.url)
        with (self.data_dir / f"server-{self.port}.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "verifier.cli", "serve"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:  # a generous bound: the shared 2-core machine is often busy
            ready = f"{self.url}/.well-known/jwks.json"
            wait_ready(self.proc, ready, "verifier", self.log, timeout)
        except BaseException:
            self.stop()  # never leave a half-started server behind
            raise
        return self

    def log(self) -> str:
        return (self.data_dir / f"server-{self.port}.log").read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.proc)


def start_verifier(data_dir: Path, *, port: int | None = None, **env: str) -> Verifier:
    return Verifier(
        data_dir, port or free_port(), {f"AGENTVP_{k.upper()}": v for k, v in env.items()}
    ).start()


class RP:
    """The relying party's side of the API."""

    def __init__(self, base: str, api_key: str) -> None:
        self.http = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {api_key}"}, timeout=10
        )

    def create(self, **body: Any) -> dict[str, Any]:
        response = self.http.post("/v1/presentations", json=body)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    def get(self, tx_id: str, **params: str) -> httpx.Response:
        return self.http.get(f"/v1/presentations/{tx_id}", params=params)

    def wait(self, tx_id: str, timeout: float = 15.0, **params: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            view: dict[str, Any] = self.get(tx_id, **params).json()
            if view.get("status") in FINAL or time.monotonic() > deadline:
                return view
            time.sleep(0.05)

    def close(self) -> None:
        self.http.close()


def make_wallet(
    path: Path,
    data_dir: Path,
    *,
    now: int | None = None,
    grant: MandateGrant | None = None,
    subject: IdentitySubject | None = None,
) -> Wallet:
    """A wallet trusting the dev CA, holding an identity (human) and a mandate (agent)."""
    wallet = Wallet.create(path)
    for file in sorted((data_dir / "demo" / "issuers").glob("*.json")):
        data = json.loads(file.read_text())
        wallet.add_issuer(
            file.stem, iss=data["iss"], kind=data["kind"], key=SigningKey.from_jwk(data["key"])
        )
    wallet.trust_verifier((data_dir / "pki" / "root.pem").read_text())
    now = now or int(time.time())
    ekyc, mandates = wallet.issuer("ekyc"), wallet.issuer("mandates")
    human, agent = wallet.key("human"), wallet.key("agent")
    identity = ekyc.issue(
        identity_claims(subject or IdentitySubject(), iss=ekyc.iss, now=now),
        holder_jwk=human.public_jwk,
    )
    wallet.add_credential(kind="identity", issuance=identity, holder="human", issued_at=now)
    claims = mandate_claims(
        grant or MandateGrant(), iss=mandates.iss, now=now, principal_jkt=human.thumbprint
    )
    wallet.add_credential(
        kind="mandate",
        issuance=mandates.issue(claims, holder_jwk=agent.public_jwk),
        holder="agent",
        issued_at=now,
    )
    return wallet


def wallet_with_served_issuers(
    root: Path, data_dir: Path, issuer_port: int, *, iss: str = "https://x"
) -> Wallet:
    """A wallet at ``root/wallet`` trusting the dev CA, with fresh ``ekyc`` and ``mandates``
    issuers whose ``iss``, metadata and status lists live at ``http://localhost:<issuer_port>``
    (serve them with :class:`IssuerServer`)."""
    wallet = Wallet.create(root / "wallet")
    for name, kind in (("ekyc", "identity"), ("mandates", "mandate")):
        wallet.add_issuer(name, iss=iss, kind=kind, key=SigningKey.generate(kid=f"{name}-1"))
    wallet.trust_verifier((data_dir / "pki" / "root.pem").read_text())
    serve_issuers_at(wallet, f"http://localhost:{issuer_port}")
    return wallet


def trust_issuer_keys(wallet: Wallet, data_dir: Path) -> None:
    """The verifier's trust file: both issuers of ``wallet`` by their public keys (JWKS)."""
    trusted = []
    for name, vct in (("ekyc", IDENTITY_VCT), ("mandates", MANDATE_VCT)):
        issuer = wallet.issuer_data(name)
        public = SigningKey.from_jwk(issuer["key"]).public_jwk
        trusted.append({"iss": issuer["iss"], "jwks": {"keys": [public]}, "vct": [vct]})
    (data_dir / "trust.json").write_text(json.dumps({"issuers": trusted}))


class IssuerServer:
    """`wallet-sim issuer-serve` for a wallet directory (status lists, issuer metadata)."""

    def __init__(self, wallet_dir: Path, port: int, timeout: float = 60.0) -> None:
        self.port = port
        log = wallet_dir / f"issuer-{port}.log"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "wallet_sim.cli",
                    "issuer-serve",
                    "--dir",
                    str(wallet_dir),
                    "--port",
                    str(port),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout  # generous: the 2-core machine is often busy
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                return
            except httpx.HTTPError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    stop_process(self.proc)  # never leave a half-started server behind
                    raise RuntimeError(
                        f"issuer server did not start: {log.read_text()[-1500:]}"
                    ) from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def form_post(
    url: str, data: Mapping[str, str] | bytes, content_type: str | None = None
) -> httpx.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    if isinstance(data, bytes):
        return httpx.post(url, content=data, headers=headers, timeout=10)
    return httpx.post(url, data=dict(data), headers=headers, timeout=10)
