"""Fuzz properties of every parser of untrusted input (the targets of :mod:`.targets`).

1. Whatever the input - random bytes or text, or a valid artifact from the simulator with bytes
   flipped, segments swapped, JSON re-encoded with tampered members, re-signed with wrong keys
   or with ``alg`` ``none``/``HS256`` - a parser returns a result or raises one of the project's
   typed errors (:class:`~verifier.protocol.errors.AgentVPError`, or ``DPoPError`` for DPoP).
   Any other exception (``KeyError``, ``TypeError``, ``ValueError``, ``RecursionError``, a
   ``cryptography`` exception...) is a bug: the service would answer 500, the wallet crash.
2. A tampered signed or encrypted artifact is never accepted unless the tampering left the
   protected bytes as they were (or only dropped disclosures, which a holder may do).
3. Every seed of the corpus is accepted, so the mutations start from valid artifacts.

Regressions of the bugs these properties found: ``test_regressions.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from .mutate import Case
from .source import DrawSource
from .targets import SIGNED, TARGETS, Target

FUZZ = settings.get_profile("agentvp-fuzz")
# A mutated certificate with a serial number <= 0 only draws a deprecation notice from
# cryptography (a future release refuses it, with the ValueError x509.py already maps).
pytestmark = pytest.mark.filterwarnings(
    "ignore:Parsed a serial number:cryptography.utils.CryptographyDeprecationWarning"
)


def cases(target: Target, *, tampered_only: bool = False) -> st.SearchStrategy[Case]:
    @st.composite
    def draw_case(draw: Any) -> Case:
        return target.generate(DrawSource(draw), tampered_only)

    return draw_case()


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
@FUZZ
@given(data=st.data())
def test_parser_raises_only_typed_errors(target: Target, data: st.DataObject) -> None:
    target.check(data.draw(cases(target), label="case"))


@pytest.mark.parametrize("target", SIGNED, ids=lambda t: t.name)
@FUZZ
@given(data=st.data())
def test_tampered_artifact_is_never_accepted(target: Target, data: st.DataObject) -> None:
    case = data.draw(cases(target, tampered_only=True), label="case")
    assume(case.origin is not None)
    target.check(case)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_every_seed_is_accepted(target: Target) -> None:
    assert target.seeds
    for seed in target.seeds:
        assert target.check(Case(seed)) is None, seed
