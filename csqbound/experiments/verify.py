"""Verify a predicted (or conjectured) exponent end to end: sweep over ``d``, then decide.

:func:`verify` turns one target and a grid of dimensions and seeds into runs
(:func:`~csqbound.experiments.sweep.make_grid`), executes the ones the store
does not hold yet (:func:`~csqbound.experiments.sweep.run_sweep`), reads the
runs of exactly that grid back from the store, and judges the exponent.

The verdict (THEORY.md section 6, ``docs/theory.md`` section 7)
    The headline observable is the end of the hardest stage (per replica, the
    median over that stage's monomials of the first time its coefficient reaches
    half the target's; :attr:`csqbound.sgd.train.Run.stage_end`). The exponent
    ``k0`` tested is the leap's prediction ``max(L - 1, 1)`` with the refined
    polylog power ``q = 1`` when the hardest stage has jump 2 (``d log d``) and 0
    otherwise, or the user's conjecture ``d^K log^Q d``. The verdict is the
    model selection of :func:`~csqbound.experiments.selection.select_exponent`
    between ``k0 - 1, k0, k0 + 1`` with ``q`` a bounded nuisance. The same rule is
    applied to the loss-threshold times at ``0.2 Var f`` and ``0.05 Var f``, which
    are reported beside it; the verdict is called *robust* only when the stage end
    and ``0.2 Var f`` give the same one. The old slope-with-interval fit
    (:func:`~csqbound.experiments.scaling.verdict_from_runs`) and the fit of every
    predicted stage's duration are reported as numbers, not verdicts.

The result is a :class:`Verification`, whose :meth:`~Verification.to_dict` is what
``csqbound verify --format json`` prints.
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from csqbound.display import html_summary, short_repr, to_dataframe
from csqbound.errors import CsqboundError, ParameterError
from csqbound.experiments.scaling import (
    ScalingWarning,
    StageFit,
    Verdict,
    points_from_runs,
    stage_fits_from_runs,
    verdict_from_runs,
)
from csqbound.experiments.selection import Selection, select_exponent
from csqbound.experiments.store import Store, StoredRun
from csqbound.experiments.sweep import (
    RunSpec,
    SweepProgress,
    SweepResult,
    check_dask,
    make_grid,
    run_sweep,
)
from csqbound.progress import as_callback, with_progress

__all__ = ["HEADLINE", "SIDE_OBSERVABLES", "Conjecture", "Verification", "collect", "verify"]

#: The observable the verdict is about.
HEADLINE = "stage_end"
#: Observables judged by the same rule and reported beside the verdict.
SIDE_OBSERVABLES: tuple[str, ...] = ("loss_0.2", "loss_0.05")


@dataclass(frozen=True)
class Conjecture:
    """The law a verification tests: ``n(d) = Theta~(d^exponent log^log_power d)``.

    Attributes
    ----------
    exponent
        ``k0``.
    log_power
        The refined polylog power ``q`` (reported against the fitted one).
    source
        ``"leap"`` (the prediction ``max(L - 1, 1)``) or ``"user"``.
    label
        E.g. ``"d log d"``.
    """

    exponent: float
    log_power: float
    source: str
    label: str

    @classmethod
    def of(
        cls,
        target: str,
        domain: str,
        exponent: float | None,
        log_power: float | None,
        loss: str = "squared",
    ) -> Conjecture:
        """The leap's prediction for ``target``, or the user's ``exponent`` / ``log_power``.

        The prediction is ``d^{max(L-1, 1)}`` (``d log d`` for ``L = 2``) with ``L`` the
        leap that predicts SGD under the training ``loss``
        (:func:`csqbound.prediction.loss_leap`: CSQ for the squared loss, the DLQ leap of
        another loss on boolean data).

        Examples
        --------
        >>> Conjecture.of("x1*x2", "boolean", None, None).label
        'd log d'
        >>> Conjecture.of("x1*x2*x3", "boolean", 1, None)
        Conjecture(exponent=1.0, log_power=0.0, source='user', label='d')
        >>> Conjecture.of("x1*x2*x3 - x1*x2*x4", "boolean", None, None, "absolute").label
        'd log d'
        """
        from csqbound.prediction import loss_leap

        if exponent is None:
            leap = loss_leap(target, domain, loss)
            q = 1.0 if leap == 2 else 0.0
            k = float(max(leap - 1, 1))
            src = "leap" if loss == "squared" else f"DLQ leap ({loss} loss)"
        else:
            k, q, src = _checked(exponent, "exponent"), 0.0, "user"
        if log_power is not None:
            q = _checked(log_power, "log_power", positive=False)
        return cls(k, q, src, _law(k, q))


def _checked(value: object, name: str, *, positive: bool = True) -> float:
    """A finite number of at most 100 in size (positive unless ``positive=False``)."""
    bad = isinstance(value, bool) or not isinstance(value, numbers.Real)
    x = math.nan if bad else float(value)  # type: ignore[arg-type]
    if not math.isfinite(x) or (positive and x <= 0) or abs(x) > 100:
        need = "a positive number" if positive else "a number"
        msg = f"{name} must be {need} of at most 100 in size, got {value!r}"
        raise ParameterError(msg)
    return x


def _law(k: float, q: float) -> str:
    """``d^k log^q d`` as text (``'d'``, ``'d log d'``, ``'d^2'``, ...)."""
    power = "d" if k == 1 else f"d^{k:g}"
    if q == 0:
        return power
    return f"{power} log d" if q == 1 else f"{power} log^{q:g} d"


@dataclass(frozen=True)
class Verification:
    """A verification sweep and its fits.

    Attributes
    ----------
    target, domain
        What was trained.
    ds, seeds
        The grid.
    sweep
        Counts of the sweep (done now, resumed from the store, failed).
    conjecture
        The law tested (the leap's prediction or the user's).
    selection
        The verdict: model selection on the end of the hardest stage.
    side
        The same rule on the loss-threshold times (``"loss_0.2"``, ``"loss_0.05"``).
    verdict
        The old slope-with-interval fit of the stage end (a reported number).
    stages
        One fit per predicted stage (duration against ``d``, ``d log d`` or ``d^{L_j - 1}``).
    runs
        The stored runs of the grid.
    """

    target: str
    domain: str
    ds: tuple[int, ...]
    seeds: tuple[int, ...]
    sweep: SweepResult
    conjecture: Conjecture
    selection: Selection
    side: Mapping[str, Selection] = field(repr=False)
    verdict: Verdict = field(repr=False)
    stages: tuple[StageFit, ...] = field(repr=False)
    runs: tuple[StoredRun, ...] = field(repr=False)

    @property
    def robust(self) -> bool:
        """Whether the stage end and the loss at ``0.2 Var f`` give the same verdict."""
        other = self.side.get("loss_0.2")
        return other is not None and other.verdict == self.selection.verdict

    def _headline(self) -> dict[str, Any]:
        sel = self.selection
        share = sel.shares.get(sel.k0) if sel.shares else None
        return {
            "target": self.target,
            "domain": self.domain,
            "law": self.conjecture.label,
            "verdict": sel.verdict,
            "share_k0": None if share is None else round(float(share), 3),
            "best_k": sel.best_k,
            "q_at_k0": None if sel.q_at_k0 is None else round(float(sel.q_at_k0), 2),
            "robust": self.robust,
            "d": self.ds,
            "seeds": len(self.seeds),
        }

    def __repr__(self) -> str:
        """One line: the verdict and its evidence (the runs are in :attr:`runs`)."""
        return short_repr("Verification", **self._headline())

    def _repr_html_(self) -> str:
        """A compact table for Jupyter: the verdict, then the selection's reason."""
        rows = [*self._headline().items(), ("reason", self.selection.reason)]
        return html_summary(f"csqbound verification of {self.target}", rows)

    def to_dataframe(self) -> Any:
        """One row per ``d``: the headline observable's median, counts and local slope.

        Needs pandas (``pip install 'csqbound[pandas]'``).
        """
        sel = self.selection
        slopes = {s.d_hi: s.slope for s in sel.local_slopes}
        rows = [
            {
                "target": self.target,
                "d": d,
                "usable": d in sel.usable,
                "median_stage_end": sel.medians.get(d),
                "points": sel.points.get(d, 0),
                "censored": sel.censored.get(d, 0),
                "excluded": sel.excluded.get(d, 0),
                "seeds": sel.seeds.get(d, 0),
                "local_slope": slopes.get(d),
            }
            for d in sel.ds
        ]
        columns = ["target", "d", "usable", "median_stage_end", "points", "censored",
                   "excluded", "seeds", "local_slope"]  # fmt: skip
        return to_dataframe(rows, columns)

    def samples_to_learn(self) -> dict[int, dict[int, list[int | None]]]:
        """``d -> seed -> per replica`` samples to learn (``None`` where not learned)."""
        out: dict[int, dict[int, list[int | None]]] = {d: {} for d in self.ds}
        for run in self.runs:
            if not run.failed:
                out[run.d][run.seed] = [None if n is None else int(n) for n in run.samples_to_learn]
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the verdict at the top level, then the evidence, the grid and the fits.

        Keys include ``verdict`` (the selection rule's), ``predicted_exponent`` (the
        exponent tested), ``log_power``, ``robust``, ``selection`` and ``side`` (the
        rule's full records), ``slope``, ``ci`` (the old fit of the stage end), ``d``
        and ``samples_to_learn`` (per ``d``, per seed, one value per replica; ``null``
        where censored or diverged).
        """
        v = self.verdict.to_dict()
        sel = self.selection
        statuses: dict[str, dict[str, int]] = {}
        for run in self.runs:
            counts = statuses.setdefault(str(run.d), {})
            for s in run.status:
                counts[s] = counts.get(s, 0) + 1
        return {
            "target": self.target,
            "domain": self.domain,
            "d": list(self.ds),
            "seeds": list(self.seeds),
            "verdict": sel.verdict,
            "reason": sel.reason,
            "robust": self.robust,
            "observable": HEADLINE,
            "predicted_exponent": self.conjecture.exponent,
            "log_power": self.conjecture.log_power,
            "losses": sorted({str(getattr(r, "loss", "squared")) for r in self.runs}),
            "conjecture": self.conjecture.label,
            "conjecture_source": self.conjecture.source,
            "share": sel.shares.get(sel.k0),
            "best_k": sel.best_k,
            "q_at_k0": sel.q_at_k0,
            "trend_away": sel.trend_away,
            "selection": sel.to_dict(),
            "side": {name: s.to_dict() for name, s in self.side.items()},
            "label": v["label"],
            "slope": v["slope"],
            "ci": v["ci"],
            "d_range_fit": v["d_range_fit"],
            "slope_verdict": v["verdict"],
            "local_slopes": v["local_slopes"],
            "slope_all": v["slope_all"],
            "ci_all": v["ci_all"],
            "per_d": v["per_d"],
            "notes": v["notes"],
            "samples_to_learn": {
                str(d): {str(s): vals for s, vals in per_seed.items()}
                for d, per_seed in self.samples_to_learn().items()
            },
            "status": statuses,
            "stages": [f.to_dict() for f in self.stages],
            "sweep": self.sweep.to_dict(),
        }


@with_progress("sweep", "verify")
def verify(
    target: str,
    domain: str = "boolean",
    *,
    ds: Sequence[int],
    seeds: int | Sequence[int] = 8,
    settings: Mapping[str, Any] | None = None,
    store: Store | str | os.PathLike[str] = "csqbound.sqlite",
    workers: int | None = None,
    dask: str | None = None,
    progress: Callable[[SweepProgress], None] | bool | str | None = "auto",
    resamples: int = 2000,
    exponent: float | None = None,
    log_power: float | None = None,
) -> Verification:
    """Run (or resume) the sweep of ``target`` over ``ds`` x ``seeds`` and judge its exponent.

    Parameters
    ----------
    target
        Expression text (parsed safely).
    domain
        ``"boolean"`` or ``"gaussian"``.
    ds
        Dimensions (each at least the number of variables).
    seeds
        A count ``k`` (seeds ``0..k-1``) or the seeds; each seed is one run of
        ``settings["replicas"]`` replicas, every replica one point of the fit.
    settings
        Keywords of :func:`csqbound.sgd.train.train` (defaults: its own).
    store
        A :class:`~csqbound.experiments.store.Store` or the path of its SQLite file.
    workers, dask
        Executor of the sweep (see :func:`~csqbound.experiments.sweep.run_sweep`).
    progress
        ``"auto"``: a progress bar on stderr when it is a terminal or in Jupyter,
        else one log line per run with an ETA (:mod:`csqbound.progress`);
        ``False`` or ``None``: nothing; a callable: called with a
        :class:`~csqbound.experiments.sweep.SweepProgress` after every run instead.
    resamples
        Bootstrap resamples of the fits.
    exponent, log_power
        A conjectured law ``d^exponent log^log_power d`` to test instead of the
        leap's prediction (``None``: the prediction, with ``q = 1`` for ``d log d``).

    See Also
    --------
    csqbound.sgd.train.train : one run of the sweep.
    csqbound.prediction.predict : the exponent judged by default.
    csqbound.experiments.selection.select_exponent : the decision between exponents.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> db = pathlib.Path(tempfile.mkdtemp()) / "runs.sqlite"
    >>> v = verify("x1 + x1*x2", ds=[8, 16, 32], seeds=2, settings={"samples": 50_000},
    ...            store=db, workers=1, resamples=200)
    >>> v.conjecture.label, sorted(v.samples_to_learn())
    ('d', [8, 16, 32])
    >>> v.selection.verdict        # two seeds and a 4x span are too thin to decide
    'inconclusive'
    >>> verify("x1 + x1*x2", ds=[8, 16, 32], seeds=2, settings={"samples": 50_000},
    ...        store=db, workers=1, resamples=200).sweep.skipped     # resumed
    6
    """
    specs = make_grid(target, list(ds), seeds, dict(settings or {}), domain=domain)
    loss = str(specs[0].settings.get("loss", "squared"))
    conjecture = Conjecture.of(specs[0].target, specs[0].domain, exponent, log_power, loss)
    if dask is not None:
        check_dask(dask)  # a bad address or a missing extra fails before the store is created
    own = store if isinstance(store, Store) else Store(store)
    try:
        result = run_sweep(
            specs, store=own, workers=workers, dask=dask, progress=as_callback(progress)
        )
        return collect(specs, own, result, resamples=resamples, conjecture=conjecture)
    finally:
        if own is not store:
            own.close()


def collect(
    specs: Sequence[RunSpec],
    store: Store,
    sweep: SweepResult,
    *,
    resamples: int = 2000,
    conjecture: Conjecture | None = None,
) -> Verification:
    """Read the runs of ``specs`` (one target) back from ``store`` and judge them.

    Used by :func:`verify` and by ``csqbound report``, which runs the sweeps of all
    its targets at once and then collects each target's runs. ``conjecture``
    defaults to the leap's prediction.
    """
    wanted = sorted({spec.key for spec in specs})
    runs = tuple(
        sorted(
            (r for r in (store.get(k) for k in wanted) if r is not None),
            key=lambda r: (r.d, r.seed),
        )
    )
    usable = [r for r in runs if not r.failed]
    if not usable:
        first = next((r.error for r in runs if r.error), "no run was stored")
        msg = f"every run of {specs[0].target} failed: {str(first).splitlines()[-1]}"
        raise CsqboundError(msg)
    law = conjecture or Conjecture.of(
        specs[0].target, specs[0].domain, None, None, str(specs[0].settings.get("loss", "squared"))
    )

    def judge(observable: str) -> Selection:
        points = points_from_runs(usable, observable)
        chosen = select_exponent(
            points.d, points.n, points.seed, law.exponent, q_expected=law.log_power,
            resamples=resamples, label=observable.replace("_", " "),
        )  # fmt: skip
        return replace(chosen, notes=points.notes + chosen.notes)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingWarning)  # the notes say it
        verdict = verdict_from_runs(
            usable, observable=HEADLINE, resamples=resamples,
            predicted_exponent=law.exponent, divide_by_log=law.log_power == 1,
        )  # fmt: skip
        stages = stage_fits_from_runs(usable, resamples=resamples)
    return Verification(
        target=specs[0].target,
        domain=specs[0].domain,
        ds=tuple(sorted({s.d for s in specs})),
        seeds=tuple(sorted({s.seed for s in specs})),
        sweep=sweep,
        conjecture=law,
        selection=judge(HEADLINE),
        side={name: judge(name) for name in SIDE_OBSERVABLES},
        verdict=verdict,
        stages=stages,
        runs=runs,
    )
