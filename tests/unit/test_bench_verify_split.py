"""bench/verify.py --split: the rest of a verification timed with both signature checks
answered at once, and the checks put back afterwards, also when the timed code fails."""

from __future__ import annotations

import time
from types import ModuleType

import pytest

from tests.bench_modules import load_bench
from verifier.protocol.jose import PublicKey


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench("verify")


def test_the_checks_answer_true_while_timed_and_are_restored(bench: ModuleType) -> None:
    checks = (PublicKey.verify, PublicKey.verify_digest)
    answers: list[bool] = []

    def rest() -> None:
        answers.append(PublicKey.verify(None, "ES256", b"x", b"forged"))  # type: ignore[arg-type]
        answers.append(PublicKey.verify_digest(None, "ES256", b"d", b"forged"))  # type: ignore[arg-type]

    floor_calls: list[int] = []
    timed = bench.split(lambda: floor_calls.append(1), rest, 2, 3, time.perf_counter_ns)
    reads = {f"read {size}" for size in bench.EVICTING}
    assert set(timed) == {"rest", "floor, then rest", *reads, *(f"{r}, then rest" for r in reads)}
    assert all(value >= 0 for value in timed.values())
    assert answers and all(answers)
    assert len(floor_calls) == 1 + 2 * 3  # warm-up, then one batch per round
    assert (PublicKey.verify, PublicKey.verify_digest) == checks


def test_the_checks_are_restored_when_the_timed_code_fails(bench: ModuleType) -> None:
    checks = (PublicKey.verify, PublicKey.verify_digest)

    def broken() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        bench.split(lambda: None, broken, 1, 1, time.perf_counter_ns)
    assert (PublicKey.verify, PublicKey.verify_digest) == checks


def test_a_read_then_the_rest_runs_both_in_that_order(bench: ModuleType) -> None:
    calls: list[str] = []
    bench._then(lambda: calls.append("first"), lambda: calls.append("second"))()
    assert calls == ["first", "second"]


def test_the_openssl_floor_verifies_what_the_floor_does(bench: ModuleType) -> None:
    """(a') is the same two signatures on the binding: it checks them (a changed signature
    raises), and --split times it before the rest when it exists."""
    presentation, issuer, _ = bench.build()
    direct = bench.direct_floor_fn(presentation, issuer)
    if direct is None:  # the binding is not compiled here (test_ecdsa_openssl fails in CI)
        assert bench.public_key_from_jwk(issuer.key.public_jwk).native is None
        return
    direct()
    kb = presentation.rsplit("~", 1)[1]
    flipped = "A" if kb[-10] != "A" else "B"  # one signature character of the KB-JWT
    forged = presentation[: len(presentation) - 10] + flipped + presentation[-9:]
    with pytest.raises(AssertionError, match="does not verify"):
        bench.direct_floor_fn(forged, issuer)
    timed = bench.split(lambda: None, lambda: None, 1, 1, time.perf_counter_ns, direct)
    assert "floor (OpenSSL), then rest" in timed
