"""Scaling fits: slopes, censored medians, bootstrap intervals, verdicts, stage fits."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from csqbound.errors import ParameterError
from csqbound.experiments.scaling import (
    ScalingWarning,
    _slopes_rows,
    censored_median,
    fit_scaling,
    fit_stages,
    group_runs,
    loglog_slope,
    points_from_runs,
    stage_durations,
    stage_fits_from_runs,
    stage_plan,
    verdict_from_runs,
)
from csqbound.experiments.store import Store

INF = math.inf
DS = (16, 32, 64, 128)


def synthetic(k: float, ds=DS, per_d: int = 16, sigma: float = 0.2, seed: int = 0, c: float = 3.0):
    """``n = c d^k`` times log-normal noise, ``per_d`` points per ``d``."""
    rng = np.random.default_rng(seed)
    d = np.repeat(np.array(ds), per_d)
    return d, c * d.astype(float) ** k * rng.lognormal(0.0, sigma, d.size)


def quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingWarning)
        return fit_scaling(*args, **kwargs)


# -- kernels ------------------------------------------------------------------------------------
@given(
    st.lists(st.floats(0.1, 10.0), min_size=3, max_size=8),
    st.floats(-3, 3),
    st.floats(0.5, 5),
)
def test_loglog_slope_matches_polyfit(noise, k, c):
    x = np.arange(1, len(noise) + 1) * 4.0
    y = c * x**k * np.array(noise)
    expected = np.polyfit(np.log(x), np.log(y), 1)[0]
    assert loglog_slope(x, y) == pytest.approx(expected, abs=1e-9)


def test_slopes_rows_match_polyfit_and_sign_rule():
    rng = np.random.default_rng(3)
    logx = np.log([8.0, 16.0, 32.0])
    logy = rng.normal(size=(20, 3))
    expected = [np.polyfit(logx, row, 1)[0] for row in logy]
    assert np.allclose(_slopes_rows(logx, logy), expected)
    special = np.array([[0.0, 1.0, INF], [INF, 1.0, 2.0], [0.0, INF, 2.0], [INF, 1.0, INF]])
    # an infinite median at the top pulls the slope to +inf, at the bottom to -inf;
    # at the centre of log d (here 16 between 8 and 32) or at both ends: undefined
    out = _slopes_rows(logx, special)
    assert out[0] == INF
    assert out[1] == -INF
    assert np.isnan(out[2])
    assert np.isnan(out[3])


@given(
    st.lists(st.integers(1, 10_000), min_size=1, max_size=12),
    st.integers(0, 12),
)
def test_censored_median_against_a_stand_in_above_every_point(learned, censored):
    values = [float(v) for v in learned] + [INF] * censored
    got = censored_median(values)
    if 2 * censored >= len(values):
        assert got == INF
    else:  # any stand-in above every learned point gives the same median
        assert got == np.median(np.array(learned + [10**9] * censored, dtype=float))


def test_censored_median_drops_excluded_points():
    assert censored_median([math.nan, 1.0, 3.0]) == 2.0
    assert math.isnan(censored_median([math.nan]))


# -- fits and verdicts -------------------------------------------------------------------------
@pytest.mark.parametrize(("k", "seed"), [(1.0, 0), (2.0, 1), (3.0, 2), (1.5, 3)])
def test_known_exponent_is_recovered_within_the_interval(k, seed):
    d, n = synthetic(k, seed=seed)
    v = fit_scaling(d, n, k)
    assert v.ci is not None
    assert v.ci[0] <= k <= v.ci[1]
    assert v.slope == pytest.approx(k, abs=0.25)
    assert v.slope_all == pytest.approx(k, abs=0.1)
    assert v.ci_all is not None
    assert v.ci_all[0] <= k <= v.ci_all[1]
    assert v.verdict == "agree"
    assert v.d_range_fit == (64, 128)
    assert v.d_range_all == (16, 128)
    assert v.slope_all == pytest.approx(
        loglog_slope(DS, [np.median(n[d == x]) for x in DS]), abs=1e-12
    )


def test_bootstrap_interval_agrees_with_a_naive_loop():
    d, n = synthetic(2.0, seed=5, per_d=12, sigma=0.3)
    v = fit_scaling(d, n, 2, resamples=2000, seed=1)
    rng = np.random.default_rng(12345)  # an independent stream and implementation
    slopes = []
    for _ in range(2000):
        meds = [np.median(rng.choice(n[d == x], size=12, replace=True)) for x in DS]
        slopes.append(np.polyfit(np.log(DS), np.log(meds), 1)[0])
    lo, hi = np.percentile(slopes, [2.5, 97.5])
    assert v.ci_all is not None
    assert v.ci_all[0] == pytest.approx(lo, abs=0.04)
    assert v.ci_all[1] == pytest.approx(hi, abs=0.04)


def test_interval_coverage_on_repeated_experiments():
    covered = 0
    for seed in range(40):
        d, n = synthetic(2.0, seed=100 + seed, per_d=12, sigma=0.3)
        v = fit_scaling(d, n, 2, resamples=400, seed=seed)
        assert v.ci_all is not None
        covered += v.ci_all[0] <= 2.0 <= v.ci_all[1]
    assert covered >= 32  # nominal 95%: 38 of 40 expected


def test_bootstrap_is_reproducible():
    d, n = synthetic(2.0)
    assert fit_scaling(d, n, 2, seed=7).ci == fit_scaling(d, n, 2, seed=7).ci
    assert fit_scaling(d, n, 2, seed=7).ci != fit_scaling(d, n, 2, seed=8).ci


def test_disagree_when_the_interval_excludes_the_prediction():
    d, n = synthetic(2.0, seed=4)
    v = fit_scaling(d, n, 1)
    assert v.verdict == "disagree"
    assert "excludes the predicted 1" in v.reason
    assert "d = 64..128" in v.reason


def test_inconclusive_with_too_few_d_values():
    d, n = synthetic(2.0, ds=(32, 64))
    v = fit_scaling(d, n, 2)
    assert v.verdict == "inconclusive"
    assert "too few usable d values (2 of 2" in v.reason
    assert v.slope is not None  # still reported


def test_inconclusive_when_the_interval_is_too_wide():
    d, n = synthetic(2.0, per_d=4, sigma=1.5, seed=2)
    v = fit_scaling(d, n, 2)
    assert v.verdict == "inconclusive"
    assert "interval wider than 1" in v.reason
    assert v.ci is not None
    assert v.ci[1] - v.ci[0] > 1.0


def test_censored_top_d_is_excluded_with_a_warning_and_makes_it_inconclusive():
    d, n = synthetic(2.0, ds=(16, 32, 64, 128, 256))
    budget = 3.0 * 128**2 * 1.5
    n = np.where(n > budget, INF, n)  # d = 256 needs ~2e5 > budget: all censored
    with pytest.warns(ScalingWarning, match=r"d = 256 left out of the fit \(censored\)"):
        v = fit_scaling(d, n, 2)
    assert v.d_status[256] == "censored"
    assert v.censored[256] == 16
    assert v.medians[256] == INF
    assert v.samples_to_learn[256] == (None,) * 16
    assert v.d_range_fit == (64, 128)
    assert v.verdict == "inconclusive"
    assert "d = 256 is censored" in v.reason
    assert any("raise samples" in note for note in v.notes)
    assert json.dumps(v.to_dict(), allow_nan=False)


def test_partly_censored_d_keeps_an_exact_median():
    d, n = synthetic(2.0, seed=6)
    top = d == 128
    cut = np.sort(n[top])[-3]  # the 3 slowest of 16 points at d = 128 hit the budget
    censored = np.where(top & (n >= cut), INF, n)
    v = fit_scaling(d, censored, 2)
    w = fit_scaling(d, n, 2)
    assert v.censored[128] == 3
    assert v.d_status[128] == "ok"
    assert v.medians == w.medians  # fewer than half censored: nothing changes
    assert v.slope == w.slope
    assert v.verdict == "agree"
    assert v.samples_to_learn[128].count(None) == 3


def test_bootstrap_resamples_that_become_censored_widen_the_interval():
    d, n = synthetic(2.0, seed=8, per_d=8)
    top = d == 128
    cut = np.sort(n[top])[-3]  # 3 of 8 censored: resamples often have >= half censored
    v = fit_scaling(d, np.where(top & (n >= cut), INF, n), 2)
    assert v.ci is not None
    assert v.ci[1] == INF
    assert v.verdict == "inconclusive"
    assert "unbounded" in v.reason


def test_censored_small_d_does_not_block_a_verdict_above_it():
    d, n = synthetic(2.0, ds=(8, 16, 32, 64, 128, 256), seed=10, sigma=0.1)
    n = np.where(d == 8, INF, n)  # e.g. a budget too small for the smallest d only
    v = quiet_fit(d, n, 2)
    assert v.d_status[8] == "censored"
    assert v.d_range_fit == (64, 256)
    assert v.verdict == "agree"


def test_excluded_points_are_counted_not_used():
    d, n = synthetic(1.0, seed=10)
    n = n.copy()
    n[:3] = math.nan  # three diverged replicas at d = 16
    v = fit_scaling(d, n, 1)
    assert v.excluded[16] == 3
    assert len(v.samples_to_learn[16]) == 13
    assert v.medians[16] == np.median(n[3:16])
    assert any("3 point(s) excluded" in note for note in v.notes)


def test_too_few_points_leave_a_d_out():
    d, n = synthetic(1.0, seed=11)
    keep = (d != 64) | (np.arange(d.size) % 16 < 2)  # only 2 points at d = 64
    with pytest.warns(ScalingWarning, match="too few points"):
        v = fit_scaling(d[keep], n[keep], 1)
    assert v.d_status[64] == "too few points"
    assert [(s.d_lo, s.d_hi) for s in v.local_slopes] == [(16, 32), (32, 128)]


def test_local_slopes_show_a_bend():
    # slope 1.5 up to d = 32, then 2 (continuous at 32), as on a small-d 3-parity
    ds = (8, 16, 32, 64, 128)
    rng = np.random.default_rng(12)
    d = np.repeat(ds, 16)
    base = np.where(d <= 32, d**1.5, 32**1.5 * (d / 32.0) ** 2)
    n = 5 * base * rng.lognormal(0, 0.05, d.size)
    v = fit_scaling(d, n, 2)
    slopes = [s.slope for s in v.local_slopes]
    assert [(s.d_lo, s.d_hi) for s in v.local_slopes] == list(zip(ds[:-1], ds[1:], strict=True))
    assert slopes[:2] == pytest.approx([1.5, 1.5], abs=0.1)
    assert slopes[2:] == pytest.approx([2.0, 2.0], abs=0.1)
    assert all(s.ci[0] <= s.slope <= s.ci[1] for s in v.local_slopes)
    assert v.slope_all is not None
    assert 1.6 < v.slope_all < 1.95  # the whole range hides the bend
    assert v.slope == pytest.approx(2.0, abs=0.1)  # the upper part sees it
    assert v.d_range_fit == (32, 128)
    assert v.verdict == "agree"


def test_divide_by_log_judges_d_log_d_as_exponent_one():
    rng = np.random.default_rng(21)
    d = np.repeat((8, 16, 32, 64), 16)
    n = 4 * d * np.log(d) * rng.lognormal(0, 0.1, d.size)
    plain = fit_scaling(d, n, 1)
    by_log = fit_scaling(d, n, 1, divide_by_log=True)
    assert plain.slope_all is not None
    assert by_log.slope_all is not None
    assert plain.slope_all > 1.25  # the log factor bends the raw slope at small d
    assert by_log.slope_all == pytest.approx(1.0, abs=0.05)
    expected = loglog_slope(
        (8, 16, 32, 64), [np.median(n[d == x]) / np.log(x) for x in (8, 16, 32, 64)]
    )
    assert by_log.slope_all == pytest.approx(expected, abs=1e-12)
    assert by_log.verdict == "agree"
    assert by_log.medians == plain.medians


def test_to_dict_is_json():
    d, n = synthetic(2.0)
    out = json.loads(json.dumps(fit_scaling(d, n, 2).to_dict(), allow_nan=False))
    assert out["verdict"] == "agree"
    assert [r["d"] for r in out["per_d"]] == list(DS)
    assert len(out["local_slopes"]) == 3
    assert out["per_d"][0]["censored"] == 0


@pytest.mark.parametrize(
    ("d", "n", "kwargs", "match"),
    [
        ([8, 16], [1.0], {}, "one equal"),
        ([8, 16], [1.0, 0.0], {}, "must be > 0"),
        ([8, 16], [1.0, -INF], {}, "-inf"),
        ([0, 16], [1.0, 2.0], {}, "d must be >= 1"),
        ([8.5, 16], [1.0, 2.0], {}, "whole numbers"),
        ([8, 16], [1.0, 2.0], {"resamples": 5}, "resamples"),
        ([8, 16], [1.0, 2.0], {"level": 1.0}, "level"),
    ],
)
def test_bad_input(d, n, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        fit_scaling(d, n, 1, **kwargs)


# -- stages --------------------------------------------------------------------------------------
def test_stage_durations_by_hand():
    times = {
        "x1": [10, 20, 30, INF, math.nan],
        "x2": [12, 22, INF, INF, math.nan],
        "x1*x2*x3": [100, INF, 40, 50, math.nan],
    }
    dur, notes = stage_durations(times, [["x1", "x2", "x9"], ["x1*x2*x3"], ["x5"]])
    assert dur[0].tolist()[:3] == [11.0, 21.0, INF]  # median of two times: their mean
    assert dur[0][3] == INF
    assert math.isnan(dur[0][4])
    assert dur[1].tolist()[:2] == [89.0, INF]
    assert math.isnan(dur[1][2])  # stage 1 not reached but stage 2 was: out of order
    assert math.isnan(dur[1][3])
    assert np.isnan(dur[2]).all()
    assert notes == ("stage 3 (x5) has no tracked monomial",)


def test_stage_fits_recover_each_scale():
    rng = np.random.default_rng(15)
    d = np.repeat(DS, 16).astype(float)
    t1 = 2 * d * rng.lognormal(0, 0.1, d.size)
    t2 = t1 + 3 * d * np.log(d) * rng.lognormal(0, 0.1, d.size)  # jump 2: d log d
    t3 = t2 + 0.5 * d**2 * rng.lognormal(0, 0.1, d.size)  # jump 3: d^2
    times = {"x1": t1, "x1*x2": t2, "x1*x2*x3*x4": t3}
    fits = fit_stages(d.astype(int), times, [["x1"], ["x1*x2"], ["x1*x2*x3*x4"]], [1, 2, 3])
    assert [(f.scale, f.predicted_exponent, f.divided_by_log) for f in fits] == [
        ("d", 1, False),
        ("d log d", 1, True),
        ("d^2", 2, False),
    ]
    assert [f.fit.verdict for f in fits] == ["agree", "agree", "agree"]
    assert fits[1].fit.slope_all == pytest.approx(1.0, abs=0.05)
    # without dividing by log d the d log d stage looks steeper than 1
    raw = quiet_fit(d.astype(int), t2 - t1, 1)
    assert raw.slope_all is not None
    assert raw.slope_all > 1.2
    assert json.dumps([f.to_dict() for f in fits], allow_nan=False)


def test_stage_fit_errors():
    with pytest.raises(ParameterError, match="one jump per stage"):
        fit_stages([8], {"x1": [1.0]}, [["x1"]], [1, 2])
    with pytest.raises(ParameterError, match="values of d"):
        fit_stages([8, 16], {"x1": [1.0]}, [["x1"]], [1])


def test_stage_plan_matches_the_leap():
    assert stage_plan("x1 + x1*x2*x3") == ((("x1",), 1), (("x1*x2*x3",), 2))
    assert stage_plan("x1*x2*x3") == ((("x1*x2*x3",), 3),)
    assert stage_plan("x1 + x1*x2 + x1*x2*x3") == ((("x1", "x1*x2", "x1*x2*x3"), 1),)


# -- from a store -------------------------------------------------------------------------------
def _fill_store(path, runner_settings=None):
    from test_sweep import failing_runner

    from csqbound.experiments.sweep import make_grid, run_sweep

    grid = make_grid("x1*x2", [8, 16, 32, 64], 6, runner_settings or {"replicas": 3})
    run_sweep(grid, store=path, workers=1, runner=failing_runner)  # seed 1 fails
    return grid


def test_verdict_from_stored_runs(tmp_path):
    path = tmp_path / "s.sqlite"
    _fill_store(path)
    with Store(path) as store:
        rows = store.runs(target="x1*x2")
    points = points_from_runs(rows)
    assert points.d.size == 4 * 6 * 3
    assert int(np.isnan(points.n).sum()) == 4 * 3  # the failed seed's replicas
    assert points.status.count("error") == 12
    v = verdict_from_runs(rows, predicted_exponent=2)
    assert v.excluded == {8: 3, 16: 3, 32: 3, 64: 3}
    assert v.verdict == "agree"  # the fake runner learns in 20 d^2 samples
    assert v.slope_all == pytest.approx(2.0, abs=0.05)
    default = verdict_from_runs(rows)  # x1*x2 has leap 2: predicted max(2 - 1, 1) = 1
    assert default.predicted_exponent == 1.0
    assert default.divided_by_log  # the d log d prediction is judged as n / log d against 1
    assert default.label == "samples to learn / log d"
    assert default.verdict == "disagree"
    assert default.medians == v.medians  # medians are shown raw


def test_budget_hits_are_censored_points(tmp_path):
    path = tmp_path / "s.sqlite"
    _fill_store(path, {"replicas": 3, "samples": 30_000})  # 20 * 64^2 = 82k > budget
    with Store(path) as store:
        rows = store.runs()
    with pytest.warns(ScalingWarning, match="d = 64 left out"):
        v = verdict_from_runs(rows, predicted_exponent=2)
    assert v.censored[64] == 15
    assert v.d_status[64] == "censored"
    assert v.verdict == "inconclusive"


def test_stage_fits_from_stored_runs(tmp_path):
    path = tmp_path / "s.sqlite"
    _fill_store(path)
    with Store(path) as store:
        rows = store.runs()
    fits = stage_fits_from_runs(rows)
    assert [(f.monomials, f.jump) for f in fits] == [(("x1*x2",), 2)]  # x1*x2: one stage, jump 2
    assert fits[0].divided_by_log


def test_groups_split_settings_and_targets():
    from types import SimpleNamespace as R

    def row(target, width, samples):
        return R(
            target=target,
            domain="boolean",
            settings={"width": width, "samples": samples},
            code_version="0",
        )

    runs = [row("x1", 64, 100), row("x1", 64, 200), row("x1", 32, 100), row("x2", 64, 100)]
    assert sorted(len(g) for g in group_runs(runs).values()) == [1, 1, 2]
    with pytest.raises(ParameterError, match="3 groups"):
        points_from_runs(runs)
    with pytest.raises(ParameterError, match="no runs"):
        points_from_runs([])


def test_run_level_bootstrap_widens_intervals_for_correlated_replicas():
    # 4 runs per d, 8 replicas each; replicas of a run share a large run effect (as they
    # share a test set and stopping rule), with little noise of their own.
    rng = np.random.default_rng(3)
    d, n, run = [], [], []
    for dv in (16, 32, 64, 128):
        for r in range(4):
            effect = rng.lognormal(0.0, 0.4)
            for _ in range(8):
                d.append(dv)
                n.append(10.0 * dv**2 * effect * rng.lognormal(0.0, 0.02))
                run.append(r)
    naive = fit_scaling(d, n, 2, resamples=1000)
    honest = fit_scaling(d, n, 2, resamples=1000, clusters=run)
    assert honest.slope == naive.slope
    width = lambda v: v.ci[1] - v.ci[0]  # noqa: E731
    assert width(honest) > 2 * width(naive)
    # the hull is never narrower than the replica bootstrap
    assert honest.ci[0] <= naive.ci[0]
    assert honest.ci[1] >= naive.ci[1]


def test_the_decision_on_its_own() -> None:
    """Each branch of the verdict, from per-d statuses and a fitted interval alone."""
    from csqbound.experiments.scaling import _decide, _PerD

    ok = _PerD((8, 16, 32), status={8: "ok", 16: "ok", 32: "ok"})
    kw = {"min_d_values": 2, "max_ci_width": 1.0}
    fit = ([8, 16, 32], 1.0, (0.8, 1.2), (16, 32))
    assert _decide(ok, *fit, 1, **kw)[0] == "agree"
    assert _decide(ok, *fit, 2, **kw)[0] == "disagree"
    assert _decide(ok, [8, 16, 32], 1.0, (0.0, 1.5), (16, 32), 1, **kw)[1].endswith(
        "interval wider than 1; add seeds or replicas"
    )
    assert "unbounded" in _decide(ok, [8, 16, 32], 1.0, (0.8, math.inf), (16, 32), 1, **kw)[1]
    late = _PerD((8, 16, 32), status={8: "ok", 16: "ok", 32: "censored"})
    verdict, reason = _decide(late, [8, 16], 1.0, (0.8, 1.2), (8, 16), 1, **kw)
    assert verdict == "inconclusive"
    assert "d = 32 is censored" in reason
    verdict, reason = _decide(ok, [8], None, None, None, 1, **kw)
    assert verdict == "inconclusive"
    assert reason.startswith("too few usable d values (1 of 3; need 2)")
