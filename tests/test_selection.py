"""Tests of :mod:`csqbound.experiments.selection`: choosing between neighbouring exponents.

The data are synthetic with a known law ``n = C d^k log^q d``, lognormal noise per
replica and a random effect per seed (so replicas of one seed are correlated, as
in real sweeps), over ``d = 32..512``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csqbound.errors import ParameterError
from csqbound.experiments import selection
from csqbound.experiments.selection import Selection, select_exponent

POW2 = (32, 64, 128, 256, 512)
Law = Callable[[float], float]


def _points(
    law: Law,
    ds: tuple[int, ...] = POW2,
    seeds: int = 6,
    reps: int = 8,
    sigma: float = 0.2,
    seed_sigma: float = 0.15,
    rng: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``seeds x reps`` points per ``d``: ``law(d) * exp(seed effect + replica noise)``."""
    gen = np.random.default_rng(rng)
    d: list[int] = []
    n: list[float] = []
    c: list[int] = []
    for dv in ds:
        for s in range(seeds):
            effect = gen.normal(0, seed_sigma)
            n.extend(law(dv) * np.exp(effect + gen.normal(0, sigma, reps)))
            d.extend([dv] * reps)
            c.extend([s] * reps)
    return np.array(d), np.array(n), np.array(c)


def d_log2(d: float) -> float:
    return 5 * d * math.log(d) ** 2


def d_log(d: float) -> float:
    return 20 * d * math.log(d)


def d_square(d: float) -> float:
    return 0.5 * d**2


def _select(data: tuple[np.ndarray, np.ndarray, np.ndarray], k0: float, **kw: object) -> Selection:
    kw.setdefault("resamples", 500)
    return select_exponent(*data, k0, **kw)  # type: ignore[arg-type]


def test_all_is_the_public_names() -> None:
    public = {name for name in vars(selection) if not name.startswith("_")}
    assert set(selection.__all__) == {"Selection", "select_exponent"}
    assert set(selection.__all__) <= public


# -- known laws --------------------------------------------------------------------------------
def test_d_log2_agrees_at_k1_with_q_near_2() -> None:
    sel = _select(_points(d_log2), 1, q_expected=2)
    assert sel.candidates == (1.0, 2.0)
    assert sel.verdict == "agree"
    assert sel.best_k == 1
    assert sel.shares[1.0] >= 0.95
    assert sel.q_at_k0 is not None
    assert abs(sel.q_at_k0 - 2) < 0.35
    assert sel.q_contains_expected is True
    assert sel.reason.startswith("k=1 (q=")
    assert sel.reason.endswith("predicted k0=1: agree")


@pytest.mark.parametrize(("k0", "candidates"), [(2, (1.0, 2.0, 3.0)), (0, (0.0, 1.0))])
def test_d_log2_disagrees_at_the_neighbours(k0: float, candidates: tuple[float, ...]) -> None:
    sel = _select(_points(d_log2), k0)
    assert sel.candidates == candidates
    assert sel.verdict == "disagree"
    assert sel.best_k == 1
    assert sel.shares[float(k0)] <= 0.05
    # the polylog cannot absorb a whole power: q is pushed to a bound
    assert sel.q_at_bound == ("lower" if k0 > 1 else "upper")


def test_d_square_agrees_at_2() -> None:
    sel = _select(_points(d_square), 2)
    assert sel.verdict == "agree"
    assert sel.best_k == 2
    assert sel.q_at_k0 is not None
    assert abs(sel.q_at_k0) < 0.4
    assert sel.slope is not None
    assert sel.slope_ci is not None
    assert sel.slope_ci[0] <= 2 <= sel.slope_ci[1]
    assert abs(sel.slope - 2) < 0.1


@pytest.mark.parametrize(
    ("k0", "side", "word"), [(1, "upper", "steeper"), (3, "lower", "shallower")]
)
def test_d_square_disagrees_at_1_and_3(k0: int, side: str, word: str) -> None:
    sel = _select(_points(d_square), k0)
    assert sel.verdict == "disagree"
    assert sel.best_k == 2
    assert sel.q_at_bound == side
    assert f"q at its {side} bound" in sel.reason
    assert word in sel.reason


def test_d_log_agrees_at_1_with_q_near_1() -> None:
    sel = _select(_points(d_log), 1, q_expected=1)
    assert sel.verdict == "agree"
    assert sel.q_at_k0 is not None
    assert sel.q_ci is not None
    assert abs(sel.q_at_k0 - 1) < 0.3
    assert sel.q_ci[0] <= sel.q_at_k0 <= sel.q_ci[1]
    assert sel.q_ci[0] <= 1 <= sel.q_ci[1]
    assert sel.q_contains_expected is True
    assert sel.q_at_bound is None


def test_a_non_integer_conjecture_agrees_on_its_law() -> None:
    data = _points(lambda d: 3 * d**1.5)
    sel = _select(data, 1.5)
    assert sel.candidates == (1.5, 2.5)
    assert sel.verdict == "agree"
    assert _select(data, 1.5, candidates=(1, 1.5, 2)).verdict == "agree"


def test_a_non_integer_conjecture_does_not_agree_with_d_log2_against_integers() -> None:
    # d^1.5 log^-0.4 d and d log^2 d are close over d = 32..512: no agreement
    sel = _select(_points(d_log2), 1.5, candidates=(1, 1.5, 2))
    assert sel.verdict != "agree"
    assert sel.shares[1.0] > 0.05


def test_huge_noise_is_inconclusive() -> None:
    data = _points(d_log, seeds=4, sigma=1.0, seed_sigma=3.0, reps=4, rng=5)
    sel = _select(data, 1)
    assert not sel.thin
    assert 0.5 < sel.shares[1.0] < 0.95
    assert sel.verdict == "inconclusive"
    assert "add seeds" in sel.reason
    # the thresholds decide, nothing else: the same shares agree at 0.7, disagree at 0.8
    assert _select(data, 1, agree_share=0.7).verdict == "agree"
    assert _select(data, 1, disagree_share=0.8).verdict == "disagree"


# -- thin data ----------------------------------------------------------------------------------
def test_two_d_values_are_inconclusive_and_name_the_d_to_add() -> None:
    sel = _select(_points(d_log, ds=(32, 64)), 1)
    assert sel.verdict == "inconclusive"
    assert "only 2 usable d value(s) (32, 64)" in sel.reason
    assert "d = 128, 256" in sel.reason
    assert sel.best_k is None
    assert sel.shares == {}
    assert len(sel.local_slopes) == 1


def test_three_seeds_are_inconclusive() -> None:
    sel = _select(_points(d_log, seeds=3), 1)
    assert sel.verdict == "inconclusive"
    assert "fewer than 4 distinct seeds" in sel.reason
    assert "run more seeds" in sel.reason
    # the fit is still made and reported, outside the verdict
    assert sel.shares[1.0] > 0.95
    assert any(note.startswith("on the usable d only: k=1") for note in sel.notes)


def test_a_span_of_4x_is_inconclusive() -> None:
    sel = _select(_points(d_log, ds=(32, 48, 64, 96, 128)), 1)
    assert sel.verdict == "inconclusive"
    assert sel.thin == (sel.reason.removeprefix("inconclusive: "),)
    assert "span 32..128 (4x)" in sel.reason
    assert "need at least 8x" in sel.reason
    assert "usable d value" not in sel.reason


def test_every_shortfall_is_named() -> None:
    sel = _select(_points(d_log, ds=(32, 64), seeds=3), 1)
    assert len(sel.thin) == 3
    assert all(reason in sel.reason for reason in sel.thin)


@pytest.mark.parametrize(("where", "above"), [(512, True), (128, False)])
def test_half_censored_at_one_d_is_inconclusive(where: int, above: bool) -> None:
    d, n, c = _points(d_log)
    at = np.flatnonzero(d == where)
    n[at[: at.size // 2]] = np.inf
    sel = _select((d, n, c), 1)
    assert sel.verdict == "inconclusive"
    assert where not in sel.usable
    assert sel.censored[where] == at.size // 2
    assert math.isinf(sel.medians[where])
    assert f"at d = {where}, 24 of 48 points hit the sample budget" in sel.reason
    assert "raise the sample budget" in sel.reason
    assert ("above the usable range" in sel.reason) is above


def test_censoring_below_half_is_used_with_a_note() -> None:
    d, n, c = _points(d_log)
    at = np.flatnonzero(d == 512)
    n[at[np.argsort(n[at])[-20:]]] = np.inf  # the 20 slowest of 48 hit the budget
    sel = _select((d, n, c), 1)
    assert 512 in sel.usable
    assert sel.verdict == "agree"
    assert any("resamples had an infinite median" in note for note in sel.notes)
    assert sel.weights[512] < min(sel.weights[dv] for dv in (32, 64, 128))


def test_excluded_points_are_counted_not_used() -> None:
    d, n, c = _points(d_log)
    n[d == 256] = np.nan
    n[:5] = np.nan
    sel = _select((d, n, c), 1)
    assert sel.usable == (32, 64, 128, 512)
    assert sel.excluded[256] == 48
    assert sel.excluded[32] == 5
    assert sel.points[32] == 43
    assert "d = 256: all 48 points are nan (excluded)" in sel.notes
    assert sel.verdict == "agree"


# -- the bootstrap resamples seeds -----------------------------------------------------------------
def _correlated(copies: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Replicas identical within a seed, each repeated ``copies`` times."""
    d, n, c = _points(d_log, reps=1, seeds=6, sigma=0.0, seed_sigma=0.25)
    return np.repeat(d, copies), np.repeat(n, copies), np.repeat(c, copies)


def test_duplicating_correlated_replicas_does_not_shrink_the_intervals() -> None:
    one, four = (_select(_correlated(k), 1, q_expected=1) for k in (1, 4))
    assert one.q_ci is not None
    assert four.q_ci is not None
    assert one.slope_ci is not None
    assert four.slope_ci is not None
    assert np.allclose(one.q_ci, four.q_ci)
    assert np.allclose(one.slope_ci, four.slope_ci)
    assert np.allclose([s.ci for s in one.local_slopes], [s.ci for s in four.local_slopes])
    assert one.q_ci[1] - one.q_ci[0] > 0.1


def test_resampling_replicas_instead_would_shrink_them() -> None:
    # the contrast that makes the test above meaningful: call each replica its own seed
    d, n, _ = _correlated(4)
    by_seed = _select(_correlated(4), 1)
    by_replica = _select((d, n, np.arange(d.size)), 1)
    assert by_seed.slope_ci is not None
    assert by_replica.slope_ci is not None
    width = by_seed.slope_ci[1] - by_seed.slope_ci[0]
    assert by_replica.slope_ci[1] - by_replica.slope_ci[0] < 0.75 * width


# -- shape: local slopes, trend ------------------------------------------------------------------
def test_local_slopes_of_d_log_are_one_plus_one_over_log_d() -> None:
    sel = _select(_points(d_log, sigma=0.05, seed_sigma=0.02), 1, q_expected=1)
    assert [(s.d_lo, s.d_hi) for s in sel.local_slopes] == list(
        zip(POW2[:-1], POW2[1:], strict=True)
    )
    for s in sel.local_slopes:
        secant = 1 + math.log(math.log(s.d_hi) / math.log(s.d_lo)) / math.log(s.d_hi / s.d_lo)
        assert abs(s.slope - secant) < 0.1
        assert s.ci[0] <= s.slope <= s.ci[1]
    assert sel.trend_away is False


def test_trend_away_flags_a_late_steepening() -> None:
    def law(d: float) -> float:
        return 20 * d if d <= 128 else 20 * d**2 / 128

    sel = _select(_points(law, sigma=0.1, seed_sigma=0.05), 1)
    assert sel.trend_away is True
    assert sel.trend is not None
    assert sel.trend > 0
    assert sel.top_residual_ci is not None
    assert sel.top_residual_ci[0] > 0
    assert any("move away" in note for note in sel.notes)


def test_slopes_approaching_the_prediction_are_not_a_trend_away() -> None:
    # d log^2 d judged as plain d: slopes 1.6 -> 1.3 come down towards 1
    sel = _select(_points(d_log2, sigma=0.1, seed_sigma=0.05), 1, q_expected=0)
    assert sel.trend is not None
    assert sel.trend < 0
    assert sel.trend_away is False


# -- defaults, determinism, output ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("k0", "expected"),
    [(1, (1.0, 2.0)), (2, (1.0, 2.0, 3.0)), (0, (0.0, 1.0)), (0.5, (0.5, 1.5)), (1.5, (1.5, 2.5))],
)
def test_default_candidates(k0: float, expected: tuple[float, ...]) -> None:
    assert _select(_points(d_log, seeds=4, reps=2), k0, resamples=20).candidates == expected


@pytest.mark.parametrize("k0", [1, 2])
def test_a_tie_goes_to_the_candidate_closest_to_k0(k0: int) -> None:
    # exact d^1.5 with q fixed at 0: k = 1 and k = 2 leave mirror-image residuals
    d = np.repeat(POW2, 4)
    sel = select_exponent(
        d, d**1.5, np.tile(np.arange(4), 5), k0, candidates=(1, 2), q_bounds=(0, 0), resamples=20
    )
    assert math.isclose(sel.scores[1.0], sel.scores[2.0], rel_tol=1e-12)
    assert sel.scores[1.0] > 0.1
    assert sel.best_k == k0


def test_same_seed_same_result_and_json() -> None:
    data = _points(d_log, seeds=4)
    a, b = _select(data, 1, seed=3), _select(data, 1, seed=3)
    assert a == b
    assert a.to_dict() == b.to_dict()
    assert _select(data, 1, seed=4).q_ci != a.q_ci
    text = json.dumps(a.to_dict(), allow_nan=False)
    assert json.loads(text)["verdict"] == a.verdict


def test_to_dict_turns_infinities_into_none() -> None:
    d, n, c = _points(d_log)
    n[d == 512] = np.inf
    out = _select((d, n, c), 1).to_dict()
    json.dumps(out, allow_nan=False)
    last = out["per_d"][-1]
    assert last == {**last, "d": 512, "usable": False, "median": None, "weight": None}
    assert [r["k"] for r in out["candidates"]] == [1, 2]


def test_a_generator_seed_and_string_clusters_work() -> None:
    d, n, c = _points(d_log)
    sel = select_exponent(
        d, n, [f"run{s}" for s in c], 1, resamples=100, seed=np.random.default_rng(0)
    )
    assert sel.seed is None
    assert sel.seeds[32] == 6
    assert sel.verdict == "agree"


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n": [100.0, 200.0]}, "one equal"),
        ({"d": [1, 2, 4, 8]}, "d must be >= 2"),
        ({"d": [2.5, 4, 8, 16]}, "whole numbers"),
        ({"n": [100.0, 0.0, 300.0, 400.0]}, "non-positive"),
        ({"n": [100.0, -math.inf, 300.0, 400.0]}, "-inf"),
        ({"clusters": [0.0, math.nan, 1.0, 1.0]}, "nan"),
        ({"agree_share": 0.4}, "agree_share"),
        ({"disagree_share": 0.96}, "disagree_share"),
        ({"min_d_values": 2}, "min_d_values"),
        ({"min_seeds": 1}, "min_seeds"),
        ({"resamples": 5}, "resamples"),
        ({"q_bounds": (2.0, -1.0)}, "q_bounds"),
        ({"candidates": (1,)}, "at least 2"),
        ({"candidates": (2, 3)}, "must contain k0"),
        ({"k0": -1}, "at least 2"),
        ({"k0": math.inf}, "finite"),
    ],
)
def test_malformed_input_raises(change: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "d": [2, 4, 8, 16],
        "n": [100.0, 200.0, 300.0, 400.0],
        "clusters": [0, 0, 1, 1],
        "k0": 1,
    }
    args |= change
    with pytest.raises(ParameterError, match=message):
        select_exponent(**args)  # type: ignore[arg-type]


# -- the rule on random laws ----------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(
    k=st.sampled_from([1, 2, 3]),
    q=st.floats(0, 1.5),
    scale=st.floats(0.5, 50),
    rng=st.integers(0, 2**16),
)
def test_never_disagrees_with_the_truth_nor_agrees_with_a_neighbour(
    k: int, q: float, scale: float, rng: int
) -> None:
    data = _points(
        lambda d: scale * d**k * math.log(d) ** q, seeds=4, sigma=0.1, seed_sigma=0.05, rng=rng
    )
    assert _select(data, k, resamples=200).verdict != "disagree"
    for k0 in (k - 1, k + 1):
        assert _select(data, k0, resamples=200).verdict != "agree"
