"""Tests of csqbound.sgd.plateaus on synthetic curves with known plateaus and drops."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from csqbound.errors import ParameterError
from csqbound.sgd.plateaus import (
    Segment,
    check_stage_order,
    first_crossing,
    learning_times,
    local_slopes,
    median_time,
    segment_loss_curve,
)

GRID = np.unique(np.round(np.logspace(0, 5, 81))).astype(int)  # 16 points per decade


def staircase_loss(
    n: np.ndarray, steps: list[tuple[float, float, float]], top: float = 1.0
) -> np.ndarray:
    """A loss flat at ``top``; each ``(start, stop, factor)`` divides it by ``factor`` between
    ``start`` and ``stop`` samples, linearly in ``log n``."""
    v = np.full(len(n), math.log(top))
    u = np.log(np.maximum(n, 1))
    for start, stop, factor in steps:
        frac = np.clip((u - math.log(start)) / (math.log(stop) - math.log(start)), 0, 1)
        v -= frac * math.log(factor)
    return np.exp(v)


def test_two_plateaus_and_two_drops_are_found() -> None:
    loss = staircase_loss(GRID, [(100, 200, 2.0), (5000, 8000, 20.0)], top=2.0)
    segs = segment_loss_curve(GRID, loss)
    assert [s.kind for s in segs] == ["plateau", "drop", "plateau", "drop", "plateau"]
    first, drop1, middle, drop2, last = segs
    # boundaries within one smoothing window (a factor 2) of the truth
    assert 100 / 2 <= first.stop <= 100
    assert 200 <= middle.start <= 400
    assert 2500 <= middle.stop <= 5000
    assert drop1.start <= 150 <= drop1.stop
    assert drop2.start <= 6000 <= drop2.stop
    assert drop2.loss_start / drop2.loss_stop > 10
    assert last.loss_stop == pytest.approx(0.05)


def test_noisy_step_curve_keeps_its_plateaus() -> None:
    rng = np.random.default_rng(0)
    clean = staircase_loss(GRID, [(100, 200, 2.0), (5000, 8000, 20.0)])
    noisy = clean * np.exp(0.05 * rng.standard_normal(len(GRID)))
    kinds = [s.kind for s in segment_loss_curve(GRID, noisy)]
    assert kinds == ["plateau", "drop", "plateau", "drop", "plateau"]


def test_power_law_is_one_drop() -> None:
    segs = segment_loss_curve(GRID, 1.0 / GRID)
    assert [s.kind for s in segs] == ["drop"]
    assert segs[0].slope == pytest.approx(-1.0)


def test_flat_curve_is_one_plateau_and_short_plateaus_are_dropped() -> None:
    (seg,) = segment_loss_curve(GRID, np.ones(len(GRID)))
    assert (seg.kind, seg.start, seg.stop) == ("plateau", 1, 100000)
    # a flat stretch of a factor 1.5 between two falls is part of one drop
    loss = staircase_loss(GRID, [(100, 1000, 10.0), (1500, 15000, 10.0)])
    kinds = [s.kind for s in segment_loss_curve(GRID, loss)]
    assert kinds == ["plateau", "drop", "plateau"]


def test_small_wiggles_are_not_drops() -> None:
    loss = staircase_loss(GRID, [(100, 150, 1.1)])
    assert [s.kind for s in segment_loss_curve(GRID, loss)] == ["plateau"]


@given(
    st.floats(-3.0, 0.0),
    st.floats(0.01, 100.0),
    st.floats(0.5, 8.0),
)
def test_slopes_of_power_laws_and_scale_invariance(
    exponent: float, scale: float, shift: float
) -> None:
    n = GRID[GRID >= 4]
    loss = n**exponent
    np.testing.assert_allclose(local_slopes(n, loss), exponent, atol=1e-9)
    # segmentation does not depend on the units of the loss ...
    curve = staircase_loss(n, [(100, 300, 10.0)])
    base = segment_loss_curve(n, curve)
    scaled = segment_loss_curve(n, scale * curve)
    assert [(s.kind, s.start, s.stop) for s in base] == [(s.kind, s.start, s.stop) for s in scaled]
    # ... and moves with a rescaling of the sample axis
    stretched = segment_loss_curve(n * shift, curve)
    assert [s.kind for s in stretched] == [s.kind for s in base]


def test_curve_edge_cases() -> None:
    assert segment_loss_curve([0, 10], [1.0, 1.0]) == ()
    # n = 0 and non-finite points are ignored
    loss = np.ones(len(GRID) + 1)
    loss[5] = np.nan
    (seg,) = segment_loss_curve(np.concatenate([[0], GRID]), loss)
    assert seg.kind == "plateau"
    with pytest.raises(ParameterError):
        segment_loss_curve([1, 2, 3], [1.0, 2.0])
    with pytest.raises(ParameterError):
        segment_loss_curve(GRID, np.ones(len(GRID)), min_factor=0.5)


def test_segment_record() -> None:
    s = Segment("drop", 100, 400, 2.0, 0.5)
    assert s.factor == 4.0
    assert s.slope == pytest.approx(-1.0)
    assert s.to_dict()["kind"] == "drop"


def test_first_crossing_uses_the_sign_of_the_target() -> None:
    n = [0, 10, 20, 30]
    assert first_crossing(n, [0.0, 0.4, 0.5, 0.9], 1.0) == 20
    assert first_crossing(n, [0.0, 0.4, 0.5, 0.9], -1.0) is None
    assert first_crossing(n, [0.0, -0.6, 0.1, -0.9], -1.0) == 10
    assert first_crossing(n, [np.nan, 2.0, 0.0, 0.0], 1.0) == 10
    assert first_crossing(n, [1.0, 1.0, 1.0, 1.0], 0.0) is None
    # level 0.25 is crossed halfway from 0.2 (n=10) to 0.3 (n=20), on a log-n axis: 10*sqrt(2)
    assert first_crossing(n, [0.0, 0.2, 0.3, 0.3], 1.0, fraction=0.25) == round(10 * 2**0.5)


def test_learning_times_per_replica_and_probes_skipped() -> None:
    n = np.array([0, 8, 16, 32])
    paths = {
        "x1": np.array([[0, 0.6, 1, 1], [0, 0.1, 0.2, 0.7]]),
        "x1*x2": np.array([[0, 0, 0, 0], [0, 0, 0, 0]]),
        "x3": np.array([[0, 1, 1, 1], [0, 1, 1, 1]]),
    }
    times = learning_times(n, paths, {"x1": 1.0, "x1*x2": -0.5, "x3": 0.0})
    # replica 2 crosses 0.5 at 0.6 of the way from 0.2 (n=16) to 0.7 (n=32), on a log axis
    assert times == {"x1": (8, round(16 * 2**0.6)), "x1*x2": (None, None)}


def test_median_time() -> None:
    assert median_time([5, 1, 3]) == 3
    assert median_time([10, 30, None, 20]) == 25  # the midpoint, as numpy.median
    assert median_time([10, 30, None, None]) is None  # a middle value is never
    assert median_time([10, 20, 30, 40]) == 25
    assert median_time([10, None, None, None]) is None
    assert median_time([]) is None


def test_stage_order_respected_violated_and_tolerated() -> None:
    stages = [["x1"], ["x1*x2*x3", "x2*x3*x4"]]
    ok = check_stage_order({"x1": 100, "x1*x2*x3": 4000, "x2*x3*x4": 4000}, stages)
    assert ok.respected
    assert ok.complete
    assert ok.stage_times == ((100, 100), (4000, 4000))
    # one grid step late is within the resolution
    close = check_stage_order(
        {"x1": 110, "x1*x2*x3": 100, "x2*x3*x4": 200}, stages, resolution=1.155
    )
    assert close.respected
    bad = check_stage_order(
        {"x1": 300, "x1*x2*x3": 100, "x2*x3*x4": None}, stages, resolution=1.155
    )
    assert not bad.respected
    assert not bad.complete
    assert [(v.earlier, v.later) for v in bad.violations] == [("x1", "x1*x2*x3")]
    assert bad.stage_times == ((300, 300), (100, None))
    # an earlier stage never learned while a later one was: a violation
    never = check_stage_order({"x1*x2*x3": 100}, stages)
    assert [(v.earlier, v.earlier_time) for v in never.violations] == [("x1", None)]
    # a later stage never learned is no violation (only incomplete)
    late = check_stage_order({"x1": 100}, stages)
    assert late.respected
    assert not late.complete
    assert late.to_dict()["stages"] == [["x1"], ["x1*x2*x3", "x2*x3*x4"]]
    with pytest.raises(ParameterError):
        check_stage_order({}, stages, resolution=0.5)


def test_crossing_point_interpolates_on_log_axes():
    from csqbound.sgd.plateaus import crossing_point

    # a power law loss L = n^-1 crosses 1e-3 at n = 1000 exactly, whatever the bracket
    for n0, n1 in [(500, 1500), (900, 4000), (10, 1000)]:
        assert crossing_point(n0, 1 / n0, n1, 1 / n1, 1e-3, log=True) == 1000
    # a coefficient linear in log n
    assert crossing_point(100, 0.0, 10_000, 1.0, 0.5, log=False) == 1000
    # not bracketed, or no usable left point: the evaluation point itself
    assert crossing_point(100, 0.1, 200, 0.2, 0.5, log=False) == 200
    assert crossing_point(0, 0.0, 200, 1.0, 0.5, log=False) == 200
    assert crossing_point(100, math.nan, 200, 1.0, 0.5, log=True) == 200
