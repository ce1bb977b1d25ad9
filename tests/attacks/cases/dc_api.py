"""Digital Credentials API (OpenID4VP 1.0 Appendix A): answers bound to the wrong origin or
audience, replayed into another transaction, or crossing between the browser channel and the
wallet endpoints of a QR transaction.

A DC API answer reaches the verifier through the relying party's own backend (``POST
/v1/presentations/{id}/dc-response`` with its API key), so the first well-formed answer to a
pending DC API transaction is processed: a failed check makes it ``rejected`` with the check's
code (:class:`Rejected`). Anything that is not such an answer - another flow's transaction, a
second answer, a malformed body, a DC API transaction reached through the wallet endpoints - is
refused and changes nothing (:class:`Refused`).
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tests.attacks import forge
from tests.attacks.harness import (
    DC_API_ORIGINS,
    FORM,
    HONEST,
    STEPUP_POLICY,
    Attack,
    Case,
    Refused,
    Rejected,
    World,
    now,
)
from verifier.protocol.jose import SigningKey
from verifier.protocol.oid4vp.dc_api_wallet import DCAPIRequest, dc_api_answer
from verifier.protocol.oid4vp.response import encrypted_form
from wallet_sim.dc_api import DCAPIProposal, DCAPIWallet

ORIGIN, OTHER_ORIGIN = DC_API_ORIGINS
SOURCE = "OpenID4VP A.4"


@dataclass
class DCLive:
    """A DC API transaction whose request the wallet verified for :data:`ORIGIN`, with the
    honest answer it would return through the browser (not yet sent)."""

    world: World
    view: dict[str, Any]
    request: DCAPIRequest
    proposal: DCAPIProposal
    watch: list[str] = field(default_factory=list)
    av: str | None = None

    @property
    def tx(self) -> str:
        return str(self.view["id"])

    @property
    def vp_token(self) -> dict[str, list[str]]:
        return copy.deepcopy(self.proposal.presentation.vp_token)

    def credential(self, vp_token: Any = HONEST, **params: Any) -> dict[str, Any]:
        """The ``DigitalCredential`` the browser would return: the honest answer, with
        ``vp_token`` and response parameters replaced as given."""
        body = {"vp_token": self.vp_token if vp_token is HONEST else vp_token, **params}
        return dc_api_answer(self.request, body)

    def rebound(self, holder: str = "human", **kb: Any) -> dict[str, list[str]]:
        """The honest vp_token with its KB-JWT re-signed with changed claims (e.g. ``aud``)."""
        vp = self.vp_token
        query_id = next(iter(vp))
        presented = vp[query_id][0].rsplit("~", 1)[0] + "~"
        kb.setdefault("aud", self.request.audience)
        kb.setdefault("nonce", self.request.nonce)
        kb.setdefault("iat", now())
        kb.setdefault("transaction_data", self.request.transaction_data)
        vp[query_id] = [presented + forge.kb_jwt(self.world.key(holder), presented, **kb)]
        return vp

    def answer(
        self,
        credential: dict[str, Any] | None = None,
        *,
        origin: str = ORIGIN,
        to: str | None = None,
        processed: bool = True,
    ) -> Attack:
        """POST the answer (default: the honest one) to ``/dc-response`` of ``to`` (this one)."""
        target = to or self.tx
        body = {**(credential or self.credential()), "origin": origin}
        return dc_post(
            self.world,
            target,
            json.dumps(body).encode(),
            processed=processed,
            watch=[self.tx, *self.watch],
            av=self.av,
        )


def dc_post(
    world: World,
    tx_id: str,
    content: bytes,
    *,
    processed: bool = True,
    watch: list[str] | None = None,
    av: str | None = None,
    api_key: str | None = None,
) -> Attack:
    headers = {"Content-Type": "application/json"}
    key = world.api_key if api_key is None else api_key
    if key:  # "": no Authorization header at all
        headers["Authorization"] = f"Bearer {key}"
    return Attack(
        "POST",
        f"{world.verifier.url}/v1/presentations/{tx_id}/dc-response",
        headers=headers,
        content=content,
        target=tx_id if processed else None,
        watch=list(dict.fromkeys([tx_id, *(watch or [])])),
        agents=[av] if av else [],
    )


def dc_present(
    world: World,
    *,
    signed: bool = True,
    mode: str = "dc_api.jwt",
    origins: list[str] | None = None,
    verifier: Any = None,
) -> DCLive:
    rp = world.short_rp if verifier is world.short else world.rp
    view = rp.create(
        profile="identity",
        flow="dc_api",
        signed=signed,
        response_mode=mode,
        expected_origins=origins or [ORIGIN],
    )
    wallet = DCAPIWallet(world.wallet, credentials=[world.identity.id])
    request = wallet.resolve(view["dc_api_request"], ORIGIN)
    return DCLive(world, view, request, wallet.propose(request))


def answered(world: World, **opts: Any) -> DCLive:
    """A DC API transaction already verified with its honest answer."""
    live = dc_present(world, **opts)
    response = world.send_ok(live.answer())
    assert response.json()["status"] == "verified", response.text
    return live


def stepup(world: World) -> DCLive:
    """An agent verification under the step-up policy whose person is asked over the DC API;
    the agent has answered honestly, so the verification waits for the person."""
    body = {
        "policy": STEPUP_POLICY,
        "action": world.action(),
        "human_flow": "dc_api",
        "expected_origins": [ORIGIN],
    }
    response = world.rp.http.post("/v1/agent-verifications", json=body)
    assert response.status_code == 201, response.text
    agent = world.answer_agent_request(response.json(), world.mandate)
    world.send_ok(agent.respond())
    view = world.agent_view(agent.av or "")
    human = view["human_request"]
    wallet = DCAPIWallet(world.wallet, credentials=[world.identity.id])
    request = wallet.resolve(human["dc_api_request"], ORIGIN)
    return DCLive(world, human, request, wallet.propose(request), av=agent.av)


# ------------------------------------------------------------------ origin and audience


def other_origin(world: World) -> Attack:
    """Allowed for the verifier, but not for this transaction."""
    return dc_present(world).answer(origin=OTHER_ORIGIN)


def unknown_origin(world: World) -> Attack:
    return dc_present(world).answer(origin="https://evil.example")


def origin_with_path(world: World) -> Attack:
    return dc_present(world).answer(origin=ORIGIN + "/")


def origin_http(world: World) -> Attack:
    return dc_present(world).answer(origin=ORIGIN.replace("https:", "http:"))


def aud_client_id(world: World) -> Attack:
    """A wallet that binds to the client_id as over redirects (VP A.4: never over the DC API)."""
    live = dc_present(world)
    assert live.request.client_id is not None
    return live.answer(live.credential(live.rebound(aud=live.request.client_id)))


def aud_bare_origin(world: World) -> Attack:
    live = dc_present(world)
    return live.answer(live.credential(live.rebound(aud=ORIGIN)))


def aud_other_origin(world: World) -> Attack:
    """Bound to another page's origin (a relay), posted with ours."""
    live = dc_present(world)
    return live.answer(live.credential(live.rebound(aud="origin:" + OTHER_ORIGIN)))


def unsigned_aud_client_id(world: World) -> Attack:
    live = dc_present(world, signed=False, mode="dc_api")
    client_id = world.record(live.tx)["client_id"]  # type: ignore[index]  # the verifier's
    return live.answer(live.credential(live.rebound(aud=client_id)))


def stepup_aud_client_id(world: World) -> Attack:
    """The person's step-up over the DC API, bound to the client_id: the checkout is denied."""
    live = stepup(world)
    client_id = world.record(live.tx)["client_id"]  # type: ignore[index]
    return live.answer(live.credential(live.rebound(aud=client_id)))


# ------------------------------------------------------------------ replay and single use


def replay_encrypted(world: World) -> Attack:
    """Transaction A's answer (a JWE to A's key) handed in for B."""
    first, second = answered(world), dc_present(world)
    return second.answer(first.credential(), to=second.tx)


def replay_plain(world: World) -> Attack:
    first, second = answered(world, mode="dc_api"), dc_present(world, mode="dc_api")
    return second.answer(first.credential(), to=second.tx)


def second_answer(world: World) -> Attack:
    live = answered(world)
    return live.answer(processed=False)


def unknown_transaction(world: World) -> Attack:
    live = dc_present(world)
    attack = live.answer(processed=False)
    attack.url = attack.url.replace(live.tx, "x" * 43)
    return attack


def expired(world: World) -> Attack:
    live = dc_present(world, verifier=world.short)
    time.sleep(max(0.0, live.view["expires_at"] + 1.1 - time.time()))
    assert world.short_rp.get(live.tx).json()["status"] == "expired"
    attack = live.answer(processed=False)
    attack.url = attack.url.replace(world.verifier.url, world.short.url)
    return attack


# ------------------------------------------------------------------ crossing channels


def qr_answer_to_its_dc_endpoint(world: World) -> Attack:
    """A QR transaction's wallet response handed in as if the browser had returned it."""
    qr = world.present(profile="identity")
    assert qr.proposal is not None
    form = encrypted_form(
        {"vp_token": qr.vp_token, "state": qr.request.state}, qr.request.client_metadata
    )
    credential = {"protocol": "openid4vp-v1-signed", "data": {"response": form["response"]}}
    body = json.dumps({**credential, "origin": ORIGIN}).encode()
    return dc_post(world, qr.tx, body, processed=False)


def qr_answer_into_dc_transaction(world: World) -> Attack:
    qr = world.present(profile="identity")
    form = encrypted_form(
        {"vp_token": qr.vp_token, "state": qr.request.state}, qr.request.client_metadata
    )
    live = dc_present(world)
    live.watch.append(qr.tx)
    return live.answer({"protocol": "openid4vp-v1-signed", "data": {"response": form["response"]}})


def dc_answer_to_qr_response_uri(world: World) -> Attack:
    qr = world.present(profile="identity")
    live = dc_present(world)
    form = {"response": live.credential()["data"]["response"]}
    attack = qr.post(form)
    attack.watch.append(live.tx)
    return attack


def dc_request_uri(world: World) -> Attack:
    """The wallet endpoints never serve a DC API transaction (its request_id is never sent)."""
    live = dc_present(world)
    request_id = world.record(live.tx)["request_id"]  # type: ignore[index]
    return Attack("GET", f"{world.verifier.url}/wallet/request/{request_id}", watch=[live.tx])


def dc_response_uri(world: World) -> Attack:
    live = dc_present(world)
    request_id = world.record(live.tx)["request_id"]  # type: ignore[index]
    form = urlencode({"response": live.credential()["data"]["response"]}).encode()
    return Attack(
        "POST",
        f"{world.verifier.url}/wallet/response/{request_id}",
        headers={"Content-Type": FORM},
        content=form,
        watch=[live.tx],
    )


# ------------------------------------------------------------------ the answer's shape


def protocol_mismatch(world: World) -> Attack:
    live = dc_present(world)
    return live.answer({**live.credential(), "protocol": "openid4vp-v1-unsigned"})


def state_in_answer(world: World) -> Attack:
    live = dc_present(world)
    return live.answer(live.credential(state="tx-9f2d0c7a1e"))


def plain_answer_to_encrypted_request(world: World) -> Attack:
    live = dc_present(world)
    return live.answer({"protocol": "openid4vp-v1-signed", "data": {"vp_token": live.vp_token}})


def encrypted_answer_to_plain_request(world: World) -> Attack:
    live = dc_present(world, mode="dc_api")
    plaintext = json.dumps({"vp_token": live.vp_token}).encode()
    data = {"response": forge.jwe(plaintext, SigningKey.generate().public_jwk)}
    return live.answer({"protocol": "openid4vp-v1-signed", "data": data})


def vp_token_as_string(world: World) -> Attack:
    live = dc_present(world, mode="dc_api")
    data = {"vp_token": json.dumps(live.vp_token)}
    return live.answer({"protocol": "openid4vp-v1-signed", "data": data})


def jwe_to_another_key(world: World) -> Attack:
    """Encrypted to an attacker's key under this transaction's kid."""
    live = dc_present(world)
    kid = live.request.client_metadata["jwks"]["keys"][0]["kid"]
    attacker = {**SigningKey.generate().public_jwk, "kid": kid}
    plaintext = json.dumps({"vp_token": live.vp_token}).encode()
    data = {"response": forge.jwe(plaintext, attacker)}
    return live.answer({"protocol": "openid4vp-v1-signed", "data": data})


def extra_member(world: World) -> Attack:
    live = dc_present(world)
    body = {**live.credential(), "origin": ORIGIN, "state": "x"}
    return dc_post(world, live.tx, json.dumps(body).encode(), processed=False)


def origin_missing(world: World) -> Attack:
    live = dc_present(world)
    return dc_post(world, live.tx, json.dumps(live.credential()).encode(), processed=False)


def data_not_object(world: World) -> Attack:
    live = dc_present(world)
    body = {"protocol": "openid4vp-v1-signed", "data": "eyJ", "origin": ORIGIN}
    return dc_post(world, live.tx, json.dumps(body).encode(), processed=False)


def without_api_key(world: World) -> Attack:
    live = dc_present(world)
    body = json.dumps({**live.credential(), "origin": ORIGIN}).encode()
    return dc_post(world, live.tx, body, processed=False, api_key="")


def _case(name: str, source: str, build: Any, expect: Any) -> Case:
    return Case(f"dc_api_{name}", source, build, expect)


CASES = [
    _case(
        "origin_not_expected",
        "OpenID4VP A.2 (expected_origins); T4",
        other_origin,
        Rejected("dc_api_origin_not_allowed"),
    ),
    _case(
        "origin_unknown",
        "OpenID4VP A.2; AGENTVP_DC_API_ORIGINS",
        unknown_origin,
        Rejected("dc_api_origin_not_allowed"),
    ),
    _case(
        "origin_with_path",
        "OpenID4VP A.2 (exact origin comparison)",
        origin_with_path,
        Rejected("dc_api_origin_invalid"),
    ),
    _case(
        "origin_plain_http",
        "OpenID4VP A.2 (http only for local development)",
        origin_http,
        Rejected("dc_api_origin_invalid"),
    ),
    _case(
        "aud_is_client_id",
        f"{SOURCE} (client_id is never the audience); digest §10 #37",
        aud_client_id,
        Rejected("kb_aud_not_origin"),
    ),
    _case("aud_without_prefix", SOURCE, aud_bare_origin, Rejected("kb_aud_not_origin")),
    _case("aud_other_origin", f"{SOURCE}; T4", aud_other_origin, Rejected("kb_aud_mismatch")),
    _case(
        "unsigned_aud_is_client_id", SOURCE, unsigned_aud_client_id, Rejected("kb_aud_not_origin")
    ),
    _case(
        "step_up_aud_is_client_id",
        f"{SOURCE}; T5",
        stepup_aud_client_id,
        Rejected("kb_aud_not_origin", reason="kb_aud_not_origin"),
    ),
    _case(
        "replay_encrypted_into_other_tx",
        "OpenID4VP §14.1; T4",
        replay_encrypted,
        Rejected("malformed_jwe", "kid"),
    ),
    _case(
        "replay_plain_into_other_tx",
        "OpenID4VP §14.1; digest §10 #36",
        replay_plain,
        Rejected("kb_nonce_mismatch"),
    ),
    _case(
        "second_answer",
        "digest §10 #49 (single use)",
        second_answer,
        Refused(400, "invalid_request", "already answered"),
    ),
    _case(
        "unknown_transaction",
        "RP API",
        unknown_transaction,
        Refused(404, "not_found", "no such presentation"),
    ),
    _case("expired", "digest §10 #49", expired, Refused(400, "invalid_request", "expired")),
    _case(
        "qr_answer_to_dc_endpoint",
        "OpenID4VP A (channels do not cross)",
        qr_answer_to_its_dc_endpoint,
        Refused(400, "invalid_request", "cross_device presentation"),
    ),
    _case(
        "qr_answer_into_dc_tx",
        "OpenID4VP A (channels do not cross)",
        qr_answer_into_dc_transaction,
        Rejected("malformed_jwe", "kid"),
    ),
    _case(
        "dc_answer_to_qr_response_uri",
        "OpenID4VP §8.3.1 (channels do not cross)",
        dc_answer_to_qr_response_uri,
        Refused(400, "invalid_request", "response not accepted: malformed_jwe"),
    ),
    _case(
        "request_uri_of_dc_tx",
        "OpenID4VP A (no request_uri)",
        dc_request_uri,
        Refused(400, "invalid_request", "over the DC API"),
    ),
    _case(
        "response_uri_of_dc_tx",
        "OpenID4VP A (no response_uri)",
        dc_response_uri,
        Refused(400, "invalid_request", "over the DC API"),
    ),
    _case(
        "protocol_mismatch",
        "OpenID4VP A.1",
        protocol_mismatch,
        Rejected("dc_api_protocol_mismatch"),
    ),
    _case(
        "state_in_answer",
        "OpenID4VP A.2 (no state)",
        state_in_answer,
        Rejected("dc_api_state_present"),
    ),
    _case(
        "plain_answer_to_encrypted_request",
        "OpenID4VP A.2; HAIP §5.2 (dc_api.jwt)",
        plain_answer_to_encrypted_request,
        Rejected("dc_api_response_malformed"),
    ),
    _case(
        "encrypted_answer_to_plain_request",
        "OpenID4VP A.2",
        encrypted_answer_to_plain_request,
        Rejected("dc_api_response_malformed"),
    ),
    _case(
        "vp_token_as_string",
        "OpenID4VP A.4",
        vp_token_as_string,
        Rejected("dc_api_response_malformed"),
    ),
    _case(
        "jwe_to_another_key",
        "OpenID4VP §8.3",
        jwe_to_another_key,
        Rejected("jwe_decryption_failed"),
    ),
    _case(
        "extra_member",
        "RP API (strict body)",
        extra_member,
        Refused(400, "invalid_request", "state"),
    ),
    _case(
        "origin_missing",
        "RP API (strict body)",
        origin_missing,
        Refused(400, "invalid_request", "origin"),
    ),
    _case(
        "data_not_object",
        "RP API (strict body)",
        data_not_object,
        Refused(400, "invalid_request", "data"),
    ),
    _case(
        "without_api_key", "RP API", without_api_key, Refused(401, "invalid_token", "Authorization")
    ),
]
