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

Parametrisation and step sizes (see :mod:`csqbound.sgd.network`)
    ``f(x) = sum_j a_j sigma(<w_j, x> + b_j)`` with ``w_j ~ N(0, I/d)``,
    ``b_j ~ U[-1, 1]``, ``a_j = +-1/N``. With ``eta0 = lr``, the first-layer
    weights and the biases move with step ``eta0 * N / d`` and the output
    weights with step ``eta0 / d``. The factor ``N`` compensates the ``1/N``
    scale of ``a`` (mean-field scaling), so a direction ``w_j`` moves by
    ``O(eta0 / d)`` per sample whatever the width: the ``eta = eta0/d`` of
    THEORY section 6, under which a leap-1 stage takes ``O(d)`` samples.

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
    A replica stops (is frozen, its ``samples_seen`` stops) at the first
    evaluation where its test loss is at most ``stop_loss * Var f``: status
    ``"ok"``. A replica whose parameters become NaN or infinite (checked after
    every chunk of steps and before every evaluation) is frozen with status
    ``"diverged"``; the others go on. Replicas that reach the sample budget
    are ``"budget_exhausted"`` (``"ok"`` when ``stop_loss`` is ``None``: training
    to the budget was asked for).

Determinism
    All random numbers come from host numpy generators with fixed spawn keys
    (:func:`csqbound.sgd.backend.seed_sequences`), drawn in chunks of many
    steps; the same seed and backend give the same numbers, bitwise on numpy.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from csqbound.errors import CsqboundError, ParameterError
from csqbound.monomial import Domain, Monomial
from csqbound.sgd.backend import (
    Backend,
    asarray,
    check_dtype,
    get_backend,
    sample_inputs,
    seed_sequences,
    to_numpy,
)
from csqbound.sgd.network import Params, check_activation, init_params, sgd_step, sigma
from csqbound.sgd.plateaus import (
    Segment,
    StageOrderCheck,
    check_stage_order,
    crossing_point,
    learning_times,
    median_time,
    segment_loss_curve,
)

__all__ = [
    "Run",
    "Status",
    "basis_values",
    "choose_probes",
    "control_variate",
    "eval_grid",
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
#: Evaluation works on blocks of about this many hidden activations (cache-sized).
EVAL_BLOCK = 1 << 16
#: Host chunks of inputs hold about this many numbers.
CHUNK_NUMBERS = 1 << 19


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
        Raw test mean squared error, shape ``(R, E)``; after a replica stops,
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
        The leap witness cut into stages (monomial names; heaviest tracked only).
    leap
        The target's leap (``None`` if it could not be computed).
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

    def median_learning_times(self) -> dict[str, int | None]:
        """Target monomial -> lower median over replicas of its learning time.

        ``None`` unless at least half the replicas learned it.
        """
        return {name: median_time(times) for name, times in self.learning_times.items()}

    def median_samples_to_learn(self) -> int | None:
        """Lower median over replicas of ``samples_to_learn`` (``None`` unless half reached it)."""
        return median_time(self.samples_to_learn)

    def stage_order_check(self) -> StageOrderCheck:
        """Compare the median learning times with :attr:`predicted_stages`."""
        return check_stage_order(
            self.median_learning_times(), self.predicted_stages, resolution=self.grid_ratio
        )

    def median_plateaus(self) -> tuple[Segment, ...]:
        """Plateaus and drops of the median relative loss curve."""
        return segment_loss_curve(self.eval_samples, self.median_loss())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no per-evaluation arrays except the median loss curve).

        Keys: target, domain, settings, seed, backend, status, samples_seen,
        diverged_at, samples_to_learn, median_samples_to_learn, wall_time,
        eval_time, var_f, target_coefficients, probes, learning_times (medians),
        learning_times_per_replica, plateaus (per replica), predicted_stages,
        leap, stage_order_check, eval_samples, median_relative_loss.
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

    def draw(pool: Sequence[int], how_many: int) -> None:
        if not pool or how_many <= 0:
            return
        want = len(chosen) + how_many
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
                chosen.append(mono)
            if len(chosen) >= want:
                return

    inside = list(range(1, variables + 1))
    outside = list(range(variables + 1, d + 1))
    draw(inside, (count + 1) // 2)
    draw(outside, count - len(chosen))
    draw(inside, count - len(chosen))
    return tuple(chosen)


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
@dataclass
class _State:
    """Mutable bookkeeping of a run (host side)."""

    R: int
    active: np.ndarray
    status: list[Status]
    samples_seen: list[int]
    diverged_at: list[int | None]
    samples_to_learn: list[int | None]


def train(
    target: object,
    domain: str = "boolean",
    *,
    d: int,
    width: int = 64,
    replicas: int = 8,
    batch: int = 8,
    samples: int = 1_000_000,
    lr: float | None = None,
    activation: str = "relu",
    backend: str = "numpy",
    dtype: str = "float32",
    seed: int | np.random.Generator = 0,
    stop_loss: float | None = 0.05,
    test_size: int = 4096,
    evals_per_decade: int = 16,
    probes: int | Sequence[object] = 4,
    progress: Progress | None = None,
    device: Any = None,
) -> Run:
    r"""Train ``replicas`` two-layer networks by online SGD on ``target`` in dimension ``d``.

    Parameters
    ----------
    target
        Text (parsed safely), a sympy expression or a :class:`~csqbound.target.Target`
        (whose domain then wins over ``domain``).
    domain
        ``"boolean"`` (inputs uniform on ``{-1,1}^d``) or ``"gaussian"`` (``N(0, I_d)``).
    d
        Input dimension, at least the number of variables ``P`` of the target.
    width
        Hidden units ``N``.
    replicas
        ``R`` independent runs (own initialisation and data each), trained side by side.
    batch
        Fresh samples per step and replica.
    samples
        Sample budget per replica (rounded down to a multiple of ``batch``).
    lr
        ``eta0``: step ``eta0*N/d`` on first-layer weights and biases, ``eta0/d`` on
        output weights. ``None``: :data:`DEFAULT_LR` of the domain (0.5 boolean, 0.1 gaussian).
        The step multiplies the *batch-mean* gradient, so the step per sample is
        ``eta0/batch``: the defaults are tuned for ``batch=8``; with a smaller batch,
        scale ``lr`` down in proportion (``batch=1``: ``lr=0.0625`` on boolean data), or
        replicas diverge (they are then reported as ``"diverged"``, not raised).
    activation
        ``"relu"``, ``"softplus"`` or ``"shifted_softplus"`` (:mod:`csqbound.sgd.network`).
    backend
        ``"numpy"``, ``"cupy"``, ``"torch"`` or ``"array_api_strict"``.
    dtype
        ``"float32"`` or ``"float64"``.
    seed
        Integer seed (or a generator, from which one is drawn).
    stop_loss
        A replica stops at test loss ``<= stop_loss * Var f``; ``None`` trains to the budget.
    test_size
        Size of the fixed test set (see the module docstring for the prefixes used early on).
    evals_per_decade
        Evaluation points per decade of samples.
    probes
        How many probe monomials to watch (random degree 1-2 monomials outside
        the support), or the probe monomials themselves.
    progress
        Called as ``progress(samples_done, samples_total, loss)`` at every
        evaluation (samples per replica; ``loss`` is the median relative test
        loss ``MSE / Var f`` over replicas that did not diverge).
    device
        Optional device for cupy/torch.

    Returns
    -------
    Run

    Raises
    ------
    ParameterError
        For ``d < P``, non-positive sizes or rates, a negative ``stop_loss``,
        an unknown activation or dtype, a constant target.
    CsqboundError
        For an unknown backend; :class:`~csqbound.errors.BackendUnavailableError`
        when its package is missing.

    Notes
    -----
    Why the defaults are what they are (measured on boolean data, one CPU core,
    seeds 0-4 x 8 replicas, ``d = 8..128``):

    * ``width=64, batch=8, lr=0.5`` (boolean): the setting THEORY section 6
      reports as working. The output layer moves ``f`` by about
      ``eta0 * N/d * E[sigma^2]`` times the error per step, so it is the first to
      become unstable at small ``d``: ``eta0 = 1`` diverged in 55/72 replicas at
      ``d = 8`` and 6/72 at ``d = 16``, ``eta0 = 0.75`` in 29/72 at ``d = 8``,
      ``eta0 = 0.5`` in none for ``d >= 8``. Gaussian targets are heavy-tailed
      (a degree-3 target diverges at 0.5 and at 0.2), hence ``lr=0.1`` there.
      Below ``d = 8`` lower ``lr``.
    * ``replicas=8``: medians over 8 replicas order the learning times of
      THEORY's examples in every seed tried, and 8 replicas cost about twice
      one (one batched product per step).
    * ``stop_loss=0.05``: the ``eps`` of THEORY section 6, halved from its 0.1
      so that no monomial can be missing at the stop: a coefficient below half
      the target's leaves a relative loss of at least a quarter of its weight,
      which exceeds 0.05 for up to four equally weighted monomials (with 0.1
      the staircase's last monomial could stop at 0.45 of its coefficient and
      never get a learning time).
    * ``samples=1_000_000``: 30 times what ``x1*x2*x3`` (leap 3, the hardest of
      THEORY's examples) needs at ``d = 64`` (median 2.9e4) and 8 times at
      ``d = 128`` (1.2e5); replicas stop as soon as they reach ``stop_loss``, so
      a generous budget only costs time on targets that are not learned (about
      5 s per million samples and 8 replicas at ``d = 32``).
    * ``test_size=4096, evals_per_decade=16``: coefficient estimates to about
      ``||f_net|| / sqrt(T_n)``; crossings are interpolated between evaluations
      (15% apart in samples), not rounded up to them.

    Measured (median samples to ``0.05 Var f``, interpolated, 3 seeds x 8 replicas
    each, all learned, stage order respected in every run) at ``d = 8, 16, 32, 64``:
    ``x1 + x1*x2*x3`` 621, 1928, 5135, 11064 (learning times ``x1`` 28 .. 393,
    ``x1*x2*x3`` 487 .. 7888); ``x1 + x1*x2 + x1*x2*x3`` 548, 1132, 2303, 4570;
    ``x1*x2*x3`` 806, 2557, 8715, 26628. Each run took under 0.5 s at ``d <= 64``.

    Examples
    --------
    >>> run = train("x1 + x1*x2", d=8, replicas=2, samples=4000, seed=1)
    >>> run.status
    ('ok', 'ok')
    >>> sorted(run.median_learning_times())
    ['x1', 'x1*x2']
    >>> run.loss.shape == (2, len(run.eval_samples))
    True
    """
    t_start = time.perf_counter()
    # -- validation (eagerly, before any work) --
    d = _check_int("d", d, 1)
    width = _check_int("width", width, 1)
    replicas = _check_int("replicas", replicas, 1)
    batch = _check_int("batch", batch, 1)
    samples = _check_int("samples", samples, 1)
    test_size = _check_int("test_size", test_size, 1)
    evals_per_decade = _check_int("evals_per_decade", evals_per_decade, 1)
    eta0 = None if lr is None else _check_float("lr", lr, positive=True)
    stop = None if stop_loss is None else _check_float("stop_loss", stop_loss, positive=False)
    act = check_activation(activation)
    dt = check_dtype(dtype)
    if samples < batch:
        msg = f"samples={samples} is less than one batch ({batch}): raise samples or lower batch"
        raise ParameterError(msg)
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(0, 2**63))
    seed = _check_int("seed", seed, 0)
    be = get_backend(backend, device=device)

    from csqbound.expansion import expand
    from csqbound.target import Target

    tgt = Target.coerce(target, domain)  # type: ignore[arg-type]
    dom: Domain = tgt.domain
    if d < tgt.variables:
        msg = f"d={d} is smaller than the number of variables of the target (P={tgt.variables})"
        raise ParameterError(msg)
    expansion = expand(tgt)
    var_f = float(expansion.variance) + float(expansion.truncation or 0.0)
    if not var_f > 1e-12:
        msg = f"the target {tgt} is constant (Var f = 0): there is nothing to learn"
        raise ParameterError(msg)
    plan = seed_sequences(seed, replicas)

    # -- monomials watched --
    eta0 = DEFAULT_LR[dom] if eta0 is None else eta0
    floor = MIN_WEIGHT * var_f
    support = [m for m in expansion.support if m.powers and float(expansion.weight(m)) >= floor]
    if len(support) > MAX_TRACKED:
        heaviest = set(sorted(support, key=lambda m: -float(expansion.weight(m)))[:MAX_TRACKED])
        support = [m for m in support if m in heaviest]
    if isinstance(probes, numbers.Integral) and not isinstance(probes, bool):
        count = _check_int("probes", probes, 0)
        full_support = [m for m in expansion.support if m.powers]
        probe_monos = choose_probes(full_support, tgt.variables, d, dom, count, plan.probes)
    elif isinstance(probes, Sequence) and not isinstance(probes, str | bytes):
        probe_monos = tuple(Monomial.coerce(p, dom) for p in probes)
        for p in probe_monos:
            if p.powers and p.powers[-1][0] > d:
                msg = f"probe {p} uses a coordinate beyond d={d}"
                raise ParameterError(msg)
        probe_monos = tuple(p for p in dict.fromkeys(probe_monos) if p not in set(support))
        untracked = [str(p) for p in probe_monos if p in expansion.coefficients]
        if untracked:
            msg = (
                f"probe(s) {', '.join(untracked)} are monomials of the target (too light to be "
                "tracked): probes must lie outside the target's support"
            )
            raise ParameterError(msg)
    else:
        msg = f"probes must be a count or a list of monomials, got {probes!r}"
        raise ParameterError(msg)
    watched = [*support, *probe_monos]
    names = [str(m) for m in watched]
    target_coefs = {str(m): float(expansion.coefficients[m]) for m in support}
    target_coefs.update({str(p): 0.0 for p in probe_monos})

    predicted: tuple[tuple[str, ...], ...] = ()
    leap_value: int | None = None
    try:
        from csqbound.leap import leap as leap_of

        result = leap_of(expansion)
        leap_value = int(result.leap)
        tracked = set(names)
        predicted = tuple(
            stage
            for stage in (tuple(str(m) for m in s if str(m) in tracked) for s in result.stages)
            if stage
        )
    except (ImportError, CsqboundError):  # pragma: no cover - leap is optional here
        pass

    settings: dict[str, Any] = {
        "target": str(tgt),
        "domain": dom,
        "d": d,
        "width": width,
        "replicas": replicas,
        "batch": batch,
        "samples": samples,
        "lr": eta0,
        "lr_hidden": eta0 * width / d,
        "lr_out": eta0 / d,
        "activation": act,
        "backend": be.name,
        "dtype": dt,
        "seed": seed,
        "stop_loss": stop,
        "test_size": test_size,
        "evals_per_decade": evals_per_decade,
        "probes": [str(p) for p in probe_monos],
    }

    # -- fixed test set (host, float64, then cast) --
    X_test_host = sample_inputs([plan.test], 1, test_size, d, dom, "float64")[0, 0]
    y_test_host = np.asarray(tgt.evaluate(X_test_host, np), dtype=np.float64)
    phi_host = basis_values(X_test_host, watched, dom)
    X_test = be.asarray(X_test_host, dt)
    y_test = be.asarray(y_test_host, dt)
    phi = be.asarray(phi_host, dt)
    # Control variate for the coefficient estimates (see the module docstring): the
    # target's exact coefficients c, and per test prefix the mean and variance of y*phi.
    c_watched = np.array([float(expansion.coefficients.get(m, 0.0)) for m in watched])
    yphi_host = y_test_host[:, None] * phi_host
    yphi_sum = np.cumsum(yphi_host, axis=0)
    yphi_sq_sum = np.cumsum(yphi_host * yphi_host, axis=0)
    phi2y = be.asarray(phi_host * yphi_host, dt)  # phi^2 y, for sum f * (phi)(y phi)

    # -- parameters --
    host_params = init_params(d, width, plan.init, dt)
    params = host_params.map(lambda a: be.asarray(a, dt))
    xp = be.xp

    steps_total = samples // batch
    grid = eval_grid(steps_total, batch, evals_per_decade)
    E, M = len(grid), len(watched)
    loss_hist = np.full((replicas, E), np.nan)
    coef_hist = np.full((replicas, M, E), np.nan)
    test_points = np.array([_test_prefix(int(s) * batch, test_size) for s in grid])
    state = _State(
        R=replicas,
        active=np.ones(replicas, dtype=bool),
        status=["budget_exhausted" if stop is not None else "ok"] * replicas,
        samples_seen=[0] * replicas,
        diverged_at=[None] * replicas,
        samples_to_learn=[None] * replicas,
    )
    lr_hidden, lr_out = eta0 * width / d, eta0 / d

    def scale_array() -> Any:
        return be.asarray(state.active.astype(np.float64).reshape(-1, 1, 1) / batch, dt)

    scale = scale_array()
    chunk = max(8, min(1024, CHUNK_NUMBERS // (replicas * batch * d)))
    X_chunk: Any = None
    y_chunk: Any = None
    k_chunk = chunk
    eval_time = 0.0
    step = 0

    def check_divergence() -> bool:
        """Freeze replicas with non-finite parameters; return whether any was found."""
        total = (
            xp.sum(xp.reshape(params.W, (replicas, -1)), axis=1)
            + xp.sum(params.b, axis=1)
            + xp.sum(params.a, axis=1)
        )
        bad = ~np.isfinite(to_numpy(total)) & state.active
        if not bad.any():
            return False
        for r in np.flatnonzero(bad):
            state.status[r] = "diverged"
            state.diverged_at[r] = step * batch
            state.samples_seen[r] = step * batch
        state.active &= ~bad
        # zero only the replicas that just diverged (their NaN/inf would otherwise leak
        # into reductions); stopped replicas keep their parameters untouched
        keep = be.asarray((~bad).astype(np.float64), dt)
        params.W[...] = xp.where(keep[:, None, None] > 0, params.W, 0.0)
        params.b[...] = xp.where(keep[:, None] > 0, params.b, 0.0)
        params.a[...] = xp.where(keep[:, None] > 0, params.a, 0.0)
        return True

    def evaluate(e_index: int) -> None:
        nonlocal eval_time
        t0 = time.perf_counter()
        live = np.flatnonzero(state.active)
        if e_index > 0:  # carry forward frozen replicas
            loss_hist[:, e_index] = loss_hist[:, e_index - 1]
            coef_hist[:, :, e_index] = coef_hist[:, :, e_index - 1]
        if live.size:
            T = int(test_points[e_index])
            loss_r, f_phi, f_phi_y_phi = _evaluate_params(
                params, live, X_test[:T, :], y_test[:T], phi[:T, :], phi2y[:T, :], act, be
            )
            loss_hist[live, e_index] = loss_r
            coef_hist[live, :, e_index] = control_variate(
                f_phi, f_phi_y_phi, yphi_sum[T - 1] / T, yphi_sq_sum[T - 1] / T, c_watched
            )
        dead = [r for r in range(replicas) if state.status[r] == "diverged"]
        loss_hist[dead, e_index] = np.nan
        coef_hist[dead, :, e_index] = np.nan
        eval_time += time.perf_counter() - t0

    with np.errstate(all="ignore"):
        for e_index, target_step in enumerate(grid):
            while step < target_step:
                if k_chunk == chunk:
                    if step > 0 and check_divergence():
                        scale = scale_array()
                    size = min(chunk, steps_total - step)
                    host = sample_inputs(plan.data, size, batch, d, dom, dt)
                    X_chunk = be.asarray(host, dt)
                    flat = xp.reshape(X_chunk, (size * replicas * batch, d))
                    y_chunk = xp.reshape(tgt.evaluate(flat, xp), (size, replicas, batch))
                    k_chunk = 0
                sgd_step(
                    params,
                    X_chunk[k_chunk, ...],
                    y_chunk[k_chunk, ...],
                    scale,
                    lr_hidden,
                    lr_out,
                    act,
                    xp,
                )
                k_chunk += 1
                step += 1
            if check_divergence():
                scale = scale_array()
            evaluate(e_index)
            n_now = int(target_step) * batch
            for r in np.flatnonzero(state.active):
                state.samples_seen[r] = n_now
            if stop is not None:
                reached = state.active & (loss_hist[:, e_index] <= stop * var_f)
                if reached.any():
                    n_prev = int(grid[e_index - 1]) * batch if e_index > 0 else 0
                    for r in np.flatnonzero(reached):
                        state.status[r] = "ok"
                        state.samples_to_learn[r] = crossing_point(
                            n_prev,
                            float(loss_hist[r, e_index - 1]) if e_index > 0 else math.nan,
                            n_now,
                            float(loss_hist[r, e_index]),
                            stop * var_f,
                            log=True,
                        )
                    state.active &= ~reached
                    scale = scale_array()
            if progress is not None:
                ok = [r for r in range(replicas) if state.status[r] != "diverged"]
                rel = float(np.median(loss_hist[ok, e_index])) / var_f if ok else math.nan
                progress(n_now, steps_total * batch, rel)
            if not state.active.any():
                grid = grid[: e_index + 1]
                break

    E = len(grid)
    eval_samples = grid * batch
    loss_hist = loss_hist[:, :E]
    coef_hist = coef_hist[:, :, :E]
    coefficients = {name: coef_hist[:, i, :].copy() for i, name in enumerate(names)}
    times = learning_times(eval_samples, coefficients, target_coefs)
    plateaus = tuple(
        segment_loss_curve(
            eval_samples[eval_samples <= state.samples_seen[r]],
            loss_hist[r, eval_samples <= state.samples_seen[r]],
        )
        for r in range(replicas)
    )
    return Run(
        target=str(tgt),
        domain=dom,
        settings=settings,
        seed=seed,
        backend=be.name,
        status=tuple(state.status),
        samples_seen=tuple(state.samples_seen),
        diverged_at=tuple(state.diverged_at),
        samples_to_learn=tuple(state.samples_to_learn),
        wall_time=time.perf_counter() - t_start,
        eval_time=eval_time,
        eval_samples=eval_samples,
        test_points=test_points[:E],
        loss=loss_hist,
        var_f=var_f,
        coefficients=coefficients,
        target_coefficients=target_coefs,
        probes=tuple(str(p) for p in probe_monos),
        learning_times=times,
        plateaus=plateaus,
        predicted_stages=predicted,
        leap=leap_value,
        grid_ratio=10 ** (1 / evals_per_decade),
    )


def _evaluate_params(
    params: Params,
    live: np.ndarray,
    X: Any,
    y: Any,
    phi: Any,
    phi2y: Any,
    activation: str,
    be: Backend,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Test means for the replicas ``live``: MSE ``(R,)``, ``f phi``, ``f phi^2 y`` ``(R, M)``."""
    xp = be.xp
    if live.size == params.replicas:
        W, b, a = params.W, params.b, params.a
    else:
        idx = asarray(xp, live, xp.int64, device=be.device)
        W = xp.take(params.W, idx, axis=0)
        b = xp.take(params.b, idx, axis=0)
        a = xp.take(params.a, idx, axis=0)
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
