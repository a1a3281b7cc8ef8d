"""Run the exhaustive Leap_SQ <= Leap_CSQ check under pytest."""

from __future__ import annotations

from proofs_checks.check_sq_le_csq import check_sq_le_csq, sq_detectable_by_definition


def test_sq_le_csq_everywhere() -> None:
    rows = check_sq_le_csq(random_p4=200)
    assert rows[0].functions == 3**7 - 1
    assert rows[1].functions == 200
    for r in rows:
        assert r.sq_gt_csq == 0, r.space
        assert r.csq_ne_leap == 0, r.space
        assert r.oracle_mismatches == 0, r.space
        assert r.csq_not_sq == 0, r.space
    # SQ is strictly stronger on some functions, so the comparison is not vacuous
    assert any(s < c for r in rows for (s, c) in r.pairs)


def test_the_check_can_fail() -> None:
    # x1*x2*x3 - x1*x2*x4: {3, 4} is SQ-detectable at the start but not CSQ-detectable
    values = []
    for j in range(16):
        x = [-1 if (j >> i) & 1 else 1 for i in range(4)]
        values.append(x[0] * x[1] * x[2] - x[0] * x[1] * x[3])
    assert sq_detectable_by_definition(values, 4, frozenset(), frozenset({3, 4}))
    assert not sq_detectable_by_definition(values, 4, frozenset(), frozenset({1, 2}))
