"""The presentation lifecycle, framework-free: create → serve request → receive response →
verify → decide → publish.

States (one atomic compare-and-set per step, :mod:`verifier.store.base`)::

    pending ──wallet fetches request──▶ request_retrieved ──response──▶ verified | rejected | error
       └──────────────── TTL passes ───────────────▶ expired

Which inputs change a transaction (digest §10 checks 11-16, 49):

- A response the verifier can attribute to the transaction - it decrypts with *this*
  transaction's ephemeral key (``direct_post.jwt``) and carries *its* ``state`` - is processed
  exactly once and makes the transaction final: ``verified``, ``rejected`` (the precise failed
  check is recorded) or ``error`` (the wallet answered with an OAuth error). The nonce is then
  spent. The response URI answers 200 (+ ``redirect_uri`` with a fresh ``response_code`` for
  same-device), as VP §8.2 requires for a processed response.
- Anything else - unknown or expired transaction, wrong content type, oversized or malformed
  body, a JWE for another transaction, a wrong ``state``, a second response, a request fetched
  twice - changes nothing and gets a specific error.

The wallet only ever sees OAuth error codes; the transaction record and the logs get the exact
check ("coarse outward, precise inward").

A wallet step served by the process that wrote the record last (it created it, or served its
request object) starts from the record as written, without looking it up
(:mod:`verifier.presentations.written`): its compare-and-set is the check, and a record
changed elsewhere since is read and answered as ever. What a response decides:
:mod:`verifier.presentations.decision`.

A ``flow: "dc_api"`` transaction goes ``pending`` → final without a request fetch: the page hands
its request to the browser, and the answer arrives through :mod:`verifier.presentations.dc_api`;
the wallet endpoints here refuse it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from verifier.errors import ServiceError
from verifier.ops.callbacks import callback_refusal
from verifier.ops.logs import current_tx, log_event, log_info
from verifier.presentations.config import ServiceConfig
from verifier.presentations.create import CreatePresentation
from verifier.presentations.dc_api import build_dc_api_request, dc_api_meta
from verifier.presentations.decision import decide
from verifier.presentations.status import StatusChecker
from verifier.presentations.written import WrittenHere
from verifier.protocol import AgentVPError, b64url_encode
from verifier.protocol.jose import new_decryption_jwk
from verifier.protocol.oid4vp.request import (
    authorization_request_uri,
    build_request_claims,
    client_metadata,
    sign_request_object,
    unsigned_request_object,
)
from verifier.protocol.oid4vp.response import (
    FORM_CONTENT_TYPE,
    AuthorizationResponse,
    parse_direct_post,
    parse_direct_post_jwt,
    parse_form,
)
from verifier.protocol.sdjwt.vc import IssuerKeyResolver
from verifier.store.base import RecordKind, Transaction, TransactionStore, TxStatus

__all__ = ["PresentationService", "ServiceConfig"]

log = logging.getLogger("agentvp.service")
ENC_VALUES = ("A128GCM", "A256GCM")


def _token() -> str:
    """256 random bits, base64url: nonce, state, ids, response codes (digest §9)."""
    return secrets.token_urlsafe(32)


def _tokens(count: int) -> list[str]:
    """``count`` tokens as :func:`_token` makes them, from one draw of the system's CSPRNG (one
    ``getrandom`` call instead of ``count``): each its own 256 bits, none derived from another."""
    raw = secrets.token_bytes(32 * count)
    return [b64url_encode(raw[i : i + 32]) for i in range(0, len(raw), 32)]


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _wallet_nonce_fits(wallet_nonce: str | None) -> bool:
    return wallet_nonce is None or 0 < len(wallet_nonce) <= 256


class PresentationService:
    """Every step of an OpenID4VP exchange, over an injected store, trust and clock."""

    def __init__(
        self,
        *,
        config: ServiceConfig,
        store: TransactionStore,
        keys: IssuerKeyResolver,
        presets: Mapping[str, Mapping[str, Any]] | None = None,
        status: StatusChecker | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.keys = keys
        self.presets = dict(presets or {})
        self.status = status
        self.clock = clock
        self.on_close: list[Callable[[], Awaitable[None]]] = []
        # Called after a transaction changes: ("created" | "request_retrieved" | "final", tx).
        self.listeners: list[Callable[[str, Transaction], Awaitable[None]]] = []
        self._written = WrittenHere()  # where the wallet's next step starts, if served here

    async def notify(self, event: str, tx: Transaction) -> None:
        """Tell every listener (webhooks, metrics, agent verifications) that ``tx`` changed;
        for the DC API's and the agent decisions' final states too, which are written
        elsewhere. A failing listener is logged and changes nothing."""
        for listener in self.listeners:
            try:
                await listener(event, tx)
            except Exception:  # a listener must never undo the state change that happened
                log.exception("listener failed", extra={"tx": tx.id, "event": event})

    async def close(self) -> None:
        for hook in self.on_close:
            await hook()
        await self.store.close()

    def now(self) -> int:
        return int(self.clock())

    # ---------------------------------------------------------------- create

    async def create(
        self,
        spec: CreatePresentation,
        *,
        purpose: str = "presentation",
        parent_id: str | None = None,
    ) -> Transaction:
        if spec.callback_url is not None:
            self.check_callback(spec.callback_url)
        query, td = spec.resolve(self.presets)
        meta: dict[str, Any] = {}
        mode = spec.response_mode or self.config.default_response_mode
        if spec.flow == "dc_api":  # OpenID4VP Appendix A: see verifier.presentations.dc_api
            can_sign = self.config.signing_key is not None
            meta["dc_api"] = dc_api_meta(
                spec, allowed=self.config.dc_api_origins, can_sign=can_sign
            )
            mode = spec.response_mode or "dc_api.jwt"
        request_id, nonce, tx_id, state, kid = _tokens(5)
        response_uri = f"{self.config.public_url}/wallet/response/{request_id}"
        client_id = self.config.client_id
        if self.config.signing_key is None:
            client_id = f"redirect_uri:{response_uri}"
        encrypted = mode in ("direct_post.jwt", "dc_api.jwt")  # the wallet encrypts to a key
        enc_jwk = new_decryption_jwk(f"enc-{kid[:16]}") if encrypted else None
        now = self.now()
        if spec.ap2_challenge_id is not None:
            nonce = await self._ap2_nonce(spec.ap2_challenge_id, client_id, now)
        tx = Transaction(
            id=tx_id,
            request_id=request_id,
            state=state,
            nonce=nonce,
            client_id=client_id,
            created_at=now,
            expires_at=now + self.config.ttl,
            flow=spec.flow,
            response_mode=mode,
            response_type=spec.response_type,
            dcql_query=query,
            transaction_data=td,
            enc_jwk=enc_jwk,
            redirect_uri=spec.redirect_uri,
            callback_url=spec.callback_url,
            purpose=purpose,
            parent_id=parent_id,
            meta=meta,
        )
        if "dc_api" in meta:  # signed once, shown in every view until the transaction ends
            meta["dc_api"]["request"] = build_dc_api_request(self, tx)
        await self.store.create(tx, retain_until=tx.expires_at + self.config.retention)
        self._written.remember(tx)
        current_tx.set(tx.id)
        log_event(log, "presentation created", tx=tx.id, flow=tx.flow)
        await self.notify("created", tx)
        return tx

    async def _ap2_nonce(self, challenge_id: str, client_id: str, now: int) -> str:
        """The nonce of a live AP2 challenge for this audience (AP2 human-present delegation)."""
        challenge = await self.store.get(challenge_id, kind=RecordKind.AP2_CHALLENGE)
        if challenge is None or challenge.status != TxStatus.PENDING or now >= challenge.expires_at:
            raise ServiceError(400, "invalid_request", "ap2_challenge_id is unknown or used")
        if challenge.client_id != client_id:
            raise ServiceError(
                400, "invalid_request", "ap2_challenge_id needs a signed request (x509 client_id)"
            )
        return challenge.nonce

    def check_callback(self, url: str) -> None:
        """400 unless webhooks are configured and the outbound policy lets them reach ``url``."""
        if not self.config.callbacks:
            raise ServiceError(400, "invalid_request", "callback_url needs AGENTVP_WEBHOOK_SECRET")
        refusal = callback_refusal(url, self.config.outbound_allow_hosts)
        if refusal is not None:
            raise ServiceError(400, "invalid_request", refusal)

    def request_uri(self, tx: Transaction) -> str:
        return f"{self.config.public_url}/wallet/request/{tx.request_id}"

    def authorization_request_uri(self, tx: Transaction) -> str:
        return authorization_request_uri(
            client_id=tx.client_id,
            request_uri=self.request_uri(tx),
            request_uri_method="post",
        )

    # ---------------------------------------------------------------- read

    async def get(self, tx_id: str) -> Transaction:
        tx = await self.store.get(tx_id, kind=RecordKind.PRESENTATION)
        if tx is None:
            raise ServiceError(404, "not_found", "no such presentation")
        current_tx.set(tx.id)
        return await self._expire_if_due(tx)

    async def _expire_if_due(self, tx: Transaction) -> Transaction:
        if tx.final or self.now() < tx.expires_at:
            return tx
        done = await self.store.update_if(
            tx.id,
            {"status__in": [TxStatus.PENDING, TxStatus.REQUEST_RETRIEVED]},
            {"status": TxStatus.EXPIRED, "error": {"code": "expired", "detail": "request expired"}},
            kind=RecordKind.PRESENTATION,
        )
        if done is not None:
            await self.notify("final", done)
        return done or (await self.store.get(tx.id, kind=RecordKind.PRESENTATION)) or tx

    async def redeem_response_code(self, tx: Transaction, code: str | None) -> Transaction:
        """Same-device: release the result only against the single-use response_code."""
        if tx.flow != "same_device" or not tx.final:
            return tx
        if not code or tx.response_code_hash is None:
            raise ServiceError(400, "invalid_request", "response_code is required for this result")
        presented = _sha256(code)
        if not hmac.compare_digest(presented, tx.response_code_hash):
            raise ServiceError(400, "invalid_request", "response_code is wrong or already used")
        redeemed = await self.store.update_if(
            tx.id,
            {"response_code_hash": tx.response_code_hash},
            {"response_code_hash": "redeemed:" + presented},
            kind=RecordKind.PRESENTATION,
        )
        if redeemed is None:
            raise ServiceError(400, "invalid_request", "response_code is wrong or already used")
        return redeemed

    # ---------------------------------------------------------------- wallet: request

    async def _live(self, request_id: str) -> Transaction:
        tx = await self.store.get_by_request(request_id, kind=RecordKind.PRESENTATION)
        if tx is None:
            raise ServiceError(404, "invalid_request", "unknown request")
        current_tx.set(tx.id)
        if tx.flow == "dc_api":  # its wallet answers through the browser, never here
            raise ServiceError(400, "invalid_request", "this request is made over the DC API")
        tx = await self._expire_if_due(tx)
        if tx.status == TxStatus.EXPIRED:
            raise ServiceError(400, "invalid_request", "the request has expired")
        return tx

    async def request_object(self, request_id: str, *, wallet_nonce: str | None) -> str:
        """The signed Request Object; a request_uri is good for one fetch (digest §1.4)."""
        fetched = None
        if _wallet_nonce_fits(wallet_nonce):
            tx = self._written.take(request_id, TxStatus.PENDING, self.now())
            if tx is not None:  # created here: its lookup would find it so, or fail the CAS
                current_tx.set(tx.id)
                fetched = await self._retrieve(tx, wallet_nonce)
        if fetched is None:  # not created here, or changed elsewhere since: as read now
            tx = await self._live(request_id)
            if not _wallet_nonce_fits(wallet_nonce):
                raise ServiceError(400, "invalid_request", "wallet_nonce is empty or too long")
            fetched = await self._retrieve(tx, wallet_nonce)
            if fetched is None:
                raise ServiceError(
                    400, "invalid_request", "the request object was already retrieved"
                )
        self._written.remember(fetched)
        enc_public = None
        if fetched.enc_jwk is not None:
            enc_public = {k: v for k, v in fetched.enc_jwk.items() if k != "d"}
            enc_public.update(use="enc", alg="ECDH-ES")
        claims = build_request_claims(
            client_id=fetched.client_id,
            response_uri=f"{self.config.public_url}/wallet/response/{fetched.request_id}",
            nonce=fetched.nonce,
            state=fetched.state,
            dcql_query=fetched.dcql_query,
            response_mode=fetched.response_mode,
            response_type=fetched.response_type,
            metadata=client_metadata(enc_public, enc_values=ENC_VALUES),
            transaction_data=fetched.transaction_data,
            wallet_nonce=wallet_nonce,
            iat=self.now(),
            lifetime=max(fetched.expires_at - self.now(), 1),
        )
        log_event(log, "request object served", tx=fetched.id)
        await self.notify("request_retrieved", fetched)
        if self.config.signing_key is None:
            return unsigned_request_object(claims)
        return sign_request_object(claims, self.config.signing_key, self.config.x5c)

    async def _retrieve(self, tx: Transaction, wallet_nonce: str | None) -> Transaction | None:
        """``pending`` → ``request_retrieved``: the record after, or None if it was not pending."""
        return await self.store.update_if(
            tx.id,
            {"status": TxStatus.PENDING},
            {"status": TxStatus.REQUEST_RETRIEVED, "wallet_nonce": wallet_nonce},
            kind=RecordKind.PRESENTATION,
        )

    # ---------------------------------------------------------------- wallet: response

    async def receive_response(
        self, request_id: str, *, content_type: str, body: bytes
    ) -> dict[str, Any]:
        done, code, refused = None, None, None
        remembered = self._written.take(request_id, TxStatus.REQUEST_RETRIEVED, self.now())
        if remembered is not None:  # its request object was served here: no lookup
            current_tx.set(remembered.id)
            try:
                done, code = await self._answer(remembered, content_type, body)
            except ServiceError as exc:
                refused = (exc, remembered.version)
        if done is None:  # as read now: the usual way, whose answers are the ones that count
            tx = await self._live(request_id)
            if refused is not None and tx.version == refused[1]:
                raise refused[0]  # the record as remembered: the same checks, the same refusal
            done, code = await self._answer(tx, content_type, body)
            if done is None:
                raise ServiceError(400, "invalid_request", "this request was already answered")
        log_info(log, "response processed", tx=done.id, status=done.status)
        await self.notify("final", done)
        if code is None or not done.redirect_uri:
            return {}
        joiner = "&" if "#" in done.redirect_uri else "#"
        return {"redirect_uri": f"{done.redirect_uri}{joiner}response_code={code}"}

    async def _answer(
        self, tx: Transaction, content_type: str, body: bytes
    ) -> tuple[Transaction | None, str | None]:
        """Check, verify and decide the wallet's response to ``tx``; the final record and the
        same-device response code, or None if ``tx`` was answered (or changed) meanwhile."""
        if content_type.split(";", maxsplit=1)[0].strip().lower() != FORM_CONTENT_TYPE:
            raise ServiceError(415, "invalid_request", f"content type must be {FORM_CONTENT_TYPE}")
        if tx.final:
            raise ServiceError(400, "invalid_request", "this request was already answered")
        if tx.status != TxStatus.REQUEST_RETRIEVED:
            raise ServiceError(400, "invalid_request", "the request object was never retrieved")
        response = self._parse(tx, body)
        if response.state is None or not hmac.compare_digest(
            response.state.encode(), tx.state.encode()
        ):
            raise ServiceError(400, "invalid_request", "state does not match this request")
        changes = await self.decide(tx, response)
        code = _token() if tx.flow == "same_device" else None
        if code is not None:
            changes["response_code_hash"] = _sha256(code)
        done = await self.store.update_if(
            tx.id, {"status": TxStatus.REQUEST_RETRIEVED}, changes, kind=RecordKind.PRESENTATION
        )
        return done, code

    def _parse(self, tx: Transaction, body: bytes) -> AuthorizationResponse:
        try:
            form = parse_form(body, max_bytes=self.config.max_body_bytes)
            if tx.response_mode == "direct_post.jwt":
                assert tx.enc_jwk is not None
                return parse_direct_post_jwt(
                    form,
                    enc_jwk=tx.enc_jwk,
                    allowed_enc=ENC_VALUES,
                    max_bytes=self.config.max_body_bytes,
                    max_depth=self.config.max_json_depth,
                )
            if "response" in form:
                raise ServiceError(400, "invalid_request", "this request expects direct_post")
            return parse_direct_post(form, max_depth=self.config.max_json_depth)
        except AgentVPError as exc:
            log.info("unattributable response", extra={"tx": tx.id, "check": exc.code})
            raise ServiceError(400, exc.error, f"response not accepted: {exc.code}") from None

    async def decide(
        self, tx: Transaction, response: AuthorizationResponse, *, audience: str | None = None
    ) -> dict[str, Any]:
        """Verify everything; the changes that make the transaction final. ``audience``: what
        every KB-JWT must name (default the client_id; ``origin:<origin>`` over the DC API)."""
        return await decide(self, tx, response, audience=audience)
