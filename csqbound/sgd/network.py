r"""Two-layer networks over an ensemble of replicas, with analytic gradients.

The network (one per replica ``r``; ``N`` hidden units, input dimension ``d``)::

    f_r(x) = sum_{j=1}^{N} a_{rj} * sigma(<w_{rj}, x> + b_{rj})

Parameters are stacked with the replica as the leading axis: ``W`` has shape
``(R, N, d)``, ``b`` and ``a`` shape ``(R, N)``; a batch ``X`` has shape
``(R, B, d)`` (each replica sees its own samples) and the forward pass is one
batched ``xp.matmul``. Every function takes the array namespace ``xp`` and
uses only array-API calls, so the same code runs on numpy, cupy, torch and
array_api_strict.

Initialisation (:func:`init_params`)
    ``w_j ~ N(0, I_d / d)`` (isotropic, so ``<w_j, x> = O(1)`` on both domains
    and the network is rotation invariant in law, THEORY.md section 3);
    ``b_j ~ U[-1, 1]``; ``a_j = +-1/N`` with independent random signs (the
    mean-field scale, so ``f = O(N^{-1/2})`` at initialisation).

Loss and gradients (:func:`loss_and_gradients`)
    Per replica, the loss ``L = (1/B) sum_b rho(f(x_b) - y_b)`` of
    :mod:`csqbound.sgd.losses` (default: squared, ``rho(r) = r^2/2``) and its
    exact gradients, written out by hand (no autograd in the hot loop)::

        e_b       = rho'(f(x_b) - y_b) / B      (squared: (f(x_b) - y_b) / B)
        dL/da_j   = sum_b e_b sigma(h_bj)
        G_bj      = e_b a_j sigma'(h_bj)            h_bj = <w_j, x_b> + b_j
        dL/db_j   = sum_b G_bj
        dL/dw_j   = sum_b G_bj x_b

Steps (:func:`sgd_step`, :func:`sgd_block`)
    :func:`sgd_step` is one step, the reference. :func:`sgd_block`, what
    :mod:`csqbound.sgd.train` runs, does ``k`` steps with the first-layer update
    delayed to the end of the block (the pre-activations of later steps are
    corrected through the block's Gram matrix ``X X^T``): the same SGD up to
    rounding, in products of ``kB`` rows instead of ``B``. The block is exact for
    every loss, not only the squared one: step ``j``'s outputs ``f_j`` are computed
    exactly (its pre-activations corrected for the earlier steps of the block), and
    ``rho'`` is applied to them there; the correction is linear in the earlier
    steps' gradients ``G_s``, whatever nonlinear function of ``f_s`` produced them.

Activations (:data:`ACTIVATIONS`)
    ``"relu"``: ``max(z, 0)``. ``"softplus"``: ``log(1 + e^z)``.
    ``"shifted_softplus"``: ``log(1 + e^{z - 1/2})``. ReLU and softplus are
    ``z/2`` plus an even function, so their odd Hermite coefficients of degree
    ``>= 3`` vanish (tanh, being odd, loses the even ones). Without biases such
    a unit could not correlate with an odd-degree monomial of degree 3 or more;
    the biases ``b_j`` break the symmetry neuron by neuron. The shifted softplus
    breaks it in the activation itself: all its Hermite coefficients are
    non-zero (:func:`hermite_coefficients`; the tests check degrees 0..8).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from csqbound.errors import ParameterError
from csqbound.sgd.losses import loss_derivative, loss_value

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "Params",
    "activate",
    "check_activation",
    "forward",
    "hermite_coefficients",
    "init_params",
    "loss_and_gradients",
    "sgd_block",
    "sgd_step",
    "sigma",
]

Activation = Literal["relu", "softplus", "shifted_softplus"]

#: The activation names the network accepts.
ACTIVATIONS: tuple[str, ...] = ("relu", "softplus", "shifted_softplus")

#: The shift of ``"shifted_softplus"``: ``sigma(z) = softplus(z - SHIFT)``.
SHIFT = 0.5


def check_activation(name: str) -> Activation:
    """Validate an activation name.

    Raises
    ------
    ParameterError
        For a name not in :data:`ACTIVATIONS`.

    Examples
    --------
    >>> check_activation("relu")
    'relu'
    """
    match name:
        case "relu":
            return "relu"
        case "softplus":
            return "softplus"
        case "shifted_softplus":
            return "shifted_softplus"
        case _:
            msg = f"unknown activation {name!r}: use one of {', '.join(ACTIVATIONS)}"
            raise ParameterError(msg)


@dataclass(frozen=True, eq=False)
class Params:
    """The parameters of ``R`` two-layer networks (arrays of one namespace).

    Attributes
    ----------
    W
        First-layer weights, shape ``(R, N, d)``.
    b
        Biases, shape ``(R, N)``.
    a
        Output weights, shape ``(R, N)``.

    A value, as optax's parameters are: :func:`sgd_step` and :func:`sgd_block`
    return new ``Params`` and never write into the arrays they are given, so a
    ``Params`` can be kept (a snapshot, a reference run) while training goes on.

    Examples
    --------
    >>> p = init_params(4, 3, seeds=[0, 1])
    >>> p.replicas, p.width, p.d
    (2, 3, 4)
    """

    W: Any
    b: Any
    a: Any

    @property
    def replicas(self) -> int:
        """``R``."""
        return int(self.W.shape[0])

    @property
    def width(self) -> int:
        """``N``."""
        return int(self.W.shape[1])

    @property
    def d(self) -> int:
        """The input dimension."""
        return int(self.W.shape[2])

    def map(self, function: Any) -> Params:
        """Apply ``function`` to each of ``W, b, a`` (e.g. a transfer)."""
        return Params(function(self.W), function(self.b), function(self.a))


def init_params(
    d: int,
    width: int,
    seeds: Sequence[int | np.random.Generator],
    dtype: str = "float64",
) -> Params:
    """Draw the initial parameters of ``len(seeds)`` replicas on the host (numpy).

    ``w_j ~ N(0, I_d/d)``, ``b_j ~ U[-1, 1]``, ``a_j = +-1/N`` (random signs).
    Replica ``r`` draws, in this order, ``W`` then ``b`` then the signs of
    ``a`` from its own generator ``seeds[r]`` (an int is a seed for
    :func:`numpy.random.default_rng`), in float64, then casts to ``dtype``.

    Parameters
    ----------
    d
        Input dimension.
    width
        Hidden units ``N``.
    seeds
        One seed or generator per replica.
    dtype
        ``"float32"`` or ``"float64"``.

    Returns
    -------
    Params
        numpy arrays; transfer them with :meth:`Params.map`.

    Examples
    --------
    >>> p = init_params(8, 4, seeds=[3])
    >>> p.W.shape, p.b.shape, p.a.shape
    ((1, 4, 8), (1, 4), (1, 4))
    >>> sorted(set(abs(p.a.ravel()).tolist()))
    [0.25]
    """
    if d < 1 or width < 1 or not seeds:
        msg = f"need d >= 1, width >= 1 and at least one seed, got d={d}, width={width}"
        raise ParameterError(msg)
    R = len(seeds)
    W = np.empty((R, width, d))
    b = np.empty((R, width))
    a = np.empty((R, width))
    for r, seed in enumerate(seeds):
        g = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        W[r] = g.standard_normal((width, d)) / math.sqrt(d)
        b[r] = g.uniform(-1.0, 1.0, width)
        a[r] = (1 - 2 * g.integers(0, 2, width)) / width
    dt = np.dtype(dtype)
    return Params(W.astype(dt), b.astype(dt), a.astype(dt))


def sigma(H: Any, activation: str, xp: Any) -> Any:
    """``sigma(H)`` elementwise (without the derivative; see :func:`activate`).

    Examples
    --------
    >>> sigma(np.array([-1.0, 2.0]), "relu", np).tolist()
    [0.0, 2.0]
    """
    match check_activation(activation):
        case "relu":
            return xp.maximum(H, 0.0)
        case "softplus":
            return xp.logaddexp(H, 0.0)
        case "shifted_softplus":
            return xp.logaddexp(H - SHIFT, 0.0)


def activate(H: Any, activation: str, xp: Any) -> tuple[Any, Any]:
    """``sigma(H)`` and ``sigma'(H)`` elementwise.

    Examples
    --------
    >>> Z, D = activate(np.array([-1.0, 0.0, 2.0]), "relu", np)
    >>> Z.tolist(), D.tolist()
    ([0.0, 0.0, 2.0], [0.0, 0.0, 1.0])
    >>> Z, D = activate(np.array([0.0]), "softplus", np)
    >>> float(Z[0]) == math.log(2), float(D[0])
    (True, 0.5)
    """
    match check_activation(activation):
        case "relu":
            Z = xp.maximum(H, 0.0)
            return Z, xp.sign(Z)
        case "softplus":
            Z = xp.logaddexp(H, 0.0)
            return Z, xp.exp(H - Z)
        case "shifted_softplus":
            S = H - SHIFT
            Z = xp.logaddexp(S, 0.0)
            return Z, xp.exp(S - Z)


def _hidden(params: Params, X: Any, xp: Any) -> Any:
    """Pre-activations ``H = X W^T + b``, shape ``(R, B, N)``."""
    return xp.matmul(X, params.W.mT) + params.b[:, None, :]


def forward(params: Params, X: Any, activation: str = "relu", xp: Any = None) -> Any:
    """The outputs ``f_r(x_{rb})``, shape ``(R, B)``.

    Parameters
    ----------
    params
        The ``R`` networks.
    X
        Inputs of shape ``(R, B, d)``: replica ``r`` is evaluated on ``X[r]``.
    activation
        One of :data:`ACTIVATIONS`.
    xp
        The array namespace (default: numpy).

    Examples
    --------
    >>> p = Params(np.ones((1, 2, 3)), np.zeros((1, 2)), np.array([[1.0, -0.5]]))
    >>> forward(p, np.ones((1, 1, 3)))
    array([[1.5]])
    """
    xp = np if xp is None else xp
    Z = sigma(_hidden(params, X, xp), activation, xp)
    return xp.matmul(Z, params.a[:, :, None])[:, :, 0]


def loss_and_gradients(
    params: Params,
    X: Any,
    y: Any,
    activation: str = "relu",
    xp: Any = None,
    *,
    loss: str = "squared",
    delta: float | None = None,
) -> tuple[Any, Params]:
    """Per-replica loss ``(1/B) sum_b rho(f - y)`` and its gradients.

    Parameters
    ----------
    params
        The ``R`` networks.
    X
        Inputs ``(R, B, d)``.
    y
        Targets ``(R, B)``.
    activation
        One of :data:`ACTIVATIONS`.
    xp
        The array namespace (default: numpy).
    loss
        One of :data:`csqbound.sgd.losses.LOSSES` (default ``"squared"``:
        ``(1/2B) sum_b (f - y)^2``).
    delta
        The Huber loss's ``delta`` (``None``: its default).

    Returns
    -------
    loss
        Shape ``(R,)``.
    grads
        :class:`Params` holding ``dL/dW``, ``dL/db``, ``dL/da``.

    Examples
    --------
    >>> p = Params(np.ones((1, 1, 2)), np.zeros((1, 1)), np.ones((1, 1)))
    >>> loss, g = loss_and_gradients(p, np.ones((1, 1, 2)), np.zeros((1, 1)))
    >>> float(loss[0]), g.W.tolist(), g.b.tolist(), g.a.tolist()
    (2.0, [[[2.0, 2.0]]], [[2.0]], [[4.0]])
    """
    xp = np if xp is None else xp
    B = X.shape[1]
    Z, D = activate(_hidden(params, X, xp), activation, xp)
    f = xp.matmul(Z, params.a[:, :, None])
    residual = f - y[:, :, None]
    if loss == "squared":
        value = xp.sum(residual[:, :, 0] ** 2, axis=1) / (2 * B)
    else:
        value = xp.sum(loss_value(residual[:, :, 0], loss, delta, xp), axis=1) / B
    e = loss_derivative(residual, loss, delta, xp) / B
    ga = xp.matmul(e.mT, Z)[:, 0, :]
    G = D * (e * params.a[:, None, :])
    gb = xp.sum(G, axis=1)
    gW = xp.matmul(G.mT, X)
    return value, Params(gW, gb, ga)


def sgd_step(
    params: Params,
    X: Any,
    y: Any,
    scale: Any,
    lr_hidden: float,
    lr_out: float,
    activation: str,
    xp: Any,
    loss: str = "squared",
    delta: float | None = None,
) -> Params:
    """One SGD step of every replica: the new parameters (the reference for :func:`sgd_block`).

    The same gradients as :func:`loss_and_gradients` with ``e = rho'(f - y) * scale``
    instead of ``rho'(f - y) / B``: ``scale`` (shape ``(R, 1, 1)``) is ``1/B`` for a
    training replica and ``0`` for a frozen one, so a frozen replica does not
    move. Then ``W - lr_hidden dW``, ``b - lr_hidden db``, ``a - lr_out da`` (new arrays;
    ``params`` is left as it was).
    ``loss`` and ``delta`` as in :func:`loss_and_gradients`; for the squared loss
    ``e = (f - y) * scale``, the arithmetic of csqbound before losses could be chosen.

    Examples
    --------
    >>> p = Params(np.ones((1, 1, 2)), np.zeros((1, 1)), np.ones((1, 1)))
    >>> X, y, scale = np.ones((1, 1, 2)), np.zeros((1, 1)), np.ones((1, 1, 1))
    >>> q = sgd_step(p, X, y, scale, 0.1, 0.01, "relu", np)
    >>> q.W.tolist(), q.b.tolist(), q.a.tolist()
    ([[[0.8, 0.8]]], [[-0.2]], [[0.96]])
    >>> p.W.tolist()
    [[[1.0, 1.0]]]
    """
    W, b, a = params.W, params.b, params.a
    H = xp.matmul(X, W.mT) + b[:, None, :]
    Z, D = activate(H, activation, xp)
    e = loss_derivative(xp.matmul(Z, a[:, :, None]) - y[:, :, None], loss, delta, xp) * scale
    ga = xp.matmul(e.mT, Z)
    G = D * (e * a[:, None, :])
    return Params(
        W - lr_hidden * xp.matmul(G.mT, X),
        b - lr_hidden * xp.sum(G, axis=1),
        a - lr_out * ga[:, 0, :],
    )


def sgd_block(
    params: Params,
    X: Any,
    y: Any,
    scale: Any,
    lr_hidden: float,
    lr_out: float,
    activation: str,
    xp: Any,
    batch: int,
    loss: str = "squared",
    delta: float | None = None,
) -> Params:
    r"""``k`` SGD steps of every replica (new parameters), the first layer updated at the end.

    The same steps as ``k`` calls of :func:`sgd_step` (equal up to rounding;
    bitwise for ``k = 1``), in fewer and larger matrix products. Step ``j`` of
    the block, on the rows ``X[:, jB:(j+1)B]`` (``B = batch``), needs the
    pre-activations under the weights after steps ``0..j-1``, which differ from
    those at the block's start by rank-``B`` updates. So, with ``C = X X^T + 1``
    and ``G`` the gradients of the pre-activations times ``lr_hidden``::

        H_j = H0_j - C[j, <j] G_{<j}        H0 = X W^T + b    (one product per block)
        W  -= G^T X,   b -= sum_rows G                         (one product per block)

    and only the ``(B, N)``-sized work (:func:`_block_step`) stays per step. The
    first layer is read and written once per block instead of per step; the
    extra work, the Gram matrix, costs ``kB / 2N`` of the rest.

    Parameters
    ----------
    params
        The ``R`` networks (left as they are).
    X, y
        The block's inputs ``(R, kB, d)``, step by step, and targets ``(R, kB)``.
    scale, lr_hidden, lr_out, activation, xp, loss, delta
        As in :func:`sgd_step`. The block is the same SGD for every loss: step
        ``j`` applies ``rho'`` to its own exact outputs, and only the first
        layer's update, linear in the ``G_s``, is delayed.
    batch
        ``B``, samples per step (``X.shape[1]`` is a multiple of it).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.sign(rng.standard_normal((2, 12, 5)))
    >>> y = X[:, :, 0] * X[:, :, 1]
    >>> p = init_params(5, 4, seeds=[0, 1])
    >>> scale = np.full((2, 1, 1), 1 / 3)
    >>> q = sgd_block(p, X, y, scale, 0.4, 0.05, "relu", np, 3)
    >>> for j in range(4):
    ...     rows = slice(3 * j, 3 * j + 3)
    ...     p = sgd_step(p, X[:, rows], y[:, rows], scale, 0.4, 0.05, "relu", np)
    >>> all(np.allclose(u, v, rtol=1e-12) for u, v in ((p.W, q.W), (p.b, q.b), (p.a, q.a)))
    True
    """
    W, b, B = params.W, params.b, batch
    k = int(X.shape[1]) // B
    if k == 1:
        return sgd_step(params, X, y, scale, lr_hidden, lr_out, activation, xp, loss, delta)
    a = xp.asarray(params.a, copy=True)  # updated step by step: this block's own copy
    H = xp.matmul(X, W.mT) + b[:, None, :]
    C = xp.matmul(X, X.mT) + 1.0
    G = xp.empty_like(H)  # lr_hidden dL/dh of every step so far
    step = _BlockStep(activation, loss, delta, lr_hidden, lr_out, xp)
    for j in range(k):
        a = step(j * B, B, H, C, G, a, y, scale)
    return Params(
        W - xp.matmul(G.mT, X), b - xp.matmul(G.mT, xp.ones_like(G[:, :, :1]))[:, :, 0], a
    )


@dataclass(frozen=True)
class _BlockStep:
    """Step ``j`` of :func:`sgd_block`: its corrected pre-activations, ``G_j`` and the new ``a``."""

    activation: str
    loss: str
    delta: float | None
    lr_hidden: float
    lr_out: float
    xp: Any

    def __call__(
        self, start: int, B: int, H: Any, C: Any, G: Any, a: Any, y: Any, scale: Any
    ) -> Any:
        """Write ``G`` of rows ``start:start+B``; return ``a`` after the step (updated in place)."""
        xp, rows = self.xp, slice(start, start + B)
        if start:
            # a contiguous copy of C's rows: the product on a strided slice is ~2x slower
            Cj = xp.asarray(C[:, rows, :start], copy=True)
            Hj = H[:, rows, :] - xp.matmul(Cj, G[:, :start, :])
        else:
            Hj = xp.asarray(H[:, rows, :], copy=True)
        Z, D = _activate_step(Hj, self.activation, xp)
        r = xp.matmul(Z, a[:, :, None]) - y[:, rows, None]
        e = loss_derivative(r, self.loss, self.delta, xp) * scale
        ga = xp.matmul(e.mT, Z)
        G[:, rows, :] = (D * e) * (self.lr_hidden * a)[:, None, :]
        a -= self.lr_out * ga[:, 0, :]
        return a


def _activate_step(H: Any, activation: str, xp: Any) -> tuple[Any, Any]:
    """:func:`activate` for the hot loop: ReLU as ``D = [H > 0]``, ``Z = H D``.

    The same numbers as :func:`activate` for finite ``H`` (``Z`` may hold
    ``-0.0`` where it holds ``0.0``; ``-inf`` gives ``nan``, which the divergence
    check catches as it does the ``inf`` behind it), in three cheap passes:
    numpy's ``maximum`` and ``sign`` cost about five times a comparison or a product.
    """
    if activation == "relu":
        D = xp.astype(H > 0, H.dtype)
        return H * D, D
    return activate(H, activation, xp)


def hermite_coefficients(activation: str, degree: int = 8) -> np.ndarray:
    """Hermite coefficients ``E[sigma(z) He_k(z)] / k!`` of an activation, ``k = 0..degree``.

    ``sigma = sum_k c_k He_k`` in ``L^2(N(0, 1))``. Computed by adaptive
    quadrature (:func:`scipy.integrate.quad`, split at the kink or shift), to
    about ``1e-10``.

    Examples
    --------
    >>> c = hermite_coefficients("relu", 4)
    >>> [round(float(v), 4) for v in c]
    [0.3989, 0.5, 0.1995, 0.0, -0.0166]
    >>> bool(abs(hermite_coefficients("softplus", 3)[3]) < 1e-12)
    True
    """
    from numpy.polynomial.hermite_e import hermeval
    from scipy.integrate import quad

    check_activation(activation)
    breaks = (0.0, SHIFT)
    out = np.empty(degree + 1)
    for k in range(degree + 1):
        basis = [0.0] * k + [1.0]

        def integrand(z: float, basis: list[float] = basis) -> float:
            value, _ = activate(np.asarray(z), activation, np)
            return float(value * hermeval(z, basis) * math.exp(-z * z / 2))

        total = 0.0
        edges = (-40.0, *breaks, 40.0)
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            part, _ = quad(integrand, lo, hi, limit=200, epsabs=1e-13, epsrel=1e-12)
            total += part
        out[k] = total / math.sqrt(2 * math.pi) / math.factorial(k)
    return out
