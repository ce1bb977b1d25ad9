"""Will the outbound policy let a webhook reach this ``callback_url``? Asked when the relying
party gives one (``POST /v1/presentations``, ``POST /v1/agent-verifications``), so that a URL
every delivery would refuse is a ``400`` naming the rule and the setting that allows it - not a
``201`` followed by deliveries that fail where only the logs say so.

The rules are :class:`~verifier.ops.fetch.SafeFetcher`'s, without a DNS lookup (creating a
request must not wait on a resolver): ``https`` only, no credentials in the URL, and no
loopback, private, link-local or otherwise non-public address literal (nor ``localhost``) -
unless the host (or ``host:port``) is listed in ``AGENTVP_OUTBOUND_ALLOW_HOSTS``. A host *name*
that resolves to a private address passes here and is refused at delivery (logged with the
reason).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from urllib.parse import urlsplit

__all__ = ["callback_refusal", "outbound_refusal"]

SETTING = "AGENTVP_OUTBOUND_ALLOW_HOSTS"


def _non_public(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: checked when it is resolved, at delivery
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def _shape(url: str, what: str) -> tuple[str, str, str | None]:
    """``(scheme, host, host[:port])`` of a usable URL, or ``("", "", problem)``."""
    try:
        parts = urlsplit(url)
        port = parts.port  # "Port out of range" or not a number: ValueError
    except ValueError:
        return "", "", f"{what} is not a URL"
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        return "", "", f"{what} must be an http(s) URL"
    if parts.username or parts.password:
        return "", "", f"{what} must not carry credentials"
    return parts.scheme, host, f"{host}:{port}" if port is not None else host


def outbound_refusal(url: str, allow_hosts: Collection[str], *, what: str) -> str | None:
    """Why the outbound policy refuses ``url`` (one line naming ``what`` and the setting that
    would allow it), or None."""
    scheme, host, target = _shape(url, what)
    if not scheme:
        return target
    assert target is not None
    allowed = {h.lower() for h in allow_hosts}
    if host in allowed or target in allowed:
        return None
    if scheme == "http":
        return (
            f"{what}: only https is allowed; allow {target} over http with "
            f"{SETTING}={target} (development only)"
        )
    if _non_public(host):
        return (
            f"{what}: {host} is a loopback or private address; allow it with "
            f"{SETTING}={target} (development only)"
        )
    return None


def callback_refusal(url: str, allow_hosts: Collection[str]) -> str | None:
    """Why webhooks to ``url`` would be refused (one line, naming the setting), or None."""
    return outbound_refusal(url, allow_hosts, what="callback_url")
