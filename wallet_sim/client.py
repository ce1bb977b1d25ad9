"""The wallet's HTTP client: no redirects, bounded bodies, clear errors (wallet checks 5-6, 33).

The transport is injectable (``httpx.MockTransport`` or an ASGI transport in tests); by default
real HTTP. OpenID4VP says a wallet should not follow 3xx on the request URI or the response URI:
any redirect is an error here.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

__all__ = ["WalletHTTP", "WalletHTTPError"]

MAX_RESPONSE_BYTES = 512 * 1024


class WalletHTTPError(Exception):
    """A failed exchange with a verifier, with a one-line explanation."""


class WalletHTTP:
    def __init__(
        self, *, transport: httpx.BaseTransport | None = None, timeout: float = 10.0
    ) -> None:
        self._client = httpx.Client(
            transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
        )

    def close(self) -> None:
        self._client.close()

    def _send(self, request: httpx.Request, *, what: str) -> httpx.Response:
        try:
            response = self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise WalletHTTPError(f"{what}: cannot reach {request.url.host}: {exc}") from None
        try:
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    raise WalletHTTPError(
                        f"{what}: response larger than {MAX_RESPONSE_BYTES} bytes"
                    )
        finally:
            response.close()
        response._content = body
        if response.is_redirect:
            raise WalletHTTPError(f"{what}: refused to follow a redirect ({response.status_code})")
        return response

    def fetch_request(
        self, request_uri: str, *, method: str, form: Mapping[str, str] | None = None
    ) -> str:
        """GET or POST the request URI; the body must be ``application/oauth-authz-req+jwt``."""
        headers = {"Accept": "application/oauth-authz-req+jwt"}
        if method == "post":
            request = self._client.build_request(
                "POST", request_uri, data=dict(form or {}), headers=headers
            )
        else:
            request = self._client.build_request("GET", request_uri, headers=headers)
        response = self._send(request, what="request object")
        if response.status_code != 200:
            raise WalletHTTPError(
                f"request object: verifier answered {response.status_code} {_reason(response)}"
            )
        media = response.headers.get("content-type", "").split(";")[0].strip()
        if media != "application/oauth-authz-req+jwt":
            raise WalletHTTPError(f"request object: unexpected content type {media!r}")
        return response.text.strip()

    def post_response(self, response_uri: str, form: Mapping[str, str]) -> dict[str, object]:
        """POST the authorization response; the verifier answers 200 with a JSON object."""
        request = self._client.build_request("POST", response_uri, data=dict(form))
        response = self._send(request, what="response")
        if response.status_code != 200:
            raise WalletHTTPError(
                f"response: verifier answered {response.status_code} {_reason(response)}"
            )
        try:
            body = response.json()
        except ValueError:
            raise WalletHTTPError("response: verifier did not answer with JSON") from None
        if not isinstance(body, dict):
            raise WalletHTTPError("response: verifier did not answer with a JSON object")
        return body

    def get(self, url: str) -> httpx.Response:
        return self._send(self._client.build_request("GET", url), what="redirect")


def _reason(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    if isinstance(data, dict) and "error" in data:
        return f"{data.get('error')}: {data.get('error_description', '')}".strip()
    return ""
