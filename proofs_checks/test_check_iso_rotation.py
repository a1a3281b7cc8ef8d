"""Run the exact rotation-invariance check of iso_leap under pytest."""

from __future__ import annotations

import random

import sympy

from csqbound.expansion import expand
from csqbound.leaps import leap
from csqbound.parsing import parse
from proofs_checks.check_iso_rotation import TARGETS, _compose, cayley, check_iso_rotation


def test_iso_leap_rotation_invariant_and_adapted() -> None:
    rows = check_iso_rotation(rotations=2, seed=3)
    assert [r.target for r in rows] == list(TARGETS)
    for r in rows:
        assert r.invariance_failures == 0, r.target
        assert not r.adapted_failure, r.target
        assert r.adapted_leap == r.iso_leap
    # the coordinate leap is not basis free: THEORY section 3's example
    first = rows[0]
    assert (first.coordinate_leap, first.iso_leap) == (1, 2)


def test_cayley_is_rational_orthogonal() -> None:
    rng = random.Random(7)
    for p in (1, 2, 3, 4):
        q = cayley(p, rng)
        assert q.T * q == sympy.eye(p)
        assert all(entry.is_Rational for entry in q)


def test_the_check_can_fail() -> None:
    # the coordinate leap changes under a rotation, so the same comparison on it would fail:
    # after a generic rotation the linear direction touches both coordinates
    expr = parse("x1 + (He2(x1) - He2(x2))/2")
    assert leap(expand(expr, "gaussian"), "gaussian").leap == 2
    rotated = _compose(expr, cayley(2, random.Random(0)), 2)
    assert leap(expand(rotated, "gaussian"), "gaussian").leap == 1
