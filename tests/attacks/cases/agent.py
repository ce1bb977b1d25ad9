"""The agent-mandate threat model T1-T13 (agent-mandates §5.3) and the mandate rules of §6.2-§6.3,
against agent verifications (``POST /v1/agent-verifications``). The agent here is *reckless*:
it presents whatever the request asks, so the verifier alone has to stop each attack. T12 and
T13 are not attacks a verifier can refuse; their existing mitigations are tested instead."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.attacks import forge
from tests.attacks.cases.key_binding import other_action
from tests.attacks.harness import (
    ACTION,
    STATUS_POLICY,
    STEPUP_POLICY,
    Allowed,
    Attack,
    Case,
    Denied,
    Rejected,
    World,
    now,
)
from verifier.protocol import DCQLQuery
from verifier.protocol.jose import b64url_decode
from wallet_sim.issuer import MandateGrant

UNLIMITED = MandateGrant(max_uses=None, budget=None)


def reckless(**opts: Any) -> Callable[[World], Attack]:
    """The agent presents as asked; ``grant``/``edit``/``status`` make a fresh mandate."""

    def build(world: World) -> Attack:
        options = dict(opts)
        mandate = _mandate(world, options)
        return world.agent_request(mandate=mandate, **options).respond()

    return build


def _mandate(world: World, opts: dict[str, Any]) -> Any:
    grant, edit, status = opts.pop("grant", None), opts.pop("edit", None), opts.pop("status", None)
    issuer = opts.pop("issuer", "mandates")
    if grant is None and edit is None and status is None and issuer == "mandates":
        return world.mandate
    status_ref = None
    if status is not None:
        status_ref = {"idx": 3, "uri": world.status_list({3: status}, issuer="mandates")}
    return world.issue_mandate(grant, edit=edit, status=status_ref, issuer=issuer)


def rebound(**kb: Any) -> Callable[[World], Attack]:
    """The mandate presentation with its KB-JWT re-signed by the agent with ``kb`` changes."""

    def build(world: World) -> Attack:
        live = world.agent_request()
        jwt, *disclosures, _ = live.presentation().split("~")
        values = {k: v(live) if callable(v) else v for k, v in kb.items()}
        presented = live.rebind(jwt, disclosures, world.key("agent"), **values)
        return live.respond(vp_token={"mandate": [presented]})

    return build


def kb_signer(holder: str) -> Callable[[World], Attack]:
    def build(world: World) -> Attack:
        live = world.agent_request()
        jwt, *disclosures, _ = live.presentation().split("~")
        return live.respond(
            vp_token={"mandate": [live.rebind(jwt, disclosures, world.key(holder))]}
        )

    return build


def stripped_kb(world: World) -> Attack:
    live = world.agent_request()
    honest = live.presentation()
    return live.respond(vp_token={"mandate": [honest[: honest.rindex("~") + 1]]})


def replayed(world: World) -> Attack:
    """The presentation captured from one verification, sent to another."""
    first = world.agent_request()
    second = world.agent_request(transaction_id="ord-replayed")
    attack = second.respond(vp_token=first.vp_token)
    attack.watch.append(first.tx)
    return attack


def constraint_stripped(world: World) -> Attack:
    """The agent deletes the amount limit from the signed payload."""
    live = world.agent_request()
    jwt, *disclosures, _ = live.presentation().split("~")
    head, payload, signature = jwt.split(".")
    claims = json.loads(b64url_decode(payload))
    constraints = claims["authority"]["constraints"]
    claims["authority"]["constraints"] = [
        c for c in constraints if c.get("type") != "payment.amount_range"
    ]
    forged = f"{head}.{forge.b64(json.dumps(claims).encode())}.{signature}"
    return live.respond(
        vp_token={"mandate": [live.rebind(forged, disclosures, world.key("agent"))]}
    )


def query_edit(edit: Callable[[dict[str, Any]], None]) -> Callable[[DCQLQuery], DCQLQuery]:
    def change(query: DCQLQuery) -> DCQLQuery:
        raw = query.as_json()
        edit(raw["credentials"][0])
        return DCQLQuery.parse(raw)

    return change


def without_payee(cred: dict[str, Any]) -> None:
    cred["claims"] = [c for c in cred["claims"] if c.get("id") != "payee"]
    cred["claim_sets"] = [s for s in cred.get("claim_sets", []) if "payee" not in s]


def other_pairwise(cred: dict[str, Any]) -> None:
    for claim in cred["claims"]:
        if claim.get("id") == "pairwise":
            claim["values"] = ["tickets-b.example"]


def withheld_payee(world: World) -> Attack:
    return world.agent_request(query=query_edit(without_payee)).respond()


def pairwise_for_other_rp(world: World) -> Attack:
    mandate = world.issue_mandate(UNLIMITED)
    live = world.agent_request(mandate=mandate, query=query_edit(other_pairwise))
    attack = live.respond()
    attack.mandate = world.counter_key(mandate)
    foreign = "p-Q91mZt3a"  # the principal's pairwise id at tickets-b.example

    def check(_: Any) -> None:
        assert live.av is not None
        view = world.agent_view(live.av)
        assert view["principal"]["pairwise_sub"] != foreign, view["principal"]
        assert foreign not in json.dumps(view["receipt"] or ""), "foreign pairwise id leaked"

    attack.after = check
    return attack


def scalar_pairwise_ids(world: World) -> Attack:
    """An issuer put bare strings in ``principal.pairwise_ids``: nothing to read a sub from."""

    def edit(claims: dict[Any, Any]) -> None:
        claims["principal"]["pairwise_ids"] = ["p-7Hc2qK0v", "p-Q91mZt3a"]

    mandate = world.issue_mandate(UNLIMITED, edit=edit)
    attack = world.agent_request(mandate=mandate).respond()
    attack.mandate = world.counter_key(mandate)
    return attack


def used_up(grant: MandateGrant, first: int, second: int) -> Callable[[World], Attack]:
    """One honest checkout of ``first`` (allowed), then one of ``second``."""

    def build(world: World) -> Attack:
        mandate = world.issue_mandate(grant)
        amount = {"amount": first, "currency": "EUR"}
        assert world.checkout(mandate, payment_amount=amount)["decision"] == "allow"
        return world.agent_request(
            mandate=mandate,
            transaction_id="ord-2",
            payment_amount={"amount": second, "currency": "EUR"},
        ).respond()

    return build


def stepped_up(holder: str, **kb: Any) -> Callable[[World], Attack]:
    """The agent presents honestly; the step-up is answered by ``holder``'s wallet."""

    def build(world: World) -> Attack:
        agent = world.agent_request(policy=STEPUP_POLICY)
        world.send_ok(agent.respond())
        assert agent.av is not None
        if holder != "human":
            world.issue_identity(holder=holder)
        human = world.human_request(agent.av, holders=[holder])
        if not kb:
            return human.respond()
        jwt, *disclosures, _ = human.presentation().split("~")
        values = {k: v(human) if callable(v) else v for k, v in kb.items()}
        return human.respond(
            vp_token={"identity": [human.rebind(jwt, disclosures, world.key(holder), **values)]}
        )

    return build


def deeper(claims: dict[Any, Any]) -> None:
    claims["delegation"] = {"depth": 1, "max_depth": 2}


def no_status(claims: dict[Any, Any]) -> None:
    claims.pop("status", None)


def lookalike_action(claims: dict[Any, Any]) -> None:
    claims["authority"]["actions"] = ["commerce.checkout", "payment.initi\u0430te"]


def _d(
    name: str, source: str, build: Callable[[World], Attack], *reasons: str, rule: str = "mandate"
) -> Case:
    return Case(name, source, build, Denied(reasons, rule))


CASES = [
    Case(
        "t1_someone_elses_mandate",
        "T1; digest §10 #35",
        kb_signer("thief"),
        Rejected("kb_signature_invalid"),
    ),
    Case(
        "t2_stolen_mandate_without_key", "T2; digest §10 #33", stripped_kb, Rejected("kb_missing")
    ),
    _d(
        "t3_identity_of_another_person",
        "T3; agent-mandates §5.2",
        stepped_up("stranger"),
        "principal_mismatch",
        rule="identity",
    ),
    Case(
        "t4_presentation_replayed_to_other_verification",
        "T4; digest §10 #36",
        replayed,
        Rejected("kb_nonce_mismatch"),
    ),
    Case(
        "t4_presentation_for_other_rp",
        "T4; digest §10 #37",
        rebound(aud="x509_hash:shop-b-client-id"),
        Rejected("kb_aud_mismatch"),
    ),
    _d(
        "t4_payee_is_another_rp",
        "T4; agent-mandates §6.3 anti-relay",
        reckless(payee={"id": "merchant-0815", "name": "Tickets B", "domain": "tickets-b.example"}),
        "payee_domain_mismatch",
    ),
    _d(
        "t4_kb_older_than_policy_allows",
        "T4; agent-mandates §6.1 kb_max_age_s",
        rebound(iat=lambda live: now() - 200),
        "kb_too_old",
    ),
    _d(
        "t5_payee_disclosure_withheld",
        "T5; agent-mandates §3.2",
        withheld_payee,
        "payee_not_allowed",
    ),
    _d(
        "t5_unknown_constraint",
        "T5; agent-mandates §6.1 unknown_constraint",
        reckless(
            grant=MandateGrant(
                extra_constraints=({"type": "geo.allowed_countries", "countries": ["DE"]},)
            )
        ),
        "unknown_constraint",
    ),
    Case(
        "t5_amount_limit_stripped",
        "T5; digest §10 #22",
        constraint_stripped,
        Rejected("issuer_signature_invalid"),
    ),
    _d(
        "t6_purpose_contradicts_constraints",
        "T6; agent-mandates §5.3",
        reckless(
            grant=MandateGrant(purpose="No limits: buy anything at any price."),
            payment_amount={"amount": 30000, "currency": "EUR"},
        ),
        "amount_exceeds_mandate",
    ),
    _d(
        "t7_redelegated_mandate",
        "T7; agent-mandates §6.2 step 6",
        reckless(edit=deeper),
        "delegation_not_supported",
    ),
    _d(
        "t8_uses_exhausted",
        "T8; agent-mandates §6.2 step 9",
        used_up(MandateGrant(max_uses=1, budget=None), 1000, 1000),
        "uses_exhausted",
        rule="counters",
    ),
    _d(
        "t8_budget_exhausted",
        "T8; agent-mandates §6.2 step 9",
        used_up(MandateGrant(max_uses=None, budget=10000), 6000, 6000),
        "budget_exhausted",
        rule="counters",
    ),
    Case(
        "t9_revoked_mandate",
        "T9; digest §10 #45",
        reckless(status=1),
        Rejected("status_invalid", reason="mandate_revoked"),
    ),
    Case(
        "t9_suspended_mandate",
        "T9; digest §10 #45",
        reckless(status=2),
        Rejected("status_suspended", reason="mandate_suspended"),
    ),
    Case(
        "t9_expired_mandate",
        "T9; digest §10 #30",
        reckless(grant=MandateGrant(validity=-3600)),
        Rejected("credential_expired", reason="mandate_expired"),
    ),
    Case(
        "t10_presentation_made_for_phishing_rp",
        "T10; digest §10 #37",
        rebound(aud="x509_san_dns:shop-a.example.phish.example"),
        Rejected("kb_aud_mismatch"),
    ),
    Case(
        "t11_step_up_bound_to_another_action",
        "T11; digest §10 #40",
        stepped_up("human", transaction_data=other_action),
        Rejected("transaction_data_not_covered"),
    ),
    Case(
        "t12_pairwise_id_of_other_rp_not_used",
        "T12; agent-mandates §6.3 pairwise_ids",
        pairwise_for_other_rp,
        Allowed(spent=ACTION["payment_amount"]["amount"]),
    ),
    Case(
        "t12_pairwise_ids_not_objects",
        "T12; agent-mandates §3.1 pairwise_ids",
        scalar_pairwise_ids,
        Allowed(spent=ACTION["payment_amount"]["amount"]),
    ),
    _d(
        "t13_in_bounds_action_over_remaining_budget",
        "T13; agent-mandates §5.3 worst case = limits",
        used_up(MandateGrant(max_uses=None, budget=30000), 20000, 15000),
        "budget_exhausted",
        rule="counters",
    ),
    _d(
        "t13_amount_over_rp_limit",
        "T13; agent-mandates §6.1 rp_own_limits",
        reckless(
            grant=MandateGrant(max_amount=200000, budget=None, max_uses=None),
            payment_amount={"amount": 150000, "currency": "EUR"},
        ),
        "amount_exceeds_rp_limit",
    ),
    _d(
        "t13_amount_over_mandate",
        "T13; agent-mandates §6.3",
        reckless(payment_amount={"amount": 25001, "currency": "EUR"}),
        "amount_exceeds_mandate",
    ),
    _d(
        "mandate_jti_of_another_mandate",
        "agent-mandates §6.3 mandate_jti",
        reckless(mandate_jti="urn:uuid:00000000-0000-4000-8000-000000000000"),
        "mandate_jti_mismatch",
    ),
    _d(
        "mandate_from_issuer_not_accepted",
        "digest §10 #46; agent-mandates §6.1",
        reckless(issuer="foreign"),
        "mandate_issuer_not_accepted",
    ),
    _d(
        "mandate_without_required_status",
        "agent-mandates §6.1 status_check",
        reckless(edit=no_status, policy=STATUS_POLICY),
        "mandate_status_missing",
    ),
    _d(
        "action_not_granted",
        "agent-mandates §6.3 action",
        reckless(action={**ACTION, "action": "account.close"}),
        "action_not_granted",
    ),
    _d(
        "payee_not_in_allow_list",
        "agent-mandates §6.3 payee",
        reckless(payee={"id": "merchant-666", "name": "Shop A", "domain": "shop-a.example"}),
        "payee_not_allowed",
    ),
    _d(
        "category_not_allowed",
        "agent-mandates §6.3 category",
        reckless(category={"scheme": "iso18245", "code": "7995"}),
        "category_not_allowed",
    ),
    _d(
        "lookalike_action_in_mandate",
        "agent-mandates §6.3; UTS #39 confusables",
        reckless(edit=lookalike_action),
        "required_action_missing",
        "action_not_granted",
    ),
]
