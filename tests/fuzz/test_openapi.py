"""schemathesis against the verifier's own OpenAPI document, over real HTTP.

An ``agentvp serve`` process (a fresh dev data dir, SQLite store, no per-client rate limit so the
fuzzer is never throttled) is the server; schemathesis generates requests for every operation of
its document - valid and invalid ones, with the RP API key and without - and checks that no
answer is a 5xx, and that every status code, content type and body is one the document
declares. Examples per operation: the fuzz profile's, capped at :data:`EXAMPLES` (CI: derandomized).

The document is built at import from the same ``create_app`` (schemathesis parametrizes at
collection time; its lazy ``from_fixture`` loader does not work with pytest 9), and a test checks
the server serves exactly it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.conftest import free_port
from tests.e2e.harness import Verifier, make_data_dir, start_verifier
from verifier.app import create_app
from verifier.settings import Settings

EXAMPLES = 50
FUZZ = settings.get_profile("agentvp-fuzz")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Verifier, str]]:
    data_dir: Path = tmp_path_factory.mktemp("openapi")
    port = free_port()
    api_key = make_data_dir(data_dir, f"http://localhost:{port}")
    verifier = start_verifier(data_dir, port=port, wallet_rate_limit="0", log_level="ERROR")
    try:
        yield verifier, api_key
    finally:
        verifier.stop()


def _document() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        make_data_dir(Path(tmp), "http://localhost:8080")
        app = create_app(Settings(data_dir=Path(tmp), store_url="memory://"))
        return app.openapi()


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


@schema.parametrize()
@settings(
    FUZZ,
    max_examples=min(FUZZ.max_examples, EXAMPLES),
    suppress_health_check=[*FUZZ.suppress_health_check, HealthCheck.filter_too_much],
)
def test_every_operation_conforms_to_the_document(
    case: schemathesis.Case, server: tuple[Verifier, str]
) -> None:
    verifier, api_key = server
    case.call_and_validate(
        base_url=verifier.url,
        headers={"Authorization": f"Bearer {api_key}"},
        # A schema-valid request may rightly be refused: the service checks what a schema
        # cannot say (a valid DCQL query, a known policy, exactly one of dcql_query/profile,
        # a signed DPoP proof, a live request id). Every other check runs.
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )


def test_the_server_serves_the_fuzzed_document(server: tuple[Verifier, str]) -> None:
    verifier, _ = server
    assert httpx.get(f"{verifier.url}/openapi.json", timeout=10).json() == DOCUMENT


def test_the_document_declares_every_error_it_answers() -> None:
    """No FastAPI 422 (validation errors are 400s here); error bodies have one shape."""
    doc = DOCUMENT
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            assert "422" not in operation["responses"], (method, path)
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorResponse"), (method, path, status)
    assert doc["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


TD = {"type": "t", "credential_ids": ["identity"]}


@pytest.mark.parametrize(
    "body",
    [
        # ValueError in _is_web_url ("Invalid IPv6 URL"): was a 500
        {"profile": "identity", "flow": "same_device", "redirect_uri": "https://[x/"},
        {"profile": "identity", "flow": "same_device", "redirect_uri": "https://a.example:x/"},
        # TypeError: unhashable transaction_data_hashes_alg member: was a 500
        {"profile": "identity", "transaction_data": [{**TD, "transaction_data_hashes_alg": [{}]}]},
    ],
)
def test_rp_api_refuses_what_once_was_a_server_error(
    server: tuple[Verifier, str], body: dict[str, Any]
) -> None:
    verifier, api_key = server
    answer = httpx.post(
        f"{verifier.url}/v1/presentations",
        json=body,
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_request"


def test_405_lists_every_method_of_the_path(server: tuple[Verifier, str]) -> None:
    verifier, _ = server
    answer = httpx.request("DELETE", f"{verifier.url}/wallet/request/x", timeout=10)
    assert answer.status_code == 405
    assert {m.strip() for m in answer.headers["allow"].split(",")} >= {"GET", "POST"}
    assert answer.json()["error"] == "invalid_request"
