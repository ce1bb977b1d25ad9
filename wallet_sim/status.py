"""The simulated issuers' Token Status Lists (draft-ietf-oauth-status-list) and key rotation.

One list per issuer (and so per credential type), kept in the wallet directory::

    <dir>/status/<issuer>.json   {"uri", "bits", "size", "values": {"<idx>": status},
                                  "allocated": {"<credential id>": idx}}

Indices are allocated at random among the unused ones (HAIP: unique and unpredictable per
credential). :func:`status_list_token` signs the current list as a ``statuslist+jwt`` with the
issuer's key; the issuer server (:mod:`wallet_sim.issuer_web`) serves it fresh on every GET, so
``wallet-sim revoke|suspend|reinstate`` take effect at once (subject to verifiers' caches).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from verifier.protocol import SigningKey, encode_status_list

__all__ = [
    "STATUS_VALUES",
    "StatusRegistry",
    "status_list_token",
]

STATUS_VALUES = {"valid": 0, "revoked": 1, "suspended": 2}
DEFAULT_SIZE = 1 << 14
DEFAULT_BITS = 2


class StatusRegistry:
    """The status list of one issuer, persisted as JSON."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        return data

    def _save(self, data: dict[str, Any]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(self.path)  # atomic: the issuer server never reads half a file

    @classmethod
    def create(
        cls, path: Path, *, uri: str, bits: int = DEFAULT_BITS, size: int = DEFAULT_SIZE
    ) -> StatusRegistry:
        registry = cls(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        registry._save({"uri": uri, "bits": bits, "size": size, "values": {}, "allocated": {}})
        return registry

    @property
    def uri(self) -> str:
        return str(self.load()["uri"])

    def allocate(self, credential_id: str) -> int:
        """A fresh random index for a new credential (status VALID)."""
        data = self.load()
        used = set(data["allocated"].values())
        if len(used) >= data["size"]:
            raise RuntimeError(f"status list {data['uri']} is full")
        while True:
            idx = secrets.randbelow(data["size"])
            if idx not in used:
                break
        data["allocated"][credential_id] = idx
        self._save(data)
        return idx

    def set(self, credential_id: str, status: str) -> int:
        """Set a credential's status (``valid``, ``revoked``, ``suspended``); return its index."""
        if status not in STATUS_VALUES:
            raise ValueError(f"status must be one of {sorted(STATUS_VALUES)}")
        data = self.load()
        idx = data["allocated"].get(credential_id)
        if idx is None:
            raise KeyError(f"credential {credential_id!r} has no entry in {data['uri']}")
        if STATUS_VALUES[status]:
            data["values"][str(idx)] = STATUS_VALUES[status]
        else:
            data["values"].pop(str(idx), None)
        self._save(data)
        return int(idx)

    def statuses(self) -> list[int]:
        data = self.load()
        values = [0] * int(data["size"])
        for idx, value in data["values"].items():
            values[int(idx)] = int(value)
        return values


def status_list_token(
    registry: StatusRegistry, key: SigningKey, *, now: int, ttl: int = 60, lifetime: int = 3600
) -> str:
    """The current list as a signed ``statuslist+jwt`` (``sub`` = its URI; iat, exp, ttl)."""
    data = registry.load()
    payload = {
        "sub": data["uri"],
        "iat": now,
        "exp": now + lifetime,
        "ttl": ttl,
        "status_list": {
            "bits": data["bits"],
            "lst": encode_status_list(registry.statuses(), data["bits"]),
        },
    }
    return key.sign_jws({"typ": "statuslist+jwt"}, payload)
