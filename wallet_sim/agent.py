"""The agent holder: a deterministic signer between an (untrusted) planner and the agent key.

Before anything is signed it checks, on the *full* mandate it holds:

1. the request's ``transaction_data`` is exactly the action it was asked to perform (a relying
   party cannot get the agent to sign something else);
2. that action is inside the mandate - the same stateless rules the verifier applies
   (:func:`verifier.protocol.mandates.authority.evaluate_authority`), so a prompt-injected planner
   cannot spend outside its limits (agent-mandates §6.3, T13). That includes the mandate's own
   shape: a mandate whose issuer made a restriction selectively disclosable, or whose
   constraints are malformed, unknown or duplicated, is refused here as the verifier would.

It then presents only the mandate (the agent's own key), with a KB-JWT over the action. If the
relying party needs the human (step-up), it hands over the human's link; the human answers from
their own wallet.

Which mandate: the one the action names (``mandate_jti``); else the only one whose limits allow
the action (:meth:`AgentHolder.choose`) - never silently the first of several.
When it refuses, the agent says why in the ``error_description`` it sends (``access_denied``:
"action outside the mandate: payee_not_allowed: …"), so the relying party can show the agent's
stated reason.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from verifier.protocol import AgentVPError, parse_transaction_data, reconstruct
from verifier.protocol.mandates.authority import AGENT_ACTION_TYPE, AgentAction, evaluate_authority
from verifier.protocol.sdjwt.disclosures import Reconstructed

from .store import StoredCredential, Wallet
from .wallet import WalletError, WalletSimulator

__all__ = ["AgentHolder", "full_mandate", "mandate_summary"]

FINAL = ("allow", "deny")


def _rebuilt(credential: StoredCredential) -> Reconstructed:
    held = credential.held()
    return reconstruct(copy.deepcopy(held.payload), [d.encoded for d in held.disclosures])


def _oauth_text(text: str, limit: int = 500) -> str:
    """``text`` as an OAuth ``error_description`` may carry it (RFC 6749 §5.2: printable ASCII
    without ``"`` and ``\\``), at most ``limit`` characters."""
    kept = "".join(c if 0x20 <= ord(c) <= 0x7E and c not in '"\\' else "'" for c in text)
    return kept[:limit]


def full_mandate(credential: StoredCredential) -> dict[str, Any]:
    """The mandate's claims with every disclosure applied (what the agent itself knows)."""
    return _rebuilt(credential).claims


def _money(minor: int, currency: str) -> str:
    return f"{minor / 100:.2f} {currency}"


def mandate_summary(claims: Mapping[str, Any]) -> str:
    """One line telling mandates apart: limits, payees, expiry (from the full mandate)."""
    authority = claims.get("authority")
    constraints = authority.get("constraints") if isinstance(authority, dict) else None
    parts: list[str] = []
    for c in constraints if isinstance(constraints, list) else ():
        kind, currency = c.get("type"), str(c.get("currency", ""))
        if kind == "payment.amount_range" and isinstance(c.get("max"), int):
            parts.append(f"max {_money(c['max'], currency)}/order")
        elif kind == "payment.budget" and isinstance(c.get("max"), int):
            parts.append(f"budget {_money(c['max'], currency)}")
        elif kind == "mandate.max_uses" and isinstance(c.get("max"), int):
            parts.append(f"{c['max']} uses")
        elif kind == "checkout.allowed_merchants" and isinstance(c.get("allowed"), list):
            names = [str(m.get("name") or m.get("id")) for m in c["allowed"] if isinstance(m, dict)]
            parts.append("payees " + ", ".join(names))
    if isinstance(claims.get("exp"), int):
        parts.append("until " + time.strftime("%Y-%m-%d", time.gmtime(claims["exp"])))
    return "; ".join(parts) or "no limits"


class AgentHolder:
    def __init__(
        self,
        wallet: Wallet,
        *,
        agent: str = "agent",
        clock: Callable[[], float] = time.time,
        http: httpx.Client | None = None,
    ) -> None:
        self.wallet = wallet
        self.agent = agent
        self.clock = clock
        self._http = http

    @property
    def http(self) -> httpx.Client:
        """The client for the relying party's API, created on first use."""
        if self._http is None:
            self._http = httpx.Client(timeout=10, follow_redirects=False, trust_env=False)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def _mandates(self, jti: str | None) -> list[StoredCredential]:
        mandates = [
            c
            for c in self.wallet.credentials(kind="mandate", holder=self.agent)
            if jti is None or full_mandate(c).get("jti") == jti
        ]
        if not mandates:
            raise WalletError(
                "access_denied", f"agent {self.agent!r} holds no mandate {jti or ''}".strip()
            )
        return mandates

    def mandate(self, jti: str | None = None) -> StoredCredential:
        return self._mandates(jti)[-1]

    def choose(self, raw: Mapping[str, Any]) -> AgentAction:
        """The action bound to a mandate: the one ``mandate_jti`` names, else the only mandate
        whose limits allow it. Several that allow it: ``several_mandates`` (pass one); none,
        among several: ``access_denied`` with each one's reasons. With a single mandate the
        action is bound to it; :meth:`check` then says why it is refused, if it is."""
        if raw.get("mandate_jti"):
            return AgentAction.model_validate(raw)
        options = []
        for credential in self._mandates(None):
            jti = full_mandate(credential).get("jti")
            if isinstance(jti, str):
                action = AgentAction.model_validate({**raw, "mandate_jti": jti})
                options.append((action, self.check(action)))
        fitting = [action for action, refusals in options if not refusals]
        if len(fitting) == 1 or len(options) == 1:
            return (fitting or [options[0][0]])[0]
        if fitting:
            jtis = ", ".join(a.mandate_jti for a in fitting)
            raise WalletError(
                "several_mandates", f"several mandates match: pass --mandate (one of {jtis})"
            )
        refusals = "; ".join(f"{a.mandate_jti}: {', '.join(r)}" for a, r in options)
        raise WalletError("access_denied", f"no mandate allows this action ({refusals})")

    def check(self, action: AgentAction, *, rp_domain: str | None = None) -> list[str]:
        """Reasons the agent must refuse ``action`` (empty: inside its mandate).

        ``rp_domain`` (for ``mandate.audiences``) defaults to the payee's domain: the relying
        party is the payee (a verifier denies a payee other than itself, anti-relay)."""
        if rp_domain is None and action.payee is not None:
            rp_domain = action.payee.domain
        rebuilt = _rebuilt(self.mandate(action.mandate_jti))
        reasons = evaluate_authority(
            rebuilt.claims,
            action,
            layout=rebuilt.layout,
            now=int(self.clock()),
            rp_domain=rp_domain,
        )
        return [f"{r.code}: {r.detail}" for r in reasons]

    def answer(self, uri: str, action: AgentAction | None = None) -> dict[str, object]:
        """Resolve the agent request, refuse anything but ``action`` inside the mandate, present.

        Without ``action`` the agent takes the one the request carries (an RP handed the agent
        its request), and still refuses it unless its own mandate allows it."""
        jti = action.mandate_jti if action is not None else None
        simulator = WalletSimulator(
            self.wallet,
            holders=[self.agent],
            credentials=[c.id for c in self._mandates(jti)],
            clock=self.clock,
        )
        try:
            request = simulator.resolve(uri)
            try:
                entries = [parse_transaction_data(t) for t in request.transaction_data]
            except AgentVPError as exc:
                simulator.decline(request, "invalid_transaction_data", exc.reason)
                raise WalletError("invalid_transaction_data", exc.reason) from None
            ours = [td for td in entries if td.type == AGENT_ACTION_TYPE]
            carried = ours[0].data.get("payload") if len(ours) == 1 else None
            if action is None and isinstance(carried, dict):
                try:
                    action = AgentAction.model_validate(carried)
                except ValueError:
                    action = None
            if action is None or carried != action.model_dump(exclude_none=True):
                simulator.decline(
                    request, "access_denied", "not the action the agent was asked to do"
                )
                raise WalletError("access_denied", "the request binds another action than ours")
            refusals = self.check(action)
            if refusals:
                why = "action outside the mandate: " + "; ".join(refusals)
                simulator.decline(request, "access_denied", _oauth_text(why))
                raise WalletError("access_denied", why)
            simulator.only = {self.mandate(action.mandate_jti).id}
            return simulator.submit(simulator.propose(request))
        finally:
            simulator.http.close()

    def act(self, rp: str, api_key: str, policy: str, action: AgentAction) -> dict[str, Any]:
        """Ask the relying party, answer the agent request; the verification view as it stands."""
        headers = {"Authorization": f"Bearer {api_key}"}
        created = self.http.post(
            f"{rp.rstrip('/')}/v1/agent-verifications",
            json={"policy": policy, "action": action.model_dump(exclude_none=True)},
            headers=headers,
        )
        if created.status_code != 201:
            raise WalletError(
                "invalid_request", f"relying party answered {created.status_code}: {created.text}"
            )
        view: dict[str, Any] = created.json()
        self.answer(view["agent_request"]["authorization_request_uri"], action)
        return self.status(rp, api_key, view["id"])

    def status(self, rp: str, api_key: str, av_id: str) -> dict[str, Any]:
        response = self.http.get(
            f"{rp.rstrip('/')}/v1/agent-verifications/{av_id}",
            headers={"Authorization": f"Bearer {api_key}"},
        )
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def wait(self, rp: str, api_key: str, av_id: str, *, timeout: float = 300.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            view = self.status(rp, api_key, av_id)
            if view["decision"] in FINAL or time.monotonic() > deadline:
                return view
            time.sleep(0.25)
