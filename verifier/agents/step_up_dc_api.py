"""The human's step-up over the Digital Credentials API (OpenID4VP Appendix A).

An agent verification asks the person - when its policy says so - with a presentation of their
identity carrying the action as ``transaction_data``. By default that request is cross-device
(a QR code, or an ``openid4vp://`` link). It can instead be a ``flow: "dc_api"`` presentation
that the relying party's page hands to ``navigator.credentials.get``:

- chosen when the verification is created (``human_flow: "dc_api"`` in ``POST
  /v1/agent-verifications``, optionally ``expected_origins``): :func:`human_flow_meta` checks
  the choice at once (so a step-up opened later cannot fail on it), and
  :func:`step_up_spec` builds every step-up request from it;
- or switched to by the page while the step-up is open and no wallet has fetched the QR request
  yet (:func:`switch_to_dc_api`): the DC API request replaces the QR one as the verification's
  ``human_tx`` (one compare-and-set), then the QR request is retired (``expired``, code
  ``superseded``) if still unfetched. A wallet that fetched it meanwhile can still answer it, but
  that answer no longer decides anything.

The answer arrives like any DC API answer (:mod:`verifier.presentations.dc_api`); the decision
is taken exactly as for the QR path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from verifier.errors import ServiceError
from verifier.policy.queries import identity_query, transaction_data
from verifier.policy.rules import AgentPolicy
from verifier.presentations.create import CreatePresentation
from verifier.presentations.dc_api import dc_api_meta
from verifier.presentations.service import PresentationService
from verifier.protocol.mandates.authority import AgentAction
from verifier.store.base import RecordKind, Transaction, TransactionStore, TxStatus

__all__ = ["human_flow_meta", "step_up_spec", "switch_to_dc_api"]


class Verifications(Protocol):
    """What :func:`switch_to_dc_api` uses of
    :class:`~verifier.agents.verifications.AgentVerifications`: that module imports this one, so
    this one names them rather than import that class back."""

    @property
    def presentations(self) -> PresentationService: ...
    @property
    def store(self) -> TransactionStore: ...
    @property
    def policies(self) -> Mapping[str, AgentPolicy]: ...
    async def record_event(self, av_id: str, kind: str, **data: Any) -> None: ...


def human_flow_meta(
    presentations: PresentationService,
    policy: AgentPolicy,
    *,
    expected_origins: Sequence[str] | None = None,
    signed: bool | None = None,
) -> dict[str, Any]:
    """``meta["human_flow"]`` for a DC API step-up; ``ServiceError`` if it cannot be made."""
    flow: dict[str, Any] = {"flow": "dc_api"}
    if expected_origins is not None:
        flow["expected_origins"] = list(expected_origins)
    if signed is not None:
        flow["signed"] = signed
    spec = CreatePresentation(dcql_query=identity_query(policy), **flow)
    config = presentations.config
    dc_api_meta(spec, allowed=config.dc_api_origins, can_sign=config.signing_key is not None)
    return flow


def step_up_spec(
    policy: AgentPolicy, action: AgentAction, human_flow: Mapping[str, Any] | None
) -> CreatePresentation:
    """The person's request: identity, with the action as transaction data, in its flow."""
    td = transaction_data(policy, action, "identity")
    return CreatePresentation(
        dcql_query=identity_query(policy), transaction_data=[td], **dict(human_flow or {})
    )


async def switch_to_dc_api(
    agents: Verifications, av: Transaction, *, expected_origins: Sequence[str] | None = None
) -> Transaction:
    """Replace the open QR step-up of ``av`` by a DC API one; the updated verification."""
    presentations, store = agents.presentations, agents.store
    current = await presentations.get(av.meta["human_tx"]) if av.meta.get("human_tx") else None
    if current is None or av.status != TxStatus.PENDING:
        raise ServiceError(400, "invalid_request", "this verification asks nobody right now")
    if current.flow == "dc_api":
        return av
    if current.status != TxStatus.PENDING:
        raise ServiceError(400, "invalid_request", "a wallet already opened the QR request")
    policy = agents.policies.get(av.meta["policy"])
    if policy is None:
        raise ServiceError(400, "invalid_request", "the policy no longer exists")
    flow = human_flow_meta(presentations, policy, expected_origins=expected_origins)
    action = AgentAction.model_validate(av.meta["action"])
    human = await presentations.create(
        step_up_spec(policy, action, flow), purpose="human", parent_id=av.id
    )
    updated = await store.update_if(
        av.id,
        {"status": TxStatus.PENDING, "meta": av.meta},
        {"meta": {**av.meta, "human_tx": human.id}},
        kind=RecordKind.AGENT_VERIFICATION,
    )
    if updated is None:
        raise ServiceError(400, "invalid_request", "the verification changed; read it again")
    await store.update_if(
        current.id,
        {"status": TxStatus.PENDING},
        {
            "status": TxStatus.EXPIRED,
            "error": {"code": "superseded", "detail": "replaced by a DC API request"},
        },
        kind=RecordKind.PRESENTATION,
    )
    await agents.record_event(av.id, "step_up_channel", flow="dc_api", human_tx=human.id)
    return updated
