"""Wallet-side DCQL evaluation (OpenID4VP 1.0 §6.4, digest §2.4-§2.5, wallet checks 20-22).

For each credential query: the held credentials that match (format, ``meta.vct_values``, holder
binding, ``trusted_authorities`` of type ``aki``, claims with ``values``) and, for each, the
**minimal** set of disclosures that reveals the first satisfiable claim combination: every
disclosure on the way to a selected claim (RFC 9901 recursive disclosure), everything beneath a
selected object, and nothing else - except that an integer index also reveals the disclosable
elements before it, since undisclosed elements vanish for the verifier and would shift the index.
A query without ``claims`` gets no disclosures at all.

:func:`select_presentation` then applies ``credential_sets`` and ``multiple``; when a required
set cannot be satisfied, nothing is returned (``access_denied``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from ..errors import AccessDeniedError, SDJWTError, TrustError
from ..jose import b64url_encode, hash_b64, parse_unverified_jws
from ..sdjwt.disclosures import (
    ARRAY_DIGEST,
    SD_ALG,
    SD_DIGESTS,
    Disclosure,
    decode_disclosure,
    split_sd_jwt,
)
from ..sdjwt.vc import FORMAT
from ..x509.chain import parse_x5c
from .claims_path import PathComponent, values_match
from .query import ClaimsQuery, CredentialQuery, DCQLQuery

__all__ = ["CredentialMatch", "HeldCredential", "match_credentials", "select_presentation"]


@dataclass(frozen=True, slots=True)
class HeldCredential:
    """An issued SD-JWT VC as a wallet holds it: issuer JWT plus every disclosure."""

    id: str
    issuer_jwt: str
    header: dict[str, Any]
    payload: dict[str, Any]
    disclosures: tuple[Disclosure, ...]

    @classmethod
    def from_issuance(cls, serialized: str, *, id: str = "") -> HeldCredential:
        """Parse (not verify) an issuance; an SD-JWT+KB from an issuer is refused (§7.1)."""
        parts = split_sd_jwt(serialized, max_disclosures=1024)
        if parts.kb_jwt is not None:
            raise SDJWTError("kb_jwt_unexpected", "an issued SD-JWT must not carry a KB-JWT")
        jws = parse_unverified_jws(parts.issuer_jwt, what="issuer JWT")
        payload = jws.payload_json()
        alg = payload.get(SD_ALG, "sha-256")
        disclosures = tuple(decode_disclosure(d, hash_b64(d, str(alg))) for d in parts.disclosures)
        return cls(id, parts.issuer_jwt, jws.header, payload, disclosures)

    @property
    def vct(self) -> str | None:
        vct = self.payload.get("vct")
        return vct if isinstance(vct, str) else None

    @property
    def has_holder_key(self) -> bool:
        cnf = self.payload.get("cnf")
        return isinstance(cnf, dict) and isinstance(cnf.get("jwk"), dict)

    def tree(self) -> _Node:
        by_digest = {d.digest: d for d in self.disclosures}
        return _annotate(self.payload, None, by_digest)


@dataclass(frozen=True, slots=True)
class _Node:
    """A claim with every disclosure applied, and the disclosure that introduced it."""

    value: Any
    digest: str | None
    children: dict[str, _Node] | list[_Node] | None


def _annotate(raw: Any, digest: str | None, by_digest: Mapping[str, Disclosure]) -> _Node:
    if isinstance(raw, dict):
        kids: dict[str, _Node] = {
            k: _annotate(v, None, by_digest)
            for k, v in raw.items()
            if k not in (SD_DIGESTS, SD_ALG)
        }
        for d in raw.get(SD_DIGESTS, ()):
            disclosure = by_digest.get(d)
            if disclosure is not None and disclosure.name is not None:
                kids[disclosure.name] = _annotate(disclosure.value, d, by_digest)
        return _Node({k: n.value for k, n in kids.items()}, digest, kids)
    if isinstance(raw, list):
        items: list[_Node] = []
        for element in raw:
            if isinstance(element, dict) and set(element) == {ARRAY_DIGEST}:
                disclosure = by_digest.get(element[ARRAY_DIGEST])
                if disclosure is not None and disclosure.name is None:
                    items.append(_annotate(disclosure.value, disclosure.digest, by_digest))
            else:
                items.append(_annotate(element, None, by_digest))
        return _Node([n.value for n in items], digest, items)
    return _Node(raw, digest, None)


def _subtree_digests(node: _Node, out: set[str]) -> None:
    if node.digest is not None:
        out.add(node.digest)
    children = node.children
    if isinstance(children, dict):
        children = list(children.values())
    for child in children or ():
        _subtree_digests(child, out)


def _select(root: _Node, path: Sequence[PathComponent]) -> list[tuple[_Node, frozenset[str]]]:
    """Claims-path selection over annotated nodes; each result carries its ancestors' digests."""
    selected: list[tuple[_Node, frozenset[str]]] = [(root, frozenset())]
    for component in path:
        nxt: list[tuple[_Node, frozenset[str]]] = []
        for node, above in selected:
            kids = node.children
            if isinstance(component, str):
                if not isinstance(kids, dict):
                    return []
                picked = [kids[component]] if component in kids else []
            elif not isinstance(kids, list):
                return []
            elif component is None:
                picked = kids
            else:
                picked = [kids[component]] if component < len(kids) else []
            carried = above
            if isinstance(component, int) and picked and isinstance(kids, list):
                # Undisclosed elements vanish for the verifier, shifting indices: reveal every
                # disclosable element before the one selected so the index still points at it.
                carried = above | {k.digest for k in kids[:component] if k.digest}
            for child in picked:
                nxt.append((child, carried | {child.digest} if child.digest else carried))
        selected = nxt
    return selected


def _claim_digests(root: _Node, claim: ClaimsQuery) -> set[str] | None:
    """Disclosures revealing ``claim``, or None when the credential cannot satisfy it."""
    hits = _select(root, claim.path)
    if claim.values is not None:
        hits = [(n, a) for n, a in hits if values_match(n.value, claim.values)]
    if not hits:
        return None
    needed: set[str] = set()
    for node, above in hits:
        needed |= above
        _subtree_digests(node, needed)
    return needed


def _aki_values(header: Mapping[str, Any]) -> set[str]:
    """base64url AuthorityKeyIdentifiers of the certificates in the issuer's ``x5c``."""
    out: set[str] = set()
    if "x5c" not in header:
        return out
    try:
        chain = parse_x5c(header["x5c"])  # strict and canonical, as the trust check reads it
    except TrustError:
        return out  # an unparsable chain simply matches nothing
    for cert in chain:
        try:
            ext = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
        except x509.ExtensionNotFound:
            continue
        if ext.value.key_identifier:
            out.add(b64url_encode(ext.value.key_identifier))
    return out


def _trusted_authorities_match(query: CredentialQuery, held: HeldCredential) -> bool:
    if not query.trusted_authorities:
        return True
    for authority in query.trusted_authorities:
        if authority.type == "aki" and _aki_values(held.header) & set(authority.values):
            return True
        if authority.type != "aki":
            return True  # types we cannot evaluate are hints only (SHOULD); the verifier decides
    return False


@dataclass(frozen=True, slots=True)
class CredentialMatch:
    """One held credential that satisfies a credential query, with its minimal disclosures."""

    query_id: str
    credential: HeldCredential
    disclosures: tuple[Disclosure, ...]
    claims: tuple[ClaimsQuery, ...]


def _match_one(query: CredentialQuery, held: HeldCredential) -> CredentialMatch | None:
    if query.format != FORMAT or held.vct not in query.vct_values:
        return None
    if query.require_cryptographic_holder_binding and not held.has_holder_key:
        return None
    if not _trusted_authorities_match(query, held):
        return None
    root = held.tree()
    known: dict[int, set[str] | None] = {}  # each claim once, however many sets name it
    for option in query.claim_options():
        needed: set[str] = set()
        for claim in option:
            if id(claim) not in known:
                known[id(claim)] = _claim_digests(root, claim)
            digests = known[id(claim)]
            if digests is None:
                break
            needed |= digests
        else:
            chosen = tuple(d for d in held.disclosures if d.digest in needed)
            return CredentialMatch(query.id, held, chosen, option)
    return None


def match_credentials(
    query: DCQLQuery, credentials: Sequence[HeldCredential]
) -> dict[str, list[CredentialMatch]]:
    """Every credential query id mapped to all held credentials that satisfy it."""
    return {
        cq.id: [m for m in (_match_one(cq, h) for h in credentials) if m is not None]
        for cq in query.credentials
    }


def select_presentation(
    query: DCQLQuery, matches: Mapping[str, Sequence[CredentialMatch]]
) -> dict[str, list[CredentialMatch]]:
    """Apply ``credential_sets`` and ``multiple``; raise ``access_denied`` if unsatisfiable."""
    by_id = query.by_id()

    def pick(query_id: str) -> list[CredentialMatch]:
        found = list(matches.get(query_id, ()))
        return found if by_id[query_id].multiple else found[:1]

    chosen: dict[str, list[CredentialMatch]] = {}
    if query.credential_sets is None:
        for cq in query.credentials:
            if not matches.get(cq.id):
                raise AccessDeniedError(
                    "no_matching_credentials", f"no credential satisfies query {cq.id!r}"
                )
            chosen[cq.id] = pick(cq.id)
        return chosen
    for index, cset in enumerate(query.credential_sets):
        option = next((o for o in cset.options if all(matches.get(i) for i in o)), None)
        if option is None:
            if cset.required:
                raise AccessDeniedError(
                    "no_matching_credentials", f"credential_sets[{index}] cannot be satisfied"
                )
            continue
        for query_id in option:
            chosen.setdefault(query_id, pick(query_id))
    return chosen
