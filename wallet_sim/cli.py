"""``wallet-sim``: the simulated wallet, agent holder and issuers on the command line.

    wallet-sim init [--dir D] [--issuers DIR] [--trust-verifier CA.pem]
    wallet-sim issue identity|mandate [--holder NAME]
    wallet-sim list
    wallet-sim present "openid4vp://?client_id=...&request_uri=..." [--yes | --decline]
    wallet-sim scan qr.png [--yes | --decline]

Every failure prints one line and exits non-zero: 2 for a request the wallet refuses or a
verifier error, 1 for a local problem (missing wallet, unreadable file).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from verifier.protocol.jose import SigningKey

from .client import WalletHTTPError
from .issuer import (
    IdentitySubject,
    MandateGrant,
    identity_claims,
    mandate_claims,
)
from .scan import QRDecodeError, decode_qr
from .store import Wallet, default_dir
from .wallet import WalletError, WalletSimulator

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DirOption = Annotated[
    Path | None, typer.Option("--dir", help="Wallet directory ($WALLET_SIM_DIR).")
]
DEFAULT_ISSUERS = {
    "ekyc": ("https://ekyc.agentvp.example", "identity"),
    "mandates": ("https://mandates.agentvp.example", "mandate"),
}


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/] {message}")
    return typer.Exit(code)


def _wallet(path: Path | None) -> Wallet:
    try:
        return Wallet.open(path)
    except FileNotFoundError as exc:
        raise _fail(str(exc), 1) from None


@app.command()
def init(
    dir: DirOption = None,
    issuers: Annotated[
        Path | None,
        typer.Option(help="Import issuer key files (e.g. <agentvp data>/demo/issuers)."),
    ] = None,
    trust_verifier: Annotated[
        list[Path] | None, typer.Option(help="CA certificate (PEM) of a verifier to accept.")
    ] = None,
) -> None:
    """Create a wallet directory: holder keys, simulated issuers, trusted verifiers."""
    path = dir or default_dir()
    wallet = Wallet.create(path)
    if issuers is not None:
        for file in sorted(issuers.glob("*.json")):
            data = json.loads(file.read_text(encoding="utf-8"))
            wallet.add_issuer(
                file.stem, iss=data["iss"], kind=data["kind"], key=SigningKey.from_jwk(data["key"])
            )
    for name, (iss, kind) in DEFAULT_ISSUERS.items():
        if name not in wallet.issuers():
            wallet.add_issuer(name, iss=iss, kind=kind, key=SigningKey.generate(kid=f"{name}-1"))
    for index, pem in enumerate(trust_verifier or []):
        wallet.trust_verifier(pem.read_text(encoding="utf-8"), name=f"verifier-{index}")
    console.print(
        f"wallet ready in {path} (holders: human, agent; issuers: {', '.join(wallet.issuers())})"
    )


@app.command()
def issue(
    kind: Annotated[str, typer.Argument(help="identity or mandate")],
    dir: DirOption = None,
    holder: Annotated[str | None, typer.Option(help="Holder key name (default by kind).")] = None,
    issuer: Annotated[str | None, typer.Option(help="Issuer name in the wallet dir.")] = None,
) -> None:
    """Issue a test credential into the wallet (identity to 'human', mandate to 'agent')."""
    wallet = _wallet(dir)
    now = int(time.time())
    if kind == "identity":
        who = holder or "human"
        source = wallet.issuer(issuer or "ekyc")
        claims = identity_claims(IdentitySubject(), iss=source.iss, now=now)
    elif kind == "mandate":
        who = holder or "agent"
        source = wallet.issuer(issuer or "mandates")
        principal = wallet.key("human").thumbprint
        claims = mandate_claims(MandateGrant(), iss=source.iss, now=now, principal_jkt=principal)
    else:
        raise _fail(f"unknown credential kind {kind!r} (identity or mandate)", 1)
    issuance = source.issue(claims, holder_jwk=wallet.key(who, create=True).public_jwk)
    stored = wallet.add_credential(kind=kind, issuance=issuance, holder=who, issued_at=now)
    console.print(f"issued {kind} credential {stored.id} to {who} ({stored.vct})")


@app.command("list")
def list_credentials(dir: DirOption = None) -> None:
    """List the credentials in the wallet."""
    for cred in _wallet(dir).credentials():
        console.print(f"{cred.id}\t{cred.kind}\t{cred.holder}\t{cred.iss}\t{cred.vct}")


def _present(uri: str, *, dir: Path | None, yes: bool, decline: bool, method: str | None) -> None:
    simulator = WalletSimulator(_wallet(dir))
    try:
        request = simulator.resolve(uri, method=method)
        if decline:
            simulator.decline(request)
            console.print("declined: sent access_denied")
            return
        try:
            proposal = simulator.propose(request)
        except WalletError as exc:
            simulator.decline(request, exc.error, str(exc))
            raise _fail(f"cannot comply ({exc.error}): {exc}") from None
        for line in proposal.describe():
            console.print(f"  {line}")
        if not yes and not typer.confirm("Share this with the verifier?", default=False):
            simulator.decline(request)
            console.print("declined: sent access_denied")
            return
        answer = simulator.submit(proposal)
    except (WalletError, WalletHTTPError) as exc:
        raise _fail(str(exc)) from None
    finally:
        simulator.http.close()
    redirect = answer.get("redirect_uri")
    console.print("submitted" + (f"; continue at {redirect}" if redirect else ""))


@app.command()
def present(
    uri: Annotated[str, typer.Argument(help="The openid4vp:// request URL.")],
    dir: DirOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Consent without asking.")] = False,
    decline: Annotated[bool, typer.Option(help="Answer access_denied.")] = False,
    method: Annotated[str | None, typer.Option(help="Force request_uri method get|post.")] = None,
) -> None:
    """Answer an OpenID4VP request URL."""
    _present(uri, dir=dir, yes=yes, decline=decline, method=method)


@app.command()
def scan(
    image: Annotated[Path, typer.Argument(help="PNG/JPEG with the verifier's QR code.")],
    dir: DirOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Consent without asking.")] = False,
    decline: Annotated[bool, typer.Option(help="Answer access_denied.")] = False,
    method: Annotated[str | None, typer.Option(help="Force request_uri method get|post.")] = None,
) -> None:
    """Decode a QR code image and answer the request in it."""
    try:
        uri = decode_qr(image)
    except (QRDecodeError, FileNotFoundError) as exc:
        raise _fail(str(exc), 1) from None
    console.print(f"scanned: {uri}")
    _present(uri, dir=dir, yes=yes, decline=decline, method=method)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
