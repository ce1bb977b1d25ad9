"""Settings: read once, at the edge, from ``AGENTVP_*`` environment variables or a config file.

Precedence (highest first): explicit constructor arguments, environment variables
(``AGENTVP_<NAME>``), the YAML/JSON file named by ``AGENTVP_CONFIG`` - or, without it,
``<data_dir>/config.yaml`` if present (keys are the field names) - then the defaults below.
Every field carries its documentation; ``docs/CONFIGURATION.md`` is generated from this model.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from verifier.config_files import load_document
from verifier.ops.fetch import outbound_tls
from verifier.protocol import AgentVPError
from verifier.protocol.oid4vp.dc_api import check_origin

__all__ = ["Settings", "public_url_problem"]


class _ConfigFileSource(PydanticBaseSettingsSource):
    """Values from the YAML or JSON file named by ``AGENTVP_CONFIG``, else from
    ``<data_dir>/config.yaml`` when it exists (``agentvp init`` writes one)."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        path = os.environ.get("AGENTVP_CONFIG")
        if not path:
            default = Path(os.environ.get("AGENTVP_DATA_DIR", ".agentvp")) / "config.yaml"
            path = str(default) if default.exists() else None
        self._data: dict[str, Any] = {}
        if path:
            loaded = load_document(Path(path))
            if not isinstance(loaded, dict):
                raise ValueError(f"config file {path} must hold a mapping of setting names")
            self._data = loaded

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def public_url_problem(value: str) -> str | None:
    """Why ``value`` cannot be the public URL (``http(s)://host[:port][/path]``), or None."""
    try:
        parts = urlsplit(value)
        _ = parts.port  # "Port out of range" or not a number: ValueError
    except ValueError as exc:
        return f"public URL {value!r} is malformed: {exc}"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"public URL {value!r} must be http(s)://host[:port], e.g. http://localhost:8080"
    if parts.username or parts.password or parts.query or parts.fragment:
        return f"public URL {value!r} must carry no credentials, query or fragment"
    return None


class Settings(BaseSettings):
    """Every knob of the verifier service."""

    model_config = SettingsConfigDict(env_prefix="AGENTVP_", extra="forbid")

    public_url: str = Field(
        "http://localhost:8080",
        description="Base URL wallets and browsers reach this verifier at (request_uri, "
        "response_uri, QR codes). Behind a reverse proxy: the external https URL.",
    )
    host: str = Field("127.0.0.1", description="Interface `agentvp serve` binds to.")
    port: int = Field(
        8080,
        ge=1,
        le=65535,
        description="Port `agentvp serve` listens on. Unset, with a public URL on this machine "
        "(localhost or a loopback address): the public URL's port.",
    )
    keep_alive_timeout: int = Field(
        5,
        ge=1,
        le=3600,
        description="Seconds `agentvp serve` keeps an idle HTTP keep-alive connection open "
        "before closing it. Behind a reverse proxy or load balancer that reuses upstream "
        "connections, set it above the proxy's idle timeout: a request the proxy writes onto a "
        "connection the verifier is just closing is lost (the proxy sees a reset).",
    )
    data_dir: Path = Field(
        Path(".agentvp"),
        description="Directory with the verifier key, the dev PKI, trust and policy files "
        "(written by `agentvp init`) and the default SQLite store.",
    )
    store_url: str = Field(
        "",
        description="Transaction store: `sqlite:///path/to.db` (default: "
        "`<data_dir>/agentvp.db`), `redis://[[user]:password@]host:port/db` for several instances "
        "(`rediss://` for TLS; options `?ssl_ca_certs=<pem>`, `&ssl_certfile=`, `&ssl_keyfile=`, "
        "`&ssl_cert_reqs=required|optional|none`, `&ssl_check_hostname=true|false`), "
        "`redis+cluster://host:port[,host:port...]` for a Redis Cluster, "
        "`redis+sentinel://host:port[,host:port...]/service_name[/db]` for a master watched by "
        "Sentinels (`rediss+...` for TLS; both take `?failover_wait=<s>` (default 15: how long a "
        "call retries through a failover), `&prefix=<key prefix>` and `&wait_replicas=0|1` "
        "(default 1: a write is answered once a replica has it); see docs/DEPLOYMENT.md), "
        "`memory://` for tests (one process only).",
    )
    client_id_prefix: Literal["x509_hash", "x509_san_dns", "redirect_uri"] = Field(
        "x509_hash",
        description="OpenID4VP Client Identifier Prefix. `x509_hash` (HAIP default) and "
        "`x509_san_dns` sign request objects with the leaf certificate; `redirect_uri` sends "
        "unsigned requests and is for development only.",
    )
    trust_file: Path | None = Field(
        None,
        description="Trusted issuers (JSON or YAML): static JWKS per issuer and vct, and "
        "x5c trust anchors. Default `<data_dir>/trust.json`.",
    )
    policy_file: Path | None = Field(
        None,
        description="Named DCQL presets and identity/mandate policies (JSON or YAML). "
        "Default `<data_dir>/policy.yaml` when it exists.",
    )
    api_keys: str = Field(
        "",
        description="Comma-separated API keys accepted as `Authorization: Bearer <key>` on "
        "the relying-party API (/v1/...), the AuthZEN PDP (/access/v1/...) and SSF stream "
        "management and polling; each key is one relying party, PEP or receiver. Empty: those "
        "APIs refuse every request.",
    )
    grant_watch_interval: int = Field(
        60,
        ge=1,
        le=86400,
        description="Seconds between two status-list checks of a live grant's mandate (an "
        "allowed agent verification, its tokens): the longest a revocation goes unnoticed, "
        "plus `status_list_max_age`. Shared by all instances through the store.",
    )
    grant_watch_batch: int = Field(
        100,
        ge=1,
        le=10000,
        description="At most this many grants are checked per watcher round on one instance "
        "(bounded work; the rest wait for the next round or another instance).",
    )
    ssf_event_retention: int = Field(
        7 * 86400,
        ge=60,
        description="Seconds a Security Event Token waits for a push receiver to take it or a "
        "poll receiver to acknowledge it before it is dropped (and how long each stream "
        "remembers which events it was sent, so none is sent twice).",
    )
    ssf_poll_lease: int = Field(
        30,
        ge=1,
        le=3600,
        description="Seconds after a poll (RFC 8936) before an unacknowledged SET is returned "
        "again.",
    )
    authzen_subject_cache_ttl: int = Field(
        5,
        ge=0,
        le=300,
        description="Seconds the AuthZEN PDP keeps a resolved access-token subject in process "
        "(never past the token's exp). Revocation, counters and policy are read on every "
        "evaluation regardless.",
    )
    transaction_ttl: int = Field(
        300, ge=1, le=3600, description="Seconds a presentation request stays answerable."
    )
    result_ttl: int = Field(
        900, ge=60, description="Seconds a finished transaction stays readable after expiry."
    )
    default_response_mode: Literal["direct_post.jwt", "direct_post"] = Field(
        "direct_post.jwt", description="Response mode when a request does not choose one."
    )
    max_body_bytes: int = Field(
        256 * 1024, ge=1024, description="Largest accepted request body (bytes) on any endpoint."
    )
    max_json_depth: int = Field(32, ge=4, le=128, description="Deepest accepted JSON nesting.")
    max_disclosures: int = Field(
        128, ge=1, description="Most disclosures accepted in one presentation."
    )
    max_vp_token_entries: int = Field(
        16, ge=1, description="Most presentations accepted in one vp_token."
    )
    clock_leeway: int = Field(60, ge=0, le=600, description="Clock skew tolerated (seconds).")
    kb_max_age: int = Field(
        300, ge=10, description="Oldest KB-JWT `iat` accepted, in seconds before now."
    )
    accept_legacy_typ: bool = Field(
        False, description="Also accept issuer JWTs typed `vc+sd-jwt` (pre-2024 issuers)."
    )
    wallet_rate_limit: int = Field(
        600,
        ge=0,
        le=1_000_000,
        description="Requests per minute and client address accepted on the public wallet "
        "endpoints (`/wallet/request/…` GET and POST, `/wallet/response/…`) and on "
        "`/oauth/agent-authorize`, `/oauth/authorize` and `/oauth/register`, counted "
        "together; over it: `429 temporarily_unavailable` "
        "with `Retry-After`. An IPv6 client is counted per /64. `0` disables the limit. With a "
        "Redis store every instance counts a client together (in Redis, a sliding window); "
        "otherwise each process (and worker) counts on its own: N of them let a client make up "
        "to N times this.",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks (e.g. `10.0.0.0/8`) of reverse "
        "proxies whose `X-Forwarded-For` names the client (for the per-client rate limits). "
        "Empty: the TCP peer is the client and `X-Forwarded-*` headers are ignored.",
    )
    outbound_timeout: float = Field(
        5.0, gt=0, le=60, description="Time limit (seconds) for fetching a status list or metadata."
    )
    outbound_max_bytes: int = Field(
        2 * 1024 * 1024, ge=1024, description="Largest status list or metadata document fetched."
    )
    outbound_allow_hosts: str = Field(
        "",
        description="Comma-separated hosts (or host:port) that may be fetched over plain http and "
        "at loopback/private addresses. Empty in production: only https to public addresses.",
    )
    outbound_ca_file: Path | None = Field(
        None,
        description="PEM file of CA certificates trusted **in addition to** the default trust "
        "store for every outbound https fetch (Client ID Metadata Documents, issuer metadata, "
        "status lists, webhooks, SSF push): a private or development CA. Read at startup; a "
        "missing file or one without a usable certificate stops the start with that reason. "
        "Unset: the default trust store only.",
    )
    issuer_metadata_ttl: int = Field(
        3600, ge=10, description="Seconds fetched jwt-vc-issuer metadata (issuer keys) is reused."
    )
    issuer_metadata_min_refresh: int = Field(
        10,
        ge=1,
        description="Fewest seconds between two metadata fetches for one issuer when a credential "
        "names an unknown `kid` (key rotation is picked up after at most this long).",
    )
    status_list_max_age: int = Field(
        300,
        ge=1,
        description="Longest a fetched status list is reused, whatever its own `ttl` says.",
    )
    status_unreachable: Literal["reject", "accept"] = Field(
        "reject",
        description="What a credential whose status list cannot be fetched gets: `reject` (fail "
        "closed, error `status_list_unavailable`) or `accept` (reported as status `unknown`).",
    )
    webhook_secret: str = Field(
        "",
        description="Secret for the HMAC-SHA256 signature of webhook deliveries (Standard "
        "Webhooks). Empty: requests with a `callback_url` are refused.",
    )
    webhook_max_attempts: int = Field(
        8, ge=1, le=50, description="Delivery attempts before a webhook is given up."
    )
    webhook_base_delay: int = Field(
        2, ge=1, le=600, description="First retry delay (seconds); doubled per attempt, up to 300."
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="`json`: one JSON object per log line (with the transaction id)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Lowest level logged."
    )
    demo_mode: bool = Field(
        False,
        description="Serve the demo endpoints the web page uses (never enable in production: "
        "they create presentations without an API key).",
    )
    demo_rate_limit: int = Field(
        30,
        ge=1,
        le=10_000,
        description="Demo mode only: verifications the demo page may start per minute and "
        "client address.",
    )
    sse_poll_interval: float = Field(
        0.25, gt=0, le=5, description="How often the event stream looks for changes (seconds)."
    )

    decision_lease: int = Field(
        30,
        ge=1,
        le=3600,
        description="Seconds an instance may take to finish an agent verification's decision "
        "once it has claimed it. If it has not recorded the decision by then (it crashed, was "
        "killed or hangs), the next instance that reads the verification takes the decision "
        "over; the mandate's uses and budget are still consumed only once.",
    )
    test_decision_pause: float = Field(
        0.0,
        ge=0,
        le=600,
        description="Test only (fault injection; keep 0 in production): seconds every agent "
        "decision waits after consuming the mandate's counters and before recording its "
        "result, so a test can kill the instance mid-decision.",
    )
    agent_token_lifetime: int = Field(
        300,
        ge=1,
        le=300,
        description="Seconds an agent access token (POST /oauth/token) lives; at most five "
        "minutes. A resource in the policy file may set a shorter `token_lifetime`.",
    )
    agent_poll_interval: int = Field(
        2,
        ge=1,
        le=60,
        description="Seconds an agent waits between token polls (`interval`); polling faster "
        "answers `slow_down` and adds 5 s.",
    )
    oauth_token_lifetime: int = Field(
        300,
        ge=1,
        le=3600,
        description="Seconds an access token from the wallet login (authorization code or "
        "refresh grant) lives; a resource's `token_lifetime` may shorten it.",
    )
    oauth_code_lifetime: int = Field(
        60, ge=5, le=600, description="Seconds an authorization code may wait to be redeemed."
    )
    oauth_refresh_lifetime: int = Field(
        86400,
        ge=60,
        le=90 * 86400,
        description="Seconds a refresh-token family lives from the wallet login; rotation "
        "never extends it. `0` is not allowed: public clients always rotate.",
    )
    oauth_client_lifetime: int = Field(
        30 * 86400,
        ge=60,
        description="Seconds a dynamically registered client (POST /oauth/register) is kept.",
    )
    oauth_cimd_ttl: int = Field(
        300,
        ge=10,
        le=86400,
        description="Seconds a fetched Client ID Metadata Document is reused.",
    )
    oauth_confirm_lifetime: int = Field(
        300,
        ge=10,
        le=600,
        description="Default seconds a mid-session confirmation (`POST /oauth/confirmations`) "
        "may take to be presented and redeemed; a resource may ask for less (`lifetime`), and "
        "it never outlives its presentation request.",
    )
    dc_api_origins: str = Field(
        "",
        description="Comma-separated origins of the pages that may ask for presentations over "
        "the Digital Credentials API (`flow: dc_api`), e.g. `https://shop.example`: the default "
        "`expected_origins` of such a request and the allow-list every answer's origin is "
        "checked against (exact string comparison). https, or http for loopback hosts only. "
        "Empty: the origin of `public_url`.",
    )
    dpop_max_age: int = Field(
        60,
        ge=5,
        le=600,
        description="Oldest DPoP proof `iat` accepted at /oauth/*, in seconds before now; its "
        "`jti` is remembered this long (replay).",
    )
    ap2_challenge_ttl: int = Field(
        300,
        ge=10,
        le=3600,
        description="Seconds an AP2 challenge (POST /v1/ap2/challenges) can be used; it is "
        "consumed by the first verification that names it.",
    )
    ap2_max_chain_segments: int = Field(
        3,
        ge=1,
        le=8,
        description="Longest AP2 Delegate SD-JWT chain accepted, counting the root and every "
        "hop (3: a User Credential, the user's open mandates, the agent's closed mandate).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _ConfigFileSource(settings_cls)

    @field_validator("public_url")
    @classmethod
    def _url(cls, value: str) -> str:
        problem = public_url_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for item in (i.strip() for i in value.split(",")):
            if item:
                try:
                    ipaddress.ip_network(item)
                except ValueError:
                    message = f"trusted_proxies: {item!r} is no address or network"
                    raise ValueError(message) from None
        return value

    @field_validator("outbound_ca_file", mode="before")
    @classmethod
    def _ca_file_unset(cls, value: Any) -> Any:
        return None if value == "" else value  # AGENTVP_OUTBOUND_CA_FILE= (empty): unset

    @field_validator("outbound_ca_file")
    @classmethod
    def _ca_file(cls, value: Path | None) -> Path | None:
        if value is not None:
            outbound_tls(value)  # OutboundCAError (a ValueError) names the problem
        return value

    @field_validator("dc_api_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for item in (i.strip() for i in value.split(",")):
            if item:
                try:
                    check_origin(item, what="dc_api_origins entry")
                except AgentVPError as exc:
                    raise ValueError(exc.reason) from None
        return value

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if not self.store_url:
            self.store_url = f"sqlite:///{self.data_dir / 'agentvp.db'}"
        if self.trust_file is None:
            self.trust_file = self.data_dir / "trust.json"
        if self.policy_file is None and (self.data_dir / "policy.yaml").exists():
            self.policy_file = self.data_dir / "policy.yaml"
        return self

    @property
    def outbound_allow_list(self) -> list[str]:
        return [h.strip() for h in self.outbound_allow_hosts.split(",") if h.strip()]

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @property
    def dc_api_origin_list(self) -> list[str]:
        """``dc_api_origins``, or else the origin of ``public_url`` if it may be one."""
        given = [o.strip() for o in self.dc_api_origins.split(",") if o.strip()]
        if given:
            return given
        parts = urlsplit(self.public_url)
        try:
            return [check_origin(f"{parts.scheme}://{parts.netloc}")]
        except AgentVPError:
            return []

    @property
    def api_key_list(self) -> list[str]:
        return [k.strip() for k in self.api_keys.split(",") if k.strip()]
