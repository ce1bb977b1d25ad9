"""The processes a load run starts and watches: ``redis-server``, ``agentvp serve``; their
CPU time and memory from ``/proc``, and the machine's own busy share."""

from __future__ import annotations

import gc
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from redis_stats import RedisStats  # bench/redis_stats.py (bench/ is on sys.path)

CLK_TCK = os.sysconf("SC_CLK_TCK")


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


def cpu_times(pids: list[int]) -> dict[int, tuple[float, float]]:
    """Each process's (user, system) CPU seconds, from one read of its /proc stat ((0, 0) for
    one that is gone): the total and the kernel's share come from the same moment."""
    times = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            times[pid] = (0.0, 0.0)
            continue
        times[pid] = (int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK)  # utime, stime
    return times


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
