r"""What online SGD is predicted to do: sample and time exponents, stage time scales.

THEORY.md section 6 (the conjecture csqbound tests). Online SGD (one fresh
sample per step, step size ``eta_0 / d``) on a two-layer network learns a
target with leap ``L`` in::

    n(d) = Theta~( d^max(L - 1, 1) )   samples,     time Theta~( d^max(L, 2) )

with ``L`` the leap of THEORY section 2 on the boolean domain and the
rotation-free ``iso_leap`` of section 3 on the gaussian domain (isotropic
initialisation). Training passes through plateaus: a stage of the greedy
witness with jump ``L_j`` costs about

* ``d`` samples when ``L_j <= 1``,
* ``d log d`` when ``L_j = 2``,
* ``d^(L_j - 1)`` when ``L_j >= 3``

(the single-index rates of Ben Arous, Gheissari, Jagannath 2021 for
information exponent ``k = L_j``). Time is samples times ``d`` (one step costs
``O(d)`` per neuron). All curves are up to constants: they are shapes to draw
next to measurements, not numbers to compare with them.

References
----------
Abbe, Boix-Adserà, Misiakiewicz. SGD learning on neural networks: leap
complexity and saddle-to-saddle dynamics. COLT 2023 (arXiv 2302.11055).

Ben Arous, Gheissari, Jagannath. Online stochastic gradient descent on
non-convex losses from high-dimensional inference. JMLR 2021.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from csqbound.errors import ParameterError, shorten
from csqbound.expansion import Expansion, SupportLike
from csqbound.monomial import Domain, check_domain
from csqbound.target import Target

__all__ = ["Prediction", "predict", "prediction_of", "stage_scale", "stage_scale_label"]

#: A curve of ``d`` (scalar or array), up to constants.
Scale = Callable[[Any], Any]


def _as_float(d: Any) -> Any:
    try:
        arr = np.asarray(d, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"d must be a positive number or an array of them, got {shorten(d, quote=True)}"
        raise ParameterError(msg) from exc
    if not np.isfinite(arr).all() or (arr <= 0).any():
        msg = f"d must be positive and finite, got {shorten(d, quote=True)}"
        raise ParameterError(msg)
    return arr


def _finish(value: np.ndarray) -> Any:
    return float(value) if value.ndim == 0 else value


def stage_scale(jump: int) -> Scale:
    """The predicted samples of a stage with this jump, as a function of ``d`` (up to constants).

    ``jump <= 1``: ``d``; ``jump = 2``: ``d log d``; ``jump >= 3``: ``d^(jump - 1)``.
    Works on scalars and numpy arrays.

    Examples
    --------
    >>> stage_scale(1)(100)
    100.0
    >>> round(stage_scale(2)(100), 3)
    460.517
    >>> stage_scale(3)([10, 100])
    array([  100., 10000.])
    """
    if jump <= 1:
        return lambda d: _finish(_as_float(d))
    if jump == 2:
        return lambda d: _finish(_as_float(d) * np.log(_as_float(d)))
    return lambda d: _finish(_as_float(d) ** (jump - 1))


def stage_scale_label(jump: int) -> str:
    """The label of :func:`stage_scale`: ``'d'``, ``'d log d'``, ``'d^2'``, ...

    Examples
    --------
    >>> [stage_scale_label(j) for j in (1, 2, 3, 4)]
    ['d', 'd log d', 'd^2', 'd^3']
    """
    if jump <= 1:
        return "d"
    if jump == 2:
        return "d log d"
    return f"d^{jump - 1}"


def _time_label(leap: int) -> str:
    if leap <= 1:
        return "d^2"
    if leap == 2:
        return "d^2 log d"
    return f"d^{leap}"


@dataclass(frozen=True)
class Prediction:
    """The predicted SGD scaling of a target (THEORY section 6).

    Attributes
    ----------
    domain
        ``"boolean"`` or ``"gaussian"``.
    leap
        ``L``: the leap (boolean) or ``iso_leap`` (gaussian).
    leap_kind
        ``"leap"`` or ``"iso_leap"``.
    samples_exponent
        ``max(L - 1, 1)``.
    time_exponent
        ``max(L, 2)``.
    stage_jumps
        The jump of each predicted stage (plateau), in order.
    stage_labels
        The sample scale of each stage: ``'d'``, ``'d log d'``, ``'d^2'``, ...
    samples_label, time_label
        The overall curves, e.g. ``'d log d'`` and ``'d^2 log d'``.

    Examples
    --------
    >>> p = predict("x1 + x1*x2*x3")
    >>> p.leap, p.samples_exponent, p.time_exponent, p.stage_labels
    (2, 1, 2, ('d', 'd log d'))
    >>> p.samples(100) == stage_scale(2)(100)
    True
    """

    domain: Domain
    leap: int
    leap_kind: str
    samples_exponent: int
    time_exponent: int
    stage_jumps: tuple[int, ...]
    stage_labels: tuple[str, ...]
    samples_label: str
    time_label: str

    @property
    def stage_scales(self) -> tuple[Scale, ...]:
        """The predicted samples of each stage as callables of ``d`` (up to constants)."""
        return tuple(stage_scale(j) for j in self.stage_jumps)

    def samples(self, d: Any) -> Any:
        """The overall predicted sample curve ``n(d)`` (the slowest stage), up to constants.

        Examples
        --------
        >>> predict("x1*x2*x3").samples(10)
        100.0
        """
        return stage_scale(self.leap)(d)

    def time(self, d: Any) -> Any:
        """The predicted time ``d * n(d)``, up to constants.

        Examples
        --------
        >>> predict("x1*x2*x3").time(10)
        1000.0
        """
        return _finish(_as_float(d) * np.asarray(self.samples(d)))

    def stage_samples(self, d: Any) -> tuple[Any, ...]:
        """Each stage's predicted samples at ``d``."""
        return tuple(scale(d) for scale in self.stage_scales)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with labels in place of the callables.

        Examples
        --------
        >>> predict("He3(x1)", "gaussian").to_dict()["samples_label"]
        'd^2'
        """
        return {
            "domain": self.domain,
            "leap": self.leap,
            "leap_kind": self.leap_kind,
            "samples_exponent": self.samples_exponent,
            "time_exponent": self.time_exponent,
            "samples_label": self.samples_label,
            "time_label": self.time_label,
            "stages": [
                {"jump": j, "samples_label": lab}
                for j, lab in zip(self.stage_jumps, self.stage_labels, strict=True)
            ],
        }


def predict(x: SupportLike, domain: str = "boolean") -> Prediction:
    """Predicted SGD sample and time exponents and stage scales (THEORY section 6).

    Parameters
    ----------
    x
        An expression (text or sympy), a :class:`~csqbound.target.Target` or an
        :class:`~csqbound.expansion.Expansion` (their domain wins); on the
        boolean domain also an iterable of monomials.
    domain
        ``"boolean"`` (``L`` = leap) or ``"gaussian"`` (``L`` = ``iso_leap``).

    Returns
    -------
    Prediction

    Raises
    ------
    ParameterError
        For a constant target (nothing to learn).
    ExpansionError
        Gaussian: a non-polynomial target with more than 3 variables (see
        :func:`csqbound.isoleap.iso_leap`).

    See Also
    --------
    prediction_of : the same from a leap already computed.
    csqbound.analysis.analyze : the prediction with the leaps and the CSQ bound.
    csqbound.sgd.train.train : one training run, whose samples to learn this predicts.
    csqbound.experiments.verify.verify : the sweep over ``d`` that tests it.

    Examples
    --------
    >>> p = predict("x1 + x1*x2 + x1*x2*x3")
    >>> p.leap, p.samples_label, p.time_label
    (1, 'd', 'd^2')
    >>> p = predict("x1*x2 + (x1 + x2)/sqrt(2)", "gaussian")  # coordinate leap 1
    >>> p.leap_kind, p.leap, p.stage_labels
    ('iso_leap', 2, ('d', 'd log d'))
    >>> predict("x1*x2*x3*x4").samples_label
    'd^3'
    """
    dom = check_domain(domain)
    if isinstance(x, Expansion | Target):
        dom = x.domain
    if dom == "boolean":
        from csqbound.leaps import leap

        result = leap(x, dom)
        value = result.leap
        stages = result.stage_jumps()
        kind = "leap"
    else:
        from csqbound.isoleap import iso_leap
        from csqbound.leaps import stage_jumps

        iso = iso_leap(x)
        value = iso.iso_leap
        stages = stage_jumps(iso.jumps)
        kind = "iso_leap"
    return prediction_of(dom, value, stages, kind)


def prediction_of(
    domain: Domain, leap_value: int, stage_jumps: Sequence[int], kind: str
) -> Prediction:
    """The prediction from a leap already computed (the pure part of :func:`predict`).

    Parameters
    ----------
    domain
        ``"boolean"`` or ``"gaussian"``.
    leap_value
        ``L``: the leap (boolean) or ``iso_leap`` (gaussian).
    stage_jumps
        The jump of each stage (:meth:`~csqbound.leaps.LeapResult.stage_jumps`, or
        :func:`csqbound.leaps.stage_jumps` of the iso_leap jumps).
    kind
        ``"leap"`` or ``"iso_leap"``.

    Raises
    ------
    ParameterError
        For ``leap_value == 0`` (a constant target: nothing to learn).

    Examples
    --------
    >>> prediction_of("boolean", 3, (3,), "leap").samples_label
    'd^2'
    """
    if leap_value == 0:
        msg = "the target is constant: there is nothing to learn, so no prediction"
        raise ParameterError(msg)
    stages = tuple(stage_jumps)
    return Prediction(
        domain=domain,
        leap=leap_value,
        leap_kind=kind,
        samples_exponent=max(leap_value - 1, 1),
        time_exponent=max(leap_value, 2),
        stage_jumps=stages,
        stage_labels=tuple(stage_scale_label(j) for j in stages),
        samples_label=stage_scale_label(leap_value),
        time_label=_time_label(leap_value),
    )


def loss_leap(x: object, domain: str = "boolean", loss: str = "squared") -> int:
    """The leap that predicts online SGD under ``loss`` (THEORY sections 4 and 6).

    The squared loss's gradients are correlational queries, so its leap is the CSQ
    leap (``leap`` on boolean data, ``iso_leap`` on gaussian data). For another loss
    on boolean data it is the DLQ leap of that loss (:func:`csqbound.dlq.dlq_leap`,
    Joshi, Misiakiewicz, Srebro 2024): what ``E[l'(u, y) chi_S]`` can detect. DLQ
    leaps are computed for the boolean domain only, so a gaussian target keeps its
    CSQ leap under every loss (and ``docs/theory.md`` section 7 says so).

    Examples
    --------
    >>> loss_leap("x1*x2*x3 - x1*x2*x4"), loss_leap("x1*x2*x3 - x1*x2*x4", loss="absolute")
    (3, 2)
    >>> loss_leap("He3(x1)", "gaussian", "absolute")
    3
    """
    if loss == "squared" or check_domain(domain) != "boolean":
        return int(predict(x, domain).leap)
    from csqbound.dlq import dlq_leap

    return int(dlq_leap(x, loss))
