"""Shared fixtures. ``redis_url``: a real, throw-away ``redis-server`` for the whole session;
``redis_cluster``: a real 6-node Redis Cluster for the whole session (see tests/redis_ha.py).

The suite is hermetic: before anything is collected, every ambient setting an operator may have
in the shell (:data:`AMBIENT`: ``AGENTVP_*``, ``WALLET_SIM_*``, ``PROMETHEUS_MULTIPROC_DIR``) is
removed from ``os.environ``, so neither in-process apps nor the servers the harnesses start
(they copy ``os.environ``) see it; it is put back when the session ends.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from tests import redis_ha  # (it reads this module's helpers at call time)

REDIS_SERVER = "/usr/bin/redis-server"
AMBIENT = ("AGENTVP_", "WALLET_SIM_", "PROMETHEUS_MULTIPROC_DIR")
_set_aside: dict[str, str] = {}


def ambient_settings() -> list[str]:
    """The names in ``os.environ`` that configure agentvp, the simulator or the metrics."""
    return sorted(name for name in os.environ if name.startswith(AMBIENT))


def pytest_configure(config: pytest.Config) -> None:
    """Set the shell's agentvp settings aside for the session (see the module docstring)."""
    for name in ambient_settings():
        _set_aside[name] = os.environ.pop(name)


def pytest_unconfigure(config: pytest.Config) -> None:
    for name, value in _set_aside.items():
        os.environ[name] = value
    _set_aside.clear()


def free_port() -> int:
    """A currently free loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def redis_binary() -> str:
    """The redis-server binary; a missing one fails under CI=true, else skips the test."""
    binary = REDIS_SERVER if os.access(REDIS_SERVER, os.X_OK) else shutil.which("redis-server")
    if binary is None:
        message = f"redis-server not installed (looked for {REDIS_SERVER} and on PATH)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return binary


def answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(port: int, timeout: float = 10.0) -> subprocess.Popen[bytes]:
    """Start ``redis-server`` on 127.0.0.1:``port`` (no persistence); return once it PINGs."""
    argv = [redis_binary(), "--port", str(port), "--bind", "127.0.0.1"]
    argv += ["--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not answers_ping(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_redis(proc)
            pytest.fail(f"redis-server on port {port} did not start (exit {proc.returncode})")
        time.sleep(0.02)
    return proc


def stop_redis(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """``redis://127.0.0.1:<port>/0`` of a redis-server started for this test session."""
    port = free_port()
    proc = start_redis(port)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_redis(proc)


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis_ha.RedisCluster]:
    """Three masters with one replica each, shared by the session (failover tests restart what
    they kill and wait until it is healthy again)."""
    cluster = redis_ha.RedisCluster(
        tmp_path_factory.mktemp("redis-cluster"), [free_port() for _ in range(6)]
    )
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis_ha.SentinelSetup]:
    """A master, its replica and three Sentinels, shared by the session (failover tests restore
    what they kill)."""
    setup = redis_ha.SentinelSetup(tmp_path_factory.mktemp("redis-sentinel"))
    try:
        yield setup.start()
    finally:
        setup.stop()


@pytest.fixture(scope="session")
def redis_cluster_url(redis_cluster: redis_ha.RedisCluster) -> str:
    """``redis+cluster://...`` of :func:`redis_cluster`."""
    return redis_cluster.url


@pytest.fixture
def spawn_redis() -> Iterator[Callable[[int | None], tuple[int, subprocess.Popen[bytes]]]]:
    """Start extra redis-servers (on a given or free port), all stopped at teardown."""
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(port: int | None = None) -> tuple[int, subprocess.Popen[bytes]]:
        port = free_port() if port is None else port
        procs.append(start_redis(port))
        return port, procs[-1]

    yield spawn
    for proc in procs:
        stop_redis(proc)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """``@pytest.mark.anyio`` tests run on asyncio only (the service's loop)."""
    return "asyncio"
