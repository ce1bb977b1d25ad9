"""``create_app(settings)``: the FastAPI application - routers, error handlers, limits.

Every error leaves as ``{"error": "<code>", "error_description": "<text>"}`` with the right
status; a store outage is ``503 temporarily_unavailable``; bodies over ``max_body_bytes`` are
refused with 413 before they are read in full; clients over ``wallet_rate_limit`` on the
public wallet and agent-authorize endpoints get 429 (:func:`verifier.routes.deps.rate_limited`).
The client is the TCP peer, or - from a proxy in ``trusted_proxies`` only - the address its
``X-Forwarded-For`` names. ``app_from_env`` is the uvicorn factory
``agentvp serve`` runs (settings from the environment, once per worker).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import inspect
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from verifier import __version__
from verifier.agents.grants import GrantIndex
from verifier.agents.verifications import AgentVerifications
from verifier.ap2.wiring import build_ap2
from verifier.authzen.subjects import TokenKind
from verifier.authzen.wiring import AgentAccessTokens, build_pdp
from verifier.oauth.pep_clients import PEPClients
from verifier.ops.fetch import SafeFetcher
from verifier.ops.logs import AccessLog, lean_log_records
from verifier.ops.metrics import Metrics
from verifier.ops.rate_limit import RateLimit
from verifier.ops.rate_limit_shared import SharedRateLimit
from verifier.ops.webhooks import Webhooks
from verifier.policy.issuer_metadata import IssuerMetadataCache
from verifier.policy.presets import load_policy_file
from verifier.policy.status_check import StatusListChecker
from verifier.policy.trust import TrustResolver, load_trust_file
from verifier.presentations.service import PresentationService, ServiceConfig
from verifier.presentations.status import StatusChecker
from verifier.protocol import VerificationPolicy
from verifier.routes import (
    agent_api,
    ap2_api,
    authzen_api,
    docs,
    oauth,
    oauth_confirm,
    oauth_login,
    openapi,
    ops,
    rp_api,
    ssf_api,
    wallet_api,
    web,
    web_agent,
    web_dc_api,
)
from verifier.routes.body_limit import BodyLimit
from verifier.routes.errors import install_error_handlers
from verifier.routes.fast_path import FastPath
from verifier.settings import Settings
from verifier.setup.keys import load_verifier_keys
from verifier.ssf.wiring import SSF, build_ssf
from verifier.store import RedisStore, open_store
from verifier.store.base import TransactionStore

__all__ = ["app_from_env", "build_service", "create_app"]


def build_service(
    settings: Settings,
    *,
    store: TransactionStore | None = None,
    status: StatusChecker | None = None,
    clock: Callable[[], float] = time.time,
) -> PresentationService:
    """Wire settings into a service: keys, trust, presets, store. Fails fast on bad files."""
    keys = load_verifier_keys(
        settings.data_dir, prefix=settings.client_id_prefix, public_url=settings.public_url
    )
    assert settings.trust_file is not None
    fetcher = SafeFetcher(
        timeout=settings.outbound_timeout,
        max_bytes=settings.outbound_max_bytes,
        allow_hosts=settings.outbound_allow_list,
        ca_file=settings.outbound_ca_file,
    )
    metadata = IssuerMetadataCache(
        fetcher,
        ttl=settings.issuer_metadata_ttl,
        min_refresh=settings.issuer_metadata_min_refresh,
        clock=clock,
    )
    trust = TrustResolver(load_trust_file(settings.trust_file), metadata=metadata, clock=clock)
    if status is None:
        status = StatusListChecker(
            fetcher=fetcher,
            trust=trust,
            max_age=settings.status_list_max_age,
            fail_open=settings.status_unreachable == "accept",
            leeway=settings.clock_leeway,
            clock=clock,
        )
    presets = {
        name: preset.model_dump()
        for name, preset in load_policy_file(settings.policy_file).presets.items()
    }
    config = ServiceConfig(
        public_url=settings.public_url,
        client_id=keys.client_id,
        signing_key=keys.signing_key if keys.signed else None,
        x5c=keys.x5c,
        ttl=settings.transaction_ttl,
        retention=settings.result_ttl,
        default_response_mode=settings.default_response_mode,
        policy=VerificationPolicy(
            accept_legacy_typ=settings.accept_legacy_typ,
            leeway=settings.clock_leeway,
            kb_max_age=settings.kb_max_age,
            max_disclosures=settings.max_disclosures,
            max_presentation_bytes=settings.max_body_bytes,
        ),
        max_body_bytes=settings.max_body_bytes,
        max_json_depth=settings.max_json_depth,
        max_vp_token_entries=settings.max_vp_token_entries,
        receipt_key=keys.signing_key,
        callbacks=bool(settings.webhook_secret),
        dc_api_origins=tuple(settings.dc_api_origin_list),
        outbound_allow_hosts=tuple(settings.outbound_allow_list),
    )
    service = PresentationService(
        config=config,
        store=store or open_store(settings.store_url),
        keys=trust,
        presets=presets,
        status=status,
        clock=clock,
    )
    service.on_close.append(fetcher.close)
    return service


# The HTTP APIs, in the order they are matched.
ROUTERS = (
    ops,
    rp_api,
    agent_api,
    ap2_api,
    authzen_api,
    ssf_api,
    oauth,
    oauth_login,
    oauth_confirm,
    wallet_api,
    web,
    web_agent,
    web_dc_api,
    docs,
)


# Where an OpenTelemetry provider other than the API's no-op one could come from.
_OTEL_PROVIDER_VARIABLES = (
    "OTEL_PYTHON_TRACER_PROVIDER",
    "OTEL_PYTHON_METER_PROVIDER",
    "OTEL_PYTHON_LOGGER_PROVIDER",
)


def _native_telemetry() -> dict[str, Any]:
    """FastAPI's own OpenTelemetry (FastAPI >= 0.16x) asks the global tracer, meter and logger
    providers on every request whether any is configured (~5 us: three environment lookups).
    Without ``opentelemetry-sdk`` installed and no ``OTEL_PYTHON_*_PROVIDER`` variable, none
    can ever be, so it is switched off for the app's life; with either, FastAPI keeps its
    defaults and checks per request as before (docs/DEPLOYMENT.md, Tracing)."""
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}  # an older FastAPI: no native telemetry to ask
    try:
        if importlib.util.find_spec("opentelemetry.sdk") is not None:
            return {}
    except ModuleNotFoundError:  # no opentelemetry package at all: nothing could record
        pass
    if any(name in os.environ for name in _OTEL_PROVIDER_VARIABLES):
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}


def create_app(
    settings: Settings,
    *,
    service: PresentationService | None = None,
) -> FastAPI:
    """The ASGI app. ``service`` may be injected (tests); otherwise built from ``settings``."""
    svc = service or build_service(settings)
    metrics = Metrics()
    svc.listeners.append(metrics.on_event)
    checker = svc.status
    if isinstance(checker, StatusListChecker):
        metrics.sources["agentvp_status_list_cache"] = lambda: {
            "hit": checker.hits,
            "miss": checker.misses,
        }
    webhooks = _webhooks(settings, svc, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = asyncio.create_task(webhooks.run()) if webhooks is not None else None
        ssf: SSF = app.state.ssf_parts
        loops = [asyncio.create_task(ssf.watcher.run())]
        if ssf.pusher is not None:
            loops.append(asyncio.create_task(ssf.pusher.run()))
        yield
        for loop in loops:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        if ssf.pusher is not None:
            await ssf.pusher.close()
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            await webhooks.close()  # type: ignore[union-attr]
        await svc.close()

    app = FastAPI(
        title="agentvp",
        version=__version__,
        summary="OpenID4VP verifier for agent mandates and verified identity",
        lifespan=lifespan,
        docs_url=None,  # served from local files by routes.docs (no CDN), under the CSP
        redoc_url=None,
        **_native_telemetry(),
    )
    app.openapi = lambda: openapi.document(app)  # type: ignore[method-assign]
    app.state.settings = settings
    app.state.service = svc
    app.state.metrics = metrics
    app.state.webhooks = webhooks
    app.state.agents = AgentVerifications(
        svc,
        load_policy_file(settings.policy_file).policies,
        signing_key=svc.config.receipt_key,
        issuer=settings.public_url,
        lease_seconds=settings.decision_lease,
        pause=settings.test_decision_pause,
    )
    app.state.agent_access = oauth.build_agent_access(settings, app.state.agents)
    app.state.login_server = oauth_login.build_login_server(
        settings, app.state.agent_access, svc.on_close
    )
    app.state.pep_clients = (
        PEPClients(app.state.agent_access, lifetime=settings.oauth_client_lifetime)
        if app.state.agent_access is not None
        else None
    )
    app.state.ap2 = build_ap2(settings, svc)
    _grants(app, settings)
    app.state.wallet_rate_limit = wallet_rate_limit(settings, svc)

    install_error_handlers(app, metrics)
    for api in ROUTERS:
        app.include_router(api.router)
    app.add_middleware(FastPath)  # innermost: inside the body limit and the access log
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(AccessLog, metrics=metrics)
    if settings.trusted_proxy_list:  # the client is whom the proxy says (X-Forwarded-For)
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)
    return app


def _grants(app: FastAPI, settings: Settings) -> None:
    """The grant index (every ``allow``, watched), the AuthZEN PDP over it and the SSF
    transmitter (neither without a signing key)."""
    svc: PresentationService = app.state.service
    grants = GrantIndex(
        svc.store,
        check_every=settings.grant_watch_interval,
        retention=settings.result_ttl,
        clock=svc.clock,
    )
    svc.listeners.append(grants.on_event)
    access = app.state.agent_access
    kinds: list[TokenKind] = []
    if access is not None:
        kinds.append(AgentAccessTokens((access.public_jwk,), settings.public_url))
    app.state.pdp = (
        build_pdp(
            app.state.agents,
            kinds,
            cache_ttl=settings.authzen_subject_cache_ttl,
            grants=grants,
        )
        if kinds
        else None
    )
    key = access.key if access is not None else None
    ssf = build_ssf(settings, svc, key, access.kid if access is not None else "")
    app.state.ssf_parts = ssf
    app.state.ssf = ssf.transmitter


def _webhooks(settings: Settings, svc: PresentationService, metrics: Metrics) -> Webhooks | None:
    """The webhook deliverer, when a signing secret is configured."""
    if not settings.webhook_secret:
        return None
    webhooks = Webhooks(
        svc.store,
        secret=settings.webhook_secret.encode(),
        fetcher=SafeFetcher(
            timeout=settings.outbound_timeout,
            allow_hosts=settings.outbound_allow_list,
            ca_file=settings.outbound_ca_file,
        ),
        clock=svc.clock,
        max_attempts=settings.webhook_max_attempts,
        base_delay=settings.webhook_base_delay,
        retention=settings.transaction_ttl + settings.result_ttl,
    )
    svc.listeners.append(webhooks.on_event)
    metrics.sources["agentvp_webhook_deliveries"] = lambda: {
        "delivered": webhooks.delivered,
        "given_up": webhooks.failed,
    }
    return webhooks


def wallet_rate_limit(
    settings: Settings, svc: PresentationService
) -> RateLimit | SharedRateLimit | None:
    """``AGENTVP_WALLET_RATE_LIMIT``: counted in Redis with every other instance when the store
    is Redis, else by this process; None when disabled (``0``)."""
    if not settings.wallet_rate_limit:
        return None
    if isinstance(svc.store, RedisStore):
        return SharedRateLimit(svc.store, settings.wallet_rate_limit, clock=svc.clock)
    return RateLimit(settings.wallet_rate_limit, clock=svc.clock)


def app_from_env() -> FastAPI:
    """uvicorn factory for ``agentvp serve`` (each worker reads the environment once)."""
    lean_log_records()
    app = create_app(Settings())
    # What the worker built so far (modules, the app, its models and schemas: ~110,000
    # objects) lives as long as the process: out of the garbage collector's sight, so that
    # its full collections no longer walk it (one took ~50 ms, a pause for every request).
    gc.collect()
    gc.freeze()
    return app
