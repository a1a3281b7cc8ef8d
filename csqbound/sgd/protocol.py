r"""The training protocol: step sizes of both layers, the schedule, and the step rule.

A protocol turns the user's ``eta0`` into the two per-sample steps of online SGD
on ``f(x) = sum_j a_j sigma(<w_j, x> + b_j)`` (``w_j ~ N(0, I/d)``, ``a_j = +-1/N``;
:mod:`csqbound.sgd.network`) and says which layers move when.

First layer
    Step ``eta0 * N / d * s`` on ``w_j`` and ``b_j``. The factor ``N`` compensates
    the ``1/N`` scale of ``a_j``, so a direction ``w_j`` moves by ``O(eta0 s / d)``
    per sample whatever the width: the ``eta = eta0 / d`` of THEORY section 6 when
    ``s = 1``.

Output layer (``output_step``)
    The mean-field step is ``eta0 / (N d) * s``: with it, ``a_j`` (of size ``1/N``)
    moves at the same relative rate as ``w_j``. ``output_step="mean-field"`` uses
    it, a number ``m`` uses ``m`` times it, and ``"width"`` uses ``N`` times it
    (``eta0 / d``: the output layer moves ``N`` times faster than mean-field, the
    behaviour of csqbound before the protocol could be chosen).

Schedule
    ``"joint"``: both layers train together. ``"layerwise"``: as in the theorem of
    Abbe, Boix-Adserà, Misiakiewicz (COLT 2023), phase one trains the first layer
    with the second layer fixed at its initialisation, and phase two fits the
    second layer on the features phase one produced. Phase two is a convex
    problem (a linear regression on ``N`` fixed features); csqbound solves it
    to convergence by ridge regression at every evaluation, on its own sample
    (:mod:`csqbound.sgd.train`), so the curves of a layer-wise run say how good the
    two-phase algorithm would be if phase one were stopped there.

Step rule (``step_rule``)
    ``"1/d"``: ``s = 1``. ``"exponent"``: ``s = min(1, (d / D_REF)^{-(k-2)/2})``
    (:data:`D_REF` ``= 16``) for a predicted exponent ``k >= 3`` (the leap on
    boolean data, ``iso_leap`` on gaussian data) and ``s = 1`` for ``k <= 2``: the
    step ``eta ~ d^{-k/2}`` under which online SGD provably needs ``d^{k-1}``
    samples for information exponent ``k >= 3`` (Ben Arous, Gheissari, Jagannath
    2021). In the search phase the overlap ``m`` with the hidden direction drifts
    by ``eta m^{k-1}`` per sample while the gradient noise (of norm ``sqrt d``)
    spreads and shrinks it by ``eta^2 d m``; in the variable ``u = m sqrt d``
    (``u ~ 1`` at a random start) the drift is ``eta d^{-(k-2)/2} u^{k-1}``, the
    noise variance and the shrinkage ``eta^2 d``. With ``eta = c d^{-k/2}`` all
    three are ``d^{-(k-1)}`` times a function of ``c``: the escape from the saddle
    takes ``d^{k-1}`` samples whatever the constant ``c`` (below the divergence of
    SGD), which is why ``D_REF`` may fix it. At ``eta = eta0 / d`` and ``k >= 3``
    the noise outgrows the drift as ``d`` grows and the proofs do not apply. For
    ``k = 2`` the same balance gives ``eta << 1/d`` (up to a log) and ``d log d``
    samples, so the rule leaves ``k <= 2`` at ``1/d``.

References
----------
Abbe, Boix-Adserà, Misiakiewicz. SGD learning on neural networks: leap
complexity and saddle-to-saddle dynamics. COLT 2023 (arXiv 2302.11055).
Ben Arous, Gheissari, Jagannath. Online stochastic gradient descent on
non-convex losses from high-dimensional inference. JMLR 2021.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal

from csqbound.errors import ParameterError

__all__ = [
    "OUTPUT_STEPS",
    "SCHEDULES",
    "STEP_RULES",
    "OutputStep",
    "Protocol",
    "Schedule",
    "StepRule",
    "check_output_step",
    "check_schedule",
    "check_step_rule",
    "resolve_protocol",
]

Schedule = Literal["joint", "layerwise"]
StepRule = Literal["1/d", "exponent"]

#: Up to this dimension the exponent rule's step is the ``1/d`` step; beyond it the
#: rule is ``s = (d / D_REF)^{-(k-2)/2}``. A constant factor in the step does not change
#: the exponent (module docstring); this one keeps the step at the small ``d`` of a
#: range where ``1/d`` is known to be stable, and the sample cost at large ``d``
#: ``D_REF^{(k-2)/2}`` times smaller than ``s = d^{-(k-2)/2}`` would.
D_REF = 16
#: An output step: a name or a positive multiple of the mean-field step.
OutputStep = str | float

#: The schedules :func:`resolve_protocol` accepts.
SCHEDULES: tuple[str, ...] = ("joint", "layerwise")
#: The step rules :func:`resolve_protocol` accepts.
STEP_RULES: tuple[str, ...] = ("1/d", "exponent")
#: Named output steps (besides a positive number, the multiple of the mean-field step).
OUTPUT_STEPS: tuple[str, ...] = ("mean-field", "width")


def check_schedule(value: object) -> Schedule:
    """Validate a schedule name.

    Examples
    --------
    >>> check_schedule("layerwise")
    'layerwise'
    """
    match value:
        case "joint":
            return "joint"
        case "layerwise":
            return "layerwise"
        case _:
            msg = f"unknown schedule {value!r}: use one of {', '.join(SCHEDULES)}"
            raise ParameterError(msg)


def check_step_rule(value: object) -> StepRule:
    """Validate a step rule name.

    Examples
    --------
    >>> check_step_rule("exponent")
    'exponent'
    """
    match value:
        case "1/d":
            return "1/d"
        case "exponent":
            return "exponent"
        case _:
            msg = f"unknown step rule {value!r}: use one of {', '.join(STEP_RULES)}"
            raise ParameterError(msg)


def check_output_step(value: object) -> OutputStep:
    """Validate an output step: ``"mean-field"``, ``"width"`` or a positive finite multiple.

    Text holding a number (as from a command line or a TOML file) is read as that number.

    Examples
    --------
    >>> check_output_step("mean-field"), check_output_step("8"), check_output_step(0.5)
    ('mean-field', 8.0, 0.5)
    """
    if isinstance(value, str) and value in OUTPUT_STEPS:
        return value
    number: float | None = None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
    if number is None or not math.isfinite(number) or number <= 0:
        msg = (
            f"output_step must be 'mean-field', 'width' or a positive multiple of the "
            f"mean-field step, got {value!r}"
        )
        raise ParameterError(msg)
    return number


@dataclass(frozen=True)
class Protocol:
    """The resolved protocol of one run.

    Attributes
    ----------
    schedule
        ``"joint"`` or ``"layerwise"``.
    output_step
        As given (``"mean-field"``, ``"width"`` or a multiple).
    output_ratio
        The output step as a multiple of the mean-field step ``eta0 / (N d) s``.
    step_rule
        ``"1/d"`` or ``"exponent"``.
    exponent
        The predicted exponent ``k`` the rule used (``None`` for ``"1/d"``).
    step_factor
        ``s``: ``min(1, (d / D_REF)^{-(k-2)/2})`` for the exponent rule at ``k >= 3``, else 1.
    eta0
        The base step.
    lr_hidden, lr_out
        The steps of the first layer (and biases) and of the output layer.
    """

    schedule: Schedule
    output_step: OutputStep
    output_ratio: float
    step_rule: StepRule
    exponent: int | None
    step_factor: float
    eta0: float
    lr_hidden: float
    lr_out: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready.

        Examples
        --------
        >>> resolve_protocol(eta0=0.5, width=64, d=32).to_dict()["output_ratio"]
        1.0
        """
        return {
            "schedule": self.schedule,
            "output_step": self.output_step,
            "output_ratio": self.output_ratio,
            "step_rule": self.step_rule,
            "step_exponent": self.exponent,
            "step_factor": self.step_factor,
            "lr_hidden": self.lr_hidden,
            "lr_out": self.lr_out,
        }


def resolve_protocol(
    *,
    eta0: float,
    width: int,
    d: int,
    schedule: object = "joint",
    output_step: object = "mean-field",
    step_rule: object = "1/d",
    exponent: int | None = None,
) -> Protocol:
    """The steps and schedule of a run (see the module docstring).

    Parameters
    ----------
    eta0
        Base step (``lr`` of :func:`csqbound.sgd.train.train`).
    width, d
        ``N`` and the input dimension.
    schedule
        ``"joint"`` or ``"layerwise"``.
    output_step
        ``"mean-field"``, ``"width"`` or a positive multiple of the mean-field step.
    step_rule
        ``"1/d"`` or ``"exponent"``.
    exponent
        The predicted exponent ``k`` (needed by ``"exponent"``).

    Returns
    -------
    Protocol

    Raises
    ------
    ParameterError
        For an unknown name, a non-positive multiple, or the exponent rule without ``k``.

    Examples
    --------
    >>> p = resolve_protocol(eta0=0.1, width=64, d=256, step_rule="exponent", exponent=3)
    >>> p.step_factor == (256 / 16) ** -0.5, p.lr_out == 0.1 / (64 * 256) * p.step_factor
    (True, True)
    >>> resolve_protocol(eta0=0.5, width=64, d=32, output_step="width").lr_out == 0.5 / 32
    True
    """
    sched = check_schedule(schedule)
    rule = check_step_rule(step_rule)
    out = check_output_step(output_step)
    ratio = 1.0 if out == "mean-field" else float(width) if out == "width" else float(out)
    k: int | None = None
    factor = 1.0
    if rule == "exponent":
        if exponent is None or isinstance(exponent, bool) or int(exponent) < 1:
            msg = "step_rule='exponent' needs the target's predicted exponent (a leap >= 1)"
            raise ParameterError(msg)
        k = int(exponent)
        factor = min(1.0, (float(d) / D_REF) ** (-(k - 2) / 2)) if k >= 3 else 1.0
    return Protocol(
        schedule=sched,
        output_step=out,
        output_ratio=ratio,
        step_rule=rule,
        exponent=k,
        step_factor=factor,
        eta0=float(eta0),
        lr_hidden=eta0 * width / d * factor,
        lr_out=ratio * eta0 / (width * d) * factor,
    )
