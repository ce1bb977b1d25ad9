"""AP2 v0.2 end to end over real HTTP: `agentvp serve` (two instances on one store), the wallet
simulator as the person's wallet (OpenID4VP ``delegate``), the merchant and the shopping agent.

- human present: the person signs closed checkout + payment mandates bound to an AP2 challenge;
- human not present: the person signs open mandates for the agent's key; the agent closes them
  per checkout; budget and occurrences hold across two merchants and two verifier instances;
- trusted agent provider root; replayed challenge; revoked root credential; signed receipts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.ap2_env import CARD, SHOES, SNEAKER, SOCKS, WOOL, Env, ap2_world
from verifier.protocol import public_key_from_jwk
from verifier.protocol.jose import parse_unverified_jws
from verifier.setup.data_dir import IDENTITY_VCT
from wallet_sim import ap2
from wallet_sim.ap2_agent import AP2Error
from wallet_sim.issuing import set_credential_status


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with ap2_world(tmp_path_factory.mktemp("ap2")) as world:
        yield world


def _receipt_ok(env: Env, result: dict[str, object], expected: str) -> dict[str, object]:
    with httpx.Client(timeout=10) as client:
        jwks = client.get(f"{env.one.url}/.well-known/jwks.json").json()
    token = str(result["receipt"])
    jws = parse_unverified_jws(token)
    keys = [public_key_from_jwk(k) for k in jwks["keys"] if k.get("kid") == jws.header.get("kid")]
    assert any(k.verify(jws.alg, jws.signing_input, jws.signature) for k in keys)
    claims = jws.payload_json()
    assert jws.header["typ"] == "ap2-receipt+jwt" and claims["result"] == expected
    assert claims["iss"] == env.one.url and isinstance(claims["reference"], str)
    return claims


def test_human_present_direct(env: Env) -> None:
    agent = env.agent()
    checkout_jwt = env.checkout(SHOES, SNEAKER)
    challenge = agent.challenge()
    assert set(challenge) == {"id", "nonce", "aud", "expires_at"}
    items = [
        ap2.closed_checkout(checkout_jwt),
        ap2.closed_payment(
            checkout_jwt, payee=SHOES, amount=19900, currency="EUR", instrument=CARD
        ),
    ]
    tx = agent.request_delegation(items, identity_vct=IDENTITY_VCT, challenge_id=challenge["id"])
    env.person_answers(tx["authorization_request_uri"])
    delegation = agent.collect(tx["id"])
    assert [i["vct"] for i in delegation.items] == ["mandate.checkout.1", "mandate.payment.1"]
    result = agent.present_direct(
        delegation, challenge_id=challenge["id"], checkout_jwt=checkout_jwt
    )
    assert result["decision"] == "accept", result["reasons"]
    assert result["mode"] == "direct" and result["vct"] == "mandate.payment.1"
    assert result["principal"]["model"] == "user_credential"
    assert result["principal"]["iss"] == env.wallet.issuer_data("ekyc")["iss"]
    claims = _receipt_ok(env, result, "success")
    assert "error" not in claims
    replay = agent.present_direct(
        delegation, challenge_id=challenge["id"], checkout_jwt=checkout_jwt
    )
    assert replay["decision"] == "reject"
    assert [r["code"] for r in replay["reasons"]] == ["challenge_used"]
    assert _receipt_ok(env, replay, "error")["error"] == "invalid_credential"


def _open_delegation(env: Env, *, budget: float = 300.0) -> object:
    agent = env.agent()
    open_checkout = ap2.open_checkout(
        env.agent_key.public_jwk, merchants=[SHOES, SOCKS], items=[(1, [SNEAKER, WOOL])]
    )
    open_payment = ap2.open_payment(
        env.agent_key.public_jwk,
        amount_max=25000,
        currency="EUR",
        budget=budget,
        payees=[SHOES, SOCKS],
        instruments=[CARD],
        recurrence={"frequency": "ON_DEMAND", "max_occurrences": 3},
        exp=int(time.time()) + 3600,
    )
    tx = agent.request_delegation([open_checkout, open_payment], identity_vct=IDENTITY_VCT)
    env.person_answers(tx["authorization_request_uri"])
    return agent.collect(tx["id"])


def test_human_not_present_budget_across_merchants_and_instances(env: Env) -> None:
    delegation = _open_delegation(env)
    shoes = env.checkout(SHOES, SNEAKER)
    first = env.agent(env.one).pay(
        delegation,
        checkout_jwt=shoes,
        payee=SHOES,
        amount=19900,
        currency="EUR",
        instrument=CARD,
    )
    assert first["decision"] == "accept", first["reasons"]
    assert (
        first["mode"] == "autonomous" and first["open_mandate"]["vct"] == "mandate.payment.open.1"
    )
    socks = env.checkout(SOCKS, SNEAKER)  # 199 + 199 > 300 EUR: over the budget
    second = env.agent(env.two).pay(
        delegation,
        checkout_jwt=socks,
        payee=SOCKS,
        amount=19900,
        currency="EUR",
        instrument=CARD,
    )
    assert second["decision"] == "reject"
    assert [r["code"] for r in second["reasons"]] == ["budget_exhausted"]
    small = env.checkout(SOCKS, WOOL)
    third = env.agent(env.two).pay(
        delegation,
        checkout_jwt=small,
        payee=SOCKS,
        amount=6000,
        currency="EUR",
        instrument=CARD,
    )
    assert third["decision"] == "accept", third["reasons"]


def test_agent_refuses_and_verifier_rejects_over_the_range(env: Env) -> None:
    delegation = _open_delegation(env)
    big = env.checkout(SHOES, SNEAKER, qty=2)
    with pytest.raises(AP2Error):
        env.agent().pay(
            delegation,
            checkout_jwt=big,
            payee=SHOES,
            amount=39800,
            currency="EUR",
            instrument=CARD,
        )
    forced = env.agent().pay(
        delegation,
        checkout_jwt=big,
        payee=SHOES,
        amount=39800,
        currency="EUR",
        instrument=CARD,
        guard=False,
    )
    codes = [r["code"] for r in forced["reasons"]]
    assert forced["decision"] == "reject" and "amount_out_of_range" in codes
    assert "line_items_unmatched" in codes  # 2 sneakers, 1 allowed


def test_trusted_agent_provider_root(env: Env) -> None:
    agent = env.agent()
    open_payment = ap2.open_payment(
        env.agent_key.public_jwk,
        amount_max=30000,
        currency="EUR",
        payees=[SHOES],
        instruments=[CARD],
    )
    root = ap2.provider_root(env.provider, [open_payment]).full()
    checkout_jwt = env.checkout(SHOES, SNEAKER)
    challenge = agent.challenge()
    closed = ap2.closed_payment(
        checkout_jwt, payee=SHOES, amount=19900, currency="EUR", instrument=CARD
    )
    leaf = ap2.sign_hop(
        root,
        env.agent_key,
        [closed],
        aud=challenge["aud"],
        nonce=challenge["nonce"],
        iat=int(time.time()),
    )
    result = agent.verify(
        challenge_id=challenge["id"],
        mandate=ap2.present(root, leaf.full()),
        checkout_jwt=checkout_jwt,
    )
    assert result["decision"] == "accept", result["reasons"]
    assert result["principal"] == {"model": "agent_provider", "provider": "agents.example"}
    # used once: no agent_recurrence in the open mandate
    again = agent.challenge()
    leaf = ap2.sign_hop(
        root,
        env.agent_key,
        [closed],
        aud=again["aud"],
        nonce=again["nonce"],
        iat=int(time.time()),
    )
    second = agent.verify(
        challenge_id=again["id"],
        mandate=ap2.present(root, leaf.full()),
        checkout_jwt=checkout_jwt,
    )
    assert [r["code"] for r in second["reasons"]] == ["recurrence_exhausted"]


def test_malformed_body_is_400_and_changes_nothing(env: Env) -> None:
    agent = env.agent()
    challenge = agent.challenge()
    response = agent.http.post(
        f"{env.one.url}/v1/ap2/verifications",
        json={"challenge_id": challenge["id"], "mandate": 5},
        headers=agent.headers,
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    garbage = agent.verify(challenge_id=challenge["id"], mandate="garbage~")
    assert garbage["decision"] == "reject"  # the challenge was still unused


def test_revoked_root_rejects_the_chain(env: Env) -> None:
    delegation = _open_delegation(env, budget=900.0)
    set_credential_status(env.wallet, env.credential_id, "revoked")
    try:
        time.sleep(1.5)  # the verifier reuses a status list for at most 1 s here
        shoes = env.checkout(SHOES, SNEAKER)
        result = env.agent().pay(
            delegation,
            checkout_jwt=shoes,
            payee=SHOES,
            amount=19900,
            currency="EUR",
            instrument=CARD,
        )
    finally:  # the other tests (in any order) need the same person's credential valid
        set_credential_status(env.wallet, env.credential_id, "valid")
        time.sleep(1.5)
    assert result["decision"] == "reject"
    assert [r["code"] for r in result["reasons"]] == ["root_revoked"]
    assert _receipt_ok(env, result, "error")["error"] == "invalid_credential"


def test_wallet_sim_ap2_cli_delegate_and_pay(env: Env) -> None:
    shop = f"{SHOES['id']}:{SHOES['name']}:{SHOES['website']}"
    base = [sys.executable, "-m", "wallet_sim.cli", "ap2"]
    common = ["--rp", env.one.url, f"--api-key={env.api_key}", "--dir", str(env.wallet.path)]
    delegated = subprocess.run(
        [
            *base,
            "delegate",
            *common,
            "--merchant",
            shop,
            "--amount",
            "25000",
            "--budget",
            "500",
            "--yes",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert delegated.returncode == 0, delegated.stderr
    assert "Sign AP2 mandates" in delegated.stdout and "budget 500.0 EUR" in delegated.stdout
    pay = [*base, "pay", *common, "--payee", shop]
    ok = subprocess.run(
        [*pay, "--checkout-jwt", env.checkout(SHOES, SNEAKER), "--amount", "19900"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["decision"] == "accept"
    refused = subprocess.run(
        [*pay, "--checkout-jwt", env.checkout(SHOES, SNEAKER, qty=2), "--amount", "39800"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 3 and "over the mandate" in refused.stderr


def test_identity_in_the_chain_under_ap2_policies(env: Env) -> None:
    """One chain proves the mandate and the verified human (item 6); policies decide."""
    agent = env.agent()
    checkout_jwt = env.checkout(SHOES, SNEAKER)
    results = {}
    for policy in ("verified-human", "other-framework"):
        challenge = agent.challenge()
        items = [
            ap2.closed_checkout(checkout_jwt),
            ap2.closed_payment(
                checkout_jwt, payee=SHOES, amount=19900, currency="EUR", instrument=CARD
            ),
        ]
        tx = agent.request_delegation(
            items, identity_vct=IDENTITY_VCT, challenge_id=challenge["id"]
        )
        env.person_answers(tx["authorization_request_uri"])
        results[policy] = agent.present_direct(
            agent.collect(tx["id"]),
            challenge_id=challenge["id"],
            checkout_jwt=checkout_jwt,
            policy=policy,
        )
    human = results["verified-human"]
    assert human["decision"] == "accept", human["reasons"]
    claims = human["principal"]["claims"]["verified_claims"]
    assert claims["verification"]["trust_framework"] == "eidas"
    assert claims["claims"]["given_name"] == "Erika"
    other = results["other-framework"]
    assert [r["code"] for r in other["reasons"]] == ["framework_not_accepted"]
    assert _receipt_ok(env, other, "error")["error"] == "invalid_credential"
    # an agent provider root proves no human; an autonomous chain breaks a direct-only policy
    open_payment = ap2.open_payment(
        env.agent_key.public_jwk,
        amount_max=30000,
        currency="EUR",
        payees=[SHOES],
        instruments=[CARD],
    )
    root = ap2.provider_root(env.provider, [open_payment]).full()
    for policy, code in (
        ("verified-human", "identity_missing"),
        ("direct-only", "mode_not_accepted"),
    ):
        challenge = agent.challenge()
        closed = ap2.closed_payment(
            checkout_jwt, payee=SHOES, amount=19900, currency="EUR", instrument=CARD
        )
        leaf = ap2.sign_hop(
            root,
            env.agent_key,
            [closed],
            aud=challenge["aud"],
            nonce=challenge["nonce"],
            iat=int(time.time()),
        )
        result = agent.verify(
            challenge_id=challenge["id"], mandate=ap2.present(root, leaf.full()), policy=policy
        )
        assert [r["code"] for r in result["reasons"]] == [code]
    unknown = agent.http.post(
        f"{env.one.url}/v1/ap2/verifications",
        json={"challenge_id": "x", "mandate": "y~", "policy": "nope"},
        headers=agent.headers,
    )
    assert (
        unknown.status_code == 400 and "unknown AP2 policy" in unknown.json()["error_description"]
    )
