"""Mandate authority rules, identity rules and the policy file, one negative case per rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from verifier.policy.identity import evaluate_identity, identity_required, parse_ida_time
from verifier.policy.mandate import evaluate_mandate
from verifier.policy.presets import load_policy_file
from verifier.policy.rules import AgentPolicy, parse_duration
from verifier.protocol.mandates.authority import AgentAction, evaluate_authority, limits_of
from verifier.protocol.sdjwt.layout import NOTHING_SELECTIVE
from verifier.setup.data_dir import default_policies

NOW = 1_780_000_000
JTI = "urn:uuid:1"
MANDATE: dict[str, Any] = {
    "jti": JTI,
    "iat": NOW - 100,
    "nbf": NOW - 100,
    "exp": NOW + 86400,
    "agent": {"id": "https://agent", "operator": {"id": "https://op"}},
    "principal": {"type": "natural_person", "jkt": "JKT"},
    "authority": {
        "actions": ["payment.initiate"],
        "constraints": [
            {"type": "payment.amount_range", "currency": "EUR", "min": 100, "max": 25000},
            {"type": "payment.budget", "currency": "EUR", "max": 60000},
            {"type": "mandate.max_uses", "max": 5},
            {
                "type": "checkout.allowed_merchants",
                "allowed": [{"id": "m1", "name": "A", "domain": "shop-a.example"}],
            },
            {
                "type": "checkout.allowed_categories",
                "allowed": [{"scheme": "iso18245", "code": "5942"}],
            },
        ],
    },
    "delegation": {"depth": 0, "max_depth": 0},
}


def action(**changes: Any) -> AgentAction:
    base: dict[str, Any] = {
        "action": "payment.initiate",
        "transaction_id": "t1",
        "payee": {"id": "m1", "name": "A", "domain": "shop-a.example"},
        "category": {"scheme": "iso18245", "code": "5942"},
        "payment_amount": {"amount": 8990, "currency": "EUR"},
        "mandate_jti": JTI,
    }
    base.update(changes)
    return AgentAction.model_validate(base)


def codes(mandate: dict[str, Any], act: AgentAction, **kw: Any) -> list[str]:
    return [
        r.code for r in evaluate_authority(mandate, act, layout=NOTHING_SELECTIVE, now=NOW, **kw)
    ]


def with_constraints(*extra: dict[str, Any]) -> dict[str, Any]:
    m = {**MANDATE, "authority": {**MANDATE["authority"]}}
    m["authority"]["constraints"] = [*MANDATE["authority"]["constraints"], *extra]
    return m


def test_inside_the_mandate() -> None:
    assert codes(MANDATE, action()) == []
    assert limits_of(MANDATE).max_uses == 5 and limits_of(MANDATE).budget == 60000


@pytest.mark.parametrize(
    ("mandate", "act", "code"),
    [
        (MANDATE, action(action="account.read"), "action_not_granted"),
        (MANDATE, action(payee={"id": "m2", "domain": "evil.example"}), "payee_not_allowed"),
        (MANDATE, action(payee={"id": "m1", "domain": "evil.example"}), "payee_not_allowed"),
        (MANDATE, action(category={"scheme": "iso18245", "code": "1111"}), "category_not_allowed"),
        (
            MANDATE,
            action(payment_amount={"amount": 25001, "currency": "EUR"}),
            "amount_exceeds_mandate",
        ),
        (MANDATE, action(payment_amount={"amount": 99, "currency": "EUR"}), "amount_below_minimum"),
        (MANDATE, action(payment_amount={"amount": 100, "currency": "USD"}), "currency_mismatch"),
        (MANDATE, action(mandate_jti="urn:uuid:other"), "mandate_jti_mismatch"),
        ({**MANDATE, "exp": NOW - 1}, action(), "mandate_expired"),
        ({**MANDATE, "nbf": NOW + 100}, action(), "mandate_not_yet_valid"),
        ({k: v for k, v in MANDATE.items() if k != "exp"}, action(), "mandate_unbounded"),
        (with_constraints({"type": "payment.secret_loophole"}), action(), "unknown_constraint"),
        (
            with_constraints({"type": "payment.execution_date", "not_after": "2000-01-01"}),
            action(),
            "execution_date_passed",
        ),
        (
            with_constraints({"type": "mandate.audiences", "allowed": ["other.example"]}),
            action(),
            "audience_not_allowed",
        ),
    ],
)
def test_each_authority_rule_rejects(mandate: dict[str, Any], act: AgentAction, code: str) -> None:
    assert code in codes(mandate, act, rp_domain="shop-a.example")


def test_an_allow_list_with_no_disclosed_member_matches_nothing() -> None:
    hidden = with_constraints()
    hidden["authority"]["constraints"][3] = {"type": "checkout.allowed_merchants", "allowed": []}
    assert codes(hidden, action()) == ["payee_not_allowed"]


def test_amounts_must_be_integers() -> None:
    with pytest.raises(ValueError, match="integer"):
        action(payment_amount={"amount": 89.9, "currency": "EUR"})


POLICY = AgentPolicy.model_validate(default_policies()["shop-checkout"])


def result(claims: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {k: v for k, v in claims.items() if k not in ("iat", "nbf", "exp")}
    return {
        "vct": POLICY.mandate.accepted_vct[0],
        "iss": POLICY.mandate.accepted_issuers[0],  # type: ignore[index]
        "claims": body,
        "iat": claims.get("iat"),
        "nbf": claims.get("nbf"),
        "exp": claims.get("exp"),
        "status": None,
        "kb_iat": NOW,
        "sd_layout": NOTHING_SELECTIVE.as_json(),
        **extra,
    }


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"vct": "urn:other"}, "mandate_vct_not_accepted"),
        ({"iss": "https://rogue"}, "mandate_issuer_not_accepted"),
        ({"exp": NOW + 90 * 86400}, "mandate_validity_too_long"),
        ({"kb_iat": NOW - 3600}, "kb_too_old"),
    ],
)
def test_each_rp_mandate_rule_rejects(changes: dict[str, Any], code: str) -> None:
    reasons = evaluate_mandate({**result(MANDATE), **changes}, action(), POLICY, now=NOW)
    assert code in [r.code for r in reasons]


def test_rp_limits_and_payee_domain() -> None:
    strict = AgentPolicy.model_validate(
        {
            **default_policies()["shop-checkout"],
            "transaction": {
                "payee_domain": "other.example",
                "rp_limits": {"EUR": {"per_tx_max_minor": 5000}},
            },
        }
    )
    got = [r.code for r in evaluate_mandate(result(MANDATE), action(), strict, now=NOW)]
    assert "amount_exceeds_rp_limit" in got and "payee_domain_mismatch" in got


IDENTITY = {
    "vct": POLICY.identity.accepted_vct[0],  # type: ignore[union-attr]
    "iss": POLICY.identity.accepted_issuers[0],  # type: ignore[union-attr,index]
    "holder_jkt": "JKT",
    "claims": {
        "verified_claims": {
            "verification": {
                "trust_framework": "eidas",
                "assurance_level": "high",
                "time": "2026-03-02T09:15Z",
                "evidence": [{"type": "document"}],
            },
            "claims": {"given_name": "E", "family_name": "M", "birthdate": "1984-01-26"},
        }
    },
}


def identity(**verification: Any) -> dict[str, Any]:
    vc = IDENTITY["claims"]["verified_claims"]  # type: ignore[index]
    return {
        **IDENTITY,
        "claims": {
            "verified_claims": {**vc, "verification": {**vc["verification"], **verification}}
        },
    }


@pytest.mark.parametrize(
    ("ident", "code"),
    [
        (identity(trust_framework="uk_tfida"), "framework_not_accepted"),
        (identity(assurance_level="low"), "assurance_too_low"),
        (identity(assurance_level="extreme"), "assurance_too_low"),
        (identity(time="2020-01-01T00:00Z"), "verification_too_old"),
        (identity(time="yesterday"), "verification_time_missing"),
        (identity(evidence=[{"type": "vouch"}]), "evidence_not_accepted"),
        (identity(evidence=[]), "evidence_missing"),
        ({**IDENTITY, "holder_jkt": "SOMEONE-ELSE"}, "principal_mismatch"),
        ({**IDENTITY, "vct": "urn:x"}, "identity_vct_not_accepted"),
    ],
)
def test_each_identity_rule_rejects(ident: dict[str, Any], code: str) -> None:
    reasons = evaluate_identity(ident, result(MANDATE), POLICY, now=NOW)
    assert code in [r.code for r in reasons]


def test_identity_passes_and_required_claims_are_checked() -> None:
    assert evaluate_identity(IDENTITY, result(MANDATE), POLICY, now=NOW) == []
    missing = {
        **IDENTITY,
        "claims": {"verified_claims": {**IDENTITY["claims"]["verified_claims"], "claims": {}}},
    }  # type: ignore[index]
    assert [r.code for r in evaluate_identity(missing, None, POLICY, now=NOW)].count(
        "required_claim_missing"
    ) == 3


def test_required_when() -> None:
    assert identity_required(
        POLICY, action(payment_amount={"amount": 30000, "currency": "EUR"}), first_use=False
    )
    assert not identity_required(POLICY, action(), first_use=False)
    assert identity_required(POLICY, action(), first_use=True)
    assert identity_required(POLICY, action(), first_use=None)  # unknown principal: ask


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("P24M", 24 * 30 * 86400),
        ("P1Y", 365 * 86400),
        ("PT12H", 43200),
        ("P1DT1S", 86401),
        (60, 60),
    ],
)
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_ida_time() -> None:
    assert parse_ida_time("2026-03-02T09:15Z") == 1772442900
    assert parse_ida_time("2026-03-02T09:15") is None  # a zone designator is required


IDENTITY_YAML = (
    "policies: {{p: {{mandate: {{accepted_vct: [x]}}, identity: {{accepted_vct: [y], {}}}}}}}"
)
BAD_POLICIES = [
    ("policies: {p: {mandate: {accepted_vct: []}}}", "policies.p.mandate.accepted_vct"),
    ("policies: {p: {mandate: {accepted_vct: [x], bogus: 1}}}", "policies.p.mandate.bogus"),
    (
        IDENTITY_YAML.format("trust_frameworks: {eidas: {levels: [a], min: b}}"),
        "policies.p.identity.trust_frameworks.eidas",
    ),
    (
        IDENTITY_YAML.format("trust_frameworks: {e: {}}, max_verification_age: P2X"),
        "policies.p.identity.max_verification_age",
    ),
    (
        IDENTITY_YAML.format("trust_frameworks: {e: {}}, required_when: [{}]"),
        "policies.p.identity.required_when.0",
    ),
    ("presets: {q: {dcql_query: {credentials: []}}}", "presets.q.dcql_query"),
]


@pytest.mark.parametrize(("text", "where"), BAD_POLICIES)
def test_invalid_policy_files_fail_with_the_path_of_the_bad_field(
    tmp_path: Path, text: str, where: str
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        load_policy_file(path)
    assert str(path) in str(info.value) and where in str(info.value)
