"""The attack corpus over real HTTP (see ``README.md``): one test per case, plus

- the corpus's own shape: size, a source and an expected code for every case, unique names,
  every verifier check of digest §10 (1-51) and every threat T1-T13 named by some case;
- controls: the honest version of each forging technique is *accepted*, so a rejection is the
  attack's doing and not the harness's;
- the judge can fail: a case run against a wrong expectation is caught;
- afterwards: no request of the whole run was answered with a 5xx, nothing was logged as an
  unexpected error, and the SSRF canary was never contacted.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace

import httpx
import pytest

from tests.attacks.cases import CASES
from tests.attacks.cases.status import IDX, pointing
from tests.attacks.cases.structure import IDENTITY_QUERY
from tests.attacks.harness import (
    SIMPLE_QUERY,
    X5C_ISS,
    Attack,
    Case,
    Denied,
    Ignored,
    Refused,
    Rejected,
    Snapshot,
    World,
    judge,
    now,
    run_case,
)
from verifier.protocol import create_id_token

pytestmark = pytest.mark.e2e
BY_NAME = {case.name: case for case in CASES}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("attacks"))
    yield w
    w.close()


# ------------------------------------------------------------------ the corpus itself


def test_corpus_shape() -> None:
    assert len(CASES) >= 100
    assert len(BY_NAME) == len(CASES), "case names must be unique"
    for case in CASES:
        assert re.fullmatch(r"[a-z0-9_]+", case.name), case.name
        assert case.source.strip(), case.name
        assert case.expect.code.strip(), case.name
        if isinstance(case.expect, Refused):
            assert case.expect.error and case.expect.fragment, case.name
            assert 400 <= case.expect.status < 500, case.name


def test_corpus_covers_every_verifier_check_and_threat() -> None:
    checks: set[int] = set()
    threats: set[int] = set()
    for case in CASES:
        for group in re.findall(r"digest §10 ((?:#\d+(?:, )?)+)", case.source):
            checks |= {int(n) for n in re.findall(r"#(\d+)", group)}
        threats |= {int(n) for n in re.findall(r"\bT(\d+)\b", case.source)}
    assert sorted(set(range(1, 52)) - checks) == []
    assert sorted(set(range(1, 14)) - threats) == []


# ------------------------------------------------------------------ the cases


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_attack(world: World, case: Case) -> None:
    run_case(world, case)


# ------------------------------------------------------------------ controls


def _accepted(world: World, attack: Attack) -> None:
    response = world.send(attack)
    assert response.status_code == 200, response.text
    assert attack.target is not None
    record = world.record(attack.target)
    assert record is not None and record["status"] == "verified", record


def _siop(world: World) -> Attack:
    live = world.present(profile="identity", response_type="vp_token id_token")
    token = create_id_token(
        key=world.key("human"), audience=live.request.client_id, nonce=live.request.nonce, iat=now()
    )
    return live.respond(id_token=token)


def _rebound(world: World) -> Attack:
    live = world.present(profile="identity")
    jwt, *disclosures, _ = live.presentation().split("~")
    return live.respond(vp_token={"identity": [live.rebind(jwt, disclosures, world.key("human"))]})


def _agent_rebound(world: World) -> Attack:
    live = world.agent_request()
    jwt, *disclosures, _ = live.presentation().split("~")
    return live.respond(vp_token={"mandate": [live.rebind(jwt, disclosures, world.key("agent"))]})


def _jwe(world: World) -> Attack:
    live = world.present(profile="identity")
    body = {"vp_token": live.vp_token, "state": live.request.state}
    attack = live.encrypted(json.dumps(body).encode(), enc="A256GCM")
    attack.target = live.tx
    return attack


def _binding_waived(world: World) -> Attack:
    """Without transaction data, a query that waives holder binding takes an SD-JWT without
    KB-JWT (so ``kb_jwt_stripped_binding_waived_but_td_bound`` is refused for the data)."""
    query = {**IDENTITY_QUERY, "require_cryptographic_holder_binding": False}
    live = world.present(dcql_query={"credentials": [query]}, propose=False)
    jwt, disclosures = world.disclose(world.identity, {"credentials": [IDENTITY_QUERY]})
    return live.respond(vp_token={"identity": ["~".join([jwt, *disclosures, ""])]})


CONTROLS: dict[str, Callable[[World], Attack]] = {
    "holder_binding_waived_without_transaction_data": _binding_waived,
    "honest_wallet": lambda w: w.present(profile="identity").respond(),
    "holder_rebinding": _rebound,
    "agent_rebinding_with_transaction_data": _agent_rebound,
    "hand_made_jwe": _jwe,
    "crafted_credential": lambda w: w.crafted_response(),
    "crafted_credential_with_valid_status": pointing(lambda w: w.status_list({IDX: 0})),
    "x5c_credential": lambda w: w.crafted_response(
        key=w.x5c_key, header={"x5c": w.x5c(), "kid": None}, claims={"iss": X5C_ISS}
    ),
    "metadata_issuer_credential": lambda w: w.crafted_response(
        key=w.wallet.issuer("meta").key, claims={"iss": w.host.url("/meta")}
    ),
    "siop_id_token": _siop,
}


@pytest.mark.parametrize("name", list(CONTROLS))
def test_control_is_accepted(world: World, name: str) -> None:
    """The honest version of each technique the cases use verifies."""
    _accepted(world, CONTROLS[name](world))


def test_control_simple_query_is_what_crafted_credentials_answer() -> None:
    assert SIMPLE_QUERY["credentials"][0]["claims"] == [{"path": ["given_name"]}]


# ------------------------------------------------------------------ the judge can fail


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        ("kb_for_another_audience", Rejected("kb_nonce_mismatch")),  # another check
        ("state_wrong", Rejected("kb_nonce_mismatch")),  # refused, not processed
        ("kb_jwt_stripped", Refused(400, "invalid_request", "kb_missing")),  # processed
        ("wallet_nonce_too_long", Refused(400, "invalid_request", "already retrieved")),
        ("t8_uses_exhausted", Denied(("budget_exhausted",), rule="counters")),
        ("request_object_downgrade_refused", Refused(400, "invalid_request", "x")),
        ("dpop_wrong_htm", Refused(400, "invalid_dpop_proof", "dpop_htu_mismatch")),
        ("revoke_access_token_of_another_client", Ignored()),  # refused, not ignored
        ("revoke_access_token_replayed", Refused(400, "invalid_request", "token")),  # ignored
    ],
)
def test_judge_catches_a_wrong_expectation(world: World, name: str, wrong: object) -> None:
    with pytest.raises(AssertionError):
        run_case(world, replace(BY_NAME[name], expect=wrong))  # type: ignore[arg-type]


def test_judge_catches_an_accepted_forgery(world: World) -> None:
    honest = Case(
        "honest", "control", lambda w: w.present(profile="identity").respond(), Rejected("x")
    )
    with pytest.raises(AssertionError, match="rejected"):
        run_case(world, honest)


def _snapshot(**changes: object) -> Snapshot:
    base: dict[str, object] = {
        "records": {"tx": {"status": "request_retrieved", "version": 2}},
        "views": {"av": {"decision": "pending", "reasons": []}},
        "audits": {"av": [{"type": "created", "hash": "h0"}]},
        "counters": {"mandate:x": {"uses": 1, "spent": 8990}},
        "metrics": Counter({("created",): 5}),
        "canary": 0,
        "rp_views": {"tx": (200, {"status": "request_retrieved"})},
    }
    base.update(changes)
    return Snapshot(**base)  # type: ignore[arg-type]


REFUSAL = httpx.Response(
    400,
    json={"error": "invalid_request", "error_description": "state does not match"},
    headers={"Cache-Control": "no-store"},
)


@pytest.mark.parametrize(
    ("after", "message"),
    [
        ({"records": {"tx": {"status": "rejected", "version": 3}}}, "changed a transaction"),
        ({"views": {"av": {"decision": "deny", "reasons": ["x"]}}}, "changed an agent verif"),
        ({"audits": {"av": [{"type": "created", "hash": "h0"}, {"type": "x"}]}}, "audit"),
        ({"counters": {"mandate:x": {"uses": 2, "spent": 8990}}}, "changed counters"),
        ({"metrics": Counter({("created",): 6})}, "created"),
        ({"canary": 1}, "canary"),
        ({"rp_views": {"tx": (200, {"status": "rejected"})}}, "RP API view"),
        ({"tool_runs": 1}, "ran a tool"),
    ],
)
def test_judge_catches_a_state_change_behind_a_refusal(
    after: dict[str, object], message: str
) -> None:
    """A refused request that nevertheless changed something fails the case."""
    case = Case(
        "x", "control", lambda w: Attack("GET", "/"), Refused(400, "invalid_request", "state")
    )
    judge(None, case, Attack("GET", "/"), REFUSAL, _snapshot(), _snapshot())  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match=message):
        judge(None, case, Attack("GET", "/"), REFUSAL, _snapshot(), _snapshot(**after))  # type: ignore[arg-type]


IGNORED = httpx.Response(200, headers={"Cache-Control": "no-store"})


@pytest.mark.parametrize(
    ("response", "after", "message"),
    [
        (IGNORED, {"counters": {"mandate:x": {"uses": 2, "spent": 8990}}}, "changed counters"),
        (IGNORED, {"records": {"tx": {"status": "rejected", "version": 3}}}, "a transaction"),
        (httpx.Response(200, json={}, headers={"Cache-Control": "no-store"}), {}, "{}"),
        (httpx.Response(200), {}, "no-store"),
    ],
)
def test_judge_catches_what_an_ignored_request_must_not_do(
    response: httpx.Response, after: dict[str, object], message: str
) -> None:
    """An ignored request (RFC 7009 §2.2) answers 200 with an empty body and changes nothing."""
    case = Case("x", "control", lambda w: Attack("GET", "/"), Ignored())
    judge(None, case, Attack("GET", "/"), IGNORED, _snapshot(), _snapshot())  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match=message):
        judge(None, case, Attack("GET", "/"), response, _snapshot(), _snapshot(**after))  # type: ignore[arg-type]


# ------------------------------------------------------------------ after the whole run


def test_no_server_error_anywhere(world: World) -> None:
    metrics = world.metrics()
    assert not [k for k in metrics if k[0] == "5xx"], metrics
    for verifier in world.verifiers:
        log = verifier.log()
        assert "unexpected error" not in log and "Traceback" not in log, log[-3000:]
    assert world.canary.count == 0
