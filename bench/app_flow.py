"""The app's own CPU per cross-device flow, without an HTTP server: bench/load.py's wallet
drives ``create_app`` through raw ASGI calls in this process (SQLite store, INFO logs to a
file, as ``agentvp serve`` configures them), and each request's thread CPU time is summed.

What it separates from bench/load.py's server CPU: uvicorn, the sockets and the event loop's
I/O are not in it, so the four requests' own costs (create, request object, response, result)
and, with ``--layers``, each ASGI layer's own share (the outer FastAPI/Starlette wrappers,
proxy headers, the access log, the body limit, the lean path, the endpoint) can be read apart.
The timing wrappers ``--layers`` puts between the layers cost time themselves (~1.6 us a
request each here, mostly two reads of the thread's CPU clock): they are measured in the same
run and taken out of every figure (before 2026-12-06 they were not, and each layer's figure
carried ~6 us a flow of them).
Numbers are also given in ES256-verify units measured in the same process. A time measurement:
on a shared machine repeat it, or count instructions with bench/instructions.py.

``--store memory`` runs the same flows on the in-memory store in place of SQLite: the
difference is what the SQLite store (its statements, its WAL writes, their Python) costs a flow
beyond the in-memory store's own dict work.

``--gap-ms`` idles the thread (``time.sleep``, outside the timed window) before each request,
as a server below saturation idles between requests: what the same requests cost on a core
that went idle in between (on a shared host, a colder one).

    python bench/app_flow.py [--flows 2000] [--warmup 300] [--layers] [--gap-ms 0]
                             [--store sqlite|memory]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging.config
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

from loadgen.units import es256_unit_us  # noqa: E402
from loadgen.wallet import Stats, Wallet, prebuild  # noqa: E402

from verifier.app import create_app  # noqa: E402
from verifier.ops.logs import lean_log_records, logging_config  # noqa: E402
from verifier.settings import Settings  # noqa: E402
from verifier.setup.data_dir import init_data_dir  # noqa: E402

PUBLIC = "http://127.0.0.1:9999"


class Timed:
    """An ASGI app's inclusive thread CPU time, summed under ``name``, and its calls."""

    def __init__(
        self, app: Any, name: str, spent: dict[str, int], calls: dict[str, int] | None = None
    ) -> None:
        self.app, self.name, self.spent = app, name, spent
        self.calls = {} if calls is None else calls

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        start = time.thread_time_ns()
        try:
            await self.app(scope, receive, send)
        finally:
            self.spent[self.name] = self.spent.get(self.name, 0) + time.thread_time_ns() - start
            self.calls[self.name] = self.calls.get(self.name, 0) + 1


async def _nothing(scope: Any, receive: Any, send: Any) -> None:
    return None


def wrapper_cost(calls: int = 20_000, rounds: int = 5) -> tuple[float, float]:
    """What one :class:`Timed` adds to the figures, in ns a call (median of ``rounds``):
    ``whole``, its cost seen from the layer around it (two ``thread_time_ns`` calls of
    ~0.5 us each on a virtual machine, a coroutine, two dict updates), which that layer's own
    time would otherwise carry; and ``inside``, the part of it that falls in its own window."""
    wholes, insides = [], []
    for _ in range(rounds):
        spent: dict[str, int] = {}
        outer = Timed(Timed(_nothing, "inner", spent), "outer", spent)

        async def run(app: Any = outer) -> None:
            for _ in range(calls):
                await app({}, None, None)

        asyncio.run(run())
        wholes.append((spent["outer"] - spent["inner"]) / calls)
        insides.append(spent["inner"] / calls)
    return sorted(wholes)[rounds // 2], sorted(insides)[rounds // 2]


def time_layers(app: Any, spent: dict[str, int], calls: dict[str, int]) -> list[str]:
    """Put a :class:`Timed` below every layer of the built middleware stack; their names,
    outermost first."""
    names = []
    layer = app.middleware_stack
    while hasattr(layer, "app") and not isinstance(layer, Timed):
        inner = layer.app
        name = type(inner).__name__
        names.append(f"{len(names) + 1} {name}")
        layer.app = Timed(inner, names[-1], spent, calls)
        layer = inner
    return names


def layer_owns(
    names: list[str], spent: dict[str, int], calls: dict[str, int], whole: float, inside: float
) -> list[tuple[str, float]]:
    """Each called layer's own CPU (ns, all calls): its :class:`Timed` window less the next
    called layer's, less the timing itself - the part of its own wrapper inside its window
    (``inside`` a call) and the rest of the inner wrapper (``whole - inside`` a call), see
    :func:`wrapper_cost`. The last one called includes the endpoints."""
    called = [name for name in names if spent.get(name)]  # the lean path skips the rest
    owns = []
    for outer, inner in zip(called, [*called[1:], None], strict=True):
        own = spent[outer] - (spent[inner] if inner else 0) - inside * calls[outer]
        own -= (whole - inside) * calls.get(inner or "", 0)
        owns.append((outer + (" and the endpoints" if inner is None else ""), own))
    return owns


class Connection:
    """bench/load.py's connection, answered by ``app`` in this process."""

    def __init__(self, app: Any, spent: dict[str, int], gap: float = 0.0) -> None:
        self.app, self.spent, self.gap = app, spent, gap

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: str = ""
    ) -> tuple[int, bytes]:
        raw = [(b"host", b"127.0.0.1:9999")]
        for line in headers.split("\r\n"):
            if line:
                name, _, value = line.partition(":")
                raw.append((name.strip().lower().encode(), value.strip().encode()))
        if body:
            raw.append((b"content-length", str(len(body)).encode()))
        route, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": route,
            "raw_path": route.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": raw,
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 9999),
            "state": {},
        }
        sent: dict[str, Any] = {"status": 0, "body": []}
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if delivered:  # a disconnect never comes: the request is complete
                await asyncio.sleep(3600)
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
            elif message["type"] == "http.response.body":
                sent["body"].append(message.get("body", b""))

        key = f"{method} /{route.split('/')[1]}/{route.split('/')[2]}"
        if self.gap:
            time.sleep(self.gap)
        start = time.thread_time_ns()
        await self.app(scope, receive, send)
        self.spent[key] = self.spent.get(key, 0) + time.thread_time_ns() - start
        return sent["status"], b"".join(sent["body"])


def store_url(store: str, root: Path) -> str:
    """``AGENTVP_STORE_URL`` for ``--store``: a fresh SQLite file under ``root``, or memory."""
    return "memory://" if store == "memory" else f"sqlite:///{root}/store.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--layers", action="store_true", help="each ASGI layer's own CPU too")
    parser.add_argument(
        "--gap-ms", type=float, default=0.0, help="idle this long before each timed request"
    )
    parser.add_argument(
        "--store",
        choices=("sqlite", "memory"),
        default="sqlite",
        help="the store the flows run on (memory: the flows without SQLite's cost)",
    )
    args = parser.parse_args()
    # the data directory, the store and the log live only as long as the run
    with tempfile.TemporaryDirectory(prefix="agentvp-app-flow-") as tmp:
        measure(args, Path(tmp))


def measure(args: argparse.Namespace, root: Path) -> None:
    """Run the flows on a data directory under ``root`` and print their CPU."""
    data = root / "data"
    api_key = init_data_dir(data, public_url=PUBLIC)["api_key"]
    os.environ.update(
        AGENTVP_DATA_DIR=str(data),
        AGENTVP_STORE_URL=store_url(args.store, root),
        AGENTVP_PUBLIC_URL=PUBLIC,
        AGENTVP_TRUSTED_PROXIES="127.0.0.1",  # as bench/load.py's server: X-Forwarded-For
        AGENTVP_API_KEYS=api_key,
    )
    log = (root / "server.log").open("w")
    config = logging_config("text", "INFO")
    config["handlers"]["default"]["stream"] = log
    logging.config.dictConfig(config)
    lean_log_records()
    app = create_app(Settings())
    requests: dict[str, int] = {}
    layers: dict[str, int] = {}
    layer_calls: dict[str, int] = {}

    async def run() -> list[str]:
        async with app.router.lifespan_context(app):
            pre = prebuild(data, api_key)
            rp, holder = Connection(app, requests), Connection(app, requests)
            wallet = Wallet(pre, rp, holder, Stats())
            for _ in range(args.warmup):
                await wallet.flow(time.perf_counter())
            rp.gap = holder.gap = args.gap_ms / 1000  # the timed flows only
            names = time_layers(app, layers, layer_calls) if args.layers else []
            requests.clear()
            layers.clear()
            layer_calls.clear()
            gc.collect()
            gc.freeze()
            for _ in range(args.flows):
                await wallet.flow(time.perf_counter())
            return names

    names = asyncio.run(run())
    unit = es256_unit_us()
    n = args.flows

    def line(name: str, ns: int) -> str:
        us = ns / n / 1000
        return f"  {name:<34} {us:7.0f} us = {us / unit:5.2f} units"

    total = sum(requests.values())
    if names:  # the timing wrappers' own cost, taken out of what they measured
        whole, inside = wrapper_cost()
        wrapped = whole * sum(layer_calls.values())
        total -= round(wrapped)
        for name in requests:  # each kind of request passed as many wrappers (n requests each)
            requests[name] -= round(wrapped / len(requests))
    gap = f", {args.gap_ms:g} ms idle before each request" if args.gap_ms else ""
    store = "SQLite" if args.store == "sqlite" else "memory store"
    print(f"{n} flows in process ({store}{gap}); ES256 unit {unit:.1f} us")
    print(line("app CPU per flow", total))
    for name, ns in requests.items():
        print(line(name, ns))
    if names:
        print(
            f"own CPU per flow of each ASGI layer (outermost first; each layer's timing wrapper"
            f" cost {whole:.0f} ns a request, taken out):"
        )
        owns = layer_owns(names, layers, layer_calls, whole, inside)
        print(line("0 FastAPI entry, ServerErrorMiddleware", total - sum(o for _, o in owns)))
        for name, own in owns:
            print(line(name, own))
    print(f"app_cpu_per_flow_us={total / n / 1000:.0f} es256_units={total / n / 1000 / unit:.1f}")
    log.close()


if __name__ == "__main__":
    main()
