"""Every case of the corpus, module by module (see ``tests/attacks/README.md``)."""

from __future__ import annotations

from tests.attacks.cases import (
    agent,
    claims,
    constraints,
    credential,
    dc_api,
    disclosures,
    dpop_nonce,
    envelope,
    issuer,
    jose_strict,
    key_binding,
    lifecycle,
    oauth,
    one_action,
    probes,
    records,
    rp_api,
    rp_inputs,
    siop,
    ssrf,
    status,
    structure,
    wallet_login,
    x509_path,
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
    constraints,
    rp_api,
    rp_inputs,
    oauth,
    records,
    dc_api,
    probes,
    jose_strict,
    x509_path,
    one_action,
    dpop_nonce,
    wallet_login,
]
CASES: list[Case] = [case for module in MODULES for case in module.CASES]
