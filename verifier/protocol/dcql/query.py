"""DCQL, the Digital Credentials Query Language (OpenID4VP 1.0 §6, digest §2).

Three parts:

- **Models** (:class:`DCQLQuery` and friends): parse and validate a query strictly (ids and their
  charset, uniqueness, ``claim_sets`` only with ``claims`` and naming existing claim ids,
  ``credential_sets`` naming existing queries, ``meta.vct_values`` for ``dc+sd-jwt``, typed
  ``values``). Unknown members are ignored, as §6 requires of a wallet; a verifier parsing the
  query its relying party wrote asks for ``strict=True`` (:func:`unknown_member`), so that a
  typo (``claim`` for ``claims``, ``value`` for ``values``) is an error naming its path instead
  of a query that silently means something else.
- **Verifier side** (:func:`check_credential`, :func:`check_credential_sets`): does a verified
  credential satisfy its query (format, ``vct``, holder binding, the requested claims with
  ``values`` re-checked here - a verifier must not rely on the wallet's filtering), and do the
  presented query ids satisfy every required credential set. Fail closed.
- **Wallet side** lives in :mod:`.dcql_match` (minimal disclosure selection).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from ..errors import DCQLError, first_error
from ..sdjwt.vc import FORMAT, VerifiedCredential
from .claims_path import PathComponent, select_claims, validate_path, values_match

__all__ = [
    "ClaimsQuery",
    "CredentialQuery",
    "CredentialSetQuery",
    "DCQLQuery",
    "TrustedAuthoritiesQuery",
    "check_credential",
    "check_credential_sets",
    "unknown_member",
]

_ID_PATTERN = r"^[A-Za-z0-9_-]+$"
Identifier = Annotated[StrictStr, Field(pattern=_ID_PATTERN)]
ClaimValue = StrictStr | StrictInt | StrictBool


def _path(value: Any) -> tuple[PathComponent, ...]:
    try:
        return validate_path(value)
    except DCQLError as exc:
        raise ValueError(exc.reason) from None


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ClaimsQuery(_Model):
    id: Identifier | None = None
    path: Annotated[tuple[PathComponent, ...], BeforeValidator(_path)]
    values: Annotated[tuple[ClaimValue, ...], Field(min_length=1)] | None = None


class TrustedAuthoritiesQuery(_Model):
    type: StrictStr
    values: Annotated[tuple[StrictStr, ...], Field(min_length=1)]


class CredentialQuery(_Model):
    id: Identifier
    format: StrictStr
    multiple: StrictBool = False
    meta: dict[str, Any]
    trusted_authorities: (
        Annotated[tuple[TrustedAuthoritiesQuery, ...], Field(min_length=1)] | None
    ) = None
    require_cryptographic_holder_binding: StrictBool = True
    claims: Annotated[tuple[ClaimsQuery, ...], Field(min_length=1)] | None = None
    # Entries are plain strings here: each must name a claim id (checked below), and claim ids
    # are Identifiers already - one pattern check per claim, not one per mention.
    claim_sets: (
        Annotated[
            tuple[Annotated[tuple[StrictStr, ...], Field(min_length=1)], ...], Field(min_length=1)
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _consistent(self) -> CredentialQuery:
        if self.format == FORMAT:
            vcts = self.meta.get("vct_values")
            if (
                not isinstance(vcts, list)
                or not vcts
                or not all(isinstance(v, str) and v for v in vcts)
            ):
                raise ValueError("meta.vct_values must be a non-empty array of strings")
        claims = self.claims or ()
        ids = [c.id for c in claims if c.id is not None]
        if len(ids) != len(set(ids)):
            raise ValueError("claims ids must be unique within a credential query")
        paths = [c.path for c in claims]
        if len(paths) != len(set(paths)):
            raise ValueError("the same claim path is requested twice")
        if self.claim_sets is not None:
            if not claims:
                raise ValueError("claim_sets requires claims")
            if len(ids) != len(claims):
                raise ValueError("every claim needs an id when claim_sets is present")
            known = set(ids)
            for option in self.claim_sets:
                unknown = set(option) - known
                if unknown:
                    raise ValueError(f"claim_sets names unknown claim ids {sorted(unknown)}")
        return self

    @property
    def vct_values(self) -> tuple[str, ...]:
        return tuple(self.meta.get("vct_values") or ())

    def claim_options(self) -> Iterator[tuple[ClaimsQuery, ...]]:
        """The claim combinations, in the verifier's order of preference (built one at a time:
        the first that holds usually ends the search)."""
        if not self.claims:
            yield ()
            return
        if self.claim_sets is None:
            yield self.claims
            return
        by_id = {c.id: c for c in self.claims}
        for option in self.claim_sets:
            yield tuple(by_id[i] for i in option)


class CredentialSetQuery(_Model):
    options: Annotated[
        tuple[Annotated[tuple[Identifier, ...], Field(min_length=1)], ...], Field(min_length=1)
    ]
    required: StrictBool = True


class DCQLQuery(_Model):
    credentials: Annotated[tuple[CredentialQuery, ...], Field(min_length=1)]
    credential_sets: Annotated[tuple[CredentialSetQuery, ...], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> DCQLQuery:
        ids = [c.id for c in self.credentials]
        if len(ids) != len(set(ids)):
            raise ValueError("credential query ids must be unique")
        for cset in self.credential_sets or ():
            for option in cset.options:
                unknown = set(option) - set(ids)
                if unknown:
                    raise ValueError(f"credential_sets names unknown queries {sorted(unknown)}")
        return self

    @classmethod
    def parse(
        cls, data: Any, *, supported_formats: Collection[str] = (FORMAT,), strict: bool = False
    ) -> DCQLQuery:
        """Validate a query; raise ``dcql_invalid`` naming the first bad field. ``strict``: an
        unknown member anywhere is one too (the relying party's own queries)."""
        if strict and (unknown := unknown_member(data)) is not None:
            raise DCQLError("dcql_invalid", unknown)
        try:
            query = cls.model_validate(data)
        except ValidationError as exc:
            raise DCQLError("dcql_invalid", first_error(exc, whole="query")) from None
        for cq in query.credentials:
            if cq.format not in supported_formats:
                raise DCQLError(
                    "dcql_invalid", f"credentials.{cq.id}: format {cq.format!r} unsupported"
                )
        return query

    def by_id(self) -> dict[str, CredentialQuery]:
        return {c.id: c for c in self.credentials}

    def requested_ids(self) -> set[str]:
        """Query ids a response may carry: all of them, or those named by a credential set."""
        if self.credential_sets is None:
            return {c.id for c in self.credentials}
        return {i for s in self.credential_sets for option in s.options for i in option}

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=False)


# What each DCQL object may hold (strict parsing), and the objects nested in its members.
_MEMBERS: dict[type[_Model], dict[str, type[_Model] | None]] = {
    DCQLQuery: {"credentials": CredentialQuery, "credential_sets": CredentialSetQuery},
    CredentialQuery: {
        "id": None,
        "format": None,
        "multiple": None,
        "meta": None,
        "trusted_authorities": TrustedAuthoritiesQuery,
        "require_cryptographic_holder_binding": None,
        "claims": ClaimsQuery,
        "claim_sets": None,
    },
    ClaimsQuery: {"id": None, "path": None, "values": None},
    TrustedAuthoritiesQuery: {"type": None, "values": None},
    CredentialSetQuery: {"options": None, "required": None},
}
_META_MEMBERS = {FORMAT: ("vct_values",)}  # format -> what its `meta` may hold


def _unknown(path: str, name: str, known: Collection[str]) -> str:
    return f"{path}: unknown member {name!r} (known here: {', '.join(sorted(known))})"


def _unknown_in(data: Any, model: type[_Model], where: str) -> str | None:
    if not isinstance(data, dict):
        return None  # a wrong type is the model's error to report
    members = _MEMBERS[model]
    for name, value in data.items():
        path = f"{where}.{name}" if where else str(name)
        if name not in members:
            return _unknown(path, name, members)
        nested = members[name]
        if nested is None or not isinstance(value, list):
            continue
        for index, item in enumerate(value):
            if (found := _unknown_in(item, nested, f"{path}.{index}")) is not None:
                return found
    meta, allowed = data.get("meta"), _META_MEMBERS.get(str(data.get("format")), ())
    if model is CredentialQuery and isinstance(meta, dict) and allowed:
        for name in meta:
            if name not in allowed:
                return _unknown(f"{where}.meta.{name}", name, allowed)
    return None


def unknown_member(data: Any) -> str | None:
    """``path: unknown member …`` for the first member of a DCQL query that DCQL does not
    define (strict parsing of the relying party's own queries); None when there is none."""
    return _unknown_in(data, DCQLQuery, "")


def _claim_error(credential: VerifiedCredential, claim: ClaimsQuery) -> DCQLError | None:
    try:
        selected = select_claims(credential.claims, claim.path)
    except DCQLError as exc:
        return DCQLError("claim_missing", f"{credential.vct}: {exc.reason}")
    if claim.values is not None and not any(values_match(v, claim.values) for v in selected):
        return DCQLError(
            "claim_value_mismatch",
            f"{credential.vct}: claim {list(claim.path)} has no requested value",
        )
    return None


def check_credential(query: CredentialQuery, credential: VerifiedCredential) -> None:
    """Raise unless ``credential`` satisfies ``query`` (checks 31, 33, 41)."""
    if query.format != FORMAT:
        raise DCQLError("credential_format_mismatch", f"query {query.id} asks for {query.format!r}")
    if credential.vct not in query.vct_values:
        raise DCQLError("vct_not_requested", f"vct {credential.vct!r} not requested by {query.id}")
    if query.require_cryptographic_holder_binding and credential.key_binding is None:
        raise DCQLError("holder_binding_missing", f"query {query.id} requires holder binding")
    first_error: DCQLError | None = None
    checked: dict[int, DCQLError | None] = {}  # each claim once, however many sets name it
    for option in query.claim_options():
        for claim in option:
            if id(claim) not in checked:
                checked[id(claim)] = _claim_error(credential, claim)
        errors = [e for e in (checked[id(c)] for c in option) if e is not None]
        if not errors:
            return
        first_error = first_error or errors[0]
    assert first_error is not None
    raise first_error


def check_credential_sets(query: DCQLQuery, present: Collection[str]) -> None:
    """Raise unless the presented query ids satisfy the query (check 42)."""
    if query.credential_sets is None:
        missing = [c.id for c in query.credentials if c.id not in present]
        if missing:
            raise DCQLError("credential_query_missing", f"no presentation for query {missing[0]!r}")
        return
    for index, cset in enumerate(query.credential_sets):
        if cset.required and not any(all(i in present for i in opt) for opt in cset.options):
            raise DCQLError(
                "credential_set_unsatisfied", f"credential_sets[{index}] has no satisfied option"
            )


def requested_claim_paths(query: CredentialQuery) -> Sequence[tuple[PathComponent, ...]]:
    return [c.path for c in query.claims or ()]
