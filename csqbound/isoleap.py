r"""The rotation-free leap of a gaussian target (``iso_leap``) and its information exponent.

Gaussian inputs ``x ~ N(0, I)`` are rotation invariant, and so is a network with
isotropic initialisation, so the exponent that predicts online SGD on gaussian
data must not depend on the basis. :func:`iso_leap` is the basis-free leap of
THEORY.md section 3, a greedy over *subspaces* instead of coordinates:

1. ``V = {0}``.
2. Split ``x = x_V + w`` with ``w`` the component in ``V^perp``. Conditionally
   on ``x_V``, expand ``f`` in Hermite polynomials of ``w``; let ``k >= 1`` be the
   least ``w``-degree with a coefficient that is not identically zero (as a
   function of ``x_V``); the degree-``k`` coefficients form a symmetric tensor
   ``T_k(x_V)`` over ``V^perp``.
3. ``V <- V + span(T_k)`` (the column space of the flattening ``T_k[:, i2..ik]``
   over all values of ``x_V``), record the jump ``k``, and repeat until ``f``
   depends on ``x_V`` only.

``iso_leap`` is the largest jump and the chain ``V_1 < V_2 < ...`` its witness.
The first jump is the **information exponent** (Ben Arous, Gheissari,
Jagannath 2021): for a single-index ``sigma(<u, x>)`` the least ``k >= 1`` with
``E[sigma(z) He_k(z)] != 0``.

How it is computed. Keep a basis ``B`` of ``V`` (columns in ``x``-coordinates)
and the projectors ``P_V = B (B^T B)^{-1} B^T``, ``P_perp = I - P_V``; both are
exact when ``B`` is. Write ``x = B a + P_perp z`` with ``z ~ N(0, I_P)``: then
``w = P_perp z ~ N(0, P_perp)`` is independent of ``x_V = B a``, and by
Gaussian integration by parts (``E[g(z) He_gamma(z)] = E[d^gamma g(z)]``) the
degree-``k`` Hermite tensor of ``g(a, z) = f(B a + P_perp z)`` in ``z`` is::

    T_k(a)[i1..ik] = E_z[ d_{z_i1} ... d_{z_ik} g(a, z) ] / k!

which is ``P_perp^{(x)k}`` applied to the tensor in any orthonormal basis of
``V^perp`` — zero exactly when that one is, with the same column space (it
lies in ``V^perp``). For a polynomial ``f`` the expectation is exact through the
moments ``E z^n = (n - 1)!!`` (``n`` even), so the whole greedy runs in exact
arithmetic over the coefficient field of ``f`` (the rationals, or an algebraic
extension such as ``QQ<sqrt(2)>``) with sympy's domains; each new block of
directions is the row-reduced basis of ``span(T_k)``, so the bases stay
rational whenever the target is.

For non-polynomial targets on ``P <= 3`` variables the numeric Hermite
expansion (Gauss–Hermite quadrature up to ``max_degree``) is the polynomial
surrogate, and the same greedy runs in floating point with an explicit
tolerance ``tol``: a tensor whose Hermite norm is ``<= tol * ||f||`` counts as
zero, and a direction of ``span(T_k)`` is kept when the energy of ``T_k`` along
it exceeds ``(tol * ||f||)^2`` (``exact=False``, ``tol`` reported).

This is *not* the minimum over rotations of the coordinate leap (in a generic
basis every direction touches every coordinate, and that minimum can fall far
below what SGD pays); it equals the coordinate leap (gaussian, degree-weighted)
in an orthonormal basis adapted to its chain (``proofs_checks/check_iso_rotation.py``).

References
----------
Abbe, Boix-Adserà, Misiakiewicz. SGD learning on neural networks: leap
complexity and saddle-to-saddle dynamics. COLT 2023 (arXiv 2302.11055).

Ben Arous, Gheissari, Jagannath. Online stochastic gradient descent on
non-convex losses from high-dimensional inference. JMLR 2021.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from csqbound import limits
from csqbound._polyutils import DEFAULT_TOL
from csqbound._validation import as_float
from csqbound.errors import CsqboundError, ExpansionError, ParameterError
from csqbound.expansion import Expansion, TargetLike, as_target, gaussian_expansion
from csqbound.monomial import Monomial

__all__ = [
    "MAX_EXACT_VARIABLES",
    "MAX_NUMERIC_VARIABLES",
    "IsoLeapResult",
    "information_exponent",
    "iso_leap",
    "subspace_greedy",
]

#: Largest ``P`` of an exact (polynomial) target; the exact algebra grows fast beyond
#: (:data:`csqbound.limits.MAX_EXACT_ISO_VARIABLES`).
MAX_EXACT_VARIABLES = limits.MAX_EXACT_ISO_VARIABLES

#: Largest ``P`` of a non-polynomial target (numeric surrogate from quadrature)
#: (:data:`csqbound.limits.MAX_NUMERIC_ISO_VARIABLES`).
MAX_NUMERIC_VARIABLES = limits.MAX_NUMERIC_ISO_VARIABLES

#: A polynomial: exponent tuple -> coefficient (a field element or a float).
_Poly = dict[tuple[int, ...], Any]


@dataclass(frozen=True)
class IsoLeapResult:
    """The rotation-free leap of a gaussian target with its witness chain of subspaces.

    Attributes
    ----------
    iso_leap
        The largest jump (0 for a constant target).
    jumps
        The jump ``k`` of each step of the subspace greedy.
    subspaces
        The witness chain ``V_1 < V_2 < ...``: for each step, a basis of the
        cumulative subspace, as a tuple of vectors of length ``P`` in
        ``x``-coordinates. The vectors of step ``j`` are those of step ``j - 1``
        followed by the new block, which is orthogonal to ``V_{j-1}``. Exact
        results hold sympy numbers (rational when the target is), numeric ones
        floats (orthonormal).
    dims
        ``dim V_j`` for each step.
    exact
        Whether the computation was exact (polynomial target with exact coefficients).
    tol
        The tolerance of the numeric greedy; ``None`` when exact.
    variables
        ``P``.

    Examples
    --------
    >>> r = iso_leap("x1*x2 + (x1 + x2)/sqrt(2)")
    >>> r.iso_leap, r.jumps, r.dims
    (2, (1, 2), (1, 2))
    >>> r.subspaces[0]
    ((1, 1),)
    >>> r.information_exponent, r.single_index
    (1, False)
    """

    iso_leap: int
    jumps: tuple[int, ...]
    subspaces: tuple[tuple[tuple[Any, ...], ...], ...]
    dims: tuple[int, ...]
    exact: bool
    tol: float | None
    variables: int

    @property
    def information_exponent(self) -> int:
        """The first jump (0 for a constant target)."""
        return self.jumps[0] if self.jumps else 0

    @property
    def single_index(self) -> bool:
        """Whether the target depends on a one-dimensional subspace only."""
        return bool(self.dims) and self.dims[-1] == 1

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (vectors as strings when exact).

        Examples
        --------
        >>> iso_leap("He3(x1)").to_dict()["subspaces"]
        [[['1']]]
        """

        def show(value: Any) -> Any:
            return sympy.sstr(value) if self.exact else float(value)

        return {
            "iso_leap": self.iso_leap,
            "information_exponent": self.information_exponent,
            "jumps": list(self.jumps),
            "dims": list(self.dims),
            "subspaces": [[[show(c) for c in vec] for vec in basis] for basis in self.subspaces],
            "exact": self.exact,
            "tol": self.tol,
            "variables": self.variables,
        }


# ---------------------------------------------------------------------------
# polynomial kernel (coefficients: elements of a sympy field, or floats)
# ---------------------------------------------------------------------------
def _double_factorial_odd(n: int) -> int:
    """``(n - 1)!!`` for even ``n >= 0``: the Gaussian moment ``E z^n``."""
    return math.prod(range(n - 1, 0, -2))


@functools.lru_cache(maxsize=256)
def _hermite_monomial_coefficients(n: int) -> dict[int, int]:
    """``He_n(x) = sum_j (-1)^j n! / (j! 2^j (n-2j)!) x^(n-2j)`` as ``{power: coefficient}``."""
    return {
        n - 2 * j: (-1) ** j
        * math.factorial(n)
        // (math.factorial(j) * 2**j * math.factorial(n - 2 * j))
        for j in range(n // 2 + 1)
    }


def _power_terms(mono: Monomial, p: int) -> list[tuple[tuple[int, ...], int]]:
    """``He_alpha`` in the power basis: ``[(exponents, integer coefficient)]``."""
    terms: list[tuple[tuple[int, ...], int]] = [((0,) * p, 1)]
    for coordinate, degree in mono.powers:
        table = _hermite_monomial_coefficients(degree)
        new_terms = []
        for exps, c in terms:
            for power, h in table.items():
                e = list(exps)
                e[coordinate - 1] = power
                new_terms.append((tuple(e), c * h))
        terms = new_terms
    return terms


def _hermite_to_power_basis(
    coefficients: Mapping[Monomial, Any], p: int, lift: Callable[[Any], Any], zero: Any
) -> _Poly:
    """Convert ``sum_alpha c_alpha He_alpha`` to ``{exponents: coefficient}`` in ``x1..xP``.

    Rational coefficients are put on one denominator and summed as Python ints
    (ten times faster than field arithmetic per term); other fields term by term.
    """
    lifted = {mono: lift(coef) for mono, coef in coefficients.items()}
    if all(isinstance(getattr(c, "denominator", None), int) for c in lifted.values()):
        denominator = math.lcm(*(c.denominator for c in lifted.values()))
        acc: dict[tuple[int, ...], int] = {}
        for mono, c0 in lifted.items():
            scale = int(c0.numerator) * (denominator // c0.denominator)
            for exps, c in _power_terms(mono, p):
                acc[exps] = acc.get(exps, 0) + scale * c
        return {e: lift(sympy.Rational(v, denominator)) for e, v in acc.items() if v}
    out: _Poly = {}
    for mono, c0 in lifted.items():
        for exps, c in _power_terms(mono, p):
            out[exps] = out.get(exps, zero) + c0 * c
    return {e: c for e, c in out.items() if c}


def _mul(left: _Poly, right: _Poly) -> _Poly:
    out: _Poly = {}
    for e1, c1 in left.items():
        for e2, c2 in right.items():
            e = tuple(a + b for a, b in zip(e1, e2, strict=True))
            if e in out:
                out[e] = out[e] + c1 * c2
            else:
                out[e] = c1 * c2
    return {e: c for e, c in out.items() if c}


def _compose_cost(f: _Poly, forms: Sequence[_Poly], budget: int) -> int:
    """Coefficient products :func:`_compose` would make, estimated (stops past ``budget``).

    Term ``prod_i x_i^(n_i)`` of ``f`` costs the product of the sizes of the powers
    ``L_i^(n_i)``; a power of a form with ``s`` terms has at most ``C(s + n - 1, n)``.
    """
    total = 0
    for exps in f:
        cost = 1
        for i, n in enumerate(exps):
            if n:
                cost *= math.comb(len(forms[i]) + n - 1, n)
        total += cost
        if total > budget:
            break
    return total


def _compose(f: _Poly, forms: Sequence[_Poly], nvars: int, one: Any) -> _Poly:
    """``f(L_1, ..., L_P)`` for polynomials ``L_i`` in ``nvars`` variables."""
    cache: dict[tuple[int, int], _Poly] = {}

    def power(i: int, n: int) -> _Poly:
        if n == 0:
            return {(0,) * nvars: one}
        key = (i, n)
        if key not in cache:
            cache[key] = _mul(power(i, n - 1), forms[i])
        return cache[key]

    out: _Poly = {}
    for exps, coef in f.items():
        term: _Poly = {(0,) * nvars: coef}
        for i, n in enumerate(exps):
            if n:
                term = _mul(term, power(i, n))
        for e, c in term.items():
            out[e] = out[e] + c if e in out else c
    return {e: c for e, c in out.items() if c}


def _sub_indices(gamma: tuple[int, ...], k: int) -> Iterator[tuple[int, ...]]:
    """``gamma' <= gamma`` with ``|gamma'| = k`` and ``gamma - gamma'`` even everywhere."""
    n = len(gamma)
    suffix = [0] * (n + 1)
    for i in range(n - 1, -1, -1):
        suffix[i] = suffix[i + 1] + gamma[i]

    def rec(i: int, left: int, acc: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
        if i == n:
            if left == 0:
                yield acc
            return
        g = gamma[i]
        for c in range(g, -1, -2):
            rest = left - c
            if 0 <= rest <= suffix[i + 1]:
                yield from rec(i + 1, rest, (*acc, c))

    yield from rec(0, k, ())


def _hermite_tensor(
    g: _Poly, v: int, k: int, lift: Callable[[Any], Any], zero: Any
) -> dict[tuple[int, ...], dict[tuple[int, ...], Any]]:
    """``E_z[d^gamma' g(a, z)]`` for every ``|gamma'| = k``, as polynomials in ``a``.

    ``g`` has ``v`` variables ``a`` followed by ``P`` variables ``z``. Returns
    ``{gamma': {beta: coefficient of a^beta}}`` with only non-zero entries.
    """
    out: dict[tuple[int, ...], dict[tuple[int, ...], Any]] = {}
    for exps, coef in g.items():
        beta, gamma = exps[:v], exps[v:]
        total = sum(gamma)
        if total < k or (total - k) % 2:
            continue
        for gp in _sub_indices(gamma, k):
            factor = 1
            for gi, gpi in zip(gamma, gp, strict=True):
                factor *= (math.factorial(gi) // math.factorial(gi - gpi)) * _double_factorial_odd(
                    gi - gpi
                )
            row = out.setdefault(gp, {})
            value = coef * lift(factor)
            row[beta] = row[beta] + value if beta in row else value
    cleaned: dict[tuple[int, ...], dict[tuple[int, ...], Any]] = {}
    for gp, row in out.items():
        kept = {b: c for b, c in row.items() if c}
        if kept:
            cleaned[gp] = kept
    del zero
    return cleaned


def _flattening_columns(
    tensor: Mapping[tuple[int, ...], Mapping[tuple[int, ...], Any]], p: int, zero: Any
) -> list[list[Any]]:
    """The columns ``T[:, i2..ik]`` (one per (k-1)-multiset and ``a``-monomial), as lists."""
    columns: dict[tuple[tuple[int, ...], tuple[int, ...]], list[Any]] = {}
    for gp, row in tensor.items():
        for i in range(p):
            if gp[i] == 0:
                continue
            rest = gp[:i] + (gp[i] - 1,) + gp[i + 1 :]
            for beta, c in row.items():
                col = columns.setdefault((rest, beta), [zero] * p)
                col[i] = c
    return list(columns.values())


def _max_z_degree(g: _Poly, v: int) -> int:
    return max((sum(e[v:]) for e in g), default=0)


def subspace_greedy(
    coefficients: Mapping[Monomial, Any], variables: int
) -> tuple[list[int], list[list[list[Any]]]]:
    """The exact subspace greedy of THEORY section 3 on a Hermite expansion (pure kernel).

    Parameters
    ----------
    coefficients
        Hermite coefficients ``{alpha: c_alpha}`` of a polynomial, exact sympy
        numbers (rational, algebraic, or in a field of constants such as ``QQ(pi)``).
    variables
        ``P``.

    Returns
    -------
    jumps : list of int
        The jump of each step.
    blocks : list
        For each step, the new directions (row-reduced basis of ``span(T_k)``),
        each a list of ``P`` sympy numbers.

    Examples
    --------
    >>> from csqbound.monomial import Monomial
    >>> jumps, blocks = subspace_greedy({Monomial(((1, 1), (2, 1))): sympy.Integer(1)}, 2)
    >>> jumps, blocks
    ([2], [[[1, 0], [0, 1]]])
    """
    from sympy.polys.constructor import construct_domain

    p = variables
    items = [sympy.sympify(c, strict=True) for c in coefficients.values()]
    if not items:
        return [], []
    field, converted = construct_domain(items, extension=True)
    if not field.is_Field:
        field = field.get_field()
        converted = [field.convert(c) for c in converted]
    table = dict(zip(coefficients.keys(), converted, strict=True))
    f = _hermite_to_power_basis(table, p, field.convert, field.zero)
    basis: list[list[Any]] = []
    jumps: list[int] = []
    blocks: list[list[list[Any]]] = []
    while len(basis) < p:
        step = _greedy_step(f, basis, p, field, len(jumps) + 1)
        if step is None:
            break
        k, rows = step
        basis.extend(rows)
        jumps.append(k)
        blocks.append([[field.to_sympy(c) for c in row] for row in rows])
    return jumps, blocks


def _change_of_variables(basis: list[list[Any]], p: int, field: Any) -> list[_Poly]:
    """The forms ``x_i = sum_j B_ij a_j + sum_j (P_perp)_ij z_j`` in ``v + P`` variables."""
    from sympy.polys.matrices import DomainMatrix

    v = len(basis)
    nvars = v + p
    if v == 0:
        perp = [[field.one if i == j else field.zero for j in range(p)] for i in range(p)]
    else:
        bm = DomainMatrix([list(col) for col in basis], (v, p), field).transpose()
        proj = bm * (bm.transpose() * bm).inv() * bm.transpose()
        perp = (DomainMatrix.eye(p, field) - proj).to_list()
    forms: list[_Poly] = []
    for i in range(p):
        form: _Poly = {}
        for j in range(v):
            if basis[j][i]:
                e = [0] * nvars
                e[j] = 1
                form[tuple(e)] = basis[j][i]
        for j in range(p):
            if perp[i][j]:
                e = [0] * nvars
                e[v + j] = 1
                form[tuple(e)] = perp[i][j]
        forms.append(form)
    return forms


def _greedy_step(
    f: _Poly, basis: list[list[Any]], p: int, field: Any, step: int
) -> tuple[int, list[list[Any]]] | None:
    """One step of the exact greedy after ``V = span(basis)``: ``(k, new rows)``, or ``None``.

    Raises ``ExpansionError`` when composing ``f`` with the change of variables
    would exceed :data:`csqbound.limits.MAX_ISO_WORK` coefficient products.
    """
    from sympy.polys.matrices import DomainMatrix

    v = len(basis)
    forms = _change_of_variables(basis, p, field)
    if _compose_cost(f, forms, limits.MAX_ISO_WORK) > limits.MAX_ISO_WORK:
        msg = (
            f"the exact iso_leap would need more than {limits.MAX_ISO_WORK:,} coefficient "
            f"products at step {step} (MAX_ISO_WORK in csqbound.limits): the target's "
            "degree is too high for the exact subspace greedy"
        )
        raise ExpansionError(msg)
    g = _compose(f, forms, v + p, field.one)
    top = _max_z_degree(g, v)
    if top == 0:
        return None
    for k in range(1, top + 1):
        tensor = _hermite_tensor(g, v, k, field.convert, field.zero)
        if tensor:
            break
    else:  # pragma: no cover - impossible: a z-dependent g has some tensor
        msg = "internal error: the subspace greedy found no Hermite tensor"
        raise CsqboundError(msg)
    cols = _flattening_columns(tensor, p, field.zero)
    reduced, pivots = DomainMatrix(cols, (len(cols), p), field).rref()
    rows = reduced.to_list()[: len(pivots)]
    if not rows:  # pragma: no cover - a non-zero tensor has a non-zero column
        msg = "internal error: empty span of a non-zero tensor"
        raise CsqboundError(msg)
    return k, rows


# ---------------------------------------------------------------------------
# numeric version
# ---------------------------------------------------------------------------
def _gaussian_moment_matrix(betas: Sequence[tuple[int, ...]]) -> np.ndarray:
    """``M[r, s] = E[a^(beta_r + beta_s)]`` for ``a ~ N(0, I)``."""
    n = len(betas)
    out = np.zeros((n, n))
    for r in range(n):
        for s in range(r, n):
            value = 1
            for x, y in zip(betas[r], betas[s], strict=True):
                e = x + y
                if e % 2:
                    value = 0
                    break
                value *= _double_factorial_odd(e)
            out[r, s] = out[s, r] = value
    return out


def _numeric_greedy(
    coefficients: Mapping[Monomial, float], variables: int, tol: float, norm: float
) -> tuple[list[int], list[np.ndarray]]:
    """The subspace greedy in floating point; returns jumps and orthonormal blocks (columns).

    Each step composes ``f`` with ``x = B a + P_perp z`` (:func:`_numeric_forms`) and
    takes the least ``k`` whose Hermite tensor in ``z`` carries energy above
    ``(tol ||f||)^2`` (:func:`_numeric_step`); its new directions extend ``B``.
    """
    p = variables
    f = _hermite_to_power_basis(coefficients, p, float, 0.0)
    threshold = (tol * norm) ** 2
    basis = np.zeros((p, 0))
    jumps: list[int] = []
    blocks: list[np.ndarray] = []
    while basis.shape[1] < p:
        v = basis.shape[1]
        g = _compose(f, _numeric_forms(basis, p), v + p, 1.0)
        step = _numeric_step(g, basis, threshold)
        if step is None:
            break
        k, q = step
        basis = np.hstack([basis, q])
        jumps.append(k)
        blocks.append(q)
    return jumps, blocks


def _numeric_forms(basis: np.ndarray, p: int) -> list[_Poly]:
    """``x_i = sum_j B[i, j] a_j + sum_j (P_perp)[i, j] z_j`` as linear forms in ``(a, z)``."""
    v = basis.shape[1]
    nvars = v + p
    perp = np.eye(p) - basis @ basis.T
    forms: list[_Poly] = []
    for i in range(p):
        form: _Poly = {}
        for j in range(v):
            if basis[i, j] != 0.0:
                e = [0] * nvars
                e[j] = 1
                form[tuple(e)] = float(basis[i, j])
        for j in range(p):
            if perp[i, j] != 0.0:
                e = [0] * nvars
                e[v + j] = 1
                form[tuple(e)] = float(perp[i, j])
        forms.append(form)
    return forms


def _numeric_step(g: _Poly, basis: np.ndarray, threshold: float) -> tuple[int, np.ndarray] | None:
    """The least jump ``k`` with energy above ``threshold`` and its new orthonormal directions."""
    p, v = basis.shape
    for k in range(1, _max_z_degree(g, v) + 1):
        tensor = _hermite_tensor(g, v, k, float, 0.0)
        if not tensor:
            continue
        betas = sorted({b for row in tensor.values() for b in row})
        where = {b: n for n, b in enumerate(betas)}
        moments = _gaussian_moment_matrix(betas)
        # energy of the degree-k component: sum_gamma' E[T_gamma'(a)^2] / gamma'!
        vecs = {}
        energy = 0.0
        for gp, row in tensor.items():
            vec = np.zeros(len(betas))
            for b, c in row.items():
                vec[where[b]] = c
            vecs[gp] = vec
            energy += float(vec @ moments @ vec) / math.prod(math.factorial(x) for x in gp)
        if energy <= threshold:
            continue
        q = _numeric_directions(_numeric_gram(vecs, moments, p, k), basis, k, threshold)
        if q.shape[1]:
            return k, q
    return None


def _numeric_gram(
    vecs: Mapping[tuple[int, ...], np.ndarray], moments: np.ndarray, p: int, k: int
) -> np.ndarray:
    """The Gram matrix of the flattening ``T_k[:, i2..ik]``, averaged over ``a``."""
    gram = np.zeros((p, p))
    rests: dict[tuple[int, ...], dict[int, np.ndarray]] = {}
    for gp, vec in vecs.items():
        for i in range(p):
            if gp[i]:
                rest = gp[:i] + (gp[i] - 1,) + gp[i + 1 :]
                rests.setdefault(rest, {})[i] = vec
    for rest, entries in rests.items():
        mult = math.factorial(k - 1) // math.prod(math.factorial(x) for x in rest)
        for i, vi in entries.items():
            for j, vj in entries.items():
                gram[i, j] += mult * float(vi @ moments @ vj)
    return gram


def _numeric_directions(
    gram: np.ndarray, basis: np.ndarray, k: int, threshold: float
) -> np.ndarray:
    """The directions of ``span(T_k)`` above the threshold, orthonormal and outside ``V``."""
    p = basis.shape[0]
    values, vectors = np.linalg.eigh(gram)
    # The eigenvalues carry rounding noise of about eps * max(values): a floor
    # below it keeps noise directions (rotated tanh + He2 read iso_leap 1).
    noise = 1e3 * np.finfo(np.float64).eps * max(float(values.max()), 0.0)
    keep = values / math.factorial(k) > max(threshold, noise / math.factorial(k))
    if not keep.any():
        keep = values >= values.max()
    new = vectors[:, keep]
    new = new - basis @ (basis.T @ new)
    # orthonormalise what is left outside V and drop directions that vanished
    u, sing, _ = np.linalg.svd(new, full_matrices=False)
    q = u[:, sing > 1e-6 * max(float(sing.max(initial=0.0)), 1e-300)]
    return q[:, : max(0, p - basis.shape[1])]


# ---------------------------------------------------------------------------
# public functions
# ---------------------------------------------------------------------------
def _gaussian_expansion(x: TargetLike, max_degree: int, tol: float | None) -> Expansion:
    """The gaussian expansion of ``x`` through the gate, refusing what iso_leap cannot do."""
    read = as_target(
        x,
        "gaussian",
        require="gaussian",
        caller="iso_leap",
        hint=". Use csqbound.leap for boolean targets",
    )
    if isinstance(read, Expansion):
        return read
    if read.variables > MAX_NUMERIC_VARIABLES and not read.is_polynomial:
        msg = (
            f"iso_leap of a non-polynomial target needs P <= {MAX_NUMERIC_VARIABLES} variables "
            f"(numeric surrogate from quadrature), got P={read.variables}; write the target as "
            "a polynomial with exact coefficients for the exact algorithm"
        )
        raise ExpansionError(msg)
    return gaussian_expansion(read, max_degree=max_degree, tol=tol)


def iso_leap(x: TargetLike, *, max_degree: int = 8, tol: float | None = None) -> IsoLeapResult:
    """The rotation-free leap of a gaussian target (THEORY section 3), with its witness.

    Parameters
    ----------
    x
        An expression (text or sympy), a gaussian :class:`~csqbound.target.Target`
        or a gaussian :class:`~csqbound.expansion.Expansion`.
    max_degree
        Non-polynomial targets only: the largest total degree of the quadrature
        (the polynomial surrogate).
    tol
        Numeric greedy only: relative tolerance (default: the expansion's
        ``tol``, else ``1e-9``). Ignored for exact targets.

    Returns
    -------
    IsoLeapResult
        ``iso_leap``, ``jumps``, the chain of ``subspaces`` and their ``dims``.

    Raises
    ------
    DomainError
        For a boolean target or expansion.
    ExpansionError
        For a non-polynomial target with more than 3 variables, or a polynomial
        with more than 8.
    ParameterError
        For a negative or non-finite ``tol`` (or ``tol = 0`` on a numeric target).

    See Also
    --------
    information_exponent : its first jump.
    csqbound.leaps.leap : the coordinate leap.
    csqbound.rotations.rotate : rotated copies with the same ``iso_leap``.
    csqbound.generative.generative_exponent : the SQ counterpart of the first jump.
    csqbound.queries.csq_leap : the boolean leap over the CSQ oracle.

    Examples
    --------
    The examples of THEORY section 7:

    >>> iso_leap("x1*x2 + (x1 + x2)/sqrt(2)").iso_leap  # coordinate leap 1
    2
    >>> iso_leap("x1 + (He2(x1) - He2(x2))/2").jumps
    (1, 2)
    >>> r = iso_leap("He3(x1)")
    >>> r.iso_leap, r.information_exponent, r.single_index
    (3, 3, True)
    >>> iso_leap("x1 + x1*x2").iso_leap, iso_leap("x1 + x1*He2(x2)").iso_leap
    (1, 2)
    >>> iso_leap("x1*x2*x3").subspaces
    (((1, 0, 0), (0, 1, 0), (0, 0, 1)),)

    Non-polynomial targets use a numeric surrogate:

    >>> r = iso_leap("relu(x1)")
    >>> r.information_exponent, r.exact
    (1, False)
    """
    as_float(tol, "tol", allow_none=True)
    expansion = _gaussian_expansion(x, max_degree, tol)
    p = expansion.variables
    coefficients = {m: c for m, c in expansion.coefficients.items() if m.powers}
    if expansion.exact:
        if p > MAX_EXACT_VARIABLES:
            msg = (
                f"the exact subspace greedy supports P <= {MAX_EXACT_VARIABLES} variables, "
                f"got P={p}"
            )
            raise ExpansionError(msg)
        jumps, blocks = subspace_greedy(coefficients, p)
        return _result(jumps, [[tuple(vec) for vec in block] for block in blocks], None, p)
    return _numeric_iso_leap(expansion, coefficients, tol)


def _numeric_iso_leap(
    expansion: Expansion, coefficients: Mapping[Monomial, Any], tol: float | None
) -> IsoLeapResult:
    """:func:`iso_leap` of a numeric expansion: the numeric greedy at the checked tolerance."""
    p = expansion.variables
    limit = MAX_EXACT_VARIABLES if expansion.method == "hermite" else MAX_NUMERIC_VARIABLES
    if p > limit:
        msg = (
            f"iso_leap of a non-polynomial target needs P <= {MAX_NUMERIC_VARIABLES} variables "
            f"(numeric surrogate from quadrature), got P={p}; write the target as a polynomial "
            "with exact coefficients for the exact algorithm"
        )
        raise ExpansionError(msg)
    used = tol if tol is not None else (expansion.tol if expansion.tol is not None else DEFAULT_TOL)
    if used <= 0:
        msg = f"the numeric greedy needs a tolerance > 0, got tol={used!r}"
        raise ParameterError(msg)
    floats = {m: float(c) for m, c in coefficients.items()}
    norm = math.sqrt(max(float(expansion.norm2), 0.0))
    jumps, numeric_blocks = _numeric_greedy(floats, p, used, norm)
    columns = [
        [tuple(float(c) for c in q[:, j]) for j in range(q.shape[1])] for q in numeric_blocks
    ]
    return _result(jumps, columns, used, p)


def _result(
    jumps: Sequence[int], blocks: Sequence[Sequence[tuple[Any, ...]]], tol: float | None, p: int
) -> IsoLeapResult:
    """The witness chain ``V_1 ⊂ V_2 ⊂ ...`` from the blocks each jump added (exact if no tol)."""
    chain: list[tuple[tuple[Any, ...], ...]] = []
    current: list[tuple[Any, ...]] = []
    for block in blocks:
        current.extend(block)
        chain.append(tuple(current))
    return IsoLeapResult(
        iso_leap=max(jumps, default=0),
        jumps=tuple(jumps),
        subspaces=tuple(chain),
        dims=tuple(len(basis) for basis in chain),
        exact=tol is None,
        tol=tol,
        variables=p,
    )


def information_exponent(x: TargetLike, *, max_degree: int = 8, tol: float | None = None) -> int:
    """The information exponent: the first jump of :func:`iso_leap`.

    For a single-index target ``sigma(<u, x>)`` it is the least ``k >= 1`` with
    ``E[sigma(z) He_k(z)] != 0`` (Ben Arous, Gheissari, Jagannath 2021); in
    general the least total degree ``k >= 1`` of a non-zero Hermite coefficient,
    which is rotation invariant. 0 for a constant target.

    Parameters
    ----------
    x, max_degree, tol
        As for :func:`iso_leap`.

    Returns
    -------
    int

    See Also
    --------
    iso_leap : the whole rotation-free leap, of which this is the first jump.
    csqbound.generative.generative_exponent : the SQ analogue, never larger.

    Examples
    --------
    >>> information_exponent("He3(x1)")
    3
    >>> information_exponent("He2(x1)"), information_exponent("sign(x1)")
    (2, 1)
    >>> information_exponent("He4((x1 + x2)/sqrt(2)) + He4(x3)")
    4
    """
    return iso_leap(x, max_degree=max_degree, tol=tol).information_exponent
