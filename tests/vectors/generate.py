"""Regenerate the JSON vector files under tests/vectors/ (a developer tool; CI only reads them).

    python tests/vectors/generate.py rfc9901 --spec-repo GITDIR   # oauth-selective-disclosure-jwt
    python tests/vectors/generate.py status --draft-repo GITDIR   # draft-ietf-oauth-status-list
    python tests/vectors/generate.py negative [--area jose]       # crafted negative cases

- ``rfc9901``: the examples of RFC 9901 (§5 and Appendix A) are produced by the reference
  ``sd-jwt`` library from the spec repository's ``examples/*/specification.yml`` and
  ``examples/settings.yml`` (random seed 0), which is how the RFC text was generated: payloads,
  salts and digests are the RFC's; ECDSA signatures are fresh (ECDSA is randomised).
- ``status``: the Token Status List test vectors (§ "Test vectors") read from the draft source.
- ``negative``: malicious inputs built with the fixed keys in ``tests/vectors/keys`` and a fixed
  clock, each naming the check it targets and the exact error code our verifier must raise.
  ECDSA signatures and ECDH keys are fresh on every run: ``--area`` rewrites one file only.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.utils.demo_utils import get_jwk
from sd_jwt.utils.yaml_specification import _yaml_load_specification
from sd_jwt.verifier import SDJWTVerifier

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from jose_cases import jose_cases  # noqa: E402
from negative_cases import build_negative_cases  # noqa: E402


def _git_show(repo: Path, path: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), "show", f"HEAD:{path}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _write(path: Path, cases: list[dict[str, Any]], about: str) -> None:
    path.write_text(
        json.dumps({"about": about, "cases": cases}, indent=1, ensure_ascii=False) + "\n"
    )
    print(f"wrote {len(cases)} cases to {path.relative_to(HERE.parent.parent)}")


RFC_EXAMPLES = {
    "simple": "RFC 9901 §5 (Example SD-JWT) and §5.2 (presentation with KB-JWT)",
    "simple_structured": "RFC 9901 Appendix A.1 (Simple Structured SD-JWT)",
    "complex_ekyc": "RFC 9901 Appendix A.2 (Complex Structured SD-JWT, IDA verified_claims)",
    "arf-pid": "RFC 9901 Appendix A.3 (SD-JWT-based Verifiable Credentials, PID)",
    "address_only_flat": "RFC 9901 Appendix A.4 / §4.2.6 option 1 (flat address)",
    "address_only_structured": "RFC 9901 §4.2.6 option 2 (structured address)",
    "address_only_structured_one_open": "RFC 9901 §4.2.6 (structured, one claim in the clear)",
    "address_only_recursive": "RFC 9901 §4.2.6 option 3 (recursive disclosures)",
    "complex_eidas": "oauth-wg/oauth-selective-disclosure-jwt examples/complex_eidas (IDA, eidas)",
}


def generate_rfc9901(spec_repo: Path) -> None:
    settings = yaml.safe_load(_git_show(spec_repo, "examples/settings.yml"))
    # The spec repo lists issuer keys; the 0.10.4 generator expects one.
    settings["key_settings"].setdefault("issuer_key", settings["key_settings"]["issuer_keys"][0])
    cases = []
    for name, source in RFC_EXAMPLES.items():
        spec = _yaml_load_specification(_git_show(spec_repo, f"examples/{name}/specification.yml"))
        keys = get_jwk(settings["key_settings"], True, settings["random_seed"])
        random.seed(settings["random_seed"])
        claims: dict[str, Any] = {}
        if spec.get("include_default_claims", True):
            claims = {
                "iss": settings["identifiers"]["issuer"],
                "iat": settings["iat"],
                "exp": settings["exp"],
            }
        claims.update(spec["user_claims"])
        bound = bool(spec.get("key_binding", False))
        SDJWTIssuer.unsafe_randomness = True
        issuer = SDJWTIssuer(
            claims,
            keys["issuer_key"],
            keys["holder_key"] if bound else None,
            add_decoy_claims=spec.get("add_decoy_claims", False),
            extra_header_parameters=spec.get("extra_header_parameters", {}),
        )
        holder = SDJWTHolder(issuer.sd_jwt_issuance)
        aud = settings["identifiers"]["verifier"]
        nonce = settings["key_binding_nonce"]
        holder.create_presentation(
            spec["holder_disclosed_claims"],
            nonce if bound else None,
            aud if bound else None,
            keys["holder_key"] if bound else None,
        )
        presentation = holder.sd_jwt_presentation
        verifier = SDJWTVerifier(
            presentation,
            lambda iss, header, key=keys["issuer_public_key"]: key,
            aud if bound else None,
            nonce if bound else None,
        )
        expected = verifier.get_verified_payload()
        iat = holder.key_binding_jwt_payload["iat"] if bound else settings["iat"] + 60
        cases.append(
            {
                "name": f"rfc9901_{name}",
                "source": source,
                "input": {
                    "presentation": presentation,
                    "issuance": issuer.sd_jwt_issuance,
                    "issuer_key": "rfc9901_issuer",
                    "audience": aud,
                    "nonce": nonce,
                    "now": iat,
                    "require_key_binding": bound,
                    "typ": issuer.sd_jwt.jose_header.get("typ"),
                },
                "expected": {"valid": True, "claims": expected},
            }
        )
    _write(
        HERE / "sdjwt" / "rfc9901_examples.json",
        cases,
        "RFC 9901 examples regenerated with the reference sd-jwt library (seed 0); see generate.py",
    )


_STATUS_LINE = re.compile(r"status\[(\d+)\]\s*=\s*0b([01]+)")


def generate_status(draft_repo: Path) -> None:
    text = _git_show(draft_repo, "draft-ietf-oauth-status-list.md")
    section = text[text.index("# Test vectors") :]
    cases = [
        {
            "name": "draft_1bit_small",
            "source": "draft-ietf-oauth-status-list §4.1 (bits=1 example, bytes b9 a3)",
            "input": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"},
            "expected": {"statuses": [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]},
        },
        {
            "name": "draft_2bit_small",
            "source": "draft-ietf-oauth-status-list §4.1 (bits=2 example, bytes c9 44 f9)",
            "input": {"bits": 2, "lst": "eNo76fITAAPfAgc"},
            "expected": {"statuses": [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]},
        },
    ]
    blocks = {
        1: "status_list_encoding1_long_json",
        2: "status_list_encoding2_long_json",
        4: "status_list_encoding4_json",
        8: "status_list_encoding8_json",
    }
    headings = re.split(r"\n## ", section)
    for bits, example in blocks.items():
        body = next(h for h in headings if h.startswith(f"{bits}-bit Status List"))
        nonzero = {int(i): int(v, 2) for i, v in _STATUS_LINE.findall(body) if int(v, 2)}
        raw = _git_show(draft_repo, f"examples/{example}.md")
        encoded = json.loads(re.sub(r"\s+", "", raw[raw.index("{") :]))
        cases.append(
            {
                "name": f"draft_{bits}bit_test_vector",
                "source": f"draft-ietf-oauth-status-list, Test vectors: {bits}-bit Status List",
                "input": {"bits": encoded["bits"], "lst": encoded["lst"]},
                "expected": {
                    "nonzero": {str(k): v for k, v in sorted(nonzero.items())},
                    # "All examples are initialized with a size of 2^20 entries", others 0.
                    "size": 1 << 20,
                },
            }
        )
    _write(
        HERE / "status_list" / "draft_examples.json",
        cases,
        "Token Status List examples and test vectors (draft-ietf-oauth-status-list)",
    )


def generate_negative(only: str | None) -> None:
    areas = build_negative_cases() if only in (None, "sdjwt", "dcql", "status_list") else []
    areas.append(
        (
            "jose",
            "JOSE strictness: canonical base64url, JWE IV/tag lengths, JWE header as AAD",
            jose_cases(),
        )
    )
    for area, about, cases in areas:
        if only is None or area == only:
            (HERE / area).mkdir(exist_ok=True)
            _write(HERE / area / "negative.json", cases, about)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("rfc9901")
    p.add_argument("--spec-repo", type=Path, required=True)
    p = sub.add_parser("status")
    p.add_argument("--draft-repo", type=Path, required=True)
    p = sub.add_parser("negative")
    p.add_argument("--area", choices=("sdjwt", "dcql", "status_list", "jose"))
    args = parser.parse_args()
    if args.what == "rfc9901":
        generate_rfc9901(args.spec_repo)
    elif args.what == "status":
        generate_status(args.draft_repo)
    else:
        generate_negative(args.area)


if __name__ == "__main__":
    main()
