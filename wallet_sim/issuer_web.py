"""The simulated issuers' HTTP server (``wallet-sim issuer-serve``).

    GET /status/<issuer>                    the issuer's Status List Token (statuslist+jwt)
    GET /.well-known/jwt-vc-issuer/<issuer> JWT VC Issuer Metadata: {"issuer", "jwks"} with the
                                            current and previous keys (rotation keeps old kids)

It reads the wallet directory on every request, so CLI changes (revocation, key rotation) are
served immediately. It is another party than the verifier and than the wallet page.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from verifier.protocol import SigningKey

from .status import StatusRegistry, status_list_token
from .store import Wallet

__all__ = ["issuer_app"]


def issuer_app(
    wallet: Wallet, *, ttl: int = 60, clock: Callable[[], float] = time.time
) -> Starlette:
    def _issuer(request: Request) -> dict[str, object]:
        name = str(request.path_params["name"])
        if name not in wallet.issuers():
            raise LookupError(name)
        return wallet.issuer_data(name)

    async def status(request: Request) -> Response:
        try:
            data = _issuer(request)
        except LookupError:
            return JSONResponse({"error": "not_found"}, status_code=404)
        registry = StatusRegistry(wallet.path / "status" / f"{request.path_params['name']}.json")
        if not registry.path.exists():
            return JSONResponse({"error": "not_found"}, status_code=404)
        key = SigningKey.from_jwk(data["key"])  # type: ignore[arg-type]
        token = status_list_token(registry, key, now=int(clock()), ttl=ttl)
        return Response(
            token,
            media_type="application/statuslist+jwt",
            headers={"Cache-Control": f"max-age={ttl}"},
        )

    async def metadata(request: Request) -> Response:
        try:
            data = _issuer(request)
        except LookupError:
            return JSONResponse({"error": "not_found"}, status_code=404)
        key = SigningKey.from_jwk(data["key"])  # type: ignore[arg-type]
        keys = [{**key.public_jwk, "use": "sig", "alg": key.alg}]
        keys += list(data.get("previous_keys") or [])  # type: ignore[call-overload]
        return JSONResponse({"issuer": data["iss"], "jwks": {"keys": keys}})

    return Starlette(
        routes=[
            Route("/status/{name}", status),
            Route("/.well-known/jwt-vc-issuer/{name}", metadata),
        ]
    )
