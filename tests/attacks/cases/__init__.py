"""Every case of the corpus, module by module (see ``tests/attacks/README.md``)."""

from __future__ import annotations

from tests.attacks.cases import (
    agent,
    claims,
    credential,
    disclosures,
    envelope,
    issuer,
    key_binding,
    lifecycle,
    oauth,
    probes,
    records,
    rp_api,
    rp_inputs,
    siop,
    ssrf,
    status,
    structure,
)
from tests.attacks.harness import Case

MODULES = [
    envelope,
    lifecycle,
    structure,
    issuer,
    disclosures,
    credential,
    key_binding,
    claims,
    status,
    ssrf,
    siop,
    agent,
    rp_api,
    rp_inputs,
    oauth,
    records,
    probes,
]
CASES: list[Case] = [case for module in MODULES for case in module.CASES]
