"""The single-Redis store's own client (:mod:`verifier.store.resp_client`) against a real Redis:
pipelined replies reach their callers, credentials and the database come from the URL, and a
lost connection, a cancelled caller, a forgotten script or a read-only replica are handled."""

from __future__ import annotations

import asyncio
import datetime
import gc
import ipaddress
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from tests.conftest import free_port, redis_binary, stop_redis
from verifier.store import RedisStore, StoreUnavailableError, Transaction
from verifier.store.resp_client import RespClient
from verifier.store.resp_url import parse_resp_url

pytestmark = [pytest.mark.redis]

Spawn = Callable[[int | None], tuple[int, subprocess.Popen[bytes]]]


def new_tx() -> Transaction:
    hexes = [uuid.uuid4().hex for _ in range(4)]
    return Transaction(
        id=hexes[0], request_id=hexes[1], state=hexes[2], nonce=hexes[3], client_id="c"
    )


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[RespClient]:
    resp = RespClient(parse_resp_url(redis_url))
    try:
        yield resp
    finally:
        await resp.close()


@pytest.mark.anyio
async def test_concurrent_callers_each_get_their_own_reply(client: RespClient) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"

    async def round_trip(i: int) -> str:
        await client("SET", f"{prefix}{i}", f"value-{i}")
        reply: str = await client("GET", f"{prefix}{i}")
        return reply

    replies = await asyncio.gather(*(round_trip(i) for i in range(500)))
    assert replies == [f"value-{i}" for i in range(500)]


@pytest.mark.anyio
async def test_replies_keep_their_types(client: RespClient) -> None:
    key = f"test:{uuid.uuid4().hex}"
    assert await client("PING") == "PONG"
    assert await client("GET", key) is None
    assert await client("HSET", key, "a", "1", "b", "é") == 2
    assert await client("HGETALL", key) == ["a", "1", "b", "é"]
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await client("GET", key)


@pytest.mark.anyio
async def test_a_cancelled_caller_does_not_shift_later_replies(spawn_redis: Spawn) -> None:
    port, server = spawn_redis(None)
    client = RespClient(parse_resp_url(f"redis://127.0.0.1:{port}/0"), timeout=30)
    try:
        await client("SET", "a", "1")
        await client("SET", "b", "2")
        server.send_signal(signal.SIGSTOP)
        try:
            pending = asyncio.ensure_future(client("GET", "a"))
            await asyncio.sleep(0.05)  # written, its reply not yet read
            pending.cancel()
        finally:
            server.send_signal(signal.SIGCONT)
        assert await client("GET", "b") == "2"
        assert await client("GET", "a") == "1"
    finally:
        await client.close()


@pytest.mark.anyio
async def test_closing_while_connecting_fails_the_waiters_and_keeps_no_connection(
    spawn_redis: Spawn,
) -> None:
    port, server = spawn_redis(None)
    client = RespClient(parse_resp_url(f"redis://127.0.0.1:{port}/3"), timeout=30)
    server.send_signal(signal.SIGSTOP)  # accepts the socket, never answers SELECT
    try:
        waiting = asyncio.ensure_future(client("PING"))
        await asyncio.sleep(0.05)
        await client.close()
    finally:
        server.send_signal(signal.SIGCONT)
    with pytest.raises(ConnectionError):
        await waiting
    raw = Redis(port=port, decode_responses=True)
    try:
        assert await client("PING") == "PONG"  # the next call connects again
        for _ in range(100):  # the server drops the closed one when it reads its FIN
            on_db3 = [c for c in await raw.client_list() if c["db"] == "3"]
            if len(on_db3) == 1:
                break
            await asyncio.sleep(0.02)
        assert len(on_db3) == 1
    finally:
        await client.close()
        await raw.aclose()


@pytest.mark.anyio
async def test_a_connection_lost_mid_request_fails_its_requests_then_reconnects(
    spawn_redis: Spawn,
) -> None:
    port, server = spawn_redis(None)
    store = RedisStore(f"redis://127.0.0.1:{port}/0", prefix="t:", timeout=30)
    try:
        tx = new_tx()
        await store.create(tx, retain_until=int(time.time()) + 600)
        server.send_signal(signal.SIGSTOP)
        in_flight = [asyncio.ensure_future(store.get(tx.id, kind="presentation")) for _ in range(8)]
        await asyncio.sleep(0.05)
        server.kill()  # the socket closes under the requests written to it
        server.wait(timeout=5)
        outcomes = await asyncio.gather(*in_flight, return_exceptions=True)
        for outcome in outcomes:
            assert isinstance(outcome, StoreUnavailableError)
            # Failed because the connection was lost, not because the (30 s) timeout ran out.
            assert isinstance(outcome.__cause__, ConnectionError)

        spawn_redis(port)
        await store.create(tx, retain_until=int(time.time()) + 600)
        assert await store.get(tx.id, kind="presentation") == tx
    finally:
        await store.close()


@pytest.mark.anyio
async def test_a_flushed_script_is_sent_again(redis_url: str) -> None:
    store = RedisStore(redis_url, prefix=f"test:{uuid.uuid4().hex}:")
    raw = Redis.from_url(redis_url)
    try:
        tx = new_tx()
        await store.create(tx, retain_until=int(time.time()) + 600)
        await raw.script_flush()
        updated = await store.update_if(
            tx.id, {"status": "pending"}, {"status": "verified"}, kind="presentation"
        )
        assert updated is not None
        assert updated.status == "verified"
    finally:
        await raw.aclose()
        await store.close()


@pytest.mark.anyio
async def test_a_read_only_replica_is_unavailable_not_an_error(spawn_redis: Spawn) -> None:
    port, _ = spawn_redis(None)
    raw = Redis(port=port)
    store = RedisStore(f"redis://127.0.0.1:{port}/0", prefix="t:")
    try:
        await raw.replicaof("127.0.0.1", free_port())  # a replica of a master that is not there
        with pytest.raises(StoreUnavailableError, match="READONLY"):
            await store.create(new_tx(), retain_until=int(time.time()) + 600)
        assert await store.get("absent", kind="presentation") is None  # reads still answer
    finally:
        await raw.aclose()
        await store.close()


@pytest.mark.anyio
async def test_credentials_and_database_come_from_the_url(spawn_redis: Spawn) -> None:
    port, _ = spawn_redis(None)
    raw = Redis(port=port, decode_responses=True)
    await raw.acl_setuser("app", enabled=True, passwords=["+app-pw"], keys="*", commands=["+@all"])
    await raw.config_set("requirepass", "s3cret")
    admin = Redis(port=port, password="s3cret", db=3, decode_responses=True)
    stores = [
        RedisStore(f"redis://:s3cret@127.0.0.1:{port}/3", prefix="pw:"),
        RedisStore(f"redis://app:app-pw@127.0.0.1:{port}/3", prefix="acl:"),
    ]
    wrong = RedisStore(f"redis://:nope@127.0.0.1:{port}/3", prefix="x:")
    anonymous = RedisStore(f"redis://127.0.0.1:{port}/3", prefix="x:")
    try:
        for store, prefix in zip(stores, ["pw:", "acl:"], strict=True):
            tx = new_tx()
            await store.create(tx, retain_until=int(time.time()) + 600)
            assert await store.get(tx.id, kind="presentation") == tx
            assert await admin.exists(f"{prefix}tx:presentation:{tx.id}") == 1  # in database 3
            assert await store.ping() is True
        for refused in (wrong, anonymous):
            assert await refused.ping() is False
            with pytest.raises(StoreUnavailableError):
                await refused.get("x", kind="presentation")
    finally:
        for store in [*stores, wrong, anonymous]:
            await store.close()
        await admin.aclose()
        await raw.aclose()


# -- TLS ------------------------------------------------------------------------------------------


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "agentvp test redis")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "redis.crt", directory / "redis.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A redis-server that speaks TLS only; its port and CA file."""
    cert_file, key_file = _self_signed(tmp_path)
    port = free_port()
    argv = [redis_binary(), "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1"]
    argv += ["--tls-cert-file", str(cert_file), "--tls-key-file", str(key_file)]
    argv += ["--tls-ca-cert-file", str(cert_file), "--tls-auth-clients", "no"]
    argv += ["--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "--tls", "--cacert", str(cert_file), "-p", str(port), "ping"],
                capture_output=True,
                check=False,
            ).stdout.strip()
            != b"PONG"
        ):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.skip("this redis-server does not speak TLS")
            time.sleep(0.05)
        yield port, cert_file
    finally:
        stop_redis(proc)


@pytest.mark.anyio
async def test_rediss_speaks_tls_and_verifies_the_server(tls_redis: tuple[int, Path]) -> None:
    port, ca_file = tls_redis
    trusted = RedisStore(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={ca_file}", prefix="t:")
    untrusted = RedisStore(f"rediss://127.0.0.1:{port}/0", prefix="t:")  # system CAs only
    plain = RedisStore(f"redis://127.0.0.1:{port}/0", prefix="t:", timeout=0.5)
    try:
        tx = new_tx()
        await trusted.create(tx, retain_until=int(time.time()) + 600)
        assert await trusted.get(tx.id, kind="presentation") == tx
        with pytest.raises(StoreUnavailableError, match="CERTIFICATE_VERIFY_FAILED"):
            await untrusted.get(tx.id, kind="presentation")
        with pytest.raises(StoreUnavailableError):
            await plain.get(tx.id, kind="presentation")
    finally:
        for store in (trusted, untrusted, plain):
            await store.close()


@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_client_used_from_a_new_event_loop_connects_again(redis_url: str) -> None:
    client = RespClient(parse_resp_url(redis_url))
    key = f"test:{uuid.uuid4().hex}"

    async def incr_then_get(*, close: bool) -> str:
        await client("INCR", key)
        reply: str = await client("GET", key)
        if close:
            await client.close()
        return reply

    # The first loop's connection is left behind with that loop (its socket cannot be closed
    # from another one; the garbage collector closes it).
    assert asyncio.run(incr_then_get(close=False)) == "1"
    assert asyncio.run(incr_then_get(close=True)) == "2"
    gc.collect()
