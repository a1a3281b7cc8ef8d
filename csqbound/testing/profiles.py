"""Hypothesis profiles for property tests of csqbound's functions.

csqbound's exact computations (``iso_leap``, the CSQ bound, expansions) can take
hundreds of milliseconds on a first call, which hypothesis' default 200 ms deadline
reports as a flaky test. The profile ``"csqbound"`` has no deadline, is derandomized
(the same examples on every run, as CI wants) and tolerates slow data generation;
``"csqbound-dev"`` draws many more examples at random, for bug hunting. Load one in
your ``conftest.py``::

    from csqbound.testing.profiles import load_profile
    load_profile()                    # or load_profile("csqbound-dev")

Needs hypothesis (``pip install "csqbound[test]"``).

Examples
--------
>>> from hypothesis import settings
>>> register_profiles()
>>> settings.get_profile("csqbound").deadline is None
True
"""

from __future__ import annotations

from typing import Any

__all__ = ["PROFILES", "load_profile", "register_profiles"]

#: The profiles' settings (``hypothesis.settings`` keywords; health checks by name).
PROFILES: dict[str, dict[str, Any]] = {
    "csqbound": {"max_examples": 60, "derandomize": True, "deadline": None, "print_blob": True},
    "csqbound-dev": {"max_examples": 2000, "deadline": None, "print_blob": True},
}


def register_profiles() -> None:
    """Register :data:`PROFILES` with hypothesis (both suppress the ``too_slow`` check)."""
    from hypothesis import HealthCheck, settings

    for name, values in PROFILES.items():
        settings.register_profile(name, suppress_health_check=[HealthCheck.too_slow], **values)


def load_profile(name: str = "csqbound") -> None:
    """Register the profiles and load ``name`` (``"csqbound"`` or ``"csqbound-dev"``)."""
    from hypothesis import settings

    register_profiles()
    settings.load_profile(name)
