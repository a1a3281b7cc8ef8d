"""Tests of the rotation-free leap (csqbound.isoleap)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from csqbound.errors import DomainError, ExpansionError, ParameterError
from csqbound.expansion import Expansion, expand
from csqbound.isoleap import information_exponent, iso_leap
from csqbound.leaps import leap
from csqbound.monomial import Monomial
from csqbound.parsing import symbol
from csqbound.target import Target

# THEORY sections 3 and 7, and the brief's hand cases: (target, iso_leap, jumps, dims)
HAND = [
    ("x1*x2 + (x1 + x2)/sqrt(2)", 2, (1, 2), (1, 2)),
    ("x1 + (He2(x1) - He2(x2))/2", 2, (1, 2), (1, 2)),
    ("He3(x1)", 3, (3,), (1,)),
    ("x1 + x1*x2", 1, (1, 1), (1, 2)),
    ("x1 + x1*He2(x2)", 2, (1, 2), (1, 2)),
    ("He2(x1)", 2, (2,), (1,)),
    ("x1*x2*x3", 3, (3,), (3,)),
    ("x1 + x1*x2 + x1*x2*x3", 1, (1, 1, 1), (1, 2, 3)),
    ("x1*x2 + He4(x3)", 4, (2, 4), (2, 3)),
    ("He3((x1 + x2)/sqrt(2))", 3, (3,), (1,)),
    ("x1*x2 + x1*x3", 2, (2,), (2,)),
    ("He2(x1) + He2(x2) + 2*x1*x2", 2, (2,), (1,)),
]


@pytest.mark.parametrize(("text", "value", "jumps", "dims"), HAND)
def test_hand_cases(text: str, value: int, jumps: tuple[int, ...], dims: tuple[int, ...]) -> None:
    r = iso_leap(text)
    assert r.exact
    assert r.tol is None
    assert (r.iso_leap, r.jumps, r.dims) == (value, jumps, dims)
    assert r.information_exponent == jumps[0]


def test_coordinate_leap_differs_from_iso_leap() -> None:
    # THEORY section 3: coordinate leap 1, iso_leap 2
    text = "x1*x2 + (x1 + x2)/sqrt(2)"
    assert leap(expand(text, "gaussian")).leap == 1
    r = iso_leap(text)
    assert r.iso_leap == 2
    assert r.subspaces[0] == ((1, 1),)
    assert r.subspaces[1][1] == (1, -1)


def test_chain_witness_for_x1x2x3() -> None:
    assert iso_leap("x1*x2*x3").subspaces == (((1, 0, 0), (0, 1, 0), (0, 0, 1)),)


def test_algebraic_directions_stay_exact() -> None:
    r = iso_leap("He3(x1 + sqrt(2)*x2)")
    assert r.exact
    assert r.dims == (1,)
    (vec,) = r.subspaces[0]
    assert sympy.simplify(vec[1] / vec[0] - sympy.sqrt(2)) == 0


@pytest.mark.parametrize(
    ("text", "k"),
    [("relu(x1)", 1), ("sign(x1)", 1), ("abs(x1)", 2), ("tanh(x1)", 1), ("He2(x1)", 2)],
)
def test_information_exponent(text: str, k: int) -> None:
    assert information_exponent(text) == k


def test_numeric_targets_report_tolerance() -> None:
    r = iso_leap("sign(x1)")
    assert not r.exact
    assert r.tol is not None
    assert r.tol > 0
    assert r.jumps == (1,)
    r = iso_leap("relu((x1 - x2)/sqrt(2)) + He2(x3)")
    assert not r.exact
    assert r.jumps == (1, 2)
    assert r.dims == (1, 2)
    (v,) = r.subspaces[0]
    assert abs(abs(v[0]) - 1 / math.sqrt(2)) < 1e-6
    assert abs(v[0] + v[1]) < 1e-6
    assert abs(v[2]) < 1e-6


def test_numeric_agrees_with_exact_on_float_polynomial() -> None:
    e = expand("x1*x2 + (x1 + x2)/sqrt(2) + He3(x3)", "gaussian")
    floats = Expansion(
        "gaussian",
        {m: float(c) for m, c in e.coefficients.items()},
        e.variables,
        exact=False,
        tol=1e-9,
        method="hermite",
    )
    exact, numeric = iso_leap(e), iso_leap(floats)
    assert not numeric.exact
    assert (numeric.jumps, numeric.dims) == (exact.jumps, exact.dims)


def test_constant_target() -> None:
    r = iso_leap("3")
    assert (r.iso_leap, r.jumps, r.dims, r.subspaces) == (0, (), (), ())
    assert information_exponent("1/2") == 0


def test_errors() -> None:
    with pytest.raises(DomainError):
        iso_leap(Target.from_text("x1*x2", "boolean"))
    with pytest.raises(DomainError):
        iso_leap(expand("x1*x2", "boolean"))
    with pytest.raises(ExpansionError):
        iso_leap("relu(x1 + x2 + x3 + x4)")
    with pytest.raises(ParameterError):
        iso_leap("x1", tol=-1.0)
    with pytest.raises(ParameterError):
        iso_leap("relu(x1)", tol=0.0)
    assert iso_leap("x1", tol=0.0).exact  # tol is not used by the exact algorithm
    with pytest.raises(ValueError, match="iso_leap needs"):
        iso_leap(3.5)


def test_to_dict() -> None:
    out = iso_leap("x1*x2 + (x1 + x2)/sqrt(2)").to_dict()
    assert out["iso_leap"] == 2
    assert out["subspaces"][0] == [["1", "1"]]
    assert out["exact"] is True


# ---------------------------------------------------------------------------
# properties on random Hermite polynomials (P <= 3)
# ---------------------------------------------------------------------------
@st.composite
def hermite_polynomials(draw: st.DrawFn) -> tuple[dict[Monomial, sympy.Expr], int]:
    p = draw(st.integers(1, 3))
    pool = [
        Monomial.from_mapping(dict(zip(range(1, p + 1), degs, strict=True)))
        for degs in itertools.product(range(3), repeat=p)
        if sum(degs) > 0
    ]
    chosen = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4, unique=True))
    coefs = draw(
        st.lists(st.integers(-2, 2).filter(bool), min_size=len(chosen), max_size=len(chosen))
    )
    return {m: sympy.Integer(c) for m, c in zip(chosen, coefs, strict=True)}, p


def _expression(table: dict[Monomial, sympy.Expr]) -> sympy.Expr:
    total = sympy.Integer(0)
    for m, c in table.items():
        term = c
        for coordinate, degree in m.powers:
            term *= sympy.hermite_prob_poly(degree, symbol(coordinate))
        total += term
    return sympy.expand(total)


@given(hermite_polynomials())
def test_information_exponent_is_least_degree(data: tuple[dict[Monomial, sympy.Expr], int]) -> None:
    table, p = data
    r = iso_leap(Expansion("gaussian", table, p))
    assert r.information_exponent == min(m.degree for m in table)
    assert 1 <= r.iso_leap <= max(m.degree for m in table)


@given(hermite_polynomials(), st.data())
def test_invariant_under_signed_permutations(
    data: tuple[dict[Monomial, sympy.Expr], int], more: st.DataObject
) -> None:
    table, p = data
    perm = more.draw(st.permutations(list(range(1, p + 1))))
    signs = more.draw(st.lists(st.sampled_from([1, -1]), min_size=p, max_size=p))
    expr = _expression(table)
    # x_i -> s_i x_{perm(i)}: an exact orthogonal change of coordinates
    sub = {symbol(i): signs[i - 1] * symbol(perm[i - 1]) for i in range(1, p + 1)}
    moved = sympy.expand(expr.xreplace(sub))
    a = iso_leap(Expansion("gaussian", table, p))
    b = iso_leap(Target(moved, "gaussian", p))
    assert (a.jumps, a.dims) == (b.jumps, b.dims)
    # chains correspond: V(f o Q) = Q^T V(f), Q e_j = s_j e_{perm(j)} in the x -> Q x form
    q = sympy.zeros(p, p)
    for i in range(1, p + 1):
        q[i - 1, perm[i - 1] - 1] = signs[i - 1]
    for va, vb in zip(a.subspaces, b.subspaces, strict=True):
        ma = q.T * sympy.Matrix([list(v) for v in va]).T
        mb = sympy.Matrix([list(v) for v in vb]).T
        assert ma.rank() == mb.rank() == ma.row_join(mb).rank()


@given(hermite_polynomials())
def test_chain_is_nested_orthogonal_and_sufficient(
    data: tuple[dict[Monomial, sympy.Expr], int],
) -> None:
    table, p = data
    r = iso_leap(Expansion("gaussian", table, p))
    assert list(r.dims) == sorted(set(r.dims))
    previous: tuple[tuple[sympy.Expr, ...], ...] = ()
    for basis in r.subspaces:
        assert basis[: len(previous)] == previous  # cumulative chain
        for new in basis[len(previous) :]:
            for old in previous:
                assert sympy.simplify(sum(a * b for a, b in zip(new, old, strict=True))) == 0
        previous = basis
    # f depends on x only through its projection onto the last subspace
    b = sympy.Matrix([list(v) for v in r.subspaces[-1]]).T
    proj = b * (b.T * b).inv() * b.T
    xs = sympy.Matrix([symbol(i) for i in range(1, p + 1)])
    ys = sympy.Matrix([sympy.Symbol(f"y{i}", real=True) for i in range(1, p + 1)])
    moved = proj * xs + (sympy.eye(p) - proj) * ys
    expr = _expression(table)
    assert (
        sympy.expand(
            expr.xreplace(dict(zip(list(xs), list(moved), strict=True)))
            - expr.xreplace(dict(zip(list(xs), list(proj * xs), strict=True)))
        )
        == 0
    )


def test_numeric_greedy_is_rotation_invariant_on_rotated_nonpolynomial_targets():
    # review finding: the eigenvalue floor sat below rounding noise, so noise directions
    # were kept and the rotated target read iso_leap 1 with a 2-dimensional first block
    cases = {
        "tanh((3*x1+4*x2)/5) + He2((4*x1-3*x2)/5)": ((1, 2), (1, 2)),
        "tanh(x1) + He2(x2)": ((1, 2), (1, 2)),
        "tanh((3*x1+4*x2)/5)": ((1,), (1,)),
        "tanh((3*x1+4*x2)/5) + tanh((4*x1-3*x2)/5)**2": ((1, 2), (1, 2)),
    }
    for text, (jumps, dims) in cases.items():
        r = iso_leap(text)
        assert (r.jumps, r.dims) == (jumps, dims), text
        assert not r.exact
        for basis in r.subspaces:
            v = np.array(basis, dtype=float)
            assert np.allclose(v @ v.T, np.eye(len(basis)), atol=1e-8)


def test_float_coefficients_are_not_exact_and_tol_is_checked():
    from csqbound.errors import ParameterError
    from csqbound.expansion import Expansion

    e = Expansion.from_monomials(
        [{1: 2}, {1: 1, 2: 1}, {2: 2}],
        "gaussian",
        [sympy.Float(0.36), sympy.Float(0.96), sympy.Float(0.64)],
    )  # He2 along (0.6, 0.8), in sympy Floats
    assert not e.exact
    assert iso_leap(e).dims == (1,)
    with pytest.raises(ParameterError):
        iso_leap("x1", tol="0.1")  # type: ignore[arg-type]
