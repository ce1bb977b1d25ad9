"""The link a QR code carries (``openid4vp://?client_id=...``) is what ``urlencode`` builds."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from hypothesis import given
from hypothesis import strategies as st

from verifier.protocol import authorization_request_uri, parse_authorization_request_uri

# Every ASCII character (the table's range), and beyond it (urllib's own quoting).
TEXT = st.text(st.characters(max_codepoint=0x7F)) | st.text()


@given(client_id=TEXT, request_uri=TEXT, method=st.none() | TEXT)
def test_the_query_is_urlencodes(client_id: str, request_uri: str, method: str | None) -> None:
    params = {"client_id": client_id, "request_uri": request_uri}
    if method is not None:
        params["request_uri_method"] = method
    link = authorization_request_uri(
        client_id=client_id, request_uri=request_uri, request_uri_method=method
    )
    assert link == f"openid4vp://?{urlencode(params)}"
    assert dict(parse_qsl(urlsplit(link).query, keep_blank_values=True)) == params


def test_a_verifier_link_reads_back() -> None:
    link = authorization_request_uri(
        client_id="x509_hash:Uq6o4 8+/=",
        request_uri="https://verifier.example:8443/wallet/request/Ab-_9~.",
    )
    assert link == (
        "openid4vp://?client_id=x509_hash%3AUq6o4+8%2B%2F%3D"
        "&request_uri=https%3A%2F%2Fverifier.example%3A8443%2Fwallet%2Frequest%2FAb-_9~."
        "&request_uri_method=post"
    )
    assert parse_authorization_request_uri(link)["client_id"] == "x509_hash:Uq6o4 8+/="
