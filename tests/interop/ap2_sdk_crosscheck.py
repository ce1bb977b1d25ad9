"""Cross-check agentvp's AP2 chains with the AP2 reference SDK (google-agentic-commerce/AP2,
tag v0.2.0, ``code/sdk/python``) - a tool, not part of the pytest gate (the SDK is not on PyPI
and no test may fetch it).

    python tests/interop/ap2_sdk_crosscheck.py --sdk <AP2 checkout>/code/sdk/python [--write]

1. chains built by agentvp's wallet simulator (agent-provider root ~~ agent hop, 2 and 3
   segments) verify with the SDK's ``MandateClient.verify`` and pass its payment constraints;
2. chains built by the SDK (``MandateClient.create`` / ``present``) verify with agentvp's
   :func:`verify_chain` and :func:`evaluate_chain`;
3. ``--write`` stores the SDK-made chains (with the public keys and the time they were made) in
   ``tests/vectors/ap2/sdk_chains.json``, which ``tests/vectors/test_ap2_vectors.py`` verifies in
   every run - the independent implementation's output checked without the SDK at test time.

The SDK needs ``jwcrypto``, ``sd-jwt`` 0.10.4 and ``pydantic`` (all agentvp dependencies).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from verifier.protocol import StaticKeyResolver  # noqa: E402
from verifier.protocol.jose import SigningKey  # noqa: E402
from verifier.protocol.mandates.ap2 import evaluate_chain  # noqa: E402
from verifier.protocol.sdjwt.delegation import StaticProviderKeys, verify_chain  # noqa: E402
from wallet_sim import ap2  # noqa: E402

MERCHANT = {"id": "merchant_1", "name": "Demo Merchant", "website": "https://demo-merchant.example"}
CARD = {"id": "card-1", "type": "card", "description": "Card 4242"}
AUD, NONCE = "merchant", "crosscheck-nonce-0123456789"


def ours_to_sdk(sdk: dict[str, Any]) -> list[str]:
    """agentvp-made chains, verified by the SDK."""
    jwk_cls, client = sdk["JWK"], sdk["MandateClient"]()
    provider, agent, sub = (SigningKey.generate(kid=k) for k in ("prov-1", "agent-1", "sub-1"))
    now = int(time.time())
    checkout_jwt = ap2.sign_checkout_jwt(SigningKey.generate(), merchant=MERCHANT, lines=[])
    item = ap2.open_payment(agent.public_jwk, amount_max=30000, currency="USD", payees=[MERCHANT])
    root = ap2.provider_root(provider, [item]).full()
    closed = ap2.closed_payment(
        checkout_jwt, payee=MERCHANT, amount=19900, currency="USD", instrument=CARD
    )
    leaf = ap2.sign_hop(root, agent, [closed], aud=AUD, nonce=NONCE, iat=now)
    chain = ap2.present(root, leaf.full())
    payloads = client.verify(
        chain, lambda _t: jwk_cls(**provider.public_jwk), expected_aud=AUD, expected_nonce=NONCE
    )
    parsed = sdk["PaymentMandateChain"].parse(payloads)
    violations = parsed.verify(expected_transaction_id=closed.content["transaction_id"])
    results = [f"2-segment payment chain: SDK verified, constraint violations: {violations}"]
    # three segments: the agent sub-delegates the open mandate to a sub-agent key
    sub_item = ap2.open_payment(sub.public_jwk, amount_max=30000, currency="USD", payees=[MERCHANT])
    middle = ap2.sign_hop(root, agent, [sub_item], aud="sub-agent", nonce="n1", iat=now)
    leaf = ap2.sign_hop(middle.full(), sub, [closed], aud=AUD, nonce=NONCE, iat=now)
    chain3 = ap2.present(root, middle.full(), leaf.full())
    payloads = client.verify(
        chain3, lambda _t: jwk_cls(**provider.public_jwk), expected_aud=AUD, expected_nonce=NONCE
    )
    results.append(f"3-segment chain: SDK verified {len(payloads)} payloads")
    return results


def sdk_to_ours(sdk: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """SDK-made chains, verified by agentvp; returned as vector cases too."""
    jwk_cls, client = sdk["JWK"], sdk["MandateClient"]()
    models = sdk["models"]
    issuer_key, agent_key = SigningKey.generate(kid="issuer-1"), SigningKey.generate(kid="agent-1")
    issuer_jwk, agent_jwk = jwk_cls(**issuer_key.to_jwk()), jwk_cls(**agent_key.to_jwk())
    now = int(time.time())
    open_token = client.create(
        payloads=[
            models["OpenPaymentMandate"](
                constraints=[
                    models["AmountRange"](currency="USD", min=0, max=5000),
                    models["AllowedPayees"](allowed=[models["Merchant"](id="M-1", name="Cat")]),
                ],
                cnf={"jwk": agent_key.public_jwk},
                iat=now,
                exp=now + 3600,
            )
        ],
        issuer_key=issuer_jwk,
    )
    chain = client.present(
        holder_key=agent_jwk,
        mandate_token=open_token,
        payloads=[
            models["PaymentMandate"](
                transaction_id="tx_abc",
                payee=models["Merchant"](id="M-1", name="Cat"),
                payment_amount=models["Amount"](amount=2500, currency="USD"),
                payment_instrument=models["PaymentInstrument"](type="card", id="stub"),
                iat=now,
                exp=now + 3600,
            )
        ],
        nonce=NONCE,
        aud=AUD,
    )
    providers = StaticProviderKeys({"sdk-issuer": (None, [issuer_key.public_jwk])})
    verified = verify_chain(
        chain,
        issuers=StaticKeyResolver({}),
        providers=providers,
        audience=AUD,
        nonce=NONCE,
        now=now,
    )
    decision = evaluate_chain(verified)
    lines = [
        f"SDK chain ({len(verified.segments)} segments): agentvp mode={decision.mode} "
        f"vct={decision.vct} reasons={[r.code for r in decision.reasons]}"
    ]
    case = {
        "name": "sdk_open_then_closed_payment",
        "source": "AP2 reference SDK v0.2.0 MandateClient.create/present (README example shape)",
        "input": {
            "chain": chain,
            "provider_jwk": issuer_key.public_jwk,
            "aud": AUD,
            "nonce": NONCE,
            "now": now,
        },
        "expected": {
            "mode": decision.mode,
            "vct": decision.vct,
            "reasons": [r.code for r in decision.reasons],
        },
    }
    return lines, [case]


def load_sdk(path: Path) -> dict[str, Any]:
    """The SDK's classes, imported from ``path`` (given at run time, hence importlib)."""
    sys.path.insert(0, str(path))
    gen = "ap2.sdk.generated."
    where = {
        "OpenPaymentMandate": gen + "open_payment_mandate",
        "AmountRange": gen + "open_payment_mandate",
        "AllowedPayees": gen + "open_payment_mandate",
        "PaymentMandate": gen + "payment_mandate",
        "Amount": gen + "types.amount",
        "Merchant": gen + "types.merchant",
        "PaymentInstrument": gen + "types.payment_instrument",
    }
    models = {name: getattr(importlib.import_module(mod), name) for name, mod in where.items()}
    return {
        "JWK": importlib.import_module("jwcrypto.jwk").JWK,
        "MandateClient": importlib.import_module("ap2.sdk.mandate").MandateClient,
        "PaymentMandateChain": importlib.import_module(
            "ap2.sdk.payment_mandate_chain"
        ).PaymentMandateChain,
        "models": models,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sdk", type=Path, required=True, help="AP2 code/sdk/python")
    parser.add_argument("--write", action="store_true", help="store SDK chains as vectors")
    args = parser.parse_args()
    sdk = load_sdk(args.sdk)
    for line in ours_to_sdk(sdk):
        print("agentvp -> SDK:", line)
    lines, cases = sdk_to_ours(sdk)
    for line in lines:
        print("SDK -> agentvp:", line)
    if args.write:
        out = ROOT / "tests" / "vectors" / "ap2" / "sdk_chains.json"
        about = "Chains made by the AP2 reference SDK v0.2.0 (tests/interop/ap2_sdk_crosscheck.py)"
        out.write_text(json.dumps({"about": about, "cases": cases}, indent=1) + "\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
