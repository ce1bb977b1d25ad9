"""Prometheus metrics at ``/metrics`` (prometheus-client).

- ``agentvp_presentations_created_total``
- ``agentvp_presentations_finished_total{status, code}`` - ``code`` is the failed check
  (``kb_nonce_mismatch``, ``status_invalid``, ...), the wallet's error, or ``none``
- ``agentvp_agent_decisions_total{decision, reason}`` - one increment per reason (``none`` on allow)
- ``agentvp_http_request_duration_seconds{method, route, status}`` - histogram per route template
- ``agentvp_store_errors_total`` - store outages answered with 503
- ``agentvp_rate_limited_total{route}`` - requests refused with 429 by ``wallet_rate_limit``
- ``agentvp_status_list_cache_total{result="hit|miss"}``
- ``agentvp_webhook_deliveries_total{outcome="delivered|given_up"}``

Each process keeps its own registry; with several uvicorn workers set
``PROMETHEUS_MULTIPROC_DIR`` (an empty directory) before start, and the endpoint aggregates
every worker's samples (prometheus-client multiprocess mode).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from verifier.store.base import Transaction

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class _Gauges(Collector):
    """Counters that live on other objects (status-list cache, webhook deliverer)."""

    def __init__(self, sources: dict[str, Callable[[], dict[str, int]]]) -> None:
        self.sources = sources

    def collect(self) -> Iterator[CounterMetricFamily]:
        for name, read in self.sources.items():
            label = "outcome" if "webhook" in name else "result"
            family = CounterMetricFamily(name, name.replace("_", " "), labels=[label])
            for value, count in read().items():
                family.add_metric([value], count)
            yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.created = Counter(
            "agentvp_presentations_created", "Presentations created", registry=self.registry
        )
        self.finished = Counter(
            "agentvp_presentations_finished",
            "Presentations that reached a final status",
            ["status", "code"],
            registry=self.registry,
        )
        self.decisions = Counter(
            "agentvp_agent_decisions",
            "Agent verification decisions by reason",
            ["decision", "reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "agentvp_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30),
        )
        self.store_errors = Counter(
            "agentvp_store_errors", "Store outages answered with 503", registry=self.registry
        )
        self.rate_limited = Counter(
            "agentvp_rate_limited",
            "Requests refused with 429 (per-client rate limit)",
            ["route"],
            registry=self.registry,
        )
        self.sources: dict[str, Callable[[], dict[str, int]]] = {}
        self.registry.register(_Gauges(self.sources))
        # (status, code) -> the finished counter's child: what ``labels()`` returns, without
        # its validation and lock once a flow (codes are ours: a bounded set, as the labels)
        self._finished: dict[tuple[str, str], Any] = {}

    async def on_event(self, event: str, tx: Transaction) -> None:
        """Listener on the presentation service (and agent decisions)."""
        if event == "created" and tx.purpose != "agent_verification":
            self.created.inc()
        if event != "final":
            return
        if tx.purpose == "agent_verification":
            result = tx.result or {}
            for reason in result.get("reasons") or ["none"]:
                self.decisions.labels(str(result.get("decision")), reason).inc()
            return
        key = (tx.status, str((tx.error or {}).get("code", "none")))
        child = self._finished.get(key)
        if child is None:
            child = self._finished[key] = self.finished.labels(*key)
        child.inc()

    def render(self) -> tuple[bytes, str]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
