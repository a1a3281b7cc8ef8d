r"""Hypothesis strategies for csqbound's objects: monomials, support families and targets.

Use them to state the claims of a paper as properties (``@given``) and let
hypothesis hunt for counterexamples; every strategy shrinks towards few,
low-degree terms on low coordinates with coefficient 1, so a failing property
is reported on a small example.

What the strategies draw
    * :func:`monomials` — one :class:`~csqbound.monomial.Monomial`.
    * :func:`support_families` — a ``tuple`` of distinct non-constant
      :class:`~csqbound.monomial.Monomial` (what :func:`csqbound.leap`,
      :func:`csqbound.cover` and :func:`csqbound.leap_bruteforce` accept, with
      ``domain=``).
    * :func:`boolean_targets`, :func:`gaussian_polynomials`, :func:`staircases`,
      :func:`targets_with_leap` and :func:`rotated` — a
      :class:`csqbound.Target`: a sympy expression in the variables
      ``csqbound.parsing.symbol(i)`` *together with its domain*. Every csqbound
      function that takes a target accepts a Target and uses its domain
      (``expand``, ``leap``, ``leap_bruteforce``, ``cover``, ``iso_leap``,
      ``information_exponent``, ``csq_bound``, ``csq_leap``, ``sq_leap``,
      ``predict``, ``train``), so a gaussian target is never silently read as a
      boolean one. ``t.expression`` is the plain sympy expression. Except for
      :func:`rotated`, a target is written in the basis of its domain,
      ``sum_S c_S chi_S`` (boolean) or ``sum_alpha c_alpha He_alpha``
      (gaussian), with small non-zero integer coefficients, so
      ``csqbound.expand(t)`` gives back exactly the drawn support and
      coefficients, and ``str(t)`` (its ``text``) is that sum in csqbound's
      input syntax (``He2(x1)*x3 - 2*x2``), which is what hypothesis shows for a
      falsifying example. Rotated targets are expanded polynomials with exact
      rational coefficients.
    * :func:`rotations` — an exact rational rotation matrix (``sympy.ImmutableMatrix``).

Deterministic helpers (no hypothesis needed to call them)
    :func:`target_from_expansion` (the Target ``sum c_alpha He_alpha`` of an
    Expansion), :func:`cayley_rotation` (the exact rotation
    ``(I - A)(I + A)^{-1}`` of a rational skew matrix) and :func:`rotate`
    (``x -> f(Q x)``).

Bounds are keyword-only and checked when the strategy is built, not when it is
drawn from: impossible bounds raise :class:`hypothesis.errors.InvalidArgument`
at once.

Examples
--------
A property in a test file (runs as it is under pytest):

>>> from hypothesis import given, settings
>>> import csqbound
>>> from csqbound.testing import strategies as cst
>>> @settings(max_examples=10)
... @given(cst.targets_with_leap(2, max_variables=4))
... def test_leap_two(f):
...     assert csqbound.leap(f).leap == 2
>>> test_leap_two()
"""

from __future__ import annotations

import functools
import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import sympy
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from csqbound._validation import as_int, check_range
from csqbound.errors import DomainError, ParameterError
from csqbound.expansion import Expansion
from csqbound.monomial import Domain, Monomial
from csqbound.parsing import symbol
from csqbound.rotations import cayley_rotation, gaussian_target, rotate
from csqbound.target import Target

__all__ = [
    "POOL_LIMIT",
    "boolean_targets",
    "cayley_rotation",
    "gaussian_polynomials",
    "monomials",
    "rotate",
    "rotated",
    "rotations",
    "staircases",
    "support_families",
    "target_from_expansion",
    "targets_with_leap",
    "targets_with_sq_csq_gap",
]

#: Families are drawn from an explicit pool of monomials (which shrinks best and
#: never repeats a monomial) when the pool has at most this many elements.
POOL_LIMIT = 4096


# -- validation (eager, at strategy construction) -------------------------------------
def _check_int(name: str, value: object, minimum: int, maximum: int | None = None) -> int:
    number = as_int(value, name, error=InvalidArgument)
    return check_range(number, name, minimum, maximum, error=InvalidArgument)


def _check_domain(domain: object) -> Domain:
    match domain:
        case "boolean":
            return "boolean"
        case "gaussian":
            return "gaussian"
        case _:
            msg = f"domain must be 'boolean' or 'gaussian', got {domain!r}"
            raise InvalidArgument(msg)


def _check_order(low_name: str, low: int, high_name: str, high: int) -> None:
    if low > high:
        msg = f"{low_name}={low} is larger than {high_name}={high}: give {low_name} <= {high_name}"
        raise InvalidArgument(msg)


def _count_monomials(domain: Domain, variables: int, min_degree: int, max_degree: int) -> int:
    """How many monomials on ``x1..xP`` have total degree in ``[min_degree, max_degree]``."""
    if domain == "boolean":
        return sum(
            math.comb(variables, k) for k in range(min_degree, min(max_degree, variables) + 1)
        )
    # multi-indices in N^P with |alpha| <= n: C(P + n, P)
    below = math.comb(variables + min_degree - 1, variables) if min_degree > 0 else 0
    return math.comb(variables + max_degree, variables) - below


@functools.lru_cache(maxsize=64)
def _pool(domain: Domain, variables: int, min_degree: int, max_degree: int) -> tuple[Monomial, ...]:
    """Every monomial of the given degrees on ``x1..xP``, by degree then coordinates."""
    out: list[Monomial] = []
    if domain == "boolean":
        for k in range(min_degree, min(max_degree, variables) + 1):
            out.extend(
                Monomial.from_set(c) for c in itertools.combinations(range(1, variables + 1), k)
            )
    else:
        for k in range(min_degree, max_degree + 1):
            for combo in itertools.combinations_with_replacement(range(1, variables + 1), k):
                out.append(Monomial.from_mapping(Counter(combo)))
    return tuple(sorted(out, key=lambda m: (m.degree, m.powers)))


# -- building blocks ---------------------------------------------------------------------
def _coefficients(max_coefficient: int) -> SearchStrategy[int]:
    """Non-zero integers in ``[-max_coefficient, max_coefficient]``, shrinking to 1."""
    return st.tuples(st.integers(1, max_coefficient), st.booleans()).map(
        lambda t: -t[0] if t[1] else t[0]
    )


def _distribute(draw: Any, total: int, parts: int) -> list[int]:
    """Degrees ``>= 1`` on ``parts`` coordinates summing to ``total``.

    Shrinks to ``[total - parts + 1, 1, ..., 1]``.
    """
    degrees = [1] * parts
    for i in draw(
        st.lists(st.integers(0, parts - 1), min_size=total - parts, max_size=total - parts)
    ):
        degrees[i] += 1
    return degrees


def _hermite(k: int, i: int) -> sympy.Expr:
    """``He_k(x_i)`` as a sympy polynomial."""
    return sympy.hermite_prob_poly(k, symbol(i)) if k > 1 else symbol(i)


def _basis_function(mono: Monomial, domain: Domain) -> sympy.Expr:
    if domain == "boolean":
        return sympy.Mul(*(symbol(c) for c, _ in mono.powers))
    return sympy.Mul(*(_hermite(k, c) for c, k in mono.powers))


def _text(terms: Mapping[Monomial, Any]) -> str:
    """``terms`` as csqbound input text in the basis, e.g. ``2*He2(x1)*x3 - x2``."""
    parts: list[str] = []
    for mono, coef in terms.items():
        c = sympy.sympify(coef, strict=True)
        if c == 0:
            continue
        sign = "-" if c.could_extract_minus_sign() else "+"
        size = -c if sign == "-" else c
        if not mono.powers:
            body = sympy.sstr(size) if size.is_Rational else f"({sympy.sstr(size)})"
        elif size.is_Rational:
            p, q = int(size.p), int(size.q)
            body = str(mono) if p == 1 else f"{p}*{mono}"
            body = body if q == 1 else f"{body}/{q}"
        else:
            body = f"({sympy.sstr(size)})*{mono}"
        parts.append(f"{sign} {body}")
    if not parts:
        return "0"
    text = " ".join(parts)
    return text[2:] if text.startswith("+ ") else "-" + text[2:]


def _target(terms: Mapping[Monomial, Any], domain: Domain) -> Target:
    """The Target ``sum c_alpha phi_alpha`` (``phi = chi`` or ``He``) on the domain.

    Its ``text`` is the sum written in the basis (``He2(x1)*x3 - 2*x2``): what
    ``str(target)`` and hypothesis's falsifying examples show, and valid input
    for :func:`csqbound.parsing.parse` and the command line.
    """
    expression = sympy.Add(
        *(
            sympy.sympify(c, strict=True) * _basis_function(m, domain)
            for m, c in terms.items()
            if c != 0
        )
    )
    variables = max((m.powers[-1][0] for m in terms if m.powers), default=0)
    return Target(expression, domain, variables, _text(terms))


@st.composite
def _monomial(
    draw: Any, domain: Domain, variables: int, min_degree: int, max_degree: int
) -> Monomial:
    if domain == "boolean":
        coords = draw(
            st.sets(
                st.integers(1, variables),
                min_size=min_degree,
                max_size=min(max_degree, variables),
            )
        )
        return Monomial.from_set(coords)
    size = draw(st.integers(1 if min_degree > 0 else 0, min(variables, max_degree)))
    if size == 0:
        return Monomial(())
    coords = sorted(draw(st.sets(st.integers(1, variables), min_size=size, max_size=size)))
    total = draw(st.integers(max(min_degree, size), max_degree))
    degrees = _distribute(draw, total, size)
    return Monomial.from_mapping(dict(zip(coords, degrees, strict=True)))


# -- public strategies -------------------------------------------------------------------
def monomials(
    *,
    domain: Literal["boolean", "gaussian"] = "boolean",
    max_variables: int = 4,
    min_degree: int = 1,
    max_degree: int = 3,
) -> SearchStrategy[Monomial]:
    """One monomial on ``x1..x{max_variables}`` of total degree in ``[min_degree, max_degree]``.

    Boolean monomials are sets of coordinates (``chi_S``); gaussian ones are
    multi-indices (``He_alpha``), whose degree is the total degree ``|alpha|``.
    Shrinks towards ``x1``.

    Parameters
    ----------
    domain
        ``"boolean"`` or ``"gaussian"``.
    max_variables
        ``P >= 1``: coordinates are drawn from ``1..P``.
    min_degree, max_degree
        Bounds on the total degree (``min_degree = 0`` allows the constant monomial).

    Returns
    -------
    SearchStrategy of Monomial

    Raises
    ------
    hypothesis.errors.InvalidArgument
        At construction, for bounds that no monomial satisfies.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20)
    ... @given(monomials(domain="gaussian", max_variables=2, min_degree=2, max_degree=3))
    ... def test(m):
    ...     assert 2 <= m.degree <= 3 and m.support <= {1, 2}
    >>> test()
    >>> monomials(max_variables=2, min_degree=3)
    Traceback (most recent call last):
    ...
    hypothesis.errors.InvalidArgument: no boolean monomial on 2 variables has degree >= 3 ...
    """
    dom = _check_domain(domain)
    p = _check_int("max_variables", max_variables, 1)
    lo = _check_int("min_degree", min_degree, 0)
    hi = _check_int("max_degree", max_degree, 0)
    _check_order("min_degree", lo, "max_degree", hi)
    if dom == "boolean" and lo > p:
        msg = (
            f"no boolean monomial on {p} variables has degree >= {lo} (a character chi_S "
            f"has degree |S| <= P): lower min_degree or raise max_variables"
        )
        raise InvalidArgument(msg)
    return _monomial(dom, p, lo, hi)


def support_families(
    *,
    domain: Literal["boolean", "gaussian"] = "boolean",
    max_variables: int = 4,
    max_degree: int = 3,
    min_size: int = 1,
    max_size: int = 5,
) -> SearchStrategy[tuple[Monomial, ...]]:
    """A family of distinct non-constant monomials: the support of some target.

    Parameters
    ----------
    domain
        ``"boolean"`` (sets ``S``) or ``"gaussian"`` (multi-indices ``alpha``).
    max_variables
        ``P >= 1``: every coordinate is in ``1..P``.
    max_degree
        Largest total degree of a monomial (``>= 1``).
    min_size, max_size
        Bounds on the number of monomials.

    Returns
    -------
    SearchStrategy of tuple of Monomial
        Distinct, non-constant, in drawing order. Shrinks towards fewer,
        lower-degree monomials on lower coordinates.

    Raises
    ------
    hypothesis.errors.InvalidArgument
        At construction: non-integer or out-of-range bounds, or ``min_size``
        larger than the number of monomials that exist under the bounds.

    Examples
    --------
    >>> import csqbound
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20)
    ... @given(support_families(max_variables=3, max_size=4))
    ... def test_greedy_is_optimal(family):
    ...     assert csqbound.leap(family).leap == csqbound.leap_bruteforce(family)
    >>> test_greedy_is_optimal()
    >>> support_families(max_variables=2, max_degree=1, min_size=3)
    Traceback (most recent call last):
    ...
    hypothesis.errors.InvalidArgument: min_size=3 but only 2 boolean monomials ...
    """
    dom = _check_domain(domain)
    p = _check_int("max_variables", max_variables, 1)
    deg = _check_int("max_degree", max_degree, 1)
    lo = _check_int("min_size", min_size, 0)
    hi = _check_int("max_size", max_size, 0)
    _check_order("min_size", lo, "max_size", hi)
    available = _count_monomials(dom, p, 1, deg)
    if lo > available:
        msg = (
            f"min_size={lo} but only {available} {dom} monomials exist on {p} variables "
            f"with degree <= {deg}: lower min_size or raise max_variables/max_degree"
        )
        raise InvalidArgument(msg)
    if available <= POOL_LIMIT:
        pool = _pool(dom, p, 1, deg)
        return st.lists(st.sampled_from(pool), min_size=lo, max_size=hi, unique=True).map(tuple)
    return st.lists(_monomial(dom, p, 1, deg), min_size=lo, max_size=hi, unique=True).map(tuple)


def _terms_strategy(
    families: SearchStrategy[tuple[Monomial, ...]], max_coefficient: int
) -> SearchStrategy[dict[Monomial, int]]:
    coefs = _coefficients(max_coefficient)
    return families.flatmap(
        lambda fam: st.lists(coefs, min_size=len(fam), max_size=len(fam)).map(
            lambda cs: dict(zip(fam, cs, strict=True))
        )
    )


def boolean_targets(
    *,
    max_variables: int = 4,
    max_degree: int = 3,
    min_terms: int = 1,
    max_terms: int = 5,
    max_coefficient: int = 3,
) -> SearchStrategy[Target]:
    """Boolean targets ``sum_S c_S chi_S`` with small non-zero integer coefficients.

    Parameters
    ----------
    max_variables, max_degree
        Bounds of the support (as for :func:`support_families`).
    min_terms, max_terms
        Bounds on the number of (non-constant) terms.
    max_coefficient
        ``|c_S| <= max_coefficient`` (``>= 1``); shrinks to ``c_S = 1``.

    Returns
    -------
    SearchStrategy of Target
        Boolean targets; ``csqbound.expand(t)`` has exactly the drawn terms.

    Examples
    --------
    >>> import csqbound
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(boolean_targets(max_variables=4))
    ... def test_sq_le_csq(f):
    ...     assert csqbound.sq_leap(f) <= csqbound.csq_leap(f) == csqbound.leap(f).leap
    >>> test_sq_le_csq()
    """
    c = _check_int("max_coefficient", max_coefficient, 1)
    families = support_families(
        domain="boolean",
        max_variables=max_variables,
        max_degree=max_degree,
        min_size=min_terms,
        max_size=max_terms,
    )
    return _terms_strategy(families, c).map(lambda terms: _target(terms, "boolean"))


def gaussian_polynomials(
    *,
    max_variables: int = 3,
    max_degree: int = 3,
    min_terms: int = 1,
    max_terms: int = 4,
    max_coefficient: int = 3,
) -> SearchStrategy[Target]:
    """Gaussian polynomial targets ``sum_alpha c_alpha He_alpha`` with small integer coefficients.

    Parameters
    ----------
    max_variables, max_degree
        Bounds of the support: coordinates ``1..P`` and total degree ``|alpha|``.
    min_terms, max_terms
        Bounds on the number of (non-constant) terms.
    max_coefficient
        ``|c_alpha| <= max_coefficient``; shrinks to 1.

    Returns
    -------
    SearchStrategy of Target
        Gaussian targets (exact polynomials, so :func:`csqbound.iso_leap` is exact).

    Examples
    --------
    >>> import csqbound
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(gaussian_polynomials(max_variables=2, max_degree=2))
    ... def test_information_exponent_is_first_jump(f):
    ...     r = csqbound.iso_leap(f)
    ...     assert csqbound.information_exponent(f) == r.jumps[0] <= r.iso_leap
    >>> test_information_exponent_is_first_jump()
    """
    c = _check_int("max_coefficient", max_coefficient, 1)
    families = support_families(
        domain="gaussian",
        max_variables=max_variables,
        max_degree=max_degree,
        min_size=min_terms,
        max_size=max_terms,
    )
    return _terms_strategy(families, c).map(lambda terms: _target(terms, "gaussian"))


def _block(draw: Any, domain: Domain, weight: int, first: int, room: int) -> dict[int, int]:
    """A block of new coordinates ``first, first+1, ...`` whose degrees sum to ``weight``.

    Boolean: ``weight`` coordinates of degree 1. Gaussian: ``s <= min(weight, room)``
    coordinates with degrees ``>= 1`` summing to ``weight``.
    """
    if domain == "boolean":
        return dict.fromkeys(range(first, first + weight), 1)
    size = draw(st.integers(1, min(weight, room)))
    degrees = _distribute(draw, weight, size)
    return dict(zip(range(first, first + size), degrees, strict=True))


def _union(blocks: Sequence[Mapping[int, int]]) -> Monomial:
    merged: dict[int, int] = {}
    for block in blocks:
        merged.update(block)
    return Monomial.from_mapping(merged)


@st.composite
def _staircase(
    draw: Any,
    domain: Domain,
    max_jump: int,
    min_length: int,
    max_length: int,
    budget: int,
    max_coefficient: int,
) -> Target:
    length = draw(st.integers(min_length, min(max_length, budget)))
    blocks: list[dict[int, int]] = []
    first = 1
    for j in range(length):
        room = budget - (first - 1) - (length - j - 1)  # leave one coordinate per later step
        top = max_jump if domain == "gaussian" else min(max_jump, room)
        weight = draw(st.integers(1, top))
        blocks.append(_block(draw, domain, weight, first, room))
        first += len(blocks[-1])
    chain = [_union(blocks[: j + 1]) for j in range(length)]
    coefs = draw(st.lists(_coefficients(max_coefficient), min_size=length, max_size=length))
    return _target(dict(zip(chain, coefs, strict=True)), domain)


def staircases(
    *,
    domain: Literal["boolean", "gaussian"] = "boolean",
    max_jump: int = 1,
    min_length: int = 1,
    max_length: int = 4,
    max_variables: int | None = None,
    max_coefficient: int = 1,
) -> SearchStrategy[Target]:
    """Staircases ``sum_j c_j phi_(alpha_1 + ... + alpha_j)``: nested, jumps ``<= max_jump``.

    Step ``j`` adds a block ``alpha_j`` of new coordinates (boolean: ``|alpha_j|``
    coordinates; gaussian: a multi-index of total degree ``|alpha_j|`` on new
    coordinates), with ``1 <= |alpha_j| <= max_jump``. Every later monomial
    contains the whole block, so the leap is exactly ``max_j |alpha_j|``
    (``<= max_jump``); ``max_jump = 1`` gives the classical staircase
    ``x1 + x1*x2 + x1*x2*x3 + ...`` (Abbe et al., NeurIPS 2021), leap 1.

    Parameters
    ----------
    domain
        ``"boolean"`` or ``"gaussian"``.
    max_jump
        Largest step ``|alpha_j|`` (``>= 1``).
    min_length, max_length
        Bounds on the number of monomials (``>= 1``).
    max_variables
        Bound on the number of coordinates used (default ``max_length * max_jump``,
        i.e. no extra bound); must be ``>= min_length``.
    max_coefficient
        ``|c_j| <= max_coefficient`` (default 1: coefficients ``+-1``).

    Returns
    -------
    SearchStrategy of Target
        Shrinks towards ``x1``.

    Examples
    --------
    >>> import csqbound
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(staircases(max_jump=2, max_length=3))
    ... def test_leap_at_most_two(f):
    ...     assert csqbound.leap(f).leap <= 2
    >>> test_leap_at_most_two()
    """
    dom = _check_domain(domain)
    k = _check_int("max_jump", max_jump, 1)
    lo = _check_int("min_length", min_length, 1)
    hi = _check_int("max_length", max_length, 1)
    _check_order("min_length", lo, "max_length", hi)
    budget = hi * k if max_variables is None else _check_int("max_variables", max_variables, 1)
    _check_order("min_length", lo, "max_variables", budget)
    c = _check_int("max_coefficient", max_coefficient, 1)
    return _staircase(dom, k, lo, hi, budget, c)


@st.composite
def _leap_target(
    draw: Any,
    leap: int,
    domain: Domain,
    max_blocks: int,
    budget: int,
    max_extra_terms: int,
    max_coefficient: int,
) -> Target:
    need_big = leap if domain == "boolean" else 1  # coordinates the weight-L block needs at least
    n_blocks = draw(st.integers(1, min(max_blocks, 1 + budget - need_big)))
    big = draw(st.integers(0, n_blocks - 1))
    blocks: list[dict[int, int]] = []
    first = 1
    for j in range(n_blocks):
        reserve = sum(need_big if i == big else 1 for i in range(j + 1, n_blocks))
        room = budget - (first - 1) - reserve
        if j == big:
            weight = leap
        else:
            top = leap if domain == "gaussian" else min(leap, room)
            weight = draw(st.integers(1, top))
        blocks.append(_block(draw, domain, weight, first, room))
        first += len(blocks[-1])
    # lead monomial of block j: the block plus any earlier blocks (cost = weight of block j)
    groups: list[frozenset[int]] = [
        frozenset({j}) | draw(st.sets(st.integers(0, j - 1), max_size=j)) if j else frozenset({0})
        for j in range(n_blocks)
    ]
    # extra monomials: any union of whole blocks (cost 0 once the leads are taken)
    groups += draw(
        st.lists(st.frozensets(st.integers(0, n_blocks - 1), min_size=1), max_size=max_extra_terms)
    )
    variables = first - 1
    perm = draw(st.permutations(range(1, variables + 1)))
    relabel = {i + 1: perm[i] for i in range(variables)}
    monos = list(
        dict.fromkeys(_union([blocks[i] for i in sorted(g)]).relabel(relabel) for g in groups)
    )
    coefs = draw(st.lists(_coefficients(max_coefficient), min_size=len(monos), max_size=len(monos)))
    return _target(dict(zip(monos, coefs, strict=True)), domain)


def targets_with_leap(
    leap: int,
    *,
    domain: Literal["boolean", "gaussian"] = "boolean",
    max_blocks: int = 3,
    max_variables: int | None = None,
    max_extra_terms: int = 2,
    max_coefficient: int = 1,
) -> SearchStrategy[Target]:
    """Targets whose leap is exactly ``leap``, by construction.

    Construction. The coordinates are cut into blocks ``beta_1, ..., beta_B``
    (boolean: sets; gaussian: multi-indices on their own coordinates) of
    weights ``|beta_j| <= L``, one of them exactly ``L``. Every monomial is a
    union of *whole* blocks: for each block ``j`` a lead monomial ``beta_j``
    plus any earlier blocks, and up to ``max_extra_terms`` further unions.
    Then coordinates are relabelled by a random permutation.

    Why the leap is ``L``. Taking the leads in block order, each costs the
    weight of its own block (``<= L``) and every other monomial costs 0
    afterwards, so ``Leap <= L``. In *any* order, the first monomial touching
    the weight-``L`` block contains all of it while none of it is covered, so
    that step costs at least ``L``: ``Leap >= L``. On the gaussian domain this
    is the coordinate (degree-weighted) leap of :func:`csqbound.leap`; the
    rotation-free :func:`csqbound.iso_leap` is a different quantity.

    Parameters
    ----------
    leap
        ``L >= 1``.
    domain
        ``"boolean"`` or ``"gaussian"``.
    max_blocks
        Largest number of blocks ``B`` (``>= 1``).
    max_variables
        Bound on the number of coordinates used (default ``L * max_blocks``); at
        least ``L`` on the boolean domain (the weight-``L`` block), 1 on the gaussian.
    max_extra_terms
        Largest number of monomials beyond the ``B`` leads.
    max_coefficient
        ``|c| <= max_coefficient`` (default 1: coefficients ``+-1``).

    Returns
    -------
    SearchStrategy of Target
        Shrinks towards the ``L``-parity ``x1*...*xL`` (boolean) or ``He_L(x1)``
        (gaussian).

    Examples
    --------
    >>> import csqbound
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(targets_with_leap(3, domain="gaussian", max_variables=3))
    ... def test_exact(f):
    ...     assert csqbound.leap(f).leap == 3
    >>> test_exact()
    >>> targets_with_leap(3, max_variables=2)
    Traceback (most recent call last):
    ...
    hypothesis.errors.InvalidArgument: a boolean target of leap 3 needs max_variables >= 3 ...
    """
    L = _check_int("leap", leap, 1)
    dom = _check_domain(domain)
    b = _check_int("max_blocks", max_blocks, 1)
    budget = L * b if max_variables is None else _check_int("max_variables", max_variables, 1)
    if dom == "boolean" and budget < L:
        msg = (
            f"a boolean target of leap {L} needs max_variables >= {L} (a block of {L} new "
            f"coordinates), got {budget}"
        )
        raise InvalidArgument(msg)
    extra = _check_int("max_extra_terms", max_extra_terms, 0)
    c = _check_int("max_coefficient", max_coefficient, 1)
    return _leap_target(L, dom, b, budget, extra, c)


@st.composite
def _gap_target(draw: Any, gap: int, budget: int) -> Target:
    shapes = [
        (a, m)
        for a, m in ((0, gap + 2), (1, gap + 1), (2, gap))
        if m >= 0 and a + 2 * m <= budget and (a, m) != (0, 1)
    ]
    a, m = draw(st.sampled_from(shapes))
    variables = a + 2 * m
    perm = draw(st.permutations(range(1, variables + 1)))
    x = [symbol(perm[i]) for i in range(variables)]
    expression = sympy.Integer(draw(st.sampled_from([1, -1])))
    for i in range(a):
        expression *= x[i]
    for j in range(m):
        expression *= x[a + 2 * j] - x[a + 2 * j + 1]
    return Target(sympy.expand(expression), "boolean", max(perm[:variables], default=0))


def targets_with_sq_csq_gap(gap: int, *, max_variables: int = 16) -> SearchStrategy[Target]:
    """Boolean targets with ``Leap_CSQ - Leap_SQ = gap`` exactly, by construction.

    Construction (``docs/theory.md`` section 8): ``y = +-chi_A * prod_{j<=m} (x_{b_j} - x_{c_j})``
    on disjoint coordinates, ``|A| = a <= 2``, relabelled at random. Every
    Walsh monomial has ``a + m`` coordinates, none shared at the start, so
    ``Leap_CSQ = a + m``; ``y != 0`` exactly when every pair differs, so each pair
    ``{b_j, c_j}`` is SQ-detectable on its own (``E[x_b x_c | y != 0] = -1``) and,
    once the pairs are known, ``chi_A`` is read off ``y``; no single coordinate is
    detectable first (a sign flip symmetry), so ``Leap_SQ = 2`` (``1`` for
    ``a = 0, m = 1``, which is not drawn). ``gap = a + m - 2``. The absolute,
    Huber, log-cosh and quartic DLQ leaps are 2 as well (``y^2`` reveals the pairs).

    Parameters
    ----------
    gap
        ``>= 0``; at most ``(max_variables - 2) // 2``.
    max_variables
        Largest number of coordinates (``a + 2m``), ``<= 16`` (the exact SQ oracle).

    Examples
    --------
    >>> import csqbound
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5)
    ... @given(targets_with_sq_csq_gap(2, max_variables=8))
    ... def test_gap(f):
    ...     assert csqbound.csq_leap(f) - csqbound.sq_leap(f) == 2
    >>> test_gap()
    """
    budget = _check_int("max_variables", max_variables, 2, 16)
    g = _check_int("gap", gap, 0, (budget - 2) // 2)
    return _gap_target(g, budget)


# -- rotations (gaussian) ------------------------------------------------------------------
def _gaussian_target(value: object) -> Target:
    """A gaussian target for a strategy argument: bad input is hypothesis's InvalidArgument."""
    try:
        return gaussian_target(value)
    except DomainError:
        raise
    except ParameterError as exc:
        raise InvalidArgument(str(exc)) from exc


@st.composite
def _rotation(draw: Any, dimension: int, max_numerator: int, max_denominator: int) -> Any:
    entries = draw(
        st.lists(
            st.tuples(st.integers(-max_numerator, max_numerator), st.integers(1, max_denominator)),
            min_size=dimension * (dimension - 1) // 2,
            max_size=dimension * (dimension - 1) // 2,
        )
    )
    a = sympy.zeros(dimension, dimension)
    pairs = [(i, j) for i in range(dimension) for j in range(i + 1, dimension)]
    for (i, j), (num, den) in zip(pairs, entries, strict=True):
        a[i, j] = sympy.Rational(num, den)
        a[j, i] = -a[i, j]
    return cayley_rotation(a)


def rotations(
    dimension: int, *, max_numerator: int = 3, max_denominator: int = 3
) -> SearchStrategy[sympy.ImmutableMatrix]:
    """Exact rational rotations of ``R^dimension``: Cayley transforms of random rational skew ``A``.

    ``A`` has entries ``p/q`` with ``|p| <= max_numerator`` and
    ``1 <= q <= max_denominator``; it shrinks to ``A = 0``, i.e. ``Q = I``.
    Cayley transforms have ``det Q = 1`` and never the eigenvalue ``-1``; every
    other rotation is a limit of them.

    Parameters
    ----------
    dimension
        ``n >= 1``: the rotations act on ``R^n``.
    max_numerator, max_denominator
        Bounds of the entries of the skew matrix ``A``.

    Returns
    -------
    SearchStrategy of sympy.ImmutableMatrix
        Exactly orthogonal ``n x n`` matrices with rational entries.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(rotations(3))
    ... def test_orthogonal(Q):
    ...     assert Q.T * Q == sympy.eye(3) and Q.det() == 1
    >>> test_orthogonal()
    """
    n = _check_int("dimension", dimension, 1)
    num = _check_int("max_numerator", max_numerator, 0)
    den = _check_int("max_denominator", max_denominator, 1)
    return _rotation(n, num, den)


def rotated(
    target: object,
    *,
    dimension: int | None = None,
    max_numerator: int = 3,
    max_denominator: int = 3,
) -> SearchStrategy[Target]:
    """Gaussian targets composed with an exact random rotation: ``x -> f(Q x)``.

    ``Q`` is drawn by :func:`rotations` (rational Cayley transforms), so the
    rotated target is an exact polynomial whenever ``f`` is, and every
    rotation-invariant quantity (``iso_leap`` and its jumps, the information
    exponent, ``E f^2``, the predicted SGD exponents) is unchanged, while the
    coordinate leap and the support usually change.

    Parameters
    ----------
    target
        A gaussian target (Target, text or sympy expression), or a strategy of
        gaussian Targets (e.g. :func:`gaussian_polynomials`).
    dimension
        Rotate in ``R^dimension`` (default: the target's ``P``); larger values
        spread the target over more coordinates.
    max_numerator, max_denominator
        Size of the entries of the skew matrix (see :func:`rotations`).

    Returns
    -------
    SearchStrategy of Target
        Shrinks towards ``Q = I`` (the target itself).

    Raises
    ------
    hypothesis.errors.InvalidArgument
        At construction, for bad bounds or a target that cannot be read.
    DomainError
        At construction for a boolean Target (or when a strategy draws one).

    Examples
    --------
    >>> import csqbound
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5)
    ... @given(rotated("x1*x2 + (x1 + x2)/sqrt(2)"))
    ... def test_iso_leap_is_rotation_invariant(g):
    ...     assert csqbound.iso_leap(g).jumps == (1, 2)
    >>> test_iso_leap_is_rotation_invariant()
    """
    n = None if dimension is None else _check_int("dimension", dimension, 1)
    num = _check_int("max_numerator", max_numerator, 0)
    den = _check_int("max_denominator", max_denominator, 1)
    if isinstance(target, SearchStrategy):
        base: SearchStrategy[Any] = target
    else:
        fixed = _gaussian_target(target)
        if n is not None and n < fixed.variables:
            msg = f"dimension={n} is smaller than the target's P={fixed.variables}"
            raise InvalidArgument(msg)
        base = st.just(fixed)

    @st.composite
    def build(draw: Any) -> Target:
        t = draw(base)
        if not isinstance(t, Target):
            t = _gaussian_target(t)
        if t.domain != "gaussian":
            msg = f"rotated() needs gaussian targets; the strategy drew a {t.domain} one: {t}"
            raise DomainError(msg)
        size = max(t.variables, 1) if n is None else n
        if size < t.variables:
            msg = f"dimension={size} is smaller than the drawn target's P={t.variables}"
            raise InvalidArgument(msg)
        return rotate(t, draw(_rotation(size, num, den)))

    return build()


# -- conversion ----------------------------------------------------------------------------
def target_from_expansion(expansion: Expansion) -> Target:
    """The target ``sum_alpha c_alpha phi_alpha`` of an expansion (``phi = chi_S`` or ``He_alpha``).

    The inverse of :func:`csqbound.expand` on polynomials: ``expand`` of the
    result has the same coefficients.

    Parameters
    ----------
    expansion
        A boolean or gaussian :class:`~csqbound.expansion.Expansion`.

    Returns
    -------
    Target
        On the expansion's domain, with ``P = expansion.variables``.

    Examples
    --------
    >>> import csqbound
    >>> from fractions import Fraction
    >>> e = Expansion.from_monomials([{1: 1}, {1: 1, 2: 2}], "gaussian", [1, Fraction(1, 2)])
    >>> t = target_from_expansion(e)
    >>> t.expression, t.domain
    (x1*(x2**2 - 1)/2 + x1, 'gaussian')
    >>> csqbound.expand(t).coefficients == e.coefficients
    True
    """
    if not isinstance(expansion, Expansion):
        msg = f"expected an Expansion, got {type(expansion).__name__}; use csqbound.expand first"
        raise ParameterError(msg)
    target = _target(dict(expansion.coefficients), expansion.domain)
    if target.variables < expansion.variables:
        target = Target(target.expression, expansion.domain, expansion.variables)
    return target
