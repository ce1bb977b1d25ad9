"""The ES256 unit: one verification on ``cryptography`` (bench/verify.py's floor, halved),
probed inside each window and measured after it; server CPU per flow is reported in it."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

PROBE_EVERY = 1.0  # seconds between ES256 probes inside a window
PROBE_CALLS = 8  # floor calls per probe: 16 verifications, ~1 ms of the generator's loop


@functools.cache
def es256_floor() -> Callable[[], None]:
    """bench/verify.py's floor: its presentation's two ES256 verifications on ``cryptography``
    (the issuer JWT's and the KB-JWT's), everything else prepared once."""
    import verify  # noqa: PLC0415 - bench/verify.py (bench/ is on sys.path)

    presentation, issuer, _ = verify.build()
    floor: Callable[[], None] = verify.floor_fn(presentation, issuer)
    floor()
    return floor


def es256_probe() -> Callable[[], float]:
    """A probe for the ES256 unit inside a window: :func:`es256_floor` called
    :data:`PROBE_CALLS` times in this thread's CPU time, in µs per verification. It holds the
    generator's event loop ~1 ms a second: a flow in flight at that moment takes up to that
    much longer."""
    floor = es256_floor()

    def probe() -> float:
        start = time.thread_time_ns()
        for _ in range(PROBE_CALLS):
            floor()
        return (time.thread_time_ns() - start) / (2 * PROBE_CALLS) / 1000

    return probe


def es256_unit_us(rounds: int = 9) -> float:
    """One ES256 verification on ``cryptography`` (half of :func:`es256_floor`), in this
    process's CPU time, the median of ``rounds`` batches: measured right after a window, the
    unit server CPU per flow was given in until round 11 (the probes inside the window now)."""
    import verify  # noqa: PLC0415 - bench/verify.py (bench/ is on sys.path)

    floor = verify.interleaved_median_us(
        {"floor": (es256_floor(), 100)}, rounds, time.thread_time_ns
    )["floor"]
    return floor / 2
