"""SD-JWT (RFC 9901): compact serialisation, disclosures, digests, payload reconstruction.

Implements digest §3: the split of §4 (check 19), the disclosure and digest rules of §4.2, and
the processing algorithm of §7.1 steps 3-8 (checks 23-29): every received disclosure is hashed
over its exact base64url text; embedded digests are found in ``_sd`` arrays and ``{"...": d}``
array elements; a disclosure must have the arity of where its digest sits; reserved names and
name collisions are refused; a digest may occur only once anywhere; every disclosure must be
reachable from the issuer-signed payload (directly or through other sent disclosures). The
rebuild records its :class:`~.layout.SDLayout`: where each disclosure put a value and which
containers keep digests no sent disclosure matched.

Nothing here verifies signatures; :mod:`verifier.protocol.sdjwt.vc` orders the whole check.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from ..errors import AlgorithmError, MalformedError, SDJWTError
from ..jose import b64url_decode
from ..jose.base64url import b64url_decode_json_ascii, digest_b64_function
from ..jsonutil import DEFAULT_MAX_BYTES, loads
from .layout import ClaimPath, SDLayout

__all__ = [
    "ARRAY_DIGEST",
    "SD_ALG",
    "SD_DIGESTS",
    "SUPPORTED_SD_ALGS",
    "Disclosure",
    "Reconstructed",
    "SDJWTParts",
    "SDLayout",
    "decode_disclosure",
    "reconstruct",
    "serialize",
    "split_sd_jwt",
]

SD_DIGESTS = "_sd"
ARRAY_DIGEST = "..."
SD_ALG = "_sd_alg"
# RFC 9901 §4.1.1: sha-256 MUST be supported; truncated variants are unfit.
SUPPORTED_SD_ALGS = frozenset({"sha-256", "sha-384", "sha-512"})
DEFAULT_MAX_DISCLOSURES = 128
DEFAULT_MAX_NESTING = 64

# RFC 9901 §4.2.1 reserves "_sd" and "..."; "_sd_alg" may only sit at the top of the
# issuer-signed payload (§4.1.1), so a disclosure may not introduce it either.
_RESERVED_NAMES = (SD_DIGESTS, ARRAY_DIGEST, SD_ALG)
# Named tuples per presentation (SDJWTParts, Disclosure, Reconstructed) are built as
# ``tuple.__new__(Cls, (...))``: the same object as ``Cls(...)``, without the named tuple's
# generated ``__new__`` (Python code, run by the interpreter even in the compiled build). Held
# here, so that the compiled build does not look ``__new__`` up on ``tuple`` per call.
_tuple_new = tuple.__new__


class SDJWTParts(NamedTuple):
    """A compact SD-JWT or SD-JWT+KB split on ``~``. Unverified."""

    issuer_jwt: str
    disclosures: tuple[str, ...]
    kb_jwt: str | None

    @property
    def presented(self) -> str:
        """``<issuer JWT>~<d1>~...~<dN>~``: the input of the KB-JWT ``sd_hash``."""
        return serialize(self.issuer_jwt, self.disclosures)


def serialize(issuer_jwt: str, disclosures: Iterable[str], kb_jwt: str | None = None) -> str:
    return "~".join((issuer_jwt, *disclosures, kb_jwt or ""))


def split_sd_jwt(serialized: str, *, max_disclosures: int = DEFAULT_MAX_DISCLOSURES) -> SDJWTParts:
    """Split per RFC 9901 §4: the last component is empty (SD-JWT) or a JWT (SD-JWT+KB)."""
    if not isinstance(serialized, str):
        raise MalformedError("malformed_sd_jwt", "presentation is not a string")
    # The first and the last "~" by memchr; only the disclosures between them are split (a
    # one-character split reads character by character, and the issuer JWT is most of the text).
    first = serialized.find("~")
    if first < 0:
        raise MalformedError("malformed_sd_jwt", "SD-JWT has no '~' separator")
    end = serialized.rfind("~")
    issuer_jwt, last = serialized[:first], serialized[end + 1 :]
    disclosures = serialized[first + 1 : end].split("~") if end > first else []
    if len(disclosures) > max_disclosures:
        raise MalformedError(
            "too_many_disclosures", f"{len(disclosures)} disclosures, limit {max_disclosures}"
        )
    if "" in disclosures:
        raise MalformedError("malformed_sd_jwt", "empty disclosure between two '~'")
    if last and last.count(".") != 2:
        raise MalformedError("malformed_sd_jwt", "last component is neither empty nor a KB-JWT")
    # SDJWTParts(issuer_jwt, disclosures, kb_jwt), built as a plain tuple (see _tuple_new)
    return _tuple_new(SDJWTParts, (issuer_jwt, tuple(disclosures), last or None))


class Disclosure(NamedTuple):
    """One decoded disclosure: ``[salt, name, value]`` (object property) or ``[salt, value]``."""

    encoded: str
    digest: str
    salt: str
    name: str | None
    value: Any


def decode_disclosure(encoded: str, digest: str) -> Disclosure:
    """Decode the base64url JSON array; arity and types are checked, placement is not."""
    try:
        raw = b64url_decode(encoded)
    except MalformedError as exc:
        raise MalformedError(exc.code, f"disclosure {digest}: {exc.reason}") from None
    return _decode_ascii(encoded, raw, digest, decoded=True)


def _decode_ascii(encoded: str, raw: bytes, digest: str, *, decoded: bool = False) -> Disclosure:
    """:func:`decode_disclosure` of ``raw``: ``encoded`` as ASCII bytes (or, ``decoded``, the
    bytes it already decoded to)."""
    try:
        text = raw if decoded else b64url_decode_json_ascii(raw, DEFAULT_MAX_BYTES)
        value = loads(text)
    except MalformedError as exc:
        raise MalformedError(exc.code, f"disclosure {digest}: {exc.reason}") from None
    if type(value) is not list or not 2 <= len(value) <= 3:
        raise MalformedError(
            "malformed_disclosure", f"disclosure {digest} is not a JSON array of 2 or 3"
        )
    if type(value[0]) is not str:
        raise MalformedError("malformed_disclosure", f"disclosure {digest} salt is not a string")
    if len(value) == 3:
        if type(value[1]) is not str:
            raise MalformedError(
                "malformed_disclosure", f"disclosure {digest} claim name is not a string"
            )
        return _tuple_new(Disclosure, (encoded, digest, value[0], value[1], value[2]))
    return _tuple_new(Disclosure, (encoded, digest, value[0], None, value[1]))


class Reconstructed(NamedTuple):
    """The Processed SD-JWT Payload and what was used to build it."""

    claims: dict[str, Any]
    disclosures: tuple[Disclosure, ...]
    top_level_disclosed: frozenset[str]
    sd_alg: str
    layout: SDLayout


class _Rebuilder:
    """One reconstruction run; mutates the freshly parsed payload in place (we own it)."""

    __slots__ = ("by_digest", "concealed", "disclosed", "max_nesting", "seen", "top_level", "used")

    def __init__(self, by_digest: dict[str, tuple[str, bytes]], max_nesting: int) -> None:
        self.by_digest = by_digest
        self.max_nesting = max_nesting
        self.seen: set[str] = set()
        self.used: dict[str, Disclosure] = {}
        self.top_level: set[str] = set()
        self.disclosed: set[ClaimPath] = set()  # where a disclosure put a value
        self.concealed: set[ClaimPath] = set()  # containers left with an unmatched digest

    def _take(self, digest: Any) -> Disclosure | None:
        if not isinstance(digest, str):
            raise SDJWTError("sd_malformed", "an embedded digest is not a string")
        if digest in self.seen:
            raise SDJWTError("duplicate_digest", f"digest {digest} occurs more than once")
        self.seen.add(digest)
        sent = self.by_digest.get(digest)
        if sent is None:
            return None  # undisclosed claim or decoy
        disclosure = _decode_ascii(sent[0], sent[1], digest)
        self.used[digest] = disclosure
        return disclosure

    def value(self, node: Any, depth: int, path: ClaimPath) -> Any:
        if isinstance(node, dict):
            return self.obj(node, depth, path)
        if isinstance(node, list):
            return self.array(node, depth, path)
        return node

    def obj(self, node: dict[str, Any], depth: int, path: ClaimPath) -> dict[str, Any]:
        if depth > self.max_nesting:
            raise MalformedError("json_too_deep", f"SD-JWT nests deeper than {self.max_nesting}")
        if depth and SD_ALG in node:
            raise SDJWTError("sd_alg_not_top_level", "'_sd_alg' appears below the top level")
        if ARRAY_DIGEST in node:
            raise SDJWTError("sd_malformed", "'...' used as an object member name")
        digests = node.pop(SD_DIGESTS, None)
        for key, child in node.items():
            if isinstance(child, dict):
                self.obj(child, depth + 1, (*path, key))  # rebuilt in place
            elif isinstance(child, list):
                node[key] = self.array(child, depth + 1, (*path, key))
        if digests is None:
            return node
        if not isinstance(digests, list):
            raise SDJWTError("sd_malformed", "'_sd' is not an array")
        for digest in digests:
            disclosure = self._take(digest)
            if disclosure is None:
                self.concealed.add(path)
            else:
                self._insert(node, disclosure, depth, path)
        return node

    def _insert(
        self, node: dict[str, Any], disclosure: Disclosure, depth: int, path: ClaimPath
    ) -> None:
        """Step 5 for an object property: arity 3, no reserved name, no collision."""
        _, digest, _, name, value = disclosure
        if name is None:
            raise SDJWTError(
                "disclosure_wrong_arity",
                f"disclosure {digest} sits in '_sd' but is an array-element disclosure",
            )
        if name in _RESERVED_NAMES:
            raise SDJWTError("disclosure_reserved_name", f"disclosure names the claim {name!r}")
        if name in node:
            raise SDJWTError(
                "disclosure_name_collision", f"claim {name!r} already exists at this level"
            )
        where = (*path, name)
        node[name] = self.value(value, depth + 1, where)
        self.disclosed.add(where)
        if depth == 0:
            self.top_level.add(name)

    def array(self, node: list[Any], depth: int, path: ClaimPath) -> list[Any]:
        if depth > self.max_nesting:
            raise MalformedError("json_too_deep", f"SD-JWT nests deeper than {self.max_nesting}")
        out: list[Any] = []
        for element in node:
            if isinstance(element, dict) and ARRAY_DIGEST in element:
                if len(element) != 1:
                    raise SDJWTError(
                        "sd_malformed", "array digest object has members besides '...'"
                    )
                disclosure = self._take(element[ARRAY_DIGEST])
                if disclosure is None:
                    self.concealed.add(path)
                    continue  # undisclosed element or decoy: it vanishes
                _, digest, _, name, value = disclosure
                if name is not None:
                    raise SDJWTError(
                        "disclosure_wrong_arity",
                        f"disclosure {digest} is an array element but has a claim name",
                    )
                where = (*path, len(out))
                self.disclosed.add(where)
                out.append(self.value(value, depth + 1, where))
            elif isinstance(element, dict):
                out.append(self.obj(element, depth + 1, (*path, len(out))))
            elif isinstance(element, list):
                out.append(self.array(element, depth + 1, (*path, len(out))))
            else:
                out.append(element)
        return out


def reconstruct(
    payload: dict[str, Any],
    disclosures: Sequence[str],
    *,
    accepted_sd_algs: Iterable[str] = SUPPORTED_SD_ALGS,
    max_nesting: int = DEFAULT_MAX_NESTING,
) -> Reconstructed:
    """RFC 9901 §7.1 steps 3-8 over an issuer payload that the caller has already verified.

    ``payload`` is consumed (modified in place) and must be a fresh parse.
    """
    sd_alg = payload.pop(SD_ALG, "sha-256")
    if not isinstance(sd_alg, str) or sd_alg not in accepted_sd_algs:
        raise AlgorithmError("sd_alg_unsupported", f"_sd_alg {sd_alg!r} is not accepted")
    # digest -> (the disclosure as sent, its ASCII bytes: hashed here, decoded once placed)
    by_digest: dict[str, tuple[str, bytes]] = {}
    digest_of = digest_b64_function(sd_alg) if disclosures else None
    for encoded in disclosures:
        try:
            raw = encoded.encode("ascii")
        except UnicodeEncodeError:
            raise MalformedError(
                "malformed_base64url", "hash input is not ASCII base64url"
            ) from None
        digest = digest_of(raw)  # type: ignore[misc]
        if digest in by_digest:
            raise SDJWTError("duplicate_disclosure", f"disclosure {digest} is sent twice")
        by_digest[digest] = (encoded, raw)
    rebuilder = _Rebuilder(by_digest, max_nesting)
    claims = rebuilder.obj(payload, 0, ())
    if len(rebuilder.used) != len(by_digest):
        stray = next(d for d in by_digest if d not in rebuilder.used)
        raise SDJWTError(
            "unreferenced_disclosure",
            f"disclosure {stray} is not referenced by the payload or by another sent disclosure",
        )
    ordered = tuple(map(rebuilder.used.__getitem__, by_digest))
    layout = SDLayout(frozenset(rebuilder.disclosed), frozenset(rebuilder.concealed))
    top_level = frozenset(rebuilder.top_level)
    return _tuple_new(Reconstructed, (claims, ordered, top_level, sd_alg, layout))
