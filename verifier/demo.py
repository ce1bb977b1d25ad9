"""``agentvp demo``: the whole cross-device flow on this machine, over real HTTP.

Initialises a data dir if needed, starts the verifier (embedded SQLite store, demo mode on, so
``/`` is the relying-party demo page) in this process, where its public URL points
(:mod:`verifier.setup.startup`), prepares the wallet simulator (a separate program:
``wallet-sim``, run as a subprocess - the wallet is another party; its directory is
``<data dir>/demo/wallet``) and starts its web page (``wallet-sim serve`` on a free port),
creates a presentation through the RP API, renders its QR code to a PNG, lets the wallet scan
and answer it, prints the verified claims and the URLs of both pages. Then an agent checkout: a
fresh mandate for the agent (``wallet-sim mandate grant``), an agent verification under the
``shop-checkout`` policy, the agent's answer (``wallet-sim agent answer``), the person's step-up
on a first checkout, the decision and its receipt. Then an AP2 human-not-present purchase
(:mod:`verifier.demo_ap2`): open mandate signed through the wallet, one payment accepted, one over
budget rejected. ``--once`` stops everything after the scripted flows (exit 0 only if all
succeeded) and prints no page URLs: nothing serves them.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import uvicorn
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from verifier.app import create_app
from verifier.demo_ap2 import ap2_purchase, prepare_ap2_trust
from verifier.settings import Settings
from verifier.setup.data_dir import init_data_dir
from verifier.setup.startup import bind_address, check_port_free, load_settings

__all__ = ["run_demo"]

console = Console(soft_wrap=True)
# What the wallet simulator needs beyond the verifier (the `wallet` extra).
WALLET_MODULES = ("zxingcpp", "sd_jwt")


class _Server(threading.Thread):
    def __init__(self, settings: Settings, host: str, port: int) -> None:
        super().__init__(daemon=True)
        config = uvicorn.Config(
            create_app(settings),
            host=host,
            port=port,
            log_level="warning",
            timeout_keep_alive=settings.keep_alive_timeout,
            proxy_headers=False,  # the app decides (AGENTVP_TRUSTED_PROXIES)
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


def _mandate_jti(wallet: Path) -> str | None:
    """A mandate ``jti`` in the demo wallet (the last column of ``wallet-sim list``)."""
    jti = None
    for line in _wallet_sim("list", "--dir", str(wallet)).stdout.splitlines():
        fields = line.split("\t")
        if len(fields) == 6 and fields[1] == "mandate":
            jti = fields[5].strip()
    return jti


def _echo(who: str, done: subprocess.CompletedProcess[str]) -> None:
    for line in (done.stdout + done.stderr).strip().splitlines():
        console.print(f"    [dim]{who}:[/] {escape(line)}", highlight=False)


def _wait_agent(client: httpx.Client, av_id: str, *, step_up: bool) -> dict[str, Any]:
    """Poll the agent verification until decided (or, with ``step_up``, until the person is due)."""
    deadline = time.monotonic() + 20
    while True:
        view: dict[str, Any] = client.get(f"/v1/agent-verifications/{av_id}").json()
        human = view.get("human_request") or {}
        if view["decision"] != "pending" or time.monotonic() > deadline:
            return view
        if step_up and human.get("status") in ("pending", "request_retrieved"):
            agent = view["agent_request"]["status"]
            if agent not in ("pending", "request_retrieved"):
                return view
        time.sleep(0.2)


def _agent_checkout(client: httpx.Client, wallet: Path) -> dict[str, Any] | None:
    """An agent pays 129.90 EUR at Shop A under ``shop-checkout``: mandate, step-up, receipt."""
    _step("the mandate issuer grants the agent a mandate for the person (bound by principal.jkt)")
    granted = _wallet_sim("mandate", "grant", "--dir", str(wallet))
    found = re.search(r"\(jti (\S+)\)", granted.stdout)
    jti = found.group(1) if found else None
    if granted.returncode != 0 or jti is None:
        console.print(f"[red]wallet-sim mandate grant failed:[/] {granted.stderr.strip()}")
        return None
    action = {
        "action": "payment.initiate",
        "transaction_id": f"ord-{int(time.time())}",
        "payee": {"id": "merchant-4711", "name": "Shop A", "domain": "shop-a.example"},
        "payment_amount": {"amount": 12990, "currency": "EUR"},
        "mandate_jti": jti,
    }
    created = client.post(
        "/v1/agent-verifications", json={"policy": "shop-checkout", "action": action}
    )
    if created.status_code != 201:
        console.print(f"[yellow]agent checkout skipped:[/] {created.text}")
        return None
    view: dict[str, Any] = created.json()
    _step(f"agent verification {view['id'][:12]}…: the agent asks to pay 129.90 EUR to Shop A")
    uri = view["agent_request"]["authorization_request_uri"]
    _echo(
        "agent",
        _wallet_sim("agent", "answer", uri, "--action", json.dumps(action), "--dir", str(wallet)),
    )
    view = _wait_agent(client, view["id"], step_up=True)
    human = view.get("human_request")
    if view["decision"] == "pending" and human:
        _step("the policy wants the person for this checkout: their wallet confirms the action")
        link = human["authorization_request_uri"]
        _echo("wallet", _wallet_sim("present", link, "--yes", "--dir", str(wallet)))
        view = _wait_agent(client, view["id"], step_up=False)
    return view


def _show_decision(view: dict[str, Any] | None) -> bool:
    if view is None:
        return False
    colour = "green" if view["decision"] == "allow" else "red"
    reasons = f" ({', '.join(view['reasons'])})" if view["reasons"] else ""
    console.print(f"[bold {colour}]decision: {view['decision']}[/]{reasons}")
    if view.get("receipt"):
        console.print(f"receipt (check it with `agentvp receipt verify`): {view['receipt'][:48]}…")
    return bool(view["decision"] == "allow")


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


def _check_wallet_packages() -> None:
    """The demo runs the wallet simulator: it needs ``agentvp[wallet]``."""
    missing = []
    for name in WALLET_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise RuntimeError(
            f"agentvp demo runs the wallet simulator, which needs {', '.join(missing)}: "
            "pip install 'agentvp[wallet]'"
        )


def run_demo(*, data_dir: Path, port: int | None, once: bool) -> int:
    _check_wallet_packages()
    os.environ["AGENTVP_DATA_DIR"] = str(data_dir)
    if port is not None:
        os.environ["AGENTVP_PORT"] = str(port)
        os.environ["AGENTVP_PUBLIC_URL"] = f"http://localhost:{port}"
    if not (data_dir / "verifier" / "signing_key.json").exists():
        public_url = os.environ.get("AGENTVP_PUBLIC_URL", "http://localhost:8080")
        _step(f"initialising {data_dir} (dev CA, verifier certificate, demo issuers, presets)")
        init_data_dir(data_dir, public_url=public_url)
    prepare_ap2_trust(data_dir)  # a demo merchant whose checkout JWTs are trusted
    settings = load_settings({"port": "--port"}, data_dir=data_dir, demo_mode=True)
    host, bind_port = bind_address(settings)
    check_port_free(host, bind_port)
    server = _Server(settings, host, bind_port)
    server.start()
    server.wait_started()
    base = settings.public_url
    _step(f"verifier running at {base} (store: {settings.store_url})")
    wallet = _prepare_wallet(data_dir)
    _step(f"the demo wallet is {wallet} (e.g. `wallet-sim list --dir {wallet}`)")
    if once:  # nothing serves on after the flow: no wallet page to start
        return _flow(settings, data_dir, wallet, server, None)
    wallet_page = _WalletPage(wallet)
    try:
        wallet_page.wait_started()
        return _flow(settings, data_dir, wallet, server, wallet_page)
    finally:
        wallet_page.stop()


def _flow(
    settings: Settings,
    data_dir: Path,
    wallet: Path,
    server: _Server,
    wallet_page: _WalletPage | None,
) -> int:
    """The scripted presentation and agent checkout, then the pages' URLs and serving on - or,
    without a wallet page (``--once``), the exit code (0: every flow succeeded)."""
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
        _echo("wallet", scanned)
        deadline = time.monotonic() + 20
        while view["status"] not in ("verified", "rejected", "expired", "error"):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
            view = client.get(view["status_uri"]).json()
        _show_result(view)
        checkout = _agent_checkout(client, wallet)
        allowed = _show_decision(checkout)
    ap2_done = ap2_purchase(base, settings.api_key_list[0], data_dir, wallet)
    console.print(f"QR of the last request: {data_dir / 'demo' / 'qr.png'}")
    console.print(f"demo wallet: {wallet} (wallet-sim … --dir {wallet})")
    if wallet_page is None:
        console.print("--once: the verifier has stopped; run `agentvp demo` to use the pages")
        server.server.should_exit = True
        server.join(timeout=10)
        return 0 if view["status"] == "verified" and allowed and ap2_done else 1
    console.print(f"API docs:                {base}/docs")
    console.print(f"relying-party demo page: {base}/")
    jti = checkout["action"]["mandate_jti"] if checkout else _mandate_jti(wallet)
    if jti:
        console.print(f"agent checkout page:     {base}/agent#mandate_jti={quote(jti, safe=':')}")
    console.print(f"wallet simulator page:   {wallet_page.url}")
    console.print("serving; press Ctrl-C to stop")
    signal.signal(signal.SIGTERM, _interrupt)  # stop the wallet page on `kill` too
    try:
        server.join()
    except KeyboardInterrupt:
        server.server.should_exit = True
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
