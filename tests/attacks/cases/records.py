"""Record isolation: every endpoint loads only records of its own kind (typed store keys).

Agent verifications (``av:<id>`` request ids) and OAuth grants (``auth_req_id``) once shared the
id namespace of presentation transactions: ``GET /wallet/request/av:<id>`` signed a request
object for an agent verification and moved it to ``request_retrieved`` (an honest agent's answer
then left it pending forever), ``POST /wallet/response/av:<id>`` was a 500, and the RP API read an
agent verification as a presentation. Each case sends one such cross-kind request and proves the
answer is a 404 and that nothing changed (the watched verification, its audit log, every record).
"""

from __future__ import annotations

from collections.abc import Callable

from tests.attacks.cases.oauth import started
from tests.attacks.harness import FORM, Attack, Case, Refused, World

SOURCE = "DESIGN store: typed keys per record kind"


def _wallet(method: str, path: str, body: bytes | None = None) -> Callable[[World], Attack]:
    """A wallet-facing request naming the pending bystander verification's request id."""

    def build(world: World) -> Attack:
        url = f"{world.verifier.url}{path.format(av=world.bystander_av)}"
        headers = {"Content-Type": FORM} if body is not None else {}
        return Attack(method, url, headers, body, watch=[world.bystander_av])

    return build


def _rp(path: str, *, grant: bool = False) -> Callable[[World], Attack]:
    """An RP API read naming an agent verification (or an OAuth grant) as another kind."""

    def build(world: World) -> Attack:
        record, agents = world.bystander_av, []
        if grant:
            record, av = started(world)
            agents = [av]
        url = f"{world.verifier.url}{path.format(id=record)}"
        headers = {"Authorization": f"Bearer {world.api_key}"}
        return Attack("GET", url, headers, watch=[record], agents=agents)

    return build


def _c(name: str, build: Callable[[World], Attack], status: int, error: str, text: str) -> Case:
    return Case(name, SOURCE, build, Refused(status, error, text))


CASES = [
    _c(
        "records_wallet_get_request_of_agent_verification",
        _wallet("GET", "/wallet/request/av:{av}"),
        404,
        "invalid_request",
        "unknown request",
    ),
    _c(
        "records_wallet_post_request_of_agent_verification",
        _wallet("POST", "/wallet/request/av:{av}", b"wallet_nonce=n"),
        404,
        "invalid_request",
        "unknown request",
    ),
    _c(
        "records_wallet_response_to_agent_verification",
        _wallet("POST", "/wallet/response/av:{av}", b"vp_token=%7B%7D&state=s"),
        404,
        "invalid_request",
        "unknown request",
    ),
    _c(
        "records_rp_agent_verification_as_presentation",
        _rp("/v1/presentations/{id}"),
        404,
        "not_found",
        "no such presentation",
    ),
    _c(
        "records_rp_agent_verification_events_as_presentation",
        _rp("/v1/presentations/{id}/events"),
        404,
        "not_found",
        "no such presentation",
    ),
    _c(
        "records_rp_oauth_grant_as_presentation",
        _rp("/v1/presentations/{id}", grant=True),
        404,
        "not_found",
        "no such presentation",
    ),
    _c(
        "records_rp_oauth_grant_as_agent_verification",
        _rp("/v1/agent-verifications/{id}", grant=True),
        404,
        "not_found",
        "no such agent verification",
    ),
]
