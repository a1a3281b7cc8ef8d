r"""Plateaus of a loss curve, learning times of monomials, and the predicted stage order.

Pure functions on numpy arrays (THEORY.md section 6). Online SGD on a target of
leap ``L`` passes through plateaus (saddles): the loss stays flat while the
network searches for the next coordinates, then drops when the monomials of
the next stage are fitted. On a log-sample axis:

Segmentation (:func:`segment_loss_curve`)
    Let ``u = log n`` and ``v = log loss``. At every evaluation point the
    local slope ``s = dv/du`` is the least-squares slope of ``v`` against ``u``
    over a window of half-width ``window`` (in ``log n``) around it, which
    smooths the noise of a finite test set. A point is *flat* when
    ``s > -flat_slope`` (the loss falls by less than ``2^flat_slope`` over a
    doubling of ``n``) and *falling* otherwise. Runs of equal labels are then
    cleaned in two passes: a falling run over which the loss falls by less
    than a factor ``min_drop`` is noise on a plateau (relabelled flat), and a
    flat run shorter than ``min_factor`` between two falling runs is a pause
    inside one drop (relabelled falling). A **plateau** is a maximal flat run
    lasting at least a factor ``min_factor`` in samples; a **drop** a maximal
    falling run over which the loss falls by at least ``min_drop``.

    The defaults (``window=0.5, flat_slope=0.15, min_drop=1.2,
    min_factor=2``) were tuned on :func:`csqbound.sgd.train.train` runs with
    its defaults: on ``x1 + x1*x2*x3`` they find plateau, drop (``x1``),
    plateau, drop (``x1*x2*x3``) in 16/32, 26/32 and 30/32 single replicas at
    ``d = 16, 32, 64`` (at ``d = 16`` the ``x1`` drop, a factor 2 spread over
    a decade of samples, often merges into the initial plateau) and in the
    median curve of every run at ``d = 32, 64``; on the staircase
    ``x1 + x1*x2 + x1*x2*x3`` they report a plateau after the first drop in
    1/32, 0/32, 0/32 replicas.

Learning times (:func:`first_crossing`, :func:`learning_times`)
    When the network's coefficient on a monomial first reaches half the
    target's, with the same sign (``c_net * sign(c) >= 0.5 |c|``): found at the
    first evaluation point where it holds, and interpolated linearly in
    ``log n`` between that point and the one before (:func:`crossing_point`), so
    that times are not rounded up to the evaluation grid.

Stage order (:func:`check_stage_order`)
    The greedy witness of the leap cut at jumps ``>= 2`` predicts stages of
    monomials learned together (:func:`csqbound.leaps.leap`). The observed order
    respects it when no monomial of a stage ``j`` is learned later than one of
    a stage ``j' > j``, up to the resolution of the evaluation grid (a ratio
    ``resolution`` between consecutive points); every violation is listed.

References
----------
Abbe, Boix-Adserà, Misiakiewicz. SGD learning on neural networks: leap
complexity and saddle-to-saddle dynamics. COLT 2023 (arXiv 2302.11055).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from csqbound.errors import ParameterError

__all__ = [
    "Segment",
    "StageOrderCheck",
    "StageViolation",
    "check_stage_order",
    "crossing_point",
    "first_crossing",
    "learning_times",
    "local_slopes",
    "median_time",
    "segment_loss_curve",
]


@dataclass(frozen=True)
class Segment:
    """A plateau or a drop of a loss curve.

    Attributes
    ----------
    kind
        ``"plateau"`` or ``"drop"``.
    start, stop
        Sample counts of its first and last evaluation points.
    loss_start, loss_stop
        The loss at those points.

    Examples
    --------
    >>> s = Segment("plateau", 100, 400, 1.0, 0.9)
    >>> s.factor
    4.0
    >>> round(s.slope, 3)
    -0.076
    """

    kind: Literal["plateau", "drop"]
    start: int
    stop: int
    loss_start: float
    loss_stop: float

    @property
    def factor(self) -> float:
        """``stop / start``: its length on the log-sample axis."""
        return self.stop / self.start

    @property
    def slope(self) -> float:
        """Mean ``d log loss / d log n`` over the segment."""
        return math.log(self.loss_stop / self.loss_start) / math.log(self.factor)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form.

        Examples
        --------
        >>> Segment("drop", 10, 20, 1.0, 0.25).to_dict()
        {'kind': 'drop', 'start': 10, 'stop': 20, 'loss_start': 1.0, 'loss_stop': 0.25,
         'factor': 2.0}
        """
        return {
            "kind": self.kind,
            "start": self.start,
            "stop": self.stop,
            "loss_start": self.loss_start,
            "loss_stop": self.loss_stop,
            "factor": self.factor,
        }


def _valid_curve(samples: Any, loss: Any) -> tuple[np.ndarray, np.ndarray]:
    n = np.asarray(samples, dtype=float)
    y = np.asarray(loss, dtype=float)
    if n.ndim != 1 or y.shape != n.shape:
        msg = f"samples and loss must be 1-D of the same length, got {n.shape} and {y.shape}"
        raise ParameterError(msg)
    keep = (n > 0) & np.isfinite(y) & (y > 0)
    return n[keep], y[keep]


def local_slopes(samples: Any, loss: Any, *, window: float = 0.5) -> np.ndarray:
    """Smoothed ``d log loss / d log n`` at every point with ``n > 0`` and finite positive loss.

    Least-squares slope of ``log loss`` against ``log n`` over the points
    within ``window`` of each point on the ``log n`` axis (at least its two
    neighbours).

    Parameters
    ----------
    samples, loss
        1-D arrays of the same length; points with ``n <= 0`` or a loss that is
        not finite and positive are dropped first.
    window
        Half-width in ``log n`` (0.5: the window spans a factor ``e`` in samples).

    Returns
    -------
    numpy.ndarray
        One slope per kept point.

    Examples
    --------
    >>> n = np.array([1, 2, 4, 8, 16.0])
    >>> np.round(local_slopes(n, 1 / n), 6).tolist()
    [-1.0, -1.0, -1.0, -1.0, -1.0]
    """
    n, y = _valid_curve(samples, loss)
    u, v = np.log(n), np.log(y)
    m = len(u)
    out = np.zeros(m)
    if m < 2:
        return out
    for i in range(m):
        lo = int(np.searchsorted(u, u[i] - window, side="left"))
        hi = int(np.searchsorted(u, u[i] + window, side="right"))
        lo, hi = min(lo, max(i - 1, 0)), max(hi, min(i + 2, m))
        uu, vv = u[lo:hi], v[lo:hi]
        du = uu - uu.mean()
        denom = float(du @ du)
        out[i] = float(du @ (vv - vv.mean())) / denom if denom > 0 else 0.0
    return out


def segment_loss_curve(
    samples: Any,
    loss: Any,
    *,
    flat_slope: float = 0.15,
    min_factor: float = 2.0,
    min_drop: float = 1.2,
    window: float = 0.5,
) -> tuple[Segment, ...]:
    """Plateaus and drops of a loss curve on a log-sample axis.

    Parameters
    ----------
    samples
        Evaluation points (sample counts), increasing; points at ``n = 0`` are ignored.
    loss
        The loss at those points (any positive scale; non-finite values are ignored).
    flat_slope
        A point is flat when its smoothed slope ``d log loss / d log n`` is above ``-flat_slope``.
    min_factor
        A plateau must last at least this factor in samples.
    min_drop
        A drop must lower the loss by at least this factor.
    window
        Smoothing half-width in ``log n`` (see :func:`local_slopes`).

    Returns
    -------
    tuple of Segment
        In order of samples.

    Examples
    --------
    A step-shaped curve: flat at 1 until ``n = 100``, then down to 0.01 by ``n = 300``, flat again:

    >>> n = np.unique(np.round(np.logspace(0, 4, 65)))
    >>> loss = np.interp(np.log(n), np.log([100, 300]), [1.0, 0.01])
    >>> [(s.kind, s.start <= 100 <= s.stop or s.stop <= 100) for s in segment_loss_curve(n, loss)]
    [('plateau', True), ('drop', True), ('plateau', False)]
    """
    if min_factor < 1 or min_drop < 1 or flat_slope < 0 or window <= 0:
        msg = "need min_factor >= 1, min_drop >= 1, flat_slope >= 0 and window > 0"
        raise ParameterError(msg)
    n, y = _valid_curve(samples, loss)
    if len(n) < 3:
        return ()
    flat = local_slopes(n, y, window=window) > -flat_slope
    runs = _flat_runs(flat.tolist(), n, y, min_factor=min_factor, min_drop=min_drop)
    segments: list[Segment] = []
    for label, first, last in runs:
        seg = Segment(
            "plateau" if label else "drop",
            int(n[first]),
            int(n[last]),
            float(y[first]),
            float(y[last]),
        )
        if (seg.kind == "plateau" and seg.factor >= min_factor) or (
            seg.kind == "drop" and seg.loss_start >= min_drop * seg.loss_stop
        ):
            segments.append(seg)
    return tuple(segments)


def _merge_runs(items: list[list[Any]]) -> list[list[Any]]:
    """Neighbouring ``[label, first, last]`` runs of equal labels joined into one."""
    out: list[list[Any]] = []
    for item in items:
        if out and out[-1][0] == item[0]:
            out[-1][2] = item[2]
        else:
            out.append(list(item))
    return out


def _flat_runs(
    flat: list[bool], n: np.ndarray, y: np.ndarray, *, min_factor: float, min_drop: float
) -> list[list[Any]]:
    """Runs ``[is flat, first index, last index]`` of the flat labels, cleaned of noise.

    A fall by less than ``min_drop`` is noise on a plateau; then a flat stretch shorter
    than ``min_factor`` in samples, between two falls, is part of the drop.
    """
    runs = _merge_runs([[label, i, i] for i, label in enumerate(flat)])
    for run in runs:
        if not run[0] and y[run[1]] < min_drop * y[run[2]]:
            run[0] = True
    runs = _merge_runs(runs)
    for j in range(1, len(runs) - 1):
        if runs[j][0] and n[runs[j][2]] < min_factor * n[runs[j][1]]:
            runs[j][0] = False
    return _merge_runs(runs)


def crossing_point(n0: float, v0: float, n1: float, v1: float, level: float, *, log: bool) -> int:
    """Where a curve crosses ``level`` between two evaluations, interpolated on a log-``n`` axis.

    ``(n0, v0)`` is the last evaluation before the crossing and ``(n1, v1)`` the
    first one at or past it. The value is interpolated linearly in ``log n``
    (and in ``log v`` when ``log`` is true, for losses), so a learning time is
    not rounded up to the evaluation grid (16 points per decade would otherwise
    quantise a slope over one doubling of ``d`` in steps of about 0.2). Falls
    back to ``n1`` when the two points do not bracket ``level``.

    Examples
    --------
    >>> crossing_point(100, 0.0, 1000, 1.0, 0.5, log=False)   # halfway on a log axis
    316
    >>> crossing_point(100, 1.0, 1000, 0.01, 0.1, log=True)
    316
    """
    if not (n0 > 0 and n1 > n0 and all(map(math.isfinite, (v0, v1, level)))):
        return int(n1)
    if log:
        if min(v0, v1, level) <= 0:
            return int(n1)
        v0, v1, level = math.log(v0), math.log(v1), math.log(level)
    if v0 == v1 or not (min(v0, v1) <= level <= max(v0, v1)):
        return int(n1)
    t = (level - v0) / (v1 - v0)
    return int(round(math.exp(math.log(n0) + t * (math.log(n1) - math.log(n0)))))


def first_crossing(samples: Any, path: Any, target: float, *, fraction: float = 0.5) -> int | None:
    """The sample count at which ``path`` first reaches ``fraction`` of ``target`` (same sign).

    ``path[k] * sign(target) >= fraction * |target|`` first at evaluation ``k``;
    the count is interpolated between evaluations ``k - 1`` and ``k`` on a log
    axis (:func:`crossing_point`). ``None`` if never, or if ``target`` is 0.
    Non-finite values never count.

    Examples
    --------
    >>> first_crossing([0, 10, 20, 40], [0.0, -0.2, -0.6, -1.0], -1.0)   # 10 * 2**0.75
    17
    >>> first_crossing([0, 10], [0.0, 0.4], 1.0) is None
    True
    """
    if target == 0 or not math.isfinite(target):
        return None
    n = np.asarray(samples)
    p = np.asarray(path, dtype=float) * math.copysign(1.0, target)
    level = fraction * abs(target)
    hits = np.flatnonzero(np.isfinite(p) & (p >= level))
    if not hits.size:
        return None
    k = int(hits[0])
    if k == 0:
        return int(n[0])
    return crossing_point(
        float(n[k - 1]), float(p[k - 1]), float(n[k]), float(p[k]), level, log=False
    )


def learning_times(
    samples: Any,
    paths: Mapping[str, Any],
    targets: Mapping[str, float],
    *,
    fraction: float = 0.5,
) -> dict[str, tuple[int | None, ...]]:
    """Per monomial and replica: the first evaluation point where it is half learned.

    Half learned: the coefficient reaches half the target's, with the same sign
    (:func:`first_crossing`).

    Parameters
    ----------
    samples
        Evaluation points, shape ``(T,)``.
    paths
        Monomial name -> coefficient paths, shape ``(R, T)``.
    targets
        Monomial name -> the target's coefficient; monomials with coefficient 0
        (probes) are skipped.
    fraction
        The threshold as a fraction of the target's coefficient.

    Examples
    --------
    >>> t = learning_times([0, 5, 10], {"x1": np.array([[0, 0.6, 1], [0, 0.1, 0.2]])}, {"x1": 1.0})
    >>> t
    {'x1': (5, None)}
    """
    out: dict[str, tuple[int | None, ...]] = {}
    for name, c in targets.items():
        if c == 0 or name not in paths:
            continue
        rows = np.atleast_2d(np.asarray(paths[name], dtype=float))
        out[name] = tuple(first_crossing(samples, row, float(c), fraction=fraction) for row in rows)
    return out


def median_time(times: Sequence[int | None]) -> float | None:
    """The median of per-replica times, ``None`` counting as never (``+inf``).

    The one median csqbound uses for replicas: in the tables, the JSON, :class:`Run`
    and the verdict (:mod:`csqbound.experiments.selection`, ``numpy.median`` with
    censored points as ``+inf``). With an even count it is the midpoint of the two
    middle values; it is ``None`` (never) when a middle value is, that is unless more
    than half the replicas have a time. An integral
    midpoint is returned as an ``int``.

    Examples
    --------
    >>> median_time([10, 30, None, 20])
    25
    >>> median_time([10, 20, 31, 45])
    25.5
    >>> median_time([10, 20, None, None]) is None
    True
    """
    if not times:
        return None
    ordered = sorted((math.inf if t is None else t) for t in times)
    n = len(ordered)
    value = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
    if value == math.inf:
        return None
    return int(value) if float(value).is_integer() else float(value)


@dataclass(frozen=True)
class StageViolation:
    """A monomial of an earlier predicted stage learned later than one of a later stage.

    Attributes
    ----------
    earlier, later
        The monomials (by name): ``earlier`` is predicted in stage
        ``earlier_stage`` < ``later_stage``.
    earlier_stage, later_stage
        0-based stage indices.
    earlier_time, later_time
        Their learning times (``None``: never learned).
    """

    earlier: str
    later: str
    earlier_stage: int
    later_stage: int
    earlier_time: float | None
    later_time: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "earlier": self.earlier,
            "later": self.later,
            "earlier_stage": self.earlier_stage,
            "later_stage": self.later_stage,
            "earlier_time": self.earlier_time,
            "later_time": self.later_time,
        }


@dataclass(frozen=True)
class StageOrderCheck:
    """Whether observed learning times respect the predicted stage order.

    Attributes
    ----------
    respected
        No violations.
    complete
        Every monomial of every stage was learned.
    stages
        The predicted stages (monomial names).
    stage_times
        Per stage: ``(earliest, latest)`` learning time of its monomials
        (``None`` where not learned).
    violations
        Every pair learned out of order.
    resolution
        The grid ratio used as tolerance: ``t_earlier <= resolution * t_later`` is in order.
    """

    respected: bool
    complete: bool
    stages: tuple[tuple[str, ...], ...]
    stage_times: tuple[tuple[float | None, float | None], ...]
    violations: tuple[StageViolation, ...]
    resolution: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "respected": self.respected,
            "complete": self.complete,
            "stages": [list(s) for s in self.stages],
            "stage_times": [list(t) for t in self.stage_times],
            "violations": [v.to_dict() for v in self.violations],
            "resolution": self.resolution,
        }


def check_stage_order(
    times: Mapping[str, float | None],
    stages: Sequence[Sequence[str]],
    *,
    resolution: float = 10 ** (1 / 16),
) -> StageOrderCheck:
    """Compare learning times with the predicted stages.

    A pair ``(m, m')`` with ``m`` in stage ``j`` and ``m'`` in stage ``j' > j``
    is a violation when ``m'`` was learned and ``m`` was not, or was learned
    more than one grid step later: ``t(m) > resolution * t(m')``.

    Parameters
    ----------
    times
        Monomial name -> learning time (``None``: not learned). Monomials absent
        from ``times`` count as not learned.
    stages
        Predicted stages, in order (e.g. ``leap(...).stages`` as names).
    resolution
        Ratio between consecutive evaluation points.

    Examples
    --------
    >>> c = check_stage_order({"x1": 100, "x1*x2*x3": 5000}, [["x1"], ["x1*x2*x3"]])
    >>> c.respected, c.complete
    (True, True)
    >>> c = check_stage_order({"x1": 9000, "x1*x2*x3": 5000}, [["x1"], ["x1*x2*x3"]])
    >>> c.respected, [(v.earlier, v.later) for v in c.violations]
    (False, [('x1', 'x1*x2*x3')])
    """
    if resolution < 1:
        msg = f"resolution must be >= 1 (a ratio of sample counts), got {resolution}"
        raise ParameterError(msg)
    names = tuple(tuple(str(m) for m in stage) for stage in stages)
    violations: list[StageViolation] = []
    stage_times: list[tuple[float | None, float | None]] = []
    complete = True
    for j, stage in enumerate(names):
        ts = [times.get(m) for m in stage]
        learned = [t for t in ts if t is not None]
        complete = complete and len(learned) == len(ts)
        latest = max(learned) if len(learned) == len(ts) and learned else None
        stage_times.append((min(learned) if learned else None, latest))
        for m, t in zip(stage, ts, strict=True):
            for jj in range(j + 1, len(names)):
                for m2 in names[jj]:
                    t2 = times.get(m2)
                    if t2 is None:
                        continue
                    if t is None or t > resolution * t2:
                        violations.append(StageViolation(m, m2, j, jj, t, t2))
    return StageOrderCheck(
        respected=not violations,
        complete=complete,
        stages=names,
        stage_times=tuple(stage_times),
        violations=tuple(violations),
        resolution=float(resolution),
    )
