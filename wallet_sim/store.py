"""The wallet directory: the simulator's keys, issuers, credentials and trusted verifiers.

Layout (plain JSON and PEM files, so tests and people can look inside)::

    <dir>/keys/<name>.json          private JWK of a holder key ("human", "agent", ...) - 0600
    <dir>/issuers/<name>.json       {"iss", "kind", "key": private JWK} of a simulated issuer
    <dir>/credentials/<id>.json     {"id", "kind", "vct", "iss", "holder", "issued_at",
                                     "issuance", "meta"}
    <dir>/trust/verifiers/*.pem     CA certificates of verifiers we accept requests from
    <dir>/status/<issuer>.json      the issuer's Token Status List (see :mod:`wallet_sim.status`)

The default directory is ``$WALLET_SIM_DIR``; else ``./.wallet-sim`` when it holds a wallet; else
the wallet ``agentvp demo`` made (``<$AGENTVP_DATA_DIR or .agentvp>/demo/wallet``) when there is
one, so that ``wallet-sim list`` works as shown from where the demo ran; else ``./.wallet-sim``.
``wallet-sim init`` creates ``$WALLET_SIM_DIR`` or ``./.wallet-sim`` (never the demo's).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from verifier.protocol import HeldCredential, SigningKey
from verifier.protocol.x509.chain import load_pem_certificates

from .issuer import Issuer

__all__ = ["StoredCredential", "Wallet", "default_dir", "demo_dir", "own_dir"]

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def own_dir() -> Path:
    """Where ``wallet-sim init`` creates a wallet: ``$WALLET_SIM_DIR`` or ``./.wallet-sim``."""
    return Path(os.environ.get("WALLET_SIM_DIR", ".wallet-sim"))


def demo_dir() -> Path:
    """The wallet ``agentvp demo`` prepares: ``<$AGENTVP_DATA_DIR or .agentvp>/demo/wallet``."""
    return Path(os.environ.get("AGENTVP_DATA_DIR") or ".agentvp") / "demo" / "wallet"


def _is_wallet(path: Path) -> bool:
    return (path / "keys").is_dir()


def default_dir() -> Path:
    """The wallet the commands use without ``--dir`` (see the module docstring)."""
    if os.environ.get("WALLET_SIM_DIR") or _is_wallet(own_dir()):
        return own_dir()
    return demo_dir() if _is_wallet(demo_dir()) else own_dir()


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"invalid name {name!r}: use letters, digits, '.', '_' or '-'")
    return name


def _write_private(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)


@dataclass
class StoredCredential:
    id: str
    kind: str
    vct: str
    iss: str
    holder: str
    issued_at: int
    issuance: str
    meta: dict[str, Any] = field(default_factory=dict)

    def held(self) -> HeldCredential:
        return HeldCredential.from_issuance(self.issuance, id=self.id)


class Wallet:
    """A wallet directory on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def open(cls, path: Path | None = None) -> Wallet:
        wallet = cls(path or default_dir())
        if not _is_wallet(wallet.path):
            raise FileNotFoundError(
                f"{wallet.path} is not a wallet directory - run `wallet-sim init`, or pass "
                f"--dir (`agentvp demo` keeps its wallet in {demo_dir()})"
            )
        return wallet

    @classmethod
    def create(cls, path: Path) -> Wallet:
        wallet = cls(path)
        for sub in ("keys", "issuers", "credentials", "trust/verifiers"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        for holder in ("human", "agent"):
            wallet.key(holder, create=True)
        return wallet

    # keys -------------------------------------------------------------------------------

    def key(self, name: str, *, create: bool = False) -> SigningKey:
        path = self.path / "keys" / f"{_check_name(name)}.json"
        if path.exists():
            return SigningKey.from_jwk(json.loads(path.read_text(encoding="utf-8")))
        if not create:
            raise FileNotFoundError(f"no key {name!r} in {self.path}")
        key = SigningKey.generate(kid=f"{name}-{secrets.token_hex(4)}")
        _write_private(path, key.to_jwk())
        return key

    # issuers ----------------------------------------------------------------------------

    def add_issuer(
        self, name: str, *, iss: str, kind: str, key: SigningKey, **extra: Any
    ) -> Issuer:
        data = {"iss": iss, "kind": kind, "key": key.to_jwk(), **extra}
        _write_private(self.path / "issuers" / f"{_check_name(name)}.json", data)
        return self.issuer(name)

    def issuer_data(self, name: str) -> dict[str, Any]:
        path = self.path / "issuers" / f"{_check_name(name)}.json"
        if not path.exists():
            raise FileNotFoundError(f"no issuer {name!r} in {self.path} (see `wallet-sim init`)")
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def issuer(self, name: str) -> Issuer:
        data = self.issuer_data(name)
        return Issuer(data["iss"], SigningKey.from_jwk(data["key"]), data.get("status_base"))

    def issuers(self) -> list[str]:
        return sorted(p.stem for p in (self.path / "issuers").glob("*.json"))

    # credentials ------------------------------------------------------------------------

    def add_credential(
        self,
        *,
        kind: str,
        issuance: str,
        holder: str,
        issued_at: int,
        meta: dict[str, Any] | None = None,
        cred_id: str | None = None,
    ) -> StoredCredential:
        held = HeldCredential.from_issuance(issuance)
        cred = StoredCredential(
            id=cred_id or f"{kind}-{secrets.token_hex(4)}",
            kind=kind,
            vct=held.vct or "",
            iss=str(held.payload.get("iss", "")),
            holder=holder,
            issued_at=issued_at,
            issuance=issuance,
            meta=meta or {},
        )
        self.save_credential(cred)
        return cred

    def save_credential(self, cred: StoredCredential) -> None:
        _write_private(self.path / "credentials" / f"{_check_name(cred.id)}.json", asdict(cred))

    def credential(self, cred_id: str) -> StoredCredential:
        path = self.path / "credentials" / f"{_check_name(cred_id)}.json"
        if not path.exists():
            raise FileNotFoundError(f"no credential {cred_id!r} in {self.path}")
        return StoredCredential(**json.loads(path.read_text(encoding="utf-8")))

    def credentials(
        self, *, kind: str | None = None, holder: str | None = None
    ) -> list[StoredCredential]:
        found = [
            StoredCredential(**json.loads(p.read_text(encoding="utf-8")))
            for p in sorted((self.path / "credentials").glob("*.json"))
        ]
        return [
            c
            for c in found
            if (kind is None or c.kind == kind) and (holder is None or c.holder == holder)
        ]

    def holder_keys(self, credentials: Iterable[StoredCredential]) -> dict[str, SigningKey]:
        return {c.id: self.key(c.holder) for c in credentials}

    # trusted verifiers ------------------------------------------------------------------

    def trust_verifier(self, pem: str, name: str = "verifier-ca") -> Path:
        load_pem_certificates(pem)  # refuse junk early
        path = self.path / "trust" / "verifiers" / f"{_check_name(name)}.pem"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(pem, encoding="utf-8")
        return path

    def verifier_anchors(self) -> list[x509.Certificate]:
        return [
            cert
            for path in sorted((self.path / "trust" / "verifiers").glob("*.pem"))
            for cert in load_pem_certificates(path.read_text(encoding="utf-8"))
        ]
