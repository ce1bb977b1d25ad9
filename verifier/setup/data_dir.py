"""``agentvp init``: a complete, working development data dir.

Writes (relative to the data dir)::

    config.yaml                public_url, a fresh API key and webhook secret (read automatically)
    verifier/signing_key.json  request-object signing key (P-256)
    verifier/chain.pem         leaf certificate for the public host + intermediate
    pki/root.pem               the dev CA (give it to wallets: `wallet-sim init --trust-verifier`)
    pki/*_key.json             dev CA keys, to issue more dev certificates later
    demo/issuers/*.json        demo issuer keys (eKYC identity issuer, mandate issuer)
    trust.json                 those issuers, trusted for their credential types
    policy.yaml                DCQL presets `identity`, `agent_mandate`; policy `shop-checkout`

Nothing here is for production: the CA, the keys and the API key are development material.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from verifier.protocol.jose import SigningKey
from verifier.protocol.x509.chain import cert_to_pem
from verifier.protocol.x509.devpki import DevPKI

__all__ = [
    "DEMO_ISSUERS",
    "IDENTITY_VCT",
    "MANDATE_VCT",
    "default_presets",
    "init_data_dir",
    "next_steps",
]

IDENTITY_VCT = "https://agentvp.example/vct/verified_person/1"
MANDATE_VCT = "https://agentvp.example/vct/agent_mandate/1"
DEMO_ISSUERS = {
    "ekyc": ("https://ekyc.agentvp.example", "identity", IDENTITY_VCT),
    "mandates": ("https://mandates.agentvp.example", "mandate", MANDATE_VCT),
}


def default_presets() -> dict[str, Any]:
    vc = "verified_claims"
    return {
        "identity": {
            "description": "A verified person: trust framework, assurance level, name, birthdate",
            "dcql_query": {
                "credentials": [
                    {
                        "id": "identity",
                        "format": "dc+sd-jwt",
                        "meta": {"vct_values": [IDENTITY_VCT]},
                        "claims": [
                            {"path": [vc, "verification", "trust_framework"]},
                            {"path": [vc, "verification", "assurance_level"]},
                            {"path": [vc, "verification", "time"]},
                            {"path": [vc, "verification", "evidence", None, "type"]},
                            {"path": [vc, "claims", "given_name"]},
                            {"path": [vc, "claims", "family_name"]},
                            {"path": [vc, "claims", "birthdate"]},
                        ],
                    }
                ]
            },
        },
        "agent_mandate": {
            "description": "An agent's mandate: who it acts for and what it may do",
            "dcql_query": {
                "credentials": [
                    {
                        "id": "mandate",
                        "format": "dc+sd-jwt",
                        "meta": {"vct_values": [MANDATE_VCT]},
                        "claims": [
                            {"path": ["jti"]},
                            {"path": ["agent"]},
                            {"path": ["principal", "type"]},
                            {"path": ["authority", "actions"]},
                            {"path": ["authority", "constraints"]},
                        ],
                    }
                ]
            },
        },
    }


def default_policies() -> dict[str, Any]:
    """``shop-checkout``: an agent buying at shop-a.example; the human steps up above 250 EUR
    and on a principal's first checkout."""
    return {
        "shop-checkout": {
            "mandate": {
                "accepted_vct": [MANDATE_VCT],
                "accepted_issuers": [DEMO_ISSUERS["mandates"][0]],
                "max_validity": 30 * 86400,
                "status_required": False,
                "required_actions": ["payment.initiate"],
                "unknown_constraint": "reject",
            },
            "identity": {
                "accepted_vct": [IDENTITY_VCT],
                "accepted_issuers": [DEMO_ISSUERS["ekyc"][0]],
                "trust_frameworks": {
                    "eidas": {"levels": ["low", "substantial", "high"], "min": "substantial"},
                    "de_aml": {},
                },
                "max_verification_age": "P24M",
                "accepted_evidence_types": ["document", "electronic_record"],
                "required_claims": ["given_name", "family_name", "birthdate"],
                "required_when": [{"amount_minor_gt": 25000}, {"first_use_of_principal": True}],
            },
            "transaction": {
                "hash_alg": "sha-256",
                "kb_max_age": 120,
                "payee_domain": "shop-a.example",
                "rp_limits": {"EUR": {"per_tx_max_minor": 100000}},
            },
        }
    }


def _write(path: Path, text: str, *, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if private:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")


def init_data_dir(data_dir: Path, *, public_url: str, force: bool = False) -> dict[str, str]:
    """Create the dev data dir; refuses to overwrite one unless ``force``. Returns a summary."""
    if (data_dir / "verifier" / "signing_key.json").exists() and not force:
        raise FileExistsError(f"{data_dir} is already initialised (use --force to replace it)")
    now = int(time.time())
    host = urlsplit(public_url).hostname or "localhost"
    pki = DevPKI.create(now=now, name="agentvp dev")
    verifier_key = SigningKey.generate(kid="verifier-1")
    leaf = pki.verifier_leaf(host, verifier_key, now=now)
    _write(
        data_dir / "verifier" / "signing_key.json", json.dumps(verifier_key.to_jwk()), private=True
    )
    _write(data_dir / "verifier" / "chain.pem", "".join(cert_to_pem(c) for c in pki.chain(leaf)))
    _write(data_dir / "pki" / "root.pem", cert_to_pem(pki.root))
    _write(data_dir / "pki" / "intermediate.pem", cert_to_pem(pki.intermediate))
    for name, key in (("root", pki.root_key), ("intermediate", pki.intermediate_key)):
        _write(data_dir / "pki" / f"{name}_key.json", json.dumps(key.to_jwk()), private=True)
    trusted = []
    for name, (iss, kind, vct) in DEMO_ISSUERS.items():
        key = SigningKey.generate(kid=f"{name}-1")
        record = {"iss": iss, "kind": kind, "key": key.to_jwk()}
        _write(
            data_dir / "demo" / "issuers" / f"{name}.json",
            json.dumps(record, indent=2),
            private=True,
        )
        public = {**key.public_jwk, "use": "sig", "alg": "ES256"}
        trusted.append({"iss": iss, "jwks": {"keys": [public]}, "vct": [vct]})
    _write(data_dir / "trust.json", json.dumps({"issuers": trusted, "anchors": []}, indent=2))
    policy = {"presets": default_presets(), "policies": default_policies()}
    _write(data_dir / "policy.yaml", yaml.safe_dump(policy, sort_keys=False))
    # A fixed lead: a key never starts with "-" (which command-line parsers take for an option:
    # `--api-key -x...` failed one time in 64) and is easy to tell apart in a config.
    api_key = "avp_" + secrets.token_urlsafe(24)
    config = {
        "public_url": public_url,
        "api_keys": api_key,
        "webhook_secret": secrets.token_urlsafe(32),
    }
    _write(data_dir / "config.yaml", yaml.safe_dump(config), private=True)
    return {"api_key": api_key, "client_root": str(data_dir / "pki" / "root.pem"), "host": host}


def next_steps(data_dir: Path, public_url: str, summary: dict[str, str]) -> list[str]:
    """The commands ``agentvp init`` suggests next, each one whole (to be copied as is)."""
    issuers = data_dir / "demo" / "issuers"
    body = '{"profile": "identity"}'
    return [
        f"agentvp serve --data-dir {data_dir}    # listens on the public URL's port",
        f"wallet-sim init --issuers {issuers} --trust-verifier {summary['client_root']}",
        "wallet-sim issue identity && wallet-sim issue mandate",
        f"curl -H 'Authorization: Bearer {summary['api_key']}' "
        f"-H 'Content-Type: application/json' -d '{body}' {public_url}/v1/presentations",
    ]
