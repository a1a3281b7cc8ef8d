"""Shared pytest configuration (tests, proofs_checks, doctests): hypothesis profiles.

``CSQBOUND_HYPOTHESIS_PROFILE=ci`` (the default) is deterministic and sized for
CI; ``CSQBOUND_HYPOTHESIS_PROFILE=dev`` draws many more examples at random, for
local bug hunting.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    max_examples=2000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("CSQBOUND_HYPOTHESIS_PROFILE", "ci"))
