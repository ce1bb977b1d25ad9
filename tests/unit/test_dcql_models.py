import pytest

from verifier.protocol import DCQLError, DCQLQuery, select_claims

VCT = {"vct_values": ["urn:x"]}


def q(**cred: object) -> dict[str, object]:
    return {"credentials": [{"id": "c", "format": "dc+sd-jwt", "meta": VCT, **cred}]}


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"credentials": []}, "credentials"),
        ({"credentials": [{"id": "bad id", "format": "dc+sd-jwt", "meta": VCT}]}, "id"),
        ({"credentials": [{"id": "c", "format": "dc+sd-jwt"}]}, "meta"),
        ({"credentials": [{"id": "c", "format": "dc+sd-jwt", "meta": {}}]}, "vct_values"),
        (q(claims=[]), "claims"),
        (q(claims=[{"path": []}]), "path"),
        (q(claims=[{"path": ["a", -1]}]), "path"),
        (q(claims=[{"path": ["a", True]}]), "path"),
        (q(claims=[{"path": ["a"], "values": []}]), "values"),
        (q(claims=[{"path": ["a"], "values": [1.5]}]), "values"),
        (q(claims=[{"path": ["a"]}, {"path": ["a"]}]), "twice"),
        (q(claim_sets=[["x"]]), "claim_sets requires claims"),
        (q(claims=[{"id": "a", "path": ["a"]}], claim_sets=[["b"]]), "unknown claim ids"),
        (q(claims=[{"path": ["a"]}], claim_sets=[["a"]]), "needs an id"),
        (q(multiple="yes"), "multiple"),
        (q(require_cryptographic_holder_binding=1), "require_cryptographic_holder_binding"),
        (
            {"credentials": [{"id": "c", "format": "dc+sd-jwt", "meta": VCT}] * 2},
            "unique",
        ),
        (
            {
                "credentials": [{"id": "c", "format": "dc+sd-jwt", "meta": VCT}],
                "credential_sets": [{"options": [["nope"]]}],
            },
            "unknown queries",
        ),
        ({"credentials": [{"id": "c", "format": "mso_mdoc", "meta": {}}]}, "unsupported"),
    ],
)
def test_invalid_queries_name_the_bad_field(query: dict[str, object], fragment: str) -> None:
    with pytest.raises(DCQLError) as info:
        DCQLQuery.parse(query)
    assert info.value.code == "dcql_invalid"
    assert fragment in info.value.reason


def test_unknown_members_are_ignored() -> None:
    parsed = DCQLQuery.parse({**q(future_member=1), "also_future": True})
    assert parsed.credentials[0].id == "c"


DOC = {
    "address": {"street_address": "42 Market St"},
    "degrees": [{"type": "BSc"}, {"type": "MSc"}],
    "nationalities": ["GB", "BE"],
}


@pytest.mark.parametrize(
    ("path", "selected"),
    [
        (["address", "street_address"], ["42 Market St"]),
        (["degrees", None, "type"], ["BSc", "MSc"]),
        (["nationalities", 1], ["BE"]),
    ],
)
def test_claims_path_examples_of_openid4vp(path: list[object], selected: list[object]) -> None:
    assert select_claims(DOC, path) == selected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "code"),
    [
        (["address", 0], "claims_path_invalid"),
        (["nationalities", "x"], "claims_path_invalid"),
        (["address", None], "claims_path_invalid"),
        (["nationalities", 5], "claim_missing"),
        (["missing"], "claim_missing"),
        (["address", 1.5], "claims_path_invalid"),
    ],
)
def test_claims_path_errors(path: list[object], code: str) -> None:
    with pytest.raises(DCQLError) as info:
        select_claims(DOC, path)  # type: ignore[arg-type]
    assert info.value.code == code
