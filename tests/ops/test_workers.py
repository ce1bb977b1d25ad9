"""``agentvp serve --workers 2``: each worker listens on a socket of its own (``SO_REUSEPORT``), so
the kernel spreads new connections over the workers whatever either is doing at the moment, and a
killed worker's replacement takes over its socket.

With uvicorn's one shared socket, a worker that cannot accept at the moment (busy, or here
stopped with SIGSTOP) leaves every new connection to the other, which takes them all; the
keep-alive connections of a proxy or a pool then stay on one worker (docs/PERFORMANCE.md, the
cluster at 300 flows/s)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.e2e.harness import make_data_dir, stop_process

pytestmark = pytest.mark.e2e

CONNECTIONS = 40
AT_LEAST = 8  # of 40 per worker: a fair hash falls below this about once in 10^5 tries


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def startups(self) -> int:
        """Worker startups logged so far (the tests run in any order: each counts from here)."""
        return self.text().count("startup complete")

    def workers(self) -> list[int]:
        """The serving worker processes (not multiprocessing's resource tracker)."""
        found = []
        for pid in _children(self.proc.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline:
                found.append(pid)
        return sorted(found)

    def wait_for(self, count: int, *, started: int, timeout: float = 90) -> list[int]:
        """The workers, once ``count`` are alive and ``started`` startups were logged."""
        deadline = time.monotonic() + timeout
        while True:
            workers = self.workers()
            if len(workers) == count and self.startups() >= started:
                return workers
            assert self.proc.poll() is None, self.text()[-2000:]
            assert time.monotonic() < deadline, f"workers {workers}: {self.text()[-2000:]}"
            time.sleep(0.1)


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from each one's /proc stat line)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # gone meanwhile
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def _accepted(port: int, pid: int) -> int:
    """How many established connections to ``port`` process ``pid`` holds (server side)."""
    established = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            established.add(fields[9])
    held = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        match = re.fullmatch(r"socket:\[(\d+)\]", target)
        if match:
            held.add(match.group(1))
    return len(established & held)


def _connect_and_ask(port: int, count: int) -> list[socket.socket]:
    """``count`` connections opened together, each with one request sent on it; the kernel
    completes a connection whether or not a worker has accepted it yet."""
    opened = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(count)]
    request = f"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    for sock in opened:
        sock.sendall(request)
    return opened


def _answered(opened: list[socket.socket]) -> None:
    """Each request answered (by whichever worker accepted its connection); they stay open."""
    for sock in opened:
        head = sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200"), head[:200]


def _settle(count: Callable[[], int], *, quiet: float = 1.0, timeout: float = 30) -> None:
    """Wait until ``count()`` has not changed for ``quiet`` seconds (at most ``timeout``)."""
    deadline = time.monotonic() + timeout
    last, since = count(), time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        time.sleep(0.05)
        now = count()
        if now != last:
            last, since = now, time.monotonic()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("workers")
    port = free_port()
    make_data_dir(root / "verifier", f"http://localhost:{port}")
    log = root / "serve.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "verifier.cli", "serve", "--workers", "2", "--port", str(port)],
            env={**os.environ, "AGENTVP_DATA_DIR": str(root / "verifier")},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        server = Served(proc, port, log)
        server.wait_for(2, started=2)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200
        yield server
    finally:
        stop_process(proc)


def _shares_with_one_stopped(served: Served, first: int, second: int) -> None:
    """40 connections arrive while ``second`` is stopped: once it runs again, each worker has
    accepted a share of them and every request is answered."""
    os.kill(second, signal.SIGSTOP)  # the second worker cannot accept for now
    try:
        opened = _connect_and_ask(served.port, CONNECTIONS)
        _settle(lambda: _accepted(served.port, first))  # the first takes all it is given
    finally:
        os.kill(second, signal.SIGCONT)
    _assert_shared(served, opened, first, second)  # answered once the second runs again


def _assert_shared(served: Served, opened: list[socket.socket], *pids: int) -> None:
    """Every request on ``opened`` answered, the connections accepted by ``pids`` together and
    each of them holding at least :data:`AT_LEAST`; then the connections are closed."""
    try:
        _answered(opened)
        shares = {pid: _accepted(served.port, pid) for pid in pids}
        assert sum(shares.values()) == CONNECTIONS, shares
        assert min(shares.values()) >= AT_LEAST, shares
    finally:
        for sock in opened:
            sock.close()


def _holding_slots(pids: list[int], timeout: float = 30) -> None:
    """Wait until each of ``pids`` holds a slot (an flock, listed in /proc/locks by its pid)."""
    deadline = time.monotonic() + timeout
    while True:
        holders = {
            int(fields[4])
            for fields in (line.split() for line in Path("/proc/locks").read_text().splitlines())
            if len(fields) > 4 and fields[1] == "FLOCK"
        }
        if set(pids) <= holders:
            return
        assert time.monotonic() < deadline, f"{pids} not all holding a slot: {holders}"
        time.sleep(0.1)


def test_each_worker_takes_a_share_of_new_connections_even_while_it_cannot_accept(
    served: Served,
) -> None:
    assert "2 workers, each on its own socket (SO_REUSEPORT)" in served.text()
    first, second = served.wait_for(2, started=served.startups())
    _holding_slots([first, second])
    _shares_with_one_stopped(served, first, second)


def test_a_killed_worker_is_replaced_on_its_own_socket(served: Served) -> None:
    started = served.startups()
    first, second = served.wait_for(2, started=started)
    os.kill(second, signal.SIGKILL)
    workers = served.wait_for(2, started=started + 1)
    assert first in workers and second not in workers
    replacement = next(pid for pid in workers if pid != first)
    _assert_shared(served, _connect_and_ask(served.port, CONNECTIONS), first, replacement)


def test_the_number_of_workers_stays_fixed_and_a_rolling_restart_serves_every_socket(
    served: Served,
) -> None:
    started = served.startups()
    before = served.wait_for(2, started=started)
    for sig in (signal.SIGTTIN, signal.SIGTTOU):
        os.kill(served.proc.pid, sig)
    deadline = time.monotonic() + 30
    while served.text().count("not changing the number of workers") < 2:
        assert time.monotonic() < deadline, served.text()[-2000:]
        time.sleep(0.1)
    assert served.workers() == before
    # SIGHUP: each worker replaced by a new one, started before the old one stops (so it
    # finds every slot held and listens on all sockets for now); no socket is left unserved.
    os.kill(served.proc.pid, signal.SIGHUP)
    after = served.wait_for(2, started=started + 2)
    deadline = time.monotonic() + 90
    while set(after) & set(before):
        assert time.monotonic() < deadline, served.text()[-2000:]
        time.sleep(0.1)
        after = served.wait_for(2, started=started + 2)
    opened = _connect_and_ask(served.port, CONNECTIONS)
    try:
        _answered(opened)
        assert sum(_accepted(served.port, pid) for pid in after) == CONNECTIONS
    finally:
        for sock in opened:
            sock.close()
    # Once the old workers are gone, the new ones take the slots they freed, each back on a
    # socket of its own.
    _holding_slots(after)
    _shares_with_one_stopped(served, *after)
