r"""Training losses ``ell(y_hat, y)`` and their derivatives in ``y_hat`` (the residual SGD uses).

Every loss here is a function of the residual ``r = y_hat - y`` alone, so it is
given by ``rho(r)`` and its derivative ``rho'(r) = d ell / d y_hat``:

============  ====================================  ===================================
name          ``rho(r)``                            ``rho'(r)`` (the residual of SGD)
============  ====================================  ===================================
squared       ``r^2 / 2``                           ``r``
absolute      ``|r|``                               ``sign(r)`` (``0`` at ``r = 0``)
huber         ``r^2/2`` if ``|r| <= delta``,        ``clip(r, -delta, delta)``
              else ``delta (|r| - delta/2)``
logcosh       ``log cosh r``                        ``tanh r``
============  ====================================  ===================================

:data:`LOSSES` is the one list of their names (the trainer, the sweep, the
command line and report suites all validate through :func:`check_loss`).
``huber`` has one parameter, ``delta > 0`` (default :data:`HUBER_DELTA` ``= 1``,
of the order of the targets' values: ``Var f = 1`` for most catalogued targets);
the other losses take none.

The network's backward pass (:mod:`csqbound.sgd.network`) replaces the residual
``f(x) - y`` of the squared loss by ``rho'(f(x) - y)``; nothing else changes. For the
squared loss the arithmetic is the same as before the loss could be chosen, so a
squared-loss run reproduces, bit for bit, the runs made before.

The absolute loss is not differentiable at ``r = 0``; SGD uses the subgradient
``sign(0) = 0`` there (on real-valued outputs of a network the event has
probability zero). Why the loss can matter at all is the subject of Joshi,
Misiakiewicz, Srebro (NeurIPS 2024): gradient queries of the squared loss are
correlational (CSQ), those of the absolute loss see what statistical queries
(SQ) see, since ``sign(y_hat - y)`` as ``y_hat`` varies spans every function of a
finitely-valued ``y``.

References
----------
Joshi, Misiakiewicz, Srebro. On the complexity of learning sparse functions with
statistical and gradient queries. NeurIPS 2024 (arXiv 2407.05622).
Huber. Robust estimation of a location parameter. Ann. Math. Statist. 1964.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Literal

from csqbound.errors import ParameterError, shorten

__all__ = [
    "HUBER_DELTA",
    "LOSSES",
    "Loss",
    "check_loss",
    "check_loss_parameter",
    "loss_derivative",
    "loss_value",
]

Loss = Literal["squared", "absolute", "huber", "logcosh"]

#: The losses the trainer accepts (the one place they are listed).
LOSSES: tuple[str, ...] = ("squared", "absolute", "huber", "logcosh")

#: The default ``delta`` of the Huber loss (quadratic for ``|r| <= delta``).
HUBER_DELTA = 1.0


def check_loss(name: object) -> Loss:
    """Validate a loss name.

    Raises
    ------
    ParameterError
        For a name not in :data:`LOSSES`.

    Examples
    --------
    >>> check_loss("huber")
    'huber'
    >>> check_loss("foo")
    Traceback (most recent call last):
    ...
    csqbound.errors.ParameterError: unknown loss 'foo': use one of squared, absolute, huber, logcosh
    """
    match name:
        case "squared":
            return "squared"
        case "absolute":
            return "absolute"
        case "huber":
            return "huber"
        case "logcosh":
            return "logcosh"
        case _:
            msg = f"unknown loss {shorten(name, quote=True)}: use one of {', '.join(LOSSES)}"
            raise ParameterError(msg)


def check_loss_parameter(loss: object, huber_delta: object = None) -> float | None:
    """The resolved parameter of ``loss``: Huber's ``delta`` (default :data:`HUBER_DELTA`) or None.

    Raises
    ------
    ParameterError
        For an unknown loss, a ``delta`` that is not a finite number ``> 0``, or a
        ``delta`` given with a loss other than ``"huber"``.

    Examples
    --------
    >>> check_loss_parameter("huber"), check_loss_parameter("huber", 0.5)
    (1.0, 0.5)
    >>> check_loss_parameter("squared") is None
    True
    >>> check_loss_parameter("huber", 0)
    Traceback (most recent call last):
    ...
    csqbound.errors.ParameterError: huber_delta must be a finite number > 0, got 0
    """
    name = check_loss(loss)
    if name != "huber":
        if huber_delta is not None:
            msg = f"huber_delta is a parameter of loss='huber' only, not of loss={name!r}"
            raise ParameterError(msg)
        return None
    if huber_delta is None:
        return HUBER_DELTA
    value: float | None = None
    if isinstance(huber_delta, str):
        try:
            value = float(huber_delta)
        except ValueError:
            value = None
    elif isinstance(huber_delta, numbers.Real) and not isinstance(huber_delta, bool):
        value = float(huber_delta)
    if value is None or not math.isfinite(value) or value <= 0:
        msg = f"huber_delta must be a finite number > 0, got {shorten(huber_delta)}"
        raise ParameterError(msg)
    return value


def loss_derivative(r: Any, loss: str, delta: float | None, xp: Any) -> Any:
    """``rho'(r) = d ell / d y_hat`` elementwise, at the residual ``r = y_hat - y``.

    ``loss="squared"`` returns ``r`` itself (no copy, no arithmetic).

    Examples
    --------
    >>> import numpy as np
    >>> r = np.array([-3.0, -0.5, 0.0, 2.0])
    >>> loss_derivative(r, "absolute", None, np).tolist()
    [-1.0, -1.0, 0.0, 1.0]
    >>> loss_derivative(r, "huber", 1.0, np).tolist()
    [-1.0, -0.5, 0.0, 1.0]
    >>> loss_derivative(np.array([0.0]), "logcosh", None, np).tolist()
    [0.0]
    """
    match check_loss(loss):
        case "squared":
            return r
        case "absolute":
            return xp.sign(r)
        case "huber":
            d = HUBER_DELTA if delta is None else float(delta)
            return xp.clip(r, -d, d)
        case "logcosh":
            return xp.tanh(r)


def loss_value(r: Any, loss: str, delta: float | None, xp: Any) -> Any:
    """``rho(r)`` elementwise (see the module's table).

    ``log cosh r`` is computed as ``|r| + log1p(e^{-2|r|}) - log 2`` (no overflow).

    Examples
    --------
    >>> import numpy as np
    >>> r = np.array([-3.0, 0.5, 2.0])
    >>> loss_value(r, "squared", None, np).tolist(), loss_value(r, "absolute", None, np).tolist()
    ([4.5, 0.125, 2.0], [3.0, 0.5, 2.0])
    >>> loss_value(r, "huber", 1.0, np).tolist()
    [2.5, 0.125, 1.5]
    >>> big = loss_value(np.array([1000.0]), "logcosh", None, np)[0]
    >>> bool(abs(big - (1000 - math.log(2))) < 1e-9)
    True
    """
    match check_loss(loss):
        case "squared":
            return r * r / 2
        case "absolute":
            return xp.abs(r)
        case "huber":
            d = HUBER_DELTA if delta is None else float(delta)
            a = xp.abs(r)
            return xp.where(a <= d, r * r / 2, d * (a - d / 2))
        case "logcosh":
            a = xp.abs(r)
            return a + xp.log1p(xp.exp(-2 * a)) - math.log(2)
