"""Point 2 of issue 15: a DCQL query the relying party writes is parsed strictly - an unknown
member (a typo such as ``claim`` for ``claims``) is a 400 naming its path, never a query that
silently asks for something else - while the wallet side stays tolerant (OpenID4VP §6)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integrator.helpers import client, data_dir, one_line, run
from verifier.protocol import DCQLQuery
from verifier.protocol.dcql.query import unknown_member
from verifier.setup.data_dir import default_presets

pytestmark = pytest.mark.anyio

QUERY: dict[str, Any] = default_presets()["identity"]["dcql_query"]


def _typo(change: str) -> dict[str, Any]:
    query = copy.deepcopy(QUERY)
    credential = query["credentials"][0]
    if change == "claim":
        credential["claim"] = credential.pop("claims")
    elif change == "value":
        credential["claims"][0]["value"] = ["eidas"]
    elif change == "meta":
        credential["meta"]["vct_value"] = ["x"]
    elif change == "top":
        query["credential_set"] = [{"options": [["identity"]]}]
    elif change == "credential_sets":
        query["credential_sets"] = [{"options": [["identity"]], "require": False}]
    return query


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ("claim", "credentials.0.claim: unknown member 'claim'"),
        ("value", "credentials.0.claims.0.value: unknown member 'value'"),
        ("meta", "credentials.0.meta.vct_value: unknown member 'vct_value'"),
        ("top", "credential_set: unknown member 'credential_set'"),
        ("credential_sets", "credential_sets.0.require: unknown member 'require'"),
    ],
)
async def test_rp_api_refuses_a_query_with_an_unknown_member(
    tmp_path: Path, change: str, path: str
) -> None:
    async with client(tmp_path, data_dir(tmp_path)) as rp:
        answer = await rp.post("/v1/presentations", json={"dcql_query": _typo(change)})
        assert answer.status_code == 400, answer.text
        body = answer.json()
        assert body["error"] == "invalid_request"
        assert body["error_description"].startswith(path), body
        assert "known here:" in body["error_description"]
        # The correct query is accepted as before.
        good = await rp.post("/v1/presentations", json={"dcql_query": QUERY})
        assert good.status_code == 201, good.text


def test_the_typo_is_named_with_the_members_known_there() -> None:
    found = unknown_member(_typo("claim"))
    assert found is not None and "claims" in found and "claim_sets" in found
    assert unknown_member(QUERY) is None


def test_the_wallet_side_stays_tolerant() -> None:
    """Unknown members are ignored when parsing a query received from a verifier."""
    for change in ("value", "meta", "top", "credential_sets"):
        DCQLQuery.parse(_typo(change))  # no error: the tolerant (default) parse
    with pytest.raises(Exception, match="unknown member"):
        DCQLQuery.parse(_typo("value"), strict=True)


def test_a_preset_with_a_typo_stops_serve_with_one_line(tmp_path: Path) -> None:
    """Presets are the RP's queries too: checked strictly when the verifier starts."""
    data = tmp_path / "agentvp"
    data_dir(data)
    policy = yaml.safe_load((data / "policy.yaml").read_text())
    policy["presets"]["identity"]["dcql_query"] = _typo("value")
    (data / "policy.yaml").write_text(yaml.safe_dump(policy))
    done = run("agentvp", "serve", "--data-dir", str(data), cwd=tmp_path)
    assert done.returncode == 1
    line = one_line(done)
    assert "policy.yaml: presets.identity.dcql_query" in line, line
    assert "credentials.0.claims.0.value: unknown member 'value'" in line, line
