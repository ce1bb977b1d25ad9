"""Real replicated Redis for tests: a 6-node Redis Cluster (three masters, one replica each) and a
Sentinel setup (one master, one replica, three Sentinels), all Debian ``redis-server`` processes
on free loopback ports, without persistence. Failover tests kill masters by PID and restart them.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import conftest  # its helpers are read at call time (conftest imports this module)

NODE_TIMEOUT_MS = 2000  # cluster-node-timeout: a dead master is failed over ~2-4 s later
DOWN_AFTER_MS = 1000  # sentinel down-after-milliseconds


def command(port: int, *args: str, timeout: float = 2.0) -> str:
    """One ``redis-cli`` command against 127.0.0.1:``port``; its output ('' when unreachable)."""
    cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
    try:
        done = subprocess.run(
            [cli, "-h", "127.0.0.1", "-p", str(port), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ""
    return done.stdout if done.returncode == 0 else ""


def _wait(what: str, check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def _spawn(argv: list[str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while not conftest.answers_ping(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            conftest.stop_redis(proc)
            pytest.fail(f"{argv[0]} on port {port} did not start (exit {proc.returncode})")
        time.sleep(0.02)
    return proc


def _info(port: int, section: str) -> dict[str, str]:
    lines = command(port, "INFO", section).splitlines()
    return dict(line.split(":", 1) for line in lines if ":" in line)


@dataclass
class RedisCluster:
    """Six cluster nodes; ``procs`` maps a port to its running process."""

    root: Path
    ports: list[int]
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    bus: dict[int, int] = field(default_factory=dict)  # cluster bus port of each node

    @property
    def url(self) -> str:
        nodes = ",".join(f"127.0.0.1:{port}" for port in self.ports[:3])
        return f"redis+cluster://{nodes}?failover_wait=30"

    def start_node(self, port: int) -> None:
        argv = [conftest.redis_binary(), "--port", str(port), "--bind", "127.0.0.1"]
        argv += ["--cluster-enabled", "yes", "--cluster-port", str(self.bus[port])]
        argv += ["--cluster-config-file", str(self.root / f"nodes-{port}.conf")]
        argv += ["--cluster-node-timeout", str(NODE_TIMEOUT_MS), "--dir", str(self.root)]
        argv += ["--save", "", "--appendonly", "no", "--cluster-replica-validity-factor", "0"]
        argv += ["--repl-diskless-sync-delay", "0"]
        self.procs[port] = _spawn(argv, port)

    def start(self) -> RedisCluster:
        self.bus = {port: conftest.free_port() for port in self.ports}
        for port in self.ports:
            self.start_node(port)
        cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        created = subprocess.run(
            [cli, "--cluster", "create", *nodes, "--cluster-replicas", "1", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if created.returncode != 0:
            self.stop()
            pytest.fail(f"redis-cli --cluster create failed: {created.stdout} {created.stderr}")
        self.wait_healthy()
        return self

    def masters(self) -> list[int]:
        return [port for port in self.procs if _info(port, "replication").get("role") == "master"]

    def healthy(self) -> bool:
        """Every node up and agreeing the cluster is ok; three masters each with a live replica."""
        if any(proc.poll() is not None for proc in self.procs.values()):
            return False
        for port in self.procs:
            if "cluster_state:ok" not in command(port, "CLUSTER", "INFO"):
                return False
        masters = self.masters()
        if len(masters) != 3:
            return False
        return all(
            "state=online" in _info(port, "replication").get("slave0", "") for port in masters
        )

    def promoted(self) -> bool:
        """After a master's death: three masters among the live nodes, all agreeing it is ok."""
        states = [command(port, "CLUSTER", "INFO") for port in self.procs]
        return len(self.masters()) == 3 and all("cluster_state:ok" in s for s in states)

    def wait_healthy(self, timeout: float = 60) -> None:
        _wait("a healthy cluster (3 masters, 3 online replicas)", self.healthy, timeout)

    def master_of(self, key: str) -> int:
        """The port of the master serving ``key``'s slot."""
        slot = int(command(self.ports[0], "CLUSTER", "KEYSLOT", key).strip())
        for port in self.masters():
            for line in command(port, "CLUSTER", "NODES").splitlines():
                parts = line.split()
                if "myself" in parts[2] and "master" in parts[2]:
                    for span in parts[8:]:
                        low, _, high = span.partition("-")
                        if low.isdigit() and int(low) <= slot <= int(high or low):
                            return port
        raise AssertionError(f"no master serves slot {slot}")

    def kill(self, port: int) -> None:
        """SIGKILL the node on ``port`` (by its PID), as a crash would."""
        proc = self.procs.pop(port)
        proc.kill()
        proc.wait()

    def stop(self) -> None:
        for proc in self.procs.values():
            conftest.stop_redis(proc)
        self.procs.clear()


@dataclass
class SentinelSetup:
    """A master, its replica and three Sentinels (quorum 2) watching it as ``service``."""

    root: Path
    service: str = "agentvp"
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    data_ports: list[int] = field(default_factory=list)
    sentinel_ports: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        nodes = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{nodes}/{self.service}?failover_wait=30"

    def start_data(self, port: int, replica_of: int | None) -> None:
        argv = [
            conftest.redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.root),
        ]
        argv += ["--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0"]
        if replica_of is not None:
            argv += ["--replicaof", "127.0.0.1", str(replica_of)]
        self.procs[port] = _spawn(argv, port)

    def start(self) -> SentinelSetup:
        self.data_ports = [conftest.free_port(), conftest.free_port()]
        self.start_data(self.data_ports[0], None)
        self.start_data(self.data_ports[1], self.data_ports[0])
        _wait("the replica's first sync", lambda: self.replica_online(self.data_ports[0]), 30)
        for _ in range(3):
            port = conftest.free_port()
            conf = self.root / f"sentinel-{port}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.root}\n"
                f"sentinel monitor {self.service} 127.0.0.1 {self.data_ports[0]} 2\n"
                f"sentinel down-after-milliseconds {self.service} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {self.service} 10000\n"
                f"sentinel parallel-syncs {self.service} 1\n"
            )
            self.procs[port] = _spawn([conftest.redis_binary(), str(conf), "--sentinel"], port)
            self.sentinel_ports.append(port)
        _wait("three Sentinels that know each other", self.sentinels_agree, 60)
        return self

    def replica_online(self, port: int) -> bool:
        """The master on ``port`` has a replica that finished its sync."""
        return "state=online" in _info(port, "replication").get("slave0", "")

    def master(self) -> int:
        """The master's port as the first Sentinel sees it."""
        reply = command(self.sentinel_ports[0], "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service)
        parts = reply.split()
        return int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else 0

    def sentinels_agree(self) -> bool:
        for port in self.sentinel_ports:
            info = command(port, "SENTINEL", "MASTER", self.service).split()
            fields = dict(zip(info[::2], info[1::2], strict=False))
            if fields.get("num-other-sentinels") != "2" or fields.get("num-slaves") != "1":
                return False
        return True

    def kill(self, port: int) -> None:
        """SIGKILL the data node on ``port`` (by its PID)."""
        proc = self.procs.pop(port)
        proc.kill()
        proc.wait()

    def promoted(self, survivor: int) -> bool:
        """The Sentinels name ``survivor`` the master, and it takes writes."""
        return self.master() == survivor and _info(survivor, "replication").get("role") == "master"

    def restore(self) -> None:
        """Restart every killed data node as a replica of the current master; wait for its sync."""
        master = self.master()
        for port in self.data_ports:
            if port not in self.procs:
                self.start_data(port, master)
        _wait("the replica's sync after a restart", lambda: self.replica_online(master), 60)
        _wait("Sentinels that agree again", self.sentinels_agree, 60)

    def stop(self) -> None:
        for proc in self.procs.values():
            conftest.stop_redis(proc)
        self.procs.clear()
