"""``wallet-sim ap2``: the AP2 v0.2 parties on the command line.

    wallet-sim ap2 merchant-jwks                       the merchant key (for agentvp's trust file)
    wallet-sim ap2 checkout --merchant id:name:site --item id:title:price[:qty]   a checkout JWT
    wallet-sim ap2 challenge --rp URL --api-key K      a fresh AP2 challenge (JSON)
    wallet-sim ap2 delegate --rp URL --api-key K (--closed CHECKOUT_JWT --challenge ID | --open ...)
                            the person signs mandates through OpenID4VP (consent shown; --yes)
    wallet-sim ap2 pay --rp URL --api-key K --checkout-jwt JWT --payee id:name:site --amount N
                            the agent closes the open mandates and asks agentvp (autonomous)
    wallet-sim ap2 present --rp URL --api-key K --challenge ID --checkout-jwt JWT
                            the agent presents the person's closed mandates (human present)

The wallet directory holds the keys (``merchant``, ``agent``, ``human``) and the last signed
delegation (``ap2/delegation.json``). Exit codes: 2 on a refused request, 3 on a rejection.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from verifier.protocol.jose import SigningKey

from .ap2 import closed_checkout, closed_payment, open_payment, sign_checkout_jwt
from .ap2_agent import AP2Error, Delegation, ShoppingAgent
from .cli_common import DirOption, console, fail, open_wallet
from .client import WalletHTTPError
from .store import Wallet
from .wallet import WalletError, WalletSimulator

app = typer.Typer(no_args_is_help=True, help="AP2 v0.2: merchant, shopping agent, the person.")
IDENTITY_VCT = "https://agentvp.example/vct/verified_person/1"
RP = Annotated[str, typer.Option(help="agentvp base URL.")]
KEY = Annotated[str, typer.Option("--api-key", help="agentvp API key.")]


def _fields(text: str, names: tuple[str, ...]) -> dict[str, str]:
    parts = text.split(":", len(names) - 1) if names[-1] != "website" else text.split(":", 2)
    if len(parts) != len(names) or not all(parts):
        raise fail(f"{text!r}: expected {':'.join(names)}", 1)
    return dict(zip(names, parts, strict=True))


def _merchant(text: str) -> dict[str, str]:
    return _fields(text, ("id", "name", "website"))


def _agent(wallet: Wallet, rp: str, api_key: str) -> ShoppingAgent:
    return ShoppingAgent(rp, api_key, wallet.key("agent", create=True))


def _store(wallet: Wallet, delegation: Delegation) -> Path:
    path = wallet.path / "ap2" / "delegation.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"mandate": delegation.mandate, "items": delegation.items}))
    return path


def _load(wallet: Wallet) -> Delegation:
    path = wallet.path / "ap2" / "delegation.json"
    if not path.exists():
        raise fail("no delegation yet: run `wallet-sim ap2 delegate` first", 1)
    data = json.loads(path.read_text())
    return Delegation(data["mandate"], data["items"])


def _decision(result: dict[str, Any]) -> None:
    typer.echo(json.dumps({k: v for k, v in result.items() if k != "receipt"}, indent=1))
    if result.get("decision") != "accept":
        raise typer.Exit(3)


@app.command("merchant-jwks")
def merchant_jwks(dir: DirOption = None) -> None:
    """The merchant's public JWKS (agentvp `issuers` entry, vct ap2.checkout_jwt)."""
    key = open_wallet(dir).key("merchant", create=True)
    typer.echo(json.dumps({"keys": [key.public_jwk]}))


@app.command()
def checkout(
    merchant: Annotated[str, typer.Option(help="id:name:https://website")],
    item: Annotated[list[str], typer.Option(help="id:title:price_minor[:qty]")],
    currency: str = "EUR",
    key_file: Annotated[
        Path | None, typer.Option(help="The merchant's private JWK (default: the wallet's).")
    ] = None,
    dir: DirOption = None,
) -> None:
    """Sign a UCP-shaped checkout as the merchant; prints the checkout JWT."""
    lines = []
    for text in item:
        parts = text.split(":")
        if len(parts) not in (3, 4) or not parts[2].isdigit():
            raise fail(f"item {text!r}: expected id:title:price_minor[:qty]", 1)
        qty = int(parts[3]) if len(parts) == 4 else 1
        lines.append(({"id": parts[0], "title": parts[1], "price": int(parts[2])}, qty))
    if key_file is not None:
        key = SigningKey.from_jwk(json.loads(key_file.read_text(encoding="utf-8")))
    else:
        key = open_wallet(dir).key("merchant", create=True)
    typer.echo(sign_checkout_jwt(key, merchant=_merchant(merchant), lines=lines, currency=currency))


@app.command()
def challenge(rp: RP, api_key: KEY, dir: DirOption = None) -> None:
    """A fresh AP2 challenge from agentvp."""
    typer.echo(json.dumps(_agent(open_wallet(dir), rp, api_key).challenge()))


def _answer(wallet: Wallet, uri: str, yes: bool) -> None:
    simulator = WalletSimulator(wallet, holders={"human"})
    try:
        request = simulator.resolve(uri)
        proposal = simulator.propose(request)
        for line in proposal.describe():
            console.print(line)
        if not yes and not typer.confirm("Sign these mandates?"):
            simulator.decline(request)
            raise fail("declined", 3)
        simulator.submit(proposal)
    except (WalletError, WalletHTTPError) as exc:
        raise fail(str(exc)) from None
    finally:
        simulator.http.close()


@app.command()
def delegate(
    rp: RP,
    api_key: KEY,
    closed: Annotated[str | None, typer.Option(help="Checkout JWT: sign closed mandates.")] = None,
    challenge: Annotated[str | None, typer.Option(help="AP2 challenge id (human present).")] = None,
    merchant: Annotated[list[str] | None, typer.Option(help="id:name:website")] = None,
    amount: Annotated[int, typer.Option(help="Closed: amount; open: per payment max.")] = 20000,
    budget: Annotated[float | None, typer.Option(help="Open: total, major units.")] = None,
    uses: Annotated[int, typer.Option(help="Open: most payments.")] = 3,
    currency: str = "EUR",
    instrument: str = "card-1:card",
    yes: Annotated[bool, typer.Option("--yes", help="Consent without asking.")] = False,
    dir: DirOption = None,
) -> None:
    """The person signs mandates for the agent through OpenID4VP (transaction_data delegate)."""
    wallet = open_wallet(dir)
    agent = _agent(wallet, rp, api_key)
    merchants = [_merchant(m) for m in merchant or []] or [
        {"id": "m-1", "name": "Demo Shop", "website": "https://shop.example"}
    ]
    card = _fields(instrument, ("id", "type"))
    if closed is not None:
        items = [
            closed_checkout(closed),
            closed_payment(
                closed, payee=merchants[0], amount=amount, currency=currency, instrument=card
            ),
        ]
    else:
        recurrence = {"frequency": "ON_DEMAND", "max_occurrences": uses}
        items = [
            open_payment(
                agent.key.public_jwk,
                amount_max=amount,
                currency=currency,
                budget=budget,
                payees=merchants,
                instruments=[card],
                recurrence=recurrence,
            )
        ]
    try:
        tx = agent.request_delegation(items, identity_vct=IDENTITY_VCT, challenge_id=challenge)
        _answer(wallet, tx["authorization_request_uri"], yes)
        delegation = agent.collect(tx["id"])
    except AP2Error as exc:
        raise fail(str(exc)) from None
    finally:
        agent.close()
    console.print(
        f"signed {[i['vct'] for i in delegation.items]}; kept in {_store(wallet, delegation)}"
    )


@app.command()
def pay(
    rp: RP,
    api_key: KEY,
    checkout_jwt: Annotated[str, typer.Option(help="The merchant's checkout JWT.")],
    payee: Annotated[str, typer.Option(help="id:name:website")],
    amount: Annotated[int, typer.Option(help="Minor units.")],
    currency: str = "EUR",
    instrument: str = "card-1:card",
    challenge: Annotated[
        str | None, typer.Option(help="A challenge as JSON {id, nonce, aud} (a shop's page).")
    ] = None,
    dir: DirOption = None,
) -> None:
    """Human not present: close the open mandates for this checkout; agentvp decides."""
    wallet = open_wallet(dir)
    agent = _agent(wallet, rp, api_key)
    given = json.loads(challenge) if challenge else None
    try:
        result = agent.pay(
            _load(wallet),
            challenge=given,
            checkout_jwt=checkout_jwt,
            payee=_merchant(payee),
            amount=amount,
            currency=currency,
            instrument=_fields(instrument, ("id", "type")),
        )
    except AP2Error as exc:
        raise fail(str(exc), 3) from None
    finally:
        agent.close()
    _decision(result)


@app.command()
def present(
    rp: RP,
    api_key: KEY,
    challenge: Annotated[str, typer.Option(help="The challenge the person's mandates answer.")],
    checkout_jwt: Annotated[str, typer.Option(help="The merchant's checkout JWT.")],
    dir: DirOption = None,
) -> None:
    """Human present: present the person's closed mandates (each shown alone)."""
    wallet = open_wallet(dir)
    agent = _agent(wallet, rp, api_key)
    try:
        result = agent.present_direct(
            _load(wallet), challenge_id=challenge, checkout_jwt=checkout_jwt
        )
    except AP2Error as exc:
        raise fail(str(exc)) from None
    finally:
        agent.close()
    _decision(result)
