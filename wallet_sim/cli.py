"""``wallet-sim``: the simulated wallet, agent holder and issuers on the command line.

    wallet-sim init [--dir D] [--issuers DIR] [--trust-verifier CA.pem]
    wallet-sim issue identity|mandate [--holder NAME]
    wallet-sim list
    wallet-sim present "openid4vp://?client_id=...&request_uri=..." [--yes | --decline]
    wallet-sim present --dc-api request.json --origin https://rp.example [--yes | --decline]
    wallet-sim scan qr.png [--yes | --decline]
    wallet-sim serve [--port P]                   the wallet's own web page
    wallet-sim revoke|suspend|reinstate CRED      status list entries of issued credentials
    wallet-sim issuer-serve [--port P]            issuer metadata and status lists over HTTP
    wallet-sim issuer-rotate ISSUER               a new issuer signing key
    wallet-sim mandate grant [--max-amount N --budget N --max-uses N --merchant id:name:domain
                              --audience domain]
    wallet-sim agent act --rp URL --api-key K --action JSON [--mandate JTI]   ask an RP, prove
    wallet-sim agent answer "openid4vp://..." [--action JSON]  answer a request an RP handed over
    wallet-sim agent mcp-call --server URL --tool T [--args JSON]
    wallet-sim ap2 checkout|challenge|delegate|pay|present ...   AP2 v0.2 (see `ap2 --help`)

Every failure prints one line and exits non-zero: 2 for a request the wallet refuses or a
verifier error, 1 for a local problem (missing wallet, unreadable file); the agent commands exit
3 when the agent refuses or the decision is not allow.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from verifier.protocol.jose import SigningKey

from .agent import full_mandate
from .agent_cli import agent_app, mandate_app
from .ap2_cli import app as ap2_app
from .cli_common import DirOption, console, err, fail, open_wallet
from .client import WalletHTTPError
from .dc_api import DCAPIWallet, request_of
from .issuer_web import issuer_app
from .issuing import issue_credential, rotate_issuer_key, serve_issuers_at, set_credential_status
from .scan import QRDecodeError, decode_qr
from .store import Wallet, own_dir
from .wallet import WalletError, WalletSimulator

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
DEFAULT_ISSUERS = {
    "ekyc": ("https://ekyc.agentvp.example", "identity"),
    "mandates": ("https://mandates.agentvp.example", "mandate"),
}


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
    issuer_url: Annotated[
        str | None,
        typer.Option(help="Serve the issuers here (status lists, metadata): iss = URL/<name>."),
    ] = None,
) -> None:
    """Create a wallet directory: holder keys, simulated issuers, trusted verifiers."""
    path = dir or own_dir()
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
    if issuer_url is not None:
        serve_issuers_at(wallet, issuer_url)
        console.print(f"issuers served at {issuer_url} (run `wallet-sim issuer-serve`)")
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
    wallet = open_wallet(dir)
    try:
        stored = issue_credential(wallet, kind, now=int(time.time()), issuer=issuer, holder=holder)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc), 1) from None
    status = stored.meta.get("status")
    where = f", status index {status['idx']} in {status['uri']}" if status else ""
    console.print(f"issued {kind} credential {stored.id} to {stored.holder} ({stored.vct}{where})")


@app.command("list")
def list_credentials(dir: DirOption = None) -> None:
    """List the credentials: id, kind, holder, issuer, vct and, for a mandate, its jti."""
    for cred in open_wallet(dir).credentials():
        jti = full_mandate(cred).get("jti") if cred.kind == "mandate" else None
        line = f"{cred.id}\t{cred.kind}\t{cred.holder}\t{cred.iss}\t{cred.vct}"
        typer.echo(line + (f"\t{jti}" if jti else ""))  # plain: rich would expand the tabs


def _set_status(cred_id: str, dir: Path | None, status: str) -> None:
    wallet = open_wallet(dir)
    try:
        uri, idx = set_credential_status(wallet, cred_id, status)
    except (KeyError, FileNotFoundError) as exc:
        raise fail(str(exc).strip("'\""), 1) from None
    console.print(f"{cred_id}: {status} (index {idx} of {uri})")


@app.command()
def revoke(
    credential: Annotated[str, typer.Argument(help="Credential id (see `wallet-sim list`).")],
    dir: DirOption = None,
) -> None:
    """Mark a credential INVALID in its issuer's status list."""
    _set_status(credential, dir, "revoked")


@app.command()
def suspend(
    credential: Annotated[str, typer.Argument(help="Credential id.")],
    dir: DirOption = None,
) -> None:
    """Mark a credential SUSPENDED in its issuer's status list."""
    _set_status(credential, dir, "suspended")


@app.command()
def reinstate(
    credential: Annotated[str, typer.Argument(help="Credential id.")],
    dir: DirOption = None,
) -> None:
    """Mark a credential VALID again."""
    _set_status(credential, dir, "valid")


app.add_typer(mandate_app, name="mandate")  # mandate grant: wallet_sim/agent_cli.py
app.add_typer(agent_app, name="agent")  # agent act|answer|mcp-call: wallet_sim/agent_cli.py
app.add_typer(ap2_app, name="ap2")  # AP2 v0.2 parties: wallet_sim/ap2_cli.py


@app.command("issuer-rotate")
def issuer_rotate(
    name: Annotated[str, typer.Argument(help="Issuer name (see the wallet's issuers/).")],
    dir: DirOption = None,
) -> None:
    """Give an issuer a new signing key; its metadata keeps publishing the old one."""
    kid = rotate_issuer_key(open_wallet(dir), name)
    console.print(f"{name} now signs with kid {kid}")


@app.command("issuer-serve")
def issuer_serve(
    dir: DirOption = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port (default: from the issuers' URL).")] = None,
) -> None:
    """Serve the issuers' status lists and jwt-vc-issuer metadata over HTTP."""
    wallet = open_wallet(dir)
    names = wallet.issuers()
    base = wallet.issuer_data(names[0])["iss"] if names else ""
    bound = port or urlsplit(str(base)).port
    if bound is None:
        raise fail("no port: pass --port or init the wallet with --issuer-url", 1)
    console.print(f"issuers {', '.join(names)} on http://{host}:{bound}")
    import uvicorn  # noqa: PLC0415 - the web server loads for the commands that serve

    uvicorn.run(issuer_app(wallet), host=host, port=bound, log_level="warning")


def _present(uri: str, *, dir: Path | None, yes: bool, decline: bool, method: str | None) -> None:
    simulator = WalletSimulator(open_wallet(dir))
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
            raise fail(f"cannot comply ({exc.error}): {exc}") from None
        for line in proposal.describe():
            console.print(f"  {line}", markup=False, highlight=False)  # verifier-chosen text
        if not yes and not typer.confirm("Share this with the verifier?", default=False):
            simulator.decline(request)
            console.print("declined: sent access_denied")
            return
        answer = simulator.submit(proposal)
    except (WalletError, WalletHTTPError) as exc:
        raise fail(str(exc)) from None
    finally:
        simulator.http.close()
    redirect = answer.get("redirect_uri")
    console.print("submitted" + (f"; continue at {redirect}" if redirect else ""))


def _present_dc_api(path: Path, origin: str, *, dir: Path | None, yes: bool, decline: bool) -> None:
    """Answer a DC API request as the wallet the browser picked; print the DigitalCredential."""
    try:
        request = request_of(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read {path}: {exc}", 1) from None
    simulator = DCAPIWallet(open_wallet(dir), holders=("human",))
    try:
        resolved = simulator.resolve(request, origin)
    except WalletError as exc:
        protocol = request.get("protocol") if isinstance(request, dict) else None
        print(json.dumps({"protocol": protocol, "data": {"error": exc.error}}))
        raise fail(str(exc)) from None
    answer = simulator.decline(resolved)
    if not decline:
        try:
            proposal = simulator.propose(resolved)
        except WalletError as exc:
            print(json.dumps(simulator.decline(resolved, exc.error)))
            raise fail(f"cannot comply ({exc.error}): {exc}") from None
        for line in proposal.describe():
            err.print(f"  {line}", markup=False, highlight=False)  # verifier-chosen text
        if yes or typer.confirm("Share this with the verifier?", default=False, err=True):
            answer = simulator.answer(proposal)
    print(json.dumps(answer))  # what navigator.credentials.get resolves with


@app.command()
def present(
    uri: Annotated[str | None, typer.Argument(help="The openid4vp:// request URL.")] = None,
    dir: DirOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Consent without asking.")] = False,
    decline: Annotated[bool, typer.Option(help="Answer access_denied.")] = False,
    method: Annotated[str | None, typer.Option(help="Force request_uri method get|post.")] = None,
    dc_api: Annotated[
        Path | None,
        typer.Option(help="A Digital Credentials API request (JSON) instead of a URL."),
    ] = None,
    origin: Annotated[
        str | None, typer.Option(help="With --dc-api: the origin of the page that asked.")
    ] = None,
) -> None:
    """Answer an OpenID4VP request URL, or (--dc-api) a request the browser hands the wallet:
    the DigitalCredential ({protocol, data}) is printed as JSON on stdout."""
    if dc_api is not None:
        if uri is not None or origin is None:
            raise fail("--dc-api takes --origin and no request URL", 1)
        _present_dc_api(dc_api, origin, dir=dir, yes=yes, decline=decline)
        return
    if uri is None:
        raise fail("give the openid4vp:// request URL (or --dc-api FILE --origin O)", 1)
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
        raise fail(str(exc), 1) from None
    console.print(f"scanned: {uri}")
    _present(uri, dir=dir, yes=yes, decline=decline, method=method)


@app.command()
def serve(
    dir: DirOption = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8090,
) -> None:
    """Serve the wallet's web page: paste or scan a request, review it, approve or decline."""
    # Imported here so the other commands start without loading the web stack.
    import uvicorn  # noqa: PLC0415

    from .web import create_app  # noqa: PLC0415

    wallet = open_wallet(dir)
    console.print(f"wallet page on http://{host}:{port}/ (wallet {wallet.path})")
    uvicorn.run(create_app(wallet), host=host, port=port, log_level="warning")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
