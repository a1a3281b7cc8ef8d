"""Cross-checks between the theory (leap, stages, invariances) and online SGD runs.

THEORY.md section 6: online SGD on a two-layer network learns a target of leap
``L`` in ``~d^max(L-1, 1)`` samples, stage by stage along the leap's witness, and
(being a rotation-invariant algorithm on rotation-invariant data) cannot tell a
target from its relabelled (boolean, gaussian) or rotated (gaussian) copy. On
small targets (``P <= 4``), small ``d`` (12 to 36) and small budgets:

(a) a target of larger leap needs more samples than one of smaller leap with
    the same degree at the same ``d``, and the gap widens as ``d`` grows;
(b) every run learns its monomials in the order of the witness stages;
(c) relabelling the coordinates (boolean) or rotating the target (gaussian)
    leaves the distribution of samples-to-learn unchanged.

Targets are drawn from :mod:`csqbound.testing.strategies` with
``derandomize=True`` (the same examples every run) or given explicitly; every
``train`` call has a fixed seed, so the whole file is deterministic. It takes
about 20 s on one core (measured with OMP_NUM_THREADS=1 under taskset).

How samples-to-learn are compared (the statistical unit)
    ``Run.samples_to_learn`` is per replica, but the replicas of one
    ``train`` call are *not* independent draws: they share the call's test set,
    and the stopping rule (test loss <= 0.05 Var f, estimated on the first 128
    test points early on) moves all of them together. On gaussian targets this
    shared factor dominates: per-seed medians of ``He2(x1)`` at ``d = 16`` range
    over a factor ~2.5 (3344 to 8540 over seeds 0-5) while the replicas of one
    seed agree within ~30%; a Mann-Whitney test on the 16 replicas of seed 1
    against those of seed 3 of the *same* target "detects" a difference
    (measured: p = 2e-6). So the unit is one run: the
    median over its replicas, for ``K`` seeds per target, and two targets are
    compared on their ``K`` run medians by

    * the ratio of the medians of the run medians (an effect size), and
    * a two-sided Mann-Whitney U test on the ``K`` vs ``K`` run medians (no
      distributional assumption; ties from the evaluation grid handled by the
      normal approximation with tie correction).

    "Different" (part a) needs ratio >= 1.5 and p < 0.01; "the same" (part c)
    needs ratio within [1/1.5, 1.5] and p >= 0.01. The spread of log run
    medians is about 0.1 (boolean) to 0.3 (gaussian), so with ``K = 6``
    (boolean) and ``K = 12`` (gaussian) seeds the log-ratio of two medians of
    medians has a standard deviation of about 0.07 and 0.15: a factor 1.5
    (log 0.41) is 5.7 and 2.7 standard deviations, so equal distributions pass
    (false alarm about 1%), while the leap-1 vs leap-3 gap (a factor ~2.7,
    part a) fails the same criterion, which this file checks too. The same
    seeds are used for a target and its copy, as asked: with the same seed the
    copy sees the same initialisation and inputs in relabelled (rotated)
    coordinates, which are exchangeable (isotropic) in distribution, so the two
    runs are two draws of one distribution, not one draw (``train`` cannot
    relabel its own inputs, so equality of the numbers is not to be expected).
    The criterion does not use the pairing by seed: it compares the two sets
    of run medians as independent samples; a residual positive correlation
    between the paired runs would only make the U test conservative.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import mannwhitneyu

import csqbound
from csqbound.parsing import symbol
from csqbound.target import Target
from csqbound.testing import assert_learns_in_order
from csqbound.testing import strategies as cst

pytestmark = pytest.mark.slow

#: Few, deterministic examples per property (each one costs a few training runs).
FEW = settings(
    max_examples=3,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

REPLICAS = 16
BUDGET = 200_000  # far above what these targets need (a few thousand samples)
RATIO = 1.5
ALPHA = 0.01


#: These small-d cross-checks were calibrated with the output layer at N times the
#: mean-field step (csqbound's protocol before it was a setting). At the mean-field default
#: and d <= 36 the leap-3 / leap-1 gap widened only from 1.83 (d = 12) to 2.16 (d = 36), so
#: they pin that protocol rather than loosen their thresholds; the default protocol is
#: judged at d = 64..512 by the calibration suite (docs/theory.md section 7).
PROTOCOL = {"output_step": "width"}


def run_medians(target: Target, d: int, seeds: Sequence[int]) -> list[float]:
    """Per seed, the median over replicas of samples-to-learn (a replica that never learns: inf)."""
    out = []
    for seed in seeds:
        run = csqbound.train(
            target, target.domain, d=d, replicas=REPLICAS, samples=BUDGET, seed=seed, **PROTOCOL
        )
        assert "diverged" not in run.status, f"{target} diverged at d={d}, seed {seed}"
        times = [math.inf if n is None else float(n) for n in run.samples_to_learn]
        out.append(float(np.median(times)))
    return out


def compare(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """``(median(b) / median(a), two-sided Mann-Whitney p)`` over run medians."""
    ratio = statistics.median(b) / statistics.median(a)
    p = float(mannwhitneyu(a, b, alternative="two-sided", method="asymptotic").pvalue)
    return ratio, p


def assert_different(a: Sequence[float], b: Sequence[float], what: str) -> None:
    ratio, p = compare(a, b)
    assert ratio >= RATIO, f"{what}: ratio of medians {ratio:.2f} < {RATIO} (a={a}, b={b})"
    assert p < ALPHA, f"{what}: Mann-Whitney p = {p:.3g} >= {ALPHA} (a={a}, b={b})"


def assert_same(a: Sequence[float], b: Sequence[float], what: str) -> None:
    ratio, p = compare(a, b)
    assert 1 / RATIO <= ratio <= RATIO, f"{what}: ratio of medians {ratio:.2f} (a={a}, b={b})"
    assert p >= ALPHA, f"{what}: Mann-Whitney p = {p:.3g} < {ALPHA} (a={a}, b={b})"


BOOLEAN_SEEDS = range(6)
GAUSSIAN_SEEDS = range(12)


# -- (a) a larger leap needs more samples ----------------------------------------------------
@FEW
@given(
    cst.staircases(max_jump=1, min_length=3, max_length=3),
    cst.targets_with_leap(3, max_variables=3),
)
def test_leap_three_needs_more_samples_than_a_staircase(staircase, parity) -> None:
    # same degree (3), same coordinates x1..x3, coefficients +-1
    assert csqbound.leap(staircase).leap == 1
    assert csqbound.leap(parity).leap == 3
    d = 24
    low = run_medians(staircase, d, BOOLEAN_SEEDS)
    high = run_medians(parity, d, BOOLEAN_SEEDS)
    assert_different(low, high, f"{parity} (leap 3) vs {staircase} (leap 1) at d={d}")
    # the invariance criterion of part (c) would (rightly) call these different
    with pytest.raises(AssertionError):
        assert_same(low, high, "leap 1 vs leap 3")


def test_the_gap_between_leap_three_and_leap_one_widens_with_d() -> None:
    # THEORY section 6: d^2 samples for the 3-parity, d for the staircase, so the ratio of
    # their samples-to-learn grows like d; from d = 12 to 36 it should triple, and finite d
    # bends it (measured: 2.1 -> 4.3). Ask for at least a factor 1.5 (log 0.41; the noise of
    # this ratio of ratios of medians of 6 run medians is about 0.1 in log).
    staircase = Target.from_text("x1 + x1*x2 + x1*x2*x3", "boolean")
    parity = Target.from_text("x1*x2*x3", "boolean")

    def gap(d: int) -> float:
        low = run_medians(staircase, d, BOOLEAN_SEEDS)
        high = run_medians(parity, d, BOOLEAN_SEEDS)
        return statistics.median(high) / statistics.median(low)

    small, large = gap(12), gap(36)
    assert large >= 1.5 * small, f"ratio parity/staircase {small:.2f} at d=12, {large:.2f} at d=36"


def test_leap_two_needs_more_samples_than_leap_one() -> None:
    # THEORY section 7: same monomials of degree 1 and 3, the staircase has x1*x2 in between
    leap1 = Target.from_text("x1 + x1*x2 + x1*x2*x3", "boolean")
    leap2 = Target.from_text("x1 + x1*x2*x3", "boolean")
    assert (csqbound.leap(leap1).leap, csqbound.leap(leap2).leap) == (1, 2)
    d = 24
    assert_different(
        run_medians(leap1, d, BOOLEAN_SEEDS), run_medians(leap2, d, BOOLEAN_SEEDS), "leap 2 vs 1"
    )


# -- (b) the order of learning follows the witness stages --------------------------------------
def _stages(target: Target) -> int:
    return len(csqbound.leap(target).stages)


#: Targets of leap 2 (P <= 3) or 3 (P <= 4) with at least two predicted stages.
SEVERAL_STAGES = st.one_of(
    cst.targets_with_leap(2, max_variables=3), cst.targets_with_leap(3, max_variables=4)
).filter(lambda t: _stages(t) >= 2)


@settings(FEW, max_examples=4)
@given(SEVERAL_STAGES)
def test_monomials_are_learned_stage_by_stage(target) -> None:
    run = csqbound.train(target, d=24, replicas=REPLICAS, samples=BUDGET, seed=0, **PROTOCOL)
    check = assert_learns_in_order(run)  # default: the stages of the leap's witness
    assert check.stages == tuple(
        tuple(str(m) for m in stage) for stage in csqbound.leap(target).stages
    )


def test_gaussian_staircase_with_a_he2_jump_is_learned_in_order() -> None:
    run = csqbound.train(
        "x1 + x1*He2(x2)", "gaussian", d=16, replicas=REPLICAS, samples=BUDGET, **PROTOCOL
    )
    assert run.predicted_stages == (("x1",), ("x1*He2(x2)",))
    assert_learns_in_order(run)


# -- (c) relabelling / rotating changes nothing ---------------------------------------------------
@FEW
@given(
    cst.targets_with_leap(2, max_variables=3),
    st.lists(st.integers(4, 24), min_size=3, max_size=3, unique=True),
)
def test_relabelling_coordinates_keeps_samples_to_learn(target, new_coordinates) -> None:
    # move x1..xP to other coordinates of [d] (the hidden-coordinates class of THEORY section 5)
    mapping = {symbol(i + 1): symbol(c) for i, c in enumerate(new_coordinates)}
    moved = Target.coerce(target.expression.xreplace(mapping), "boolean")
    assert csqbound.leap(moved).leap == csqbound.leap(target).leap
    d = 24
    assert_same(
        run_medians(target, d, BOOLEAN_SEEDS),
        run_medians(moved, d, BOOLEAN_SEEDS),
        f"{target} vs {moved} at d={d}",
    )


#: A fixed exact rotation of R^4 (Cayley transform of a rational skew matrix).
ROTATION = cst.cayley_rotation(
    [
        [0, Fraction(1, 2), 1, -1],
        [Fraction(-1, 2), 0, 2, Fraction(1, 3)],
        [-1, -2, 0, 1],
        [1, Fraction(-1, 3), -1, 0],
    ]
)


@pytest.mark.parametrize("text", ["He2(x1)", "x1*x2"])
def test_rotating_a_gaussian_target_keeps_samples_to_learn(text) -> None:
    # degree <= 2 (degree-3 gaussian targets can diverge at small d); the rotated target
    # spreads over x1..x4 with exact rational coefficients
    f = Target.from_text(text, "gaussian")
    g = cst.rotate(f, ROTATION)
    assert g.variables == 4
    assert csqbound.iso_leap(g).jumps == csqbound.iso_leap(f).jumps
    d = 16
    assert_same(
        run_medians(f, d, GAUSSIAN_SEEDS),
        run_medians(g, d, GAUSSIAN_SEEDS),
        f"{text} vs its rotation at d={d}",
    )
