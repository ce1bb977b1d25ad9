"""One token, one action at a protected resource (``verifier.resource``; agent-mandates §8):
an agent holding one single-use access token for one payment tries to run more than that one
action - a JSON-RPC batch, a message the guard reads differently from a lenient application,
another HTTP method, another spelling of the path. The application behind the guard runs
batches and reads JSON leniently (``tests/jsonrpc_app.py``), so only the guard stands between
the token and a second action. Each refusal runs nothing (the judge compares the
application's ledger) and leaves the token unspent: afterwards it performs its one action,
once."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.attacks.harness import Attack, Case, Refused, World
from tests.attacks.resource import ORDER, access_token, call, request, unspent

SOURCE = "one token, one action (verifier.resource); agent-mandates §8"


def with_token(body: Callable[[], Any], **opts: Any) -> Callable[[World], Attack]:
    """``body()`` sent with a fresh token; afterwards the token must still be unspent."""

    def build(world: World) -> Attack:
        token = access_token(world)
        attack = request(world, token, body(), **opts)
        attack.after = unspent(world, token)
        return attack

    return build


def spent_twice(world: World) -> Attack:
    token = access_token(world)
    first = world.send(request(world, token, call()))
    assert first.status_code == 200, first.text
    return request(world, token, call(rpc_id=2))


def without_token(path: str) -> Callable[[World], Attack]:
    return lambda world: request(world, None, call(), path=path)


GOOD = json.dumps(call())
LIST = {"jsonrpc": "2.0", "id": 9, "method": "tools/list"}


def _raw(text: str) -> Callable[[], bytes]:
    return text.encode


def _c(name: str, build: Callable[[World], Attack], status: int, error: str, code: str) -> Case:
    return Case(name, SOURCE, build, Refused(status, error, code))


BAD = (400, "invalid_request")
CASES = [
    _c(
        "resource_batch_of_three_calls",
        with_token(lambda: [call(rpc_id=1), call(rpc_id=2), call(rpc_id=3)]),
        *BAD,
        "batch_refused",
    ),
    _c("resource_batch_of_one_call", with_token(lambda: [call()]), *BAD, "batch_refused"),
    _c(
        "resource_batch_call_and_refund",
        with_token(lambda: [call(), call("refund", rpc_id=2)]),
        *BAD,
        "batch_refused",
    ),
    _c("resource_batch_without_calls", with_token(lambda: [LIST]), *BAD, "batch_refused"),
    _c(
        "resource_batch_under_a_sub_path",
        with_token(lambda: [call(), call(rpc_id=2)], path="/mcp/rpc"),
        *BAD,
        "batch_refused",
    ),
    _c(
        "resource_duplicate_method_member",
        with_token(
            _raw(
                GOOD.replace(
                    '"method": "tools/call"', '"method": "tools/list", "method": "tools/call"'
                )
            )
        ),
        *BAD,
        "body_not_json",
    ),
    _c(
        "resource_duplicate_params_member",
        with_token(_raw(GOOD[:-1] + ', "params": ' + json.dumps(call("refund")["params"]) + "}")),
        *BAD,
        "body_not_json",
    ),
    _c(
        "resource_nan_amount",
        with_token(_raw(GOOD.replace(f'"amount": {ORDER["amount"]}', '"amount": NaN'))),
        *BAD,
        "body_not_json",
    ),
    _c("resource_byte_order_mark", with_token(_raw("\ufeff" + GOOD)), *BAD, "body_not_json"),
    _c("resource_scalar_body", with_token(_raw('"tools/call"')), *BAD, "body_not_json_rpc"),
    _c(
        "resource_refund_sent_with_put",
        with_token(lambda: call("refund"), method="PUT"),
        403,
        "insufficient_scope",
        "action_not_granted",
    ),
    _c(
        "resource_amount_over_grant_sent_with_patch",
        with_token(lambda: call(**{**ORDER, "amount": ORDER["amount"] + 1}), method="PATCH"),
        403,
        "insufficient_scope",
        "amount_exceeds_grant",
    ),
    _c("resource_token_spent", spent_twice, 401, "invalid_token", "token_spent"),
    _c(
        "resource_sub_path_without_token",
        without_token("/mcp/rpc"),
        401,
        "invalid_token",
        "token_missing",
    ),
    _c(
        "resource_double_slash_without_token",
        without_token("//mcp"),
        401,
        "invalid_token",
        "token_missing",
    ),
]
