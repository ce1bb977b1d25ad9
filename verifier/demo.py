"""``agentvp demo``: the whole cross-device flow on this machine, over real HTTP.

Initialises a data dir if needed, starts the verifier (embedded SQLite store, demo mode on, so
``/`` is the relying-party demo page) in this process, prepares the wallet simulator (a separate
program: ``wallet-sim``, run as a subprocess - the wallet is another party) and starts its web
page (``wallet-sim serve`` on a free port), creates a presentation through the RP API, renders
its QR code to a PNG, lets the wallet scan and answer it, prints the verified claims and the
URLs of both pages. ``--once`` stops everything after the scripted flow.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from rich.console import Console
from rich.panel import Panel

from verifier.app import create_app
from verifier.devsetup import init_data_dir
from verifier.settings import Settings

__all__ = ["run_demo"]

console = Console(soft_wrap=True)


class _Server(threading.Thread):
    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        config = uvicorn.Config(
            create_app(settings), host=settings.host, port=settings.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)

    def run(self) -> None:
        self.server.run()

    def wait_started(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the verifier did not start (is the port in use?)")
            time.sleep(0.05)


def _wallet_sim(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "wallet_sim.cli", *args]
    # Our own interpreter running our own package: no untrusted input reaches the command.
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)  # noqa: S603


class _WalletPage:
    """``wallet-sim serve`` for the demo wallet directory, on a free loopback port."""

    def __init__(self, wallet: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port: int = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = wallet.parent / "wallet-page.log"
        command = [sys.executable, "-m", "wallet_sim.cli", "serve", "--dir", str(wallet)]
        with self.log.open("ab") as out:
            # Our own interpreter running our own package, with a path we made.
            self.proc = subprocess.Popen(  # noqa: S603
                [*command, "--port", str(self.port)], stdout=out, stderr=subprocess.STDOUT
            )

    def wait_started(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}api/wallet", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the wallet page did not start (see {self.log})")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _step(title: str) -> None:
    console.print(f"[bold cyan]▸[/] {title}")


def _prepare_wallet(data_dir: Path) -> Path:
    wallet = data_dir / "demo" / "wallet"
    if not (wallet / "keys").exists():
        _step("preparing the wallet simulator (holder keys, issuers, trusted verifier CA)")
        done = _wallet_sim(
            "init",
            "--dir",
            str(wallet),
            "--issuers",
            str(data_dir / "demo" / "issuers"),
            "--trust-verifier",
            str(data_dir / "pki" / "root.pem"),
        )
        if done.returncode != 0:
            raise RuntimeError(f"wallet-sim init failed: {done.stderr.strip()}")
    for kind in ("identity", "mandate"):
        listing = _wallet_sim("list", "--dir", str(wallet)).stdout
        if f"\t{kind}\t" not in listing:
            _step(f"issuing a test {kind} credential into the wallet")
            done = _wallet_sim("issue", kind, "--dir", str(wallet))
            if done.returncode != 0:
                raise RuntimeError(f"wallet-sim issue failed: {done.stderr.strip()}")
    return wallet


def _show_result(view: dict[str, Any]) -> None:
    if view["status"] != "verified":
        console.print(f"[red]{view['status']}[/]: {json.dumps(view.get('error'))}")
        return
    for query_id, items in view["result"]["credentials"].items():
        for item in items:
            body = json.dumps(item["claims"], indent=2, ensure_ascii=False)
            console.print(
                Panel(body, title=f"{query_id}: {item['vct']}", subtitle=f"issuer {item['iss']}")
            )
    console.print("[bold green]verified[/]")


def run_demo(*, data_dir: Path, port: int | None, once: bool) -> int:
    os.environ["AGENTVP_DATA_DIR"] = str(data_dir)
    if port is not None:
        os.environ["AGENTVP_PORT"] = str(port)
        os.environ["AGENTVP_PUBLIC_URL"] = f"http://localhost:{port}"
    if not (data_dir / "verifier" / "signing_key.json").exists():
        public_url = os.environ.get("AGENTVP_PUBLIC_URL", "http://localhost:8080")
        _step(f"initialising {data_dir} (dev CA, verifier certificate, demo issuers, presets)")
        init_data_dir(data_dir, public_url=public_url)
    settings = Settings(data_dir=data_dir, demo_mode=True)
    server = _Server(settings)
    server.start()
    server.wait_started()
    base = settings.public_url
    _step(f"verifier running at {base} (store: {settings.store_url})")
    wallet = _prepare_wallet(data_dir)
    wallet_page = _WalletPage(wallet)
    try:
        wallet_page.wait_started()
        return _flow(settings, data_dir, wallet, server, wallet_page, once=once)
    finally:
        wallet_page.stop()


def _flow(
    settings: Settings,
    data_dir: Path,
    wallet: Path,
    server: _Server,
    wallet_page: _WalletPage,
    *,
    once: bool,
) -> int:
    """The scripted presentation, then the two pages' URLs (and serving, unless ``once``)."""
    base = settings.public_url
    headers = {"Authorization": f"Bearer {settings.api_key_list[0]}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        created = client.post("/v1/presentations", json={"profile": "identity"})
        created.raise_for_status()
        view = created.json()
        _step(f"created presentation {view['id'][:12]}… asking for a verified identity")
        qr = data_dir / "demo" / "qr.png"
        qr.write_bytes(client.get(view["qr_png_uri"]).content)
        _step(f"rendered its QR code to {qr}; the wallet scans it")
        scanned = _wallet_sim("scan", str(qr), "--yes", "--dir", str(wallet))
        for line in (scanned.stdout + scanned.stderr).strip().splitlines():
            console.print(f"    [dim]wallet:[/] {line}")
        deadline = time.monotonic() + 20
        while view["status"] not in ("verified", "rejected", "expired", "error"):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
            view = client.get(view["status_uri"]).json()
    _show_result(view)
    console.print(
        f"API docs: {base}/docs    QR of the last request: {data_dir / 'demo' / 'qr.png'}"
    )
    console.print(f"relying-party demo page: {base}/")
    console.print(f"wallet simulator page:   {wallet_page.url}")
    if once:
        server.server.should_exit = True
        server.join(timeout=10)
        return 0 if view["status"] == "verified" else 1
    console.print("serving; press Ctrl-C to stop")
    signal.signal(signal.SIGTERM, _interrupt)  # stop the wallet page on `kill` too
    try:
        server.join()
    except KeyboardInterrupt:
        server.server.should_exit = True
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
