"""Fire many HTTP requests at the same instant, and read Prometheus counters.

:func:`burst` opens one keep-alive connection per request first (all of them, concurrently),
then holds every request at a barrier until all are ready and releases them together, so they
really overlap at the server: it returns the answers and :class:`Burst` timing that proves it
(how many requests were already on their way when the first answer came back).

A warm connection stays warm only while both ends keep it. The client here never expires one
(``keepalive_expiry=None``; httpx's default is 5 s), and the servers under test must keep idle
connections longer than a warm-up can take on a busy machine (``AGENTVP_KEEP_ALIVE_TIMEOUT``):
with uvicorn's default of 5 s, a CPU-starved test process that took 4-9 s to read its 100 warm-up
answers found every warm connection closed by the server, and a request written onto a
connection at the instant the server closed it was lost (``httpx.ReadError``,
``RemoteProtocolError: Server disconnected``). :attr:`Burst.cold` counts the requests that did
not go out on a warmed connection, so a broken premise is reported as such.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Burst:
    responses: list[httpx.Response]
    started_before_first_answer: int  # requests on their way when the first answer came
    cold: int  # requests sent on a new connection, not on one warmed before the release

    def outcomes(self) -> Counter[tuple[int, str, str]]:
        """``(status, error, error_description)`` -> how many (``""`` for a success)."""
        counted: Counter[tuple[int, str, str]] = Counter()
        for response in self.responses:
            body = response.json() if response.status_code >= 400 else {}
            counted[
                (response.status_code, body.get("error", ""), body.get("error_description", ""))
            ] += 1
        return counted


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    data: Mapping[str, str] | None = None
    headers: Mapping[str, str] | None = None
    content: bytes | None = None  # a raw body (e.g. JSON) instead of form ``data``


def spread(n: int, urls: Sequence[str], method: str = "POST", **kw: Any) -> list[Call]:
    """``n`` identical calls, the i-th to ``urls[i % len(urls)]`` (alternating instances)."""
    return [Call(method, urls[i % len(urls)], **kw) for i in range(n)]


def burst(calls: Sequence[Call]) -> Burst:
    """Every call on its own warm connection, all released at once; the answers in order."""
    return asyncio.run(_burst(calls))


async def _burst(calls: Sequence[Call]) -> Burst:
    n = len(calls)
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n, keepalive_expiry=None)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        origins = sorted({_origin(call.url) for call in calls})

        async def warm(origin: str) -> tuple[str, int]:
            answer = await client.get(f"{origin}/healthz")
            answer.raise_for_status()
            return _local_address(answer)

        # n connections open, idle in the pool
        warmed = set(await asyncio.gather(*(warm(origins[i % len(origins)]) for i in range(n))))
        ready, go = [0], asyncio.Event()
        sent_at: list[float] = [0.0] * n
        done_at: list[float] = [0.0] * n
        went_over: list[tuple[str, int] | None] = [None] * n

        async def one(i: int, call: Call) -> httpx.Response:
            request = client.build_request(
                call.method, call.url, data=call.data, content=call.content, headers=call.headers
            )
            ready[0] += 1
            if ready[0] == n:
                go.set()
            await go.wait()
            sent_at[i] = time.perf_counter()
            response = await client.send(request)
            done_at[i] = time.perf_counter()
            went_over[i] = _local_address(response)
            return response

        responses = await asyncio.gather(*(one(i, call) for i, call in enumerate(calls)))
    first_answer = min(done_at)
    cold = sum(1 for address in went_over if address not in warmed)
    return Burst(list(responses), sum(1 for t in sent_at if t < first_answer), cold)


def _local_address(response: httpx.Response) -> tuple[str, int]:
    """The client end (address, port) of the connection ``response`` came over."""
    address: tuple[str, int] = response.extensions["network_stream"].get_extra_info("client_addr")
    return address


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def counter(bases: Sequence[str], name: str, **labels: str) -> float:
    """The sum over every instance of counter ``name`` (``..._total``) with these labels."""
    total = 0.0
    for base in bases:
        text = httpx.get(f"{base}/metrics", timeout=10).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                wanted = sample.name == f"{name}_total"
                if wanted and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
    return total
