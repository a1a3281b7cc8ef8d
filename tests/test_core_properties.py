"""Laws that tie the parser, the expansions and the leap together (issue: core).

Relabelling coordinates and flipping signs (boolean) of an *expression* must
leave the leap unchanged; the expansion must reproduce the target everywhere on
the cube; Parseval must hold exactly.
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy
from hypothesis import given
from hypothesis import strategies as st

import csqbound
from csqbound.parsing import symbol

P_MAX = 5


@st.composite
def boolean_polynomials(draw):
    """A random integer-coefficient polynomial in x1..xP (with powers, so reduction matters)."""
    p = draw(st.integers(1, P_MAX))
    n_terms = draw(st.integers(1, 5))
    expr = sympy.Integer(0)
    for _ in range(n_terms):
        coef = draw(st.integers(-3, 3).filter(bool))
        powers = draw(st.lists(st.integers(0, 3), min_size=p, max_size=p))
        expr += coef * sympy.Mul(*(symbol(i + 1) ** k for i, k in enumerate(powers)))
    return p, expr


@given(boolean_polynomials(), st.data())
def test_leap_invariant_under_relabelling_and_sign_flips(poly, data):
    p, expr = poly
    perm = data.draw(st.permutations(range(1, p + 1)))
    signs = data.draw(st.lists(st.sampled_from([-1, 1]), min_size=p, max_size=p))
    moved = expr.xreplace({symbol(i): signs[i - 1] * symbol(perm[i - 1]) for i in range(1, p + 1)})
    a, b = csqbound.leap(expr), csqbound.leap(moved)
    assert a.leap == b.leap
    assert sorted(a.jumps) == sorted(b.jumps)
    assert csqbound.cover(expr) == csqbound.cover(moved)


@given(boolean_polynomials())
def test_boolean_expansion_reproduces_target_and_parseval(poly):
    p, expr = poly
    e = csqbound.expand(expr)
    assert e.exact
    symbols = [symbol(i) for i in range(1, p + 1)]
    total = sympy.Integer(0)
    for point in itertools.product([-1, 1], repeat=p):
        value = expr.xreplace(dict(zip(symbols, point, strict=True)))
        series = sum(
            (c * sympy.Mul(*(point[i - 1] for i in m.support)) for m, c in e.coefficients.items()),
            sympy.Integer(0),
        )
        assert sympy.simplify(value - series) == 0
        total += value**2
    assert sympy.simplify(total / 2**p - e.norm2) == 0


@given(boolean_polynomials())
def test_leap_bounds_and_bruteforce(poly):
    _, expr = poly
    e = csqbound.expand(expr)
    monomials = [m for m in e.support if m.powers]
    r = csqbound.leap(e)
    if not monomials:
        assert r.leap == 0
        return
    assert 1 <= r.leap <= max(m.degree for m in monomials)
    if len(monomials) <= 7:
        assert r.leap == csqbound.leap_bruteforce(e)


def test_gaussian_expansion_reproduces_target_at_random_points():
    expr = csqbound.parse("x1**3*x2 - 2*x2**2 + He3((x1 - x2)/sqrt(2)) + 1/3")
    e = csqbound.expand(expr, domain="gaussian")
    rng = np.random.default_rng(0)
    for z in rng.standard_normal((5, 2)):
        point = {symbol(1): sympy.Float(z[0], 30), symbol(2): sympy.Float(z[1], 30)}
        series = sum(
            c * sympy.Mul(*(sympy.hermite_prob(k, point[symbol(i)]) for i, k in m.powers))
            for m, c in e.coefficients.items()
        )
        assert abs(float(expr.xreplace(point) - series)) < 1e-20
