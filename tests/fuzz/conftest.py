"""Hypothesis profiles of the fuzz properties (only these tests apply them).

- ``fuzz-ci`` (with ``CI=true``): 300 examples per property, derandomized (the same inputs on
  every run, so a failure reproduces), no deadline (timing is not what is tested), no example
  database;
- ``fuzz-dev`` (the default elsewhere): 100 random examples per property;
- ``fuzz-deep``: 5000 random examples per property, for a long local run.

``AGENTVP_FUZZ_PROFILE`` picks one explicitly. The chosen profile is registered as
``agentvp-fuzz``; the tests apply it with ``settings.get_profile("agentvp-fuzz")``, so the
rest of the suite keeps hypothesis' defaults.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "fuzz-ci",
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=SLOW_IS_FINE,
)
settings.register_profile(
    "fuzz-dev", max_examples=100, deadline=None, suppress_health_check=SLOW_IS_FINE
)
settings.register_profile(
    "fuzz-deep", max_examples=5000, deadline=None, suppress_health_check=SLOW_IS_FINE
)


def fuzz_profile() -> str:
    explicit = os.environ.get("AGENTVP_FUZZ_PROFILE")
    if explicit:
        return explicit
    return "fuzz-ci" if os.environ.get("CI") == "true" else "fuzz-dev"


settings.register_profile("agentvp-fuzz", settings.get_profile(fuzz_profile()))
