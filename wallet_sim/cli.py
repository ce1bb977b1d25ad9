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
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx
import qrcode
import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from verifier.protocol.errors import first_error
from verifier.protocol.jose import SigningKey
from verifier.protocol.mandates.authority import AgentAction

from .agent import AgentHolder, full_mandate, mandate_summary
from .ap2_cli import app as ap2_app
from .client import WalletHTTPError
from .dc_api import DCAPIWallet, request_of
from .issuer import MandateGrant
from .issuer_web import issuer_app
from .issuing import issue_credential, rotate_issuer_key, serve_issuers_at, set_credential_status
from .scan import QRDecodeError, decode_qr
from .store import Wallet, own_dir
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
    err.print(f"[red]error:[/] {escape(message)}")  # messages may quote the verifier
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
    wallet = _wallet(dir)
    try:
        stored = issue_credential(wallet, kind, now=int(time.time()), issuer=issuer, holder=holder)
    except (ValueError, FileNotFoundError) as exc:
        raise _fail(str(exc), 1) from None
    status = stored.meta.get("status")
    where = f", status index {status['idx']} in {status['uri']}" if status else ""
    console.print(f"issued {kind} credential {stored.id} to {stored.holder} ({stored.vct}{where})")


@app.command("list")
def list_credentials(dir: DirOption = None) -> None:
    """List the credentials: id, kind, holder, issuer, vct and, for a mandate, its jti."""
    for cred in _wallet(dir).credentials():
        jti = full_mandate(cred).get("jti") if cred.kind == "mandate" else None
        line = f"{cred.id}\t{cred.kind}\t{cred.holder}\t{cred.iss}\t{cred.vct}"
        typer.echo(line + (f"\t{jti}" if jti else ""))  # plain: rich would expand the tabs


def _set_status(cred_id: str, dir: Path | None, status: str) -> None:
    wallet = _wallet(dir)
    try:
        uri, idx = set_credential_status(wallet, cred_id, status)
    except (KeyError, FileNotFoundError) as exc:
        raise _fail(str(exc).strip("'\""), 1) from None
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


mandate_app = typer.Typer(no_args_is_help=True, help="Mandates for agents.")
agent_app = typer.Typer(no_args_is_help=True, help="Act as the agent holder.")
app.add_typer(mandate_app, name="mandate")
app.add_typer(agent_app, name="agent")
app.add_typer(ap2_app, name="ap2")  # AP2 v0.2 parties: wallet_sim/ap2_cli.py


def _validity(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)
    except (ValueError, IndexError):
        raise _fail(f"validity {text!r}: use seconds or a number with s, m, h or d", 1) from None


def _triples(values: list[str] | None, names: tuple[str, ...], what: str) -> list[dict[str, str]]:
    out = []
    for value in values or []:
        parts = value.split(":", len(names) - 1)
        if len(parts) != len(names) or not all(parts):
            raise _fail(f"{what} {value!r}: expected {':'.join(names)}", 1)
        out.append(dict(zip(names, parts, strict=True)))
    return out


@mandate_app.command("grant")
def mandate_grant(
    dir: DirOption = None,
    actions: Annotated[
        str, typer.Option(help="Comma-separated actions.")
    ] = "commerce.checkout,payment.initiate",
    currency: Annotated[str, typer.Option(help="ISO 4217 currency of the limits.")] = "EUR",
    max_amount: Annotated[int, typer.Option(help="Per-order maximum, minor units.")] = 25_000,
    min_amount: Annotated[int, typer.Option(help="Per-order minimum, minor units.")] = 0,
    budget: Annotated[
        int | None, typer.Option(help="Total budget, minor units (none if omitted).")
    ] = None,
    max_uses: Annotated[int | None, typer.Option(help="Most uses (none if omitted).")] = None,
    merchant: Annotated[list[str] | None, typer.Option(help="id:name:domain (repeatable).")] = None,
    category: Annotated[list[str] | None, typer.Option(help="scheme:code (repeatable).")] = None,
    pairwise: Annotated[list[str] | None, typer.Option(help="aud:sub (repeatable).")] = None,
    audience: Annotated[
        list[str] | None,
        typer.Option(help="Relying-party domain it may be shown to (repeatable; omitted: any)."),
    ] = None,
    validity: Annotated[str, typer.Option(help="Lifetime: seconds or Nd/Nh/Nm.")] = "7d",
    purpose: Annotated[str, typer.Option(help="Human-readable purpose (never evaluated).")] = "",
    principal: Annotated[
        str, typer.Option(help="Holder of the principal's identity credential.")
    ] = "human",
    agent: Annotated[str, typer.Option(help="Agent key name (the mandate's cnf).")] = "agent",
    issuer: Annotated[str, typer.Option(help="Mandate issuer name.")] = "mandates",
) -> None:
    """The mandate issuer grants an agent a mandate, bound to the principal's identity (jkt)."""
    wallet = _wallet(dir)
    defaults = MandateGrant()
    grant = MandateGrant(
        actions=tuple(a.strip() for a in actions.split(",") if a.strip()),
        currency=currency,
        max_amount=max_amount,
        min_amount=min_amount,
        budget=budget,
        max_uses=max_uses,
        merchants=_triples(merchant, ("id", "name", "domain"), "merchant") or defaults.merchants,
        categories=_triples(category, ("scheme", "code"), "category") or defaults.categories,
        pairwise_ids=_triples(pairwise, ("aud", "sub"), "pairwise id") or defaults.pairwise_ids,
        audiences=tuple(audience or ()),
        validity=_validity(validity),
        purpose=purpose or defaults.purpose,
    )
    try:
        stored = issue_credential(
            wallet,
            "mandate",
            now=int(time.time()),
            issuer=issuer,
            holder=agent,
            grant=grant,
            principal=principal,
        )
    except (ValueError, FileNotFoundError) as exc:
        raise _fail(str(exc), 1) from None
    jti = full_mandate(stored).get("jti")
    console.print(
        f"granted mandate {stored.id} (jti {jti}) to {agent}: {', '.join(grant.actions)}, "
        f"max {max_amount} {currency}/order"
        + (f", budget {budget}" if budget else "")
        + (f", {max_uses} uses" if max_uses else "")
    )


def _json_option(value: str, option: str) -> Any:
    """The JSON of an option (a literal or ``@file``); one line naming the option if bad."""
    try:
        text = Path(value[1:]).read_text(encoding="utf-8") if value.startswith("@") else value
    except OSError as exc:
        raise _fail(f"{option}: cannot read {value[1:]}: {exc.strerror or exc}", 1) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise _fail(f"{option} is not valid JSON: {exc.msg} ({where})", 1) from None


def _action(raw: Any, option: str = "--action") -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _fail(f"{option} must be a JSON object (the agent action)", 1)
    try:
        AgentAction.model_validate({"mandate_jti": "x", **raw})
    except ValidationError as exc:
        raise _fail(f"{option}: {first_error(exc)}", 1) from None
    return raw


def _unreachable(rp: str, exc: httpx.HTTPError) -> typer.Exit:
    if isinstance(exc, httpx.HTTPStatusError):
        answer = exc.response
        return _fail(
            f"the relying party at {rp} answered {answer.status_code}: {answer.text[:200]}"
        )
    return _fail(f"cannot reach the relying party at {rp}: {type(exc).__name__}")


@agent_app.command("act")
def agent_act(
    rp: Annotated[str, typer.Option(help="The verifier (agentvp) base URL.")],
    api_key: Annotated[str, typer.Option(envvar="AGENTVP_API_KEY", help="RP API key.")],
    action: Annotated[str, typer.Option(help="The action as JSON (or @file).")],
    policy: Annotated[str, typer.Option(help="The RP's policy name.")] = "shop-checkout",
    mandate: Annotated[
        str | None,
        typer.Option(help="The mandate's jti (default: the only mandate whose limits fit)."),
    ] = None,
    dir: DirOption = None,
    wait: Annotated[int, typer.Option(help="Seconds to wait for the human on step-up.")] = 300,
) -> None:
    """Ask the RP to accept an action, prove the mandate; print the decision and receipt."""
    raw = _action(_json_option(action, "--action"))
    if mandate is not None:
        if raw.get("mandate_jti") not in (None, mandate):
            raise _fail("--mandate and the action's mandate_jti differ", 1)
        raw = {**raw, "mandate_jti": mandate}
    holder = AgentHolder(_wallet(dir))
    try:
        intended = holder.choose(raw)
        claims = full_mandate(holder.mandate(intended.mandate_jti))
        console.print(f"mandate: {intended.mandate_jti} ({mandate_summary(claims)})", markup=False)
        refusals = holder.check(intended)
        if refusals:
            raise _fail("refusing, the action is outside the mandate: " + "; ".join(refusals), 3)
        view = holder.act(rp, api_key, policy, intended)
        if view.get("human_request") and view["decision"] == "pending":
            link = view["human_request"]["authorization_request_uri"]
            console.print(
                "the relying party needs the human; scan or open with the human's wallet:"
            )
            qr = qrcode.QRCode(border=1)
            qr.add_data(link)
            qr.print_ascii(out=sys.stdout)
            console.print(link)
        view = holder.wait(rp, api_key, view["id"], timeout=wait)
    except WalletError as exc:
        codes = {"several_mandates": 1, "access_denied": 3}
        raise _fail(str(exc), codes.get(exc.error, 2)) from None
    except WalletHTTPError as exc:
        raise _fail(str(exc)) from None
    except httpx.HTTPError as exc:
        raise _unreachable(rp, exc) from None
    finally:
        holder.close()
    console.print(
        f"decision: {view['decision']}"
        + (f" ({', '.join(view['reasons'])})" if view["reasons"] else "")
    )
    if view.get("receipt"):
        console.print(f"receipt: {view['receipt']}")
    if view["decision"] != "allow":
        raise typer.Exit(3)


@agent_app.command("answer")
def agent_answer(
    uri: Annotated[
        str, typer.Argument(help="The agent request (openid4vp://...) an RP handed over.")
    ],
    action: Annotated[
        str | None, typer.Option(help="The action the agent means to do, as JSON (or @file).")
    ] = None,
    dir: DirOption = None,
) -> None:
    """Answer an agent request an RP gave the agent: refuse unless its action is in the mandate.

    Exit 3 when the agent refuses (the action is not its own, or outside its mandate), 2 when
    the request itself is bad or the verifier errs, as `wallet-sim present`."""
    intended = None
    if action is not None:
        raw = _action(_json_option(action, "--action"))
        try:
            intended = AgentAction.model_validate(raw)
        except ValidationError as exc:
            raise _fail(f"--action: {first_error(exc)}", 1) from None
    holder = AgentHolder(_wallet(dir))
    try:
        outcome = holder.answer(uri, intended)
    except WalletError as exc:
        raise _fail(str(exc), 3 if exc.error == "access_denied" else 2) from None
    except WalletHTTPError as exc:
        raise _fail(str(exc)) from None
    except httpx.HTTPError as exc:
        raise _fail(f"cannot reach the verifier: {type(exc).__name__}") from None
    finally:
        holder.close()
    redirect = outcome.get("redirect_uri")
    console.print(
        "presented the mandate with a KB-JWT over the action"
        + (f"; continue at {redirect}" if redirect else ""),
        markup=False,
    )


@agent_app.command("mcp-call")
def agent_mcp_call(
    server: Annotated[str, typer.Option(help="The MCP endpoint, e.g. http://127.0.0.1:8765/mcp.")],
    tool: Annotated[str, typer.Option(help="The tool to call.")],
    args: Annotated[str, typer.Option("--args", help="Tool arguments as JSON (or @file).")] = "{}",
    dir: DirOption = None,
    agent: Annotated[str, typer.Option(help="Agent key name (holds the mandate).")] = "agent",
    wait: Annotated[int, typer.Option(help="Seconds to wait for the human on step-up.")] = 300,
) -> None:
    """Call an agentvp-protected MCP tool: 401, authorize with DPoP, present the mandate,
    (step-up: show the human's link), token, call again with DPoP; print the tool's result."""
    try:
        from .mcp_agent import McpAgent  # noqa: PLC0415 - the MCP SDK loads for this command only
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != "mcp":
            raise
        raise _fail("agent mcp-call needs the MCP SDK: pip install 'agentvp[mcp]'", 1) from None

    def show_human(link: str) -> None:
        console.print("the authorization server needs the human; scan or open with their wallet:")
        qr = qrcode.QRCode(border=1)
        qr.add_data(link)
        qr.print_ascii(out=sys.stdout)
        console.print(link)
        sys.stdout.flush()

    arguments = _json_option(args, "--args")
    if not isinstance(arguments, dict):
        raise _fail("--args must be a JSON object", 1)
    holder = AgentHolder(_wallet(dir), agent=agent)
    try:
        result = McpAgent(holder, say=console.print).run(
            server, tool, arguments, on_human=show_human, timeout=wait
        )
    except WalletError as exc:
        raise _fail(f"{exc.error}: {exc}", 3 if exc.error == "access_denied" else 2) from None
    except WalletHTTPError as exc:
        raise _fail(str(exc)) from None
    except httpx.HTTPError as exc:
        raise _fail(f"cannot reach {server}: {type(exc).__name__}") from None
    except ValueError as exc:
        raise _fail(f"{type(exc).__name__}: {exc}", 1) from None
    finally:
        holder.http.close()
    output = result.get("structuredContent") or result.get("content")
    console.print(f"result: {json.dumps(output, ensure_ascii=False)}", markup=False)
    if result.get("isError"):
        raise typer.Exit(3)


@app.command("issuer-rotate")
def issuer_rotate(
    name: Annotated[str, typer.Argument(help="Issuer name (see the wallet's issuers/).")],
    dir: DirOption = None,
) -> None:
    """Give an issuer a new signing key; its metadata keeps publishing the old one."""
    kid = rotate_issuer_key(_wallet(dir), name)
    console.print(f"{name} now signs with kid {kid}")


@app.command("issuer-serve")
def issuer_serve(
    dir: DirOption = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port (default: from the issuers' URL).")] = None,
) -> None:
    """Serve the issuers' status lists and jwt-vc-issuer metadata over HTTP."""
    wallet = _wallet(dir)
    names = wallet.issuers()
    base = wallet.issuer_data(names[0])["iss"] if names else ""
    bound = port or urlsplit(str(base)).port
    if bound is None:
        raise _fail("no port: pass --port or init the wallet with --issuer-url", 1)
    console.print(f"issuers {', '.join(names)} on http://{host}:{bound}")
    uvicorn.run(issuer_app(wallet), host=host, port=bound, log_level="warning")


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
            console.print(f"  {line}", markup=False, highlight=False)  # verifier-chosen text
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


def _present_dc_api(path: Path, origin: str, *, dir: Path | None, yes: bool, decline: bool) -> None:
    """Answer a DC API request as the wallet the browser picked; print the DigitalCredential."""
    try:
        request = request_of(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot read {path}: {exc}", 1) from None
    simulator = DCAPIWallet(_wallet(dir), holders=("human",))
    try:
        resolved = simulator.resolve(request, origin)
    except WalletError as exc:
        protocol = request.get("protocol") if isinstance(request, dict) else None
        print(json.dumps({"protocol": protocol, "data": {"error": exc.error}}))
        raise _fail(str(exc)) from None
    answer = simulator.decline(resolved)
    if not decline:
        try:
            proposal = simulator.propose(resolved)
        except WalletError as exc:
            print(json.dumps(simulator.decline(resolved, exc.error)))
            raise _fail(f"cannot comply ({exc.error}): {exc}") from None
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
            raise _fail("--dc-api takes --origin and no request URL", 1)
        _present_dc_api(dc_api, origin, dir=dir, yes=yes, decline=decline)
        return
    if uri is None:
        raise _fail("give the openid4vp:// request URL (or --dc-api FILE --origin O)", 1)
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

    wallet = _wallet(dir)
    console.print(f"wallet page on http://{host}:{port}/ (wallet {wallet.path})")
    uvicorn.run(create_app(wallet), host=host, port=port, log_level="warning")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
