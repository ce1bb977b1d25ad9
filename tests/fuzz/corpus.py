"""The seed corpus of the fuzzers: valid artifacts built with the wallet simulator, kept as data.

Every structure-aware mutation starts from one of these. They are built by the same code the
end-to-end tests use (the simulator's issuers and holder, the wallet-side response encryption,
the simulator's status lists, the verifier's request objects), once, with a fixed clock, and
stored in ``corpus.json`` so that a fuzz run is reproducible byte for byte (ECDSA signatures,
salts and ephemeral keys are random, so a rebuild gives other bytes). Regenerate with::

    python -m tests.fuzz.corpus        # rewrites tests/fuzz/corpus.json

``test_parsers.py::test_every_seed_is_accepted`` keeps the stored corpus valid.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from verifier.policy.queries import mandate_query, transaction_data
from verifier.policy.rules import AgentPolicy
from verifier.protocol import DCQLQuery, HeldCredential, SigningKey, encode_transaction_data
from verifier.protocol.mandates.authority import AgentAction
from verifier.protocol.oauth.dpop import create_proof
from verifier.protocol.oid4vp.request import (
    authorization_request_uri,
    build_request_claims,
    client_metadata,
    sign_request_object,
    unsigned_request_object,
)
from verifier.protocol.oid4vp.response import direct_post_form, encrypted_form
from verifier.protocol.oid4vp.siop import create_id_token
from verifier.protocol.x509.chain import cert_to_pem, x509_hash
from verifier.protocol.x509.devpki import DevPKI, make_self_signed_leaf
from verifier.setup.data_dir import default_policies, default_presets
from wallet_sim.holder import build_vp_token
from wallet_sim.issuer import IdentitySubject, Issuer, MandateGrant, identity_claims, mandate_claims
from wallet_sim.status import StatusRegistry, status_list_token
from wallet_sim.wallet import AGENT_ACTION_TD

__all__ = ["NOW", "Corpus", "build", "load"]

PATH = Path(__file__).resolve().parent / "corpus.json"
NOW = 1_780_000_000
VERIFIER_HOST = "verifier.fuzz.example"
RESPONSE_URI = f"https://{VERIFIER_HOST}/wallet/response/req-1"
STATUS_URI = "https://ekyc.fuzz.example/status/1"
DPOP_HTU = f"https://{VERIFIER_HOST}/oauth/token"
NONCE = "fuzz-nonce-5c1d0e9a7b3f4a2c"
WALLET_NONCE = "fuzz-wallet-nonce-4b8e"
STATE = "fuzz-state-0f1e2d3c"
ACCESS_TOKEN = "fuzz-access-token-7a6b5c"
POLICY = AgentPolicy.model_validate(default_policies()["shop-checkout"])


@dataclass(frozen=True)
class Corpus:
    """Keys (private JWKs by role), certificates and seed artifacts (see :func:`build`)."""

    data: dict[str, Any]

    def key(self, role: str) -> SigningKey:
        return SigningKey.from_jwk(self.data["keys"][role])

    def __getitem__(self, name: str) -> Any:
        return self.data[name]


def _agent_request(jti: str) -> tuple[dict[str, Any], str, str]:
    """What the verifier asks an agent for (``verifier.agents.verifications``): the DCQL query for
    its mandate and the action as transaction data (with ``transaction_data_hashes_alg``; and
    without)."""
    grant = MandateGrant()
    action = {"action": "payment.initiate", "transaction_id": "ord-42", "mandate_jti": jti}
    action |= {"payee": grant.merchants[0], "category": grant.categories[0]}
    action |= {"payment_amount": {"amount": 8990, "currency": grant.currency}}
    parsed = AgentAction.model_validate(action)
    td = transaction_data(POLICY, parsed, "mandate")
    plain = {k: v for k, v in td.items() if k != "transaction_data_hashes_alg"}
    query = mandate_query(POLICY, parsed, want_jkt=True)
    return query, encode_transaction_data(td), encode_transaction_data(plain)


def _credentials(keys: dict[str, SigningKey], pki: DevPKI) -> dict[str, Any]:
    ekyc = Issuer("https://ekyc.fuzz.example", keys["ekyc"])
    mandates = Issuer("https://mandates.fuzz.example", keys["mandates"])
    x5c_issuer = Issuer("https://x5c.fuzz.example", keys["x5c_issuer"])
    status = {"idx": 5, "uri": STATUS_URI}
    identity = ekyc.issue(
        identity_claims(IdentitySubject(), iss=ekyc.iss, now=NOW, status=status),
        holder_jwk=keys["human"].public_jwk,
    )
    claims = mandate_claims(
        MandateGrant(), iss=mandates.iss, now=NOW, principal_jkt=keys["human"].thumbprint
    )
    mandate = mandates.issue(claims, holder_jwk=keys["agent"].public_jwk)
    leaf = pki.issuer_leaf(x5c_issuer.iss, keys["x5c_issuer"], now=NOW)
    x5c_identity = x5c_issuer.issue(
        identity_claims(IdentitySubject(given_name="Jürgen"), iss=x5c_issuer.iss, now=NOW),
        holder_jwk=keys["human"].public_jwk,
        header={"x5c": pki.x5c(leaf), "kid": None},
        decoys=False,
    )
    return {
        "issuers": {
            ekyc.iss: [keys["ekyc"].public_jwk],
            mandates.iss: [keys["mandates"].public_jwk],
        },
        "issuances": {"identity": identity, "mandate": mandate, "x5c_identity": x5c_identity},
        "jti": claims["jti"],
    }


def _vp_tokens(keys: dict[str, SigningKey], creds: dict[str, Any], client_id: str) -> list[Any]:
    held = {k: HeldCredential.from_issuance(v, id=k) for k, v in creds["issuances"].items()}
    presets = {name: p["dcql_query"] for name, p in default_presets().items()}
    agent_query, td, plain_td = _agent_request(creds["jti"])
    cases = [
        (presets["identity"], "identity", "human", []),
        (presets["identity"], "x5c_identity", "human", []),
        (agent_query, "mandate", "agent", [td]),
        (presets["agent_mandate"], "mandate", "agent", [plain_td]),
    ]
    out = []
    for query, credential, holder, tds in cases:
        presentation = build_vp_token(
            query=DCQLQuery.parse(query),
            credentials=[held[credential]],
            holder_keys={credential: keys[holder]},
            audience=client_id,
            nonce=NONCE,
            now=NOW,
            transaction_data=tds,
            supported_td_types=[AGENT_ACTION_TD],
        )
        out.append(
            {"dcql_query": query, "transaction_data": tds, "vp_token": presentation.vp_token}
        )
    return out


def _status_tokens(key: SigningKey) -> list[str]:
    tokens = []
    with tempfile.TemporaryDirectory() as tmp:
        for bits, size in ((1, 64), (2, 1 << 14), (8, 300)):
            registry = StatusRegistry.create(
                Path(tmp) / f"list-{bits}.json", uri=STATUS_URI, bits=bits, size=size
            )
            for n, cred_id in enumerate(("a", "b", "c", "d", "e", "f")):
                registry.allocate(cred_id)
                registry.set(cred_id, ("valid", "revoked", "suspended")[n % min(3, 1 << bits)])
            tokens.append(status_list_token(registry, key, now=NOW))
    return tokens


def _requests(keys: dict[str, SigningKey], pki: DevPKI, jti: str) -> dict[str, Any]:
    leaf = pki.verifier_leaf(VERIFIER_HOST, keys["verifier"], now=NOW)
    metadata = client_metadata(keys["enc"].public_jwk | {"use": "enc", "alg": "ECDH-ES"})
    query, td, _ = _agent_request(jti)
    requests = []
    for client_id, nonce in (
        (f"x509_hash:{x509_hash(leaf)}", WALLET_NONCE),
        (f"x509_san_dns:{VERIFIER_HOST}", None),
        (f"redirect_uri:{RESPONSE_URI}", None),
    ):
        claims = build_request_claims(
            client_id=client_id,
            response_uri=RESPONSE_URI,
            nonce=NONCE,
            state=STATE,
            dcql_query=query,
            metadata=metadata,
            iat=NOW,
            transaction_data=[td],
            wallet_nonce=nonce,
            response_type="vp_token id_token" if nonce is None else "vp_token",
        )
        if client_id.startswith("redirect_uri:"):
            token = unsigned_request_object(claims)
        else:
            token = sign_request_object(claims, keys["verifier"], pki.x5c(leaf))
        requests.append({"client_id": client_id, "wallet_nonce": nonce, "token": token})
    attacker_leaf = make_self_signed_leaf(VERIFIER_HOST, keys["attacker"], now=NOW)
    return {
        "client_id": requests[0]["client_id"],
        "requests": requests,
        "metadata": metadata,
        "attacker_x5c": [pki.x5c(attacker_leaf)[0]],
        "authorization_uris": [
            authorization_request_uri(client_id=r["client_id"], request_uri=RESPONSE_URI, **m)
            for r in requests
            for m in ({}, {"request_uri_method": None}, {"request_uri_method": "get"})
        ],
    }


def build() -> dict[str, Any]:
    """Issue, present, encrypt and sign every seed artifact (random keys, fixed clock)."""
    roles = ("ekyc", "mandates", "x5c_issuer", "human", "agent", "attacker", "status")
    keys = {role: SigningKey.generate(kid=f"{role}-1") for role in roles}
    keys |= {"verifier": SigningKey.generate(), "enc": SigningKey.generate(kid="enc-1")}
    pki = DevPKI.create(now=NOW - 86_400, name="agentvp fuzz")
    creds = _credentials(keys, pki)
    requests = _requests(keys, pki, creds["jti"])
    vp_tokens = _vp_tokens(keys, creds, requests["client_id"])
    state = {"state": STATE}
    responses = [
        encrypted_form({"vp_token": vp["vp_token"], **state}, requests["metadata"])["response"]
        for vp in vp_tokens
    ]
    responses.append(
        encrypted_form({"error": "access_denied", **state}, requests["metadata"])["response"]
    )
    return {
        "about": "Seed artifacts of tests/fuzz (python -m tests.fuzz.corpus); test keys only",
        "now": NOW,
        "keys": {role: key.to_jwk() for role, key in keys.items()},
        "anchors": [cert_to_pem(pki.root)],
        **creds,
        **requests,
        "nonce": NONCE,
        "state": STATE,
        "vp_tokens": vp_tokens,
        "jwe_responses": responses,
        "direct_post_forms": [
            direct_post_form({"vp_token": vp["vp_token"], **state}) for vp in vp_tokens
        ],
        "status_uri": STATUS_URI,
        "status_tokens": _status_tokens(keys["status"]),
        "dcql_queries": [p["dcql_query"] for p in default_presets().values()],
        "dpop": {
            "htu": DPOP_HTU,
            "access_token": ACCESS_TOKEN,
            "proofs": [
                create_proof(keys["agent"], htm="POST", htu=DPOP_HTU, now=NOW, jti="j-1"),
                create_proof(
                    keys["agent"], htm="POST", htu=DPOP_HTU, now=NOW, access_token=ACCESS_TOKEN
                ),
            ],
        },
        "id_tokens": [
            create_id_token(key=keys["human"], audience=requests["client_id"], nonce=NONCE, iat=NOW)
        ],
    }


@lru_cache(maxsize=1)
def load() -> Corpus:
    return Corpus(json.loads(PATH.read_text(encoding="utf-8")))


if __name__ == "__main__":
    PATH.write_text(json.dumps(build(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {PATH}")
