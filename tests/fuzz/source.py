"""Where the fuzzers' choices come from, and random JSON / text built from those choices.

Every generator in :mod:`tests.fuzz.mutate` and :mod:`tests.fuzz.targets` is written once,
against :class:`Source`, and runs on two implementations:

- :class:`DrawSource` draws each choice from hypothesis (properties shrink to a minimal input);
- :class:`RandomSource` takes them from a seeded :class:`random.Random` (``bench/fuzz.py``: tens
  of thousands of inputs per parser, deterministic for a given ``--seed``).

Small numbers are the simple choices: hypothesis shrinks towards 0, so option 0 of every menu
is the plainest one.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from hypothesis import strategies as st

__all__ = [
    "NAMES",
    "DrawSource",
    "RandomSource",
    "Source",
    "choice",
    "encode_json",
    "random_json",
]

T = TypeVar("T")

# Characters that matter to the parsers: separators, base64url, JSON punctuation, escapes.
ALPHABET = (
    "~.=-_+/ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    "{}[]\":,\\ \t\n%&?#@$!'*()<>^`|;"
)
# Member names the parsers look up (JOSE, SD-JWT, KB-JWT, status lists, DCQL, OpenID4VP).
NAMES = (
    "_sd",
    "...",
    "_sd_alg",
    "alg",
    "typ",
    "kid",
    "crit",
    "x5c",
    "jwk",
    "cnf",
    "iss",
    "sub",
    "vct",
    "iat",
    "exp",
    "nbf",
    "nonce",
    "aud",
    "sd_hash",
    "status",
    "status_list",
    "idx",
    "uri",
    "bits",
    "lst",
    "ttl",
    "epk",
    "enc",
    "zip",
    "apu",
    "kty",
    "crv",
    "x",
    "y",
    "d",
    "transaction_data_hashes",
    "transaction_data_hashes_alg",
    "credential_ids",
    "type",
    "credentials",
    "claims",
    "path",
    "values",
    "id",
    "format",
    "meta",
    "vct_values",
    "claim_sets",
    "credential_sets",
    "options",
    "required",
    "multiple",
    "trusted_authorities",
    "require_cryptographic_holder_binding",
    "vp_token",
    "state",
    "error",
    "error_description",
    "id_token",
    "client_id",
    "response_uri",
    "response_mode",
    "response_type",
    "dcql_query",
    "client_metadata",
    "transaction_data",
    "wallet_nonce",
    "jwks",
    "keys",
    "htm",
    "htu",
    "jti",
    "ath",
    "sub_jwk",
    "",
)
SCALARS: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1,
    2,
    3,
    4,
    8,
    16,
    255,
    2**31,
    2**63,
    2**64 + 1,
    -(2**63),
    10**30,
    10**400,
    -(10**400),
    1.5,
    -0.0,
    1e308,
    float("nan"),
    float("inf"),
    "",
    "ES256",
    "none",
    "HS256",
    "EdDSA",
    "ECDH-ES",
    "A128GCM",
    "sha-256",
    "sha-1",
    "dc+sd-jwt",
    "kb+jwt",
    "statuslist+jwt",
    "dpop+jwt",
    "oauth-authz-req+jwt",
    "EC",
    "P-256",
    "OKP",
    "RSA",
    "https://",
    "http://[::1",
    "https://ekyc.fuzz.example",
    "x509_hash:",
    "redirect_uri:http://[",
    "\x00",
    "\ud800",
    "é",
    "...",
    "~",
    "x" * 300,
)


# Number texts Python's JSON parser turns into inf, -0.0, 0.0 or a huge int (or refuses: over
# 4300 digits), spliced over a number of the encoded text.
EXTREME_NUMBERS = ("1e400", "-1e400", "1E+999", "0.1e-999", "-0", "9" * 400, "1" * 5000)
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


class Source(Protocol):
    """One stream of choices."""

    def below(self, n: int) -> int:
        """An integer in ``[0, n)`` (``n`` >= 1)."""
        ...

    def blob(self, max_size: int) -> bytes:
        """Up to ``max_size`` arbitrary bytes."""
        ...

    def text(self, max_size: int) -> str:
        """Up to ``max_size`` characters, mostly from :data:`ALPHABET` (lone surrogates too)."""
        ...


class RandomSource:
    """Choices from a seeded :class:`random.Random`."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def below(self, n: int) -> int:
        return self.rng.randrange(n)

    def blob(self, max_size: int) -> bytes:
        return self.rng.randbytes(self.rng.randrange(max_size + 1))

    def _char(self) -> str:
        roll = self.rng.random()
        if roll < 0.7:
            return self.rng.choice(ALPHABET)
        if roll < 0.9:
            return chr(self.rng.randrange(0x20, 0x7F))
        return chr(self.rng.randrange(0x110000))

    def text(self, max_size: int) -> str:
        return "".join(self._char() for _ in range(self.rng.randrange(max_size + 1)))


_CHARS = st.one_of(
    st.sampled_from(ALPHABET),
    st.characters(codec=None),
    st.characters(categories=["Cs"]),
)


@lru_cache(maxsize=64)
def _integers(n: int) -> st.SearchStrategy[int]:
    return st.integers(0, n - 1)


@lru_cache(maxsize=64)
def _binary(max_size: int) -> st.SearchStrategy[bytes]:
    return st.binary(max_size=max_size)


@lru_cache(maxsize=64)
def _text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(_CHARS, max_size=max_size)


class DrawSource:
    """Choices drawn from hypothesis (inside :func:`hypothesis.strategies.composite`)."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self.draw = draw

    def below(self, n: int) -> int:
        return int(self.draw(_integers(n)))

    def blob(self, max_size: int) -> bytes:
        return bytes(self.draw(_binary(max_size)))

    def text(self, max_size: int) -> str:
        return str(self.draw(_text(max_size)))


def choice(src: Source, items: Sequence[T]) -> T:
    return items[src.below(len(items))]


def _nested(src: Source) -> Any:
    nested: Any = random_json(src, 0)
    for _ in range(src.below(80)):
        nested = [nested] if src.below(2) else {choice(src, NAMES): nested}
    return nested


_MAKERS: tuple[Callable[[Source, int], Any], ...] = (
    lambda src, depth: choice(src, SCALARS),
    lambda src, depth: src.text(24),
    lambda src, depth: src.below(1 << 20) - (1 << 19),
    lambda src, depth: choice(src, NAMES),
    lambda src, depth: [random_json(src, depth - 1) for _ in range(src.below(4))],
    lambda src, depth: {
        choice(src, NAMES): random_json(src, depth - 1) for _ in range(src.below(4))
    },
    lambda src, depth: _nested(src),
)


def random_json(src: Source, depth: int = 3) -> Any:
    """A JSON value: interesting scalars, text, numbers, or (while ``depth`` lasts) containers,
    some nested up to 80 deep."""
    return _MAKERS[src.below(7 if depth > 0 else 4)](src, depth)


def encode_json(src: Source, value: Any) -> str:
    """JSON text for ``value``: compact, spaced or ASCII-escaped, sometimes with an extreme
    number spliced in or a duplicate member name injected into the outermost object."""
    style = src.below(5)
    if style == 0:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    elif style == 1:
        text = json.dumps(value)
    elif style == 2:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=True)
    elif style == 3:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        numbers = list(_NUMBER.finditer(text))
        if numbers:
            found = choice(src, numbers)
            text = text[: found.start()] + choice(src, EXTREME_NUMBERS) + text[found.end() :]
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        if isinstance(value, dict) and value:
            name = choice(src, list(value))
            twin = json.dumps(random_json(src, 1), separators=(",", ":"))
            text = "{" + json.dumps(name) + ":" + twin + "," + text[1:]
    return text
