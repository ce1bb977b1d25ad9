"""One cross-device flow as a relying party and a wallet make it (bench/load.py's docstring
says which four requests): the wallet's credential built once, its JWE encrypted directly on
``cryptography``, each step timed."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from loadgen.client import Connection, HTTPError
from verifier.policy.presets import load_policy_file
from verifier.protocol import (
    DCQLQuery,
    HeldCredential,
    match_credentials,
    select_presentation,
)
from verifier.protocol.jose import (
    SigningKey,
    b64url_decode,
    b64url_encode,
    parse_unverified_jws,
    public_key_from_jwk,
)
from verifier.protocol.sdjwt.kb_jwt import create_kb_jwt
from wallet_sim.holder import present_with_reference
from wallet_sim.issuer import IdentitySubject, Issuer, identity_claims

STEPS = ("create", "request", "response", "result")


FORM = "application/x-www-form-urlencoded"
WALLET_METADATA = json.dumps(
    {"vp_formats_supported": {"dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"]}}},
    separators=(",", ":"),
)


# 10.0.0.1, 10.0.0.2, ...: one address per flow (16 M before they repeat).
ADDRESSES = (f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}" for n in itertools.count(1))


def encrypt_ecdh_es(plaintext: bytes, jwk: dict[str, Any], enc: str) -> str:
    """Compact JWE, ECDH-ES (Concat KDF, SHA-256) + AES-GCM (RFC 7518 §4.6, §5.3), directly on
    ``cryptography``: what ``encrypted_form`` does with jwcrypto, at a third of the CPU. Checked
    against jwcrypto's decryption at start-up (:func:`check_encryptor`)."""
    size = {"A128GCM": 16, "A256GCM": 32}[enc]
    curve = ec.SECP256R1()
    peer = ec.EllipticCurvePublicNumbers(
        int.from_bytes(b64url_decode(jwk["x"]), "big"),
        int.from_bytes(b64url_decode(jwk["y"]), "big"),
        curve,
    ).public_key()
    ephemeral = ec.generate_private_key(curve)
    shared = ephemeral.exchange(ec.ECDH(), peer)
    alg_id = enc.encode()
    other = struct.pack(">I", len(alg_id)) + alg_id + struct.pack(">III", 0, 0, size * 8)
    cek = hashlib.sha256(b"\x00\x00\x00\x01" + shared + other).digest()[:size]
    numbers = ephemeral.public_key().public_numbers()
    header = {
        "alg": "ECDH-ES",
        "enc": enc,
        "kid": jwk["kid"],
        "epk": {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url_encode(numbers.x.to_bytes(32, "big")),
            "y": b64url_encode(numbers.y.to_bytes(32, "big")),
        },
    }
    protected = b64url_encode(json.dumps(header, separators=(",", ":")).encode())
    iv = os.urandom(12)
    sealed = AESGCM(cek).encrypt(iv, plaintext, protected.encode("ascii"))
    return ".".join(
        (protected, "", b64url_encode(iv), b64url_encode(sealed[:-16]), b64url_encode(sealed[-16:]))
    )


def check_encryptor() -> None:
    """The bench's encryptor produces JWEs jwcrypto decrypts (an independent implementation)."""
    from jwcrypto import jwe, jwk  # noqa: PLC0415 - only for this check

    key = SigningKey.generate(kid="check")
    for enc in ("A128GCM", "A256GCM"):
        token = encrypt_ecdh_es(b'{"ok":true}', {**key.public_jwk, "kid": "check"}, enc)
        obj = jwe.JWE()
        obj.deserialize(token, key=jwk.JWK(**key.to_jwk()))
        assert obj.payload == b'{"ok":true}', enc


@dataclass
class Prebuilt:
    presented: str  # <issuer JWT>~<6 disclosures>~ chosen for the `identity` preset
    holder: SigningKey
    verifier_key: Any  # PublicKey of the request-object signer
    api_key: str


def prebuild(data_dir: Path, api_key: str) -> Prebuilt:
    """Issue the identity credential with the dev eKYC issuer; select its presentation once."""
    record = json.loads((data_dir / "demo" / "issuers" / "ekyc.json").read_text())
    issuer = Issuer(record["iss"], SigningKey.from_jwk(record["key"]))
    holder = SigningKey.generate(kid="holder")
    now = int(time.time())
    issuance = issuer.issue(
        identity_claims(IdentitySubject(), iss=issuer.iss, now=now - 60),
        holder_jwk=holder.public_jwk,
    )
    preset = load_policy_file(data_dir / "policy.yaml").presets["identity"]
    query = DCQLQuery.parse(preset.dcql_query)
    held = HeldCredential.from_issuance(issuance, id="identity")
    match = select_presentation(query, match_credentials(query, [held]))["identity"][0]
    signer = json.loads((data_dir / "verifier" / "signing_key.json").read_text())
    verifier_key = public_key_from_jwk({k: v for k, v in signer.items() if k != "d"})
    return Prebuilt(present_with_reference(match), holder, verifier_key, api_key)


# ---------------------------------------------------------------------------------------------
# One flow


@dataclass
class Stats:
    steps: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    flows: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    recording: bool = False

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


class Wallet:
    """A relying party connection and a wallet connection, reused flow after flow."""

    def __init__(self, pre: Prebuilt, rp: Connection, wallet: Connection, stats: Stats) -> None:
        self.pre = pre
        self.rp = rp
        self.wallet = wallet
        self.stats = stats
        self.rp_headers = (
            f"Authorization: Bearer {pre.api_key}\r\nContent-Type: application/json\r\n"
        )

    async def step(self, name: str, times: dict[str, float], call: Any, expect: int) -> bytes:
        """The body ``call`` answers, timed under ``name``; another status than ``expect``
        fails the flow."""
        start = time.perf_counter()
        status, body = await call
        times[name] = time.perf_counter() - start
        if status != expect:
            raise HTTPError(f"{name}: {status} {body[:200]!r}")
        return body  # type: ignore[no-any-return]

    async def flow(self, scheduled: float) -> None:
        times: dict[str, float] = {}
        body = await self.step(
            "create",
            times,
            self.rp.request(
                "POST", "/v1/presentations", b'{"profile":"identity"}', self.rp_headers
            ),
            201,
        )
        view = json.loads(body)
        wallet_nonce = os.urandom(16).hex()
        # Each flow is another phone: its own address, as a reverse proxy in front of the
        # verifier reports it (per-client rate limits are about clients, not the verifier).
        phone = next(ADDRESSES)
        form = urlencode({"wallet_metadata": WALLET_METADATA, "wallet_nonce": wallet_nonce})
        token = await self.step(
            "request",
            times,
            self.wallet.request(
                "POST",
                urlsplit(view["request_uri"]).path,
                form.encode(),
                f"Content-Type: {FORM}\r\nAccept: application/oauth-authz-req+jwt\r\n"
                f"X-Forwarded-For: {phone}\r\n",
            ),
            200,
        )
        jws = parse_unverified_jws(token.decode("ascii"), what="request object")
        if not self.pre.verifier_key.verify(jws.alg, jws.signing_input, jws.signature):
            raise HTTPError("request object signature does not verify")
        claims = json.loads(jws.payload)
        if claims["wallet_nonce"] != wallet_nonce:
            raise HTTPError("wallet_nonce not echoed")
        kb = create_kb_jwt(
            presented=self.pre.presented,
            holder_key=self.pre.holder,
            audience=claims["client_id"],
            nonce=claims["nonce"],
            iat=int(time.time()),
        )
        plaintext = json.dumps(
            {"vp_token": {"identity": [self.pre.presented + kb]}, "state": claims["state"]},
            separators=(",", ":"),
        ).encode()
        enc_key = claims["client_metadata"]["jwks"]["keys"][0]
        jwe = encrypt_ecdh_es(plaintext, enc_key, "A256GCM")
        body = await self.step(
            "response",
            times,
            self.wallet.request(
                "POST",
                urlsplit(claims["response_uri"]).path,
                urlencode({"response": jwe}).encode(),
                f"Content-Type: {FORM}\r\nX-Forwarded-For: {phone}\r\n",
            ),
            200,
        )
        body = await self.step(
            "result",
            times,
            self.rp.request("GET", f"/v1/presentations/{view['id']}", b"", self.rp_headers),
            200,
        )
        result = json.loads(body)
        if result.get("status") != "verified":
            raise HTTPError(f"result: not verified: {body[:300]!r}")
        given = result["result"]["credentials"]["identity"][0]["claims"]["verified_claims"]
        if given["claims"]["given_name"] != "Erika":
            raise HTTPError("result: wrong claims")
        if self.stats.recording:
            for name, value in times.items():
                self.stats.steps[name].append(value)
            self.stats.flows.append(time.perf_counter() - scheduled)
