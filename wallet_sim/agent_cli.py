"""``wallet-sim mandate`` and ``wallet-sim agent``: the mandate issuer and the agent holder.

    wallet-sim mandate grant [--max-amount N --budget N --max-uses N --merchant id:name:domain
                              --audience domain]
    wallet-sim agent act --rp URL --api-key K --action JSON [--mandate JTI]   ask an RP, prove
    wallet-sim agent answer "openid4vp://..." [--action JSON]  answer a request an RP handed over
    wallet-sim agent mcp-call --server URL --tool T [--args JSON]

Exit codes as every ``wallet-sim`` command (:mod:`wallet_sim.cli`); the agent commands exit 3
when the agent refuses or the decision is not allow.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from pydantic import ValidationError

from verifier.protocol.errors import first_error
from verifier.protocol.mandates.authority import AgentAction

from .agent import AgentHolder, full_mandate, mandate_summary
from .cli_common import DirOption, console, fail, open_wallet, show_link
from .client import WalletHTTPError
from .issuer import MandateGrant
from .issuing import issue_credential
from .wallet import WalletError

__all__ = ["agent_app", "mandate_app"]

mandate_app = typer.Typer(no_args_is_help=True, help="Mandates for agents.")
agent_app = typer.Typer(no_args_is_help=True, help="Act as the agent holder.")


def _validity(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)
    except (ValueError, IndexError):
        raise fail(f"validity {text!r}: use seconds or a number with s, m, h or d", 1) from None


def _triples(values: list[str] | None, names: tuple[str, ...], what: str) -> list[dict[str, str]]:
    out = []
    for value in values or []:
        parts = value.split(":", len(names) - 1)
        if len(parts) != len(names) or not all(parts):
            raise fail(f"{what} {value!r}: expected {':'.join(names)}", 1)
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
    wallet = open_wallet(dir)
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
        raise fail(str(exc), 1) from None
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
        raise fail(f"{option}: cannot read {value[1:]}: {exc.strerror or exc}", 1) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise fail(f"{option} is not valid JSON: {exc.msg} ({where})", 1) from None


def _action(raw: Any, option: str = "--action") -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise fail(f"{option} must be a JSON object (the agent action)", 1)
    try:
        AgentAction.model_validate({"mandate_jti": "x", **raw})
    except ValidationError as exc:
        raise fail(f"{option}: {first_error(exc)}", 1) from None
    return raw


def _unreachable(rp: str, exc: httpx.HTTPError) -> typer.Exit:
    if isinstance(exc, httpx.HTTPStatusError):
        answer = exc.response
        return fail(f"the relying party at {rp} answered {answer.status_code}: {answer.text[:200]}")
    return fail(f"cannot reach the relying party at {rp}: {type(exc).__name__}")


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
            raise fail("--mandate and the action's mandate_jti differ", 1)
        raw = {**raw, "mandate_jti": mandate}
    holder = AgentHolder(open_wallet(dir))
    try:
        intended = holder.choose(raw)
        claims = full_mandate(holder.mandate(intended.mandate_jti))
        console.print(f"mandate: {intended.mandate_jti} ({mandate_summary(claims)})", markup=False)
        refusals = holder.check(intended)
        if refusals:
            raise fail("refusing, the action is outside the mandate: " + "; ".join(refusals), 3)
        view = holder.act(rp, api_key, policy, intended)
        if view.get("human_request") and view["decision"] == "pending":
            show_link(
                "the relying party needs the human; scan or open with the human's wallet:",
                view["human_request"]["authorization_request_uri"],
            )
        view = holder.wait(rp, api_key, view["id"], timeout=wait)
    except WalletError as exc:
        codes = {"several_mandates": 1, "access_denied": 3}
        raise fail(str(exc), codes.get(exc.error, 2)) from None
    except WalletHTTPError as exc:
        raise fail(str(exc)) from None
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
            raise fail(f"--action: {first_error(exc)}", 1) from None
    holder = AgentHolder(open_wallet(dir))
    try:
        outcome = holder.answer(uri, intended)
    except WalletError as exc:
        raise fail(str(exc), 3 if exc.error == "access_denied" else 2) from None
    except WalletHTTPError as exc:
        raise fail(str(exc)) from None
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach the verifier: {type(exc).__name__}") from None
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
        raise fail("agent mcp-call needs the MCP SDK: pip install 'agentvp[mcp]'", 1) from None

    def show_human(link: str) -> None:
        show_link("the authorization server needs the human; scan or open with their wallet:", link)

    arguments = _json_option(args, "--args")
    if not isinstance(arguments, dict):
        raise fail("--args must be a JSON object", 1)
    holder = AgentHolder(open_wallet(dir), agent=agent)
    try:
        result = McpAgent(holder, say=console.print).run(
            server, tool, arguments, on_human=show_human, timeout=wait
        )
    except WalletError as exc:
        raise fail(f"{exc.error}: {exc}", 3 if exc.error == "access_denied" else 2) from None
    except WalletHTTPError as exc:
        raise fail(str(exc)) from None
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach {server}: {type(exc).__name__}") from None
    except ValueError as exc:
        raise fail(f"{type(exc).__name__}: {exc}", 1) from None
    finally:
        holder.http.close()
    output = result.get("structuredContent") or result.get("content")
    console.print(f"result: {json.dumps(output, ensure_ascii=False)}", markup=False)
    if result.get("isError"):
        raise typer.Exit(3)
