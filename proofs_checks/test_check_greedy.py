"""Run the exhaustive greedy-optimality check under pytest."""

from __future__ import annotations

from csqbound.monomial import Monomial
from proofs_checks.check_greedy import check_greedy_optimal, families, leap_dp


def test_greedy_optimal() -> None:
    report = check_greedy_optimal()
    assert report["boolean P=3, all families"]["families"] == 2**7
    assert report["boolean P=4, <= 5 sets"]["families"] == sum([1, 15, 105, 455, 1365, 3003])
    for name, row in report.items():
        assert row["failures"] == 0, name
        assert row["dp_mismatches"] == 0, name
        assert row["families"] > 0, name


def test_the_check_can_fail() -> None:
    # the DP is a real minimum: taking x1*x2*x3 first would cost 3, the staircase costs 1
    fam = [Monomial.from_set({1, 2, 3}), Monomial.from_set({1}), Monomial.from_set({1, 2})]
    assert leap_dp(fam) == 1
    assert max(m.degree for m in fam) == 3
    assert sum(1 for _ in families("boolean", 3, 1, None)) == 128
