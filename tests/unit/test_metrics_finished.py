"""The finished-presentations counter: one child per (status, code), kept after its first use,
counting every final event - the same numbers ``labels()`` on each event gave."""

from __future__ import annotations

import asyncio

from prometheus_client import generate_latest

from verifier.ops.metrics import Metrics
from verifier.store.base import Transaction


def _final(status: str, code: str | None) -> Transaction:
    tx = Transaction(id="t", request_id="r", state="s", nonce="n", client_id="c")
    tx.status = status
    tx.error = None if code is None else {"code": code}
    return tx


def test_each_final_event_counts_once_under_its_labels() -> None:
    metrics = Metrics()
    events = [("verified", None), ("verified", None), ("failed", "kb_nonce_mismatch")]
    events += [("verified", None), ("failed", "kb_nonce_mismatch"), ("failed", "expired")]
    for status, code in events:
        asyncio.run(metrics.on_event("final", _final(status, code)))
    asyncio.run(metrics.on_event("created", _final("pending", None)))  # not a final event
    text = generate_latest(metrics.registry).decode()
    assert 'agentvp_presentations_finished_total{code="none",status="verified"} 3.0' in text
    assert (
        'agentvp_presentations_finished_total{code="kb_nonce_mismatch",status="failed"} 2.0' in text
    )
    assert 'agentvp_presentations_finished_total{code="expired",status="failed"} 1.0' in text
    assert "agentvp_presentations_created_total 1.0" in text
