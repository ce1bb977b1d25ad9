"""SSF 1.0 stream management (§8.1): create, read, update, replace, delete; status; subjects.

Each API key is one receiver (its *owner* id: a digest of the key, never the key); a receiver sees
and changes only its own streams, and an unknown or foreign ``stream_id`` is 404 alike. Errors
are the spec's HTTP status codes (400 invalid request or subject, 404 unknown stream) with the
service's ``{"error", "error_description"}`` body.

A stream (``RecordKind.SSF_STREAM``, configuration in ``meta``) has:

- ``delivery``: ``{"method": "urn:ietf:rfc:8935", "endpoint_url": <receiver's URL>}`` (push;
  https, or http on a loopback host) or ``{"method": "urn:ietf:rfc:8936"}`` (poll: agentvp fills
  in ``endpoint_url``, ``<public_url>/ssf/poll/<stream_id>``). A push ``authorization_header``
  is kept and sent, never shown again;
- ``aud``: given by the receiver at creation (its resource URL), else the push URL, else the poll
  URL; every SET of the stream carries it;
- ``events_requested`` / ``events_delivered`` (= requested ∩ supported; the verification event is
  always delivered), ``description``, ``status`` (``enabled``/``paused``/``disabled``,
  ``reason``) and the subjects removed from it (every subject is included by default:
  ``default_subjects`` ``ALL``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from verifier.errors import ServiceError
from verifier.ssf.events import SUPPORTED, VERIFICATION, SubjectError, check_subject
from verifier.store.base import RecordKind, Transaction, TransactionStore

__all__ = ["POLL", "PUSH", "Streams", "owner_of"]

PUSH = "urn:ietf:rfc:8935"
POLL = "urn:ietf:rfc:8936"
INDEX = "ssf:streams"
KIND = RecordKind.SSF_STREAM
_FOREVER = 10 * 365 * 86400
_STATUSES = ("enabled", "paused", "disabled")
_RECEIVER_FIELDS = ("delivery", "events_requested", "description")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def owner_of(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()[:32]


def _bad(description: str) -> ServiceError:
    return ServiceError(400, "invalid_request", description)


def _unknown() -> ServiceError:
    return ServiceError(404, "not_found", "no stream with this stream_id for this receiver")


def _url(value: Any, what: str) -> str:
    if not isinstance(value, str) or len(value) > 2048:
        raise _bad(f"{what} must be a URL")
    parts = urlsplit(value)
    if not parts.hostname or parts.scheme not in ("https", "http"):
        raise _bad(f"{what} must be an https URL")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise _bad(f"{what} must be https (http only on loopback)")
    return value


class Streams:
    def __init__(self, store: TransactionStore, *, issuer: str, clock: Any) -> None:
        self.store = store
        self.issuer = issuer
        self.clock = clock

    # ---------------------------------------------------------------- reading

    async def _record(self, owner: str, stream_id: Any) -> Transaction:
        if not isinstance(stream_id, str) or not stream_id:
            raise _bad("stream_id is required")
        record = await self.store.get(stream_id, kind=KIND)
        if record is None or record.meta.get("owner") != owner or record.meta.get("deleted"):
            raise _unknown()
        return record

    async def all(self) -> list[Transaction]:
        """Every live stream of every receiver (for fan-out)."""
        live: dict[str, None] = {}
        for event in await self.store.read_events(INDEX):
            if event.get("op") == "create":
                live[str(event["id"])] = None
            else:
                live.pop(str(event.get("id")), None)
        records = [await self.store.get(stream_id, kind=KIND) for stream_id in live]
        return [r for r in records if r is not None and not r.meta.get("deleted")]

    async def read(self, owner: str, stream_id: str | None) -> Any:
        if stream_id is None:
            return [view(r) for r in await self.all() if r.meta.get("owner") == owner]
        return view(await self._record(owner, stream_id))

    async def get(self, owner: str, stream_id: Any) -> Transaction:
        return await self._record(owner, stream_id)

    # ---------------------------------------------------------------- writing

    def _config(
        self, body: Mapping[str, Any], stream_id: str, current: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The receiver-supplied fields of ``body`` checked, over ``current``."""
        config = dict(current)
        delivery = body.get("delivery", config.get("delivery") or {"method": PUSH})
        if not isinstance(delivery, dict):
            raise _bad("delivery must be an object")
        method = delivery.get("method")
        if method == PUSH:
            endpoint = _url(delivery.get("endpoint_url"), "delivery.endpoint_url")
            auth = delivery.get("authorization_header", config.get("authorization_header"))
            if auth is not None and (not isinstance(auth, str) or len(auth) > 4096):
                raise _bad("delivery.authorization_header must be a string")
            config["authorization_header"] = auth
        elif method == POLL:
            endpoint = f"{self.issuer}/ssf/poll/{stream_id}"
            if delivery.get("endpoint_url") not in (None, endpoint):
                raise _bad("a poll stream's endpoint_url is the transmitter's")
        else:
            raise _bad(f"delivery.method must be {PUSH} or {POLL}")
        config["delivery"] = {"method": method, "endpoint_url": endpoint}
        requested = body.get("events_requested", config.get("events_requested", list(SUPPORTED)))
        if not isinstance(requested, list) or not all(isinstance(e, str) for e in requested):
            raise _bad("events_requested must be an array of strings")
        config["events_requested"] = requested[:64]
        delivered = [e for e in SUPPORTED if e in requested]
        config["events_delivered"] = (
            delivered if VERIFICATION in delivered else [*delivered, VERIFICATION]
        )
        description = body.get("description", config.get("description"))
        if description is not None and (not isinstance(description, str) or len(description) > 512):
            raise _bad("description must be a string")
        config["description"] = description
        return config

    async def create(self, owner: str, body: Mapping[str, Any]) -> dict[str, Any]:
        if "stream_id" in body:
            raise _bad("stream_id is transmitter-supplied")
        stream_id = secrets.token_urlsafe(16)
        config = self._config(body, stream_id, {})
        aud = body.get("aud", config["delivery"]["endpoint_url"])
        if not isinstance(aud, str) or not aud or len(aud) > 2048:
            raise _bad("aud must be a string")
        now = int(self.clock())
        meta = {
            **config,
            "owner": owner,
            "iss": self.issuer,
            "aud": aud,
            "status": "enabled",
            "reason": None,
            "removed": [],
        }
        record = Transaction(
            id=stream_id,
            request_id=f"ssf:{stream_id}",
            state="",
            nonce="",
            client_id="",
            created_at=now,
            expires_at=now + _FOREVER,
            purpose="ssf_stream",
            kind=KIND,
            meta=meta,
        )
        await self.store.create(record, retain_until=now + _FOREVER)
        await self.store.append_event(INDEX, {"op": "create", "id": stream_id}, ttl=_FOREVER)
        return view(record)

    async def _change(self, record: Transaction, meta: dict[str, Any]) -> Transaction:
        updated = await self.store.update_if(
            record.id, {"meta": record.meta}, {"meta": meta}, kind=KIND
        )
        if updated is None:
            raise ServiceError(409, "invalid_request", "the stream changed meanwhile; retry")
        return updated

    async def update(self, owner: str, body: Mapping[str, Any], *, replace: bool) -> dict[str, Any]:
        """PATCH (only the given fields) or PUT (missing receiver fields are reset)."""
        record = await self._record(owner, body.get("stream_id"))
        for name in ("iss", "aud", "events_supported", "events_delivered"):
            if name in body and body[name] != view(record).get(name):
                raise _bad(f"{name} is transmitter-supplied and must match")
        current = dict(record.meta)
        if replace:
            missing = [f for f in ("delivery",) if f not in body]
            if missing:
                raise _bad("a replacement needs delivery")
            current = {k: v for k, v in current.items() if k not in _RECEIVER_FIELDS}
        meta = {**record.meta, **self._config(body, record.id, current)}
        return view(await self._change(record, meta))

    async def delete(self, owner: str, stream_id: Any) -> None:
        record = await self._record(owner, stream_id)
        await self._change(record, {**record.meta, "deleted": True})
        await self.store.append_event(INDEX, {"op": "delete", "id": record.id}, ttl=_FOREVER)

    async def status(self, owner: str, stream_id: Any) -> dict[str, Any]:
        record = await self._record(owner, stream_id)
        answer = {"stream_id": record.id, "status": record.meta["status"]}
        if record.meta.get("reason"):
            answer["reason"] = record.meta["reason"]
        return answer

    async def set_status(
        self, owner: str, body: Mapping[str, Any]
    ) -> tuple[Transaction, dict[str, Any]]:
        record = await self._record(owner, body.get("stream_id"))
        status, reason = body.get("status"), body.get("reason")
        if status not in _STATUSES:
            raise _bad(f"status must be one of {', '.join(_STATUSES)}")
        if reason is not None and (not isinstance(reason, str) or len(reason) > 512):
            raise _bad("reason must be a string")
        updated = await self._change(record, {**record.meta, "status": status, "reason": reason})
        return updated, await self.status(owner, record.id)

    async def subject(self, owner: str, body: Mapping[str, Any], *, add: bool) -> None:
        record = await self._record(owner, body.get("stream_id"))
        try:
            subject = check_subject(body.get("subject"))
        except SubjectError as exc:
            raise _bad(f"subject: {exc}") from None
        if "verified" in body and not isinstance(body["verified"], bool):
            raise _bad("verified must be a boolean")
        removed = [s for s in record.meta.get("removed", []) if s != subject]
        if not add:
            removed.append(subject)
        if len(removed) > 1000:
            raise _bad("too many removed subjects on this stream")
        await self._change(record, {**record.meta, "removed": removed})


def view(record: Transaction) -> dict[str, Any]:
    """The stream configuration as SSF §8.1.1 shows it (no owner, no push credentials)."""
    meta = record.meta
    answer = {
        "stream_id": record.id,
        "iss": meta["iss"],
        "aud": meta["aud"],
        "delivery": meta["delivery"],
        "events_supported": list(SUPPORTED),
        "events_requested": meta["events_requested"],
        "events_delivered": meta["events_delivered"],
    }
    if meta.get("description"):
        answer["description"] = meta["description"]
    return answer
