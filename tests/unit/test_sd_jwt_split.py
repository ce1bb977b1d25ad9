"""``split_sd_jwt`` against RFC 9901 §4's definition, written out as the plain ``str.split``
it is: the first component is the issuer-signed JWT, the last is empty (SD-JWT) or a KB-JWT,
every component between is one non-empty disclosure. The function finds the first and last
``~`` by search and splits only what lies between; every text made of the pieces below, with
every disclosure limit, must give the same parts or the same error as the model."""

from __future__ import annotations

import itertools

import pytest

from verifier.protocol import MalformedError, split_sd_jwt

PIECES = ["", "a", "h.p.s", "~", "~~", "x~y", "a.b", ".", "é"]


def model(text: str, max_disclosures: int) -> tuple[object, ...]:
    if "~" not in text:
        return ("malformed_sd_jwt", "SD-JWT has no '~' separator")
    issuer_jwt, *disclosures, last = text.split("~")
    if len(disclosures) > max_disclosures:
        return (
            "too_many_disclosures",
            f"{len(disclosures)} disclosures, limit {max_disclosures}",
        )
    if "" in disclosures:
        return ("malformed_sd_jwt", "empty disclosure between two '~'")
    if last and last.count(".") != 2:
        return ("malformed_sd_jwt", "last component is neither empty nor a KB-JWT")
    return (issuer_jwt, tuple(disclosures), last or None)


def outcome(text: str, max_disclosures: int) -> tuple[object, ...]:
    try:
        return tuple(split_sd_jwt(text, max_disclosures=max_disclosures))
    except MalformedError as exc:
        return (exc.code, exc.reason)


@pytest.mark.parametrize("max_disclosures", [0, 1, 2, 128])
def test_every_combination_of_pieces_splits_as_the_rfc_defines(max_disclosures: int) -> None:
    for pieces in itertools.product(PIECES, repeat=4):
        text = "".join(pieces)
        assert outcome(text, max_disclosures) == model(text, max_disclosures), text


def test_a_presentation_splits_into_its_parts() -> None:
    parts = split_sd_jwt("h.p.s~d1~d2~k.p.s")
    assert parts == ("h.p.s", ("d1", "d2"), "k.p.s")
    assert parts.presented == "h.p.s~d1~d2~"
    assert split_sd_jwt("h.p.s~") == ("h.p.s", (), None)
