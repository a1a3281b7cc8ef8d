"""Verify a predicted exponent end to end: sweep over ``d`` (or resume it), then fit.

:func:`verify` turns one target and a grid of dimensions and seeds into runs
(:func:`~csqbound.experiments.sweep.make_grid`), executes the ones the store
does not hold yet (:func:`~csqbound.experiments.sweep.run_sweep`), reads the
runs of exactly that grid back from the store, and fits samples-to-learn
against ``d`` (:func:`~csqbound.experiments.scaling.verdict_from_runs`) and each
predicted stage's duration against its scale
(:func:`~csqbound.experiments.scaling.stage_fits_from_runs`). The result is a
:class:`Verification`, whose :meth:`~Verification.to_dict` is what
``csqbound verify --format json`` prints.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from csqbound.errors import CsqboundError
from csqbound.experiments.scaling import (
    StageFit,
    Verdict,
    stage_fits_from_runs,
    verdict_from_runs,
)
from csqbound.experiments.store import Store, StoredRun
from csqbound.experiments.sweep import (
    RunSpec,
    SweepProgress,
    SweepResult,
    make_grid,
    run_sweep,
)

__all__ = ["Verification", "collect", "verify"]


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
    verdict
        The fit of samples-to-learn against ``d`` and its verdict.
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
    verdict: Verdict
    stages: tuple[StageFit, ...]
    runs: tuple[StoredRun, ...] = field(repr=False)

    def samples_to_learn(self) -> dict[int, dict[int, list[int | None]]]:
        """``d -> seed -> per replica`` samples to learn (``None`` where not learned)."""
        out: dict[int, dict[int, list[int | None]]] = {d: {} for d in self.ds}
        for run in self.runs:
            if not run.failed:
                out[run.d][run.seed] = [None if n is None else int(n) for n in run.samples_to_learn]
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the verdict's fields at the top level, plus the grid and the stage fits.

        Keys include ``predicted_exponent``, ``slope``, ``ci`` (two numbers),
        ``verdict``, ``d`` and ``samples_to_learn`` (per ``d``, per seed, one value per
        replica; ``null`` where censored or diverged).
        """
        v = self.verdict.to_dict()
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
            "predicted_exponent": v["predicted_exponent"],
            "label": v["label"],
            "slope": v["slope"],
            "ci": v["ci"],
            "d_range_fit": v["d_range_fit"],
            "verdict": v["verdict"],
            "reason": v["reason"],
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
    progress: Callable[[SweepProgress], None] | None = None,
    resamples: int = 2000,
) -> Verification:
    """Run (or resume) the sweep of ``target`` over ``ds`` x ``seeds`` and fit its exponent.

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
        Called after every run of the sweep.
    resamples
        Bootstrap resamples of the fits.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> db = pathlib.Path(tempfile.mkdtemp()) / "runs.sqlite"
    >>> v = verify("x1 + x1*x2", ds=[8, 16, 32], seeds=2, settings={"samples": 50_000},
    ...            store=db, workers=1, resamples=200)
    >>> v.verdict.predicted_exponent, sorted(v.samples_to_learn())
    (1.0, [8, 16, 32])
    >>> verify("x1 + x1*x2", ds=[8, 16, 32], seeds=2, settings={"samples": 50_000},
    ...        store=db, workers=1, resamples=200).sweep.skipped     # resumed
    6
    """
    specs = make_grid(target, list(ds), seeds, dict(settings or {}), domain=domain)
    own = store if isinstance(store, Store) else Store(store)
    try:
        result = run_sweep(specs, store=own, workers=workers, dask=dask, progress=progress)
        return collect(specs, own, result, resamples=resamples)
    finally:
        if own is not store:
            own.close()


def collect(
    specs: Sequence[RunSpec], store: Store, sweep: SweepResult, *, resamples: int = 2000
) -> Verification:
    """Read the runs of ``specs`` (one target) back from ``store`` and fit them.

    Used by :func:`verify` and by ``csqbound report``, which runs the sweeps of all
    its targets at once and then collects each target's runs.
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
    verdict = verdict_from_runs(usable, resamples=resamples)
    stages = stage_fits_from_runs(usable, resamples=resamples)
    return Verification(
        target=specs[0].target,
        domain=specs[0].domain,
        ds=tuple(sorted({s.d for s in specs})),
        seeds=tuple(sorted({s.seed for s in specs})),
        sweep=sweep,
        verdict=verdict,
        stages=stages,
        runs=runs,
    )
