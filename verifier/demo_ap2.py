"""The AP2 part of ``agentvp demo``: a human-not-present purchase, over real HTTP.

Before the verifier starts, :func:`prepare_ap2_trust` gives the demo a merchant (its key in
``<data>/demo/ap2/merchant.json``, an ``issuers`` entry with ``vct: [ap2.checkout_jwt]`` in the
trust file). :func:`ap2_purchase` then drives the wallet simulator (another program):

1. ``wallet-sim ap2 delegate`` - the person signs an open payment mandate for the agent's key
   through OpenID4VP (``transaction_data`` of type ``delegate``; budget 300 EUR, up to 199 EUR
   per payment, this merchant, this card);
2. ``wallet-sim ap2 checkout`` - the merchant signs a 199 EUR checkout;
   ``wallet-sim ap2 pay`` - the agent closes the mandate for it: **accepted**;
3. a second 199 EUR checkout, paid the same way: **rejected**, over the budget.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from verifier.protocol.jose import SigningKey

__all__ = ["ap2_purchase", "prepare_ap2_trust"]

console = Console(soft_wrap=True)
MERCHANT = "m-demo:Demo Shoe Shop:https://shop.agentvp.example"
ITEM = "sku-sneaker:Gold sneaker:19900"


def _merchant_file(data_dir: Path) -> Path:
    return data_dir / "demo" / "ap2" / "merchant.json"


def prepare_ap2_trust(data_dir: Path) -> None:
    """The demo merchant's key, and its entry in the trust file (once)."""
    path = _merchant_file(data_dir)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(SigningKey.generate(kid="demo-merchant-1").to_jwk()))
        path.chmod(0o600)
    key = SigningKey.from_jwk(json.loads(path.read_text()))
    trust_file = data_dir / "trust.json"
    trust = json.loads(trust_file.read_text()) if trust_file.exists() else {}
    website = MERCHANT.split(":", 2)[2]
    if not any(i.get("iss") == website for i in trust.get("issuers", [])):
        entry = {"iss": website, "jwks": {"keys": [key.public_jwk]}, "vct": ["ap2.checkout_jwt"]}
        trust.setdefault("issuers", []).append(entry)
        trust_file.write_text(json.dumps(trust, indent=1))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "wallet_sim.cli", "ap2", *args]
    # Our own interpreter running our own package: no untrusted input reaches the command.
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)  # noqa: S603


def _pay(base: str, api_key: str, data_dir: Path, wallet: Path) -> tuple[int, dict[str, Any]]:
    checkout = _run(
        "checkout",
        "--merchant",
        MERCHANT,
        "--item",
        ITEM,
        "--key-file",
        str(_merchant_file(data_dir)),
    )
    if checkout.returncode != 0:
        raise RuntimeError(f"wallet-sim ap2 checkout failed: {checkout.stderr.strip()}")
    paid = _run(
        "pay",
        "--rp",
        base,
        "--api-key",
        api_key,
        "--dir",
        str(wallet),
        "--checkout-jwt",
        checkout.stdout.strip(),
        "--payee",
        MERCHANT,
        "--amount",
        "19900",
    )
    try:
        return paid.returncode, json.loads(paid.stdout)
    except ValueError:
        return paid.returncode, {"error": paid.stderr.strip()}


def ap2_purchase(base: str, api_key: str, data_dir: Path, wallet: Path) -> bool:
    """The scripted AP2 purchase; True when the first payment was accepted and the second,
    over budget, rejected."""
    console.print("[bold cyan]▸[/] AP2: the person signs an open payment mandate for the agent")
    delegated = _run(
        "delegate",
        "--rp",
        base,
        "--api-key",
        api_key,
        "--dir",
        str(wallet),
        "--merchant",
        MERCHANT,
        "--amount",
        "19900",
        "--budget",
        "300",
        "--uses",
        "3",
        "--yes",
    )
    console.print(delegated.stdout.strip() or delegated.stderr.strip())
    if delegated.returncode != 0:
        return False
    outcomes = []
    for attempt in ("first", "second"):
        code, result = _pay(base, api_key, data_dir, wallet)
        reasons = [r.get("code") for r in result.get("reasons", [])]
        console.print(
            f"[bold cyan]▸[/] AP2 {attempt} 199.00 EUR payment: {result.get('decision')} "
            f"({result.get('mode')}) {', '.join(str(r) for r in reasons)}"
        )
        outcomes.append((code, result.get("decision"), reasons))
    return outcomes[0][1] == "accept" and outcomes[1][2] == ["budget_exhausted"]
