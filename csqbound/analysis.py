"""Everything csqbound's theory says about one target, computed once.

:func:`analyze` returns one frozen :class:`Analysis`: the expansion, the leap and
its witness, the cover, ``iso_leap`` (gaussian), the registered query leaps
(:data:`csqbound.queries.QUERY_LEAPS`), the predicted SGD exponents and, at a
dimension ``d``, the CSQ bound. Each part is computed on first use from the
parts before it (the expansion once, ``iso_leap`` once) and kept, so the CLI's
``leap`` and ``csq``, the zoo and the report's theory rows render one record
instead of recomputing the leaps per column.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from csqbound.csq import CSQBound, check_dimension, csq_bound, read_tau
from csqbound.errors import ExpansionError, NotComputableError
from csqbound.expansion import Expansion, expand
from csqbound.isoleap import IsoLeapResult, iso_leap
from csqbound.leaps import LeapResult, cover, leap, stage_jumps
from csqbound.prediction import Prediction, prediction_of
from csqbound.queries import QUERY_LEAPS
from csqbound.target import Target

__all__ = ["Analysis", "analyze"]

#: What "cannot be computed here" looks like: such a part is ``None``, with its reason.
_NOT_COMPUTABLE = (NotComputableError, ExpansionError)


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "reason", None) or exc)


@dataclass(frozen=True)
class Analysis:
    """The theory of one target; parts are computed on first access, once.

    Attributes
    ----------
    target
        The :class:`~csqbound.target.Target`.
    d, tau
        The dimension and tolerance of the CSQ bound (``d`` ``None``: no bound).

    Examples
    --------
    >>> a = analyze("x1 + x1*x2*x3", d=64)
    >>> a.leap.leap, a.cover, a.query_leaps["csq_leap"], a.prediction.samples_label
    (2, 3, 2, 'd log d')
    >>> a.csq.exponent
    2
    """

    target: Target
    d: int | None = None
    tau: Fraction = Fraction(1, 100)

    @functools.cached_property
    def expansion(self) -> Expansion:
        """The expansion of the target in the basis of its domain."""
        return expand(self.target)

    @functools.cached_property
    def leap(self) -> LeapResult:
        """The leap with its greedy witness (THEORY section 2)."""
        return leap(self.expansion)

    @functools.cached_property
    def cover(self) -> int:
        """The cover exponent."""
        return cover(self.expansion)

    @functools.cached_property
    def _iso(self) -> IsoLeapResult | Exception | None:
        if self.target.domain != "gaussian":
            return None
        try:
            return iso_leap(self.expansion)
        except _NOT_COMPUTABLE as exc:
            return exc

    @property
    def iso_leap(self) -> IsoLeapResult | None:
        """The rotation-free leap (gaussian); ``None`` if boolean or not computable."""
        return self._iso if isinstance(self._iso, IsoLeapResult) else None

    @functools.cached_property
    def _query_leaps(self) -> tuple[dict[str, int | None], dict[str, str]]:
        values: dict[str, int | None] = {}
        errors: dict[str, str] = {}
        for name, query in QUERY_LEAPS.items():
            values[name] = None
            if self.target.domain not in query.domains:
                continue
            try:
                values[name] = query.compute(self.target, self.expansion)
            except _NOT_COMPUTABLE as exc:
                errors[name] = _reason(exc)
        return values, errors

    @property
    def query_leaps(self) -> Mapping[str, int | None]:
        """Every registered query leap by name (``None`` off its domains or if not computable)."""
        return self._query_leaps[0]

    @property
    def not_computable(self) -> Mapping[str, str]:
        """Why a leap could not be computed, by name (``iso_leap`` and the query leaps)."""
        errors = dict(self._query_leaps[1]) if self.target.domain == "boolean" else {}
        if isinstance(self._iso, Exception):
            errors["iso_leap"] = _reason(self._iso)
        return errors

    @functools.cached_property
    def _prediction(self) -> Prediction | Exception:
        if self.target.domain == "boolean":
            return prediction_of("boolean", self.leap.leap, self.leap.stage_jumps(), "leap")
        if isinstance(self._iso, Exception):
            return self._iso
        iso = self.iso_leap
        assert iso is not None
        return prediction_of("gaussian", iso.iso_leap, stage_jumps(iso.jumps), "iso_leap")

    @property
    def prediction(self) -> Prediction | None:
        """The predicted SGD exponents (THEORY section 6), ``None`` if not computable."""
        return self._prediction if isinstance(self._prediction, Prediction) else None

    def predicted(self) -> Prediction:
        """The prediction, or the error that prevented it, raised."""
        if isinstance(self._prediction, Exception):
            raise self._prediction
        return self._prediction

    @property
    def prediction_error(self) -> str | None:
        """Why there is no prediction (``iso_leap`` beyond its limits), else ``None``."""
        return str(self._prediction) if isinstance(self._prediction, Exception) else None

    @functools.cached_property
    def csq(self) -> CSQBound:
        """The stage-wise CSQ bound at ``d`` and ``tau`` (THEORY section 5)."""
        if self.d is None:
            msg = "this analysis has no dimension d: give analyze(..., d=...) for the CSQ bound"
            raise ValueError(msg)
        return csq_bound(
            self.expansion, d=self.d, tau=self.tau, domain=self.target.domain, iso=self.iso_leap
        )


def analyze(
    target: Any, *, d: int | None = None, tau: object = "0.01", domain: str = "boolean"
) -> Analysis:
    """The theory of one target: expansion, leaps, prediction and CSQ bound, each computed once.

    Parameters
    ----------
    target
        Text (parsed safely), a sympy expression or a :class:`~csqbound.target.Target`
        (its domain wins).
    d
        The dimension of the CSQ bound (``P <= d``); ``None`` when no bound is wanted.
    tau
        The CSQ tolerance, read exactly (as for :func:`csqbound.csq_bound`).
    domain
        The domain of text and sympy input.

    Returns
    -------
    Analysis

    Raises
    ------
    ParameterError
        For an unreadable ``d`` or ``tau`` (checked at once, before any expansion).

    See Also
    --------
    csqbound.report.summary.leap_summary, csqbound.report.summary.zoo_records :
        records rendered from an analysis.

    Examples
    --------
    >>> a = analyze("He3(x1)", domain="gaussian", d=1000)
    >>> a.iso_leap.iso_leap, a.prediction.samples_exponent, a.csq.exponent
    (3, 2, 1)
    """
    tgt = target if isinstance(target, Target) else Target.coerce(target, domain)
    return Analysis(tgt, None if d is None else check_dimension(d), read_tau(tau))
