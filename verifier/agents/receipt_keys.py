"""Which keys check a receipt (``agentvp receipt verify``, ``agentvp audit verify --receipt``),
and saying which ones were used.

In order: the JWKS named by ``--jwks`` (a file or URL); else the verifier key of the local data
dir (``<data dir>/verifier/signing_key.json``), when there is one; else the JWKS the receipt's
issuer publishes, ``<iss>/.well-known/jwks.json``, fetched only from a host the outbound policy
allows (https to a public host, or a host listed in ``AGENTVP_OUTBOUND_ALLOW_HOSTS``; the
``iss`` is read before any signature is checked, so it must not steer a fetch anywhere else).
Every answer names the keys it used, and a receipt that does not verify says where to look
instead - a receipt from another verifier (another data dir) is the common case.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from verifier.agents.receipts import ReceiptError, verify_receipt
from verifier.ops.callbacks import outbound_refusal
from verifier.protocol import AgentVPError
from verifier.protocol.jose import parse_unverified_jws

__all__ = ["ReceiptKeys", "check_receipt", "keys_for_receipt", "unverified_issuer"]

JWKS_PATH = "/.well-known/jwks.json"


@dataclass(frozen=True)
class ReceiptKeys:
    jwks: Mapping[str, Any]
    source: str  # what the keys are, for the operator


def unverified_issuer(token: str) -> tuple[str | None, str | None]:
    """The receipt's ``iss`` and header ``kid``, read before any signature check."""
    try:
        jws = parse_unverified_jws(token, what="receipt")
        iss = jws.payload_json(what="receipt").get("iss")
    except AgentVPError as exc:
        raise ReceiptError(exc.reason) from None
    kid = jws.header.get("kid")
    return (iss if isinstance(iss, str) else None), (kid if isinstance(kid, str) else None)


def _fetch(url: str) -> dict[str, Any]:
    try:
        answer = httpx.get(url, timeout=10, follow_redirects=False, trust_env=False)
        answer.raise_for_status()
        data = answer.json()
    except httpx.HTTPStatusError as exc:
        raise ReceiptError(f"{url} answered {exc.response.status_code}") from None
    except httpx.HTTPError as exc:
        raise ReceiptError(f"cannot fetch {url}: {type(exc).__name__}") from None
    except ValueError:
        raise ReceiptError(f"{url} is not a JWKS (no JSON)") from None
    if not isinstance(data, dict):
        raise ReceiptError(f"{url} is not a JWKS")
    return data


def _file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReceiptError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ReceiptError(f"{path} is not a JWK or JWKS")
    return data


def _local_key(data_dir: Path) -> ReceiptKeys | None:
    path = data_dir / "verifier" / "signing_key.json"
    if not path.is_file():
        return None
    key = _file(path)
    public = {k: v for k, v in key.items() if k != "d"}
    source = f"the verifier key in {path} (kid {public.get('kid')})"
    return ReceiptKeys({"keys": [public]}, source)


def keys_for_receipt(
    token: str, *, jwks: str | None, data_dir: Path, allow_hosts: Collection[str]
) -> ReceiptKeys:
    """The keys to check ``token`` with, in the order of the module docstring."""
    if jwks is not None:
        if jwks.startswith(("https://", "http://")):
            return ReceiptKeys(_fetch(jwks), jwks)
        return ReceiptKeys(_file(Path(jwks)), jwks)
    local = _local_key(data_dir)
    if local is not None:
        return local
    iss, _ = unverified_issuer(token)
    if iss is None:
        raise ReceiptError(f"no key to check with: no {data_dir}/verifier and no iss; pass --jwks")
    url = iss.rstrip("/") + JWKS_PATH
    refusal = outbound_refusal(url, allow_hosts, what="the receipt's issuer")
    if refusal is not None:
        raise ReceiptError(f"no local verifier key in {data_dir}, and {refusal}; or pass --jwks")
    return ReceiptKeys(_fetch(url), f"the keys {iss} publishes ({url})")


def check_receipt(token: str, keys: ReceiptKeys) -> dict[str, Any]:
    """The receipt's claims; :class:`ReceiptError` naming the keys tried, and the issuer's
    published keys as the place to look when they were not those."""
    try:
        return verify_receipt(token, keys.jwks)
    except ReceiptError as exc:
        iss, kid = unverified_issuer(token)
        hint = ""
        if iss and JWKS_PATH not in keys.source:
            hint = f"; it names issuer {iss}: try --jwks {iss.rstrip('/')}{JWKS_PATH}"
        raise ReceiptError(f"{exc} (checked with {keys.source}; receipt kid {kid}){hint}") from None
