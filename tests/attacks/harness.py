"""The world the attack corpus runs in, and how one case is run and judged.

**World** (one per test module, so the whole corpus shares its start-up cost):

- two ``agentvp serve`` processes on one SQLite store: the main verifier (a one-hour
  ``transaction_ttl``, so what every case watches outlives a slow run), and a second one with
  a two-second ``transaction_ttl`` for the expiry cases (a transaction created there lives two
  seconds, whichever instance answers it); both with ``AGENTVP_WALLET_RATE_LIMIT=0`` and
  ``AGENTVP_OUTBOUND_ALLOW_HOSTS`` = exactly the local issuer host's ``127.0.0.1:<port>``;
- that issuer host (:class:`IssuerHost`, in this process): status lists, jwt-vc-issuer metadata
  and whatever a case serves (tampered lists, redirects, SSRF-bait metadata);
- a :class:`Canary` listener on another loopback port (IPv4 and IPv6): SSRF targets point at
  it, and every case asserts it was never contacted;
- a wallet directory (:mod:`wallet_sim`) with issuers, a human, an agent, strangers and thieves;
  the trust file trusts the static-key issuers, a metadata issuer, SSRF-bait metadata issuers
  and an x5c anchor; the policy file adds agent policies and protected resources;
- a read-only view of the store (:class:`~verifier.store.SQLiteStore` on the same file) for
  transaction records and mandate counters.

**A case** (:class:`Case`) builds an :class:`Attack` - one HTTP request, prepared by a small
function from honest artefacts of the simulator, changed in exactly the point it attacks. The
runner snapshots the world, sends the request, snapshots again and asks the case's expectation
to judge the response and the difference:

- :class:`Refused`: HTTP status, OAuth ``error`` and a fragment of ``error_description`` (the
  precise check); *nothing* changed: every watched transaction record byte for byte (version
  included), every agent verification's view and audit chain, every mandate counter, the
  verifier's created/finished/decision metrics, the canary, the tool calls the protected
  resource (:mod:`tests.attacks.resource`, started by the cases that use it) ran;
- :class:`Ignored`: answered (RFC 7009 §2.2: 200) with an empty body, and nothing changed as
  for :class:`Refused` - a revocation of a token the server will not revoke;
- :class:`Rejected`: the response was attributable (decrypted with the transaction's key, right
  ``state``) and processed once: HTTP 200, the transaction is final ``rejected`` with exactly
  this ``error.code`` (and nothing else in its record changed), its agent verification (if
  any) decided ``deny`` with the matching reason and the audit chain grew by exactly the
  response and the decision; counters unchanged;
- :class:`Denied` / :class:`Allowed`: the presentation verified and the agent rules decided;
  counters unchanged (deny) or changed by exactly one use and the amount (allow);
- :class:`Served`: probes of what the verifier *sends* (digest §10 checks 4-10, which no
  wallet input can violate): the request object is served and only the transaction's
  ``status``/``wallet_nonce`` changed.

No case may see a 5xx: the metrics' per-route latency histogram is part of every snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.attacks import forge
from tests.conftest import free_port
from tests.e2e.harness import RP, Verifier, make_data_dir
from tests.threaded_server import ThreadedServer
from verifier.agents.audit import verify_chain
from verifier.agents.counters import mandate_key as counter_key
from verifier.protocol import (
    DCQLQuery,
    RequestObject,
    SigningKey,
    encode_status_list,
    match_credentials,
    parse_transaction_data,
    select_presentation,
)
from verifier.protocol.mandates.authority import AgentAction
from verifier.protocol.oid4vp.response import direct_post_form, encrypted_form
from verifier.protocol.x509.chain import cert_to_pem, x5c_header
from verifier.protocol.x509.devpki import DevPKI
from verifier.setup.data_dir import IDENTITY_VCT, MANDATE_VCT, default_policies
from verifier.store import SQLiteStore, Transaction
from verifier.store.base import RecordKind
from wallet_sim.agent import full_mandate
from wallet_sim.issuer import IdentitySubject, MandateGrant, identity_claims, mandate_claims
from wallet_sim.issuing import issue_credential, principal_jkt
from wallet_sim.status import StatusRegistry, status_list_token
from wallet_sim.store import StoredCredential, Wallet
from wallet_sim.wallet import Proposal, WalletSimulator

FORM = "application/x-www-form-urlencoded"
EKYC_ISS = "https://ekyc.attack.example"
MANDATES_ISS = "https://mandates.attack.example"
FOREIGN_MANDATES_ISS = "https://foreign-mandates.attack.example"
X5C_ISS = "https://x5c-issuer.attack.example"
PAYEE_DOMAIN = "shop-a.example"
RESOURCE = "https://shop-a.example/mcp"
STEPUP_RESOURCE = "https://vault.shop-a.example/mcp"
POLICY = "attack"
STEPUP_POLICY = "attack-stepup"
STATUS_POLICY = "attack-status"
ACTION: dict[str, Any] = {
    "action": "payment.initiate",
    "transaction_id": "ord-1",
    "payee": {"id": "merchant-4711", "name": "Shop A", "domain": PAYEE_DOMAIN},
    "category": {"scheme": "iso18245", "code": "5942"},
    "payment_amount": {"amount": 8990, "currency": "EUR"},
}
# A query the hand-made ("crafted") credentials answer: one disclosable top-level claim.
SIMPLE_QUERY: dict[str, Any] = {
    "credentials": [
        {
            "id": "identity",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": [IDENTITY_VCT]},
            "claims": [{"path": ["given_name"]}],
        }
    ]
}
OPEN_ISS = "https://open.attack.example"  # trusted for any vct (so vct_missing is reachable)
# Issuers whose jwt-vc-issuer metadata names a jwks_uri the verifier must never fetch.
SSRF_JWKS: dict[str, str] = {
    "link-local": "https://169.254.169.254/latest/meta-data/jwks",
    "private-10": "https://10.0.0.1/jwks",
    "private-192": "https://192.168.1.1/jwks",
    "loopback": "https://127.0.0.1:{canary}/jwks",
    "loopback-other-port": "http://127.0.0.1:{canary}/jwks",
    "ipv6-loopback": "https://[::1]:{canary}/jwks",
    "ipv6-ula": "https://[fd00::1]/jwks",
    "ipv4-mapped": "https://[::ffff:127.0.0.1]:{canary}/jwks",
    "dns-to-loopback": "https://localhost:{canary}/jwks",
    "plain-http": "http://93.184.216.34/jwks",
    "userinfo": "http://127.0.0.1:{issuer}@169.254.169.254/jwks",
    "file": "file:///etc/passwd",
}
# Issuers whose metadata document itself is wrong: (document maker, media type).
BAD_METADATA: dict[str, tuple[Callable[[str, str], dict[str, Any]], str]] = {
    "issuer-mismatch": (
        lambda iss, jwks: {"issuer": iss + "x", "jwks_uri": jwks},
        "application/json",
    ),
    "both-key-sources": (
        lambda iss, jwks: {"issuer": iss, "jwks_uri": jwks, "jwks": {"keys": []}},
        "application/json",
    ),
    "html": (lambda iss, jwks: {"issuer": iss, "jwks_uri": jwks}, "text/html"),
    "redirecting-jwks": (
        lambda iss, jwks: {"issuer": iss, "jwks_uri": jwks + "-redirect"},
        "application/json",
    ),
}


HONEST: Any = object()  # Live.respond: the honest vp_token
# Pages allowed to use the Digital Credentials API (cases/dc_api.py): the shop and another RP.
DC_API_ORIGINS = ("https://shop-a.example", "https://tickets-b.example")


def now() -> int:
    return int(time.time())


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


# ============================================================================ expectations


@dataclass(frozen=True)
class Refused:
    """Refused without any state change: HTTP ``status``, OAuth ``error``, and ``fragment`` of
    the ``error_description`` naming the precise check."""

    status: int
    error: str
    fragment: str

    @property
    def code(self) -> str:
        return self.error


@dataclass(frozen=True)
class Rejected:
    """Processed once: the transaction is final ``rejected`` with ``error.code == code``; its
    agent verification (if any) is denied with ``reason`` (default: ``code``)."""

    code: str
    fragment: str = ""
    reason: str | None = None


@dataclass(frozen=True)
class Denied:
    """The presentation verified; the agent verification is denied with exactly ``reasons``,
    by the ``rule`` that failed (``mandate``, ``identity`` or ``counters``)."""

    reasons: tuple[str, ...]
    rule: str = "mandate"

    @property
    def code(self) -> str:
        return ",".join(self.reasons)


@dataclass(frozen=True)
class Allowed:
    """The agent verification allows; the mandate's counters grow by one use and ``spent``."""

    spent: int

    @property
    def code(self) -> str:
        return "allow"


@dataclass(frozen=True)
class Served:
    """A probe of what the verifier sends: the request object is served (200) and ``check``
    (run on the response by the attack) holds."""

    check: str

    @property
    def code(self) -> str:
        return self.check


@dataclass(frozen=True)
class Ignored:
    """Answered ``status`` with an empty body and *nothing* changed (as :class:`Refused`
    watches it): what RFC 7009 §2.2 asks of a revocation request for a token the server
    will not revoke (unknown, forged, already revoked)."""

    status: int = 200

    @property
    def code(self) -> str:
        return f"ignored_{self.status}"


Expectation = Refused | Ignored | Rejected | Denied | Allowed | Served


@dataclass
class Attack:
    """One malicious HTTP request and what to watch while it is sent."""

    method: str
    url: str
    headers: dict[str, str] | list[tuple[str, str]] = field(default_factory=dict)
    content: bytes | None = None
    chunks: list[bytes] | None = None  # sent with Transfer-Encoding: chunked
    params: dict[str, str] | None = None
    target: str | None = None  # the transaction a processed response makes final
    watch: list[str] = field(default_factory=list)  # store records that must not change
    agents: list[str] = field(default_factory=list)  # agent verifications (view + audit)
    mandate: str | None = None  # the counter key an Allowed case spends
    after: Callable[[httpx.Response], None] | None = None


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    build: Callable[[World], Attack]
    expect: Expectation


# ============================================================================ test doubles


class IssuerHost:
    """The one host the verifier may fetch from: ``http://127.0.0.1:<port>``. Paths map to
    callables so each request gets a fresh answer (``(status, media type, body, headers)``)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.routes: dict[str, Callable[[], tuple[int, str, bytes, dict[str, str]]]] = {}
        self.hits: Counter[str] = Counter()

        async def serve(request: Request) -> Response:
            path = request.url.path
            self.hits[path] += 1
            route = self.routes.get(path)
            if route is None:
                return Response(b"not found", status_code=404, media_type="text/plain")
            status, media, body, headers = route()
            return Response(body, status_code=status, media_type=media, headers=headers)

        self.server = ThreadedServer(Starlette(routes=[Route("/{path:path}", serve)]), port)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, body: bytes | Callable[[], bytes], media: str, **opts: Any) -> str:
        def route() -> tuple[int, str, bytes, dict[str, str]]:
            content = body() if callable(body) else body
            return opts.get("status", 200), media, content, opts.get("headers", {})

        self.routes[path] = route
        return self.url(path)

    def stop(self) -> None:
        self.server.stop()


class Canary:
    """A loopback listener (IPv4 and IPv6, one port) that counts every connection: SSRF
    targets point here, and no case may ever make the verifier connect."""

    def __init__(self) -> None:
        self.count = 0
        self._sockets: list[socket.socket] = []
        for _ in range(20):
            port = free_port()
            sockets = []
            try:
                for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
                    sock = socket.socket(family, socket.SOCK_STREAM)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sock.bind((host, port))
                    sock.listen(16)
                    sock.settimeout(0.2)
                    sockets.append(sock)
            except OSError:
                for sock in sockets:
                    sock.close()
                continue
            self.port, self._sockets = port, sockets
            break
        else:
            raise RuntimeError("no port free on both 127.0.0.1 and ::1")
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._accept, args=(s,), daemon=True) for s in self._sockets
        ]
        for thread in self._threads:
            thread.start()

    def _accept(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            self.count += 1
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        for sock in self._sockets:
            sock.close()


# ============================================================================ live transactions


@dataclass
class Live:
    """A transaction whose request object the (simulated) wallet has fetched and verified,
    with the honest answer it would send; attacks start from here."""

    world: World
    view: dict[str, Any]
    request: RequestObject
    proposal: Proposal | None
    av: str | None = None

    @property
    def tx(self) -> str:
        return str(self.view["id"])

    @property
    def response_uri(self) -> str:
        return self.request.response_uri

    @property
    def vp_token(self) -> dict[str, list[str]]:
        assert self.proposal is not None
        return copy.deepcopy(self.proposal.presentation.vp_token)

    def presentation(self, query_id: str | None = None) -> str:
        vp = self.vp_token
        return vp[query_id or next(iter(vp))][0]

    def td_alg(self) -> str | None:
        algs = [parse_transaction_data(t).hashes_alg for t in self.request.transaction_data]
        return next((a[0] for a in algs if a), None)

    def kb(self, holder: SigningKey, presented: str, **opts: Any) -> str:
        """A KB-JWT for this request (its aud, nonce and transaction data) with changes."""
        opts.setdefault("aud", self.request.client_id)
        opts.setdefault("nonce", self.request.nonce)
        opts.setdefault("iat", now())
        opts.setdefault("transaction_data", self.request.transaction_data)
        opts.setdefault("td_alg", self.td_alg())
        return forge.kb_jwt(holder, presented, **opts)

    def rebind(
        self, issuer_jwt: str, disclosures: Sequence[str], holder: SigningKey, **opts: Any
    ) -> str:
        """``<issuer JWT>~<disclosures>~<fresh KB-JWT>`` - the holder re-signs what it sends."""
        presented = "~".join([issuer_jwt, *disclosures, ""])
        return presented + self.kb(holder, presented, **opts)

    def respond(self, vp_token: Any = HONEST, *, target: bool = True, **params: Any) -> Attack:
        """The response as the wallet sends it (encrypted to this transaction's key for
        ``direct_post.jwt``), with ``vp_token`` and parameters replaced as given (``None``
        leaves a parameter out)."""
        body: dict[str, Any] = {
            "vp_token": self.vp_token if vp_token is HONEST else vp_token,
            "state": self.request.state,
        }
        body.update(params)
        body = {k: v for k, v in body.items() if v is not None}
        if self.request.response_mode == "direct_post.jwt":
            form = encrypted_form(body, self.request.client_metadata)
        else:
            form = direct_post_form(body)
        return self.post(form, target=self.tx if target else None)

    def encrypted(self, plaintext: bytes, **opts: Any) -> Attack:
        """``response=<JWE>`` over raw plaintext bytes (see :func:`forge.jwe`)."""
        jwk = self.request.client_metadata["jwks"]["keys"][0]
        return self.post({"response": forge.jwe(plaintext, jwk, **opts)})

    def post(
        self,
        form: Mapping[str, str] | bytes,
        *,
        content_type: str = FORM,
        target: str | None = None,
    ) -> Attack:
        content = form if isinstance(form, bytes) else urlencode(form).encode()
        return Attack(
            "POST",
            self.response_uri,
            headers={"Content-Type": content_type},
            content=content,
            target=target,
            watch=[self.tx],
            agents=[self.av] if self.av else [],
        )


# ============================================================================ the world


class World:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.iport, vport, sport = free_port(), free_port(), free_port()
        self.data = root / "verifier"
        self.api_key = make_data_dir(self.data, f"http://localhost:{vport}")
        self.canary = Canary()
        self.host = IssuerHost(self.iport)
        self.http = httpx.Client(timeout=15, follow_redirects=False, trust_env=False)
        self.counter_keys: set[str] = set()
        self.verifiers: list[Verifier] = []
        self.resource_server: Any = None  # tests.attacks.resource, started on first use
        try:
            self._wallet()
            self._trust()
            self._policy()
            env = {
                "AGENTVP_OUTBOUND_ALLOW_HOSTS": f"127.0.0.1:{self.iport}",
                "AGENTVP_WALLET_RATE_LIMIT": "0",
                "AGENTVP_AGENT_POLL_INTERVAL": "1",
                "AGENTVP_DC_API_ORIGINS": ",".join(DC_API_ORIGINS),
            }
            # An hour, so the pending bystander every case watches outlives a slow corpus run
            # (under load the corpus takes longer than the default five minutes).
            main_env = {**env, "AGENTVP_TRANSACTION_TTL": "3600"}
            self.verifier = Verifier(self.data, vport, main_env).start()
            self.verifiers.append(self.verifier)
            self.short = Verifier(self.data, sport, {**env, "AGENTVP_TRANSACTION_TTL": "2"}).start()
            self.verifiers.append(self.short)
            self.rp = RP(self.verifier.url, self.api_key)
            self.short_rp = RP(self.short.url, self.api_key)
            self.store = SQLiteStore(self.data / "agentvp.db")
            self._baseline()
            self._expiry_pool()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ set-up

    def _wallet(self) -> None:
        self.wallet = Wallet.create(self.root / "wallet")
        for holder in ("human", "agent", "stranger", "thief"):
            self.wallet.key(holder, create=True)
        issuers = {
            "ekyc": (EKYC_ISS, "identity"),
            "mandates": (MANDATES_ISS, "mandate"),
            "foreign": (FOREIGN_MANDATES_ISS, "mandate"),
            "meta": (self.host.url("/meta"), "identity"),
            "open": (OPEN_ISS, "identity"),
        }
        for name, (iss, kind) in issuers.items():
            self.wallet.add_issuer(
                name, iss=iss, kind=kind, key=SigningKey.generate(kid=f"{name}-1")
            )
            if name in ("ekyc", "mandates"):
                registry = StatusRegistry.create(
                    self.wallet.path / "status" / f"{name}.json",
                    uri=self.host.url(f"/status/{name}"),
                )
                self._serve_registry(name, registry)
        self.wallet.trust_verifier((self.data / "pki" / "root.pem").read_text())
        meta = self.wallet.issuer("meta")
        self.host.serve(
            "/.well-known/jwt-vc-issuer/meta",
            json.dumps({"issuer": meta.iss, "jwks_uri": self.host.url("/jwks/meta")}).encode(),
            "application/json",
        )
        self.host.serve("/jwks/meta", json.dumps(meta.jwks).encode(), "application/json")
        for name, target in SSRF_JWKS.items():
            iss = self.host.url(f"/ssrf/{name}")
            url = target.format(canary=self.canary.port, issuer=self.iport)
            self.host.serve(
                f"/.well-known/jwt-vc-issuer/ssrf/{name}",
                json.dumps({"issuer": iss, "jwks_uri": url}).encode(),
                "application/json",
            )
        for name, (document, media) in BAD_METADATA.items():
            iss = self.host.url(f"/bad/{name}")
            jwks = self.host.url("/jwks/meta")
            self.host.serve(
                f"/.well-known/jwt-vc-issuer/bad/{name}",
                json.dumps(document(iss, jwks)).encode(),
                media,
            )
        self.host.serve(
            "/jwks/meta-redirect",
            b"",
            "text/plain",
            status=302,
            headers={"Location": f"http://127.0.0.1:{self.canary.port}/jwks"},
        )
        self.pki = DevPKI.create(now=now(), name="attack issuers")
        self.x5c_key = SigningKey.generate()
        self.x5c_leaf = self.pki.issuer_leaf(X5C_ISS, self.x5c_key, now=now())

    def _serve_registry(self, name: str, registry: StatusRegistry) -> None:
        def token() -> bytes:
            key = self.wallet.issuer(name).key
            return status_list_token(registry, key, now=now()).encode()

        self.host.serve(f"/status/{name}", token, "application/statuslist+jwt")

    def _trust(self) -> None:
        def static(name: str, vct: str) -> dict[str, Any]:
            issuer = self.wallet.issuer(name)
            return {"iss": issuer.iss, "jwks": {"keys": [issuer.key.public_jwk]}, "vct": [vct]}

        issuers = [
            static("ekyc", IDENTITY_VCT),
            static("mandates", MANDATE_VCT),
            static("foreign", MANDATE_VCT),
            {"iss": OPEN_ISS, "jwks": {"keys": [self.wallet.issuer("open").key.public_jwk]}},
            {"iss": self.host.url("/meta"), "metadata": True, "vct": [IDENTITY_VCT]},
        ]
        issuers += [
            {"iss": self.host.url(f"/bad/{name}"), "metadata": True, "vct": [IDENTITY_VCT]}
            for name in BAD_METADATA
        ]
        issuers += [
            {"iss": self.host.url(f"/ssrf/{name}"), "metadata": True, "vct": [IDENTITY_VCT]}
            for name in SSRF_JWKS
        ]
        anchors = [{"pem": cert_to_pem(self.pki.root), "vct": [IDENTITY_VCT]}]
        (self.data / "trust.json").write_text(json.dumps({"issuers": issuers, "anchors": anchors}))

    def _policy(self) -> None:
        policy = yaml.safe_load((self.data / "policy.yaml").read_text())
        base = default_policies()["shop-checkout"]
        agent = copy.deepcopy(base)
        agent.pop("identity")
        agent["mandate"]["accepted_issuers"] = [MANDATES_ISS]
        stepup = copy.deepcopy(base)
        stepup["mandate"]["accepted_issuers"] = [MANDATES_ISS]
        stepup["identity"]["accepted_issuers"] = [EKYC_ISS]
        stepup["identity"]["required_when"] = [{"always": True}]
        status = copy.deepcopy(agent)
        status["mandate"]["status_required"] = True
        policy["policies"].update({POLICY: agent, STEPUP_POLICY: stepup, STATUS_POLICY: status})
        policy["resources"] = {
            RESOURCE: {"policy": POLICY},
            STEPUP_RESOURCE: {"policy": STEPUP_POLICY},
        }
        (self.data / "policy.yaml").write_text(yaml.safe_dump(policy))

    def _baseline(self) -> None:
        """The human's identity and the agent's main mandate, used once honestly - so every
        case checks counters that are not empty."""
        self.identity = issue_credential(self.wallet, "identity", now=now(), holder="human")
        self.mandate = self.issue_mandate()
        view = self.checkout(self.mandate)
        assert view["decision"] == "allow", view
        # Watched by every case: a decided verification and a pending one (agent request
        # fetched), and the step-up principals' first-use counters.
        self.baseline_av = str(view["id"])
        bystander = self.agent_request(transaction_id="ord-bystander")
        assert bystander.av is not None
        self.bystander_av = bystander.av
        for holder in ("human", "stranger"):
            jkt = self.key(holder).thumbprint
            self.counter_keys.add(f"principal:{STEPUP_POLICY}:{digest(jkt)}")

    def _expiry_pool(self) -> None:
        """Transactions on the short-lived verifier, created now, used by the expiry cases once
        they have expired (so the whole corpus waits for expiry only once)."""
        self.expiring = {
            "answered": self.present(profile="identity", verifier=self.short),
            "unfetched": self.short_rp.create(profile="identity"),
            "agent": self.agent_request(verifier=self.short),
        }

    def close(self) -> None:
        for closer in (
            getattr(getattr(self, "rp", None), "close", None),
            getattr(getattr(self, "short_rp", None), "close", None),
            getattr(getattr(self, "store", None), "close", None),
            *(v.stop for v in self.verifiers),
            getattr(self.resource_server, "stop", None),
            self.host.stop,
            self.canary.stop,
            self.http.close,
        ):
            if closer is None:
                continue
            with contextlib.suppress(Exception):
                result = closer()
                if asyncio.iscoroutine(result):
                    asyncio.run(result)

    # ------------------------------------------------------------------ credentials

    def key(self, holder: str) -> SigningKey:
        return self.wallet.key(holder, create=True)

    def issue_mandate(
        self,
        grant: MandateGrant | None = None,
        *,
        holder: str = "agent",
        issuer: str = "mandates",
        principal: str = "human",
        edit: Callable[[dict[Any, Any]], None] | None = None,
        status: Mapping[str, Any] | None = None,
    ) -> StoredCredential:
        """A mandate for ``holder``'s key; ``edit`` changes the claims before signing."""
        source = self.wallet.issuer(issuer)
        if status is None and issuer == "mandates" and edit is None:
            cred = issue_credential(
                self.wallet, "mandate", now=now(), holder=holder, principal=principal, grant=grant
            )
        else:
            claims = mandate_claims(
                grant or MandateGrant(),
                iss=source.iss,
                now=now(),
                principal_jkt=principal_jkt(self.wallet, principal),
                status=status,
            )
            if edit is not None:
                edit(claims)
            issuance = source.issue(claims, holder_jwk=self.key(holder).public_jwk)
            cred = self.wallet.add_credential(
                kind="mandate", issuance=issuance, holder=holder, issued_at=now()
            )
        self.counter_keys.add(self.counter_key(cred))
        return cred

    def counter_key(self, mandate: StoredCredential) -> str:
        """Where the verifier counts this mandate's uses and spend."""
        return counter_key({"iss": mandate.iss, "claims": full_mandate(mandate)})

    def issue_identity(
        self,
        subject: IdentitySubject | None = None,
        *,
        holder: str = "human",
        issuer: str = "ekyc",
        status: Mapping[str, Any] | None = None,
        edit: Callable[[dict[Any, Any]], None] | None = None,
        header: Mapping[str, Any] | None = None,
    ) -> StoredCredential:
        source = self.wallet.issuer(issuer)
        claims = identity_claims(
            subject or IdentitySubject(), iss=source.iss, now=now(), status=status
        )
        if edit is not None:
            edit(claims)
        issuance = source.issue(claims, holder_jwk=self.key(holder).public_jwk, header=header)
        return self.wallet.add_credential(
            kind="identity", issuance=issuance, holder=holder, issued_at=now()
        )

    def status_list(
        self,
        statuses: Mapping[int, int],
        *,
        issuer: str = "ekyc",
        size: int = 1024,
        bits: int = 2,
        claims: Mapping[str, Any] | None = None,
        header: Mapping[str, Any] | None = None,
        key: SigningKey | None = None,
        media: str = "application/statuslist+jwt",
        raw: Callable[[str], bytes] | None = None,
    ) -> str:
        """Serve a status list of our own at a fresh URI (so no verifier cache interferes);
        ``claims``/``header`` change the token, ``raw(uri)`` replaces it entirely."""
        uri = self.host.url(f"/status-case/{secrets.token_hex(6)}")
        signer = key or self.wallet.issuer(issuer).key

        def token() -> bytes:
            if raw is not None:
                return raw(uri)
            values = [0] * size
            for idx, value in statuses.items():
                values[idx] = value
            payload: dict[str, Any] = {
                "sub": uri,
                "iat": now(),
                "exp": now() + 3600,
                "ttl": 60,
                "status_list": {"bits": bits, "lst": encode_status_list(values, bits)},
            }
            payload.update(claims or {})
            payload = {k: v for k, v in payload.items() if v is not None}
            return signer.sign_jws({"typ": "statuslist+jwt", **(header or {})}, payload).encode()

        self.host.serve(uri.split(str(self.iport), 1)[1], token, media)
        return uri

    def crafted(
        self,
        *,
        key: SigningKey | None = None,
        header: Mapping[str, Any] | None = None,
        claims: Mapping[str, Any] | None = None,
        drop: Sequence[str] = (),
        disclosures: Sequence[tuple[str, str]] | None = None,
        holder: str = "human",
        raw_payload: bytes | None = None,
    ) -> tuple[str, list[str]]:
        """A hand-made identity SD-JWT (issuer JWT, disclosures) signed with the ekyc key: by
        default ``given_name`` disclosable, which :data:`SIMPLE_QUERY` asks for. ``claims``
        are added to (or replace) the payload, ``disclosures`` replace the default one (their
        digests must then be in ``claims['_sd']``), ``raw_payload`` signs exact bytes."""
        given = forge.disclosure("given_name", "Erika")
        chosen = list(disclosures) if disclosures is not None else [given]
        payload: dict[str, Any] = {
            "iss": EKYC_ISS,
            "vct": IDENTITY_VCT,
            "iat": now(),
            "exp": now() + 3600,
            "cnf": {"jwk": self.key(holder).public_jwk},
            "_sd_alg": "sha-256",
            "_sd": [d for _, d in chosen],
        }
        payload.update(claims or {})
        for name in drop:
            payload.pop(name, None)
        signer = key or self.wallet.issuer("ekyc").key
        head = {"alg": "ES256", "typ": "dc+sd-jwt", "kid": signer.kid, **(header or {})}
        head = {k: v for k, v in head.items() if v is not None}
        issuer_jwt = forge.signed(signer, head, raw_payload if raw_payload is not None else payload)
        return issuer_jwt, [e for e, _ in chosen]

    def disclose(
        self, cred: StoredCredential, query: Mapping[str, Any], query_id: str | None = None
    ) -> tuple[str, list[str]]:
        """What an honest wallet would disclose of ``cred`` for ``query`` (issuer JWT and the
        minimal disclosures), computed offline - to present it to *another* transaction."""
        parsed = DCQLQuery.parse(dict(query))
        chosen = select_presentation(parsed, match_credentials(parsed, [cred.held()]))
        match = chosen[query_id or parsed.credentials[0].id][0]
        return match.credential.issuer_jwt, [d.encoded for d in match.disclosures]

    def crafted_response(
        self,
        *,
        holder: str = "human",
        kb: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        edit: Callable[[str, list[str]], tuple[str, list[str]]] | None = None,
        **craft: Any,
    ) -> Attack:
        """A fresh presentation transaction answered with a hand-made credential
        (:meth:`crafted`), optionally ``edit``-ed after signing, bound by ``holder``'s KB-JWT."""
        live = self.present(dcql_query=dict(query or SIMPLE_QUERY), propose=False)
        issuer_jwt, disclosures = self.crafted(holder=holder, **craft)
        if edit is not None:
            issuer_jwt, disclosures = edit(issuer_jwt, disclosures)
        presentation = live.rebind(issuer_jwt, disclosures, self.key(holder), **(kb or {}))
        return live.respond(vp_token={"identity": [presentation]})

    def x5c(self, leaf: Any = None, *chain: Any) -> list[str]:
        return x5c_header([leaf or self.x5c_leaf, *(chain or (self.pki.intermediate,))])

    # ------------------------------------------------------------------ transactions

    def simulator(self, **opts: Any) -> WalletSimulator:
        return WalletSimulator(self.wallet, **opts)

    def present(
        self,
        *,
        credentials: Sequence[str] | None = None,
        holders: Sequence[str] | None = None,
        propose: bool = True,
        verifier: Verifier | None = None,
        **create: Any,
    ) -> Live:
        """Create a presentation (RP API), let the wallet fetch and verify its request and
        prepare the honest answer (without sending it)."""
        rp = self.short_rp if verifier is self.short else self.rp
        view = rp.create(**create)
        if credentials is None and holders is None:
            credentials = [self.identity.id, self.mandate.id]
        simulator = self.simulator(
            credentials=credentials, holders=holders if holders is not None else None
        )
        try:
            request = simulator.resolve(view["authorization_request_uri"])
            proposal = simulator.propose(request) if propose else None
        finally:
            simulator.http.close()
        return Live(self, view, request, proposal)

    def create_agent(
        self, *, policy: str = POLICY, action: Mapping[str, Any] | None = None, **changes: Any
    ) -> dict[str, Any]:
        body = {"policy": policy, "action": self.action(action, **changes)}
        response = self.rp.http.post("/v1/agent-verifications", json=body)
        assert response.status_code == 201, response.text
        view: dict[str, Any] = response.json()
        return view

    def action(self, action: Mapping[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
        raw = copy.deepcopy(dict(action or ACTION))
        raw.setdefault("mandate_jti", full_mandate(self.mandate)["jti"])
        raw.update(changes)
        AgentAction.model_validate(raw)
        return raw

    def agent_request(
        self,
        *,
        policy: str = POLICY,
        mandate: StoredCredential | None = None,
        holder: str = "agent",
        action: Mapping[str, Any] | None = None,
        verifier: Verifier | None = None,
        query: Callable[[DCQLQuery], DCQLQuery] | None = None,
        **changes: Any,
    ) -> Live:
        """An agent verification whose agent request the agent has fetched, with the answer a
        *reckless* agent would give (it presents whatever it is asked)."""
        mandate = mandate or self.mandate
        changes.setdefault("mandate_jti", full_mandate(mandate)["jti"])
        rp = self.short_rp if verifier is self.short else self.rp
        body = {"policy": policy, "action": self.action(action, **changes)}
        response = rp.http.post("/v1/agent-verifications", json=body)
        assert response.status_code == 201, response.text
        return self.answer_agent_request(response.json(), mandate, holder=holder, query=query)

    def answer_agent_request(
        self,
        view: Mapping[str, Any],
        mandate: StoredCredential,
        *,
        holder: str = "agent",
        query: Callable[[DCQLQuery], DCQLQuery] | None = None,
    ) -> Live:
        """Fetch the agent request of verification ``view`` and prepare the agent's answer
        (to the request as the agent reads it: ``query`` may change what it discloses)."""
        simulator = self.simulator(holders=[holder], credentials=[mandate.id])
        try:
            request = simulator.resolve(view["agent_request"]["authorization_request_uri"])
            asked = (
                request if query is None else replace(request, dcql_query=query(request.dcql_query))
            )
            proposal = simulator.propose(asked)
        finally:
            simulator.http.close()
        return Live(self, dict(view["agent_request"]), request, proposal, av=str(view["id"]))

    def human_request(
        self, av: str, *, holders: Sequence[str] = ("human",), credential: str | None = None
    ) -> Live:
        view = self.agent_view(av)
        assert "human_request" in view, view
        simulator = self.simulator(
            holders=list(holders), credentials=[credential] if credential else None
        )
        try:
            request = simulator.resolve(view["human_request"]["authorization_request_uri"])
            proposal = simulator.propose(request)
        finally:
            simulator.http.close()
        return Live(self, view["human_request"], request, proposal, av=av)

    def send_ok(self, attack: Attack) -> httpx.Response:
        response = self.send(attack)
        assert response.status_code == 200, response.text
        return response

    def checkout(
        self, mandate: StoredCredential, *, policy: str = POLICY, **changes: Any
    ) -> dict[str, Any]:
        """An honest agent checkout (set-up for counter cases); the final view."""
        live = self.agent_request(policy=policy, mandate=mandate, **changes)
        self.send_ok(live.respond())
        assert live.av is not None
        return self.agent_view(live.av)

    def agent_view(self, av: str) -> dict[str, Any]:
        response = self.rp.http.get(f"/v1/agent-verifications/{av}")
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view

    def audit(self, av: str) -> list[dict[str, Any]]:
        response = self.rp.http.get(f"/v1/agent-verifications/{av}/events")
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["events"]
        return events

    def expired(self, kind: str) -> Any:
        """A transaction from the expiry pool, once expired (read, so it *is* expired)."""
        item = self.expiring[kind]
        view = item.view if isinstance(item, Live) else item
        time.sleep(max(0.0, view["expires_at"] + 1.1 - time.time()))
        if isinstance(item, Live) and item.av is not None:
            assert self.agent_view(item.av)["decision"] == "deny"
        else:
            assert self.short_rp.get(view["id"]).json()["status"] == "expired"
        return item

    # ------------------------------------------------------------------ sending, snapshots

    def send(self, attack: Attack) -> httpx.Response:
        content: Any = attack.content
        if attack.chunks is not None:
            chunks = list(attack.chunks)

            def stream() -> Iterator[bytes]:
                yield from chunks

            content = stream()
        return self.http.request(
            attack.method, attack.url, headers=attack.headers, content=content, params=attack.params
        )

    def record(self, tx_id: str) -> dict[str, Any] | None:
        """The stored record with this id, whatever its kind (ids are random, so at most one
        kind holds it): presentations, agent verifications and OAuth grants are all watched."""

        async def read() -> Transaction | None:
            for kind in RecordKind:
                tx = await self.store.get(tx_id, kind=kind)
                if tx is not None:
                    return tx
            return None

        tx = asyncio.run(read())
        return None if tx is None else json.loads(tx.to_json())

    def counters(self) -> dict[str, dict[str, int]]:
        async def read() -> dict[str, dict[str, int]]:
            return {key: await self.store.get_counters(key) for key in sorted(self.counter_keys)}

        return asyncio.run(read())

    def metrics(self) -> Counter[tuple[str, ...]]:
        totals: Counter[tuple[str, ...]] = Counter()
        for verifier in self.verifiers:
            text = self.http.get(f"{verifier.url}/metrics").text
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    name, labels, value = sample.name, sample.labels, sample.value
                    if name == "agentvp_presentations_created_total":
                        totals[("created",)] += int(value)
                    elif name == "agentvp_presentations_finished_total":
                        totals[("finished", labels["status"], labels["code"])] += int(value)
                    elif name == "agentvp_agent_decisions_total":
                        totals[("decisions", labels["decision"], labels["reason"])] += int(value)
                    elif name == "agentvp_http_request_duration_seconds_count" and labels[
                        "status"
                    ].startswith("5"):
                        totals[("5xx", labels["route"], labels["status"])] += int(value)
        return +totals


@dataclass
class Snapshot:
    records: dict[str, dict[str, Any] | None]
    views: dict[str, dict[str, Any]]
    audits: dict[str, list[dict[str, Any]]]
    counters: dict[str, dict[str, int]]
    metrics: Counter[tuple[str, ...]]
    canary: int
    rp_views: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    tool_runs: int = 0  # tool calls the protected resource's application ran


PRESENTATIONS = ("presentation", "agent", "human")


def watched(world: World, attack: Attack) -> tuple[list[str], list[str]]:
    """Store ids and agent verifications to snapshot (the target's parent included)."""
    ids = list(dict.fromkeys([*attack.watch, *([attack.target] if attack.target else [])]))
    agents = [*attack.agents, world.baseline_av, world.bystander_av]
    for tx_id in ids:
        record = world.record(tx_id)
        if record and record.get("parent_id") and record.get("purpose") in ("agent", "human"):
            agents.append(record["parent_id"])
    agents = list(dict.fromkeys(agents))
    return list(dict.fromkeys([*ids, *agents])), agents


def snapshot(world: World, ids: Sequence[str], agents: Sequence[str]) -> Snapshot:
    views = {}
    for av in agents:
        view = world.agent_view(av)
        views[av] = {k: view.get(k) for k in ("decision", "reasons", "details", "receipt")}
    records = {i: world.record(i) for i in ids}
    rp_views = {}
    for tx_id, record in records.items():
        if record is not None and record.get("purpose") in PRESENTATIONS:
            # what the relying party sees (same-device results stay locked: no code is sent)
            response = world.rp.get(tx_id)
            rp_views[tx_id] = (response.status_code, response.json())
    return Snapshot(
        records=records,
        views=views,
        audits={av: world.audit(av) for av in agents},
        counters=world.counters(),
        metrics=world.metrics(),
        canary=world.canary.count,
        rp_views=rp_views,
        tool_runs=world.resource_server.app.count() if world.resource_server else 0,
    )


def _delta(before: Counter[tuple[str, ...]], after: Counter[tuple[str, ...]]) -> dict[Any, int]:
    keys = set(before) | set(after)
    return {k: after[k] - before[k] for k in keys if after[k] != before[k]}


def _event(event: Mapping[str, Any]) -> tuple[Any, ...]:
    kind = event["type"]
    if kind == "response_received":
        return (kind, event.get("role"), event.get("status"), event.get("code"))
    if kind == "rule":
        return (kind, event.get("rule"), event.get("outcome"), tuple(event.get("codes") or ()))
    if kind == "decision":
        return (kind, event.get("decision"), tuple(event.get("reasons") or ()))
    return (kind,)


def _appended(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    assert after[: len(before)] == before, "earlier audit events changed"
    assert verify_chain(after) == [], verify_chain(after)
    return [_event(e) for e in after[len(before) :]]


def _changed(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> set[str]:
    assert before is not None and after is not None
    return {k for k in set(before) | set(after) if before.get(k) != after.get(k)}


def _unchanged(before: Snapshot, after: Snapshot, metrics: Mapping[Any, int]) -> None:
    """Nothing a refused (or ignored) request may not change did."""
    assert after.records == before.records, "a refused request changed a transaction"
    assert after.rp_views == before.rp_views, "a refused request changed an RP API view"
    assert after.views == before.views, "a refused request changed an agent verification"
    assert after.audits == before.audits, "a refused request added audit events"
    assert after.counters == before.counters, "a refused request changed counters"
    assert after.tool_runs == before.tool_runs, "a refused request ran a tool"
    assert metrics == {}, metrics


def judge(
    world: World,
    case: Case,
    attack: Attack,
    response: httpx.Response,
    before: Snapshot,
    after: Snapshot,
) -> None:
    """Assert the response and exactly the state change the expectation allows."""
    expect = case.expect
    assert response.status_code < 500, f"{response.status_code}: {response.text}"
    assert after.canary == before.canary, "the canary listener was contacted"
    metrics = _delta(before.metrics, after.metrics)
    assert not any(k[0] == "5xx" for k in metrics), metrics
    if isinstance(expect, Refused):
        assert response.status_code == expect.status, response.text
        body = response.json()
        assert body.get("error") == expect.error, body
        assert expect.fragment in body.get("error_description", ""), body
        assert "no-store" in response.headers.get("cache-control", ""), response.headers
        _unchanged(before, after, metrics)
        return
    if isinstance(expect, Ignored):
        assert response.status_code == expect.status, response.text
        assert response.content == b"", response.text
        assert "no-store" in response.headers.get("cache-control", ""), response.headers
        _unchanged(before, after, metrics)
        return
    if isinstance(expect, Served):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/oauth-authz-req+jwt")
        assert attack.target is not None
        tx_before, tx_after = before.records[attack.target], after.records[attack.target]
        assert _changed(tx_before, tx_after) <= {"status", "wallet_nonce", "version"}
        assert tx_before is not None and tx_after is not None
        assert (tx_before["status"], tx_after["status"]) == ("pending", "request_retrieved")
        assert after.counters == before.counters
        assert metrics == {}, metrics
        return
    # processed: the response was attributable and made its transaction final
    assert attack.target is not None, "a processed case names its target transaction"
    assert response.status_code == 200, response.text
    assert "no-store" in response.headers.get("cache-control", "")
    body = response.json()
    target_before, target_after = before.records[attack.target], after.records[attack.target]
    assert target_before is not None and target_after is not None
    dc_api = target_after["flow"] == "dc_api"  # no request fetch; answered with the final view
    assert target_before["status"] == ("pending" if dc_api else "request_retrieved"), target_before
    if dc_api:
        assert body["id"] == attack.target and body["status"] == target_after["status"], body
        assert body.get("error") == target_after.get("error"), body
    elif target_after["flow"] == "same_device" and target_after.get("redirect_uri"):
        assert set(body) == {"redirect_uri"} and "response_code=" in body["redirect_uri"], body
    else:
        assert body == {}, body
    assert target_after["version"] == target_before["version"] + 1
    av = (
        target_after.get("parent_id") if target_after.get("purpose") in ("agent", "human") else None
    )
    for tx_id, record in before.records.items():
        if tx_id not in (attack.target, av):
            assert after.records[tx_id] == record, f"{tx_id} changed"
            assert after.rp_views.get(tx_id) == before.rp_views.get(tx_id), f"{tx_id} changed"
    status, seen = after.rp_views[attack.target]
    if target_after["flow"] == "same_device":  # status alone; the outcome needs the code
        assert status == 200 and seen["status"] == target_after["status"], seen
        assert "result" not in seen and "error" not in seen, seen
    else:
        assert status == 200 and seen["status"] == target_after["status"], seen
        assert seen.get("error") == target_after.get("error"), seen
    for other in before.views:
        if other != av:
            assert after.views[other] == before.views[other], f"verification {other} changed"
            assert after.audits[other] == before.audits[other], f"audit of {other} changed"
    role = target_after.get("purpose")
    if isinstance(expect, Rejected):
        assert target_after["status"] == "rejected", target_after
        assert target_after["error"]["code"] == expect.code, target_after["error"]
        assert expect.fragment in target_after["error"]["detail"], target_after["error"]
        allowed = {"status", "error", "version", "response_code_hash"}
        assert _changed(target_before, target_after) <= allowed
        assert after.counters == before.counters, "a rejected presentation changed counters"
        wanted = {("finished", "rejected", expect.code): 1}
        if av is not None:
            reason = expect.reason or expect.code
            wanted[("decisions", "deny", reason)] = 1
            assert after.views[av]["decision"] == "deny", after.views[av]
            assert after.views[av]["reasons"] == [reason], after.views[av]
            # A failed step-up is judged after the agent's mandate passed its rules.
            passed = [("rule", "mandate", "pass", ())] if role == "human" else []
            assert _appended(before.audits[av], after.audits[av]) == [
                ("response_received", role, "rejected", expect.code),
                *passed,
                ("decision", "deny", (reason,)),
            ]
        assert metrics == wanted, metrics
        return
    assert target_after["status"] == "verified", target_after
    assert _changed(target_before, target_after) <= {"status", "result", "version"}
    assert av is not None, "agent rules need an agent verification"
    received = ("response_received", role, "verified", None)
    if isinstance(expect, Denied):
        assert after.counters == before.counters, "a denied action changed counters"
        assert after.views[av]["decision"] == "deny", after.views[av]
        assert after.views[av]["reasons"] == list(expect.reasons), after.views[av]
        if expect.rule == "counters":
            rules = [
                ("rule", "mandate", "pass", ()),
                ("rule", "counters", "fail", expect.reasons),
            ]
        else:
            rules = [("rule", expect.rule, "fail", expect.reasons)]
        assert _appended(before.audits[av], after.audits[av]) == [
            received,
            *rules,
            ("decision", "deny", expect.reasons),
        ]
        wanted = {("finished", "verified", "none"): 1}
        wanted.update({("decisions", "deny", r): 1 for r in expect.reasons})
        assert metrics == wanted, metrics
        return
    assert isinstance(expect, Allowed)
    assert attack.mandate is not None
    assert after.views[av]["decision"] == "allow", after.views[av]
    spent = {k: v for k, v in after.counters.items() if v != before.counters.get(k)}
    old = before.counters.get(attack.mandate, {})
    assert spent == {
        attack.mandate: {
            "uses": old.get("uses", 0) + 1,
            "spent": old.get("spent", 0) + expect.spent,
        }
    }, spent
    events = _appended(before.audits[av], after.audits[av])
    assert [e[:3] for e in events] == [
        received[:3],
        ("rule", "mandate", "pass"),
        ("rule", "counters", "pass"),
        ("decision", "allow", ()),
    ], events
    assert metrics == {("finished", "verified", "none"): 1, ("decisions", "allow", "none"): 1}


def run_case(world: World, case: Case) -> None:
    attack = case.build(world)
    ids, agents = watched(world, attack)
    before = snapshot(world, ids, agents)
    response = world.send(attack)
    after = snapshot(world, ids, agents)
    judge(world, case, attack, response, before, after)
    if attack.after is not None:
        attack.after(response)
