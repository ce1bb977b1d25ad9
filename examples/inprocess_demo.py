"""In-process demo: issue, present with a KB-JWT, verify, print what was disclosed.

An eKYC issuer issues a human an identity credential (IDA ``verified_claims``); a mandate issuer
issues an agent a mandate bound to that human (``principal.jkt``). Both are presented against one
DCQL query, the mandate's KB-JWT binding an agent action as ``transaction_data``, and verified
by the protocol core. No network: see ``agentvp demo`` for the same over real HTTP.

    python examples/inprocess_demo.py
"""

from __future__ import annotations

import json
import time

from rich.console import Console
from rich.panel import Panel

from verifier.protocol import (
    DCQLQuery,
    HeldCredential,
    StaticKeyResolver,
    encode_transaction_data,
    verify_vp_token,
)
from verifier.protocol.jose import SigningKey
from wallet_sim.holder import build_vp_token
from wallet_sim.issuer import (
    IDENTITY_VCT,
    MANDATE_VCT,
    IdentitySubject,
    Issuer,
    MandateGrant,
    identity_claims,
    mandate_claims,
)

AGENT_ACTION = "https://agentvp.example/td/agent_action/1"
CLIENT_ID = "x509_hash:demo-verifier"


def main() -> None:
    console = Console()
    now = int(time.time())
    idp = Issuer("https://ekyc.demo.example", SigningKey.generate(kid="idp-1"))
    mandates = Issuer("https://mandates.demo.example", SigningKey.generate(kid="mi-1"))
    human, agent = SigningKey.generate(), SigningKey.generate()

    identity = idp.issue(
        identity_claims(IdentitySubject(), iss=idp.iss, now=now), holder_jwk=human.public_jwk
    )
    grant = MandateGrant()
    mandate = mandates.issue(
        mandate_claims(grant, iss=mandates.iss, now=now, principal_jkt=human.thumbprint),
        holder_jwk=agent.public_jwk,
    )
    held = [
        HeldCredential.from_issuance(identity, id="identity"),
        HeldCredential.from_issuance(mandate, id="mandate"),
    ]
    console.print(f"issued identity credential ({len(held[0].disclosures)} disclosable claims)")
    console.print(f"issued agent mandate ({len(held[1].disclosures)} disclosable claims)")

    query = DCQLQuery.parse(
        {
            "credentials": [
                {
                    "id": "identity",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [IDENTITY_VCT]},
                    "claims": [
                        {"path": ["verified_claims", "verification", "trust_framework"]},
                        {"path": ["verified_claims", "verification", "assurance_level"]},
                        {"path": ["verified_claims", "verification", "time"]},
                        {"path": ["verified_claims", "claims", "given_name"]},
                        {"path": ["verified_claims", "claims", "family_name"]},
                    ],
                },
                {
                    "id": "mandate",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [MANDATE_VCT]},
                    "claims": [
                        {"path": ["agent"]},
                        {"path": ["authority", "actions"]},
                        {"path": ["principal", "jkt"]},
                        {
                            "path": ["authority", "constraints", None, "allowed", None, "domain"],
                            "values": ["shop-a.example"],
                        },
                    ],
                },
            ]
        }
    )
    action = encode_transaction_data(
        {
            "type": AGENT_ACTION,
            "credential_ids": ["mandate"],
            "payload": {
                "action": "payment.initiate",
                "transaction_id": "ord-42",
                "payee": {"id": "merchant-4711", "name": "Shop A", "domain": "shop-a.example"},
                "payment_amount": {"amount": 8990, "currency": "EUR"},
            },
        }
    )
    nonce = SigningKey.generate().thumbprint  # 256 random bits, URL-safe
    presentation = build_vp_token(
        query=query,
        credentials=held,
        holder_keys={"identity": human, "mandate": agent},
        audience=CLIENT_ID,
        nonce=nonce,
        now=now,
        transaction_data=[action],
        supported_td_types={AGENT_ACTION},
    )
    for query_id, matches in presentation.matches.items():
        shown = ", ".join(d.name or json.dumps(d.value) for d in matches[0].disclosures)
        console.print(f"wallet discloses for [bold]{query_id}[/]: {shown}")

    verified = verify_vp_token(
        presentation.vp_token,
        query=query,
        keys=StaticKeyResolver(
            {idp.iss: [idp.key.public_jwk], mandates.iss: [mandates.key.public_jwk]}
        ),
        audience=CLIENT_ID,
        nonce=nonce,
        now=now,
        transaction_data=[action],
    )
    person = verified.first("identity")
    agent_mandate = verified.first("mandate")
    assert person is not None and agent_mandate is not None
    linked = agent_mandate.claims["principal"].get("jkt") == person.holder_jkt
    console.print(
        Panel(
            json.dumps(person.claims["verified_claims"], indent=2, ensure_ascii=False),
            title=f"verified identity from {person.iss}",
        )
    )
    console.print(
        Panel(
            json.dumps({k: agent_mandate.claims[k] for k in ("agent", "authority")}, indent=2),
            title=f"verified mandate from {agent_mandate.iss}",
        )
    )
    kb = agent_mandate.key_binding
    bound = kb is not None and len(kb.transaction_data_hashes) == 1
    console.print(f"action bound by the agent's KB-JWT: {bound}")
    console.print(f"mandate principal.jkt matches the identity holder key: {linked}")
    console.print("[bold green]verified[/]")


if __name__ == "__main__":
    main()
