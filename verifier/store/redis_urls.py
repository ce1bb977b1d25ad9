"""Store URLs for replicated Redis: a Redis Cluster, or one master watched by Sentinels.

- ``redis+cluster://[user:password@]host:port[,host:port...][?failover_wait=15]`` - any of the
  cluster's nodes (one is enough; the client reads the slot map from it, and a second one helps
  when the first is down at start-up). ``rediss+cluster://`` speaks TLS.
- ``redis+sentinel://[user:password@]host:port[,host:port...]/service_name[/db][?failover_wait=15]``
  - the Sentinels, and the name they monitor the master under (``sentinel monitor <name> ...``).
  Credentials are the data nodes'; the Sentinels are asked without. ``rediss+sentinel://`` speaks
  TLS to the master.

Options (query string):

- ``failover_wait`` (seconds, default 15, 0 - 300) bounds how long one store call keeps retrying
  while a failover runs before it answers :class:`~.base.StoreUnavailableError` (503);
- ``prefix`` (default ``agentvp:``; letters, digits and ``:_.-``, at most 64) starts every key -
  a cluster has no database numbers, so this is how deployments share one;
- ``wait_replicas`` (``1``, the default, or ``0``): with ``1`` a write is answered only once a
  replica has it too (``WAIT``), so a master killed right after answering loses nothing that
  was answered; a master that has no replica at all (after a failover, before its old master
  returns) is not waited on. ``0`` accepts Redis's asynchronous replication window.

Parsing only; nothing here connects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

__all__ = ["DEFAULT_FAILOVER_WAIT", "HATarget", "parse_ha_url"]

DEFAULT_FAILOVER_WAIT = 15.0
DEFAULT_PREFIX = "agentvp:"
_PREFIX = re.compile(r"[A-Za-z0-9:_.-]{1,64}")
MAX_FAILOVER_WAIT = 300.0
SCHEMES = {
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
}


@dataclass(frozen=True)
class HATarget:
    """What a ``redis+cluster://`` or ``redis+sentinel://`` URL names."""

    mode: str  # "cluster" or "sentinel"
    nodes: tuple[tuple[str, int], ...]  # cluster nodes, or the Sentinels
    tls: bool = False
    username: str | None = None
    password: str | None = None
    service: str = ""  # sentinel: the monitored master's name
    db: int = 0  # sentinel only (a cluster has database 0 alone)
    failover_wait: float = DEFAULT_FAILOVER_WAIT
    prefix: str = DEFAULT_PREFIX
    wait_replicas: int = 1


def _node(text: str, url: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")  # [::1]:7000
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"store URL {url!r}: {text!r} is not host:port")
    return host, int(port)


def _options(query: str, url: str) -> tuple[float, str, int]:
    """``failover_wait``, ``prefix`` and ``wait_replicas`` from the query string (defaults for
    absent ones)."""
    failover_wait, prefix, wait_replicas = DEFAULT_FAILOVER_WAIT, DEFAULT_PREFIX, 1
    for pair in query.split("&") if query else ():
        name, _, value = (unquote(part) for part in pair.partition("="))
        if name == "prefix":
            if not _PREFIX.fullmatch(value):
                raise ValueError(f"store URL {url!r}: prefix must be 1-64 of A-Z a-z 0-9 : _ . -")
            prefix = value
            continue
        if name == "wait_replicas":
            if value not in ("0", "1"):
                raise ValueError(f"store URL {url!r}: wait_replicas must be 0 or 1")
            wait_replicas = int(value)
            continue
        if name != "failover_wait":
            raise ValueError(
                f"store URL {url!r}: unknown option {name!r}"
                " (known: failover_wait, prefix, wait_replicas)"
            )
        try:
            failover_wait = float(value)
        except ValueError:
            failover_wait = -1.0
        if not 0 <= failover_wait <= MAX_FAILOVER_WAIT:
            raise ValueError(
                f"store URL {url!r}: failover_wait must be 0 - {MAX_FAILOVER_WAIT:g} seconds"
            )
    return failover_wait, prefix, wait_replicas


def parse_ha_url(url: str) -> HATarget:
    """The target of a cluster or sentinel URL; ``ValueError`` naming what is wrong otherwise."""
    scheme, sep, rest = url.partition("://")
    netloc_end = rest.find("/") if "/" in rest else len(rest)
    if "@" in rest[:netloc_end]:  # never repeat a password in an error message
        url = f"{scheme}://***@{rest.partition('@')[2]}"
    if not sep or scheme.lower() not in SCHEMES:
        raise ValueError(f"store URL {url!r}: not a redis+cluster:// or redis+sentinel:// URL")
    mode, tls = SCHEMES[scheme.lower()]
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    username = password = None
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        user, has_password, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if has_password else None
    nodes = tuple(_node(part, url) for part in netloc.split(",") if part)
    if not nodes:
        raise ValueError(f"store URL {url!r}: name at least one host:port")
    failover_wait, prefix, wait_replicas = _options(query, url)
    parts = [unquote(p) for p in path.split("/") if p] if path else []
    service, db = "", 0
    if mode == "cluster" and parts:
        raise ValueError(f"store URL {url!r}: a cluster URL has no path (clusters have db 0 only)")
    if mode == "sentinel":
        if not parts or len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
            raise ValueError(
                f"store URL {url!r}: use redis+sentinel://host:port[,host:port]/service_name[/db]"
            )
        service, db = parts[0], int(parts[1]) if len(parts) == 2 else 0
    return HATarget(
        mode, nodes, tls, username, password, service, db, failover_wait, prefix, wait_replicas
    )
