"""The AP2 API (Bearer API key): challenges and mandate verifications (AP2 v0.2).

- ``POST /v1/ap2/challenges`` ``{}`` -> 201 ``{id, nonce, aud, expires_at}``;
- ``POST /v1/ap2/verifications`` ``{challenge_id, mandate, checkout_jwt?, checkout_mandate?,
  policy?}`` -> 200 ``{id, decision, mode, vct, mandate, open_mandate?, principal?, reasons,
  receipt}`` (a rejection is a 200 with its reasons and receipt; a malformed body is a 400);
- ``GET /v1/ap2/verifications/{id}/events`` - the hash-chained audit log of one verification.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from verifier.ap2.service import AP2Verifications, VerificationRequest
from verifier.routes.deps import json_body, parse_body, require_api_key
from verifier.routes.json_response import JSONResponse
from verifier.routes.openapi import answers, errors, json_request
from verifier.routes.schemas import AP2Challenge, AP2Verification, AuditLog

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/ap2",
    tags=["AP2 mandates"],
    dependencies=[Depends(require_api_key)],
    responses=errors(401, 503),
)
NO_STORE = {"Cache-Control": "no-store"}
MAX_MANDATE = 64 * 1024


class CreateChallenge(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Ids are base64url; chains and JWTs only base64url, '.' and '~' (anything else, e.g. a lone
# surrogate, cannot be hashed or stored and is refused here with a 400).
ID_PATTERN = r"^[A-Za-z0-9_-]+$"
CHAIN = r"^[A-Za-z0-9_.~-]+$"


class CreateVerification(BaseModel):
    model_config = ConfigDict(extra="forbid")
    challenge_id: str = Field(min_length=1, max_length=128, pattern=ID_PATTERN)
    mandate: str = Field(
        min_length=1,
        max_length=MAX_MANDATE,
        pattern=CHAIN,
        description="The presented mandate: an SD-JWT with a KB-SD-JWT (direct) or a `~~` "
        "Delegate SD-JWT chain (autonomous).",
    )
    checkout_jwt: str | None = Field(None, min_length=1, max_length=MAX_MANDATE, pattern=CHAIN)
    checkout_mandate: str | None = Field(None, min_length=1, max_length=MAX_MANDATE, pattern=CHAIN)
    policy: str | None = Field(None, min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")


def ap2_of(request: Request) -> AP2Verifications:
    service: AP2Verifications = request.app.state.ap2
    return service


@router.post(
    "/challenges",
    status_code=201,
    responses={**answers(AP2Challenge, 201), **errors(400, 413, 415)},
    openapi_extra=json_request(CreateChallenge),
)
async def create_challenge(request: Request) -> JSONResponse:
    """A single-use `{nonce, aud}` the mandate's last hop must carry."""
    parse_body(CreateChallenge, await json_body(request))
    challenge = await ap2_of(request).challenges.create()
    body = {
        "id": challenge.id,
        "nonce": challenge.nonce,
        "aud": challenge.client_id,
        "expires_at": challenge.expires_at,
    }
    return JSONResponse(body, 201, headers=NO_STORE)


@router.post(
    "/verifications",
    responses={**answers(AP2Verification), **errors(400, 413, 415)},
    openapi_extra=json_request(CreateVerification),
)
async def create_verification(request: Request) -> JSONResponse:
    """Verify an AP2 mandate chain against a challenge: decision, reasons, signed receipt."""
    body = parse_body(CreateVerification, await json_body(request))
    result = await ap2_of(request).verify(
        VerificationRequest(
            challenge_id=body.challenge_id,
            mandate=body.mandate,
            checkout_jwt=body.checkout_jwt,
            checkout_mandate=body.checkout_mandate,
            policy=body.policy,
        )
    )
    return JSONResponse(result, headers=NO_STORE)


@router.get("/verifications/{vid}/events", responses={**answers(AuditLog), **errors(404)})
async def get_verification_events(request: Request, vid: str) -> JSONResponse:
    """The hash-chained audit log (ids, codes and counters; never claim values)."""
    return JSONResponse({"events": await ap2_of(request).audit(vid)}, headers=NO_STORE)
