""" "Execute" evaluations consume atomically in every store: 100 concurrent executions of new
actions under a mandate with 5 uses and a budget allow exactly what fits; 100 concurrent
executions of the granted action itself allow exactly one (later checks say so too); a check
never consumes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from verifier.authzen.pdp import PDP
from verifier.authzen.subjects import Grant
from verifier.protocol.mandates.authority import AgentAction
from verifier.store import MemoryStore, RedisStore, SQLiteStore
from verifier.store.base import Transaction, TransactionStore, TxStatus

pytestmark = pytest.mark.anyio
BACKENDS = ["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)]
NOW = int(time.time())
GRANTED = {
    "action": "commerce.checkout",
    "transaction_id": "ord-1",
    "payment_amount": {"amount": 1000, "currency": "EUR"},
    "mandate_jti": "m-1",
}


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TransactionStore]:
    backend: TransactionStore
    if request.param == "redis":
        backend = RedisStore(request.getfixturevalue("redis_url"), prefix=f"t:{uuid.uuid4().hex}:")
    elif request.param == "sqlite":
        backend = SQLiteStore(tmp_path / "store.db")
    else:
        backend = MemoryStore()
    try:
        yield backend
    finally:
        await backend.close()


def _pdp(store: TransactionStore) -> PDP:
    pdp = PDP.__new__(PDP)  # only the counter section: no subjects, no policies needed
    pdp.store = store
    pdp.presentations = SimpleNamespace(now=lambda: NOW)  # type: ignore[assignment]
    return pdp


def _grant() -> Grant:
    constraints = [
        {"type": "mandate.max_uses", "max": 5},
        {"type": "payment.budget", "max": 10_000, "currency": "EUR"},
    ]
    mandate: dict[str, Any] = {
        "iss": "https://mandates.example",
        "exp": NOW + 3600,
        "claims": {"jti": f"m-{uuid.uuid4().hex}", "authority": {"constraints": constraints}},
    }
    av = Transaction(
        id=uuid.uuid4().hex,
        request_id="r",
        state="",
        nonce="",
        client_id="",
        status=TxStatus.VERIFIED,
        meta={"policy": "p", "action": GRANTED},
    )
    return Grant(av, mandate, None)


async def test_new_actions_take_uses_and_budget_exactly(store: TransactionStore) -> None:
    pdp, grant = _pdp(store), _grant()

    async def one(n: int, *, execute: bool) -> bool:
        action = AgentAction.model_validate(
            {
                **GRANTED,
                "transaction_id": f"t-{n}",
                "payment_amount": {"amount": 3000, "currency": "EUR"},
            }
        )
        return (await pdp._counters(grant, action, execute=execute)).decision

    checks = await asyncio.gather(*(one(n, execute=False) for n in range(20)))
    assert all(checks)  # checking consumes nothing
    done = await asyncio.gather(*(one(n, execute=True) for n in range(100)))
    assert sum(done) == 3  # 3 x 3000 <= 10000 < 4 x 3000, under 5 uses
    last = await pdp._counters(
        grant,
        AgentAction.model_validate(
            {
                **GRANTED,
                "transaction_id": "t-x",
                "payment_amount": {"amount": 3000, "currency": "EUR"},
            }
        ),
        execute=False,
    )
    assert not last.decision and last.context["reasons"][0]["id"] == "budget_exhausted"


async def test_the_granted_action_executes_once(store: TransactionStore) -> None:
    pdp, grant = _pdp(store), _grant()
    action = AgentAction.model_validate(GRANTED)
    done = await asyncio.gather(*(pdp._counters(grant, action, execute=True) for _ in range(100)))
    assert sum(d.decision for d in done) == 1
    refused = next(d for d in done if not d.decision)
    assert refused.context["reasons"][0]["id"] == "already_executed"
    check = await pdp._counters(grant, action, execute=False)  # and a check says so
    assert not check.decision and check.context["reasons"][0]["id"] == "already_executed"
