"""Build the AP2 service from settings and the presentation service (used by ``app.py``)."""

from __future__ import annotations

from verifier.ap2.service import AP2Verifications
from verifier.policy.presets import load_policy_file
from verifier.presentations.service import PresentationService
from verifier.protocol.sdjwt.delegation import DelegationPolicy
from verifier.settings import Settings

__all__ = ["build_ap2"]


def build_ap2(settings: Settings, service: PresentationService) -> AP2Verifications:
    config = service.config
    return AP2Verifications(
        service,
        load_policy_file(settings.policy_file).ap2_policies,
        providers=getattr(service.keys, "agent_providers", None),
        signing_key=config.receipt_key,
        issuer=settings.public_url,
        chain_policy=DelegationPolicy(
            max_segments=settings.ap2_max_chain_segments,
            leeway=settings.clock_leeway,
            terminal_max_age=settings.kb_max_age,
            max_chain_bytes=settings.max_body_bytes,
            max_disclosures=settings.max_disclosures,
            credential=config.policy,
        ),
        challenge_ttl=settings.ap2_challenge_ttl,
    )
