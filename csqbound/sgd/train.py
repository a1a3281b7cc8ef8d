r"""Online SGD on two-layer networks over an ensemble of replicas (THEORY.md section 6).

:func:`train` runs ``R`` independent replicas of online SGD side by side (the
replica is the leading array axis of every tensor, so a step of all replicas is
one batched matrix product), each on its own stream of fresh samples, and
records on a fixed test set the test loss and the network's coefficient on every
monomial of the target plus a few probe monomials. The result is a
:class:`Run`: curves, per-monomial learning times, plateaus, the stages
predicted by the leap's witness, and whether the observed order respects them.

Online SGD
    Every step draws a fresh batch of ``B`` samples per replica; nothing is
    reused. All counts are in samples per replica (a step is ``B`` samples).

Parametrisation and protocol (see :mod:`csqbound.sgd.network` and :mod:`csqbound.sgd.protocol`)
    ``f(x) = sum_j a_j sigma(<w_j, x> + b_j)`` with ``w_j ~ N(0, I/d)``,
    ``b_j ~ U[-1, 1]``, ``a_j = +-1/N``. With ``eta0 = lr``, the first-layer
    weights and the biases move with step ``eta0 * N / d``: the factor ``N``
    compensates the ``1/N`` scale of ``a``, so a direction ``w_j`` moves by
    ``O(eta0 / d)`` per sample whatever the width (the ``eta = eta0/d`` of THEORY
    section 6). The output layer's step is the mean-field ``eta0 / (N d)`` by
    default (``output_step``), the schedule joint or layer-wise (``schedule``),
    and the default ``step_rule="exponent"`` shrinks both steps by
    ``min(1, (d/16)^{-(k-2)/2})`` for a predicted leap ``k >= 3``
    (``"1/d"`` keeps them). Every run records its resolved protocol in its
    settings, so it is part of a stored run's key. Why the defaults are what they are is
    measured and explained in ``docs/theory.md`` (section 7, "The protocol").

Training loss
    ``loss="squared"`` (the default), ``"absolute"``, ``"huber"`` (``huber_delta``,
    default 1) or ``"logcosh"`` (:mod:`csqbound.sgd.losses`): the backward pass uses
    ``rho'(f(x) - y)`` as the residual, so the loss decides which correlations of
    the data a step can see (Joshi, Misiakiewicz, Srebro, NeurIPS 2024). Whatever
    the training loss, every observable below is measured with the squared test
    error and the coefficients: the loss curve, the stop rule and the verification
    compare runs of different losses on the same scale.

Observables
    Per replica: the learning time of every tracked monomial (the first sample
    count at which its coefficient reaches half the target's, interpolated);
    the *end of the hardest stage* (the stage of the leap's witness with the
    largest jump, the last of equals): the median of its monomials' learning
    times (:attr:`Run.stage_end`, the headline observable of a verification);
    and the sample counts at which the test loss first reaches ``0.2 Var f`` and
    ``0.05 Var f`` (:attr:`Run.loss_times`), which also contain the fitting tail
    after the last stage.

Test set and coefficients
    ``test_size`` inputs from their own seed stream, shared by all replicas.
    The coefficient of the network on a monomial ``alpha`` (in the basis
    :func:`csqbound.expand` uses) is ``E[f_net phi]`` with
    ``phi = He_alpha / alpha!`` (boolean: ``chi_S``). Its plain test-set mean has an
    error shared by every replica (they share the test points), and on small
    prefixes it is large: on 128 points the ``He2`` coefficient of a network fitting
    ``relu(x1)`` read 35% low in every replica alike. The target's coefficient ``c``
    is known exactly, and ``mean(y phi)`` on the same points makes the same kind of
    error, so the estimate is the control variate
    ``mean(f_net phi) + lam (c - mean(y phi))`` with the regression-optimal ``lam``
    (clipped to ``[0, 1]``; :func:`control_variate`): near 0 at initialisation,
    near 1 once the network fits the target.

Evaluation grid and its cost
    Evaluations happen at ``n = 0``, then at sample counts spaced
    geometrically, ``evals_per_decade`` per decade, rounded to whole steps, and
    at the end. Evaluating one test point costs about a third of training on
    one sample, so the full test set at every point of a geometric grid would
    cost more than the training itself until ``n`` is in the hundreds of
    thousands. The evaluation at ``n`` therefore uses the first ``T_n`` points
    of the (fixed) test set, ``T_n = min(test_size, max(128, 2^ceil(log2(n/32))))``
    (``Run.test_points``): nested prefixes, so successive estimates share
    their test points and their noise does not masquerade as movement. The
    time spent evaluating is measured (``Run.eval_time``): on one core it was
    4-11% of the wall time for runs of 0.05 s and more, and up to ~20% only for
    runs of a few hundred steps (about 10 ms), where the fixed cost of an
    evaluation dominates.

Stopping and status
    At the first evaluation where a replica's test loss is at most
    ``stop_loss * Var f`` it gets status ``"ok"`` and its ``samples_to_learn``
    (interpolated); it stops (is frozen, its ``samples_seen`` stops) once, in
    addition, every monomial of the hardest stage has reached half its
    coefficient, so the headline observable is never cut off by the stop. A
    replica whose parameters become NaN or infinite (checked after every chunk of
    steps and before every evaluation) is frozen with status ``"diverged"``; the
    others go on. Replicas that reach the sample budget before the loss threshold
    are ``"budget_exhausted"`` (``"ok"`` when ``stop_loss`` is ``None``: training
    to the budget was asked for).

Determinism
    All random numbers come from host numpy generators with fixed spawn keys
    (:func:`csqbound.sgd.backend.seed_sequences`), drawn in chunks of many
    steps; the same seed and backend give the same numbers, bitwise on numpy.

Blocks of steps
    Steps go in blocks of :data:`BLOCK_ROWS` samples per replica
    (:func:`csqbound.sgd.network.sgd_block`: the first layer is read and
    updated once per block, through the block's Gram matrix), cut at the end
    of a chunk of inputs and at every evaluation, so a block never straddles
    an observation. It is the same SGD as one
    :func:`~csqbound.sgd.network.sgd_step` per step up to rounding, and each
    path is deterministic; ``BLOCK_ROWS = 1`` is the step-by-step reference
    (the tests check that the two agree).
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from csqbound.display import html_summary, short_repr, to_dataframe
from csqbound.errors import CsqboundError, ParameterError
from csqbound.monomial import Domain, Monomial
from csqbound.progress import as_callback, with_progress
from csqbound.sgd.backend import (
    Backend,
    HostThreads,
    asarray,
    check_dtype,
    get_backend,
    sample_inputs,
    seed_sequences,
    to_numpy,
)
from csqbound.sgd.footprint import BLOCK_ROWS, CHUNK_NUMBERS, EVAL_BLOCK, check_run_size
from csqbound.sgd.losses import Loss, check_loss, check_loss_parameter
from csqbound.sgd.network import (
    Activation,
    Params,
    check_activation,
    init_params,
    sgd_block,
    sgd_step,
    sigma,
)
from csqbound.sgd.plateaus import (
    Segment,
    StageOrderCheck,
    check_stage_order,
    crossing_point,
    learning_times,
    median_time,
    segment_loss_curve,
)
from csqbound.sgd.protocol import (
    OutputStep,
    Protocol,
    Schedule,
    StepRule,
    check_output_step,
    check_schedule,
    check_step_rule,
    resolve_protocol,
)

__all__ = [
    "Run",
    "Status",
    "basis_values",
    "choose_probes",
    "control_variate",
    "eval_grid",
    "hardest_stage",
    "loss_crossings",
    "stage_end",
    "train",
]

Status = Literal["ok", "diverged", "budget_exhausted"]
Progress = Callable[[int, int, float], None]

#: Smallest test prefix used at an evaluation.
MIN_TEST_POINTS = 128
#: The prefix at ``n`` samples has about ``n / TEST_RATIO`` points (rounded up to a power of 2).
TEST_RATIO = 32
#: At most this many target monomials are tracked (the heaviest ones) ...
MAX_TRACKED = 32
#: ... and only those carrying at least this fraction of ``Var f``. A monomial of
#: weight ``w`` whose coefficient is below half the target's leaves a loss of at
#: least ``w / 4``, so at the stop (``0.05 Var f``) every monomial above ``0.2 Var f``
#: must have been learned, while a much lighter one need not be, and its learning
#: time drowns in the noise of the test set (``relu(x1)``'s ``He8``, 0.3% of
#: ``Var f``, "crossed" half its coefficient at random times). 2% keeps every
#: monomial of THEORY's examples and the leading Hermite terms of non-polynomial
#: targets.
MIN_WEIGHT = 0.02
#: ``eta0`` when ``lr`` is not given, per domain. Gaussian data are heavy-tailed
#: (``He3(x1)`` reaches 50 at ``x1 = 4``) and diverge at the boolean value.
DEFAULT_LR: Mapping[str, float] = {"boolean": 0.5, "gaussian": 0.1}
#: The loss thresholds (fractions of ``Var f``) whose first crossings every run reports.
LOSS_EPSILONS: tuple[float, ...] = (0.2, 0.05)
#: A layer-wise readout fits its output layer on at least this many points per hidden unit.
READOUT_PER_UNIT = 8
#: Ridge of the layer-wise readout, relative to the mean feature energy.
READOUT_RIDGE = 1e-6


@dataclass(frozen=True, eq=False)
class Run:
    """The record of one :func:`train` call.

    Attributes
    ----------
    target
        The target as text.
    domain
        ``"boolean"`` or ``"gaussian"``.
    settings
        Every setting of the call (JSON-ready).
    seed
        The integer seed.
    backend
        The backend's name.
    status
        Per replica: ``"ok"``, ``"diverged"`` or ``"budget_exhausted"``.
    samples_seen
        Per replica: samples trained on (stops when the replica stops).
    diverged_at
        Per replica: samples seen when divergence was caught, or ``None``.
    samples_to_learn
        Per replica: where the test loss first reaches ``stop_loss * Var f``,
        interpolated (log-log) between the last evaluation above it and the first
        at or below it, at which the replica stopped
        (:func:`~csqbound.sgd.plateaus.crossing_point`; ``None``: not reached, or
        ``stop_loss`` is ``None``).
    wall_time
        Seconds for the whole call.
    eval_time
        Seconds spent evaluating on the test set (included in ``wall_time``).
    eval_samples
        Evaluation points (samples per replica), shape ``(E,)``.
    test_points
        Test points used at each evaluation, shape ``(E,)``.
    loss
        Raw test mean squared error (whatever the training loss), shape ``(R, E)``;
        after a replica stops,
        its last value is carried forward; ``nan`` after it diverged.
    var_f
        ``Var f`` of the target (the loss of the best constant predictor).
    coefficients
        Monomial name -> coefficient paths, shape ``(R, E)`` (target monomials
        first, then probes).
    target_coefficients
        Monomial name -> the target's coefficient (0 for probes).
    probes
        Names of the probe monomials.
    learning_times
        Target monomial name -> per replica the first evaluation point where its
        coefficient reached half the target's (``None``: never).
    plateaus
        Per replica: plateaus and drops of its loss curve
        (:func:`csqbound.sgd.plateaus.segment_loss_curve`).
    predicted_stages
        The witness of the leap that predicts SGD under the run's loss, cut into
        stages (monomial names; heaviest tracked only): the CSQ leap's for the
        squared loss, the DLQ leap's for another loss on boolean data
        (:meth:`csqbound.dlq.DLQResult.monomial_stages`).
    leap
        That leap (:func:`csqbound.prediction.loss_leap`; ``None`` if it could not
        be computed).
    grid_ratio
        Ratio between neighbouring evaluation points.
    stage_jumps
        The jump of each predicted stage.
    hardest_stage
        Index of the stage with the largest jump (the last of equals), or ``None``.
    stage_end
        Per replica: the end of the hardest stage, the median of its monomials'
        learning times (``None``: not reached).
    loss_times
        ``"0.2"`` and ``"0.05"`` -> per replica the first sample count (interpolated)
        at which the test loss reached that fraction of ``Var f`` (``None``: not reached).
    """

    target: str
    domain: Domain
    settings: Mapping[str, Any]
    seed: int
    backend: str
    status: tuple[Status, ...]
    samples_seen: tuple[int, ...]
    diverged_at: tuple[int | None, ...]
    samples_to_learn: tuple[int | None, ...]
    wall_time: float
    eval_time: float
    eval_samples: np.ndarray
    test_points: np.ndarray
    loss: np.ndarray
    var_f: float
    coefficients: Mapping[str, np.ndarray]
    target_coefficients: Mapping[str, float]
    probes: tuple[str, ...]
    learning_times: Mapping[str, tuple[int | None, ...]]
    plateaus: tuple[tuple[Segment, ...], ...]
    predicted_stages: tuple[tuple[str, ...], ...]
    leap: int | None = None
    grid_ratio: float = field(default=10 ** (1 / 16))
    stage_jumps: tuple[int, ...] = ()
    hardest_stage: int | None = None
    stage_end: tuple[int | None, ...] = ()
    loss_times: Mapping[str, tuple[int | None, ...]] = field(default_factory=dict)

    @property
    def replicas(self) -> int:
        """``R``."""
        return len(self.status)

    @property
    def relative_loss(self) -> np.ndarray:
        """``loss / Var f``, shape ``(R, E)``."""
        return self.loss / self.var_f

    def median_loss(self) -> np.ndarray:
        """Median over the replicas that did not diverge of the relative loss, shape ``(E,)``."""
        rel = self.relative_loss
        keep = [i for i, s in enumerate(self.status) if s != "diverged"]
        if not keep:
            return np.full(rel.shape[1], np.nan)
        return np.median(rel[keep], axis=0)

    def median_learning_times(self) -> dict[str, float | None]:
        """Target monomial -> median over replicas of its learning time.

        :func:`~csqbound.sgd.plateaus.median_time`: never-learned counts as ``+inf``,
        ``None`` unless more than half the replicas learned it.
        """
        return {name: median_time(times) for name, times in self.learning_times.items()}

    def median_samples_to_learn(self) -> float | None:
        """Median over replicas of ``samples_to_learn`` (``plateaus.median_time``).

        The one median of the tables, the JSON and the verdict: not reached counts as
        ``+inf``, so it is ``None`` unless more than half the replicas reached it.
        """
        return median_time(self.samples_to_learn)

    def stage_order_check(self) -> StageOrderCheck:
        """Compare the median learning times with :attr:`predicted_stages`."""
        return check_stage_order(
            self.median_learning_times(), self.predicted_stages, resolution=self.grid_ratio
        )

    def median_plateaus(self) -> tuple[Segment, ...]:
        """Plateaus and drops of the median relative loss curve."""
        return segment_loss_curve(self.eval_samples, self.median_loss())

    def _headline(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for st in self.status:
            counts[st] = counts.get(st, 0) + 1
        return {
            "target": self.target,
            "domain": self.domain,
            "d": self.settings.get("d"),
            "loss": self.settings.get("loss", "squared"),
            "replicas": self.replicas,
            "status": counts,
            "median_stage_end": median_time(self.stage_end) if self.stage_end else None,
            "median_samples_to_learn": self.median_samples_to_learn(),
            "wall_time": round(self.wall_time, 3),
        }

    def __repr__(self) -> str:
        """One line: the headline fields (the arrays are in :meth:`to_dict`)."""
        return short_repr("Run", **self._headline())

    def _repr_html_(self) -> str:
        """A compact table for Jupyter."""
        return html_summary(f"csqbound Run of {self.target}", self._headline().items())

    def to_dataframe(self) -> Any:
        """One row per replica: status, samples seen, stage end, loss times, samples to learn.

        Needs pandas (``pip install 'csqbound[pandas]'``).

        Examples
        --------
        >>> run = train("x1", d=8, replicas=2, samples=4000)  # doctest: +SKIP
        >>> run.to_dataframe().columns[:4].tolist()  # doctest: +SKIP
        ['target', 'd', 'seed', 'replica']
        """
        rows = []
        for r in range(self.replicas):
            rows.append(
                {
                    "target": self.target,
                    "d": self.settings.get("d"),
                    "seed": self.seed,
                    "replica": r,
                    "status": self.status[r],
                    "samples_seen": self.samples_seen[r],
                    "stage_end": self.stage_end[r] if self.stage_end else None,
                    **{f"loss_{k}": v[r] for k, v in self.loss_times.items()},
                    "samples_to_learn": self.samples_to_learn[r],
                    "diverged_at": self.diverged_at[r],
                }
            )
        columns = list(rows[0]) if rows else ["target", "d", "seed", "replica"]
        return to_dataframe(rows, columns)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no per-evaluation arrays except the median loss curve).

        Keys: target, domain, settings, seed, backend, status, samples_seen,
        diverged_at, samples_to_learn, median_samples_to_learn, wall_time,
        eval_time, var_f, target_coefficients, probes, learning_times (medians),
        learning_times_per_replica, plateaus (per replica), predicted_stages,
        leap, stage_jumps, hardest_stage, stage_end, loss_times, stage_order_check,
        eval_samples, median_relative_loss.
        """
        return {
            "target": self.target,
            "domain": self.domain,
            "settings": dict(self.settings),
            "seed": self.seed,
            "backend": self.backend,
            "status": list(self.status),
            "samples_seen": list(self.samples_seen),
            "diverged_at": list(self.diverged_at),
            "samples_to_learn": list(self.samples_to_learn),
            "median_samples_to_learn": self.median_samples_to_learn(),
            "wall_time": self.wall_time,
            "eval_time": self.eval_time,
            "var_f": self.var_f,
            "target_coefficients": dict(self.target_coefficients),
            "probes": list(self.probes),
            "learning_times": self.median_learning_times(),
            "learning_times_per_replica": {k: list(v) for k, v in self.learning_times.items()},
            "plateaus": [[s.to_dict() for s in segs] for segs in self.plateaus],
            "predicted_stages": [list(s) for s in self.predicted_stages],
            "leap": self.leap,
            "stage_jumps": list(self.stage_jumps),
            "hardest_stage": self.hardest_stage,
            "stage_end": list(self.stage_end),
            "loss_times": {k: list(v) for k, v in self.loss_times.items()},
            "stage_order_check": self.stage_order_check().to_dict(),
            "eval_samples": [int(n) for n in self.eval_samples],
            "median_relative_loss": [
                None if not math.isfinite(v) else float(v) for v in self.median_loss()
            ],
        }


# -- pure helpers ---------------------------------------------------------------------
def eval_grid(steps: int, batch: int, per_decade: int) -> np.ndarray:
    """Evaluation points in steps: 0, geometric from one step (``per_decade`` per decade), the last.

    Parameters
    ----------
    steps
        Total steps.
    batch
        Samples per step.
    per_decade
        Points per decade of samples.

    Returns
    -------
    numpy.ndarray
        Increasing distinct step counts (multiply by ``batch`` for samples).

    Examples
    --------
    >>> eval_grid(100, 10, 4).tolist()
    [0, 1, 2, 3, 6, 10, 18, 32, 56, 100]
    """
    if steps < 1 or batch < 1 or per_decade < 1:
        msg = "steps, batch and per_decade must be >= 1"
        raise ParameterError(msg)
    total = steps * batch
    k = np.arange(0, int(math.ceil(per_decade * math.log10(total / batch))) + 1)
    points = np.round(10.0 ** (k / per_decade)).astype(np.int64)
    points = points[(points >= 1) & (points <= steps)]
    return np.unique(np.concatenate([[0], points, [steps]]))


def _test_prefix(samples: int, test_size: int) -> int:
    want = max(MIN_TEST_POINTS, 1 << max(0, math.ceil(math.log2(max(samples, 1) / TEST_RATIO))))
    return min(test_size, want)


def basis_values(X: np.ndarray, monomials: Sequence[Monomial], domain: str) -> np.ndarray:
    """``He_alpha(x) / alpha!`` (gaussian) or ``chi_S(x)`` (boolean) on the rows of ``X``.

    Parameters
    ----------
    X
        Host inputs, shape ``(n, d)``.
    monomials
        The monomials (coordinates ``<= d``).
    domain
        ``"boolean"`` or ``"gaussian"``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, len(monomials))``, float64: the mean of ``f * column`` is the
        coefficient of ``f`` on that monomial in the basis of :func:`csqbound.expand`.

    Examples
    --------
    >>> X = np.array([[1.0, 2.0], [-1.0, 0.5]])
    >>> basis_values(X, [Monomial.from_mapping({1: 1, 2: 2})], "gaussian").ravel().tolist()
    [1.5, 0.375]
    """
    from numpy.polynomial.hermite_e import hermeval

    Xh = np.asarray(X, dtype=np.float64)
    out = np.ones((Xh.shape[0], len(monomials)))
    for col, mono in enumerate(monomials):
        for coordinate, degree in mono.powers:
            x = Xh[:, coordinate - 1]
            if domain == "boolean" or degree == 1:
                out[:, col] *= x
            else:
                out[:, col] *= hermeval(x, [0.0] * degree + [1.0]) / math.factorial(degree)
    return out


def choose_probes(
    support: Sequence[Monomial],
    variables: int,
    d: int,
    domain: str,
    count: int,
    rng: np.random.Generator,
) -> tuple[Monomial, ...]:
    """Random degree-1 and degree-2 monomials not in the support, to watch as controls.

    Half of them (rounded up) on coordinates ``1..P`` (the target's variables)
    when such monomials exist, the rest on coordinates ``P+1..d``; gaussian
    probes include ``He2(x_i)``. Fewer are returned when there are not enough.

    Examples
    --------
    >>> sup = [Monomial.from_set({1}), Monomial.from_set({1, 2, 3})]
    >>> probes = choose_probes(sup, 3, 10, "boolean", 4, np.random.default_rng(0))
    >>> len(probes), all(p not in sup and p.degree <= 2 for p in probes)
    (4, True)
    >>> sum(p.support <= {1, 2, 3} for p in probes)
    2
    """
    taken = set(support)
    chosen: list[Monomial] = []
    inside = list(range(1, variables + 1))
    outside = list(range(variables + 1, d + 1))
    chosen += _draw_probes(inside, (count + 1) // 2, taken, domain, rng)
    chosen += _draw_probes(outside, count - len(chosen), taken, domain, rng)
    chosen += _draw_probes(inside, count - len(chosen), taken, domain, rng)
    return tuple(chosen)


def _draw_probes(
    pool: Sequence[int], how_many: int, taken: set[Monomial], domain: str, rng: np.random.Generator
) -> list[Monomial]:
    """Up to ``how_many`` new random probes on the coordinates ``pool`` (added to ``taken``)."""
    drawn: list[Monomial] = []
    if not pool or how_many <= 0:
        return drawn
    for attempt in range(50 * how_many):
        degree = 1 + attempt % 2
        if degree == 2 and domain == "gaussian" and rng.random() < 1 / 3:
            mono = Monomial.from_mapping({int(rng.choice(pool)): 2})
        elif degree == 2 and len(pool) >= 2:
            i, j = rng.choice(pool, size=2, replace=False)
            mono = Monomial.from_set({int(i), int(j)})
        else:
            mono = Monomial.from_set({int(rng.choice(pool))})
        if mono not in taken:
            taken.add(mono)
            drawn.append(mono)
        if len(drawn) >= how_many:
            break
    return drawn


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        msg = f"{name} must be an integer, got {value!r}"
        raise ParameterError(msg)
    if int(value) < minimum:
        msg = f"{name} must be >= {minimum}, got {value}"
        raise ParameterError(msg)
    return int(value)


def _check_float(name: str, value: object, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        msg = f"{name} must be a number, got {value!r}"
        raise ParameterError(msg)
    x = float(value)
    if not math.isfinite(x) or x < 0 or (positive and x == 0):
        bound = "> 0" if positive else ">= 0"
        msg = f"{name} must be finite and {bound}, got {value}"
        raise ParameterError(msg)
    return x


# -- the trainer ------------------------------------------------------------------------
def hardest_stage(jumps: Sequence[int]) -> int | None:
    """The index of the stage with the largest jump (the last of equals); ``None`` if none.

    Examples
    --------
    >>> hardest_stage([1, 2]), hardest_stage([2, 1, 2]), hardest_stage([])
    (1, 2, None)
    """
    if not jumps:
        return None
    top = max(jumps)
    return max(i for i, j in enumerate(jumps) if j == top)


def stage_end(
    times: Mapping[str, Sequence[int | None]], stage: Sequence[str], replicas: int
) -> tuple[int | None, ...]:
    """Per replica, the median over ``stage``'s monomials of their learning times.

    ``None`` (censored) where that median is not reached: at least half the
    stage's monomials unlearned (with an even count, the upper middle one).

    Examples
    --------
    >>> stage_end({"x1": (10, 30), "x2": (20, None)}, ["x1", "x2"], 2)
    (15, None)
    """
    names = [m for m in stage if m in times]
    if not names:
        return (None,) * replicas
    table = np.array(
        [[math.inf if t is None else float(t) for t in times[m]] for m in names], dtype=np.float64
    )
    ends = np.median(table, axis=0)
    return tuple(int(round(e)) if math.isfinite(e) else None for e in ends)


def loss_crossings(
    samples: np.ndarray, loss: np.ndarray, level: float, seen: Sequence[int]
) -> tuple[int | None, ...]:
    """Per replica, where the loss first reaches ``level`` (interpolated on log-log axes).

    Only evaluations up to the replica's ``seen`` samples count; ``None``: not reached.

    Examples
    --------
    >>> loss_crossings(np.array([0, 10, 100]), np.array([[1.0, 0.5, 0.05]]), 0.5, [100])
    (10,)
    """
    out: list[int | None] = []
    for r, row in enumerate(np.atleast_2d(loss)):
        ok = np.flatnonzero((samples <= seen[r]) & np.isfinite(row) & (row <= level))
        if not ok.size:
            out.append(None)
        elif ok[0] == 0:
            out.append(int(samples[0]))
        else:
            k = int(ok[0])
            out.append(
                crossing_point(
                    float(samples[k - 1]),
                    float(row[k - 1]),
                    float(samples[k]),
                    float(row[k]),
                    level,
                    log=True,
                )
            )
    return tuple(out)


@dataclass(frozen=True)
class _Config:
    """The validated scalar settings of one :func:`train` call."""

    d: int
    width: int
    replicas: int
    batch: int
    samples: int
    eta0: float | None
    stop: float | None
    activation: Activation
    dtype: str
    seed: int
    test_size: int
    evals_per_decade: int
    schedule: Schedule
    output_step: OutputStep
    step_rule: StepRule
    loss: Loss = "squared"
    delta: float | None = None

    @classmethod
    def check(cls, **kw: Any) -> _Config:
        """Validate every setting eagerly, before any work (:class:`ParameterError`)."""
        ints = {"d": 1, "width": 1, "replicas": 1, "batch": 1, "samples": 1, "test_size": 1}
        values: dict[str, Any] = {
            name: _check_int(name, kw[name], low) for name, low in ints.items()
        }
        values["evals_per_decade"] = _check_int("evals_per_decade", kw["evals_per_decade"], 1)
        lr, stop = kw["lr"], kw["stop_loss"]
        values["eta0"] = None if lr is None else _check_float("lr", lr, positive=True)
        values["stop"] = None if stop is None else _check_float("stop_loss", stop, positive=False)
        if values["samples"] < values["batch"]:
            msg = (
                f"samples={values['samples']} is less than one batch ({values['batch']}): "
                "raise samples or lower batch"
            )
            raise ParameterError(msg)
        loss = check_loss(kw["loss"])
        delta = check_loss_parameter(loss, kw["huber_delta"])
        schedule = check_schedule(kw["schedule"])
        if loss != "squared" and schedule == "layerwise":
            msg = (
                f"schedule='layerwise' fits its output layer by least squares, so it trains "
                f"the squared loss only: use schedule='joint' with loss={loss!r}"
            )
            raise ParameterError(msg)
        seed = kw["seed"]
        if isinstance(seed, np.random.Generator):
            seed = int(seed.integers(0, 2**63))
        return cls(
            **values,
            activation=check_activation(kw["activation"]),
            dtype=check_dtype(kw["dtype"]),
            seed=_check_int("seed", seed, 0),
            schedule=schedule,
            output_step=check_output_step(kw["output_step"]),
            step_rule=check_step_rule(kw["step_rule"]),
            loss=loss,
            delta=delta,
        )


@dataclass(frozen=True)
class _Watched:
    """What a run tracks: the target's heavy monomials, then the probes, and the stages."""

    monomials: tuple[Monomial, ...]
    probes: tuple[Monomial, ...]
    target_coefs: Mapping[str, float]
    exact: np.ndarray
    stages: tuple[tuple[str, ...], ...]
    stage_jumps: tuple[int, ...]
    leap: int

    @property
    def names(self) -> tuple[str, ...]:
        """The names of every watched monomial."""
        return tuple(str(m) for m in self.monomials)


def _probe_monomials(
    probes: int | Sequence[object],
    expansion: Any,
    support: Sequence[Monomial],
    d: int,
    variables: int,
    rng: np.random.Generator,
) -> tuple[Monomial, ...]:
    """The probes: a count drawn by :func:`choose_probes`, or monomials given by the caller."""
    dom = expansion.domain
    if isinstance(probes, numbers.Integral) and not isinstance(probes, bool):
        count = _check_int("probes", probes, 0)
        full = [m for m in expansion.support if m.powers]
        return choose_probes(full, variables, d, dom, count, rng)
    if not isinstance(probes, Sequence) or isinstance(probes, str | bytes):
        msg = f"probes must be a count or a list of monomials, got {probes!r}"
        raise ParameterError(msg)
    given = tuple(Monomial.coerce(p, dom) for p in probes)
    for p in given:
        if p.powers and p.powers[-1][0] > d:
            msg = f"probe {p} uses a coordinate beyond d={d}"
            raise ParameterError(msg)
    given = tuple(p for p in dict.fromkeys(given) if p not in set(support))
    untracked = [str(p) for p in given if p in expansion.coefficients]
    if untracked:
        msg = (
            f"probe(s) {', '.join(untracked)} are monomials of the target (too light to be "
            "tracked): probes must lie outside the target's support"
        )
        raise ParameterError(msg)
    return given


def _watch(
    expansion: Any,
    var_f: float,
    d: int,
    variables: int,
    probes: int | Sequence[object],
    rng: np.random.Generator,
    loss: str = "squared",
) -> _Watched:
    """The monomials a run tracks (at most :data:`MAX_TRACKED`, above :data:`MIN_WEIGHT`),
    with the stages and the leap that predict SGD under ``loss`` (:func:`_loss_stages`)."""
    floor = MIN_WEIGHT * var_f
    support = [m for m in expansion.support if m.powers and float(expansion.weight(m)) >= floor]
    if len(support) > MAX_TRACKED:
        heaviest = set(sorted(support, key=lambda m: -float(expansion.weight(m)))[:MAX_TRACKED])
        support = [m for m in support if m in heaviest]
    probe_monos = _probe_monomials(probes, expansion, support, d, variables, rng)
    watched = (*support, *probe_monos)
    coefs = {str(m): float(expansion.coefficients[m]) for m in support}
    coefs.update({str(p): 0.0 for p in probe_monos})
    tracked = {str(m) for m in support}
    stages, leap = _loss_stages(expansion, loss)
    pairs = [(tuple(str(m) for m in stage if str(m) in tracked), jump) for stage, jump in stages]
    pairs = [(names, jump) for names, jump in pairs if names]
    return _Watched(
        monomials=watched,
        probes=probe_monos,
        target_coefs=coefs,
        exact=np.array([float(expansion.coefficients.get(m, 0.0)) for m in watched]),
        stages=tuple(names for names, _ in pairs),
        stage_jumps=tuple(jump for _, jump in pairs),
        leap=leap,
    )


def _loss_stages(expansion: Any, loss: str) -> tuple[list[tuple[tuple[Monomial, ...], int]], int]:
    """The predicted stages (monomials, jump) and the leap of SGD under ``loss``.

    The squared loss (and every loss on gaussian data, where csqbound has no DLQ
    leap: :func:`csqbound.prediction.loss_leap`) follows the CSQ leap's witness;
    another loss on boolean data follows the witness of its DLQ leap
    (:meth:`csqbound.dlq.DLQResult.monomial_stages`).
    """
    if loss == "squared" or expansion.domain != "boolean":
        from csqbound.leaps import leap as leap_of

        result = leap_of(expansion)
        stages = list(zip(result.stages, result.stage_jumps(), strict=True))
        return [(tuple(ms), int(j)) for ms, j in stages], int(result.leap)
    from csqbound.dlq import dlq

    try:
        walk = dlq(expansion, loss)
    except CsqboundError as exc:
        msg = (
            f"a run under the {loss} loss tracks the stages of that loss's DLQ leap, which "
            f"failed: {exc}; train it with loss='squared' (--loss squared)"
        )
        raise ParameterError(msg) from exc
    support = [m for m in expansion.support if m.powers]
    return list(walk.monomial_stages(support)), int(walk.leap)


def _predicted_exponent(tgt: Any, loss: str = "squared") -> int:
    """The leap the step rule scales with: the leap that predicts SGD under ``loss``.

    :func:`csqbound.prediction.loss_leap`: the CSQ leap (``leap`` boolean, ``iso_leap``
    gaussian) for the squared loss, the DLQ leap of another loss on boolean data.
    """
    from csqbound.prediction import loss_leap

    try:
        return loss_leap(tgt, tgt.domain, loss)
    except CsqboundError as exc:
        msg = (
            f"step_rule='exponent' (the default) needs the target's predicted leap, which "
            f"failed: {exc}; pass step_rule='1/d' (--step-rule 1/d) to train it at step 1/d"
        )
        raise ParameterError(msg) from exc


class _TestSet:
    """The fixed test set of a run, its coefficient estimates, and the layer-wise readout sample."""

    def __init__(
        self, tgt: Any, watched: _Watched, cfg: _Config, plan: Any, be: Backend, readout: bool
    ) -> None:
        dom = tgt.domain
        X = sample_inputs([plan.test], 1, cfg.test_size, cfg.d, dom, "float64")[0, 0]
        y = np.asarray(tgt.evaluate(X, np), dtype=np.float64)
        phi = basis_values(X, watched.monomials, dom)
        yphi = y[:, None] * phi
        self.be, self.dtype, self.exact = be, cfg.dtype, watched.exact
        self.threads = HostThreads(be)
        self.X, self.y = be.asarray(X, cfg.dtype), be.asarray(y, cfg.dtype)
        self.phi = be.asarray(phi, cfg.dtype)
        self.phi2y = be.asarray(phi * yphi, cfg.dtype)  # phi^2 y, for sum f * (phi)(y phi)
        self.yphi_sum = np.cumsum(yphi, axis=0)
        self.yphi_sq_sum = np.cumsum(yphi * yphi, axis=0)
        self.readout: tuple[Any, Any] | None = None
        self.readout_min = min(cfg.test_size, READOUT_PER_UNIT * cfg.width)
        if readout:
            Xr = sample_inputs([plan.readout], 1, cfg.test_size, cfg.d, dom, "float64")[0, 0]
            yr = np.asarray(tgt.evaluate(Xr, np), dtype=np.float64)
            self.readout = (be.asarray(Xr, cfg.dtype), be.asarray(yr, cfg.dtype))

    def measure(
        self, params: Params, live: np.ndarray, T: int, activation: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """Test MSE ``(R_live,)`` and coefficient estimates ``(R_live, M)`` on ``T`` points."""
        with self.threads.single():  # small products: slower on several BLAS threads
            return self._measure(params, live, T, activation)

    def _measure(
        self, params: Params, live: np.ndarray, T: int, activation: str
    ) -> tuple[np.ndarray, np.ndarray]:
        W, b, a = _select(params, live, self.be)
        if self.readout is not None:
            Tr = max(T, self.readout_min)
            a = _readout(W, b, self.readout[0][:Tr, :], self.readout[1][:Tr], activation, self)
        loss, f_phi, cross = _evaluate_params(
            W,
            b,
            a,
            self.X[:T, :],
            self.y[:T],
            self.phi[:T, :],
            self.phi2y[:T, :],
            activation,
            self.be,
        )
        coefs = control_variate(
            f_phi, cross, self.yphi_sum[T - 1] / T, self.yphi_sq_sum[T - 1] / T, self.exact
        )
        return loss, coefs


class _Loop:
    """Online SGD of every replica, chunk by chunk; frozen replicas (stopped, diverged) stay put."""

    def __init__(
        self, params: Params, tgt: Any, plan: Any, cfg: _Config, be: Backend, protocol: Protocol
    ) -> None:
        R = cfg.replicas
        self.params, self.tgt, self.plan, self.cfg, self.be = params, tgt, plan, cfg, be
        self.lr_hidden = protocol.lr_hidden
        self.lr_out = 0.0 if protocol.schedule == "layerwise" else protocol.lr_out
        self.steps_total = cfg.samples // cfg.batch
        self.active = np.ones(R, dtype=bool)
        self.status: list[Status] = ["budget_exhausted" if cfg.stop is not None else "ok"] * R
        self.samples_seen = [0] * R
        self.diverged_at: list[int | None] = [None] * R
        self.samples_to_learn: list[int | None] = [None] * R
        self.step = 0
        self.chunk = max(8, min(1024, CHUNK_NUMBERS // (R * cfg.batch * cfg.d)))
        self.block = max(1, BLOCK_ROWS // cfg.batch)
        self.threads = HostThreads(be)
        self.chunk_steps = 0
        self.k_chunk = 0
        self.X_chunk: Any = None
        self.y_chunk: Any = None
        # the compiled ReLU block on Boolean inputs takes the Gram matrix from the packed
        # signs (fused.fused_block): packed once per chunk, while the chunk is in cache
        self.fused = be.compiled_steps and cfg.activation == "relu"
        self.bits_chunk: Any = None
        self.scale = self._scale()

    def record_seen(self, n: int) -> None:
        """Every active replica has now seen ``n`` samples."""
        for r in np.flatnonzero(self.active):
            self.samples_seen[r] = n

    def _scale(self) -> Any:
        mask = self.active.astype(np.float64).reshape(-1, 1, 1) / self.cfg.batch
        return self.be.asarray(mask, self.cfg.dtype)

    def freeze(self, which: np.ndarray) -> None:
        """Stop training the replicas ``which`` (a boolean mask)."""
        self.active &= ~which
        self.scale = self._scale()

    def _refill(self) -> None:
        if self.step > 0:
            self.check_divergence()
        cfg, xp = self.cfg, self.be.xp
        size = min(self.chunk, self.steps_total - self.step)
        host = sample_inputs(
            self.plan.data, size, cfg.batch, cfg.d, self.tgt.domain, cfg.dtype, order="replica"
        )
        rows = size * cfg.batch
        X = self.be.asarray(host, cfg.dtype, copy=False)
        self.X_chunk = xp.reshape(X, (cfg.replicas, rows, cfg.d))
        flat = xp.reshape(self.X_chunk, (cfg.replicas * rows, cfg.d))
        self.y_chunk = xp.reshape(self.tgt.evaluate(flat, xp), (cfg.replicas, rows))
        if self.fused and self.tgt.domain == "boolean":
            from csqbound.sgd.fused import pack_signs  # imports numba: only for its runs

            self.bits_chunk = pack_signs(self.X_chunk)
        self.chunk_steps = size
        self.k_chunk = 0

    def run_to(self, target_step: int) -> None:
        """Train every active replica up to ``target_step`` steps, then check divergence.

        Steps go in blocks of up to :attr:`block` (:func:`~csqbound.sgd.network.sgd_block`),
        cut at the end of a chunk of inputs and at ``target_step`` (an evaluation).
        """
        with self.threads.single():
            self._steps_to(target_step)
        self.check_divergence()

    def _steps_to(self, target_step: int) -> None:
        B = self.cfg.batch
        while self.step < target_step:
            if self.k_chunk == self.chunk_steps:
                self._refill()
            k = min(self.block, target_step - self.step, self.chunk_steps - self.k_chunk)
            rows = slice(self.k_chunk * B, (self.k_chunk + k) * B)
            X, y = self.X_chunk[:, rows, :], self.y_chunk[:, rows]
            bits = None if self.bits_chunk is None else self.bits_chunk[:, rows, :]
            self.params = self._train(self.params, X, y, self.scale, k, bits)
            self.k_chunk += k
            self.step += k

    def _train(self, params: Params, X: Any, y: Any, scale: Any, k: int, bits: Any) -> Params:
        """``k`` steps of the replicas of ``params`` (one step: the reference :func:`sgd_step`).

        ``bits``: the packed signs of ``X`` (Boolean inputs, compiled backend) or ``None``.
        """
        cfg, xp = self.cfg, self.be.xp
        act, lr_h, lr_o = cfg.activation, self.lr_hidden, self.lr_out
        if k == 1:
            return sgd_step(params, X, y, scale, lr_h, lr_o, act, xp, cfg.loss, cfg.delta)
        if self.fused:
            from csqbound.sgd.fused import fused_block  # imports numba: only for its runs

            return fused_block(
                params, X, y, scale, lr_h, lr_o, cfg.batch, cfg.loss, cfg.delta, bits=bits
            )
        return sgd_block(params, X, y, scale, lr_h, lr_o, act, xp, cfg.batch, cfg.loss, cfg.delta)

    def check_divergence(self) -> None:
        """Freeze replicas with non-finite parameters (status ``"diverged"``), zeroing only them."""
        xp, p, R = self.be.xp, self.params, self.cfg.replicas
        total = xp.sum(xp.reshape(p.W, (R, -1)), axis=1) + xp.sum(p.b, axis=1) + xp.sum(p.a, axis=1)
        bad = ~np.isfinite(to_numpy(total)) & self.active
        if not bad.any():
            return
        n = self.step * self.cfg.batch
        for r in np.flatnonzero(bad):
            self.status[r] = "diverged"
            self.diverged_at[r] = n
            self.samples_seen[r] = n
        self.freeze(bad)
        # zero only the replicas that just diverged (their NaN/inf would otherwise leak into
        # reductions); stopped replicas keep their parameters untouched
        keep = self.be.asarray((~bad).astype(np.float64), self.cfg.dtype)
        self.params = Params(
            xp.where(keep[:, None, None] > 0, p.W, 0.0),
            xp.where(keep[:, None] > 0, p.b, 0.0),
            xp.where(keep[:, None] > 0, p.a, 0.0),
        )


class _History:
    """Loss and coefficient curves at the evaluations, and the stopping rule."""

    def __init__(self, cfg: _Config, watched: _Watched, grid: np.ndarray, var_f: float) -> None:
        R, M, E = cfg.replicas, len(watched.monomials), len(grid)
        self.cfg, self.grid, self.var_f = cfg, grid, var_f
        self.loss = np.full((R, E), np.nan)
        self.coef = np.full((R, M, E), np.nan)
        self.eval_time = 0.0
        self.test_points = np.array([_test_prefix(int(s) * cfg.batch, cfg.test_size) for s in grid])
        # the monomials of the hardest stage must be learned (half their coefficient) too
        names = watched.names
        stage = hardest_stage(watched.stage_jumps)
        needed = () if stage is None else watched.stages[stage]
        self.needed = np.array([names.index(m) for m in needed], dtype=np.int64)
        self.needed_c = np.array([watched.target_coefs[m] for m in needed])
        self.reached = np.zeros((R, len(needed)), dtype=bool)

    def evaluate(self, e: int, loop: _Loop, tests: _TestSet) -> None:
        """Measure the live replicas at evaluation ``e`` (frozen ones carry their last values)."""
        t0 = time.perf_counter()
        live = np.flatnonzero(loop.active)
        if e > 0:
            self.loss[:, e] = self.loss[:, e - 1]
            self.coef[:, :, e] = self.coef[:, :, e - 1]
        if live.size:
            T = int(self.test_points[e])
            loss_r, coefs = tests.measure(loop.params, live, T, self.cfg.activation)
            self.loss[live, e] = loss_r
            self.coef[live, :, e] = coefs
        dead = [r for r, s in enumerate(loop.status) if s == "diverged"]
        self.loss[dead, e] = np.nan
        self.coef[dead, :, e] = np.nan
        if self.needed.size:
            c = self.coef[:, self.needed, e] * np.sign(self.needed_c)[None, :]
            self.reached |= np.nan_to_num(c, nan=-np.inf) >= 0.5 * np.abs(self.needed_c)[None, :]
        self.eval_time += time.perf_counter() - t0

    def median_relative_loss(self, e: int, loop: _Loop) -> float:
        """Median of ``loss / Var f`` at evaluation ``e`` over the replicas that did not diverge."""
        ok = [r for r, s in enumerate(loop.status) if s != "diverged"]
        return float(np.median(self.loss[ok, e])) / self.var_f if ok else math.nan

    def stop(self, e: int, loop: _Loop) -> None:
        """Record crossings of ``stop_loss``; freeze replicas that learned the hardest stage too."""
        stop = self.cfg.stop
        if stop is None:
            return
        level = stop * self.var_f
        n_now = int(self.grid[e]) * self.cfg.batch
        n_prev = int(self.grid[e - 1]) * self.cfg.batch if e > 0 else 0
        below = loop.active & (self.loss[:, e] <= level)
        for r in np.flatnonzero(below & np.array([t is None for t in loop.samples_to_learn])):
            loop.status[r] = "ok"
            before = float(self.loss[r, e - 1]) if e > 0 else math.nan
            loop.samples_to_learn[r] = crossing_point(
                n_prev, before, n_now, float(self.loss[r, e]), level, log=True
            )
        done = below & self.reached.all(axis=1)
        if done.any():
            loop.freeze(done)


def _settings(tgt: Any, cfg: _Config, be: Backend, protocol: Protocol, watched: _Watched) -> dict:
    """Every setting of a run, JSON-ready (the protocol included: it is part of the run)."""
    return {
        "target": str(tgt),
        "domain": tgt.domain,
        "d": cfg.d,
        "width": cfg.width,
        "replicas": cfg.replicas,
        "batch": cfg.batch,
        "samples": cfg.samples,
        "lr": protocol.eta0,
        **protocol.to_dict(),
        "activation": cfg.activation,
        "loss": cfg.loss,
        "huber_delta": cfg.delta,
        "backend": be.name,
        "dtype": cfg.dtype,
        "seed": cfg.seed,
        "stop_loss": cfg.stop,
        "test_size": cfg.test_size,
        "evals_per_decade": cfg.evals_per_decade,
        "probes": [str(p) for p in watched.probes],
    }


@with_progress("train", "train")
def train(
    target: object, domain: str = "boolean", *,
    d: int, width: int = 64, replicas: int = 8, batch: int = 8, samples: int = 1_000_000,
    lr: float | None = None, activation: str = "relu", backend: str = "numpy",
    dtype: str = "float32", seed: int | np.random.Generator = 0,
    stop_loss: float | None = 0.05, test_size: int = 4096, evals_per_decade: int = 16,
    probes: int | Sequence[object] = 4,
    schedule: str = "joint", output_step: str | float = "mean-field", step_rule: str = "exponent",
    loss: str = "squared", huber_delta: float | None = None,
    progress: Progress | bool | str | None = "auto", device: Any = None,
) -> Run:  # fmt: skip
    r"""Train ``replicas`` two-layer networks by online SGD on ``target`` in dimension ``d``.

    Parameters
    ----------
    target, domain
        Text (parsed safely), a sympy expression or a :class:`~csqbound.target.Target`
        (whose domain wins); ``"boolean"`` (``{-1,1}^d``) or ``"gaussian"`` (``N(0, I_d)``).
    d, width, replicas, batch, samples
        Input dimension (at least the target's ``P``), hidden units ``N``, independent
        replicas ``R`` trained side by side, fresh samples per step and replica, and the
        budget per replica (rounded down to a multiple of ``batch``).
    lr
        ``eta0`` (:mod:`csqbound.sgd.protocol`; ``None``: :data:`DEFAULT_LR`), on the batch-mean
        gradient: scale it with the batch (``batch=1``: 0.0625 boolean) or replicas diverge.
    activation, backend, dtype, seed
        ``"relu"``, ``"softplus"`` or ``"shifted_softplus"``; one of
        :data:`csqbound.sgd.backend.BACKENDS`; ``"float32"`` or ``"float64"``; an
        integer seed (or a generator, from which one is drawn).
    stop_loss, test_size, evals_per_decade
        Stop a replica at test loss ``<= stop_loss * Var f`` once its hardest stage is
        learned too (``None``: train to the budget); the fixed test set's size; the
        evaluation points per decade of samples.
    probes
        How many probe monomials (random, degree 1-2, off the support), or the monomials.
    schedule, output_step, step_rule
        ``"joint"`` or ``"layerwise"``; ``"mean-field"``, ``"width"`` or a positive
        multiple of the mean-field output step; ``"exponent"`` or ``"1/d"``
        (:mod:`csqbound.sgd.protocol`).
    loss, huber_delta
        The training loss, one of :data:`csqbound.sgd.losses.LOSSES`, and the Huber
        ``delta`` (``None``: 1; only with ``"huber"``). Every observable stays squared.
    progress, device
        ``"auto"``: a bar on a terminal or in Jupyter, else a log line every 10 s at most;
        ``False``/``None``: nothing; a callable gets ``(samples_done, samples_total, median
        relative test loss)`` at each evaluation (:mod:`csqbound.progress`). A cupy/torch device.

    Returns
    -------
    Run

    Raises
    ------
    ParameterError
        For ``d < P``, a non-positive size or rate, a negative ``stop_loss``, an unknown
        option, a Huber ``delta <= 0``, a non-squared layer-wise run, a constant target.
    CsqboundError
        For an unknown backend (:class:`~csqbound.errors.BackendUnavailableError`: missing).

    See Also
    --------
    csqbound.experiments.verify.verify : a sweep of runs over ``d``, judged by a fit.
    csqbound.prediction.predict : the exponent a run's samples to learn should follow.

    Examples
    --------
    >>> run = train("x1 + x1*x2", d=8, replicas=2, samples=4000, seed=1)
    >>> run.status, sorted(run.median_learning_times()), run.settings["output_step"]
    (('ok', 'ok'), ['x1', 'x1*x2'], 'mean-field')
    >>> train("x1 + x1*x2", d=8, replicas=2, samples=4000, seed=1, loss="huber").status
    ('ok', 'ok')
    """
    t_start = time.perf_counter()
    cfg = _Config.check(
        d=d, width=width, replicas=replicas, batch=batch, samples=samples, lr=lr,
        stop_loss=stop_loss, activation=activation, dtype=dtype, seed=seed,
        test_size=test_size, evals_per_decade=evals_per_decade, schedule=schedule,
        output_step=output_step, step_rule=step_rule, loss=loss, huber_delta=huber_delta,
    )  # fmt: skip
    return _train(target, domain, cfg, probes, as_callback(progress), backend, device, t_start)


def _train(
    target: object,
    domain: str,
    cfg: _Config,
    probes: int | Sequence[object],
    progress: Progress | None,
    backend: str,
    device: Any,
    t_start: float,
) -> Run:
    """:func:`train` after its settings are checked: the test set, the loop, the assembled run."""
    from csqbound.expansion import expand
    from csqbound.target import Target

    check_run_size(
        d=cfg.d, width=cfg.width, replicas=cfg.replicas, batch=cfg.batch,
        test_size=cfg.test_size, samples=cfg.samples, dtype=cfg.dtype,
    )  # fmt: skip
    be = get_backend(backend, device=device)
    tgt = Target.coerce(target, domain)  # type: ignore[arg-type]
    if cfg.d < tgt.variables:
        msg = f"d={cfg.d} is smaller than the number of variables of the target (P={tgt.variables})"
        raise ParameterError(msg)
    expansion = expand(tgt)
    var_f = float(expansion.variance) + float(expansion.truncation or 0.0)
    if not var_f > 1e-12:
        msg = f"the target {tgt} is constant (Var f = 0): there is nothing to learn"
        raise ParameterError(msg)
    plan = seed_sequences(cfg.seed, cfg.replicas)
    watched = _watch(expansion, var_f, cfg.d, tgt.variables, probes, plan.probes, cfg.loss)
    protocol = resolve_protocol(
        eta0=DEFAULT_LR[tgt.domain] if cfg.eta0 is None else cfg.eta0,
        width=cfg.width, d=cfg.d, schedule=cfg.schedule, output_step=cfg.output_step,
        step_rule=cfg.step_rule,
        exponent=_predicted_exponent(tgt, cfg.loss) if cfg.step_rule == "exponent" else None,
    )  # fmt: skip
    tests = _TestSet(tgt, watched, cfg, plan, be, readout=protocol.schedule == "layerwise")
    params = init_params(cfg.d, cfg.width, plan.init, cfg.dtype).map(
        lambda arr: be.asarray(arr, cfg.dtype)
    )
    loop = _Loop(params, tgt, plan, cfg, be, protocol)
    grid = eval_grid(loop.steps_total, cfg.batch, cfg.evals_per_decade)
    history = _History(cfg, watched, grid, var_f)
    grid = _drive(loop, history, tests, grid, progress)
    settings = _settings(tgt, cfg, be, protocol, watched)
    return _assemble(tgt, settings, cfg, be, loop, history, watched, grid, t_start)


def _drive(
    loop: _Loop, history: _History, tests: _TestSet, grid: np.ndarray, progress: Progress | None
) -> np.ndarray:
    """Train to each evaluation point of ``grid``, measure, stop; the grid of evaluations made.

    The loop ends early, and the grid with it, once no replica is active (all stopped or
    diverged).
    """
    batch = loop.cfg.batch
    with np.errstate(all="ignore"):
        for e, target_step in enumerate(grid):
            loop.run_to(int(target_step))
            history.evaluate(e, loop, tests)
            n_now = int(target_step) * batch
            loop.record_seen(n_now)
            history.stop(e, loop)
            if progress is not None:
                progress(n_now, loop.steps_total * batch, history.median_relative_loss(e, loop))
            if not loop.active.any():
                return grid[: e + 1]
    return grid


def _assemble(
    tgt: Any,
    settings: dict[str, Any],
    cfg: _Config,
    be: Backend,
    loop: _Loop,
    history: _History,
    watched: _Watched,
    grid: np.ndarray,
    t_start: float,
) -> Run:
    """The :class:`Run` of a finished loop: curves cut to the evaluations made, derived times."""
    E = len(grid)
    eval_samples = grid * cfg.batch
    loss = history.loss[:, :E]
    coefficients = {name: history.coef[:, i, :E].copy() for i, name in enumerate(watched.names)}
    times = learning_times(eval_samples, coefficients, watched.target_coefs)
    seen = loop.samples_seen
    plateaus = tuple(
        segment_loss_curve(eval_samples[eval_samples <= seen[r]], loss[r, eval_samples <= seen[r]])
        for r in range(cfg.replicas)
    )
    hardest = hardest_stage(watched.stage_jumps)
    ends = (
        (None,) * cfg.replicas
        if hardest is None
        else stage_end(times, watched.stages[hardest], cfg.replicas)
    )
    return Run(
        target=str(tgt),
        domain=tgt.domain,
        settings=settings,
        seed=cfg.seed,
        backend=be.name,
        status=tuple(loop.status),
        samples_seen=tuple(seen),
        diverged_at=tuple(loop.diverged_at),
        samples_to_learn=tuple(loop.samples_to_learn),
        wall_time=time.perf_counter() - t_start,
        eval_time=history.eval_time,
        eval_samples=eval_samples,
        test_points=history.test_points[:E],
        loss=loss,
        var_f=history.var_f,
        coefficients=coefficients,
        target_coefficients=dict(watched.target_coefs),
        probes=tuple(str(p) for p in watched.probes),
        learning_times=times,
        plateaus=plateaus,
        predicted_stages=watched.stages,
        leap=watched.leap,
        grid_ratio=10 ** (1 / cfg.evals_per_decade),
        stage_jumps=watched.stage_jumps,
        hardest_stage=hardest,
        stage_end=ends,
        loss_times={
            f"{eps:g}": loss_crossings(eval_samples, loss, eps * history.var_f, seen)
            for eps in LOSS_EPSILONS
        },
    )


def _select(params: Params, live: np.ndarray, be: Backend) -> tuple[Any, Any, Any]:
    """``W, b, a`` of the replicas ``live`` (the arrays themselves when all are live)."""
    xp = be.xp
    if live.size == params.replicas:
        return params.W, params.b, params.a
    idx = asarray(xp, live, xp.int64, device=be.device)
    return (xp.take(params.W, idx, axis=0), xp.take(params.b, idx, axis=0),
            xp.take(params.a, idx, axis=0))  # fmt: skip


def _readout(W: Any, b: Any, X: Any, y: Any, activation: str, tests: _TestSet) -> Any:
    """Phase two of the layer-wise schedule: the ridge-regression output layer on ``X, y``.

    Per replica, ``a = argmin mean((Z a - y)^2) + lam |a|^2`` with ``Z`` the hidden
    features; ``lam`` is :data:`READOUT_RIDGE` times the mean feature energy (a
    numerical safeguard, not a regulariser that matters).
    """
    be = tests.be
    xp = be.xp
    T = int(X.shape[0])
    Z = sigma(xp.matmul(X[None, :, :], W.mT) + b[:, None, :], activation, xp)
    G = to_numpy(xp.matmul(Z.mT, Z)).astype(np.float64) / T
    r = to_numpy(xp.matmul(Z.mT, y[None, :, None])).astype(np.float64)[..., 0] / T
    N = G.shape[-1]
    lam = READOUT_RIDGE * np.trace(G, axis1=1, axis2=2) / N + 1e-12
    a = np.linalg.solve(G + lam[:, None, None] * np.eye(N)[None], r[..., None])[..., 0]
    return be.asarray(a, tests.dtype)


def _evaluate_params(
    W: Any, b: Any, a: Any, X: Any, y: Any, phi: Any, phi2y: Any, activation: str, be: Backend
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Test means for networks ``W, b, a``: MSE ``(R,)``, ``f phi``, ``f phi^2 y`` ``(R, M)``."""
    xp = be.xp
    T = int(X.shape[0])
    R, N = int(W.shape[0]), int(W.shape[1])
    block = max(8, EVAL_BLOCK // (R * N))
    WT = W.mT
    mse = xp.zeros((R,), dtype=X.dtype)
    coef = xp.zeros((R, int(phi.shape[1])), dtype=X.dtype)
    cross = xp.zeros((R, int(phi.shape[1])), dtype=X.dtype)
    for lo in range(0, T, block):
        hi = min(T, lo + block)
        H = xp.matmul(X[None, lo:hi, :], WT) + b[:, None, :]
        Z = sigma(H, activation, xp)
        f = xp.matmul(Z, a[:, :, None])[:, :, 0]
        residual = f - y[None, lo:hi]
        mse = mse + xp.sum(residual * residual, axis=1)
        coef = coef + xp.matmul(f, phi[lo:hi, :])
        cross = cross + xp.matmul(f, phi2y[lo:hi, :])
    return (
        to_numpy(mse).astype(np.float64) / T,
        to_numpy(coef).astype(np.float64) / T,
        to_numpy(cross).astype(np.float64) / T,
    )


def control_variate(
    f_phi: np.ndarray,
    f_phi_y_phi: np.ndarray,
    y_phi: np.ndarray,
    y_phi_sq: np.ndarray,
    c: np.ndarray,
) -> np.ndarray:
    """Coefficient estimates ``mean(f phi) + lam (c - mean(y phi))`` with the best ``lam``.

    ``mean(y phi)`` estimates the target's coefficient ``c``, known exactly, on the
    same test points; its error is correlated with that of ``mean(f phi)``, and
    subtracting ``lam`` times it (``lam = Cov(f phi, y phi) / Var(y phi)``, clipped to
    ``[0, 1]``, per replica and monomial) removes that shared error: ``lam`` is near 0
    at initialisation (``f`` unrelated to ``y``) and near 1 once ``f`` fits ``y``.

    Parameters
    ----------
    f_phi, f_phi_y_phi
        ``(R, M)`` test means of ``f phi`` and ``f phi (y phi)``.
    y_phi, y_phi_sq
        ``(M,)`` test means of ``y phi`` and ``(y phi)^2``.
    c
        ``(M,)`` exact coefficients of the target (0 for probes).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y_phi = rng.normal(1.0, 1.0, 128)              # y phi on 128 points, c = 1
    >>> est = control_variate(np.array([[y_phi.mean()]]), np.array([[(y_phi**2).mean()]]),
    ...                       np.array([y_phi.mean()]), np.array([(y_phi**2).mean()]),
    ...                       np.array([1.0]))
    >>> float(est[0, 0])                               # f = y: exactly c
    1.0
    """
    var = y_phi_sq - y_phi * y_phi
    cov = f_phi_y_phi - f_phi * y_phi[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(var[None, :] > 0, cov / var[None, :], 0.0)
    lam = np.clip(np.nan_to_num(lam, nan=0.0), 0.0, 1.0)
    return f_phi + lam * (c[None, :] - y_phi[None, :])
