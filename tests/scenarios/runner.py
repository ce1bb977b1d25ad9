"""Runs the agent-checkout scenario folders over real HTTP.

One world for all scenarios: a verifier (`agentvp serve`, SQLite), the simulator's issuer server
(status lists for both issuers, static keys in the trust file), and one wallet directory in which
each scenario has its own holders (`human-<name>`, `agent-<name>`, `stranger-<name>`) and its own
policy (`<name>`: the default shop-checkout policy with the scenario's overrides).

Agent modes: ``honest`` (the agent holder with its own checks), ``reckless`` (presents whatever
it is asked, so the *verifier* must catch the problem), ``withhold_payee`` (a reckless agent that
leaves the matching merchant undisclosed), ``replay`` (re-sends the previous step's vp_token).
Human modes: ``approve``, ``decline``, ``stranger`` (someone else's identity), ``without_<claim>``.
"""

from __future__ import annotations

import contextlib
import copy
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import free_port
from tests.e2e.harness import (
    RP,
    IssuerServer,
    Verifier,
    make_data_dir,
    start_verifier,
    trust_issuer_keys,
    wallet_with_served_issuers,
)
from verifier.protocol import DCQLQuery
from verifier.protocol.mandates.authority import AgentAction
from verifier.protocol.oid4vp.response import direct_post_form, encrypted_form
from verifier.setup.data_dir import default_policies
from wallet_sim.agent import AgentHolder, full_mandate
from wallet_sim.issuer import IdentitySubject, MandateGrant
from wallet_sim.issuing import issue_credential, set_credential_status
from wallet_sim.store import Wallet
from wallet_sim.wallet import WalletError, WalletSimulator

HERE = Path(__file__).resolve().parent
STATUS_MAX_AGE = 1
# The issuer server is another process on a busy machine: under load it has taken longer than
# the default 5 s to serve a status list (a `status_list_unavailable` deny in a race test).
OUTBOUND_TIMEOUT = 60
DEFAULT_ACTION = {
    "action": "payment.initiate",
    "transaction_id": "ord-1",
    "payee": {"id": "merchant-4711", "name": "Shop A", "domain": "shop-a.example"},
    "category": {"scheme": "iso18245", "code": "5942"},
    "payment_amount": {"amount": 8990, "currency": "EUR"},
}


def scenario_dirs() -> list[Path]:
    return sorted(p for p in HERE.iterdir() if (p / "scenario.yaml").exists())


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((path / "scenario.yaml").read_text())
    return data


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        out[key] = (
            merge(out[key], value)
            if isinstance(value, dict) and isinstance(out.get(key), dict)
            else value
        )
    return out


def policy_for(scenario: dict[str, Any]) -> dict[str, Any]:
    base = default_policies()["shop-checkout"]
    base["mandate"]["status_required"] = True
    base["identity"]["required_when"] = [{"amount_minor_gt": 25000}]
    return merge(base, scenario.get("policy", {}))


@dataclass
class World:
    root: Path
    verifier: Verifier
    rp: RP
    wallet: Wallet
    issuers: IssuerServer
    last_vp: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls, root: Path, scenarios: dict[str, dict[str, Any]], **env: str) -> World:
        vport, iport = free_port(), free_port()
        data = root / "verifier"
        key = make_data_dir(data, f"http://localhost:{vport}")
        wallet = wallet_with_served_issuers(root, data, iport)
        trust_issuer_keys(wallet, data)
        policy = yaml.safe_load((data / "policy.yaml").read_text())
        for name, scenario in scenarios.items():
            rules = policy_for(scenario)
            rules["mandate"]["accepted_issuers"] = [wallet.issuer_data("mandates")["iss"]]
            rules["identity"]["accepted_issuers"] = [wallet.issuer_data("ekyc")["iss"]]
            policy["policies"][name] = rules
        (data / "policy.yaml").write_text(yaml.safe_dump(policy))
        issuers = IssuerServer(wallet.path, iport)
        try:
            verifier = start_verifier(
                data,
                port=vport,
                outbound_allow_hosts="localhost,127.0.0.1",
                status_list_max_age=str(STATUS_MAX_AGE),
                **{"outbound_timeout": str(OUTBOUND_TIMEOUT), **env},
            )
        except BaseException:
            issuers.stop()  # never leave the issuer server running
            raise
        return cls(root, verifier, RP(verifier.url, key), wallet, issuers)

    def stop(self) -> None:
        self.rp.close()
        self.verifier.stop()
        self.issuers.stop()

    # ----------------------------------------------------------------- credentials

    def prepare(self, name: str, scenario: dict[str, Any]) -> str:
        """Issue the scenario's identities and mandate; return the mandate's credential id."""
        setup = scenario.get("setup", {})
        now = int(time.time())
        subject = IdentitySubject(**scenario.get("identity", {}))
        issue_credential(self.wallet, "identity", now=now, holder=f"human-{name}", subject=subject)
        issue_credential(
            self.wallet, "identity", now=now, holder=f"stranger-{name}", subject=subject
        )
        grant = MandateGrant(**scenario.get("grant", {}))
        mandate = issue_credential(
            self.wallet,
            "mandate",
            now=now - setup.get("mandate_issued_ago", 0),
            holder=f"agent-{name}",
            principal=f"human-{name}",
            grant=grant,
        )
        if setup.get("revoke_mandate"):
            set_credential_status(self.wallet, mandate.id, "revoked")
            time.sleep(STATUS_MAX_AGE + 0.2)  # let any cached copy of the list expire
        return mandate.id

    # ----------------------------------------------------------------- one step

    def run_step(
        self,
        name: str,
        policy: str,
        mandate_id: str,
        step: dict[str, Any],
        *,
        rp: RP | None = None,
    ) -> dict[str, Any]:
        """Run one step through ``rp`` (default: the world's verifier)."""
        rp = rp or self.rp
        holder = AgentHolder(self.wallet, agent=f"agent-{name}")
        view, action = self.start_step(policy, mandate_id, step, rp=rp)
        mode = step.get("agent", "honest")
        uri = view["agent_request"]["authorization_request_uri"]
        try:
            with contextlib.suppress(WalletError):  # an agent that refuses tells the verifier so
                self._agent(mode, holder, mandate_id, uri, action)
        finally:
            holder.close()
        human = step.get("human")
        view = self._wait(rp, view["id"], until_human=human is not None)
        if human is not None and view.get("human_request"):
            self._human(name, human, view["human_request"]["authorization_request_uri"])
        return self._wait(rp, view["id"])

    def start_step(
        self, policy: str, mandate_id: str, step: dict[str, Any], *, rp: RP | None = None
    ) -> tuple[dict[str, Any], AgentAction]:
        """Create the step's agent verification (``POST /v1/agent-verifications``): its view and
        the action (``step["action"]`` over the default checkout, bound to the mandate)."""
        jti = full_mandate(self.wallet.credential(mandate_id)).get("jti")
        raw = merge(DEFAULT_ACTION, step.get("action", {}))
        raw.setdefault("mandate_jti", jti)
        response = (rp or self.rp).http.post(
            "/v1/agent-verifications", json={"policy": policy, "action": raw}
        )
        assert response.status_code == 201, response.text
        return response.json(), AgentAction.model_validate(raw)

    def answer_form(
        self, holder: str, uri: str, *, credential: str | None = None
    ) -> tuple[str, dict[str, str]]:
        """What ``holder``'s wallet (only ``credential``, if given) would post for the request at
        ``uri``: the response URI and the form, not yet sent. The request object is fetched
        (the transaction becomes ``request_retrieved``)."""
        credentials = [credential] if credential is not None else None
        simulator = WalletSimulator(self.wallet, holders=[holder], credentials=credentials)
        try:
            request = simulator.resolve(uri)
            params = {"vp_token": simulator.propose(request).presentation.vp_token}
            params["state"] = request.state or ""
        finally:
            simulator.http.close()
        if request.response_mode == "direct_post.jwt":
            return request.response_uri, encrypted_form(params, request.client_metadata)
        return request.response_uri, direct_post_form(params)

    @staticmethod
    def _wait(
        rp: RP, av_id: str, *, until_human: bool = False, timeout: float = 20
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            view: dict[str, Any] = rp.http.get(f"/v1/agent-verifications/{av_id}").json()
            if view["decision"] != "pending" or (until_human and view.get("human_request")):
                return view
            if time.monotonic() > deadline:
                return view
            time.sleep(0.05)

    def _agent(
        self, mode: str, holder: AgentHolder, mandate_id: str, uri: str, action: AgentAction
    ) -> None:
        if mode == "honest":
            holder.answer(uri, action)
            return
        simulator = WalletSimulator(self.wallet, holders=[holder.agent], credentials=[mandate_id])
        try:
            request = simulator.resolve(uri)
            if mode == "replay":
                stolen = {"vp_token": self.last_vp[holder.agent], "state": request.state}
                simulator.http.post_response(
                    request.response_uri, encrypted_form(stolen, request.client_metadata)
                )
                return
            if mode == "withhold_payee":
                request = replace(request, dcql_query=_without_claim(request.dcql_query, "payee"))
            proposal = simulator.propose(request)
            self.last_vp[holder.agent] = proposal.presentation.vp_token
            simulator.submit(proposal)
        finally:
            simulator.http.close()

    def _human(self, name: str, mode: str, uri: str) -> None:
        who = f"stranger-{name}" if mode == "stranger" else f"human-{name}"
        simulator = WalletSimulator(self.wallet, holders=[who])
        try:
            request = simulator.resolve(uri)
            if mode == "decline":
                simulator.decline(request)
                return
            if mode.startswith("without_"):
                request = replace(request, dcql_query=_without_path(request.dcql_query, mode[8:]))
            simulator.submit(simulator.propose(request))
        finally:
            simulator.http.close()


def _without_claim(query: DCQLQuery, claim_id: str) -> DCQLQuery:
    """The query as a cheating holder reads it: one optional claim ignored."""
    raw = query.as_json()
    cred = raw["credentials"][0]
    cred["claims"] = [c for c in cred["claims"] if c.get("id") != claim_id]
    cred["claim_sets"] = [s for s in cred.get("claim_sets", []) if claim_id not in s]
    return DCQLQuery.parse(raw)


def _without_path(query: DCQLQuery, last: str) -> DCQLQuery:
    raw = query.as_json()
    cred = raw["credentials"][0]
    cred["claims"] = [c for c in cred["claims"] if c["path"][-1] != last]
    return DCQLQuery.parse(raw)
