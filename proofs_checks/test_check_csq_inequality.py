"""Run the exact CSQ-inequality check under pytest."""

from __future__ import annotations

from fractions import Fraction

from proofs_checks.check_csq_inequality import EXAMPLES, check_csq_inequality


def test_csq_inequality_holds_exactly() -> None:
    rows = check_csq_inequality(max_d=7)
    assert {r.name for r in rows} == set(EXAMPLES)
    for r in rows:
        assert r.cases > 0, r.name
        assert r.failures == 0, r.name
        assert r.gamma_mismatches == 0, r.name
        assert r.max_ratio <= 1, r.name
    # the adversarial query phi = r o pi_0 makes a single-monomial remainder tight
    assert max(r.max_ratio for r in rows) == 1
    assert {r.domain for r in rows} == {"boolean", "gaussian"}


def test_the_check_can_fail() -> None:
    # halving Gamma_U must break the (tight) inequality somewhere
    rows = check_csq_inequality(max_d=5, random_queries=1, gamma_scale=Fraction(1, 2))
    assert sum(r.failures for r in rows) > 0
