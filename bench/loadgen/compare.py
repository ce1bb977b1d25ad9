"""In-process verification of one identical presentation: agentvp, the reference ``sd-jwt``
verifier and ``polaris-oid4vp`` (bench/load.py without ``--skip-compare``)."""

from __future__ import annotations

from importlib.metadata import version as package_version
from typing import Any

from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

from verifier.protocol import (
    StaticKeyResolver,
    verify_presentation,
)
from wallet_sim.issuer import Issuer


def compare_in_process(rounds: int) -> dict[str, Any]:
    """agentvp vs the reference ``sd-jwt`` verifier vs ``polaris-oid4vp``, same input."""
    import verify  # noqa: PLC0415 - bench/verify.py builds the presentation and times

    presentation, issuer, _ = verify.build()
    out: dict[str, Any] = {"presentation_bytes": len(presentation), "disclosed": 6}
    keys = StaticKeyResolver({issuer.iss: [issuer.key.public_jwk]})
    reference_key = JWK(**issuer.key.public_jwk)

    def ours() -> None:
        verify_presentation(
            presentation, keys=keys, audience=verify.AUD, nonce=verify.NONCE, now=verify.NOW + 1
        )

    def reference() -> None:
        SDJWTVerifier(
            presentation, lambda i, h: reference_key, verify.AUD, verify.NONCE
        ).get_verified_payload()

    timings = {
        "floor_two_es256_us": verify.median_us(verify.floor_fn(presentation, issuer), rounds, 200),
        "agentvp_us": verify.median_us(ours, rounds, 200),
        "reference_sd_jwt_us": verify.median_us(reference, rounds, 50),
    }
    polaris = polaris_verifier(presentation, issuer)
    out["polaris"] = polaris["status"]
    if polaris["fn"] is not None:
        timings["polaris_oid4vp_us"] = verify.median_us(polaris["fn"], rounds, 50)
    out["timings_us"] = {k: round(v, 1) for k, v in timings.items()}
    base = timings["agentvp_us"]
    out["agentvp_over_floor"] = round(base / timings["floor_two_es256_us"], 3)
    out["reference_over_agentvp"] = round(timings["reference_sd_jwt_us"] / base, 2)
    if "polaris_oid4vp_us" in timings:
        out["polaris_over_agentvp"] = round(timings["polaris_oid4vp_us"] / base, 2)
    return out


def polaris_verifier(presentation: str, issuer: Issuer) -> dict[str, Any]:
    """Whether polaris-oid4vp verifies the presentation; a callable to time if it does."""
    try:
        from polaris_oid4vp import sdjwt as polaris  # type: ignore[import-untyped]  # noqa: PLC0415
        from polaris_oid4vp.sdjwt import (  # type: ignore[import-untyped]  # noqa: PLC0415
            verify_presentation as polaris_verify,
        )
    except ImportError as exc:
        return {"status": f"not installed: {exc}", "fn": None}
    import verify  # noqa: PLC0415 - bench/verify.py (bench/ is on sys.path)

    jwks = [{**issuer.key.public_jwk, "alg": "ES256", "use": "sig"}]

    def run() -> Any:
        return polaris_verify(
            presentation,
            expected_nonce=verify.NONCE,
            expected_audience=verify.AUD,
            issuer_jwks=jwks,
            now=verify.NOW + 1,
        )

    try:
        verdict = run()
    except Exception as exc:  # report whatever it does
        return {"status": f"raised {type(exc).__name__}: {exc}", "fn": None}
    version = getattr(polaris, "__version__", None) or package_version("polaris-oid4vp")
    if not getattr(verdict, "authentic", False):
        code, reason = getattr(verdict, "code", "?"), getattr(verdict, "reason", "?")
        return {"status": f"refused ({version}): {code}: {reason}", "fn": None}
    given = verdict.claims["verified_claims"]["claims"].get("given_name")
    return {"status": f"verified ({version}); given_name={given}", "fn": run}
