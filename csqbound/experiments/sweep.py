"""Sweeps: a grid of targets x d x seeds x settings run as independent SGD runs, locally or on Dask.

A sweep is a list of :class:`RunSpec`: one call of the runner
(:func:`csqbound.sgd.train.train` by default, through :func:`train_run`) on one
target, domain, dimension ``d``, seed and settings. :func:`make_grid` builds the
list and validates it eagerly; :func:`run_sweep` executes what the store does
not hold yet and commits every finished run to the
:class:`~csqbound.experiments.store.Store` as soon as it finishes.

Seeds, replicas and data points
    A run with ``replicas = R`` trains ``R`` independent networks side by side
    inside one call (own initialisation and own data stream each; the replica
    is an array axis, see :mod:`csqbound.sgd.train`). The seeds of a sweep are
    independent runs with different seeds. Each replica's samples-to-learn is
    one data point of the scaling fit (:mod:`csqbound.experiments.scaling`);
    a point's identity is ``(seed, replica index)``. So ``seeds = 4`` with
    ``replicas = 8`` gives 32 points per ``d``; ``seeds = 1, replicas = 32``
    gives as many points more cheaply (one batched run instead of four), while
    several seeds spread a ``d`` over several workers.

Executors
    ``workers = 1``: in this process, one run after the other.
    ``workers = k > 1`` (default: ``os.cpu_count()``): a
    :class:`concurrent.futures.ProcessPoolExecutor` of ``k`` processes, started
    with the ``spawn`` method (safe with threads and GPU libraries; a script
    that calls :func:`run_sweep` needs the usual ``if __name__ == "__main__":``
    guard). ``dask = "tcp://HOST:PORT"``: the runs go to an existing Dask
    scheduler; ``dask = "local:N"``: a local Dask cluster of ``N`` single-thread
    worker processes is started for the sweep and closed after it. Dask retries
    a task whose worker died on another worker. Dask is an optional extra
    (``pip install 'csqbound[dask]'``); the runner must be importable on the
    workers.

Purity
    A run is a pure function of its spec (all randomness comes from its seed),
    so the same specs give the same numbers on every executor. Only the parent
    process writes the store; workers return results. Runs are handed out a
    few at a time (twice the number of workers), and each is checked against
    the store right before it is handed out, so two sweeps sharing a store
    (possibly on different machines sharing a file system that supports SQLite
    locking) do little duplicate work and never store a run twice.

Failures
    A run that raises is stored as a failed run (status ``"error"`` for each
    replica, with the error message); the sweep goes on. A worker process that
    dies (killed, out of memory) fails the runs it had in flight in the same
    way. Failed runs are retried by the next sweep unless ``retry_failed=False``.
"""

from __future__ import annotations

import multiprocessing
import numbers
import os
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as futures_wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final, Literal

from csqbound import limits
from csqbound._validation import as_float, as_int
from csqbound.errors import BackendUnavailableError, CsqboundError, ParameterError
from csqbound.experiments.store import Store, code_version, run_key
from csqbound.monomial import Domain, check_domain
from csqbound.sgd.footprint import check_run_size

__all__ = [
    "DEFAULT_SETTINGS",
    "check_dask",
    "cost_estimate",
    "missing_main_guard",
    "MAX_RESUBMITS",
    "OPTIONAL_SETTINGS",
    "Outcome",
    "RunSpec",
    "Runner",
    "SweepProgress",
    "SweepResult",
    "check_settings",
    "make_grid",
    "run_sweep",
    "train_run",
]


def _train_defaults(names: tuple[str, ...]) -> dict[str, Any]:
    """The defaults of :func:`csqbound.sgd.train.train` (one source of truth for both)."""
    import inspect

    from csqbound.sgd.train import train

    params = inspect.signature(train).parameters
    return {name: params[name].default for name in names}


#: Settings every run has (passed to :func:`csqbound.sgd.train.train`); the values
#: fill what a grid leaves out and are ``train``'s own defaults. ``lr = None`` is the
#: domain's default ``eta0``.
DEFAULT_SETTINGS: Mapping[str, Any] = _train_defaults(
    (
        "width",
        "replicas",
        "batch",
        "samples",
        "lr",
        "stop_loss",
        "activation",
        "dtype",
        "backend",
        "schedule",
        "output_step",
        "step_rule",
        "loss",
        "huber_delta",
    )
)
#: The trainer's test-set size when a grid does not give one.
_TEST_SIZE: Final = _train_defaults(("test_size",))["test_size"]
#: Further settings a grid may give (also passed to the trainer).
OPTIONAL_SETTINGS: tuple[str, ...] = ("test_size", "evals_per_decade", "probes")

_POSITIVE_INTS = ("width", "replicas", "batch", "samples", "test_size", "evals_per_decade")
_DASK_HINT = "pip install 'csqbound[dask]'"

Outcome = Literal["done", "skipped", "failed"]
#: What running one spec gives: ``(run dict, None, "")`` or ``(None, message, traceback)``.
_Result = tuple[dict[str, Any] | None, str | None, str]


# -- specs --------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: a pure function of these fields.

    Attributes
    ----------
    target
        The target's text (keyed as written: write a target the same way to resume it).
    domain
        ``"boolean"`` or ``"gaussian"``.
    d
        Input dimension.
    seed
        The run's seed; replica ``r`` of the run is the point ``(seed, r)``.
    settings
        Trainer settings (:data:`DEFAULT_SETTINGS`, :data:`OPTIONAL_SETTINGS`);
        :func:`make_grid` fills the defaults.
    code_version
        The csqbound version (part of the key: a new version reruns everything).

    Examples
    --------
    >>> spec = RunSpec("x1*x2", "boolean", 16, 3, {"replicas": 4})
    >>> spec.replicas, len(spec.key)
    (4, 64)
    >>> spec.key == RunSpec("x1*x2", "boolean", 16, 3, {"replicas": 4}).key
    True
    """

    target: str
    domain: Domain
    d: int
    seed: int
    settings: Mapping[str, Any] = field(default_factory=dict, hash=False)
    code_version: str = field(default_factory=code_version)

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", dict(self.settings))

    @cached_property
    def key(self) -> str:
        """The store key: :func:`~csqbound.experiments.store.run_key` of the fields."""
        return run_key(
            self.target, self.domain, self.d, self.seed, self.settings, self.code_version
        )

    @property
    def replicas(self) -> int:
        """``R``, the replicas (points) of the run."""
        value = self.settings.get("replicas", DEFAULT_SETTINGS["replicas"])
        return int(value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the key.

        Examples
        --------
        >>> RunSpec("x1", "boolean", 4, 0, {}, "0.1.0").to_dict()["settings"]
        {}
        """
        return {
            "key": self.key,
            "target": self.target,
            "domain": self.domain,
            "d": self.d,
            "seed": self.seed,
            "settings": dict(self.settings),
            "code_version": self.code_version,
        }


def _positive_int(name: str, value: object, minimum: int = 1) -> int:
    return as_int(value, name, minimum)


def _number_or_none(name: str, value: object, *, positive: bool) -> float | None:
    return as_float(value, name, positive=positive, allow_none=True)


def check_settings(settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate one settings mapping and fill :data:`DEFAULT_SETTINGS`.

    Raises
    ------
    ParameterError
        For an unknown key, a non-positive size or budget, a non-positive
        ``lr``, a negative ``stop_loss``, ``samples < batch``, an unknown
        activation, dtype, backend or loss, a Huber ``delta <= 0`` (or a
        ``huber_delta`` with another loss).

    Examples
    --------
    >>> s = check_settings({"samples": 20_000, "replicas": 4})
    >>> s["samples"], s["replicas"], s["width"], s["loss"], s["huber_delta"]
    (20000, 4, 64, 'squared', None)
    >>> check_settings({"loss": "huber"})["huber_delta"]          # the default delta, resolved
    1.0
    >>> check_settings({"samples": 0})
    Traceback (most recent call last):
    ...
    csqbound.errors.ParameterError: samples must be an integer >= 1, got 0
    """
    given = dict(settings or {})
    unknown = sorted(set(given) - set(DEFAULT_SETTINGS) - set(OPTIONAL_SETTINGS))
    if unknown:
        allowed = ", ".join([*DEFAULT_SETTINGS, *OPTIONAL_SETTINGS])
        msg = f"unknown setting(s) {', '.join(unknown)}: use {allowed}"
        raise ParameterError(msg)
    out = {**DEFAULT_SETTINGS, **given}
    for name in _POSITIVE_INTS:
        if name in out:
            out[name] = _positive_int(name, out[name])
    if "probes" in out:
        out["probes"] = _positive_int("probes", out["probes"], 0)
    out["lr"] = _number_or_none("lr", out["lr"], positive=True)
    out["stop_loss"] = _number_or_none("stop_loss", out["stop_loss"], positive=False)
    if out["samples"] < out["batch"]:
        msg = f"samples={out['samples']} is less than one batch ({out['batch']}): raise samples"
        raise ParameterError(msg)
    from csqbound.sgd.backend import BACKENDS, check_dtype
    from csqbound.sgd.losses import check_loss, check_loss_parameter
    from csqbound.sgd.network import check_activation
    from csqbound.sgd.protocol import check_output_step, check_schedule, check_step_rule

    out["schedule"] = check_schedule(out["schedule"])
    out["output_step"] = check_output_step(out["output_step"])
    out["step_rule"] = check_step_rule(out["step_rule"])
    out["loss"] = str(check_loss(out["loss"]))
    out["huber_delta"] = check_loss_parameter(out["loss"], out["huber_delta"])
    if out["loss"] != "squared" and out["schedule"] == "layerwise":
        msg = (
            f"schedule='layerwise' fits its output layer by least squares: use "
            f"schedule='joint' with loss={out['loss']!r}"
        )
        raise ParameterError(msg)
    out["activation"] = str(check_activation(out["activation"]))
    out["dtype"] = str(check_dtype(out["dtype"]))
    if out["backend"] not in BACKENDS:
        msg = f"unknown backend {out['backend']!r}: use one of {', '.join(BACKENDS)}"
        raise ParameterError(msg)
    return out


def _as_list(name: str, value: object) -> list[Any]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        return [value]
    items = list(value)
    if not items:
        msg = f"the list of {name} is empty: give at least one"
        raise ParameterError(msg)
    return items


def _is_constant(target: Any) -> bool:
    """Whether the target has no variance on its domain (``x1**2`` on the cube)."""
    from csqbound.expansion import expand

    expansion = expand(target)
    return not any(m.powers for m in expansion.support) and not (expansion.truncation or 0.0) > 0


def make_grid(
    targets: str | Sequence[str],
    ds: int | Sequence[int],
    seeds: int | Sequence[int],
    settings: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    *,
    domain: str = "boolean",
) -> list[RunSpec]:
    """The runs of a grid targets x settings x d x seeds, validated eagerly.

    Parameters
    ----------
    targets
        One target's text or several (parsed safely, never evaluated).
    ds
        Dimensions; each must be at least the target's number of variables ``P``.
    seeds
        A list of seeds, or a count ``k`` meaning seeds ``0..k-1``. Each seed is
        one run of ``replicas`` replicas.
    settings
        One settings mapping or several (each one a point of the grid); missing
        keys take :data:`DEFAULT_SETTINGS`.
    domain
        ``"boolean"`` or ``"gaussian"`` (for every target).

    Returns
    -------
    list of RunSpec
        Ordered by target, settings, d, seed; duplicates removed.

    Raises
    ------
    ParameterError
        For an empty list, ``d < P``, a non-positive ``d`` or budget, a negative
        seed, a constant target, bad settings (:func:`check_settings`).
    ParseError, DomainError
        For a target that does not parse, an unknown domain.

    Examples
    --------
    >>> grid = make_grid(["x1*x2", "x1*x2*x3"], [8, 16], 2, {"samples": 20_000})
    >>> len(grid), grid[0].target, grid[0].d, grid[0].seed, grid[0].settings["samples"]
    (8, 'x1*x2', 8, 0, 20000)
    >>> make_grid("x1*x2*x3", [2], 1)
    Traceback (most recent call last):
    ...
    csqbound.errors.ParameterError: d=2 is smaller than the number of variables of x1*x2*x3 ...
    """
    dom = check_domain(domain)
    target_list = _as_list("targets", targets)
    d_list = [_positive_int("d", d) for d in _as_list("d values", ds)]
    settings_list = [check_settings(s) for s in _as_list("settings", settings or {})]
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        n_seeds = _positive_int("the number of seeds", seeds)
        _check_grid_size(target_list, settings_list, d_list, n_seeds)
        seed_list = list(range(n_seeds))
    else:
        seed_list = [_positive_int("seed", s, 0) for s in _as_list("seeds", seeds)]
        _check_grid_size(target_list, settings_list, d_list, len(seed_list))
    for s in settings_list:
        for d in d_list:
            check_run_size(
                d=d, width=s["width"], replicas=s["replicas"], batch=s["batch"],
                test_size=s.get("test_size", _TEST_SIZE), samples=s["samples"], dtype=s["dtype"],
            )  # fmt: skip
    specs: dict[str, RunSpec] = {}
    for raw in target_list:
        text = _grid_target(raw, dom, d_list)
        for s in settings_list:
            for d in d_list:
                for seed in seed_list:
                    spec = RunSpec(text, dom, d, seed, s)
                    specs.setdefault(spec.key, spec)
    return list(specs.values())


def _grid_target(raw: object, dom: Domain, d_list: Sequence[int]) -> str:
    """A grid's target text, whitespace-normalised; refused if constant or ``d < P``."""
    from csqbound.target import Target

    if not isinstance(raw, str):
        msg = f"a target must be text, got {type(raw).__name__}: {raw!r}"
        raise ParameterError(msg)
    text = " ".join(raw.split())
    tgt = Target.coerce(text, dom)
    if tgt.variables == 0 or _is_constant(tgt):
        msg = f"the target {text!r} is constant on the {dom} domain: there is nothing to learn"
        raise ParameterError(msg)
    small = [d for d in d_list if d < tgt.variables]
    if small:
        msg = (
            f"d={small[0]} is smaller than the number of variables of {text} "
            f"(P={tgt.variables}): use d >= {tgt.variables}"
        )
        raise ParameterError(msg)
    return text


def _check_grid_size(targets: list, settings: list, ds: list, seeds: int) -> None:
    """Refuse a grid of more than :data:`csqbound.limits.MAX_GRID_RUNS` runs, before building it."""
    runs = len(targets) * len(settings) * len(ds) * seeds
    if runs > limits.MAX_GRID_RUNS:
        msg = (
            f"this grid has {runs:,} runs ({len(targets)} target(s) x {len(settings)} "
            f"setting(s) x {len(ds)} d x {seeds:,} seed(s)), more than MAX_GRID_RUNS = "
            f"{limits.MAX_GRID_RUNS:,} in csqbound.limits: split it into several sweeps"
        )
        raise ParameterError(msg)


def cost_estimate(spec: RunSpec) -> float:
    """A run's relative cost for scheduling: budget x replicas x d, gaussian inputs x 2.5.

    The budget is an upper bound of the samples a replica sees (it stops once it has
    learned), and of the same order under ``samples = "auto"``, which follows the
    predicted law; a sample costs about ``d`` (the network's ``N d`` products and
    ``d`` input numbers), and a gaussian one about 2.5 times a boolean one (a normal
    draw per coordinate, measured at ``d = 256``). Running the longest runs first
    keeps every worker busy to the end of a sweep (longest-processing-time order).

    Examples
    --------
    >>> a, b = make_grid("x1", [8, 64], 1)
    >>> cost_estimate(b) == 8 * cost_estimate(a)
    True
    """
    s = spec.settings
    factor = 2.5 if spec.domain == "gaussian" else 1.0
    return float(s["samples"]) * float(s["replicas"]) * spec.d * factor


# -- running one spec -----------------------------------------------------------------------
#: A runner maps a spec to a JSON-ready run dict (or an object with ``to_dict()``).
Runner = Callable[[RunSpec], Any]


def train_run(spec: RunSpec) -> dict[str, Any]:
    """The default runner: :func:`csqbound.sgd.train.train` on the spec, as a dict.

    Examples
    --------
    >>> spec = RunSpec("x1 + x1*x2", "boolean", 8, 1, check_settings({"replicas": 2,
    ...                "samples": 4000}))
    >>> train_run(spec)["status"]
    ['ok', 'ok']
    """
    from csqbound.sgd.train import train

    run = train(spec.target, spec.domain, d=spec.d, seed=spec.seed, **spec.settings)
    return run.to_dict()


def _execute(runner: Runner, spec: RunSpec) -> _Result:
    """Run one spec; never raises: ``(run dict, None, "")`` or ``(None, message, traceback)``.

    The run uses one BLAS/OpenMP thread (:func:`threadpoolctl.threadpool_limits`): a
    sweep uses the cores as processes, and the small batched products of a run are
    slower multi-threaded (measured: 469 against 20 microseconds per sample and
    replica with two workers on two cores).
    """
    from threadpoolctl import threadpool_limits

    try:
        with threadpool_limits(limits=1):
            result = runner(spec)
        if hasattr(result, "to_dict"):
            result = result.to_dict()
        return dict(result), None, ""
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=20)


# -- results -------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepProgress:
    """What :func:`run_sweep` tells its ``progress`` callback after each spec.

    Attributes
    ----------
    finished
        Specs accounted for so far (done, skipped or failed).
    total
        Specs in the sweep (after removing duplicates).
    spec
        The spec just accounted for.
    outcome
        ``"done"`` (stored by this sweep), ``"skipped"`` (already stored) or ``"failed"``.
    error
        The error message of a failed run.
    done, skipped, failed
        Counts so far.
    """

    finished: int
    total: int
    spec: RunSpec
    outcome: Outcome
    error: str | None
    done: int
    skipped: int
    failed: int


@dataclass(frozen=True)
class SweepResult:
    """The counts of a :func:`run_sweep` call.

    Attributes
    ----------
    total
        Specs in the sweep (duplicates removed).
    done
        Runs executed and stored by this call.
    skipped
        Runs already stored (resumed), or stored meanwhile by another sweep.
    failed
        Runs that raised or whose worker died (stored with status ``"error"``).
    errors
        ``(key, message)`` of each failed run.
    keys
        The keys of all specs, in order.
    executor
        ``"inline"``, ``"processes:K"``, ``"dask:ADDRESS"`` or ``"none"`` (nothing to run).
    wall_time
        Seconds.
    """

    total: int
    done: int
    skipped: int
    failed: int
    errors: tuple[tuple[str, str], ...]
    keys: tuple[str, ...]
    executor: str
    wall_time: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready.

        Examples
        --------
        >>> SweepResult(1, 1, 0, 0, (), ("k",), "inline", 0.5).to_dict()["done"]
        1
        """
        return {
            "total": self.total,
            "done": self.done,
            "skipped": self.skipped,
            "failed": self.failed,
            "errors": [list(e) for e in self.errors],
            "keys": list(self.keys),
            "executor": self.executor,
            "wall_time": self.wall_time,
        }


class _Tracker:
    """Commits outcomes to the store (parent process only) and counts them."""

    def __init__(
        self,
        store: Store,
        total: int,
        retry_failed: bool,
        progress: Callable[[SweepProgress], None] | None,
    ) -> None:
        self.store = store
        self.total = total
        self.retry_failed = retry_failed
        self.progress = progress
        self.done = self.skipped = self.failed = 0
        self.errors: list[tuple[str, str]] = []

    def stored(self, spec: RunSpec) -> bool:
        return self.store.has(spec.key, include_failed=not self.retry_failed)

    def _emit(self, spec: RunSpec, outcome: Outcome, error: str | None) -> None:
        match outcome:
            case "done":
                self.done += 1
            case "skipped":
                self.skipped += 1
            case "failed":
                self.failed += 1
                self.errors.append((spec.key, error or ""))
        if self.progress is not None:
            self.progress(
                SweepProgress(
                    finished=self.done + self.skipped + self.failed,
                    total=self.total,
                    spec=spec,
                    outcome=outcome,
                    error=error,
                    done=self.done,
                    skipped=self.skipped,
                    failed=self.failed,
                )
            )

    def skip(self, spec: RunSpec) -> None:
        self._emit(spec, "skipped", None)

    def fail(self, spec: RunSpec, message: str, detail: str = "") -> None:
        wrote = self.store.put_error(spec, message if not detail else f"{message}\n{detail}")
        if wrote or not self.store.has(spec.key, include_failed=False):
            self._emit(spec, "failed", message)
        else:  # another sweep stored a finished run meanwhile
            self._emit(spec, "skipped", None)

    def finish(self, spec: RunSpec, outcome: _Result) -> None:
        run, error, detail = outcome
        if run is None:
            self.fail(spec, error or "the run failed", detail)
            return
        try:
            wrote = self.store.put(spec, run)
        except ParameterError as exc:  # the runner returned something malformed
            self.fail(spec, f"ParameterError: {exc}")
            return
        self._emit(spec, "done" if wrote else "skipped", None)


# -- executors --------------------------------------------------------------------------------
#: What an executor's ``result_of`` returns when the worker process died under the run.
_CRASHED: Final = (None, "crashed", "")
_CRASH_MESSAGE = (
    "the worker process died while running this run (killed, out of memory or crashed; "
    "runs that shared its pool were retried one at a time, and this one died alone)"
)
#: Times a run is resubmitted after a transient executor failure (lost result, ...).
MAX_RESUBMITS = 3


@dataclass(frozen=True)
class _Resubmit:
    """``result_of`` says: the executor lost this run (not the run's fault); submit it again."""

    message: str


def _drive(
    pending: Sequence[RunSpec],
    tracker: _Tracker,
    submit: Callable[[RunSpec], Any],
    wait_first: Callable[[list[Any]], Iterable[Any]],
    result_of: Callable[[Any], _Result | _Resubmit],
    window: Callable[[], int],
    inflight: dict[Any, RunSpec],
) -> None:
    """Hand out runs ``window()`` at a time; commit each as it finishes.

    ``inflight`` (future -> spec) is the caller's, so that it can cancel what is
    left when interrupted. When ``result_of`` reports :data:`_CRASHED` (a
    process pool lost a worker: every run in flight fails with it), those runs
    become suspects and are rerun one at a time, alone; a suspect that crashes
    alone is the culprit and is recorded as failed. A :class:`_Resubmit` puts the
    run back at the head of the queue, at most :data:`MAX_RESUBMITS` times.
    """
    queue = deque(pending)
    suspects: deque[RunSpec] = deque()
    isolated: RunSpec | None = None
    resubmits: dict[str, int] = {}
    while queue or suspects or inflight:
        if suspects:
            if not inflight:
                isolated = suspects.popleft()
                if tracker.stored(isolated):
                    tracker.skip(isolated)
                    isolated = None
                    continue
                inflight[submit(isolated)] = isolated
        else:
            limit = max(1, window())
            while queue and len(inflight) < limit:
                spec = queue.popleft()
                if tracker.stored(spec):
                    tracker.skip(spec)
                    continue
                inflight[submit(spec)] = spec
        if not inflight:
            continue
        for future in wait_first(list(inflight)):
            spec = inflight.pop(future)
            outcome = result_of(future)
            if isinstance(outcome, _Resubmit):
                resubmits[spec.key] = resubmits.get(spec.key, 0) + 1
                if resubmits[spec.key] <= MAX_RESUBMITS:
                    queue.appendleft(spec)
                else:
                    tracker.fail(spec, f"{outcome.message} (after {MAX_RESUBMITS} resubmissions)")
            elif outcome is _CRASHED:
                if spec is isolated:
                    tracker.fail(spec, _CRASH_MESSAGE)
                else:
                    suspects.append(spec)
            else:
                tracker.finish(spec, outcome)
            if spec is isolated:
                isolated = None


def _run_inline(pending: Sequence[RunSpec], tracker: _Tracker, runner: Runner) -> None:
    for spec in pending:
        if tracker.stored(spec):
            tracker.skip(spec)
        else:
            tracker.finish(spec, _execute(runner, spec))


def missing_main_guard() -> str | None:
    """Why pool workers cannot start, when the running script lacks a ``__main__`` guard.

    Worker processes are *spawned*: each one imports the main script again (as
    ``__mp_main__``), and a script that starts a sweep at its top level, outside
    ``if __name__ == "__main__":``, starts it again in every worker, which Python
    refuses while the worker is still starting. The pool then breaks before any run.
    This reads the main script's syntax tree (``ast``, never executed) and returns
    the message naming the missing guard, or ``None`` when there is a guard, or no
    script (an interactive session, ``python -c``, a notebook).
    """
    import ast
    import sys
    from pathlib import Path

    path = getattr(sys.modules.get("__main__"), "__file__", None)
    if not path or not str(path).endswith(".py"):
        return None
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None
    for node in tree.body:
        if isinstance(node, ast.If):
            test = ast.unparse(node.test)
            if "__name__" in test and "__main__" in test:
                return None
    return (
        f"the worker processes could not start: {path} has no "
        "'if __name__ == \"__main__\":' guard, and every spawned worker re-runs the "
        "script; put the sweep under that guard, or pass workers=1"
    )


def _watch_parent(parent: int) -> None:
    """In a pool worker: exit as soon as the process that started it is gone.

    A parent killed with ``SIGKILL`` cannot stop its pool, and its workers would be
    reparented to PID 1 and keep running; a daemon thread polls the parent's pid.
    """
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="csqbound-parent-watch", daemon=True).start()


def _new_pool(workers: int) -> ProcessPoolExecutor:
    """A spawn pool whose workers die with this process."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_watch_parent,
        initargs=(os.getpid(),),
    )  # fmt: skip


class _Pool:
    """A spawn process pool that replaces itself when a worker dies (its runs in flight fail)."""

    def __init__(self, runner: Runner, workers: int) -> None:
        self.runner, self.workers = runner, workers
        self.pool = _new_pool(workers)
        self.broken = False

    def submit(self, spec: RunSpec) -> Future[Any]:
        """Submit ``spec``; on a broken pool, to a fresh one."""
        if not self.broken:
            try:
                return self.pool.submit(_execute, self.runner, spec)
            except BrokenProcessPool:
                pass
        # a worker died: the old pool is unusable (its runs in flight fail), start a fresh one
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = _new_pool(self.workers)
        self.broken = False
        return self.pool.submit(_execute, self.runner, spec)

    def result_of(self, future: Future[Any]) -> _Result:
        """The result of a finished run; :data:`_CRASHED` when its worker died."""
        try:
            return future.result()  # type: ignore[no-any-return]
        except BrokenProcessPool:
            self.broken = True
            hint = missing_main_guard()
            if hint is not None:  # no worker can start: say why instead of blaming every run
                raise CsqboundError(hint) from None
            return _CRASHED
        except Exception as exc:  # e.g. the spec or the result could not be pickled
            return None, f"{type(exc).__name__}: {exc}", ""

    def window(self) -> int:
        """How many runs to keep in flight: two per worker."""
        return 2 * self.workers


def _wait_first(futures: list[Future[Any]]) -> Iterable[Future[Any]]:
    return futures_wait(futures, return_when=FIRST_COMPLETED).done


def _run_pool(pending: Sequence[RunSpec], tracker: _Tracker, runner: Runner, workers: int) -> None:
    pool = _Pool(runner, workers)
    try:
        _drive(pending, tracker, pool.submit, _wait_first, pool.result_of, pool.window, {})
    except BaseException:
        # interrupted (Ctrl-C, SIGTERM, an error): stop the workers now rather than let
        # them finish (or sleep) behind us; what is stored stays stored
        _terminate(pool.pool)
        raise
    finally:
        pool.pool.shutdown(wait=False, cancel_futures=True)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Kill a process pool's workers (its private process table, the only handle there is)."""
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        if process.is_alive():
            process.terminate()
    for process in list(processes.values()):
        process.join(timeout=5)


def check_dask(address: str) -> int | None:
    """Check a ``dask`` string and that Dask is installed; the local worker count or ``None``.

    Raises
    ------
    BackendUnavailableError
        Dask is not installed.
    ParameterError
        Neither ``"local"``, ``"local:N"`` nor ``"SCHEME://HOST:PORT"``.
    """
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        msg = f"Dask is not installed, so dask={address!r} cannot run: {_DASK_HINT}"
        raise BackendUnavailableError(msg) from exc
    if address == "local" or address.startswith("local:"):
        count = address.partition(":")[2] or str(os.cpu_count() or 1)
        if not count.isdigit() or int(count) < 1:
            msg = f"dask={address!r}: the number of local workers must be a positive integer"
            raise ParameterError(msg)
        return int(count)
    scheme = address.partition("://")[0] if "://" in address else None
    known = _dask_schemes()
    if scheme not in known:
        msg = (
            f"dask={address!r} is neither 'local:N' nor a scheduler address such as "
            f"'tcp://HOST:8786' (schemes: {', '.join(known)})"
        )
        raise ParameterError(msg)
    return None


def _dask_schemes() -> tuple[str, ...]:
    """The address schemes this Dask installation can connect with (``tcp``, ``tls``, ...)."""
    try:
        from distributed.comm.registry import backends
    except ImportError:  # a future layout of distributed: accept the documented ones
        return ("tcp", "tls", "inproc", "ucx", "ws", "wss")
    return tuple(sorted(backends))


def _dask_client(address: str) -> tuple[Any, Any]:
    """``(client, cluster or None)`` for ``"local:N"``, ``"local"`` or a scheduler address."""
    import distributed

    count = check_dask(address)
    if count is not None:
        import logging

        cluster = distributed.LocalCluster(
            n_workers=count,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        return distributed.Client(cluster), cluster
    try:
        return distributed.Client(address, timeout="30s"), None
    except (OSError, ValueError) as exc:  # unreachable, or an address Dask cannot parse
        msg = f"cannot reach the Dask scheduler at {address}: {exc}"
        raise CsqboundError(msg) from exc


def _run_dask(pending: Sequence[RunSpec], tracker: _Tracker, runner: Runner, client: Any) -> None:
    import distributed

    def submit(spec: RunSpec) -> Any:
        return client.submit(_execute, runner, spec, pure=False)

    def result_of(future: Any) -> _Result | _Resubmit:
        try:
            return future.result()  # type: ignore[no-any-return]
        except distributed.KilledWorker as exc:  # the task took down several workers: give up
            return None, f"Dask: {type(exc).__name__}: {exc}", ""
        except Exception as exc:  # a result lost with its worker, a cancelled future, ...
            return _Resubmit(f"Dask: {type(exc).__name__}: {exc}")

    def wait_first(futures: list[Any]) -> Iterable[Any]:
        return distributed.wait(futures, return_when="FIRST_COMPLETED").done  # type: ignore[no-any-return]

    def window() -> int:
        return 2 * max(1, sum(client.nthreads().values()))

    inflight: dict[Any, RunSpec] = {}
    try:
        _drive(pending, tracker, submit, wait_first, result_of, window, inflight)
    finally:
        if inflight:
            client.cancel(list(inflight))


def run_sweep(
    specs: Iterable[RunSpec],
    *,
    store: Store | str | os.PathLike[str],
    workers: int | None = None,
    dask: str | Any | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
    runner: Runner | None = None,
    retry_failed: bool = True,
) -> SweepResult:
    """Run every spec the store does not hold yet; commit each run as it finishes.

    Parameters
    ----------
    specs
        The runs (e.g. from :func:`make_grid`); duplicates are run once.
    store
        A :class:`~csqbound.experiments.store.Store` or the path of one.
    workers
        Local processes (default ``os.cpu_count()``, at most one per pending
        run); ``1`` runs in this process. Not together with ``dask``.
    dask
        ``"local:N"`` (start a local cluster of ``N`` single-thread worker
        processes), ``"tcp://HOST:PORT"`` (an existing scheduler) or a
        ``distributed.Client``.
    progress
        Called with a :class:`SweepProgress` after each spec is accounted for.
    runner
        ``runner(spec) -> run dict`` (default :func:`train_run`). Must be
        picklable (a module-level function) for processes and Dask.
    retry_failed
        Rerun specs stored as failed (status ``"error"``); else skip them.

    Returns
    -------
    SweepResult

    Raises
    ------
    BackendUnavailableError
        ``dask`` given but Dask is not installed (``pip install 'csqbound[dask]'``).
    ParameterError
        For ``workers < 1``, ``workers`` and ``dask`` together, a bad ``dask`` string.
    StoreError
        For a store that cannot be opened or written.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "runs.sqlite")
    >>> grid = make_grid("x1 + x1*x2", [6, 8], 1, {"replicas": 2, "samples": 4000})
    >>> run_sweep(grid, store=path, workers=1).done
    2
    >>> again = run_sweep(grid, store=path, workers=1)    # resume: nothing left to do
    >>> again.done, again.skipped
    (0, 2)
    """
    start = time.perf_counter()
    all_specs = _unique_specs(specs)
    workers = _check_executor(workers, dask)
    run_fn: Runner = train_run if runner is None else runner
    own_store = not isinstance(store, Store)
    db = Store(store) if not isinstance(store, Store) else store
    try:
        tracker = _Tracker(db, len(all_specs), retry_failed, progress)
        pending = _pending(all_specs, db, tracker, retry_failed)
        executor = _dispatch(pending, tracker, run_fn, workers, dask)
        return SweepResult(
            total=len(all_specs),
            done=tracker.done,
            skipped=tracker.skipped,
            failed=tracker.failed,
            errors=tuple(tracker.errors),
            keys=tuple(spec.key for spec in all_specs),
            executor=executor,
            wall_time=time.perf_counter() - start,
        )
    finally:
        if own_store:
            db.close()


def _unique_specs(specs: Iterable[RunSpec]) -> list[RunSpec]:
    """The specs without duplicates (by key, the first kept); refuses anything but a RunSpec."""
    unique: dict[str, RunSpec] = {}
    for spec in specs:
        if not isinstance(spec, RunSpec):
            msg = f"a sweep takes RunSpec objects (see make_grid), got {type(spec).__name__}"
            raise ParameterError(msg)
        unique.setdefault(spec.key, spec)
    return list(unique.values())


def _check_executor(workers: int | None, dask: str | Any | None) -> int | None:
    """Checked ``workers``; refuses it with ``dask``, a non-positive one, a bad or missing Dask."""
    if workers is not None and dask is not None:
        msg = "give workers (local processes) or dask (a cluster), not both"
        raise ParameterError(msg)
    if workers is not None:
        workers = _positive_int("workers", workers)
    if isinstance(dask, str):
        check_dask(dask)  # eagerly: a missing extra or a bad address fails before any work
    return workers


def _pending(
    specs: Sequence[RunSpec], db: Store, tracker: _Tracker, retry_failed: bool
) -> list[RunSpec]:
    """The specs the store does not hold (the others are counted as skipped), longest first."""
    stored = db.keys(include_failed=not retry_failed)
    pending: list[RunSpec] = []
    for spec in specs:
        if spec.key in stored:
            tracker.skip(spec)
        else:
            pending.append(spec)
    pending.sort(key=cost_estimate, reverse=True)  # longest first: the last ones are short
    return pending


def _dispatch(
    pending: list[RunSpec],
    tracker: _Tracker,
    run_fn: Runner,
    workers: int | None,
    dask: str | Any | None,
) -> str:
    """Run ``pending`` on Dask, in processes or inline; the executor's name for the result."""
    if not pending:
        return "none"
    if dask is not None:
        client, cluster = _dask_client(dask) if isinstance(dask, str) else (dask, None)
        executor = f"dask:{client.scheduler.address}"
        try:
            _run_dask(pending, tracker, run_fn, client)
        finally:
            if isinstance(dask, str):
                client.close()
            if cluster is not None:
                cluster.close()
        return executor
    count = min(workers or os.cpu_count() or 1, len(pending))
    if count == 1:
        _run_inline(pending, tracker, run_fn)
        return "inline"
    _run_pool(pending, tracker, run_fn, count)
    return f"processes:{count}"
