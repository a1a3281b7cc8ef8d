r"""The generative exponent of a gaussian single-index target.

Damian, Pillaud-Vivien, Lee, Bruna (COLT 2024) define, for ``y = sigma(z)`` with
``z = <w, x> ~ N(0, 1)``, the **generative exponent**::

    k* = min{ k >= 1 : zeta_k(Y) = E[h_k(z) | Y] is not a.s. zero },   h_k = He_k / sqrt(k!)

equivalently ``E[zeta_k(Y)^2] > 0``, equivalently the least information exponent
of ``g(y)`` over all ``g`` in ``L^2``. It is at most the information exponent
(take ``g(y) = y``), and SQ / low-degree algorithms need ``d^{k*/2}`` samples on
the rotation class ``{sigma(<w, x>)}`` (their lower and upper bounds), where CSQ
needs ``d^{k/2}`` with the information exponent ``k``.

What csqbound computes (``docs/theory.md``, "The generative exponent", has the proofs):

* **Polynomial links, exactly.** For a non-constant polynomial ``sigma``,
  ``k* = 2`` if ``sigma`` is even and ``k* = 1`` otherwise. A polynomial
  single-index target ``f(x) = sigma(<w, x>)`` is even exactly when ``f(-x) = f(x)``,
  which is decided by exact expansion, so no direction or root is computed.
* **Other links, numerically** (``exact=False``). ``sigma`` is sampled on
  ``[-12, 12]`` and split into monotone branches and flat pieces (atoms of ``Y``).
  For ``y`` in the continuous part the conditional law of ``z`` sits on the
  preimages ``z_r`` of ``y``, one per branch, with weights ``phi(z_r) / |sigma'(z_r)|``;
  on an atom it is the gaussian restricted to the flat pieces. Then
  ``E[zeta_k^2] = E_z[zeta_k(sigma(z))^2]`` by Gauss–Legendre quadrature in ``z``
  (preimages by bisection), and ``k*`` is the least ``k <= max_k`` with
  ``E[zeta_k^2] > tol`` (``tol = 1e-8`` by default; ``E[zeta_k^2] <= 1``). Features
  of ``sigma`` finer than the sampling step (``1e-3``) are not resolved: a jump is
  located by bisection, a branch shorter than two steps is read as a jump.

References
----------
Damian, Pillaud-Vivien, Lee, Bruna. Computational-statistical gaps in Gaussian
single-index models. COLT 2024 (arXiv 2403.05529).
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import sympy

from csqbound.errors import (
    CsqboundError,
    DomainError,
    NotComputableError,
    ParameterError,
    shorten,
)
from csqbound.target import Target

__all__ = [
    "DEFAULT_TOL",
    "GenerativeResult",
    "conditional_hermite",
    "generative_exponent",
    "generative_exponent_of_link",
    "generative_from_iso",
]

#: Default threshold on ``E[zeta_k(Y)^2]`` (normalised Hermite, so ``<= 1``) of the numeric method.
DEFAULT_TOL = 1e-8

#: Half-width of the sampled interval: ``P(|z| > 12) < 4e-33``.
_L = 12.0
#: Sampling points of the link on ``[-L, L]`` (step 1e-3).
_GRID = 24_001
#: Gauss–Legendre panels: at most this long, this many nodes each.
_PANEL = 0.25
_NODES = 24
_MAX_K = 8


@dataclass(frozen=True)
class GenerativeResult:
    """The generative exponent of a single-index target, with how it was obtained.

    Attributes
    ----------
    generative_exponent
        ``k*``; ``None`` when no ``k <= max_k`` is detected (a constant link, or
        ``k* > max_k``).
    information_exponent
        The information exponent of the same target (``None`` if not computed).
    exact
        ``True`` for polynomial links (the parity criterion), ``False`` for the
        numeric method.
    method
        ``"parity"`` or ``"quadrature"``.
    tol
        The threshold on ``E[zeta_k^2]`` (numeric method), else ``None``.
    energies
        Numeric method: ``E[zeta_k(Y)^2]`` for ``k = 1..max_k``.
    note
        Why the value is ``None``, or other remarks.

    Examples
    --------
    >>> r = generative_exponent("He3(x1)", domain="gaussian")
    >>> r.generative_exponent, r.information_exponent, r.exact
    (1, 3, True)
    """

    generative_exponent: int | None
    information_exponent: int | None
    exact: bool
    method: Literal["parity", "quadrature"]
    tol: float | None = None
    energies: tuple[float, ...] = field(default=())
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary.

        Examples
        --------
        >>> generative_exponent("He4(x1)", domain="gaussian").to_dict()["generative_exponent"]
        2
        """
        return {
            "generative_exponent": self.generative_exponent,
            "information_exponent": self.information_exponent,
            "exact": self.exact,
            "method": self.method,
            "tol": self.tol,
            "energies": list(self.energies),
            "note": self.note,
        }


# ---------------------------------------------------------------------------
# exact: polynomial links
# ---------------------------------------------------------------------------
def _is_even(expression: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> bool:
    """Whether the polynomial ``f`` has ``f(-x) = f(x)`` (every term of even total degree)."""
    poly = sympy.Poly(sympy.expand(expression), *symbols)
    return all(sum(m) % 2 == 0 for m, c in poly.terms() if c != 0)


# ---------------------------------------------------------------------------
# numeric: branches of sigma^{-1}
# ---------------------------------------------------------------------------
def _hermite_normalised(z: np.ndarray, k_max: int) -> np.ndarray:
    """``h_k(z) = He_k(z)/sqrt(k!)`` for ``k = 0..k_max``, shape ``(k_max + 1,) + z.shape``."""
    out = np.empty((k_max + 1,) + z.shape)
    out[0] = 1.0
    if k_max >= 1:
        out[1] = z
    for k in range(1, k_max):
        out[k + 1] = z * out[k] - k * out[k - 1]  # He recurrence
    for k in range(k_max + 1):
        out[k] /= math.sqrt(math.factorial(k))
    return out


def _phi(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


@dataclass(frozen=True)
class _Piece:
    a: float
    b: float
    flat: bool
    value: float  # flat pieces


def _call(link: Callable[[np.ndarray], Any], z: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        out = np.asarray(link(np.asarray(z, dtype=float)), dtype=float).reshape(np.shape(z))
    if not np.all(np.isfinite(out)):
        msg = "the link is not finite on [-12, 12]; the generative exponent cannot be integrated"
        raise NotComputableError(msg, "the link takes non-finite values")
    return out


def _bisect(link: Callable[[np.ndarray], Any], lo: Any, hi: Any, test: Callable[[Any], Any]) -> Any:
    """Where ``test(sigma(t))`` turns from False to True in ``[lo, hi]`` (vectorised)."""
    lo = np.array(lo, dtype=float)
    hi = np.array(hi, dtype=float)
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        go = test(_call(link, mid))
        hi = np.where(go, mid, hi)
        lo = np.where(go, lo, mid)
    return 0.5 * (lo + hi)


def _beyond(v: Any, level: Any, sign: float) -> Any:
    """``v >= level`` (``sign = 1``) or ``v <= level`` (``sign = -1``)."""
    return sign * (v - level) >= 0


def _away(v: Any, level: float, eps: float, leaving: bool) -> Any:
    """Whether ``v`` has left the flat value (``leaving``) or reached it (otherwise)."""
    off = np.abs(v - level) > eps
    return off if leaving else ~off


def _signed(t: float, link: Callable[[np.ndarray], Any], sign: float) -> float:
    return sign * float(_call(link, np.array([t]))[0])


def _pieces(link: Callable[[np.ndarray], Any]) -> list[_Piece]:
    """Split ``[-L, L]`` into flat pieces and strictly monotone branches of ``sigma``."""
    from scipy.optimize import minimize_scalar

    zg = np.linspace(-_L, _L, _GRID)
    s = _call(link, zg)
    scale = max(1.0, float(np.max(np.abs(s))))
    eps = 1e-13 * scale
    d = np.diff(s)
    cls = np.where(np.abs(d) <= eps, 0, np.sign(d)).astype(int)
    runs: list[list[int]] = []  # [class, first cell, last cell + 1]
    for j, c in enumerate(cls):
        if runs and runs[-1][0] == c:
            runs[-1][2] = j + 1
        else:
            runs.append([int(c), j, j + 1])
    breaks = [-_L, _L]
    for idx in range(len(runs)):
        c, i0, i1 = runs[idx]
        if c != 0 and i1 - i0 <= 2 and abs(s[i1] - s[i0]) > 1e-3 * scale:
            mid = 0.5 * (s[i0] + s[i1])
            crossed = functools.partial(_beyond, level=mid, sign=1.0 if s[i1] > s[i0] else -1.0)
            breaks.append(float(_bisect(link, zg[i0], zg[i1], crossed)))
            runs[idx][0] = 2  # a jump: neither flat nor a branch
    for left, right in zip(runs, runs[1:], strict=False):
        cl, cr, j = left[0], right[0], left[2]
        if 2 in (cl, cr):
            continue
        if cl == 0 or cr == 0:  # where sigma leaves (or reaches) a flat value
            flat_value = s[j]
            lo, hi = zg[max(j - 1, 0)], zg[min(j + 1, _GRID - 1)]
            away = functools.partial(_away, level=flat_value, eps=eps, leaving=cl == 0)
            t = _bisect(link, lo, hi, away)
            breaks.append(float(t))
        else:  # an extremum between two branches
            turn = 1.0 if cl < 0 else -1.0  # minimum when decreasing then increasing
            lo, hi = zg[max(j - 1, 0)], zg[min(j + 1, _GRID - 1)]
            found = minimize_scalar(
                functools.partial(_signed, link=link, sign=turn),
                bounds=(lo, hi),
                method="bounded",
                options={"xatol": 1e-13},
            )
            breaks.append(float(found.x))
    points = sorted(set(breaks))
    pieces: list[_Piece] = []
    for a, b in zip(points, points[1:], strict=False):
        if b - a <= 1e-12:
            continue
        inner = _call(link, np.linspace(a, b, 9)[1:-1])
        if float(np.ptp(inner)) <= 10 * eps:
            pieces.append(_Piece(a, b, True, float(np.median(inner))))
        else:
            steps = np.diff(inner)
            if not (np.all(steps > 0) or np.all(steps < 0)):
                why = f"the link is not monotone on [{a:.6g}, {b:.6g}] between its turning points"
                msg = f"the generative exponent is not computable: {why}"
                raise NotComputableError(msg, why)
            pieces.append(_Piece(a, b, False, 0.0))
    return pieces


def _gauss_legendre(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    panels = max(1, math.ceil((b - a) / _PANEL))
    x, w = np.polynomial.legendre.leggauss(_NODES)
    edges = np.linspace(a, b, panels + 1)
    half = np.diff(edges) / 2
    mids = (edges[1:] + edges[:-1]) / 2
    nodes = (mids[:, None] + half[:, None] * x[None, :]).ravel()
    weights = (half[:, None] * w[None, :]).ravel()
    return nodes, weights


def _conditional(
    link: Callable[[np.ndarray], Any], pieces: list[_Piece], y: np.ndarray, k_max: int
) -> np.ndarray:
    """``E[h_k(z) | sigma(z) = y]``, ``k = 0..k_max``, continuous part; shape ``(k+1, n)``."""
    num = np.zeros((k_max + 1, y.size))
    den = np.zeros(y.size)
    for piece in pieces:
        if piece.flat:
            continue
        ya, yb = _call(link, np.array([piece.a, piece.b]))
        lo_y, hi_y = min(ya, yb), max(ya, yb)
        inside = (y >= lo_y) & (y <= hi_y)
        if not inside.any():
            continue
        target = y[inside]
        increasing = yb > ya
        crossed = functools.partial(_beyond, level=target, sign=1.0 if increasing else -1.0)
        root = _bisect(
            link, np.full(target.shape, piece.a), np.full(target.shape, piece.b), crossed
        )
        h = 1e-6 * np.maximum(1.0, np.abs(root))
        left = np.maximum(root - h, piece.a)
        right = np.minimum(root + h, piece.b)
        slope = np.abs(_call(link, right) - _call(link, left)) / np.maximum(right - left, 1e-300)
        weight = _phi(root) / np.maximum(slope, 1e-300)
        num[:, inside] += _hermite_normalised(root, k_max) * weight
        den[inside] += weight
    with np.errstate(all="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def _energies(link: Callable[[np.ndarray], Any], k_max: int) -> tuple[list[float], float]:
    """``E[zeta_k(Y)^2]`` for ``k = 1..k_max`` and the probability mass the quadrature saw."""
    pieces = _pieces(link)
    total = np.zeros(k_max + 1)
    mass = 0.0
    atoms: dict[float, list[_Piece]] = {}
    for piece in pieces:
        if piece.flat:
            key = round(piece.value, 12)
            atoms.setdefault(key, []).append(piece)
            continue
        nodes, weights = _gauss_legendre(piece.a, piece.b)
        zeta = _conditional(link, pieces, _call(link, nodes), k_max)
        w = weights * _phi(nodes)
        total += (zeta**2) @ w
        mass += float(w.sum())
    for group in atoms.values():
        m = np.zeros(k_max + 1)
        for piece in group:
            nodes, weights = _gauss_legendre(piece.a, piece.b)
            m += _hermite_normalised(nodes, k_max) @ (weights * _phi(nodes))
        if m[0] > 0:
            total += m**2 / m[0]
            mass += float(m[0])
    return [float(v) for v in total[1:]], mass


def _check_tol(tol: object, max_k: object) -> tuple[float, int]:
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 < float(tol) < 1:
        msg = f"tol must be a number in (0, 1), got {shorten(tol, quote=True)}"
        raise ParameterError(msg)
    if isinstance(max_k, bool) or not isinstance(max_k, int) or not 1 <= max_k <= 12:
        msg = f"max_k must be an integer in 1..12, got {shorten(max_k, quote=True)}"
        raise ParameterError(msg)
    return float(tol), max_k


def generative_exponent_of_link(
    link: Callable[[np.ndarray], Any], *, tol: float = DEFAULT_TOL, max_k: int = _MAX_K
) -> GenerativeResult:
    """The generative exponent of ``y = link(z)``, ``z ~ N(0, 1)``, by quadrature over the branches.

    Parameters
    ----------
    link
        A vectorised function of a float array (``numpy.tanh``, ``numpy.abs``, ...).
    tol
        ``k`` counts when ``E[zeta_k(Y)^2] > tol``.
    max_k
        Largest ``k`` tried (at most 12).

    Returns
    -------
    GenerativeResult
        ``exact=False``, the energies ``E[zeta_k^2]``, ``k = 1..max_k``.

    Raises
    ------
    NotComputableError
        When the link is not finite on ``[-12, 12]`` or cannot be split into
        monotone branches, or the quadrature loses probability mass.

    Examples
    --------
    >>> generative_exponent_of_link(np.tanh).generative_exponent
    1
    >>> r = generative_exponent_of_link(np.abs)
    >>> r.generative_exponent, r.energies[0] < 1e-12
    (2, True)
    """
    tol, max_k = _check_tol(tol, max_k)
    energies, mass = _energies(link, max_k)
    if abs(mass - 1.0) > 1e-6:
        why = f"the quadrature over the branches of the link saw probability {mass:.9f}, not 1"
        msg = f"the generative exponent is not computable: {why}"
        raise NotComputableError(msg, why)
    k = next((i + 1 for i, e in enumerate(energies) if e > tol), None)
    note = None
    if k is None:
        note = (
            f"E[h_k(z) | y] vanishes (below tol={tol:g}) for every k <= {max_k}: "
            "a constant link, or k* > max_k"
        )
    return GenerativeResult(k, None, False, "quadrature", tol, tuple(energies), note)


def conditional_hermite(link: Callable[[np.ndarray], Any], k: int, y: Any) -> np.ndarray:
    """``E[He_k(z) | link(z) = y]`` (unnormalised ``He_k``) at the points ``y``.

    The function behind :func:`generative_exponent_of_link`, exposed for checks
    (e.g. against Monte Carlo: ``E[He_k(z) g(y)] = E[conditional_hermite(..)(y) g(y)]``).
    Values of ``y`` taken on a flat piece of the link (an atom) get the atom's
    conditional mean.

    Examples
    --------
    >>> float(conditional_hermite(np.tanh, 1, [0.5])[0])  # z = artanh(y)
    0.549306...
    """
    _, k = _check_tol(0.5, k)
    pieces = _pieces(link)
    yy = np.atleast_1d(np.asarray(y, dtype=float))
    out = _conditional(link, pieces, yy, k)[k] * math.sqrt(math.factorial(k))
    for value in {p.value for p in pieces if p.flat}:
        at = np.isclose(yy, value, rtol=0, atol=1e-12 * max(1.0, abs(value)))
        if at.any():
            m = np.zeros(k + 1)
            for piece in (p for p in pieces if p.flat and p.value == value):
                nodes, weights = _gauss_legendre(piece.a, piece.b)
                m += _hermite_normalised(nodes, k) @ (weights * _phi(nodes))
            out[at] = m[k] / m[0] * math.sqrt(math.factorial(k))
    return out


# ---------------------------------------------------------------------------
# targets
# ---------------------------------------------------------------------------
def _gaussian_target(x: object, domain: str | None) -> Target:
    if isinstance(x, Target):
        if x.domain != "gaussian":
            msg = "the generative exponent is defined for gaussian targets; got a boolean one"
            raise DomainError(msg)
        return x
    if isinstance(x, str | sympy.Basic):
        if domain not in (None, "gaussian"):
            msg = f"the generative exponent is defined on the gaussian domain, not {domain!r}"
            raise DomainError(msg)
        return Target.coerce(x, "gaussian")  # type: ignore[arg-type]
    msg = (
        f"cannot read a single-index target from {type(x).__name__}: give an expression, a "
        "gaussian Target, or use generative_exponent_of_link for a function"
    )
    raise CsqboundError(msg)


def _not_single_index() -> CsqboundError:
    msg = (
        "the generative exponent is defined for single-index targets sigma(<w, x>); this "
        "target depends on more than one direction"
    )
    return CsqboundError(msg)


def generative_exponent(
    x: object, domain: str | None = "gaussian", *, tol: float = DEFAULT_TOL, max_k: int = _MAX_K
) -> GenerativeResult:
    """The generative exponent ``k*`` of a gaussian single-index target (Damian et al. 2024).

    Parameters
    ----------
    x
        An expression or a gaussian :class:`~csqbound.target.Target` that depends
        on one direction ``w`` only: ``He3(x1)``, ``He4((x1 - x2)/sqrt(2))``,
        ``tanh(x2)``, ``abs(x1)``.
    domain
        ``"gaussian"`` (the only one where it is defined).
    tol, max_k
        The numeric method's threshold and largest ``k``
        (:func:`generative_exponent_of_link`); unused for polynomials.

    Returns
    -------
    GenerativeResult
        Exact (``method="parity"``) for polynomials: ``k* = 2`` for an even
        non-constant polynomial, ``1`` otherwise, ``None`` for a constant.

    Raises
    ------
    CsqboundError
        For a target that is not single-index, a boolean target, bad ``tol``.
    NotComputableError
        When the numeric method cannot integrate the link.

    See Also
    --------
    csqbound.isoleap.information_exponent : the CSQ analogue, never smaller.
    csqbound.isoleap.iso_leap : the rotation-free leap.
    csqbound.dlq.dlq_leap : gradient queries on a loss (boolean).

    Examples
    --------
    >>> [generative_exponent(s).generative_exponent for s in ("He2(x1)", "He3(x1)", "He4(x1)")]
    [2, 1, 2]
    >>> generative_exponent("He4(x1) + He3(x1)").generative_exponent
    1
    >>> r = generative_exponent("He4((x1 - x2)/sqrt(2))")
    >>> r.generative_exponent, r.information_exponent
    (2, 4)
    >>> r = generative_exponent("abs(x1)")
    >>> r.generative_exponent, r.exact, r.tol
    (2, False, 1e-08)
    """
    tol, max_k = _check_tol(tol, max_k)
    target = _gaussian_target(x, domain)
    used = sorted(target.expression.free_symbols, key=lambda s: int(str(s)[1:]))
    if not used:
        return generative_from_iso(target, None)
    from csqbound.isoleap import iso_leap

    iso = None
    if target.is_polynomial or len(used) > 1:
        iso = iso_leap(target)
    elif len(used) == 1:
        try:
            iso = iso_leap(target)
        except CsqboundError:  # pragma: no cover - quadrature limits: no information exponent
            iso = None
    return generative_from_iso(target, iso, tol=tol, max_k=max_k)


def generative_from_iso(
    target: Target, iso: Any, *, tol: float = DEFAULT_TOL, max_k: int = _MAX_K
) -> GenerativeResult:
    """:func:`generative_exponent` when ``iso = iso_leap(target)`` is known (the summaries).

    ``iso`` may be ``None`` for a non-polynomial target of one variable.
    """
    expression = target.expression
    used = sorted(expression.free_symbols, key=lambda s: int(str(s)[1:]))
    if not used:
        return GenerativeResult(
            None, 0, True, "parity", note="a constant target: y carries no information on w"
        )
    if iso is not None and not iso.single_index:
        raise _not_single_index()
    information = None if iso is None else iso.information_exponent
    if target.is_polynomial:
        k = 2 if _is_even(expression, target.symbols) else 1
        return GenerativeResult(k, information, True, "parity")
    if len(used) == 1:
        w = np.zeros(target.variables)
        w[int(str(used[0])[1:]) - 1] = 1.0
    elif iso is None:
        raise _not_single_index()
    else:
        w = np.array([float(c) for c in iso.subspaces[0][0]])
        w = w / np.linalg.norm(w)

    def link(z: np.ndarray) -> np.ndarray:
        flat = np.asarray(z, dtype=float).reshape(-1)
        values = target.evaluate(flat[:, None] * w[None, :])
        return np.asarray(values, dtype=float).reshape(np.shape(z))

    numeric = generative_exponent_of_link(link, tol=tol, max_k=max_k)
    return GenerativeResult(
        numeric.generative_exponent,
        information,
        False,
        "quadrature",
        numeric.tol,
        numeric.energies,
        numeric.note,
    )


#: The label of the SQ reference value on the rotation class.
SQ_LABEL = (
    "reference, not computed by csqbound: SQ / low-degree lower bound d^(k*/2) for the "
    "rotation class, k* the generative exponent (Damian, Pillaud-Vivien, Lee, Bruna, COLT 2024)"
)


def sq_reference(x: object, iso: Any, d: int) -> dict[str, Any]:
    """The SQ reference ``d^{k*/2}`` beside the CSQ one ``d^{k/2}`` (``csqbound csq``).

    ``x`` is what ``csq_bound`` was given (text, Target or Expansion) and ``iso``
    its :func:`~csqbound.isoleap.iso_leap` result (single-index). Keys
    ``generative_exponent``, ``sq_exponent``, ``sq_log10_value``, ``sq_label``
    (``None`` values and a ``generative_note`` when ``k*`` cannot be computed).

    Examples
    --------
    >>> from csqbound.isoleap import iso_leap
    >>> ref = sq_reference("He3(x1)", iso_leap("He3(x1)"), 100)
    >>> ref["generative_exponent"], ref["sq_exponent"], ref["sq_log10_value"]
    (1, 0.5, 1.0)
    """
    out: dict[str, Any] = {"sq_label": SQ_LABEL}
    try:
        result = generative_from_iso(_target_of(x), iso)
    except CsqboundError as exc:
        out.update(generative_exponent=None, sq_exponent=None, sq_log10_value=None)
        out["generative_note"] = f"not computable: {getattr(exc, 'reason', None) or exc}"
        return out
    k = result.generative_exponent
    out["generative_exponent"] = k
    out["sq_exponent"] = None if k is None else k / 2
    out["sq_log10_value"] = None if k is None else (k / 2) * math.log10(d)
    return out


def _target_of(x: object) -> Target:
    """A gaussian Target from text, a Target, or an exact gaussian Expansion."""
    from csqbound.expansion import Expansion
    from csqbound.parsing import symbol

    if isinstance(x, Expansion):
        if not x.exact:
            msg = "the expansion is numeric; give the target itself for its generative exponent"
            raise NotComputableError(msg)
        z = sympy.Symbol("z")
        terms = []
        for mono, c in x.coefficients.items():
            factor = sympy.Integer(1)
            for i, k in mono.powers:
                factor *= sympy.hermite_prob(k, z).subs(z, symbol(i))
            terms.append(sympy.sympify(c) * factor)
        return Target(sympy.expand(sympy.Add(*terms)), "gaussian", x.variables)
    return _gaussian_target(x, None)
