"""HTTP load benchmark: complete cross-device OpenID4VP flows against ``agentvp serve``.

One flow is what a relying party and a wallet do for one presentation, over real HTTP:

  create   ``POST /v1/presentations {"profile": "identity"}`` (RP, API key)
  request  ``POST <request_uri>`` with ``wallet_nonce`` (``request_uri_method=post``); the
           wallet checks the request object's ES256 signature with the verifier's key and its
           ``wallet_nonce``, and reads ``nonce``, ``state``, ``client_id`` and the
           per-transaction encryption key
  response ``POST <response_uri>`` ``response=<JWE>``: a fresh KB-JWT (this transaction's
           ``nonce`` and ``client_id``) on the pre-built identity presentation (6 disclosures),
           encrypted ECDH-ES/A256GCM to this transaction's key (``direct_post.jwt``)
  result   ``GET /v1/presentations/{id}`` (RP) - must be ``verified`` with the disclosed name

N simulated wallets run flows concurrently on persistent HTTP/1.1 connections (a minimal
client on uvloop, so the generator costs as little CPU as possible: it shares the machine with
the server). The issuer-signed SD-JWT and disclosures are built once; the KB-JWT and the JWE
are made per flow. Per configuration it reports flows/s, p50/p95/p99 per step and per flow,
server CPU seconds per flow (all server processes, and redis-server separately), server RSS,
the load generator's own CPU, and writes ``bench/results/<name>.json`` and ``<name>.png``.
Server CPU per flow is also given in units of one ES256 verification on ``cryptography``: the
median of short probes taken every second inside the window (the host's speed moves by a third
within minutes, so a unit measured at another moment is off by as much); the unit measured
right after the window, as before 2026-12-04's round 11, is printed beside it.

Two load shapes per configuration:

- ``saturated``: every wallet starts its next flow as soon as the last one ends (closed loop):
  the most flows/s the machine sustains. Latency there is queueing by construction
  (Little's law: mean flow time = wallets / throughput).
- ``at-rate``: flows start at a fixed rate (default 300/s, the target), each taken by a free
  wallet of the N; flow time counts from the scheduled start, so a backlog shows up in it.

Then pending-transaction scaling (1 k, 10 k, 100 k pending transactions preloaded through the
service's own ``create``) with Redis ``INFO memory`` per pending transaction, and, in the same
run, in-process verification of one identical presentation by agentvp, the reference
``sd-jwt`` verifier and ``polaris-oid4vp``. Never fails on time.

    python bench/load.py                      # everything (~8 minutes on 2 cores)
    python bench/load.py --quick              # short windows, 10 k scaling only
    python bench/load.py --configs sqlite --skip-scaling --skip-compare
    python bench/load.py --skip-scaling --skip-compare --repeat 3   # issue 20's three runs:
                                              # each figure's median, the targets judged on it
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import hashlib
import itertools
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

from verifier.policy.presets import load_policy_file
from verifier.protocol import (
    DCQLQuery,
    HeldCredential,
    StaticKeyResolver,
    match_credentials,
    select_presentation,
    verify_presentation,
)
from verifier.protocol.jose import (
    SigningKey,
    b64url_decode,
    b64url_encode,
    parse_unverified_jws,
    public_key_from_jwk,
)
from verifier.protocol.sdjwt.kb_jwt import create_kb_jwt
from verifier.setup.data_dir import init_data_dir
from wallet_sim.holder import present_with_reference
from wallet_sim.issuer import IdentitySubject, Issuer, identity_claims

sys.path.insert(0, str(Path(__file__).resolve().parent))
from redis_stats import RedisStats  # bench/redis_stats.py, next to this file
from repeats import TARGET_P99_MS, medians, verdict  # bench/repeats.py

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
STEPS = ("create", "request", "response", "result")
TARGET_FLOWS = 300.0
TARGET_BYTES_PER_TX = 4096
FORM = "application/x-www-form-urlencoded"
WALLET_METADATA = json.dumps(
    {"vp_formats_supported": {"dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"]}}},
    separators=(",", ":"),
)
CLK_TCK = os.sysconf("SC_CLK_TCK")
# 10.0.0.1, 10.0.0.2, ...: one address per flow (16 M before they repeat).
ADDRESSES = (f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}" for n in itertools.count(1))


# ---------------------------------------------------------------------------------------------
# A minimal HTTP/1.1 keep-alive client (Content-Length bodies only, which is what uvicorn sends)


class HTTPError(Exception):
    pass


class Connection(asyncio.Protocol):
    """One persistent connection; one request in flight at a time."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(lambda: cls(f"{host}:{port}"), host, port)
        return conn

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(HTTPError(f"connection closed: {exc}"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].decode("latin-1").split("\r\n")
        length = -1
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        if length < 0:
            self.waiter.set_exception(HTTPError(f"no Content-Length: {head[0]}"))
            return
        total = end + 4 + length
        if len(self.buffer) < total:
            return
        body = bytes(self.buffer[end + 4 : total])
        del self.buffer[:total]
        self.waiter.set_result((int(head[0].split(" ", 2)[1]), body))

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: str = ""
    ) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{headers}"
            f"Content-Length: {len(body)}\r\n\r\n".encode("latin-1")
            + body
        )
        return await self.waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


# ---------------------------------------------------------------------------------------------
# The wallet side, pre-built


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

    async def step(self, name: str, times: dict[str, float], call: Any) -> tuple[int, bytes]:
        start = time.perf_counter()
        answer: tuple[int, bytes] = await call
        times[name] = time.perf_counter() - start
        return answer

    async def flow(self, scheduled: float) -> None:
        times: dict[str, float] = {}
        status, body = await self.step(
            "create",
            times,
            self.rp.request(
                "POST", "/v1/presentations", b'{"profile":"identity"}', self.rp_headers
            ),
        )
        if status != 201:
            raise HTTPError(f"create: {status} {body[:200]!r}")
        view = json.loads(body)
        wallet_nonce = os.urandom(16).hex()
        # Each flow is another phone: its own address, as a reverse proxy in front of the
        # verifier reports it (per-client rate limits are about clients, not the verifier).
        phone = next(ADDRESSES)
        form = urlencode({"wallet_metadata": WALLET_METADATA, "wallet_nonce": wallet_nonce})
        status, token = await self.step(
            "request",
            times,
            self.wallet.request(
                "POST",
                urlsplit(view["request_uri"]).path,
                form.encode(),
                f"Content-Type: {FORM}\r\nAccept: application/oauth-authz-req+jwt\r\n"
                f"X-Forwarded-For: {phone}\r\n",
            ),
        )
        if status != 200:
            raise HTTPError(f"request: {status} {token[:200]!r}")
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
        status, body = await self.step(
            "response",
            times,
            self.wallet.request(
                "POST",
                urlsplit(claims["response_uri"]).path,
                urlencode({"response": jwe}).encode(),
                f"Content-Type: {FORM}\r\nX-Forwarded-For: {phone}\r\n",
            ),
        )
        if status != 200:
            raise HTTPError(f"response: {status} {body[:200]!r}")
        status, body = await self.step(
            "result",
            times,
            self.rp.request("GET", f"/v1/presentations/{view['id']}", b"", self.rp_headers),
        )
        result = json.loads(body)
        if status != 200 or result.get("status") != "verified":
            raise HTTPError(f"result: {status} {body[:300]!r}")
        given = result["result"]["credentials"]["identity"][0]["claims"]["verified_claims"]
        if given["claims"]["given_name"] != "Erika":
            raise HTTPError("result: wrong claims")
        if self.stats.recording:
            for name, value in times.items():
                self.stats.steps[name].append(value)
            self.stats.flows.append(time.perf_counter() - scheduled)


# ---------------------------------------------------------------------------------------------
# Processes: redis-server, agentvp serve; their CPU and memory


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def wait_quiet(limit: float, threshold: float = 0.25) -> float:
    """Wait (at most ``limit`` seconds) until the machine is idle: other people's processes on
    a shared machine would be measured as our latency. Returns the busy share last seen."""
    deadline = time.monotonic() + limit
    while True:
        busy0, total0 = machine_busy()
        time.sleep(2.0)
        busy1, total1 = machine_busy()
        share = (busy1 - busy0) / max(1, total1 - total0)
        if share < threshold or time.monotonic() > deadline:
            return round(share, 3)


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not os.access(binary, os.X_OK):
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(workdir)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc, "redis-server")
        import redis  # noqa: PLC0415

        self.client = redis.Redis(port=self.port, decode_responses=True)
        self.stats = RedisStats(self.url(0))

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def used_memory(self) -> int:
        gc.collect()
        return int(self.client.info("memory")["used_memory"])

    def cpu(self) -> float:
        info = self.client.info("cpu")
        return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])

    def stop(self) -> None:
        self.client.close()
        self.stats.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Server:
    """``agentvp serve`` in its own session (process group), stopped by its id."""

    def __init__(self, data_dir: Path, port: int, store_url: str, workers: int) -> None:
        self.port = port
        env = {
            **os.environ,
            "AGENTVP_DATA_DIR": str(data_dir),
            "AGENTVP_STORE_URL": store_url,
            "AGENTVP_PUBLIC_URL": f"http://127.0.0.1:{port}",
            # The load generator stands for a reverse proxy: X-Forwarded-For names the phone.
            "AGENTVP_TRUSTED_PROXIES": "127.0.0.1",
            "FORWARDED_ALLOW_IPS": "127.0.0.1",
        }
        self.log = data_dir / f"server-{port}.log"
        argv = [sys.executable, "-m", "verifier.cli", "serve", "--data-dir", str(data_dir)]
        argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_port(port, self.proc, "agentvp serve")
        time.sleep(1.0 if workers > 1 else 0.2)  # let every worker import and bind

    def pids(self) -> list[int]:
        return descendants(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# ---------------------------------------------------------------------------------------------
# Running a load shape


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {
        "n": len(ordered),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
        "p50_ms": pick(0.50),
        "p95_ms": pick(0.95),
        "p99_ms": pick(0.99),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


async def probing(end: float, probe: Callable[[], float] | None, units: list[float]) -> None:
    """Sleep until the loop's time ``end``, with a ``probe`` every :data:`PROBE_EVERY` seconds
    (its results appended to ``units``)."""
    loop = asyncio.get_running_loop()
    while probe is not None and loop.time() + PROBE_EVERY < end:
        await asyncio.sleep(PROBE_EVERY)
        units.append(probe())
    await asyncio.sleep(max(0.0, end - loop.time()))


async def drive(
    pre: Prebuilt,
    port: int,
    *,
    wallets: int,
    rate: float,
    warmup: float,
    duration: float,
    sample: Callable[[], dict[str, float]],
    probe: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """Run one load shape; ``sample`` reads server-side counters at the window's edges;
    ``probe`` (an ES256 verification's cost, see :func:`es256_probe`) runs every
    :data:`PROBE_EVERY` seconds inside the window."""
    stats = Stats()
    pool = []
    for _ in range(wallets):
        rp = await Connection.open("127.0.0.1", port)
        wallet = await Connection.open("127.0.0.1", port)
        pool.append(Wallet(pre, rp, wallet, stats))
    loop = asyncio.get_running_loop()
    start = loop.time()
    stop_at = start + warmup + duration
    queue: asyncio.Queue[float] = asyncio.Queue()

    async def closed(wallet: Wallet) -> None:
        while loop.time() < stop_at:
            await run(wallet, time.perf_counter())

    async def open_loop(wallet: Wallet) -> None:
        while True:
            scheduled = await queue.get()
            if scheduled < 0:
                return
            await run(wallet, scheduled)

    async def run(wallet: Wallet, scheduled: float) -> None:
        try:
            await wallet.flow(scheduled)
        except (HTTPError, KeyError, ValueError) as exc:
            if stats.recording:
                stats.error(str(exc)[:80])

    async def schedule() -> None:
        interval, k = 1.0 / rate, 0
        origin = time.perf_counter()
        while loop.time() < stop_at:
            due = origin + k * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait(due)
            k += 1
        for _ in pool:
            queue.put_nowait(-1.0)

    units: list[float] = []

    async def window() -> dict[str, float]:
        await asyncio.sleep(warmup)
        stats.recording = True
        before = sample()
        await probing(loop.time() + duration, probe, units)
        stats.recording = False
        after = sample()
        return {k: after.get(k, 0.0) - before[k] for k in before} | {"rss": after["rss"]}

    tasks = [asyncio.ensure_future(closed(w) if rate <= 0 else open_loop(w)) for w in pool]
    if rate > 0:
        tasks.append(asyncio.ensure_future(schedule()))
    counters = await window()
    await asyncio.gather(*tasks)
    for member in pool:
        member.rp.close()
        member.wallet.close()
    return summary(stats, counters, wallets, rate, units)


def summary(
    stats: Stats, counters: dict[str, float], wallets: int, rate: float, units: list[float]
) -> dict[str, Any]:
    flows = len(stats.flows)
    elapsed = counters["wall"]

    def per_flow(value: float) -> float | None:
        return round(value / flows, 6) if flows else None

    return {
        "shape": "saturated" if rate <= 0 else "at-rate",
        "wallets": wallets,
        "offered_rate": rate if rate > 0 else None,
        "window_s": round(elapsed, 2),
        "flows": flows,
        "flows_per_s": round(flows / elapsed, 1),
        "errors": stats.errors,
        "flow": percentiles(stats.flows),
        "steps": {name: percentiles(values) for name, values in stats.steps.items()},
        "server_cpu_s_per_flow": per_flow(counters["server_cpu"]),
        "redis_cpu_s_per_flow": per_flow(counters["redis_cpu"]),
        "client_cpu_s_per_flow": per_flow(counters["client_cpu"]),
        "server_cpu_cores": round(counters["server_cpu"] / elapsed, 2),
        "redis_cpu_cores": round(counters["redis_cpu"] / elapsed, 2),
        "client_cpu_cores": round(counters["client_cpu"] / elapsed, 2),
        "machine_busy": round(counters["busy"] / counters["jiffies"], 3),
        # Everything else on the machine (other processes, the kernel's own work).
        "other_cpu_cores": round(
            (
                counters["busy"] / CLK_TCK
                - counters["server_cpu"]
                - counters["redis_cpu"]
                - counters["client_cpu"]
            )
            / elapsed,
            2,
        ),
        "server_rss_mb": round(counters["rss"] / 2**20, 1),
        **redis_per_flow(counters, flows),
        "server_cpu_cores_per_process": sorted(
            (round(v / elapsed, 2) for k, v in counters.items() if k.startswith("cpu:")),
            reverse=True,
        ),
        # the unit's probes inside the window (es256_probe); their median is the run's unit
        **(
            {"es256_verify_us_in_window": round(statistics.median(units), 1)}
            | {"es256_probes_in_window": len(units)}
            if units
            else {}
        ),
    }


def redis_per_flow(counters: dict[str, float], flows: int) -> dict[str, Any]:
    """Redis commands and network bytes per flow (empty without Redis)."""
    if "redis_cmds" not in counters or not flows:
        return {}
    by_name = {k[4:]: v / flows for k, v in counters.items() if k.startswith("cmd:") and v}
    return {
        "redis_commands_per_flow": round(counters["redis_cmds"] / flows, 2),
        "redis_master_cpu_s_per_flow": round(counters["redis_cpu_masters"] / flows, 6),
        "redis_commands_by_name_per_flow": {
            k: round(v, 2) for k, v in sorted(by_name.items(), key=lambda kv: -kv[1])
        },
        "redis_net_in_bytes_per_flow": round(counters["redis_net_in"] / flows),
        "redis_net_out_bytes_per_flow": round(counters["redis_net_out"] / flows),
    }


def sampler(server: Server, redis_stats: RedisStats | None) -> Callable[[], dict[str, float]]:
    def sample() -> dict[str, float]:
        pids = server.pids()
        busy, total = machine_busy()
        return {
            "wall": time.perf_counter(),
            "server_cpu": cpu_seconds(pids),
            "redis_cpu": 0.0,
            # Redis CPU (every data node), commands and network bytes (masters)
            **(redis_stats.sample() if redis_stats is not None else {}),
            "client_cpu": time.process_time(),
            "busy": busy,
            "jiffies": total,
            "rss": rss_bytes(pids),
            **{f"cpu:{pid}": cpu_seconds([pid]) for pid in pids},
        }

    return sample


# ---------------------------------------------------------------------------------------------
# Preloading pending transactions through the service's own create()


async def preload(data_dir: Path, store_url: str, count: int) -> float:
    """``count`` pending transactions, created by ``PresentationService.create``; seconds."""
    from verifier.app import build_service  # noqa: PLC0415
    from verifier.presentations.create import CreatePresentation  # noqa: PLC0415
    from verifier.settings import Settings  # noqa: PLC0415

    service = build_service(Settings(data_dir=data_dir, store_url=store_url))
    spec = CreatePresentation(profile="identity")
    start = time.perf_counter()
    try:
        done = 0
        while done < count:
            batch = min(256, count - done)
            await asyncio.gather(*(service.create(spec) for _ in range(batch)))
            done += batch
    finally:
        await service.close()
    return time.perf_counter() - start


# ---------------------------------------------------------------------------------------------
# Configurations


@dataclass(frozen=True)
class Config:
    name: str
    store: str  # "sqlite" | "redis"
    workers: int


CONFIGS = {
    "sqlite": Config("sqlite", "sqlite", 1),
    "redis": Config("redis", "redis", 1),
    "redis-2w": Config("redis-2w", "redis", 2),
}


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.port = free_port()
        self.data_dir = workdir / "verifier"
        api_key = init_data_dir(self.data_dir, public_url=f"http://127.0.0.1:{self.port}")[
            "api_key"
        ]
        os.environ["AGENTVP_DATA_DIR"] = str(self.data_dir)  # Settings() in this process
        os.environ["AGENTVP_CONFIG"] = str(self.data_dir / "config.yaml")
        self.pre = prebuild(self.data_dir, api_key)
        self.redis: RedisServer | None = None
        self.db_counter = 0
        # --store-url: the Redis configurations run on that Redis (a cluster, Sentinel, ...)
        self.external = RedisStats(args.store_url) if args.store_url else None
        self.prefix = ""  # the key prefix of the current external run
        self.probe = es256_probe()

    def redis_stats(self, config: Config) -> RedisStats | None:
        if config.store != "redis":
            return None
        if self.external is not None and not config.name.endswith("-scaling"):
            return self.external
        return self.redis.stats if self.redis is not None else None

    def store_url(self, config: Config) -> str:
        self.db_counter += 1
        if config.store == "sqlite":
            return f"sqlite:///{self.workdir / f'store-{self.db_counter}.db'}"
        if self.external is not None and not config.name.endswith("-scaling"):
            # A fresh key prefix per run: nothing on a shared cluster is ever flushed.
            self.prefix = f"bench{int(time.time())}x{self.db_counter}:"
            url: str = self.args.store_url
            if "+cluster://" in url or "+sentinel://" in url:
                return f"{url}{'&' if '?' in url else '?'}prefix={self.prefix}"
            self.prefix = "agentvp:"  # redis:// has no prefix option: give it an empty db
            return url
        if self.redis is None:
            self.redis = RedisServer(self.workdir)
        self.redis.client.flushall()  # one server, emptied before every run
        return self.redis.url(0)

    def serve(self, config: Config, store_url: str) -> Server:
        return Server(self.data_dir, self.port, store_url, config.workers)

    def shape(self, server: Server, config: Config, rate: float, duration: float) -> dict[str, Any]:
        redis_stats = self.redis_stats(config)
        idle = wait_quiet(self.args.wait_quiet) if self.args.wait_quiet > 0 else None
        run: dict[str, Any] = asyncio.run(
            drive(
                self.pre,
                self.port,
                wallets=self.args.wallets,
                rate=rate,
                warmup=self.args.warmup,
                duration=duration,
                sample=sampler(server, redis_stats),
                probe=self.probe,
            )
        )
        run["machine_busy_before"] = idle
        # The unit: the median of the probes inside the window, taken while the server ran
        # (the host's speed moves by a third within minutes); the same measured right after
        # the window, as rounds up to 10 did, is kept for comparison.
        run["es256_verify_us_after_window"] = round(es256_unit_us(), 1)
        run["es256_verify_us"] = run.get(
            "es256_verify_us_in_window", run["es256_verify_us_after_window"]
        )
        if run["server_cpu_s_per_flow"] is not None:
            run["server_cpu_es256_units_per_flow"] = round(
                run["server_cpu_s_per_flow"] * 1e6 / run["es256_verify_us"], 1
            )
        return run

    def configuration(self, config: Config) -> dict[str, Any]:
        store_url = self.store_url(config)
        server = self.serve(config, store_url)
        spy = self.profile(server, config) if self.args.profile else None
        try:
            out: dict[str, Any] = {"config": config.name, "store": config.store}
            out["workers"] = config.workers
            out["saturated"] = self.shape(server, config, 0, self.args.duration)
            report(config.name, out["saturated"])
            if self.args.rate > 0:
                out["at_rate"] = self.shape(server, config, self.args.rate, self.args.duration)
                report(config.name, out["at_rate"])
        finally:
            server.stop()
        if config.store == "redis":
            out["redis_kept"] = self.kept(config)
            print(f"  kept {config.name}: {json.dumps(out['redis_kept'])}", flush=True)
        if spy is not None:
            spy[0].wait()
            out["profile"] = summarise_profile(spy[1])
            print(f"  profile {config.name}: {json.dumps(out['profile'])}", flush=True)
        return out

    def kept(self, config: Config) -> dict[str, Any]:
        """Redis memory the run left behind (MEMORY USAGE by key kind), per stored transaction."""
        stats = self.redis_stats(config)
        if stats is None:
            return {}
        kept = stats.kept(self.prefix if self.external is not None else "agentvp:")
        flows = kept["keys"].get("tx", 0)
        if flows:
            kept["bytes_per_tx"] = round(kept["total_bytes"] / flows)
            kept["bytes_per_tx_by_kind"] = {k: round(v / flows) for k, v in kept["bytes"].items()}
        return kept

    def profile(self, server: Server, config: Config) -> tuple[subprocess.Popen[bytes], Path]:
        """py-spy on every server process for the saturated window (collapsed stacks)."""
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.args.name}-{config.name}.pyspy.txt"
        argv = [str(Path(sys.executable).parent / "py-spy"), "record", "--subprocesses"]
        argv += ["-p", str(server.proc.pid), "-r", "100", "-f", "raw", "-o", str(path)]
        # --native: the compiled protocol modules are C functions, invisible to a Python-only
        # stack (their time would land on the Python caller). Native unwinding pauses the
        # process per sample, so a profiled run's flows/s are not comparable with others.
        argv += ["-d", str(int(self.args.warmup + self.args.duration)), "--native"]
        spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return spy, path

    def scaling(self, store: str, levels: list[int]) -> dict[str, Any]:
        config = Config(f"{store}-scaling", store, 1)
        rows = []
        for level in levels:
            store_url = self.store_url(config)
            before = self.redis.used_memory() if store == "redis" and self.redis else 0
            seconds = asyncio.run(preload(self.data_dir, store_url, level))
            row: dict[str, Any] = {"pending": level, "preload_s": round(seconds, 1)}
            if store == "redis" and self.redis is not None:
                grown = self.redis.used_memory() - before
                row["redis_bytes_per_pending_tx"] = round(grown / level)
                row["redis_keys"] = int(self.redis.client.dbsize())
            else:
                files = self.workdir.glob(f"store-{self.db_counter}.db*")
                row["sqlite_bytes_per_pending_tx"] = round(
                    sum(f.stat().st_size for f in files) / level
                )
            server = self.serve(config, store_url)
            try:
                run = self.shape(server, config, 0, self.args.scaling_duration)
            finally:
                server.stop()
            row.update(
                flows_per_s=run["flows_per_s"],
                flow_p99_ms=run["flow"].get("p99_ms"),
                server_cpu_s_per_flow=run["server_cpu_s_per_flow"],
                errors=run["errors"],
            )
            print(f"  {store} pending={level:>7}: {row}", flush=True)
            rows.append(row)
        best = max(r["flows_per_s"] for r in rows)
        worst = min(r["flows_per_s"] for r in rows)
        spread = round(1 - worst / best, 3) if best else None
        return {"store": store, "levels": rows, "spread": spread}

    def close(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.external is not None:
            self.external.close()


PROBE_EVERY = 1.0  # seconds between ES256 probes inside a window
PROBE_CALLS = 8  # floor calls per probe: 16 verifications, ~1 ms of the generator's loop


@functools.cache
def es256_floor() -> Callable[[], None]:
    """bench/verify.py's floor: its presentation's two ES256 verifications on ``cryptography``
    (the issuer JWT's and the KB-JWT's), everything else prepared once."""
    import verify  # noqa: PLC0415 - bench/verify.py (bench/ is on sys.path, above)

    presentation, issuer, _ = verify.build()
    floor: Callable[[], None] = verify.floor_fn(presentation, issuer)
    floor()
    return floor


def es256_probe() -> Callable[[], float]:
    """A probe for the ES256 unit inside a window: :func:`es256_floor` called
    :data:`PROBE_CALLS` times in this thread's CPU time, in µs per verification. It holds the
    generator's event loop ~1 ms a second: a flow in flight at that moment takes up to that
    much longer."""
    floor = es256_floor()

    def probe() -> float:
        start = time.thread_time_ns()
        for _ in range(PROBE_CALLS):
            floor()
        return (time.thread_time_ns() - start) / (2 * PROBE_CALLS) / 1000

    return probe


def es256_unit_us(rounds: int = 9) -> float:
    """One ES256 verification on ``cryptography`` (half of :func:`es256_floor`), in this
    process's CPU time, the median of ``rounds`` batches: measured right after a window, the
    unit server CPU per flow was given in until round 11 (the probes inside the window now)."""
    import verify  # noqa: PLC0415 - bench/verify.py (bench/ is on sys.path, above)

    floor = verify.interleaved_median_us(
        {"floor": (es256_floor(), 100)}, rounds, time.thread_time_ns
    )["floor"]
    return floor / 2


def report(name: str, run: dict[str, Any]) -> None:
    steps = " ".join(f"{s}={run['steps'][s].get('p99_ms')}" for s in STEPS)
    print(
        f"  {name:<9} {run['shape']:<9} {run['flows_per_s']:>7.1f} flows/s  "
        f"flow p50/p95/p99 {run['flow'].get('p50_ms')}/{run['flow'].get('p95_ms')}/"
        f"{run['flow'].get('p99_ms')} ms  step p99 {steps}  server {run['server_cpu_s_per_flow']}"
        f" s/flow = {run.get('server_cpu_es256_units_per_flow')} ES256-verify units of"
        f" {run['es256_verify_us']} us (after the window {run['es256_verify_us_after_window']}"
        f" us) ({run['server_cpu_cores']} cores)"
        f" client {run['client_cpu_cores']} cores  "
        f"rss {run['server_rss_mb']} MB  errors {sum(run['errors'].values())}",
        flush=True,
    )


# ---------------------------------------------------------------------------------------------
# In-process comparison on one identical presentation


def compare_in_process(rounds: int) -> dict[str, Any]:
    """agentvp vs the reference ``sd-jwt`` verifier vs ``polaris-oid4vp``, same input."""
    import verify  # noqa: PLC0415 - bench/verify.py builds the presentation and times

    presentation, issuer, _ = verify.build()
    out: dict[str, Any] = {"presentation_bytes": len(presentation), "disclosed": 6}
    keys = StaticKeyResolver({issuer.iss: [issuer.key.public_jwk]})
    reference_key = JWK(**issuer.key.public_jwk)

    def ours() -> None:
        verify_presentation(
            presentation, keys=keys, audience=verify.AUD, nonce=verify.NONCE, now=verify.NOW + 1
        )

    def reference() -> None:
        SDJWTVerifier(
            presentation, lambda i, h: reference_key, verify.AUD, verify.NONCE
        ).get_verified_payload()

    timings = {
        "floor_two_es256_us": verify.median_us(verify.floor_fn(presentation, issuer), rounds, 200),
        "agentvp_us": verify.median_us(ours, rounds, 200),
        "reference_sd_jwt_us": verify.median_us(reference, rounds, 50),
    }
    polaris = polaris_verifier(presentation, issuer)
    out["polaris"] = polaris["status"]
    if polaris["fn"] is not None:
        timings["polaris_oid4vp_us"] = verify.median_us(polaris["fn"], rounds, 50)
    out["timings_us"] = {k: round(v, 1) for k, v in timings.items()}
    base = timings["agentvp_us"]
    out["agentvp_over_floor"] = round(base / timings["floor_two_es256_us"], 3)
    out["reference_over_agentvp"] = round(timings["reference_sd_jwt_us"] / base, 2)
    if "polaris_oid4vp_us" in timings:
        out["polaris_over_agentvp"] = round(timings["polaris_oid4vp_us"] / base, 2)
    return out


def polaris_verifier(presentation: str, issuer: Issuer) -> dict[str, Any]:
    """Whether polaris-oid4vp verifies the presentation; a callable to time if it does."""
    try:
        from polaris_oid4vp import sdjwt as polaris  # type: ignore[import-untyped]  # noqa: PLC0415
        from polaris_oid4vp.sdjwt import (  # type: ignore[import-untyped]  # noqa: PLC0415
            verify_presentation as polaris_verify,
        )
    except ImportError as exc:
        return {"status": f"not installed: {exc}", "fn": None}
    import verify  # noqa: PLC0415 - bench/verify.py (bench/ is on sys.path, above)

    jwks = [{**issuer.key.public_jwk, "alg": "ES256", "use": "sig"}]

    def run() -> Any:
        return polaris_verify(
            presentation,
            expected_nonce=verify.NONCE,
            expected_audience=verify.AUD,
            issuer_jwks=jwks,
            now=verify.NOW + 1,
        )

    try:
        verdict = run()
    except Exception as exc:  # report whatever it does
        return {"status": f"raised {type(exc).__name__}: {exc}", "fn": None}
    version = getattr(polaris, "__version__", None) or package_version("polaris-oid4vp")
    if not getattr(verdict, "authentic", False):
        code, reason = getattr(verdict, "code", "?"), getattr(verdict, "reason", "?")
        return {"status": f"refused ({version}): {code}: {reason}", "fn": None}
    given = verdict.claims["verified_claims"]["claims"].get("given_name")
    return {"status": f"verified ({version}); given_name={given}", "fn": run}


# ---------------------------------------------------------------------------------------------
# Where the server's time goes (py-spy collapsed stacks -> share of samples per activity)

# The innermost frame that matches a category names the sample: "what was the server doing".
# A frame is "function (file:line)"; a compiled module's function is named as Cython names it
# ("SigningKey_generate" or "generate" for SigningKey.generate), so patterns allow both forms.
JOSE = r" \(verifier/protocol/jose/jwk\.py"
CATEGORIES = tuple(
    (label, re.compile(pattern))
    for label, pattern in (
        ("ES256 verify (issuer + KB-JWT)", r"_verify_ec|PublicKey[._]verify|^verify" + JOSE),
        ("JWE decrypt (ECDH-ES, AES-GCM)", r"decrypt_jwe"),
        ("request object: ES256 sign", r"SigningKey[._]sign\b|^sign(_jws)?" + JOSE),
        (
            "enc key generation",
            r"SigningKey[._](generate|to_jwk|from_private_key)|^(generate|to_jwk|from_private_key)"
            + JOSE,
        ),
        ("SD-JWT parse/reconstruct", r"reconstruct|decode_disclosure|split_sd_jwt|_Rebuilder"),
        ("SD-JWT VC/KB-JWT/DCQL checks", r"verify_presentation|verify_kb_jwt|verify_vp_token"),
        ("store (sqlite)", r"store/sqlite\.py"),
        ("store (redis client)", r"store/(redis|resp_client)\.py|redis/"),
        ("transaction (de)serialisation", r"to_json|from_json|to_fields|from_fields"),
        ("pydantic (request bodies)", r"model_validate|pydantic"),
        ("JSON responses", r"JSONResponse|render"),
        ("service logic", r"verifier/presentations/(service|create)\.py"),
        ("routes", r"verifier/routes/"),
        ("FastAPI/Starlette", r"fastapi/|starlette/"),
        ("uvicorn/httptools", r"uvicorn/|httptools"),
        ("logging", r"logging/"),
        ("event loop", r"uvloop|asyncio/"),
    )
)
CRYPTO_CATEGORIES = CATEGORIES[:4]
# A sample inside OpenSSL (cryptography's extension) whose stack names none of the crypto
# categories: OpenSSL's assembly has no unwind tables, so such a sample often lost its
# callers up to some Python frame, which must not take the blame.
CRYPTO_LEAF = re.compile(r"_rust\.abi3\.so|libcrypto")
UNWOUND = "cryptography, caller not unwound"


def summarise_profile(path: Path) -> dict[str, float]:
    counts: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if not number.isdigit():
            continue
        n = int(number)
        total += n
        frames = stack.split(";")
        in_crypto = bool(frames) and CRYPTO_LEAF.search(frames[-1]) is not None
        name = next(
            (
                label
                for frame in reversed(frames)
                for label, pattern in (CRYPTO_CATEGORIES if in_crypto else CATEGORIES)
                if pattern.search(frame)
            ),
            UNWOUND if in_crypto else "other",
        )
        counts[name] = counts.get(name, 0) + n
    return {k: round(v / total, 3) for k, v in sorted(counts.items(), key=lambda kv: -kv[1])}


# ---------------------------------------------------------------------------------------------
# Machine, chart, main


def machine() -> dict[str, Any]:
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1]
    versions: dict[str, str | None] = {}
    for dist in ("uvicorn", "uvloop", "httptools", "fastapi", "redis", "cryptography"):
        try:
            versions[dist] = package_version(dist)
        except PackageNotFoundError:
            versions[dist] = None
    redis_version = None
    binary = shutil.which("redis-server")
    if binary:
        redis_version = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem) / 2**20, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "packages": versions,
        "redis_server": redis_version,
    }


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    runs = results["configurations"]
    repeated = results["args"].get("repeat", 1) > 1
    names = [f"{r['config']} #{r['repeat']}" if repeated else r["config"] for r in runs]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    ax = axes[0]
    ax.bar(names, [r["saturated"]["flows_per_s"] for r in runs], color="#3b6ea5")
    ax.axhline(TARGET_FLOWS, color="#c0392b", linestyle="--", label="target 300 flows/s")
    ax.set_title(f"Saturated throughput ({results['args']['wallets']} wallets)")
    ax.set_ylabel("flows/s")
    ax.legend()
    ax = axes[1]
    width = 0.8 / len(STEPS)
    for i, step in enumerate(STEPS):
        values = [r.get("at_rate", r["saturated"])["steps"][step].get("p99_ms", 0) for r in runs]
        ax.bar([x + i * width for x in range(len(runs))], values, width, label=step)
    ax.axhline(TARGET_P99_MS, color="#c0392b", linestyle="--", label="target p99 50 ms")
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(runs))], names)
    rate = results["args"]["rate"]
    ax.set_title(f"p99 per step at {rate:g} flows/s offered")
    ax.set_ylabel("ms")
    ax.legend(fontsize=8)
    ax = axes[2]
    for scaling in results.get("scaling", []):
        levels = [row["pending"] for row in scaling["levels"]]
        ax.plot(
            levels,
            [row["flows_per_s"] for row in scaling["levels"]],
            marker="o",
            label=scaling["store"],
        )
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_title("Saturated throughput vs pending transactions")
    ax.set_xlabel("pending transactions")
    ax.set_ylabel("flows/s")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def configurations(bench: Bench, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Each configuration of ``--configs``, all of them ``--repeat`` times in turn."""
    entries = []
    for repeat in range(1, args.repeat + 1):
        if args.repeat > 1:
            print(f"run {repeat} of {args.repeat}", flush=True)
        for name in filter(None, args.configs.split(",")):
            entry = bench.configuration(CONFIGS[name])
            entry["repeat"] = repeat
            entries.append(entry)
    return entries


def judge_repeats(results: dict[str, Any], repeat: int) -> None:
    """With ``--repeat`` > 1: each figure's median (kept in ``results["medians"]``) and the
    targets judged on the medians, printed."""
    if repeat < 2 or not results["configurations"]:
        return
    table = results["medians"] = medians(results["configurations"])
    print(f"medians of {repeat} runs: {json.dumps(table)}")
    for line in verdict(table):
        print(f"  {line}")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--name", default="load", help="results file name (bench/results/NAME)")
    parser.add_argument("--configs", default="sqlite,redis,redis-2w")
    parser.add_argument("--wallets", type=int, default=64)
    parser.add_argument("--rate", type=float, default=TARGET_FLOWS, help="0: skip at-rate runs")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--scaling", default="1000,10000,100000")
    parser.add_argument("--scaling-stores", default="redis,sqlite")
    parser.add_argument("--scaling-duration", type=float, default=10.0)
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--skip-compare", action="store_true")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy --native the server in the saturated runs (slows it: flows/s not comparable)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=120.0,
        help="before each run, wait up to this long for the machine to be idle (0: never)",
    )
    parser.add_argument(
        "--store-url",
        default="",
        help="run the redis configurations on this store (redis+cluster://..., "
        "redis+sentinel://..., or an empty redis:// database) instead of a local redis-server",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the configurations N times in turn and print each figure's median "
        "and the targets judged on the medians",
    )
    parser.add_argument("--quick", action="store_true", help="5 s windows, 10 k scaling only")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat}: at least 1")
    if not args.name or "/" in args.name or args.name.startswith("."):
        # Checked first: a path here used to fail only after the whole run, at its last print.
        parser.error(f"--name {args.name!r}: a file name for bench/results/, not a path")
    return args


def main() -> None:
    args = arguments()
    if args.quick:
        args.duration, args.scaling_duration, args.scaling = 5.0, 5.0, "10000"
    try:
        import uvloop  # noqa: PLC0415

        uvloop.install()
    except ImportError:
        pass
    check_encryptor()
    results: dict[str, Any] = {
        "name": args.name,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "args": vars(args),
        "targets": {
            "flows_per_s": TARGET_FLOWS,
            "p99_ms": TARGET_P99_MS,
            "wallets": 64,
            "bytes_per_pending_tx": TARGET_BYTES_PER_TX,
        },
        "configurations": [],
    }
    print(f"machine: {results['machine']['cpu_model']}, {results['machine']['cores']} cores")
    with tempfile.TemporaryDirectory(prefix="agentvp-load-") as tmp:
        bench = Bench(args, Path(tmp))
        try:
            results["configurations"] = configurations(bench, args)
            if not args.skip_scaling:
                levels = [int(v) for v in args.scaling.split(",")]
                results["scaling"] = [
                    bench.scaling(store, levels) for store in args.scaling_stores.split(",")
                ]
        finally:
            bench.close()
    judge_repeats(results, args.repeat)
    if not args.skip_compare:
        results["in_process"] = compare_in_process(rounds=11)
        print(f"  in-process: {json.dumps(results['in_process'])}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{args.name}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    if results["configurations"]:
        chart(results, RESULTS / f"{args.name}.png")
        print(f"wrote bench/results/{args.name}.png")


if __name__ == "__main__":
    main()
