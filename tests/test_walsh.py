"""Tests of csqbound.walsh: exact multilinear reduction, the fast Walsh–Hadamard
transform and boolean expansions from truth tables (THEORY.md section 1)."""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import scipy.linalg
import sympy
from hypothesis import given
from hypothesis import strategies as st

from csqbound import expand
from csqbound.errors import CsqboundError, ExpansionError, ParameterError
from csqbound.expansion import Expansion, boolean_expansion
from csqbound.monomial import Monomial
from csqbound.parsing import symbol
from csqbound.target import Target
from csqbound.walsh import (
    MAX_TABLE_VARIABLES,
    cube_points,
    fwht,
    multilinear_reduce,
    truth_table,
)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def xs(p: int) -> tuple[sympy.Symbol, ...]:
    return tuple(symbol(i) for i in range(1, p + 1))


def as_strings(expansion: Expansion) -> dict[str, Any]:
    return {str(m): c for m, c in expansion.coefficients.items()}


def boolean(text: str, tol: float | None = None) -> Expansion:
    return boolean_expansion(Target.from_text(text, "boolean"), tol=tol)


def evaluate_expansion(coefficients: dict[Monomial, Any], point: tuple[int, ...]) -> Fraction:
    """Exact value of ``sum_S c_S chi_S`` at a point of {-1,1}^P (rational coefficients)."""
    total = Fraction(0)
    for mono, c in coefficients.items():
        sign = math.prod(point[i - 1] for i in mono.support)
        total += Fraction(int(c.p), int(c.q)) * sign
    return total


def brute_force_walsh(table: np.ndarray, p: int) -> dict[frozenset[int], float]:
    """``h^(S) = 2^-P sum_x h(x) chi_S(x)`` by the definition, independent of fwht."""
    points = cube_points(p)
    out = {}
    for r in range(p + 1):
        for subset in itertools.combinations(range(1, p + 1), r):
            chi = np.prod(points[:, [i - 1 for i in subset]], axis=1) if subset else 1.0
            out[frozenset(subset)] = float(np.mean(table * chi))
    return out


@dataclass(frozen=True)
class TableTarget:
    """A test double with the attributes boolean_expansion reads, forcing the table route.

    ``expression`` gives the exact values (sympy), ``table`` the numeric ones,
    in cube_points order; they may be made to disagree on purpose.
    """

    expression: sympy.Expr
    variables: int
    table: tuple[float, ...]
    is_polynomial: bool = False

    @property
    def symbols(self) -> tuple[sympy.Symbol, ...]:
        return xs(self.variables)

    def evaluate(self, X: np.ndarray, xp: Any = None) -> np.ndarray:
        bits = (X < 0).astype(np.int64)
        index = bits @ (1 << np.arange(self.variables, dtype=np.int64))
        return np.asarray(self.table, dtype=np.float64)[index]


def indicator_polynomial(values: list[Fraction], p: int) -> sympy.Expr:
    """``sum_j v_j prod_i (1 + s_ij x_i) / 2``: exactly ``v_j`` at point ``j`` of the cube."""
    terms = []
    for j, v in enumerate(values):
        factor = sympy.Rational(v.numerator, v.denominator)
        for i in range(p):
            s = -1 if (j >> i) & 1 else 1
            factor *= (1 + s * symbol(i + 1)) / 2
        terms.append(factor)
    return sympy.Add(*terms)


rationals = st.fractions(min_value=-8, max_value=8, max_denominator=12)


# ---------------------------------------------------------------------------
# hand-checked cases
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x1 + x1*x2 + x1*x2*x3", {"x1": 1, "x1*x2": 1, "x1*x2*x3": 1}),
        ("x1*x2", {"x1*x2": 1}),
        ("x1 + x1*x2*x3", {"x1": 1, "x1*x2*x3": 1}),
        ("x1*x2*x3", {"x1*x2*x3": 1}),
        ("x1**2*x2", {"x2": 1}),
        ("x1**3*x2**4 - x1 + 2", {"1": 2}),
        ("(x1 + x2)**2", {"1": 2, "x1*x2": 2}),
        ("He3(x1)", {"x1": -2}),  # x^3 - 3x = -2x on {-1, 1}
        ("7/3", {"1": sympy.Rational(7, 3)}),
        ("x1 - x1", {}),
    ],
)
def test_polynomials_reduce_by_hand(text: str, expected: dict[str, Any]) -> None:
    e = boolean(text)
    assert e.method == "multilinear"
    assert e.exact
    assert as_strings(e) == expected
    assert all(isinstance(c, sympy.Rational) for c in e.coefficients.values())


def test_theory_section_7_through_expand() -> None:
    e = expand("x1 + x1*x2 + x1*x2*x3", domain="boolean")
    assert set(e.support) == {Monomial.from_set(s) for s in ({1}, {1, 2}, {1, 2, 3})}
    assert e.variables == 3


def test_majority_is_exact() -> None:
    e = boolean("sign(x1 + x2 + x3)")
    assert e.method == "walsh"
    assert e.exact
    assert e.tol is None
    half = sympy.Rational(1, 2)
    assert as_strings(e) == {"x1": half, "x2": half, "x3": half, "x1*x2*x3": -half}


def test_max_is_exact() -> None:
    e = boolean("max(x1, x2)")
    half = sympy.Rational(1, 2)
    assert as_strings(e) == {"1": half, "x1": half, "x2": half, "x1*x2": -half}
    assert e.exact


def test_min_relu_abs_exact() -> None:
    # on the cube: relu(x1 + x2) = (1 + x1 + x2 + x1 x2) / 2, |x1 - x3| = 1 - x1 x3,
    # min(x1, x2) = (-1 + x1 + x2 + x1 x2) / 2
    e = boolean("relu(x1 + x2) + abs(x1 - x3)/3 + min(x1, x2)")
    third = sympy.Rational(1, 3)
    assert e.exact
    assert as_strings(e) == {"1": third, "x1": 1, "x2": 1, "x1*x2": 1, "x1*x3": -third}


def test_majority_13_uses_representatives() -> None:
    # P = 13 > 12: exact values from one representative per distinct float value.
    e = boolean("sign(" + " + ".join(f"x{i}" for i in range(1, 14)) + ")")
    assert e.exact
    # hat Maj_n({i}) = C(n-1, (n-1)/2) / 2^(n-1)
    assert e.coefficient({5}) == sympy.Rational(math.comb(12, 6), 2**12)
    assert all(m.degree % 2 == 1 for m in e.support)
    assert sum(c * c for c in e.coefficients.values()) == 1  # Parseval, |Maj| = 1


def test_exact_beyond_float_precision() -> None:
    # 10**19 + 1/3 is not a float, and the integer table overflows int64 after scaling:
    # the object-array path must keep it exact.
    e = boolean("(10**19 + 1/3) * max(x1, x2)")
    c = (10**19 + sympy.Rational(1, 3)) / 2
    assert e.exact
    assert as_strings(e) == {"1": c, "x1": c, "x2": c, "x1*x2": -c}


def test_numeric_fallback_for_irrational_values() -> None:
    e = boolean("sqrt(2) * sign(x1 + x2 + x3)")
    assert not e.exact
    assert e.method == "walsh"
    assert e.tol == 1e-9
    assert e.error is not None
    assert 0 < e.error < 1e-12
    r = math.sqrt(2) / 2
    got = as_strings(e)
    assert set(got) == {"x1", "x2", "x3", "x1*x2*x3"}
    assert got["x1*x2*x3"] == pytest.approx(-r, abs=1e-14)
    assert got["x2"] == pytest.approx(r, abs=1e-14)


def test_tanh_against_brute_force() -> None:
    target = Target.from_text("tanh(x1 + 2*x2 - x3/2)", "boolean")
    e = boolean_expansion(target)
    reference = brute_force_walsh(truth_table(target), 3)
    norm = math.sqrt(sum(c * c for c in reference.values()))
    for subset, value in reference.items():
        got = e.coefficient(subset)
        assert got == pytest.approx(value, abs=1e-14)
        assert (abs(value) > 1e-9 * norm) == (Monomial.from_set(subset) in e.coefficients)


def test_tolerance_drops_small_coefficients() -> None:
    # 1e-6 * x3 counts as zero at tol = 1e-3 but not at the default 1e-9.
    text = "sqrt(2) * max(x1, x2) + sqrt(2)/1000000 * x3*sign(x3)*x3"
    assert Monomial.from_set({3}) in boolean(text).coefficients
    assert Monomial.from_set({3}) not in boolean(text, tol=1e-3).coefficients
    assert boolean(text, tol=1e-3).tol == 1e-3


def test_float_coefficients_are_numeric() -> None:
    x1, x2 = xs(2)
    target = Target.coerce(sympy.Float(0.5) * x1 * x2**2 + x2, "boolean")
    e = boolean_expansion(target)
    assert not e.exact
    assert e.method == "multilinear"
    assert as_strings(e) == {"x1": 0.5, "x2": 1.0}


def test_algebraic_coefficients_stay_exact() -> None:
    x1, x2 = xs(2)
    reduced = multilinear_reduce((x1 + sympy.sqrt(2) * x2) ** 2, (x1, x2))
    assert reduced == {Monomial(()): 3, Monomial.from_set({1, 2}): 2 * sympy.sqrt(2)}
    # sqrt(2)*sqrt(3) - sqrt(6) is zero and must be dropped
    assert multilinear_reduce((sympy.sqrt(2) * sympy.sqrt(3) - sympy.sqrt(6)) * x1, (x1,)) == {}


def test_multilinear_rejects_non_polynomials_and_symbols() -> None:
    x1 = symbol(1)
    with pytest.raises(ExpansionError, match="not a polynomial"):
        multilinear_reduce(sympy.sign(x1), (x1,))
    with pytest.raises(ExpansionError, match="other than the variables"):
        multilinear_reduce(sympy.Symbol("a") * x1, (x1,))
    with pytest.raises(ExpansionError, match="non-real"):
        multilinear_reduce(sympy.I * x1, (x1,))


def test_constant_targets() -> None:
    assert as_strings(boolean("5/2")) == {"1": sympy.Rational(5, 2)}
    assert boolean("0").coefficients == {}
    # a non-polynomial route with P = 0
    e = boolean_expansion(TableTarget(sympy.Rational(5, 2), 0, (2.5,)))
    assert e.method == "walsh"
    assert as_strings(e) == {"1": sympy.Rational(5, 2)}


def test_undefined_points_are_rejected() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ExpansionError, match="finite"):
            boolean("sqrt(x1) + x2")


def test_disagreeing_exact_and_numeric_values_are_rejected() -> None:
    with pytest.raises(ExpansionError, match="disagree"):
        boolean_expansion(TableTarget(sympy.sign(symbol(1)), 1, (1.0, 1.0)))


def test_too_many_variables_for_a_table() -> None:
    huge = TableTarget(sympy.sign(symbol(25)), 25, ())
    with pytest.raises(ExpansionError, match=f"P <= {MAX_TABLE_VARIABLES}"):
        boolean_expansion(huge)
    # a polynomial of many variables is fine
    e = boolean_expansion(Target.from_text("x1*x30**3 + x40**2", "boolean"))
    assert as_strings(e) == {"1": 1, "x1*x30": 1}
    assert e.variables == 40


@pytest.mark.parametrize("tol", [-1.0, math.nan, math.inf])
def test_bad_tolerance(tol: float) -> None:
    with pytest.raises(ParameterError):
        boolean("x1", tol=tol)


def test_fwht_input_checks() -> None:
    with pytest.raises(ExpansionError, match="power of two|length 2\\^P"):
        fwht(np.ones(3))
    with pytest.raises(ExpansionError, match="1-D"):
        fwht(np.ones((2, 2)))
    with pytest.raises(ExpansionError, match="overflow"):
        fwht(np.array([2**61, 0, 0, 0], dtype=np.int64))
    values = np.arange(8.0)
    fwht(values)
    np.testing.assert_array_equal(values, np.arange(8.0))  # input untouched
    np.testing.assert_array_equal(fwht(np.array([True, False])), [1, 1])


def test_truth_table_order() -> None:
    target = Target.from_text("x1 + 10*x2 + 100*x3", "boolean")
    table = truth_table(target)
    for j in range(8):
        point = [-1 if (j >> i) & 1 else 1 for i in range(3)]
        assert table[j] == point[0] + 10 * point[1] + 100 * point[2]


def test_errors_are_csqbound_errors() -> None:
    assert issubclass(ExpansionError, CsqboundError)


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------
@given(
    st.integers(0, 7).flatmap(
        lambda p: st.lists(st.integers(-50, 50), min_size=2**p, max_size=2**p)
    )
)
def test_fwht_is_the_hadamard_product(values: list[int]) -> None:
    v = np.array(values, dtype=np.int64)
    np.testing.assert_array_equal(fwht(v), scipy.linalg.hadamard(v.shape[0], dtype=np.int64) @ v)
    np.testing.assert_allclose(
        fwht(v.astype(np.float64)), scipy.linalg.hadamard(v.shape[0]) @ v, atol=1e-9
    )
    as_objects = np.array([Fraction(x, 3) for x in values], dtype=object)
    assert list(fwht(as_objects)) == [Fraction(int(y), 3) for y in fwht(v)]


@given(
    st.integers(0, 8).flatmap(
        lambda p: st.lists(st.integers(-1000, 1000), min_size=2**p, max_size=2**p)
    )
)
def test_fwht_twice_is_scaled_identity(values: list[int]) -> None:
    v = np.array(values, dtype=np.int64)
    np.testing.assert_array_equal(fwht(fwht(v)), v.shape[0] * v)


@given(st.integers(0, 5).flatmap(lambda p: st.lists(rationals, min_size=2**p, max_size=2**p)))
def test_table_route_is_exact_and_matches_reduction(values: list[Fraction]) -> None:
    p = len(values).bit_length() - 1
    polynomial = indicator_polynomial(values, p)
    target = TableTarget(polynomial, p, tuple(float(v) for v in values))
    e = boolean_expansion(target)
    assert e.exact
    assert e.method == "walsh"
    # reproduces the truth table exactly
    for j, v in enumerate(values):
        point = tuple(-1 if (j >> i) & 1 else 1 for i in range(p))
        assert evaluate_expansion(dict(e.coefficients), point) == v
    # Parseval, exactly
    parseval = sum((c * c for c in e.coefficients.values()), sympy.Integer(0))
    assert parseval == sympy.Rational(sum((v * v for v in values), Fraction(0))) / 2**p
    # the multilinear reduction of the interpolating polynomial is the same expansion
    assert multilinear_reduce(polynomial, xs(p)) == dict(e.coefficients)


@given(
    st.lists(
        st.tuples(st.lists(st.integers(0, 3), min_size=4, max_size=4), st.integers(-5, 5)),
        max_size=6,
    )
)
def test_reduction_matches_brute_force(terms: list[tuple[list[int], int]]) -> None:
    p = 4
    x = xs(p)
    expr = sympy.Add(
        *(c * sympy.Mul(*(x[i] ** e for i, e in enumerate(exps))) for exps, c in terms)
    )
    reduced = multilinear_reduce(expr, x)
    table = np.array(
        [
            sum(c * math.prod(int(pt[i]) ** e for i, e in enumerate(exps)) for exps, c in terms)
            for pt in cube_points(p)
        ],
        dtype=np.float64,
    )
    reference = brute_force_walsh(table, p)
    for subset, value in reference.items():
        mono = Monomial.from_set(subset)
        assert float(reduced.get(mono, 0)) == pytest.approx(value, abs=1e-12)
        assert (mono in reduced) == (abs(value) > 1e-12)


@given(st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_numeric_expansion_reproduces_table(p: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=p)
    text = "tanh(" + " + ".join(f"{w:.6f}*x{i + 1}" for i, w in enumerate(weights)) + ")"
    target = Target.from_text(text, "boolean")
    e = boolean_expansion(target)
    table = truth_table(target)
    points = cube_points(p)
    rebuilt = np.zeros(2**p)
    for mono, c in e.coefficients.items():
        rebuilt += c * np.prod(points[:, [i - 1 for i in mono.support]], axis=1)
    norm = math.sqrt(float(np.mean(table**2)))
    assert np.max(np.abs(rebuilt - table)) <= 2**p * 1e-9 * norm + 1e-12
    assert float(e.norm2) == pytest.approx(float(np.mean(table**2)), rel=1e-9)
    # tanh is odd: only odd characters
    assert all(m.degree % 2 == 1 for m in e.support)


# ---------------------------------------------------------------------------
# large inputs (timings belong in benchmarks/)
# ---------------------------------------------------------------------------
def test_large_inputs_expand_exactly() -> None:
    values = np.random.default_rng(0).normal(size=2**20)
    spectrum = fwht(values)
    assert spectrum[0] == pytest.approx(values.sum())
    text = "(" + " + ".join(f"x{i}" for i in range(1, 13)) + ")**4"
    target = Target.from_text(text, "boolean")
    e = boolean_expansion(target)
    # (sum x_i)^4 on the cube: E = 3n^2 - 2n = 408 constant term
    assert e.coefficient(set()) == 3 * 12**2 - 2 * 12
