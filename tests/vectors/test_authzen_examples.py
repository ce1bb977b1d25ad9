"""AuthZEN Authorization API 1.0: the spec's request examples parse to the evaluations they mean
(defaults applied, request order kept), its three batch semantics give the spec's answers, and
malformed requests are refused naming the member."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from verifier.authzen.pdp import PDP, Decision
from verifier.authzen.requests import Evaluation, RequestError, parse_batch

DATA = json.loads(
    (Path(__file__).parent / "authzen" / "authorization_api_examples.json").read_text()
)


def _flat(ev: Evaluation) -> dict[str, Any]:
    def entity(e: Any) -> dict[str, Any]:
        return {
            "type": e.type,
            "id": e.id,
            **({"properties": dict(e.properties)} if e.properties else {}),
        }

    return {
        "subject": entity(ev.subject),
        "action": ev.action,
        "action_properties": dict(ev.action_properties),
        "resource": entity(ev.resource),
        "context": dict(ev.context),
    }


@pytest.mark.parametrize("case", DATA["requests"], ids=lambda c: c["name"])
def test_spec_requests_parse(case: dict[str, Any]) -> None:
    evaluations, semantic, batch = parse_batch(case["request"])
    assert semantic == "execute_all"
    assert batch is case["expected"]["batch"]
    assert [_flat(e) for e in evaluations] == case["expected"]["evaluations"]


class _ByResource(PDP):
    """The decision table of the spec's example, in place of agentvp's rules."""

    def __init__(self, table: dict[str, bool]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def evaluate(self, ev: Evaluation) -> Decision:
        self.asked.append(ev.resource.id)
        return Decision(self.table[ev.resource.id])


@pytest.mark.parametrize("case", DATA["semantics"], ids=lambda c: c["name"])
def test_spec_semantics(case: dict[str, Any]) -> None:
    evaluations, semantic, batch = parse_batch(case["request"])
    pdp = _ByResource(case["pdp_decisions"])
    answers = asyncio.run(pdp.evaluate_all(evaluations, semantic))
    assert batch and [a.decision for a in answers] == case["expected_decisions"]
    assert len(pdp.asked) == len(answers)  # short-circuited: nothing evaluated after the stop


@pytest.mark.parametrize("case", DATA["negative"], ids=lambda c: c["name"])
def test_malformed_requests_are_refused(case: dict[str, Any]) -> None:
    with pytest.raises(RequestError) as refused:
        parse_batch(case["request"])
    assert case["error"] in str(refused.value)


def test_decision_body_shape() -> None:
    assert Decision(True).body() == {"decision": True}  # §6.2.1 Example Decision
    assert Decision(False, {"reasons": []}).body() == {
        "decision": False,
        "context": {"reasons": []},
    }
