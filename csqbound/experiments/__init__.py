"""Experiments: sweeps of SGD runs, their results store, and scaling fits (THEORY.md section 6).

* :mod:`csqbound.experiments.sweep` — a grid of targets x d x seeds x settings
  becomes independent runs (:class:`~csqbound.experiments.sweep.RunSpec`),
  executed on a local process pool or a Dask cluster
  (:func:`~csqbound.experiments.sweep.run_sweep`).
* :mod:`csqbound.experiments.store` — the SQLite results store: one transaction
  per finished run, keyed by a hash of the run's specification, so a killed
  sweep resumes where it was (:class:`~csqbound.experiments.store.Store`).
* :mod:`csqbound.experiments.scaling` — log-log fits of samples-to-learn against
  ``d`` with bootstrap intervals, censoring at the budget, local slopes, stage
  fits and the :class:`~csqbound.experiments.scaling.Verdict` against the
  predicted exponent ``max(L - 1, 1)``.

Only :mod:`~csqbound.experiments.store` touches files; the fits are pure
functions on numpy arrays.
"""
