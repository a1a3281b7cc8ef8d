"""Tests of csqbound.testing.strategies: eager validation, bounds, exactness by construction,
rotation invariance, and shrinking to small examples.

Every property is checked against a computation that does not go through the
strategy's own reasoning: the leap against ``leap_bruteforce``, expansions
against sums over the cube or Gauss-Hermite quadrature done here with numpy,
rotations against ``Q^T Q = I`` and the inverse Cayley transform.
"""

from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

import csqbound
from csqbound.errors import DomainError, ParameterError
from csqbound.expansion import Expansion
from csqbound.monomial import Monomial
from csqbound.parsing import parse, symbol
from csqbound.target import Target
from csqbound.testing import strategies as cst

FIND = settings(database=None, max_examples=500)


def _find(strategy, condition):
    return find(strategy, condition, settings=FIND, random=random.Random(0))


def _same(a: sympy.Expr, b: sympy.Expr) -> bool:
    return sympy.expand(a - b) == 0


# -- the module ------------------------------------------------------------------------------
def test_all_lists_the_public_names() -> None:
    public = {
        name
        for name, value in vars(cst).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == cst.__name__
    }
    # cayley_rotation and rotate live in csqbound.rotations (no hypothesis needed) and are
    # re-exported here
    assert set(cst.__all__) == public | {"POOL_LIMIT", "cayley_rotation", "rotate"}
    assert cst.__all__ == sorted(cst.__all__, key=lambda n: (not n.isupper(), n))


# -- eager validation ---------------------------------------------------------------------
BAD_BOUNDS = [
    (lambda: cst.monomials(max_variables=0), "max_variables"),
    (lambda: cst.monomials(min_degree=3, max_degree=2), "min_degree=3"),
    (lambda: cst.monomials(domain="cube"), "domain"),
    (lambda: cst.monomials(max_variables=2, min_degree=3), "no boolean monomial"),
    (lambda: cst.monomials(max_variables=True), "integer"),
    (lambda: cst.support_families(min_size=4, max_size=2), "min_size=4"),
    (lambda: cst.support_families(max_variables=2, max_degree=1, min_size=3), "only 2"),
    (
        lambda: cst.support_families(domain="gaussian", max_variables=1, max_degree=2, min_size=3),
        "only 2",
    ),
    (lambda: cst.support_families(max_degree=0), "max_degree"),
    (lambda: cst.boolean_targets(max_coefficient=0), "max_coefficient"),
    (lambda: cst.gaussian_polynomials(max_variables=1.5), "integer"),
    (lambda: cst.staircases(max_jump=0), "max_jump"),
    (lambda: cst.staircases(min_length=3, max_variables=2), "max_variables"),
    (lambda: cst.staircases(min_length=4, max_length=3), "min_length"),
    (lambda: cst.targets_with_leap(0), "leap"),
    (lambda: cst.targets_with_leap(3, max_variables=2), "max_variables >= 3"),
    (lambda: cst.targets_with_leap(2, max_blocks=0), "max_blocks"),
    (lambda: cst.targets_with_leap(2, domain="gaussian", max_extra_terms=-1), "max_extra_terms"),
    (lambda: cst.rotations(0), "dimension"),
    (lambda: cst.rotations(2, max_denominator=0), "max_denominator"),
    (lambda: cst.rotated("x1", dimension=0), "dimension"),
    (lambda: cst.rotated("x1*x2*x3", dimension=2), "dimension=2"),
    (lambda: cst.rotated("x1 +* x2"), "cannot read"),
]


@pytest.mark.parametrize(("build", "words"), BAD_BOUNDS)
def test_bad_bounds_fail_at_construction(build, words) -> None:
    with pytest.raises(InvalidArgument, match=words):
        build()


def test_rotating_a_boolean_target_is_refused_at_construction() -> None:
    with pytest.raises(DomainError, match="gaussian"):
        cst.rotated(Target.from_text("x1*x2", "boolean"))


def test_good_bounds_build_strategies_without_drawing() -> None:
    built = [
        cst.monomials(domain="gaussian", max_variables=6, max_degree=6),
        cst.support_families(max_variables=30, max_degree=6, max_size=3),
        cst.boolean_targets(),
        cst.gaussian_polynomials(),
        cst.staircases(domain="gaussian", max_jump=3),
        cst.targets_with_leap(4),
        cst.rotations(3),
        cst.rotated(cst.gaussian_polynomials()),
    ]
    assert all(isinstance(s, SearchStrategy) for s in built)


# -- bounds ----------------------------------------------------------------------------------
@pytest.mark.parametrize("domain", ["boolean", "gaussian"])
@given(data=st.data())
def test_monomials_respect_their_bounds(domain, data) -> None:
    p = data.draw(st.integers(1, 5), label="P")
    hi = data.draw(st.integers(1, 5), label="max_degree")
    lo = data.draw(st.integers(0, min(hi, p) if domain == "boolean" else hi), label="min_degree")
    m = data.draw(cst.monomials(domain=domain, max_variables=p, min_degree=lo, max_degree=hi))
    assert isinstance(m, Monomial)
    assert lo <= m.degree <= hi
    assert m.support <= set(range(1, p + 1))
    if domain == "boolean":
        assert all(k == 1 for _, k in m.powers)


@pytest.mark.parametrize("domain", ["boolean", "gaussian"])
@given(data=st.data())
def test_support_families_respect_their_bounds(domain, data) -> None:
    p = data.draw(st.integers(1, 4), label="P")
    deg = data.draw(st.integers(1, 3), label="max_degree")
    available = sum(
        1
        for m in itertools.product(range((1 if domain == "boolean" else deg) + 1), repeat=p)
        if 1 <= sum(m) <= deg
    )
    lo = data.draw(st.integers(0, min(available, 3)), label="min_size")
    hi = data.draw(st.integers(lo, lo + 3), label="max_size")
    fam = data.draw(
        cst.support_families(
            domain=domain, max_variables=p, max_degree=deg, min_size=lo, max_size=hi
        )
    )
    assert isinstance(fam, tuple)
    assert lo <= len(fam) <= hi
    assert len(set(fam)) == len(fam)
    for m in fam:
        assert m.powers, "no constant monomial"
        assert 1 <= m.degree <= deg
        assert m.support <= set(range(1, p + 1))
        if domain == "boolean":
            assert all(k == 1 for _, k in m.powers)


def test_support_families_count_matches_enumeration() -> None:
    # the eager size check relies on this count; compare it with a plain enumeration
    for domain in ("boolean", "gaussian"):
        for p in range(1, 5):
            for deg in range(1, 5):
                top = 1 if domain == "boolean" else deg
                plain = sum(
                    1 for a in itertools.product(range(top + 1), repeat=p) if 1 <= sum(a) <= deg
                )
                assert cst._count_monomials(domain, p, 1, deg) == plain
                assert len(cst._pool(domain, p, 1, deg)) == plain


@given(cst.support_families(max_variables=20, max_degree=4, min_size=2, max_size=4))
def test_large_pools_use_the_structural_draw(fam) -> None:
    assert cst._count_monomials("boolean", 20, 1, 4) > cst.POOL_LIMIT
    assert 2 <= len(fam) <= 4
    assert len(set(fam)) == len(fam)
    assert all(1 <= m.degree <= 4 and max(m.support) <= 20 for m in fam)


# -- targets reproduce their terms exactly --------------------------------------------------
def _walsh_by_hand(t: Target) -> dict[frozenset[int], float]:
    """Walsh coefficients by a sum over {-1,1}^P (numpy), independent of csqbound.expand."""
    p = t.variables
    cube = np.array(list(itertools.product([-1.0, 1.0], repeat=p)))
    values = np.asarray(t.evaluate(cube), dtype=float)
    out = {}
    for k in range(p + 1):
        for s in itertools.combinations(range(p), k):
            c = float(np.mean(values * np.prod(cube[:, list(s)], axis=1)))
            if abs(c) > 1e-9:
                out[frozenset(i + 1 for i in s)] = c
    return out


@given(cst.boolean_targets(max_variables=4, max_terms=5, max_coefficient=3))
def test_boolean_targets_have_exactly_their_terms(t) -> None:
    assert t.domain == "boolean"
    e = csqbound.expand(t)
    assert e.exact
    assert 1 <= len(e.support) <= 5
    assert all(c.is_Integer and 1 <= abs(c) <= 3 for c in e.coefficients.values())
    assert Monomial(()) not in e.coefficients
    by_hand = _walsh_by_hand(t)
    assert by_hand == {m.support: float(c) for m, c in e.coefficients.items()}
    assert _same(parse(t.text), t.expression)  # the text is valid csqbound input


def _hermite_by_quadrature(t: Target, degree: int) -> dict[tuple[int, ...], float]:
    """Hermite coefficients E[f He_alpha] / alpha! by tensor Gauss-Hermite quadrature (numpy)."""
    from numpy.polynomial.hermite_e import hermegauss, hermeval

    p = t.variables
    nodes, weights = hermegauss(degree + 2)
    weights = weights / math.sqrt(2 * math.pi)
    grid = np.array(list(itertools.product(nodes, repeat=p)))
    w = np.prod(np.array(list(itertools.product(weights, repeat=p))), axis=1)
    values = np.asarray(t.evaluate(grid), dtype=float)
    out = {}
    for alpha in itertools.product(range(degree + 1), repeat=p):
        if sum(alpha) > degree:
            continue
        basis = np.ones(len(grid))
        for i, k in enumerate(alpha):
            basis *= hermeval(grid[:, i], [0.0] * k + [1.0])
        c = float(np.sum(w * values * basis)) / math.prod(math.factorial(k) for k in alpha)
        if abs(c) > 1e-8:
            out[alpha] = c
    return out


@settings(max_examples=30)
@given(cst.gaussian_polynomials(max_variables=3, max_degree=3, max_terms=4))
def test_gaussian_polynomials_have_exactly_their_terms(t) -> None:
    assert t.domain == "gaussian"
    e = csqbound.expand(t)
    assert e.exact
    assert all(c.is_Integer and 1 <= abs(c) <= 3 for c in e.coefficients.values())
    quad = _hermite_by_quadrature(t, 3)
    mine = {
        tuple(m.as_dict().get(i, 0) for i in range(1, t.variables + 1)): float(c)
        for m, c in e.coefficients.items()
    }
    assert quad.keys() == mine.keys()
    assert all(math.isclose(quad[k], mine[k], rel_tol=1e-9, abs_tol=1e-9) for k in mine)
    assert _same(parse(t.text), t.expression)


@pytest.mark.parametrize("domain", ["boolean", "gaussian"])
@given(data=st.data())
def test_target_from_expansion_round_trips(domain, data) -> None:
    fam = data.draw(cst.support_families(domain=domain, max_variables=3, max_degree=3))
    coefs = data.draw(
        st.lists(
            st.fractions(min_value=-3, max_value=3, max_denominator=4).filter(bool),
            min_size=len(fam),
            max_size=len(fam),
        )
    )
    e = Expansion.from_monomials(fam, domain, coefs)
    t = cst.target_from_expansion(e)
    assert t.domain == domain
    assert t.variables == e.variables
    assert csqbound.expand(t).coefficients == e.coefficients


def test_target_from_expansion_refuses_other_types() -> None:
    with pytest.raises(ParameterError, match="Expansion"):
        cst.target_from_expansion("x1*x2")


# -- leaps by construction ---------------------------------------------------------------------
@pytest.mark.parametrize("L", [1, 2, 3])
@pytest.mark.parametrize("domain", ["boolean", "gaussian"])
@given(data=st.data())
def test_targets_with_leap_have_exactly_that_leap(L, domain, data) -> None:
    budget = data.draw(st.integers(L if domain == "boolean" else 1, 3 * L), label="max_variables")
    t = data.draw(cst.targets_with_leap(L, domain=domain, max_variables=budget))
    assert t.domain == domain
    assert t.variables <= budget
    e = csqbound.expand(t)
    assert len(e.support) <= 5  # 3 leads + 2 extras
    assert csqbound.leap(t).leap == L
    assert csqbound.leap_bruteforce(t) == L  # the definition: min over all orderings
    assert all(abs(c) == 1 for c in e.coefficients.values())


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("domain", ["boolean", "gaussian"])
@given(data=st.data())
def test_staircases_have_leap_at_most_max_jump(k, domain, data) -> None:
    t = data.draw(cst.staircases(domain=domain, max_jump=k, min_length=2, max_length=4))
    monos = sorted((m for m in csqbound.expand(t).support if m.powers), key=lambda m: m.degree)
    assert 2 <= len(monos) <= 4
    # nested: every monomial contains the previous one (coordinate-wise)
    for a, b in itertools.pairwise(monos):
        assert all(b.as_dict().get(c, 0) >= k_ for c, k_ in a.powers)
    steps = [monos[0].degree] + [b.cost_after(a.support) for a, b in itertools.pairwise(monos)]
    assert all(1 <= s <= k for s in steps)
    assert csqbound.leap(t).leap == max(steps) == csqbound.leap_bruteforce(t) <= k


def test_the_leap_checks_can_fail() -> None:
    # a staircase of max jump 2 is not always of leap 1: the bound k is not vacuous
    found = _find(cst.staircases(max_jump=2), lambda t: csqbound.leap(t).leap == 2)
    assert csqbound.leap(found).leap == 2
    with pytest.raises(AssertionError):
        assert csqbound.leap(found).leap <= 1


# -- rotations ---------------------------------------------------------------------------------
@given(
    st.integers(1, 4).flatmap(
        lambda n: st.lists(
            st.fractions(min_value=-4, max_value=4, max_denominator=5),
            min_size=n * (n - 1) // 2,
            max_size=n * (n - 1) // 2,
        ).map(lambda xs: (n, xs))
    )
)
def test_cayley_rotation_is_an_exact_rotation(data) -> None:
    n, entries = data
    a = sympy.zeros(n, n)
    for (i, j), v in zip(itertools.combinations(range(n), 2), entries, strict=True):
        a[i, j], a[j, i] = (
            sympy.Rational(v.numerator, v.denominator),
            -sympy.Rational(v.numerator, v.denominator),
        )
    q = cst.cayley_rotation(a)
    ident = sympy.eye(n)
    assert q.T * q == ident
    assert q.det() == 1
    assert all(entry.is_Rational for entry in q)
    assert (ident - q) * (ident + q).inv() == a  # the inverse Cayley transform gives A back


def test_cayley_rotation_agrees_with_the_proofs_checks_helper() -> None:
    from proofs_checks.check_iso_rotation import cayley

    for p, seed in itertools.product((1, 2, 3, 4), range(3)):
        rng = random.Random(seed)
        a = [[Fraction(0)] * p for _ in range(p)]
        for i in range(p):
            for j in range(i + 1, p):
                value = Fraction(rng.randint(-3, 3), rng.randint(1, 3))
                a[i][j], a[j][i] = value, -value
        assert cst.cayley_rotation(a) == cayley(p, random.Random(seed))


@pytest.mark.parametrize(
    ("matrix", "words"),
    [
        ([[0, 1], [1, 0]], "skew-symmetric"),
        ([[0, 1, 2], [-1, 0, 3]], "square"),
        ([[0, 0.5], [-0.5, 0]], "exact"),
        ("A", "Matrix"),
    ],
)
def test_cayley_rotation_rejects_bad_matrices(matrix, words) -> None:
    with pytest.raises(ParameterError, match=words):
        cst.cayley_rotation(matrix)


def test_rotate_identity_inverse_and_errors() -> None:
    q = cst.cayley_rotation([[0, Fraction(1, 2), 1], [Fraction(-1, 2), 0, 2], [-1, -2, 0]])
    f = Target.from_text("x1*x2 + He3(x3) - x1", "gaussian")
    assert _same(cst.rotate(f, sympy.eye(3)).expression, f.expression)
    assert _same(cst.rotate(cst.rotate(f, q), q.T).expression, f.expression)
    g = cst.rotate(f, q)
    assert g.variables == 3
    # f(Qx) at a point equals f at Qx
    point = [Fraction(1, 3), -2, Fraction(5, 7)]
    moved = list(q * sympy.Matrix(point))
    at = {symbol(i + 1): v for i, v in enumerate(point)}
    at_moved = {symbol(i + 1): v for i, v in enumerate(moved)}
    assert g.expression.xreplace(at) == f.expression.xreplace(at_moved)
    with pytest.raises(DomainError, match="gaussian"):
        cst.rotate(Target.from_text("x1*x2", "boolean"), sympy.eye(2))
    with pytest.raises(ParameterError, match="orthogonal"):
        cst.rotate(f, sympy.Matrix([[1, 1, 0], [0, 1, 0], [0, 0, 1]]))
    with pytest.raises(ParameterError, match="size >= 3"):
        cst.rotate(f, sympy.eye(2))


@settings(max_examples=20)
@given(data=st.data())
def test_rotated_keeps_every_rotation_invariant_quantity(data) -> None:
    p = data.draw(st.integers(1, 3), label="P")
    f = data.draw(
        cst.gaussian_polynomials(max_variables=p, max_degree=3 if p < 3 else 2, max_terms=3)
    )
    dimension = data.draw(st.sampled_from([None, 3]), label="dimension")
    g = data.draw(cst.rotated(f, dimension=dimension))
    assert g.domain == "gaussian"
    a, b = csqbound.iso_leap(f), csqbound.iso_leap(g)
    assert (a.iso_leap, a.jumps, a.dims) == (b.iso_leap, b.jumps, b.dims)
    assert csqbound.information_exponent(f) == csqbound.information_exponent(g)
    ef, eg = csqbound.expand(f), csqbound.expand(g)
    assert sympy.simplify(ef.norm2 - eg.norm2) == 0  # E f^2
    assert sympy.simplify(ef.variance - eg.variance) == 0
    pf, pg = csqbound.predict(f), csqbound.predict(g)
    assert (pf.samples_exponent, pf.time_exponent) == (pg.samples_exponent, pg.time_exponent)


def test_rotation_changes_what_is_not_invariant() -> None:
    # the coordinate leap is not rotation invariant (THEORY section 3): a rotation of the
    # adapted pair drops it from 2 to 1, which the strategy finds
    g = _find(cst.rotated("x1 + (He2(x1) - He2(x2))/2"), lambda t: csqbound.leap(t).leap == 1)
    assert csqbound.leap(g).leap == 1
    assert csqbound.iso_leap(g).iso_leap == 2


def test_rotated_accepts_a_strategy_and_rejects_boolean_draws() -> None:
    @settings(max_examples=5, database=None)
    @given(cst.rotated(cst.boolean_targets()))
    def draws_boolean(g):
        raise AssertionError  # pragma: no cover - never reached

    with pytest.raises(DomainError, match="gaussian"):
        draws_boolean()


# -- shrinking ------------------------------------------------------------------------------
def test_shrinking_gives_small_examples() -> None:
    def always(_):
        return True

    assert _find(cst.targets_with_leap(2), always).text == "x1*x2"
    assert _find(cst.targets_with_leap(3, domain="gaussian"), always).text == "He3(x1)"
    fam = _find(
        cst.support_families(max_variables=5, max_size=6), lambda f: csqbound.leap(f).leap >= 2
    )
    assert fam == (Monomial.from_set({1, 2}),)
    big = cst.support_families(max_variables=20, max_degree=4, max_size=6)
    assert _find(big, lambda f: csqbound.leap(f).leap >= 2) == (Monomial.from_set({1, 2}),)
    assert _find(cst.boolean_targets(), lambda t: csqbound.leap(t).leap >= 3).text == "x1*x2*x3"
    three = _find(cst.boolean_targets(max_terms=6), lambda t: len(csqbound.expand(t).support) >= 3)
    assert three.text == "x1 + x2 + x3"
    stair = _find(cst.staircases(max_jump=3, max_length=4), lambda t: csqbound.leap(t).leap >= 2)
    assert stair.text == "x1*x2"
    he = _find(cst.gaussian_polynomials(), lambda t: csqbound.iso_leap(t).iso_leap >= 2)
    assert len(csqbound.expand(he).support) == 1
    assert csqbound.expand(he).max_total_degree == 2
    ident = _find(cst.rotated(cst.gaussian_polynomials(max_variables=2)), always)
    assert ident.expression == symbol(1)  # the smallest polynomial, rotated by Q = I
    m = _find(
        cst.monomials(domain="gaussian", max_variables=4, max_degree=5), lambda m: m.degree >= 4
    )
    assert m.degree == 4
    big_coef = _find(
        cst.boolean_targets(max_coefficient=5),
        lambda t: any(abs(c) >= 3 for c in csqbound.expand(t).coefficients.values()),
    )
    assert big_coef.text == "3*x1"
