"""Structure-aware mutations of valid artifacts (JWS, SD-JWT, JWE, JSON), driven by a Source.

Layers, from blind to informed:

- characters: replace, insert, delete, duplicate, truncate, shift a code point;
- segments: the ``~`` parts of an SD-JWT and the ``.`` segments of a JWS/JWE swapped, dropped,
  duplicated, emptied or spliced in from another artifact;
- segment content: the base64url JSON inside a segment decoded, mutated as JSON (members
  added/removed/retyped, values from :data:`source.SCALARS`, deep nesting, duplicate names) and
  re-encoded; raw bytes (signatures, ciphertexts) bit-flipped; non-canonical base64url tails;
- signatures: a JWS re-signed with a wrong key, its ``alg`` set to ``none`` or to ``HS256``
  keyed with a public key, or - where the caller allows it - re-signed with the *right* key
  after tampering, which reaches the checks behind the signature (such an input claims no
  integrity: its :attr:`Case.origin` is None);
- SD-JWTs forged from a seed: disclosures mutated and their digests fixed up in the payload,
  new disclosures referenced from random places, then signed (and key-bound) with given keys.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from verifier.protocol.errors import MalformedError
from verifier.protocol.jose import SigningKey, b64url_decode, b64url_encode, hash_b64
from verifier.protocol.sdjwt.kb_jwt import create_kb_jwt

from .source import ALPHABET, NAMES, Source, choice, encode_json, random_json

__all__ = [
    "Case",
    "b64json",
    "b64json_decode",
    "forge_sd_jwt",
    "mutate",
    "mutate_json",
    "text_case",
]

Trusted = Callable[[str], SigningKey | None]


@dataclass(frozen=True)
class Case:
    """One fuzz input. ``origin``: the signed seed it was tampered from, when the mutation
    claims to have broken integrity (then acceptance must be legitimate); else None."""

    value: Any
    origin: Any = None


# --------------------------------------------------------------------------------------------
# JSON


def b64json_decode(segment: str) -> Any:
    """The JSON inside a base64url segment, or None (lenient: this is the attacker's side)."""
    try:
        return json.loads(b64url_decode(segment))
    except (MalformedError, ValueError, RecursionError):
        return None


def b64json(src: Source, value: Any) -> str:
    return b64url_encode(encode_json(src, value).encode("utf-8", "surrogatepass"))


def _paths(value: Any, limit: int = 512) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), value)]
    while stack and len(out) < limit:
        path, node = stack.pop()
        out.append(path)
        if isinstance(node, dict):
            stack.extend(((*path, k), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in enumerate(node))
    return out


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _set(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    _get(value, path[:-1])[path[-1]] = new
    return value


def _tweak(src: Source, node: Any) -> Any:
    if isinstance(node, bool) or node is None:
        return choice(src, (not node, 0, "true", None))
    if isinstance(node, int | float):
        bigger = node * 2**40 if abs(node) < 2**200 else node  # stays a float and encodable
        return choice(src, (node + 1, node - 1, -node, bigger, node % 7 + 0.5, str(node)))
    if isinstance(node, str):
        return mutate_chars(src, node) if node else src.text(8)
    if isinstance(node, dict):
        return list(node.values()) if src.below(2) else list(node.items())
    return {str(i): v for i, v in enumerate(node)}


def _grow(src: Source, node: Any) -> Any:
    """``node`` with one more member or element (a scalar gets wrapped)."""
    if isinstance(node, dict):
        node[choice(src, NAMES)] = random_json(src, 2)
    elif isinstance(node, list):
        node.insert(src.below(len(node) + 1), random_json(src, 2))
    else:
        node = [node] if src.below(2) else {choice(src, NAMES): node}
    return node


def mutate_json(src: Source, value: Any) -> Any:
    """One JSON-level change somewhere in (a copy of) ``value``."""
    value = copy.deepcopy(value)
    path = choice(src, _paths(value))
    node = _get(value, path)
    op = src.below(6)
    if op == 1 and path:
        del _get(value, path[:-1])[path[-1]]
        return value
    if op == 0:
        new = random_json(src)
    elif op == 2:
        new = _grow(src, node)
    elif op == 3:
        new = [node] if src.below(2) else {choice(src, NAMES): node}
    elif op == 4:
        new = copy.deepcopy(_get(value, choice(src, _paths(value))))
    else:
        new = _tweak(src, node)
    return _set(value, path, new)


# --------------------------------------------------------------------------------------------
# Characters and segments


def mutate_chars(src: Source, text: str) -> str:
    """One character-level change: replace, insert, delete, duplicate, truncate, shift."""
    pos = src.below(len(text) + 1)
    head, tail = text[:pos], text[pos:]
    op = src.below(6)
    if op == 0 and tail:
        tail = choice(src, ALPHABET) + tail[1:]
    elif op == 1:
        head += src.text(8)
    elif op == 2:
        tail = tail[1 + src.below(16) :]
    elif op == 3:
        head += tail[: 1 + src.below(32)]
    elif op == 4:
        tail = ""
    elif tail:
        shifted = ord(tail[0]) + choice(src, (1, -1, 32, -32))
        tail = chr(max(0, min(0x10FFFF, shifted))) + tail[1:]
    else:
        tail = src.text(4)
    return head + tail


def _reorder(src: Source, items: list[str], donors: Sequence[str]) -> list[str]:
    items = list(items)
    i, j = src.below(len(items)), src.below(len(items))
    op = src.below(5)
    if op == 0:
        items[i], items[j] = items[j], items[i]
    elif op == 1 and len(items) > 1:
        del items[i]
    elif op == 2:
        items.insert(j, items[i])
    elif op == 3 and donors:
        items[i] = choice(src, donors)
    else:
        items[i] = ""
    return items


def mutate_segments(src: Source, text: str, donors: Sequence[str]) -> str:
    parts = text.split("~")
    if len(parts) > 1 and src.below(2):
        return "~".join(_reorder(src, parts, [p for d in donors for p in d.split("~")]))
    i = src.below(len(parts))
    segments = [s for d in donors for p in d.split("~") for s in p.split(".")]
    parts[i] = ".".join(_reorder(src, parts[i].split("."), segments))
    return "~".join(parts)


_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _noncanonical(segment: str) -> str:
    """Same bytes, other text: set the unused low bits of the last base64url character."""
    unused = {2: 4, 3: 2}.get(len(segment) % 4)
    index = _B64URL.find(segment[-1:]) if segment else -1
    if not unused or index < 0:
        return segment + "A"
    return segment[:-1] + _B64URL[index | ((1 << unused) - 1)]


def mutate_der(src: Source, x5c: list[Any]) -> list[Any]:
    """An ``x5c`` chain with bytes of one DER certificate flipped, overwritten or deleted."""
    x5c = list(x5c)
    i = src.below(len(x5c))
    try:
        der = bytearray(base64.b64decode(x5c[i], validate=True))
    except (TypeError, ValueError):
        return x5c
    for _ in range(1 + src.below(3)):
        if not der:
            break
        pos = src.below(len(der))
        op = src.below(3)
        if op == 0:
            der[pos] ^= 1 << src.below(8)
        elif op == 1:
            der[pos] = choice(src, (0x00, 0x01, 0x04, 0x0C, 0x13, 0x30, 0x7F, 0x80, 0x81, 0xFF))
        else:
            del der[pos]
    x5c[i] = base64.b64encode(der).decode()
    return x5c


def mutate_segment_content(src: Source, segment: str) -> str:
    value = b64json_decode(segment)
    op = src.below(5)
    if op == 0 and value is not None:
        return b64json(src, mutate_json(src, value))
    if op == 1 and isinstance(value, dict) and isinstance(value.get("x5c"), list) and value["x5c"]:
        value["x5c"] = mutate_der(src, value["x5c"])
        return b64json(src, value)
    if op <= 2:
        try:
            raw = bytearray(b64url_decode(segment))
        except MalformedError:
            return mutate_chars(src, segment)
        if raw:
            raw[src.below(len(raw))] ^= 1 << src.below(8)
        return b64url_encode(bytes(raw[: len(raw) - src.below(2)]))
    if op == 3:
        return _noncanonical(segment)
    return b64json(src, random_json(src))


def _on_part(src: Source, text: str, dots: int | None, fn: Callable[[str], str]) -> str:
    """Apply ``fn`` to one ``~`` part (one with ``dots`` dots, if given)."""
    parts = text.split("~")
    where = [i for i, p in enumerate(parts) if dots is None or p.count(".") == dots]
    if not where:
        return text
    i = choice(src, where)
    parts[i] = fn(parts[i])
    return "~".join(parts)


def _on_segment(src: Source, part: str) -> str:
    segments = part.split(".")
    i = src.below(len(segments))
    segments[i] = mutate_segment_content(src, segments[i])
    return ".".join(segments)


# --------------------------------------------------------------------------------------------
# Signatures


def resign(src: Source, jws: str, key: SigningKey, *, tamper: bool) -> str:
    """``jws`` signed again by ``key`` (``alg`` set to the key's), maybe tampered first."""
    head, payload, _ = ([*jws.split("."), "", ""])[:3]
    header = b64json_decode(head)
    header = header if isinstance(header, dict) else {}
    header["alg"] = key.alg
    if tamper and src.below(2):
        header = mutate_json(src, header)
    elif tamper:
        body = b64json_decode(payload)
        payload = b64json(src, mutate_json(src, body)) if body is not None else payload
    head = b64json(src, header)
    signing_input = f"{head}.{payload}".encode("utf-8", "surrogatepass")
    return f"{head}.{payload}.{b64url_encode(key.sign(signing_input))}"


def forge_alg(src: Source, jws: str, public_jwk: dict[str, Any]) -> str:
    """``alg`` ``none`` (empty signature) or ``HS256`` keyed with the public JWK's JSON text."""
    head, payload, _ = ([*jws.split("."), "", ""])[:3]
    header = b64json_decode(head)
    header = header if isinstance(header, dict) else {}
    header["alg"] = choice(src, ("none", "HS256", "None", "ES256K", "RS256", "EdDSA"))
    head = b64json(src, header)
    if header["alg"] != "HS256":
        return f"{head}.{payload}."
    secret = json.dumps(public_jwk).encode()
    mac = hmac.new(secret, f"{head}.{payload}".encode(errors="replace"), hashlib.sha256)
    return f"{head}.{payload}.{b64url_encode(mac.digest())}"


def mutate(
    src: Source,
    seed: str,
    *,
    donors: Sequence[str] = (),
    wrong_keys: Sequence[SigningKey] = (),
    trusted: Trusted | None = None,
) -> tuple[str, bool]:
    """1-3 stacked mutations of ``seed``; True when a JWS was re-signed by a ``trusted`` key."""
    text, trusted_used = seed, False
    for _ in range(1 + src.below(3)):
        op = src.below(6 if trusted is not None else 5)
        if op == 0:
            text = mutate_chars(src, text)
        elif op == 1:
            text = mutate_segments(src, text, donors)
        elif op == 2:
            text = _on_part(src, text, None, lambda part: _on_segment(src, part))
        elif op == 3 and wrong_keys:
            key = choice(src, wrong_keys)
            text = _on_part(
                src, text, 2, lambda part, k=key: resign(src, part, k, tamper=bool(src.below(2)))
            )
        elif op == 4 or (op == 3 and not wrong_keys):
            jwk = choice(src, wrong_keys).public_jwk if wrong_keys else {"kty": "oct"}
            text = _on_part(src, text, 2, lambda part, j=jwk: forge_alg(src, part, j))
        elif trusted is not None:
            before = text
            text = _on_part(src, text, 2, lambda part: _resign_trusted(src, part, trusted))
            trusted_used = trusted_used or text != before
    return text, trusted_used


def _resign_trusted(src: Source, part: str, trusted: Trusted) -> str:
    key = trusted(part)
    return part if key is None else resign(src, part, key, tamper=True)


def text_case(
    src: Source,
    seeds: Sequence[str],
    *,
    tampered_only: bool = False,
    wrong_keys: Sequence[SigningKey] = (),
    trusted: Trusted | None = None,
    donors: Sequence[str] = (),
) -> Case:
    """Random text (sometimes), or a mutated seed; ``tampered_only``: never re-signed by a
    trusted key, so the case keeps its ``origin``."""
    mode = 0 if tampered_only else src.below(4)
    if mode == 1:
        return Case(src.text(200))
    if mode == 2:
        return Case(src.blob(200).decode("latin-1"))
    seed = choice(src, seeds)
    text, resigned = mutate(
        src,
        seed,
        donors=donors or seeds,
        wrong_keys=wrong_keys,
        trusted=None if tampered_only else trusted,
    )
    return Case(text, None if resigned else seed)


# --------------------------------------------------------------------------------------------
# SD-JWT forging


def _reference(src: Source, claims: Any, digest: str) -> None:
    """Reference ``digest`` from a random object (``_sd``) or array (``{"...": digest}``)."""
    nodes = [_get(claims, p) for p in _paths(claims)]
    holders = [n for n in nodes if isinstance(n, dict | list)]
    node = choice(src, holders) if holders else claims
    if isinstance(node, list):
        node.insert(src.below(len(node) + 1), {"...": digest})
    elif isinstance(node.get("_sd"), list):
        node["_sd"].append(digest)
    else:
        node["_sd"] = [digest]


def forge_sd_jwt(
    src: Source,
    seed: str,
    *,
    issuer_key: SigningKey,
    holder_key: SigningKey | None,
    audience: str,
    nonce: str,
    now: int,
) -> str:
    """A new SD-JWT (+KB) from ``seed``: mutated disclosures with their digests fixed up in the
    payload, maybe an extra referenced disclosure, a mutated payload; validly signed."""
    parts = seed.split("~")
    head, payload_b64 = ([*parts[0].split("."), ""])[:2]
    payload_text = b64url_decode(payload_b64).decode()
    disclosures = [d for d in parts[1:-1] if d]
    for _ in range(src.below(3)):
        if not disclosures:
            break
        i = src.below(len(disclosures))
        value = b64json_decode(disclosures[i])
        new = b64json(src, mutate_json(src, value))
        payload_text = payload_text.replace(hash_b64(disclosures[i]), hash_b64(new))
        disclosures[i] = new
    claims = json.loads(payload_text)
    if src.below(2):
        claims = mutate_json(src, claims)
    if src.below(2) and isinstance(claims, dict):
        extra = b64json(
            src, [src.text(8), *([choice(src, NAMES)] * src.below(2)), random_json(src)]
        )
        _reference(src, claims, hash_b64(extra))
        disclosures.insert(src.below(len(disclosures) + 1), extra)
    if disclosures and src.below(4) == 0:
        disclosures = _reorder(src, disclosures, disclosures)
    issuer_jwt = resign(src, f"{head}.{b64json(src, claims)}.", issuer_key, tamper=False)
    presented = "~".join((issuer_jwt, *disclosures, ""))
    if holder_key is None or not parts[-1]:
        return presented
    return presented + create_kb_jwt(
        presented=presented, holder_key=holder_key, audience=audience, nonce=nonce, iat=now
    )
