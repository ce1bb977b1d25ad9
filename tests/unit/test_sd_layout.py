"""The disclosure layout of a verified SD-JWT: which claims came from disclosures, which
containers still hold undisclosed digests (withheld claims or decoys), in processed-payload
claims path pointers - and its JSON form in the RP's result."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sd_jwt.common import SDObj

from verifier.presentations.results import credential_result
from verifier.protocol import (
    DCQLQuery,
    HeldCredential,
    StaticKeyResolver,
    reconstruct,
    verify_presentation,
)
from verifier.protocol.jose import SigningKey
from verifier.protocol.sdjwt.layout import NOTHING_SELECTIVE, SDLayout, _sorted
from wallet_sim.holder import build_vp_token
from wallet_sim.issuer import Issuer

NOW = 1_780_000_000
ISSUER = Issuer("https://layout.example", SigningKey.generate(kid="k"))
HOLDER = SigningKey.generate()
CLAIMS: dict[Any, Any] = {
    "iss": ISSUER.iss,
    "vct": "urn:example:layout",
    SDObj("iat"): NOW,
    "exp": NOW + 3600,
    "plain": {"a": 1, SDObj("b"): 2},
    "list": ["clear", SDObj("secret"), {"x": [SDObj({"deep": True})]}],
}


def held(decoys: bool) -> HeldCredential:
    issuance = ISSUER.issue(copy.deepcopy(CLAIMS), holder_jwk=HOLDER.public_jwk, decoys=decoys)
    return HeldCredential.from_issuance(issuance)


def layout_of(credential: HeldCredential, names: set[str | None]) -> SDLayout:
    sent = [d.encoded for d in credential.disclosures if d.name in names or repr(d.value) in names]
    return reconstruct(copy.deepcopy(credential.payload), sent).layout


def test_every_disclosure_is_recorded_where_it_landed() -> None:
    layout = layout_of(held(decoys=False), {"iat", "b", "'secret'", "{'deep': True}"})
    assert layout.disclosed == {
        ("iat",),
        ("plain", "b"),
        ("list", 1),
        ("list", 2, "x", 0),
    }
    assert layout.concealed == frozenset()


def test_withheld_claims_mark_their_container_and_shift_no_index() -> None:
    layout = layout_of(held(decoys=False), {"{'deep': True}"})
    assert layout.disclosed == {("list", 1, "x", 0)}  # "secret" vanished: index 2 became 1
    assert layout.concealed == {(), ("plain",), ("list",)}


def test_decoys_are_concealed_digests_too() -> None:
    everything = held(decoys=True)
    layout = layout_of(everything, {d.name for d in everything.disclosures} | {"'secret'"})
    assert () in layout.concealed and ("plain",) in layout.concealed  # decoys only
    assert ("list", 1) in layout.disclosed


def test_from_disclosure_looks_at_ancestors() -> None:
    layout = SDLayout(disclosed=frozenset({("a",)}))
    assert layout.from_disclosure(("a", "b", 0)) and layout.from_disclosure(("a",))
    assert not layout.from_disclosure(("b",))


def test_json_form_round_trips_and_refuses_anything_else() -> None:
    layout = SDLayout(frozenset({("a", 0), ("b",)}), frozenset({(), ("a",)}))
    data = layout.as_json()
    assert data == {"disclosed": [["b"], ["a", 0]], "concealed": [[], ["a"]]}
    assert SDLayout.from_json(data) == layout
    for bad in (
        None,
        {},
        {"disclosed": []},
        {"disclosed": [], "concealed": [], "x": []},
        {"disclosed": "a", "concealed": []},
        {"disclosed": [["a", -1]], "concealed": []},
        {"disclosed": [["a", True]], "concealed": []},
        {"disclosed": [[1.5]], "concealed": []},
        {"disclosed": [["a"]], "concealed": [None]},
    ):
        with pytest.raises(ValueError):
            SDLayout.from_json(bad)


def test_a_verified_presentation_carries_its_layout_into_the_rp_result() -> None:
    query = DCQLQuery.parse(
        {
            "credentials": [
                {
                    "id": "q",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": ["urn:example:layout"]},
                    "claims": [{"path": ["plain", "b"]}],
                }
            ]
        }
    )
    credential = HeldCredential.from_issuance(
        ISSUER.issue(copy.deepcopy(CLAIMS), holder_jwk=HOLDER.public_jwk, decoys=False), id="c"
    )
    token = build_vp_token(
        query=query,
        credentials=[credential],
        holder_keys={"c": HOLDER},
        audience="aud",
        nonce="n",
        now=NOW,
    ).vp_token["q"][0]
    verified = verify_presentation(
        token,
        keys=StaticKeyResolver({ISSUER.iss: [ISSUER.key.public_jwk]}),
        audience="aud",
        nonce="n",
        now=NOW,
    )
    assert verified.layout.disclosed == {("plain", "b")}
    assert credential_result(verified, None)["sd_layout"] == {
        "disclosed": [["plain", "b"]],
        "concealed": [[], ["list"], ["list", 1, "x"]],
    }
    assert NOTHING_SELECTIVE.as_json() == {"disclosed": [], "concealed": []}


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.lists(
            st.one_of(
                st.integers(-1000, 100000),
                st.text(alphabet=st.sampled_from('ab,", :[]\\\x7fé\u2028'), max_size=4),
            ),
            min_size=1,
            max_size=4,
        ),
        max_size=8,
    )
)
def test_layout_order_is_json_dumps_order(paths: list[list[str | int]]) -> None:
    """The compact key orders claim paths exactly as ``json.dumps``'s spaced text did."""
    expected = [list(p) for p in sorted(map(tuple, paths), key=lambda p: (len(p), json.dumps(p)))]
    assert _sorted(map(tuple, paths)) == expected
