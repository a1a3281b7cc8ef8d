r"""Scaling fits: samples-to-learn against ``d``, with censoring, bootstrap intervals and a verdict.

THEORY.md section 6 predicts that online SGD learns a target of leap ``L`` in
``n(d) = Theta~(d^max(L-1, 1))`` samples, and that stage ``j`` of the leap's
witness (jump ``L_j``) costs about ``d`` (``L_j <= 1``), ``d log d``
(``L_j = 2``) or ``d^(L_j - 1)`` samples. This module confronts measurements
with those exponents. Everything here is a pure function on numpy arrays
(plus thin helpers that read :class:`~csqbound.experiments.store.StoredRun` rows).

Points
    Each replica of each run is one point ``(d, n)`` (its identity is
    ``(seed, replica)``, see :mod:`csqbound.experiments.sweep`). ``n`` is
    finite and positive when the replica learned, ``+inf`` when it hit the
    sample budget first (*censored*: it would have needed more than the
    budget), ``nan`` when it tells nothing about ``n`` (diverged, the run
    failed, or no stopping threshold was set): such points are *excluded*,
    counted and shown, never averaged in.

Medians under censoring
    The median of a ``d`` is taken with censored points as ``+inf``. As long as
    fewer than half the points are censored it is exact (a censored point lies
    above every learned one when all points of a ``d`` share the budget). When
    at least half are censored the median is only a lower bound: that ``d`` is
    marked ``"censored"``, left out of the fits with a :class:`ScalingWarning`,
    and a verdict whose fitted range it touches can be at best
    ``"inconclusive"``. A ``d`` with fewer than ``min_points`` usable points is
    left out too (``"too few points"``).

Fits
    The slope is the least-squares slope of ``log median`` against ``log d``
    over the usable ``d`` values (one point per ``d``: every ``d`` weighs the
    same whatever its number of replicas). Its interval is a percentile
    bootstrap: ``resamples`` times, the points of each ``d`` are resampled with
    replacement (censored points as ``+inf``), the medians and the slope are
    recomputed; the interval holds the central ``level`` of those slopes.
    Replicas of one run share a test set and a stopping rule, so they are not
    independent: when the points carry their run (``clusters``, the seeds, as
    :func:`verdict_from_runs` passes them) a second bootstrap resamples whole
    runs within each ``d``, and every interval is the hull of the two (never
    narrower than either; with few runs the run bootstrap alone is coarse). A
    resample whose median becomes infinite gives an infinite slope (its sign
    set by where that ``d`` lies), so heavy censoring shows as an unbounded
    interval. The seeded :class:`numpy.random.Generator` makes it reproducible.

Local slopes and the verdict
    Finite ``d`` bends slopes (log factors, constants: on the 3-parity, slope
    1.5 over ``d = 8..24`` and 2.0 over ``d = 64..128``), so the slope between
    every pair of neighbouring usable ``d`` is reported with its interval, as
    are the fit over the whole range and the fit over the upper part of the
    range (the upper half of the usable ``d`` values, at least two), which the
    verdict uses: ``"agree"`` when the predicted exponent lies in that fit's
    interval, ``"disagree"`` when the interval excludes it, and
    ``"inconclusive"`` when there are fewer than ``min_d_values`` usable ``d``
    values, when a censored ``d`` lies in or above the fitted range, or when the
    interval is wider than ``max_ci_width`` (or unbounded).

Stages
    :func:`fit_stages` fits each stage's duration: stage ``j`` ends, for one
    replica, at the median of its monomials' learning times (``+inf`` when
    fewer than half of them were learned), and lasts from the end of stage
    ``j - 1`` (0 for the first stage). The median duration per ``d`` is fitted
    against ``d`` (predicted exponent 1) for ``L_j <= 1``, ``d^(L_j - 1)`` for
    ``L_j >= 3``, and for ``L_j = 2`` the duration divided by ``log d`` against
    ``d`` (predicted exponent 1: ``d log d / log d = d``).

References
----------
Abbe, Boix-Adserà, Misiakiewicz. SGD learning on neural networks: leap
complexity and saddle-to-saddle dynamics. COLT 2023 (arXiv 2302.11055).
Efron, Tibshirani. An Introduction to the Bootstrap. Chapman & Hall, 1993
(percentile intervals).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from csqbound.errors import ParameterError

__all__ = [
    "OBSERVABLES",
    "LocalSlope",
    "Points",
    "ScalingWarning",
    "StageFit",
    "Verdict",
    "VerdictName",
    "censored_median",
    "json_interval",
    "json_number",
    "fit_scaling",
    "fit_stages",
    "group_runs",
    "loglog_slope",
    "points_from_runs",
    "stage_durations",
    "stage_fits_from_runs",
    "stage_plan",
    "verdict_from_runs",
]

VerdictName = Literal["agree", "disagree", "inconclusive"]
#: Rounding slack when comparing an exponent with an interval's bounds.
_TOL = 1e-9


class ScalingWarning(UserWarning):
    """A ``d`` left out of a fit (censored, too few points, non-positive median)."""


# -- small pure kernels ------------------------------------------------------------------
def loglog_slope(x: Any, y: Any) -> float:
    """Least-squares slope of ``log y`` against ``log x``.

    Examples
    --------
    >>> round(loglog_slope([10, 20, 40], [300, 1200, 4800]), 12)
    2.0
    """
    lx = np.log(np.asarray(x, dtype=np.float64))
    ly = np.log(np.asarray(y, dtype=np.float64))
    if lx.shape != ly.shape or lx.size < 2:
        msg = "loglog_slope needs two arrays of the same length >= 2"
        raise ParameterError(msg)
    xc = lx - lx.mean()
    sxx = float(xc @ xc)
    if sxx == 0:
        msg = "loglog_slope needs at least two distinct x values"
        raise ParameterError(msg)
    return float(xc @ (ly - ly.mean()) / sxx)


def censored_median(values: Any) -> float:
    """The median with censored points as ``+inf`` (``nan`` points are left out).

    ``+inf`` when at least half the points are censored (the true median is
    then only known to exceed every learned point); ``nan`` when no point is left.

    Examples
    --------
    >>> censored_median([100, 300, float("inf")])
    300.0
    >>> censored_median([100, float("inf")])
    inf
    >>> censored_median([float("nan"), 5, 7])
    6.0
    """
    arr = np.asarray(values, dtype=np.float64).ravel()
    arr = arr[~np.isnan(arr)]
    return float(np.median(arr)) if arr.size else math.nan


def _slopes_rows(logx: np.ndarray, logy: np.ndarray) -> np.ndarray:
    """Least-squares slopes of each row of ``logy`` (``(B, k)``, may hold ``+-inf``/``nan``)."""
    xc = logx - logx.mean()
    sxx = float(xc @ xc)
    out = np.full(logy.shape[0], np.nan)
    finite = np.isfinite(logy).all(axis=1)
    yf = logy[finite]
    out[finite] = (yf - yf.mean(axis=1, keepdims=True)) @ xc / sxx
    sign_x = np.sign(xc)
    for row in np.flatnonzero(~finite):
        y = logy[row]
        if np.isnan(y).any():
            continue
        inf = np.isinf(y)
        pulls = set((np.sign(y[inf]) * sign_x[inf]).tolist())
        if len(pulls) == 1 and 0.0 not in pulls:
            out[row] = math.inf * pulls.pop()
    return out


def _interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval of bootstrap values; unbounded if too many are undefined."""
    tail = (1 - level) / 2
    defined = samples[~np.isnan(samples)]
    if defined.size == 0 or 1 - defined.size / samples.size > tail:
        return (-math.inf, math.inf)
    lo, hi = np.quantile(defined, [tail, 1 - tail], method="inverted_cdf")
    return (float(lo), float(hi))


def _log(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), -np.inf)


# -- results -----------------------------------------------------------------------------
@dataclass(frozen=True)
class LocalSlope:
    """The slope between two neighbouring usable ``d`` values.

    Attributes
    ----------
    d_lo, d_hi
        The two dimensions.
    slope
        ``(log m_hi - log m_lo) / (log d_hi - log d_lo)`` of the medians.
    ci
        Its bootstrap interval (bounds may be infinite).
    """

    d_lo: int
    d_hi: int
    slope: float
    ci: tuple[float, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (infinite bounds as ``None``).

        Examples
        --------
        >>> LocalSlope(8, 16, 2.0, (1.5, float("inf"))).to_dict()["ci"]
        [1.5, None]
        """
        return {
            "d_lo": self.d_lo,
            "d_hi": self.d_hi,
            "slope": json_number(self.slope),
            "ci": json_interval(self.ci),
        }


def json_number(x: float | None) -> float | int | None:
    """A number for JSON: ``None`` when undefined or infinite, an ``int`` when whole."""
    if x is None or not math.isfinite(x):
        return None
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)


def json_interval(ci: tuple[float, float] | None) -> list[float | int | None] | None:
    """An interval for JSON: two :func:`json_number` bounds, or ``None``."""
    return None if ci is None else [json_number(ci[0]), json_number(ci[1])]


@dataclass(frozen=True)
class Verdict:
    """A log-log fit of medians against ``d`` and its verdict against a predicted exponent.

    Attributes
    ----------
    predicted_exponent
        E.g. ``max(L - 1, 1)``.
    slope, ci
        Fit over :attr:`d_range_fit` (the upper part of the usable ``d``) and its
        bootstrap interval; ``None`` with fewer than two usable ``d``.
    d_range_fit
        ``(smallest, largest)`` ``d`` of that fit.
    verdict
        ``"agree"``, ``"disagree"`` or ``"inconclusive"``.
    reason
        One sentence why, with the slope, interval and ``d`` range.
    local_slopes
        Between neighbouring usable ``d``.
    slope_all, ci_all, d_range_all
        The fit over every usable ``d``.
    ds
        Every distinct ``d`` given, increasing.
    medians
        ``d`` -> median (``inf``: censored; ``nan``: no usable point).
    d_status
        ``d`` -> ``"ok"``, ``"censored"``, ``"too few points"`` or ``"non-positive median"``.
    censored
        ``d`` -> number of censored points.
    excluded
        ``d`` -> number of excluded points (diverged, failed, no threshold).
    samples_to_learn
        ``d`` -> the points (``None`` where censored; excluded points left out).
    notes
        Warnings worth showing next to the verdict.
    resamples, level, seed
        Bootstrap settings.
    label
        What was fitted, e.g. ``"samples to learn"`` or ``"stage 2 duration / log d"``.
    divided_by_log
        Whether the medians were divided by ``log d`` before the fit (a ``d log d``
        prediction judged as exponent 1); :attr:`medians` and the points are raw.
    """

    predicted_exponent: float
    slope: float | None
    ci: tuple[float, float] | None
    d_range_fit: tuple[int, int] | None
    verdict: VerdictName
    reason: str
    local_slopes: tuple[LocalSlope, ...]
    slope_all: float | None
    ci_all: tuple[float, float] | None
    d_range_all: tuple[int, int] | None
    ds: tuple[int, ...]
    medians: Mapping[int, float] = field(hash=False)
    d_status: Mapping[int, str] = field(hash=False)
    censored: Mapping[int, int] = field(hash=False)
    excluded: Mapping[int, int] = field(hash=False)
    samples_to_learn: Mapping[int, tuple[float | None, ...]] = field(hash=False)
    notes: tuple[str, ...]
    resamples: int
    level: float
    seed: int
    label: str = "samples to learn"
    divided_by_log: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: infinite or undefined numbers as ``None``; one record per ``d`` in ``per_d``.

        Examples
        --------
        >>> d = np.repeat([16, 32, 64], 5)
        >>> v = fit_scaling(d, d * 10.0, 1, resamples=50)
        >>> out = v.to_dict()
        >>> out["verdict"], round(out["slope"], 9), out["per_d"][0]["median"]
        ('agree', 1.0, 160)
        >>> out["per_d"][0]["points"][:2]
        [160, 160]
        """
        return {
            "label": self.label,
            "divided_by_log": self.divided_by_log,
            "predicted_exponent": json_number(self.predicted_exponent),
            "slope": json_number(self.slope),
            "ci": json_interval(self.ci),
            "d_range_fit": None if self.d_range_fit is None else list(self.d_range_fit),
            "verdict": self.verdict,
            "reason": self.reason,
            "slope_all": json_number(self.slope_all),
            "ci_all": json_interval(self.ci_all),
            "d_range_all": None if self.d_range_all is None else list(self.d_range_all),
            "local_slopes": [s.to_dict() for s in self.local_slopes],
            "per_d": [
                {
                    "d": d,
                    "status": self.d_status[d],
                    "median": json_number(self.medians[d]),
                    "censored": self.censored[d],
                    "excluded": self.excluded[d],
                    "points": [json_number(p) for p in self.samples_to_learn[d]],
                }
                for d in self.ds
            ],
            "notes": list(self.notes),
            "resamples": self.resamples,
            "level": self.level,
            "seed": self.seed,
        }


def _fmt(x: float) -> str:
    return f"{x:.2f}" if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def _check_points(d: Any, n: Any) -> tuple[np.ndarray, np.ndarray]:
    d_arr = np.asarray(d)
    n_arr = np.asarray(n, dtype=np.float64)
    if d_arr.ndim != 1 or n_arr.shape != d_arr.shape or d_arr.size == 0:
        msg = (
            "d and n must be 1-d arrays of one equal, non-zero length, "
            f"got shapes {d_arr.shape} and {n_arr.shape}"
        )
        raise ParameterError(msg)
    if d_arr.dtype.kind not in "iu" and not np.all(np.mod(d_arr.astype(np.float64), 1) == 0):
        msg = "d must hold whole numbers"
        raise ParameterError(msg)
    d_int = d_arr.astype(np.int64)
    if (d_int < 1).any():
        msg = "d must be >= 1"
        raise ParameterError(msg)
    if np.isneginf(n_arr).any():
        msg = "n holds -inf: use +inf for censored points and nan for excluded ones"
        raise ParameterError(msg)
    return d_int, n_arr


@dataclass
class _PerD:
    """Per-``d`` statistics of a fit: medians, status, counts and the usable points."""

    ds: tuple[int, ...]
    medians: dict[int, float] = field(default_factory=dict)
    status: dict[int, str] = field(default_factory=dict)
    censored: dict[int, int] = field(default_factory=dict)
    excluded: dict[int, int] = field(default_factory=dict)
    points: dict[int, tuple[float | None, ...]] = field(default_factory=dict)
    groups: dict[int, np.ndarray] = field(default_factory=dict)
    labels: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def usable(self) -> list[int]:
        """The ``d`` values with status ``"ok"``, increasing."""
        return [dv for dv in self.ds if self.status[dv] == "ok"]


def _per_d_statistics(
    d: np.ndarray,
    n: np.ndarray,
    clusters: np.ndarray | None,
    *,
    min_points: int,
    divide_by_log: bool,
    notes: list[str],
) -> _PerD:
    """The median and status of every ``d`` (censored points as ``+inf``, nan ones excluded)."""
    per = _PerD(tuple(int(v) for v in np.unique(d)))
    for dv in per.ds:
        vals = n[d == dv]
        keep = vals[~np.isnan(vals)]
        if clusters is not None:
            per.labels[dv] = clusters[d == dv][~np.isnan(vals)]
        per.censored[dv] = int(np.isposinf(keep).sum())
        per.excluded[dv] = int(vals.size - keep.size)
        per.points[dv] = tuple(None if math.isinf(p) else float(p) for p in vals[~np.isnan(vals)])
        med = float(np.median(keep)) if keep.size else math.nan
        per.medians[dv] = med
        if divide_by_log and dv == 1:
            per.status[dv] = "too few points"
            notes.append("d=1 left out: log d = 0")
        elif keep.size < min_points:
            per.status[dv] = "too few points"
        elif math.isinf(med):
            per.status[dv] = "censored"
        elif med <= 0:
            per.status[dv] = "non-positive median"
        else:
            per.status[dv] = "ok"
            per.groups[dv] = keep
    return per


def _left_out_notes(per: _PerD, label: str, notes: list[str]) -> None:
    """Say (note and :class:`ScalingWarning`) which ``d`` are left out and which points."""
    ds, status = per.ds, per.status
    left_out = {s: [dv for dv in ds if status[dv] == s] for s in set(status.values()) - {"ok"}}
    for s, which in sorted(left_out.items()):
        text = f"{label}: d = {', '.join(map(str, which))} left out of the fit ({s})"
        if s == "censored":
            text += ": at least half of the points hit the sample budget, raise samples"
        notes.append(text)
        warnings.warn(text, ScalingWarning, stacklevel=4)  # the caller of fit_scaling
    if any(per.excluded.values()):
        total = sum(per.excluded.values())
        notes.append(f"{label}: {total} point(s) excluded (diverged, failed or no threshold)")


def _bootstrap(
    per: _PerD,
    rng: np.random.Generator,
    resamples: int,
    clusters: np.ndarray | None,
    label: str,
    notes: list[str],
) -> list[np.ndarray]:
    """Bootstrap medians, one column per usable ``d``: over replicas, and over whole runs.

    Replicas of one run share a test set and a stopping rule, so they are correlated
    and the replica bootstrap alone is too narrow; with few runs the run bootstrap is
    coarse. Intervals take the hull of the two, never narrower than either.
    """
    usable = per.usable
    boots = [np.empty((resamples, len(usable)))]
    for col, dv in enumerate(usable):
        g = per.groups[dv]
        idx = rng.integers(0, g.size, size=(resamples, g.size))
        boots[0][:, col] = np.median(g[idx], axis=1)
    single = [dv for dv in usable if clusters is not None and np.unique(per.labels[dv]).size < 2]
    if clusters is not None and len(single) < len(usable):
        boots.append(boots[0].copy())
        for col, dv in enumerate(usable):
            runs = np.unique(per.labels[dv])
            if runs.size < 2:
                continue
            sizes = [int((per.labels[dv] == c).sum()) for c in runs]
            table = np.full((runs.size, max(sizes)), np.nan)
            for i, c in enumerate(runs):
                table[i, : sizes[i]] = per.groups[dv][per.labels[dv] == c]
            idx = rng.integers(0, runs.size, size=(resamples, runs.size))
            boots[1][:, col] = np.nanmedian(table[idx].reshape(resamples, -1), axis=1)
    if single:
        notes.append(
            f"{label}: one run at d = {', '.join(map(str, single))}: its interval resamples "
            "replicas, which share a test set, and may be too narrow; add seeds"
        )
    return boots


def _local_slopes(
    usable: Sequence[int],
    logx: np.ndarray,
    logm: np.ndarray,
    hull: Callable[[Callable[[np.ndarray], np.ndarray]], tuple[float, float]],
) -> list[LocalSlope]:
    """The slope between each pair of consecutive usable ``d``, with its interval."""
    local: list[LocalSlope] = []
    for i in range(len(usable) - 1):
        dx = logx[i + 1] - logx[i]

        def local_slope(lb: np.ndarray, i: int = i, dx: float = dx) -> np.ndarray:
            with np.errstate(invalid="ignore"):
                return (lb[:, i + 1] - lb[:, i]) / dx

        local.append(
            LocalSlope(
                usable[i],
                usable[i + 1],
                float((logm[i + 1] - logm[i]) / dx),
                hull(local_slope),
            )
        )
    return local


def _check_fit_options(resamples: int, level: float, min_points: int, min_d_values: int) -> None:
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 10:
        msg = f"resamples must be an integer >= 10, got {resamples!r}"
        raise ParameterError(msg)
    if not 0 < level < 1:
        msg = f"level must be in (0, 1), got {level}"
        raise ParameterError(msg)
    if min_points < 1 or min_d_values < 2:
        msg = "min_points must be >= 1 and min_d_values >= 2"
        raise ParameterError(msg)


def _overall_slopes(
    usable: Sequence[int],
    logx: np.ndarray,
    logm: np.ndarray,
    hull: Callable[[Callable[[np.ndarray], np.ndarray]], tuple[float, float]],
) -> tuple[Any, Any, Any, Any, Any, Any]:
    """Slope and interval over all usable ``d``, and over their upper half (the fit)."""

    def fit(cols: slice) -> tuple[float, tuple[float, float]]:
        slope = float(_slopes_rows(logx[cols], logm[None, cols])[0])
        return slope, hull(lambda lb: _slopes_rows(logx[cols], lb[:, cols]))

    if len(usable) < 2:
        return None, None, None, None, None, None
    slope_all, ci_all = fit(slice(None))
    range_all = (usable[0], usable[-1])
    start = min(len(usable) // 2, len(usable) - 2)
    slope, ci = fit(slice(start, None))
    return slope_all, ci_all, range_all, slope, ci, (usable[start], usable[-1])


def _decide(
    per: _PerD,
    usable: Sequence[int],
    slope: float | None,
    ci: tuple[float, float] | None,
    range_fit: tuple[int, int] | None,
    predicted_exponent: float,
    *,
    min_d_values: int,
    max_ci_width: float,
) -> tuple[VerdictName, str]:
    """The verdict and its reason from the fitted slope and interval (THEORY section 6).

    Inconclusive with too few usable ``d``, a censored ``d`` in or above the fitted
    range, an unbounded or too wide interval; else agree iff the interval contains
    the prediction.

    Examples
    --------
    >>> per = _PerD((8, 16), status={8: "ok", 16: "ok"})
    >>> _decide(per, [8, 16], 1.02, (0.9, 1.1), (8, 16), 1, min_d_values=2, max_ci_width=1.0)
    ('agree', 'slope 1.02 [0.90, 1.10] over d = 8..16 contains the predicted 1')
    """
    if len(usable) < min_d_values:
        reason = (
            f"too few usable d values ({len(usable)} of {len(per.ds)}; need {min_d_values}): "
            "add dimensions or raise the budget"
        )
        return "inconclusive", reason
    assert slope is not None
    assert ci is not None
    assert range_fit is not None
    where = (
        f"slope {_fmt(slope)} [{_fmt(ci[0])}, {_fmt(ci[1])}] "
        f"over d = {range_fit[0]}..{range_fit[1]}"
    )
    late = [dv for dv in per.ds if per.status[dv] == "censored" and dv >= range_fit[0]]
    width = ci[1] - ci[0]
    if late:
        reason = (
            f"{where}, but d = {', '.join(map(str, late))} is censored "
            "(at least half the points hit the budget): raise samples"
        )
        return "inconclusive", reason
    if not math.isfinite(width):
        reason = (
            f"{where}: interval unbounded (in some resamples at least half the points of "
            "a d hit the budget); raise samples or add seeds"
        )
        return "inconclusive", reason
    if width > max_ci_width:
        return (
            "inconclusive",
            f"{where}: interval wider than {max_ci_width:g}; add seeds or replicas",
        )
    if ci[0] - _TOL <= predicted_exponent <= ci[1] + _TOL:
        return "agree", f"{where} contains the predicted {predicted_exponent:g}"
    return "disagree", f"{where} excludes the predicted {predicted_exponent:g}"


def _fit_core(
    d: np.ndarray,
    n: np.ndarray,
    predicted_exponent: float,
    *,
    resamples: int,
    level: float,
    seed: int,
    max_ci_width: float,
    min_points: int,
    min_d_values: int,
    label: str,
    notes: Sequence[str] = (),
    divide_by_log: bool = False,
    clusters: np.ndarray | None = None,
) -> Verdict:
    """The fit of :func:`fit_scaling` and :func:`fit_stages` on checked points.

    Per-``d`` statistics, bootstrap medians, local and overall slopes (the overall
    one over the upper half of the usable ``d``), then the decision (:func:`_decide`).
    """
    _check_fit_options(resamples, level, min_points, min_d_values)
    rng = np.random.default_rng(seed)
    notes = list(notes)
    per = _per_d_statistics(
        d, n, clusters, min_points=min_points, divide_by_log=divide_by_log, notes=notes
    )
    _left_out_notes(per, label, notes)
    usable = per.usable
    logx = np.log(np.array(usable, dtype=np.float64))
    boots = _bootstrap(per, rng, resamples, clusters, label, notes)
    # dividing by log d shifts every log-median by log log d
    shift = np.log(logx) if divide_by_log else np.zeros(len(usable))
    logbs = [_log(b) - shift[None, :] for b in boots]

    def hull(stat: Callable[[np.ndarray], np.ndarray]) -> tuple[float, float]:
        """The union of the percentile intervals of ``stat`` over every bootstrap."""
        ivs = [_interval(stat(lb), level) for lb in logbs]
        return (min(iv[0] for iv in ivs), max(iv[1] for iv in ivs))

    logm = np.log(np.array([per.medians[dv] for dv in usable], dtype=np.float64)) - shift
    local = _local_slopes(usable, logx, logm, hull)
    slope_all, ci_all, range_all, slope, ci, range_fit = _overall_slopes(usable, logx, logm, hull)
    verdict, reason = _decide(
        per,
        usable,
        slope,
        ci,
        range_fit,
        predicted_exponent,
        min_d_values=min_d_values,
        max_ci_width=max_ci_width,
    )
    return Verdict(
        predicted_exponent=float(predicted_exponent),
        slope=slope,
        ci=ci,
        d_range_fit=range_fit,
        verdict=verdict,
        reason=reason,
        local_slopes=tuple(local),
        slope_all=slope_all,
        ci_all=ci_all,
        d_range_all=range_all,
        ds=per.ds,
        medians=per.medians,
        d_status=per.status,
        censored=per.censored,
        excluded=per.excluded,
        samples_to_learn=per.points,
        notes=tuple(notes),
        resamples=resamples,
        level=level,
        seed=seed,
        label=label,
        divided_by_log=divide_by_log,
    )


def fit_scaling(
    d: Any,
    n: Any,
    predicted_exponent: float,
    *,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    max_ci_width: float = 1.0,
    min_points: int = 3,
    min_d_values: int = 3,
    label: str | None = None,
    divide_by_log: bool = False,
    clusters: Any = None,
) -> Verdict:
    """Fit samples-to-learn against ``d`` on log-log axes and judge the predicted exponent.

    Parameters
    ----------
    d
        Per point, its dimension.
    n
        Per point: samples to learn (finite, ``> 0``), ``+inf`` if censored
        (budget hit), ``nan`` if excluded (diverged, failed).
    predicted_exponent
        E.g. ``max(L - 1, 1)`` (:attr:`csqbound.prediction.Prediction.samples_exponent`).
    resamples, level, seed
        Bootstrap resamples (points resampled within each ``d``; whole clusters when
        ``clusters`` is given), the percentile intervals' level, the bootstrap's seed.
    max_ci_width
        A wider interval of the upper fit makes the verdict ``"inconclusive"``.
    clusters
        Per point, the run it comes from (e.g. its seed). The bootstrap then
        resamples runs, not replicas: replicas of one run share a test set and a
        stopping rule and are correlated. :func:`verdict_from_runs` passes the seeds.
    min_points, min_d_values
        Fewer usable points (learned or censored) leave a ``d`` out; fewer usable ``d``
        values make the verdict ``"inconclusive"``.
    label
        What is fitted (shown in notes); default ``"samples to learn"`` (``/ log d``).
    divide_by_log
        Fit ``median / log d`` instead of the median: judges a ``d log d``
        prediction (leap 2) as exponent 1 without the log bending the slope.

    Returns
    -------
    Verdict

    Raises
    ------
    ParameterError
        For arrays of different lengths, ``d < 1``, a non-positive finite ``n``,
        ``-inf``, or bad bootstrap settings.

    Warns
    -----
    ScalingWarning
        For each kind of ``d`` left out of the fit.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = np.repeat([16, 32, 64, 128], 16)
    >>> n = 3.0 * d**2 * rng.lognormal(0, 0.2, d.size)
    >>> v = fit_scaling(d, n, 2)
    >>> v.verdict, v.d_range_fit, bool(v.ci[0] < 2 < v.ci[1])
    ('agree', (64, 128), True)
    >>> [(s.d_lo, s.d_hi, round(s.slope, 1)) for s in v.local_slopes]
    [(16, 32, 2.0), (32, 64, 2.2), (64, 128, 1.9)]
    >>> fit_scaling(d, n, 1).verdict
    'disagree'
    """
    d_int, n_arr = _check_samples(d, n)
    return _fit_core(
        d_int, n_arr, predicted_exponent, resamples=resamples, level=level, seed=seed,
        max_ci_width=max_ci_width, min_points=min_points, min_d_values=min_d_values,
        label=label or ("samples to learn / log d" if divide_by_log else "samples to learn"),
        divide_by_log=divide_by_log, clusters=None if clusters is None else np.asarray(clusters),
    )  # fmt: skip


def _check_samples(d: Any, n: Any) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_check_points`, and every finite samples-to-learn ``> 0``."""
    d_int, n_arr = _check_points(d, n)
    learned = n_arr[np.isfinite(n_arr)]
    if (learned <= 0).any():
        msg = "samples to learn must be > 0 (use +inf for censored points, nan for excluded ones)"
        raise ParameterError(msg)
    return d_int, n_arr


# -- stages ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StageFit:
    """The fit of one predicted stage's duration against its predicted scale.

    Attributes
    ----------
    stage
        0-based index in the leap's witness.
    monomials
        The stage's monomials (names, as in the run's learning times).
    jump
        ``L_j``.
    scale
        ``'d'``, ``'d log d'``, ``'d^2'``, ... (:func:`csqbound.prediction.stage_scale_label`).
    predicted_exponent
        1 for ``d`` and ``d log d`` (the latter fitted as duration / log d), ``L_j - 1`` above.
    divided_by_log
        Whether durations were divided by ``log d`` before the fit (``L_j = 2``).
    fit
        The fit, its interval and verdict (:class:`Verdict`).
    """

    stage: int
    monomials: tuple[str, ...]
    jump: int
    scale: str
    predicted_exponent: int
    divided_by_log: bool
    fit: Verdict

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "stage": self.stage,
            "monomials": list(self.monomials),
            "jump": self.jump,
            "scale": self.scale,
            "predicted_exponent": self.predicted_exponent,
            "divided_by_log": self.divided_by_log,
            "fit": self.fit.to_dict(),
        }


def stage_durations(
    times: Mapping[str, Any], stages: Sequence[Sequence[str]]
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Per point, each stage's duration from its monomials' learning times.

    Parameters
    ----------
    times
        Monomial name -> per point its learning time (``+inf``: not learned,
        ``nan``: excluded point).
    stages
        Monomial names of each stage, in order; names missing from ``times``
        are ignored.

    Returns
    -------
    durations : numpy.ndarray
        Shape ``(stages, points)``. Stage ``j`` ends at the median of its
        monomials' times (``+inf`` if at least half were not learned); its
        duration is that end minus the end of stage ``j - 1`` (0 before the
        first). ``+inf`` when stage ``j`` was not reached (censored); ``nan``
        when the point is excluded, stage ``j - 1`` was not reached while
        ``j`` was (out of order), or the stage has no tracked monomial.
    notes : tuple of str
        Stages without tracked monomials.

    Examples
    --------
    >>> inf = float("inf")
    >>> dur, _ = stage_durations({"x1": [10, 20, 30], "x1*x2*x3": [100, inf, 20]},
    ...                          [["x1"], ["x1*x2*x3"]])
    >>> dur.tolist()
    [[10.0, 20.0, 30.0], [90.0, inf, -10.0]]
    """
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in times.items()}
    sizes = {a.shape for a in arrays.values()}
    if len(sizes) > 1 or any(len(s) != 1 for s in sizes):
        msg = "learning times must be 1-d arrays of one common length"
        raise ParameterError(msg)
    count = next(iter(sizes))[0] if sizes else 0
    out = np.full((len(stages), count), np.nan)
    notes: list[str] = []
    previous = np.zeros(count)
    for j, stage in enumerate(stages):
        names = [m for m in stage if m in arrays]
        if not names:
            notes.append(f"stage {j + 1} ({', '.join(stage)}) has no tracked monomial")
            previous = np.full(count, np.nan)
            continue
        ends = np.median(np.stack([arrays[m] for m in names]), axis=0)
        with np.errstate(invalid="ignore"):
            dur = ends - previous
        dur = np.where(np.isposinf(ends) & ~np.isnan(previous), np.inf, dur)
        dur = np.where(np.isposinf(previous) & np.isfinite(ends), np.nan, dur)
        out[j] = dur
        previous = ends
    return out, tuple(notes)


def fit_stages(
    d: Any,
    times: Mapping[str, Any],
    stages: Sequence[Sequence[str]],
    jumps: Sequence[int],
    *,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    max_ci_width: float = 1.0,
    min_points: int = 3,
    min_d_values: int = 3,
    clusters: Any = None,
) -> tuple[StageFit, ...]:
    """Fit every stage's duration against ``d`` and judge its predicted exponent.

    Parameters
    ----------
    d
        Per point, its dimension.
    times
        Monomial name -> per point its learning time (``+inf`` not learned,
        ``nan`` excluded), e.g. :attr:`Points.times`.
    stages, jumps
        The predicted stages (monomial names) and their jumps, e.g. from :func:`stage_plan`.
    resamples, level, seed, max_ci_width, min_points, min_d_values, clusters
        As in :func:`fit_scaling`.

    Returns
    -------
    tuple of StageFit

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> d = np.repeat([16, 32, 64, 128], 12)
    >>> t1 = d * rng.lognormal(0, 0.1, d.size)
    >>> t2 = t1 + 0.1 * d**2 * rng.lognormal(0, 0.1, d.size)
    >>> fits = fit_stages(d, {"x1": t1, "x1*x2*x3*x4": t2}, [["x1"], ["x1*x2*x3*x4"]], [1, 3])
    >>> [(f.scale, f.predicted_exponent, f.fit.verdict) for f in fits]
    [('d', 1, 'agree'), ('d^2', 2, 'agree')]
    """
    from csqbound.prediction import stage_scale_label

    if len(stages) != len(jumps):
        msg = f"{len(stages)} stages but {len(jumps)} jumps: give one jump per stage"
        raise ParameterError(msg)
    d_int = np.asarray(d)
    durations, notes = stage_durations(times, stages)
    if durations.shape[1] != d_int.size:
        msg = f"{d_int.size} values of d but {durations.shape[1]} learning times per monomial"
        raise ParameterError(msg)
    fits = []
    for j, (stage, jump) in enumerate(zip(stages, jumps, strict=True)):
        d_checked, dur = _check_points(d_int, durations[j])
        by_log = jump == 2
        exponent = max(int(jump) - 1, 1)
        scale = stage_scale_label(int(jump))
        label = f"stage {j + 1} ({scale})" + (" duration / log d" if by_log else " duration")
        fit = _fit_core(
            d_checked,
            dur,
            exponent,
            resamples=resamples,
            level=level,
            seed=seed,
            max_ci_width=max_ci_width,
            min_points=min_points,
            min_d_values=min_d_values,
            label=label,
            notes=[n for n in notes if n.startswith(f"stage {j + 1} ")],
            divide_by_log=by_log,
            clusters=None if clusters is None else np.asarray(clusters),
        )
        fits.append(StageFit(j, tuple(stage), int(jump), scale, exponent, by_log, fit))
    return tuple(fits)


def stage_plan(target: str, domain: str = "boolean") -> tuple[tuple[tuple[str, ...], int], ...]:
    """The predicted stages of a target: monomial names and jump of each (the leap's witness).

    The same cut as :attr:`csqbound.sgd.train.Run.predicted_stages` (the greedy
    witness of :func:`csqbound.leaps.leap`, coordinate leap on both domains).

    Examples
    --------
    >>> stage_plan("x1 + x1*x2*x3")
    ((('x1',), 1), (('x1*x2*x3',), 2))
    """
    from csqbound.expansion import expand
    from csqbound.leaps import leap
    from csqbound.target import Target

    result = leap(expand(Target.coerce(target, domain)))
    return tuple(
        (tuple(str(m) for m in stage), int(jump))
        for stage, jump in zip(result.stages, result.stage_jumps(), strict=True)
    )


# -- from stored runs --------------------------------------------------------------------------
@dataclass(frozen=True)
class Points:
    """Every replica of a group of runs as one point.

    Attributes
    ----------
    d, seed, replica
        Per point (integer arrays).
    n
        Samples to learn: finite (learned), ``+inf`` (budget hit, censored) or
        ``nan`` (excluded: diverged, failed, or no stopping threshold).
    status
        Per point, the replica's status (``"error"`` for a failed run).
    times
        Monomial name -> per point its learning time (``+inf`` not learned, ``nan`` excluded).
    target, domain
        The group's target and domain.
    notes
        Anything odd found while collecting.
    """

    d: np.ndarray
    seed: np.ndarray
    replica: np.ndarray
    n: np.ndarray
    status: tuple[str, ...]
    times: Mapping[str, np.ndarray] = field(hash=False)
    target: str
    domain: str
    notes: tuple[str, ...] = ()


def _group_key(run: Any) -> tuple[str, str, str, str]:
    settings = {k: v for k, v in dict(run.settings).items() if k != "samples"}
    return (run.target, run.domain, json.dumps(settings, sort_keys=True), run.code_version)


def group_runs(runs: Iterable[Any]) -> dict[tuple[str, str, str, str], list[Any]]:
    """Split stored runs into fit groups: same target, domain, code version and settings.

    The sample budget (``samples``) may differ between groups' ``d`` values and
    does not split a group. Keys: ``(target, domain, settings JSON without
    samples, code_version)``.

    Examples
    --------
    >>> from types import SimpleNamespace as R
    >>> runs = [R(target="x1", domain="boolean", settings={"samples": s}, code_version="0")
    ...         for s in (10, 20)]
    >>> len(group_runs(runs))
    1
    """
    groups: dict[tuple[str, str, str, str], list[Any]] = {}
    for run in runs:
        groups.setdefault(_group_key(run), []).append(run)
    return groups


#: The observables a fit can read from a stored run (see :func:`points_from_runs`).
OBSERVABLES: tuple[str, ...] = ("stage_end", "loss_0.2", "loss_0.05", "samples_to_learn")


def _observed(row: Any, observable: str) -> tuple[list[Any] | None, str | None]:
    """Per replica the observable's values of one stored run, or ``None`` and why not."""
    if observable == "samples_to_learn":
        return list(row.samples_to_learn), None
    run = getattr(row, "run", None) or {}
    if observable == "stage_end":
        values = run.get("stage_end")
        why = "it was stored before csqbound recorded stage ends" if values is None else None
        return (None if values is None else list(values)), why
    eps = observable.removeprefix("loss_")
    stop = dict(row.settings).get("stop_loss")
    if stop is not None and float(stop) > float(eps):
        return None, f"it stopped at {stop} Var f, before the loss reached {eps} Var f"
    values = (run.get("loss_times") or {}).get(eps)
    why = "it was stored before csqbound recorded loss times" if values is None else None
    return (None if values is None else list(values)), why


def points_from_runs(runs: Iterable[Any], observable: str = "samples_to_learn") -> Points:
    """The points of one group of stored runs (:class:`~csqbound.experiments.store.StoredRun`).

    ``observable`` says what ``n`` is: ``"samples_to_learn"`` (the loss reaching
    ``stop_loss Var f``), ``"stage_end"`` (the end of the hardest stage,
    :attr:`csqbound.sgd.train.Run.stage_end`), ``"loss_0.2"`` or ``"loss_0.05"``
    (the loss reaching that fraction of ``Var f``). A replica that trained on without
    reaching it is censored (``+inf``); a run that does not hold it is excluded, with a note.

    Raises
    ------
    ParameterError
        For no runs, or runs of several groups (:func:`group_runs` splits them).

    Examples
    --------
    >>> from types import SimpleNamespace as R
    >>> row = R(target="x1", domain="boolean", settings={}, code_version="0", d=8, seed=0,
    ...         status=("ok", "budget_exhausted", "diverged"), samples_to_learn=(40, None, None),
    ...         samples_seen=(40, 100, 7), learning_times={"x1": (32, None, None)})
    >>> p = points_from_runs([row])
    >>> p.n.tolist(), p.times["x1"].tolist()
    ([40.0, inf, nan], [32.0, inf, nan])
    """
    rows = list(runs)
    _check_one_group(rows, observable)
    notes: list[str] = []
    cols = _Columns.of(rows, observable, notes)
    n_arr = np.array(cols.n)
    d_arr = np.array(cols.d, dtype=np.int64)
    no_threshold = sum(
        1 for s, v in zip(cols.status, cols.n, strict=True) if s == "ok" and math.isnan(v)
    )
    if no_threshold and observable == "samples_to_learn":
        notes.append(f"{no_threshold} replica(s) ran without a stop threshold: excluded")
    _budget_notes(rows, d_arr, n_arr, notes)
    first = rows[0]
    return Points(
        d=d_arr,
        seed=np.array(cols.seed, dtype=np.int64),
        replica=np.array(cols.replica, dtype=np.int64),
        n=n_arr,
        status=tuple(cols.status),
        times={k: np.array(v, dtype=np.float64) for k, v in cols.times.items()},
        target=str(first.target),
        domain=str(first.domain),
        notes=tuple(notes),
    )


def _check_one_group(rows: list[Any], observable: str) -> None:
    """Refuse no runs, an unknown observable, runs of several groups."""
    if not rows:
        msg = "no runs to fit: run a sweep first, or check the filters"
        raise ParameterError(msg)
    if observable not in OBSERVABLES:
        msg = f"unknown observable {observable!r}: use one of {', '.join(OBSERVABLES)}"
        raise ParameterError(msg)
    groups = group_runs(rows)
    if len(groups) > 1:
        shown = "; ".join(f"{k[0]} ({k[1]}) {k[2]}" for k in list(groups)[:4])
        msg = f"the runs belong to {len(groups)} groups ({shown}); fit one group at a time"
        raise ParameterError(msg)


@dataclass
class _Columns:
    """Per replica of a group of runs: ``d``, seed, index, ``n``, status, learning times."""

    d: list[int] = field(default_factory=list)
    seed: list[int] = field(default_factory=list)
    replica: list[int] = field(default_factory=list)
    n: list[float] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    times: dict[str, list[float]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: list[Any], observable: str, notes: list[str]) -> _Columns:
        """The columns of ``rows``; a run without ``observable`` is noted and its ``n`` is nan.

        ``n`` is the observable, ``+inf`` when censored (the budget ran out, or a stage
        or loss time not reached), ``nan`` when the replica diverged or the run has none.
        """
        cols = cls()
        names = sorted({name for row in rows for name in row.learning_times})
        cols.times = {name: [] for name in names}
        censor = observable != "samples_to_learn"
        for row in rows:
            values, why = _observed(row, observable)
            if values is None:
                notes.append(f"d={row.d}, seed {row.seed}: no {observable} ({why}): excluded")
            for r, st in enumerate(row.status):
                cols.d.append(int(row.d))
                cols.seed.append(int(row.seed))
                cols.replica.append(r)
                cols.status.append(str(st))
                learned = values[r] if values is not None and r < len(values) else None
                good = st in ("ok", "budget_exhausted") and values is not None
                if not good:
                    cols.n.append(math.nan)
                elif learned is not None:
                    cols.n.append(float(learned))
                elif st == "budget_exhausted" or censor:
                    cols.n.append(math.inf)
                else:
                    cols.n.append(math.nan)  # "ok" without samples_to_learn: no threshold
                for name in names:
                    per = row.learning_times.get(name)
                    value = per[r] if per is not None and r < len(per) else None
                    cols.times[name].append(
                        math.nan if not good else (math.inf if value is None else value)
                    )
        return cols


def _budget_notes(rows: list[Any], d_arr: np.ndarray, n_arr: np.ndarray, notes: list[str]) -> None:
    """Note each ``d`` where a censored replica stopped below a learned one (budgets differ)."""
    for dv in np.unique(d_arr):
        sel = d_arr == dv
        seen = [
            row.samples_seen[r]
            for row in rows
            if row.d == dv
            for r, st in enumerate(row.status)
            if st == "budget_exhausted"
        ]
        learned = n_arr[sel & np.isfinite(n_arr)]
        if seen and learned.size and min(seen) < learned.max():
            notes.append(
                f"d={int(dv)}: a censored replica stopped at {min(seen)} samples, below a learned "
                f"one ({int(learned.max())}): budgets differ, so the median may be off"
            )


def verdict_from_runs(
    runs: Iterable[Any],
    *,
    predicted_exponent: float | None = None,
    observable: str = "samples_to_learn",
    **options: Any,
) -> Verdict:
    """:func:`fit_scaling` on one group of stored runs, against ``max(L - 1, 1)`` by default.

    ``options`` go to :func:`fit_scaling`. ``predicted_exponent`` defaults to
    :attr:`csqbound.prediction.Prediction.samples_exponent` of the runs' target;
    then, when the prediction is ``d log d`` (``L = 2``), ``divide_by_log``
    defaults to ``True``: the medians divided by ``log d`` are judged against
    exponent 1 (at ``d = 8..64`` the log alone adds about 0.3 to a slope).

    Examples
    --------
    >>> from types import SimpleNamespace as R
    >>> rows = [R(target="x1*x2", domain="boolean", settings={}, code_version="0", d=d, seed=0,
    ...           status=("ok",) * 4, samples_to_learn=tuple(int(k * d * math.log(d))
    ...           for k in (9, 10, 11, 12)), samples_seen=(0,) * 4, learning_times={})
    ...         for d in (16, 32, 64, 128)]
    >>> v = verdict_from_runs(rows, resamples=200)      # x1*x2: leap 2, predicted d log d
    >>> v.predicted_exponent, v.label, round(v.slope, 2), v.verdict
    (1.0, 'samples to learn / log d', 1.0, 'agree')
    """
    points = points_from_runs(runs, observable)
    if predicted_exponent is None:
        from csqbound.prediction import predict

        prediction = predict(points.target, points.domain)
        predicted_exponent = prediction.samples_exponent
        options.setdefault("divide_by_log", prediction.samples_label == "d log d")
    options.setdefault("clusters", points.seed)
    verdict = fit_scaling(points.d, points.n, predicted_exponent, **options)
    return replace(verdict, notes=points.notes + verdict.notes)


def stage_fits_from_runs(runs: Iterable[Any], **options: Any) -> tuple[StageFit, ...]:
    """:func:`fit_stages` on one group of stored runs with the stages of :func:`stage_plan`.

    Stages whose monomials were not tracked by the runs are skipped.

    Examples
    --------
    >>> from types import SimpleNamespace as R
    >>> rows = [R(target="x1 + x1*x2*x3", domain="boolean", settings={}, code_version="0",
    ...           d=d, seed=0, status=("ok",) * 5, samples_to_learn=(1,) * 5,
    ...           samples_seen=(1,) * 5,
    ...           learning_times={"x1": (d,) * 5, "x1*x2*x3": tuple(
    ...               d + int(k * d * math.log(d)) for k in (4.8, 4.9, 5, 5.1, 5.2))})
    ...         for d in (16, 32, 64, 128)]
    >>> [(f.scale, f.fit.verdict) for f in stage_fits_from_runs(rows, resamples=200)]
    [('d', 'agree'), ('d log d', 'agree')]
    """
    points = points_from_runs(runs)
    plan = [(names, jump) for names, jump in stage_plan(points.target, points.domain)]
    plan = [(names, jump) for names, jump in plan if any(m in points.times for m in names)]
    options.setdefault("clusters", points.seed)
    return fit_stages(
        points.d,
        points.times,
        [names for names, _ in plan],
        [jump for _, jump in plan],
        **options,
    )
