"""The lean path to a flow's requests answers exactly as the FastAPI routes it stands for.

The first request to each route goes through FastAPI (the fast path learns the route from it),
every later one through :class:`verifier.routes.fast_path.FastPath`. So each case is sent twice
to a fresh app - once through each - and the two answers must be byte-identical (status,
headers, body); the access log and the latency metric name the same route template; flows over
HTTP still verify; the OpenAPI document still lists the routes; no other route of the app can
take a path the fast path serves; a route whose dependencies differ is left to FastAPI.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from tests.e2e.harness import in_process_app
from tests.e2e.test_flows import Env
from verifier.routes import rp_api
from verifier.routes.deps import API_KEY_CHECK, rate_limited
from verifier.routes.fast_path import FAST_ROUTES, TELEMETRY, FastPath, FastRoute
from verifier.setup.data_dir import init_data_dir

pytestmark = pytest.mark.e2e

PUBLIC = "http://localhost:8080"
CLIENT = ("203.0.113.7", 40000)
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("fastpath") / "data"
    return path, init_data_dir(path, public_url=PUBLIC)["api_key"]


def _app(data_dir: tuple[Path, str], limit: int = 0, clock: Callable[[], float] = time.time) -> Any:
    return in_process_app(*data_dir, public_url=PUBLIC, wallet_rate_limit=limit, clock=clock)


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=CLIENT), base_url=PUBLIC)


def _answer(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = sorted((k, v) for k, v in response.headers.items() if k != "date")
    return response.status_code, headers, response.content


async def _create(client: httpx.AsyncClient, api_key: str, **body: Any) -> dict[str, Any]:
    response = await client.post(
        "/v1/presentations",
        json={"profile": "identity", **body},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert response.status_code == 201, response.text
    view: dict[str, Any] = response.json()
    return view


def _fast_path(app: Any) -> FastPath:
    stack = app.middleware_stack
    while not isinstance(stack, FastPath):
        stack = stack.app
    return stack


KEY = "<api key>"  # replaced by the app's API key
AUTH = {"Authorization": f"Bearer {KEY}"}
WRONG_KEY = {"Authorization": "Bearer wrong"}
TEXT = {"content-type": "text/plain"}
AS_JSON = {**AUTH, "content-type": JSON}
RP = "/v1/presentations"


def _case(method: str, path: str, **kwargs: Any) -> tuple[str, str, dict[str, Any]]:
    return method, path, kwargs


# (method, path, request arguments). In paths, {tx} is a pending cross-device presentation
# and {sd} a pending same-device one, both created beforehand.
CASES: list[tuple[str, str, dict[str, Any]]] = [
    _case("POST", "/wallet/request/unknown-id", data={"wallet_nonce": "n"}),
    _case("POST", "/wallet/request/unknown-id", content=b"x=1", headers=TEXT),
    _case("POST", "/wallet/request/unknown-id", content=b"%zz=1", headers={"content-type": FORM}),
    _case("GET", "/wallet/request/unknown-id"),
    _case("POST", "/wallet/response/unknown-id", data={"response": "a.b.c.d.e"}),
    _case(
        "POST", "/wallet/response/unknown-id", content=b"{}", headers={"content-type": "text/json"}
    ),
    _case("POST", "/wallet/response/unknown-id", content=b"", headers={"content-type": FORM}),
    _case("POST", RP, json={"profile": "identity"}),
    _case("POST", RP, json={}, headers=WRONG_KEY),
    _case("POST", RP, json={}, headers={"Authorization": f"Basic {KEY}"}),
    _case("POST", RP, content=b"{}", headers={**AUTH, **TEXT}),
    _case("POST", RP, content=b"[1]", headers=AS_JSON),
    _case("POST", RP, content=b'{"a":1,"a":2}', headers=AS_JSON),
    _case("POST", RP, json={"profile": "no-such-profile"}, headers=AUTH),
    _case("GET", f"{RP}/unknown-id", headers=AUTH),
    _case("GET", f"{RP}/unknown-id"),
    _case("GET", RP + "/{tx}", headers=AUTH),
    _case("GET", RP + "/{tx}", headers=WRONG_KEY),
    _case("GET", RP + "/{sd}", headers=AUTH),
    _case("GET", RP + "/{sd}?response_code=wrong", headers=AUTH),
    _case("GET", RP + "/{sd}?response_code=a&response_code=b", headers=AUTH),
]


def _with_key(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return {k: _with_key(v, key) for k, v in value.items()}
    return value.replace(KEY, key) if isinstance(value, str) else value


def _template(path: str) -> str:
    """The route template the access log names for ``path``."""
    path = path.partition("?")[0]
    if path == RP:
        return path
    parent = path.rsplit("/", 1)[0]
    return parent + ("/{tx_id}" if parent == RP else "/{request_id}")


@pytest.mark.anyio
@pytest.mark.parametrize(("method", "path", "request_kwargs"), CASES)
async def test_fast_path_answers_like_fastapi(
    data_dir: tuple[Path, str],
    method: str,
    path: str,
    request_kwargs: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = _app(data_dir)
    kwargs = _with_key(request_kwargs, data_dir[1])
    async with _client(app) as client:
        if "{" in path:  # the creations teach the fast path the create route, not the GET
            tx = await _create(client, data_dir[1])
            sd = await _create(
                client, data_dir[1], flow="same_device", redirect_uri="https://rp.example/done"
            )
            path = path.format(tx=tx["id"], sd=sd["id"])
        caplog.set_level(logging.INFO, logger="agentvp.access")
        learnt = len(_fast_path(app)._routes) if app.middleware_stack is not None else 0
        through_fastapi = await client.request(method, path, **kwargs)
        assert len(_fast_path(app)._routes) == learnt + 1, "FastAPI's answer taught it"
        through_fast_path = await client.request(method, path, **kwargs)
    assert through_fastapi.status_code < 500, through_fastapi.text
    assert _answer(through_fast_path) == _answer(through_fastapi)
    lines = [r.getMessage() for r in caplog.records if r.name == "agentvp.access"]
    expected = f"{method} {_template(path)} {through_fastapi.status_code}"
    assert lines == [expected] * 2


@pytest.mark.anyio
async def test_created_presentations_are_alike_through_both(data_dir: tuple[Path, str]) -> None:
    """A 201 carries fresh ids, so the two creations are compared in shape, and both are live."""
    app = _app(data_dir)
    async with _client(app) as client:
        first = await _create(client, data_dir[1])  # through FastAPI
        assert _fast_path(app)._routes, "the first creation taught the fast path its route"
        second = await _create(client, data_dir[1])  # through the fast path
        for view in (first, second):
            got = await client.get(
                f"/v1/presentations/{view['id']}",
                headers={"Authorization": f"Bearer {data_dir[1]}"},
            )
            assert got.json()["status"] == "pending"
    assert first["id"] != second["id"]
    assert _shape(first) == _shape(second)


def _shape(view: dict[str, Any]) -> str:
    """A created view without what is fresh per presentation: its ids and times."""
    request_id = view["request_uri"].rsplit("/", 1)[1]
    rest = {k: v for k, v in view.items() if k not in ("created_at", "expires_at")}
    text = json.dumps(rest, sort_keys=True)
    assert len(request_id) > 20 and len(view["id"]) > 20
    return text.replace(view["id"], "<id>").replace(request_id, "<request id>")


@pytest.mark.anyio
async def test_rate_limit_answers_alike_and_counts_the_same_route(
    data_dir: tuple[Path, str],
) -> None:
    # One fixed instant for both apps: Retry-After counts whole seconds from the allowed
    # request's second, so on the wall clock a second boundary between the two requests of one
    # app (a loaded machine) makes its answer say 61 where the other says 60.
    def clock() -> float:
        return 1_780_000_000.5

    app = _app(data_dir, limit=1, clock=clock)
    async with _client(app) as client:
        await client.post("/wallet/request/x")  # learns the route, uses the one allowed
        first_429 = await client.post("/wallet/request/x")  # fast path, over the limit
    other = _app(data_dir, limit=1, clock=clock)
    async with _client(other) as client:
        await client.post("/wallet/request/x")
        _fast_path(other)._routes.clear()  # both through FastAPI now
        fastapi_429 = await client.post("/wallet/request/x")
    assert first_429.status_code == 429
    assert _answer(first_429) == _answer(fastapi_429)
    metrics = (await _client(app).get("/metrics")).text
    assert 'agentvp_rate_limited_total{route="/wallet/request/{request_id}"} 1.0' in metrics


def test_flows_over_http_run_through_the_fast_path(tmp_path: Path) -> None:
    """``agentvp serve``: the first flow teaches the fast path, the next ones run through it."""
    env = Env(tmp_path)
    try:
        for _ in range(3):
            view = env.rp.create(profile="identity")
            simulator = env.simulator()
            request = simulator.resolve(view["authorization_request_uri"])
            simulator.submit(simulator.propose(request))
            simulator.http.close()
            result = env.rp.get(view["id"]).json()
            assert result["status"] == "verified", result
    finally:
        env.close()


def _pattern(fast: FastRoute) -> str:
    return fast.prefix if fast.param is None else f"{fast.prefix}/{{{fast.param}}}"


def test_openapi_still_lists_the_routes(data_dir: tuple[Path, str]) -> None:
    paths = _app(data_dir).openapi()["paths"]
    for fast in FAST_ROUTES:
        assert fast.method.lower() in paths[_pattern(fast)], _pattern(fast)


def _could_take(route_path: str, fast: FastRoute) -> bool:
    """Could a route at ``route_path`` match some path the fast route serves? (Conservative:
    a segment with a parameter in it matches anything, a ``:path`` parameter any depth.)"""
    if ":path}" in route_path:
        return fast.prefix.startswith(route_path.partition("{")[0])
    ours = fast.prefix.split("/") + ([] if fast.param is None else [None])
    theirs = route_path.split("/")
    if len(theirs) != len(ours):
        return False
    pairs = zip(theirs, ours, strict=True)
    return all(want is None or "{" in got or got == want for got, want in pairs)


def test_no_other_route_can_take_a_fast_path(data_dir: tuple[Path, str]) -> None:
    """The fast path learns a route from one request; it may then serve every path of that
    route's pattern only if no other route of the app could take one of them."""
    app = _app(data_dir)
    contexts = list(iter_route_contexts(app.router.routes))
    assert len(contexts) > 50, "the walk sees the routes of the included routers"
    for fast in FAST_ROUTES:
        takers = []
        for context in contexts:
            route = context.original_route
            if isinstance(route, Mount):
                if fast.prefix.startswith(route.path.rstrip("/") + "/"):
                    takers.append(route.path)
                continue
            methods = getattr(route, "methods", None) or {fast.method}
            if fast.method in methods and _could_take(context.path_format or "", fast):
                takers.append(getattr(route, "endpoint", route))
        assert takers == [fast.endpoint], (_pattern(fast), takers)


def test_could_take_finds_what_would_shadow() -> None:
    fast = FAST_ROUTES[1]  # GET /v1/presentations/{tx_id}
    assert _could_take("/v1/presentations/presets", fast)
    assert _could_take("/v1/{kind}/{id}", fast)
    assert _could_take("/{rest:path}", fast)
    assert not _could_take("/v1/presentations/{tx_id}/events", fast)
    assert not _could_take("/v1/presentations", fast)
    assert not _could_take("/v2/presentations/{tx_id}", fast)


class _Route:
    def __init__(self, endpoint: Any, *guards: Any) -> None:
        self.endpoint = endpoint
        self.dependant = SimpleNamespace(dependencies=[SimpleNamespace(call=g) for g in guards])


async def _extra_guard(request: Any) -> None:
    return None


@pytest.mark.parametrize(
    ("route", "learnt"),
    [
        (_Route(rp_api.get_presentation, API_KEY_CHECK), True),
        (_Route(rp_api.get_presentation, API_KEY_CHECK, _extra_guard), False),
        (_Route(rp_api.get_presentation), False),
        (_Route(rp_api.get_presentation, rate_limited), False),
        (_Route(rp_api.presentation_events, API_KEY_CHECK), False),
    ],
)
def test_a_route_is_taken_over_only_with_its_endpoint_and_dependency(
    data_dir: tuple[Path, str], route: _Route, learnt: bool
) -> None:
    """A route that gained a dependency (a scope check, say), lost its API-key check, or whose
    path FastAPI gave another endpoint stays with FastAPI."""
    fast_path = FastPath(_app(data_dir))
    fast_path.learn({"route": route, "app": _app(data_dir)}, FAST_ROUTES[1])
    assert bool(fast_path._routes) is learnt


@pytest.mark.anyio
async def test_a_request_fastapi_telemetry_records_goes_through_fastapi(
    data_dir: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastAPI's OpenTelemetry names a request's span after the route its router picks, so a
    request it is recording is left to FastAPI even on a route the fast path has learnt."""
    app = _app(data_dir)
    path, auth = "/v1/presentations/unknown-id", {"Authorization": f"Bearer {data_dir[1]}"}

    async def recorded(scope: Any, receive: Any, send: Any) -> None:
        scope[TELEMETRY] = object()  # what FastAPI puts there while it records a span
        await app(scope, receive, send)

    served: list[str] = []
    async with _client(app) as client:
        await client.get(path, headers=auth)  # through FastAPI: the fast path learns the route
        fast_path = _fast_path(app)
        serve = fast_path._serve

        async def spy(scope: Any, *args: Any) -> None:
            served.append("plain" if scope.get(TELEMETRY) is None else "recorded")
            await serve(scope, *args)

        monkeypatch.setattr(fast_path, "_serve", spy)
        plain = await client.get(path, headers=auth)
        transport = httpx.ASGITransport(app=recorded, client=CLIENT)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as other:
            through_fastapi = await other.get(path, headers=auth)
    assert served == ["plain"]
    assert _answer(through_fastapi) == _answer(plain)
    assert through_fastapi.status_code == 404
