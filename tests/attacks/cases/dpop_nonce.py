"""DPoP server nonces at a protected resource (RFC 9449 §9, ``verifier.resource.nonces``): the
resource's guard wants its own nonce in every proof; an agent with a valid single-use token
and its key sends proofs without one, with an expired one, a made-up one, another resource's,
or one keyed with another secret. Each is refused with 401 ``use_dpop_nonce`` naming the
check, runs nothing, and answers the current nonce in ``DPoP-Nonce``, with which the token then
performs its one action, once."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.attacks.harness import RESOURCE, Attack, Case, Refused, World
from tests.attacks.resource import (
    NONCE_SECRET,
    access_token,
    call,
    nonced_request,
    unspent_with_nonce,
)
from verifier.resource import DPoPNonces

SOURCE = "resource DPoP nonce (RFC 9449 §9; verifier.resource.nonces)"


def with_nonce(nonce: Callable[[], str | None]) -> Callable[[World], Attack]:
    def build(world: World) -> Attack:
        token = access_token(world)
        attack = nonced_request(world, token, call(), nonce())
        attack.after = unspent_with_nonce(world, token)
        return attack

    return build


def _stale() -> str:
    then = time.time() - 130  # two windows of 60 s ago: past the one grace window
    return DPoPNonces(NONCE_SECRET, clock=lambda: then).current(RESOURCE)


def _forged() -> str:
    real = DPoPNonces(NONCE_SECRET).current(RESOURCE)
    return real[:-1] + ("A" if real[-1] != "A" else "B")  # one character off


def _refused(name: str, nonce: Callable[[], str | None], code: str) -> Case:
    return Case(name, SOURCE, with_nonce(nonce), Refused(401, "use_dpop_nonce", code))


CASES = [
    _refused("resource_nonce_missing", lambda: None, "dpop_nonce_missing"),
    _refused("resource_nonce_expired", _stale, "dpop_nonce_invalid"),
    _refused("resource_nonce_forged", _forged, "dpop_nonce_invalid"),
    _refused(
        "resource_nonce_of_another_resource",
        lambda: DPoPNonces(NONCE_SECRET).current("https://shop-b.example/mcp"),
        "dpop_nonce_invalid",
    ),
    _refused(
        "resource_nonce_under_another_secret",
        lambda: DPoPNonces(b"an attacker's own nonce secret!!").current(RESOURCE),
        "dpop_nonce_invalid",
    ),
]
