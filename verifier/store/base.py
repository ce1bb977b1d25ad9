"""The ``TransactionStore`` contract every backend implements (memory, SQLite, Redis).

A transaction is one OpenID4VP exchange: created by the relying party, fetched by the wallet,
answered, verified. Everything about it lives in the store - no process keeps private state -
so any verifier instance can serve any step.

Atomicity: every state change is a single compare-and-set (:meth:`TransactionStore.update_if`):
"if these fields still hold these values, set those". Concurrent identical responses therefore
see exactly one winner. Single-use values (nonces, replay ids) go through :meth:`claim`
(set-if-absent with a TTL). Counters (mandate uses, spent budget) go through
:meth:`TransactionStore.add_within` (increment only if every bound still holds; at most once per
named operation).

Times are integer UNIX seconds passed in by the caller (the clock is injected, never read here
except by backends that must expire keys).
"""

from __future__ import annotations

import json
import json.scanner
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from enum import StrEnum
from typing import Any, Protocol, cast

from verifier.protocol.jsonfast import Encoder, loads

__all__ = [
    "FINAL_STATUSES",
    "QueueItem",
    "RecordKind",
    "StoreUnavailableError",
    "Transaction",
    "TransactionStore",
    "TxStatus",
    "decode_field",
    "record_key",
]


class TxStatus(StrEnum):
    PENDING = "pending"
    REQUEST_RETRIEVED = "request_retrieved"
    VERIFIED = "verified"
    REJECTED = "rejected"
    EXPIRED = "expired"
    ERROR = "error"


class RecordKind(StrEnum):
    """What a stored record is. Ids live in one namespace per kind: a record is created under its
    ``kind`` and every read or update names the kind it expects, so an endpoint of one kind can
    never load, move or answer a record of another (a wallet endpoint cannot reach an agent
    verification by guessing its id, the RP API cannot read an OAuth grant)."""

    PRESENTATION = "presentation"  # an OpenID4VP exchange: the only kind wallets can reach
    AGENT_VERIFICATION = "agent_verification"
    AGENT_ACCESS = "agent_access"  # an agent's OAuth grant (auth_req_id)
    AP2_CHALLENGE = "ap2_challenge"  # a single-use {nonce, aud} for one AP2 verification
    AP2_VERIFICATION = "ap2_verification"  # a decided AP2 verification (its audit stream)
    OAUTH_CLIENT = "oauth_client"  # a registered (RFC 7591) or fetched (CIMD) OAuth client
    OAUTH_LOGIN = "oauth_login"  # one /oauth/authorize request waiting for the wallet
    OAUTH_CODE = "oauth_code"  # a single-use authorization code (id: its SHA-256)
    OAUTH_GRANT = "oauth_grant"  # a refresh-token family (revoked as a whole on reuse)
    OAUTH_REFRESH = "oauth_refresh"  # one refresh token of a family (id: its SHA-256)
    OAUTH_CONFIRM = "oauth_confirm"  # a person's confirmation of one tool call (single use)
    SSF_STREAM = "ssf_stream"  # a Shared Signals event stream (its configuration in ``meta``)


def record_key(kind: str, name: str) -> str:
    """The storage key of a record id or request id of ``kind``."""
    return f"{kind}:{name}"


FINAL_STATUSES = frozenset({TxStatus.VERIFIED, TxStatus.REJECTED, TxStatus.EXPIRED, TxStatus.ERROR})


class StoreUnavailableError(Exception):
    """The backing store cannot be reached (adapters answer 503 ``temporarily_unavailable``)."""


@dataclass
class Transaction:
    """One presentation exchange. Field values are JSON-serialisable."""

    id: str  # transaction-id: known to the RP only, names the exchange in /v1/...
    request_id: str  # names the exchange towards the wallet (request_uri, response_uri)
    state: str  # OpenID4VP `state` (>= 128 bits), checked on the response
    nonce: str  # OpenID4VP `nonce` (>= 128 bits), checked in every KB-JWT
    client_id: str
    status: str = TxStatus.PENDING
    created_at: int = 0
    expires_at: int = 0
    version: int = 0  # bumped by every update; readers watch it for changes (SSE)
    flow: str = "cross_device"  # or "same_device"
    response_mode: str = "direct_post.jwt"
    response_type: str = "vp_token"
    dcql_query: dict[str, Any] = field(default_factory=dict)
    transaction_data: list[str] = field(default_factory=list)
    enc_jwk: dict[str, Any] | None = None  # per-transaction ephemeral ECDH-ES private JWK
    redirect_uri: str | None = None  # same-device: where the wallet sends the user back
    callback_url: str | None = None
    wallet_nonce: str | None = None
    response_code_hash: str | None = None  # sha-256 of the same-device response_code
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    purpose: str = "presentation"  # or "agent", "human" (agent verifications)
    parent_id: str | None = None  # the agent verification a presentation belongs to
    meta: dict[str, Any] = field(default_factory=dict)
    kind: str = RecordKind.PRESENTATION  # the namespace of ``id`` and ``request_id`` (immutable)

    def to_json(self) -> str:
        return _encode(_values(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> Transaction:
        data = loads(text)  # json.loads's value, read by orjson where that is the same
        known = cls.__dataclass_fields__
        if type(data) is dict and data.keys() == known.keys():
            # Exactly the fields (every record this version wrote): what ``__init__`` would
            # assign, assigned at once (``__init__`` does nothing else; ~4 us a read less).
            tx = object.__new__(cls)
            tx.__dict__.update(data)
            return tx
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_fields(self) -> dict[str, str]:
        """Each field JSON-encoded on its own (Redis hashes compare these strings)."""
        return {k: _encode(v) for k, v in _values(self).items()}

    @classmethod
    def from_fields(cls, raw: Mapping[str, str | bytes]) -> Transaction:
        known = cls.__dataclass_fields__
        named = ((_s(k), v) for k, v in raw.items())
        return cls(**{k: decode_field(_s(v)) for k, v in named if k in known})

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


def _s(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


# The C scanner json.loads ends in (typeshed types its argument as the scanner's own type).
_scan = json.scanner.make_scanner(cast(Any, json.JSONDecoder()))


def decode_field(text: str) -> Any:
    """``json.loads`` of one field's JSON, calling the C scanner directly: a record is ~25 fields
    read on every lookup, and ``loads``'s Python layers above the scanner cost twice what the
    scanning does. Anything but exactly one JSON value with nothing around it goes to
    ``json.loads`` (which decodes it or raises as before)."""
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def _values(tx: Transaction) -> dict[str, Any]:
    """Field name -> value (in no particular order: both callers encode a mapping): what
    ``asdict`` gives a JSON encoder, without its deep copy of every nested dict and list
    (encoding never mutates; the copy was the single largest cost of a state transition). A
    dataclass nested in a value is still converted as ``asdict`` would, by
    :func:`_nested_dataclass`. Every record's ``__dict__`` is exactly its fields, and is
    returned itself (read only here); anything else is copied field by field."""
    known = tx.__dataclass_fields__
    values = tx.__dict__
    if values.keys() == known.keys():
        return values
    return {name: getattr(tx, name) for name in known}


def _nested_dataclass(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# ``json.dumps(value, separators=(",", ":"), sort_keys=True, default=_nested_dataclass)``,
# the same text, written by orjson where it writes the same (a record: ~3x faster; jsonfast).
_encode = Encoder(sort_keys=True, default=_nested_dataclass).text


@dataclass(frozen=True)
class QueueItem:
    """A leased queue item: its id, payload, and how many leases it has had (this one too)."""

    item_id: str
    payload: dict[str, Any]
    attempts: int


class TransactionStore(Protocol):
    """What the service needs from a store. All methods are atomic with respect to each other.

    Implementations raise :class:`StoreUnavailableError` when their backend is unreachable and
    never partially apply an update.
    """

    async def create(self, tx: Transaction, *, retain_until: int) -> None:
        """Insert a new record under its ``tx.kind``; it (and its request_id index) may be
        dropped after ``retain_until``. ``tx.id`` and ``tx.request_id`` must be new within the
        kind (else ``ValueError``)."""

    async def get(self, tx_id: str, *, kind: str) -> Transaction | None:
        """The record of ``kind``, or None if unknown, dropped or of another kind."""

    async def get_by_request(self, request_id: str, *, kind: str) -> Transaction | None:
        """Look up by the wallet-facing ``request_id`` within ``kind``."""

    async def update_if(
        self, tx_id: str, expect: Mapping[str, Any], changes: Mapping[str, Any], *, kind: str
    ) -> Transaction | None:
        """Atomically: if every ``expect`` field equals its value (JSON equality), apply
        ``changes``, bump ``version`` by one and return the new transaction; else return None
        and change nothing. An unknown ``tx_id`` (within ``kind``) returns None. ``expect`` may
        hold a field mapped to a list under the key ``"status__in"`` meaning "status is one of
        these"."""

    async def claim(self, key: str, *, ttl: int) -> bool:
        """Set-if-absent a single-use marker that lives ``ttl`` seconds; True if we set it."""

    async def add_within(
        self,
        key: str,
        increments: Mapping[str, int],
        limits: Mapping[str, int],
        *,
        ttl: int,
        once: str | None = None,
    ) -> dict[str, int] | None:
        """Atomically add ``increments`` to the named counters under ``key`` if, afterwards,
        every counter named in ``limits`` stays <= its limit; return the new values, or None
        (and change nothing) if a limit would be exceeded. Counters start at 0 and the group
        lives at least ``ttl`` seconds after the last successful add.

        ``once`` names the add (e.g. the decision it belongs to): an add whose ``once`` was
        already applied to ``key`` changes nothing and returns the values that first add
        produced, so a decision re-run after a crash never counts twice. The name is kept at
        least ``ttl`` seconds and is not one of the group's counters. A refused add is not
        remembered: counters only grow, so repeating it is refused again."""

    async def get_counters(self, key: str) -> dict[str, int]:
        """Current counter values under ``key`` (missing counters are absent)."""

    async def append_event(self, stream: str, event: Mapping[str, Any], *, ttl: int) -> int:
        """Append ``event`` to an ordered per-stream log; return its 0-based index."""

    async def read_events(self, stream: str) -> list[dict[str, Any]]:
        """All events of a stream in order."""

    async def enqueue(
        self, queue: str, item_id: str, payload: Mapping[str, Any], *, due_at: int, ttl: int
    ) -> bool:
        """Durably add an item, due at ``due_at``; False (and no change) if ``item_id`` is
        already queued. An item nobody acknowledges is dropped ``ttl`` seconds after enqueue."""

    async def lease(self, queue: str, *, now: int, lease_for: int, limit: int) -> list[QueueItem]:
        """Atomically take up to ``limit`` items due at ``now``: each becomes due again at
        ``now + lease_for`` (so no other caller gets it meanwhile) and its attempts grow by one.
        A caller that dies simply lets the lease run out: the item is retried."""

    async def ack(self, queue: str, item_id: str) -> None:
        """Remove an item (delivered, or given up)."""

    async def reschedule(self, queue: str, item_id: str, *, due_at: int) -> None:
        """Make a leased item due again at ``due_at`` (backoff after a failed attempt)."""

    async def ping(self) -> bool:
        """True when the backend answers (readiness)."""

    async def close(self) -> None:
        """Release connections and files."""
