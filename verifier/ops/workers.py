"""``agentvp serve --workers N``: one listening socket per worker, so the kernel spreads the
connections over the workers.

uvicorn's own ``--workers`` binds one socket in the parent and every worker accepts from it. A
worker woken by a burst of new connections accepts all it can in one go (uvloop and asyncio both
accept in a loop), so the long-lived keep-alive connections of a reverse proxy or a client's
connection pool can all land on one worker while the other idles. Which worker takes a burst is
a matter of timing: in one of two runs on the tests' Redis Cluster at 300 flows/s, one worker ran
at 1.0 cores and the other at 0.0, a flow p99 of 400 ms with half the capacity unused
(docs/PERFORMANCE.md).

Here the parent binds N sockets to the same address with ``SO_REUSEPORT``, and the kernel hashes
each new connection to one of them. uvicorn's supervisor still starts, watches and restarts the
workers; each worker claims a free slot (an exclusive ``flock`` on ``slot-<i>`` in a directory the
parent made, released by the kernel when the worker dies, so its replacement takes the same
slot) and listens on that slot's socket only. A worker that finds no free slot - the new one of
a rolling restart (``SIGHUP``), started while the one it replaces still holds its slot - listens
on all of them, as uvicorn's workers do, until a slot frees up; then it takes it and stops
accepting on the others. The number of workers is the number of sockets, fixed at
start: ``SIGTTIN`` and ``SIGTTOU`` (add or remove a worker) are refused with a log line, since a
removed worker would leave its socket's connections waiting for nobody.

``SO_REUSEPORT`` lets another process of the *same user* bind the same port and take a share of
the connections; on Linux no other user can. Where the option does not exist (or uvicorn's
worker class no longer builds its server as :class:`_Worker` expects), ``serve`` keeps uvicorn's
one shared socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import uvicorn
from uvicorn.supervisors import multiprocess

__all__ = ["SLOTS_ENV", "can_reuse_port", "listeners", "run_workers"]

SLOTS_ENV = "_AGENTVP_WORKER_SLOTS"  # the slot directory, for the workers (internal)
CLAIM_EVERY = 0.5  # seconds between a slot-less worker's tries to claim a slot


def can_reuse_port() -> bool:
    """Whether the platform has ``SO_REUSEPORT`` and uvicorn's worker class still builds its
    server through the ``server`` property :class:`_Worker` overrides; else uvicorn's own
    ``workers``. (The worker class itself exists from uvicorn 0.30, the version pyproject asks
    for: :class:`_Worker` extends it when this module is imported.)"""
    return hasattr(socket, "SO_REUSEPORT") and isinstance(
        getattr(multiprocess.Process, "server", None), property
    )


def listeners(host: str, port: int, count: int, backlog: int) -> list[socket.socket]:
    """``count`` listening sockets on ``host:port``, each with ``SO_REUSEPORT``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    made: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            made.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.listen(backlog)
            sock.set_inheritable(True)
    except BaseException:
        for sock in made:
            sock.close()
        raise
    return made


def _claim(directory: Path, count: int) -> tuple[int, IO[bytes]] | None:
    """The first free slot and its held lock file, or None when all are taken."""
    for index in range(count):
        handle = (directory / f"slot-{index}").open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return index, handle
    return None


class _OneListener(uvicorn.Server):
    """A worker's server: listens on its slot's socket only."""

    _slot: IO[bytes] | None = None
    _claiming: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        directory = os.environ.get(SLOTS_ENV)
        if sockets and directory:
            claimed = _claim(Path(directory), len(sockets))
            if claimed is not None:
                index, self._slot = claimed  # held (and so the slot) until the process ends
                sockets = [sockets[index]]
            elif len(sockets) > 1:  # on all sockets until a slot frees up
                self._claiming = asyncio.get_running_loop().create_task(
                    self._claim_later(Path(directory), len(sockets))
                )
        await super().startup(sockets=sockets)

    async def _claim_later(self, directory: Path, count: int) -> None:
        """The new worker of a rolling restart: once the worker it replaced has gone and freed
        its slot, take the slot and stop accepting on the other sockets (their own workers
        serve them)."""
        while not self.should_exit:
            await asyncio.sleep(CLAIM_EVERY)
            claimed = _claim(directory, count)
            if claimed is None:
                continue
            index, self._slot = claimed
            for position, server in enumerate(self.servers):  # one per socket, in order
                if position != index:
                    server.close()
            return


class _Worker(multiprocess.Process):
    """uvicorn's worker process, serving with :class:`_OneListener`."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = _OneListener(config=self.config)
        return self._server


class _Supervisor(multiprocess.Multiprocess):
    """uvicorn's supervisor with the number of workers fixed (one per socket)."""

    def handle_ttin(self) -> None:
        _refuse("SIGTTIN")

    def handle_ttou(self) -> None:
        _refuse("SIGTTOU")


def _refuse(signal_name: str) -> None:
    multiprocess.logger.warning(
        "Received %s: not changing the number of workers - each has its own socket; "
        "restart agentvp serve with another --workers",
        signal_name,
    )


@contextlib.contextmanager
def _slots() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="agentvp-workers-"))
    previous = os.environ.get(SLOTS_ENV)
    os.environ[SLOTS_ENV] = str(directory)  # the workers are spawned with this environment
    try:
        yield directory
    finally:
        if previous is None:
            os.environ.pop(SLOTS_ENV, None)
        else:
            os.environ[SLOTS_ENV] = previous
        shutil.rmtree(directory, ignore_errors=True)


def run_workers(config: uvicorn.Config) -> None:
    """What ``uvicorn.run`` does for ``workers > 1``, with one listening socket per worker."""
    assert config.host is not None
    sockets = listeners(config.host, config.port, config.workers, config.backlog)
    original = multiprocess.Process
    try:
        with _slots():
            multiprocess.Process = _Worker  # type: ignore[misc]  # the supervisor's worker class
            _Supervisor(config, sockets=sockets).run()
    except KeyboardInterrupt:  # as uvicorn.run: the supervisor has stopped the workers
        pass
    finally:
        multiprocess.Process = original  # type: ignore[misc]
        for sock in sockets:
            sock.close()
