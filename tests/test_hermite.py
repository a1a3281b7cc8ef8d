"""Tests of csqbound.hermite: exact Hermite conversion of polynomials and
Gauss–Hermite quadrature for other targets (THEORY.md section 1)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st
from numpy.polynomial import hermite_e
from scipy import integrate

from csqbound import expand
from csqbound.errors import ExpansionError, ParameterError
from csqbound.expansion import Expansion, gaussian_expansion
from csqbound.hermite import (
    default_points_per_dim,
    gauss_hermite_coefficients,
    hermite_coefficients_of_power,
    polynomial_to_hermite,
)
from csqbound.monomial import Monomial
from csqbound.parsing import symbol
from csqbound.target import Target

PHI0 = 1 / math.sqrt(2 * math.pi)  # the standard normal density at 0


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def xs(p: int) -> tuple[sympy.Symbol, ...]:
    return tuple(symbol(i) for i in range(1, p + 1))


def gaussian(text: str, **kwargs: Any) -> Expansion:
    return gaussian_expansion(Target.from_text(text, "gaussian"), **kwargs)


def as_strings(expansion: Expansion | dict[Monomial, Any]) -> dict[str, Any]:
    table = expansion.coefficients if isinstance(expansion, Expansion) else expansion
    return {str(m): c for m, c in table.items()}


def he_at_zero(k: int) -> float:
    """``He_k(0)``: 0 for odd k, ``(-1)^(k/2) (k-1)!!`` for even k."""
    return float(hermite_e.hermeval(0.0, [0] * k + [1]))


def evaluate_hermite(coefficients: dict[Monomial, Any], points: np.ndarray) -> np.ndarray:
    """``sum_alpha c_alpha He_alpha(x)`` at the rows of ``points`` (numpy.hermite_e)."""
    total = np.zeros(points.shape[0])
    for mono, c in coefficients.items():
        term = np.full(points.shape[0], float(c))
        for i, k in mono.powers:
            term *= hermite_e.hermeval(points[:, i - 1], [0] * k + [1])
        total += term
    return total


def padded(values: np.ndarray, n: int) -> np.ndarray:
    """numpy trims trailing zero coefficients: pad back to length ``n``."""
    out = np.zeros(n)
    out[: len(values)] = values
    return out


def gaussian_integral(fn: Any) -> float:
    """``E[fn(z)]`` for ``z ~ N(0, 1)`` by adaptive quadrature (scipy), split at 0."""
    density = lambda z: fn(z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        left = integrate.quad(density, -math.inf, 0, limit=200, epsabs=1e-13, epsrel=1e-13)[0]
        right = integrate.quad(density, 0, math.inf, limit=200, epsabs=1e-13, epsrel=1e-13)[0]
    return left + right


# ---------------------------------------------------------------------------
# exact conversion
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("n", range(13))
def test_power_table_against_numpy(n: int) -> None:
    ours = hermite_coefficients_of_power(n)
    reference = hermite_e.poly2herme([0] * n + [1])
    dense = [ours.get(k, 0) for k in range(n + 1)]
    np.testing.assert_allclose(dense, reference, rtol=1e-12)
    assert all(isinstance(c, int) for c in ours.values())


def test_power_table_rejects_negative() -> None:
    with pytest.raises(ParameterError):
        hermite_coefficients_of_power(-1)


@given(st.lists(st.integers(-20, 20), min_size=1, max_size=10))
def test_univariate_conversion_against_numpy(coefficients: list[int]) -> None:
    x1 = symbol(1)
    expr = sympy.Add(*(c * x1**k for k, c in enumerate(coefficients)))
    converted = polynomial_to_hermite(expr, (x1,))
    dense = [converted.get(Monomial.from_mapping({1: k}), 0) for k in range(len(coefficients))]
    assert all(isinstance(c, sympy.Integer) for c in converted.values())
    n = len(coefficients)
    np.testing.assert_allclose(
        [float(c) for c in dense], padded(hermite_e.poly2herme(coefficients), n), rtol=1e-12
    )
    # and back: herme2poly of our (exact, integer) coefficients gives the polynomial
    np.testing.assert_allclose(
        padded(hermite_e.herme2poly([int(c) for c in dense]), n), coefficients, rtol=1e-12
    )


@given(
    st.integers(1, 3).flatmap(
        lambda p: st.lists(
            st.tuples(
                st.lists(st.integers(0, 3), min_size=p, max_size=p),
                st.fractions(min_value=-5, max_value=5, max_denominator=6),
            ),
            min_size=1,
            max_size=6,
        )
    ),
    st.integers(0, 2**31 - 1),
)
def test_multivariate_conversion_reproduces_polynomial(
    terms: list[tuple[list[int], Any]], seed: int
) -> None:
    p = len(terms[0][0])
    x = xs(p)
    expr = sympy.Add(
        *(
            sympy.Rational(c.numerator, c.denominator)
            * sympy.Mul(*(x[i] ** e for i, e in enumerate(exps)))
            for exps, c in terms
        )
    )
    converted = polynomial_to_hermite(expr, x)
    assert all(isinstance(c, sympy.Rational) and c != 0 for c in converted.values())
    points = np.random.default_rng(seed).normal(size=(50, p))
    direct = sympy.lambdify(x, expr, "numpy")(*points.T) * np.ones(50)
    np.testing.assert_allclose(evaluate_hermite(converted, points), direct, atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("He3(x1)", {"He3(x1)": 1}),
        ("x1 + x1*x2", {"x1": 1, "x1*x2": 1}),
        ("x1 + x1*He2(x2)", {"x1": 1, "x1*He2(x2)": 1}),
        (
            "x1 + (He2(x1) - He2(x2))/2",
            {"x1": 1, "He2(x1)": sympy.Rational(1, 2), "He2(x2)": sympy.Rational(-1, 2)},
        ),
        ("x1**2*x2", {"x2": 1, "He2(x1)*x2": 1}),
        ("x1**4", {"1": 3, "He2(x1)": 6, "He4(x1)": 1}),
        ("x1**2 - 1 - He2(x1)", {}),
        ("5/2", {"1": sympy.Rational(5, 2)}),
    ],
)
def test_hand_cases(text: str, expected: dict[str, Any]) -> None:
    e = gaussian(text)
    assert e.method == "hermite"
    assert e.exact
    assert e.max_degree is None
    assert as_strings(e) == expected


def test_sqrt2_stays_exact() -> None:
    e = gaussian("He3((x1 - x2)/sqrt(2))")
    r = sympy.sqrt(2)
    expected = {
        "He3(x1)": r / 4,
        "He3(x2)": -r / 4,
        "He2(x1)*x2": -3 * r / 4,
        "x1*He2(x2)": 3 * r / 4,
    }
    got = as_strings(e)
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert sympy.expand(got[key] - value) == 0
    # a unit direction: ||He3(u)||^2 = 3! = 6, exactly
    total = sum((c**2 * m.factorial for m, c in e.coefficients.items()), sympy.Integer(0))
    assert sympy.expand(total) == 6


def test_iso_leap_example_exact() -> None:
    e = expand("x1*x2 + (x1 + x2)/sqrt(2)", domain="gaussian")
    r = sympy.sqrt(2) / 2
    assert as_strings(e) == {"x1": r, "x2": r, "x1*x2": 1}


def test_cancellation_with_radicals() -> None:
    x1 = symbol(1)
    expr = (sympy.sqrt(2) * sympy.sqrt(3) - sympy.sqrt(6)) * x1**3 + sympy.sqrt(3) * x1
    assert polynomial_to_hermite(expr, (x1,)) == {Monomial.from_mapping({1: 1}): sympy.sqrt(3)}


def test_float_coefficients_are_numeric() -> None:
    x1 = symbol(1)
    e = gaussian_expansion(Target.coerce(sympy.Float(0.5) * x1**2, "gaussian"))
    assert not e.exact
    assert e.method == "hermite"
    assert as_strings(e) == {"1": 0.5, "He2(x1)": 0.5}


def test_conversion_rejects_non_polynomials() -> None:
    x1 = symbol(1)
    with pytest.raises(ExpansionError, match="not a polynomial"):
        polynomial_to_hermite(sympy.tanh(x1), (x1,))
    with pytest.raises(ExpansionError, match="other than the variables"):
        polynomial_to_hermite(sympy.Symbol("a") * x1, (x1,))


# ---------------------------------------------------------------------------
# quadrature
# ---------------------------------------------------------------------------
@given(
    st.integers(1, 3).flatmap(
        lambda p: st.lists(
            st.tuples(st.lists(st.integers(0, 3), min_size=p, max_size=p), st.integers(-4, 4)),
            min_size=1,
            max_size=5,
        )
    )
)
def test_quadrature_agrees_with_exact_conversion(terms: list[tuple[list[int], int]]) -> None:
    p = len(terms[0][0])
    x = xs(p)
    expr = sympy.Add(
        *(c * sympy.Mul(*(x[i] ** e for i, e in enumerate(exps))) for exps, c in terms)
    )
    degree = max(sum(exps) for exps, _ in terms)
    exact = polynomial_to_hermite(expr, x)
    target = Target.coerce(expr, "gaussian") if expr.free_symbols else None

    def fn(points: np.ndarray) -> np.ndarray:
        if target is None:
            return np.full(points.shape[0], float(expr))
        return target.evaluate(points)

    coefs, norm2, error = gauss_hermite_coefficients(fn, p, degree, points_per_dim=2 * degree + 2)
    assert error < 1e-8
    for mono, value in coefs.items():
        assert value == pytest.approx(float(exact.get(mono, 0)), abs=1e-8)
    assert set(exact) <= set(coefs)
    exact_norm2 = sum(float(c) ** 2 * m.factorial for m, c in exact.items())
    assert norm2 == pytest.approx(exact_norm2, rel=1e-8, abs=1e-8)


def test_quadrature_default_rule_on_a_polynomial() -> None:
    coefs, norm2, error = gauss_hermite_coefficients(lambda X: X[:, 0] ** 5, 1, 8)
    # x^5 = He5 + 10 He3 + 15 He1
    expected = {1: 15.0, 3: 10.0, 5: 1.0}
    for k in range(9):
        assert coefs[Monomial.from_mapping({1: k})] == pytest.approx(expected.get(k, 0.0), abs=1e-8)
    assert norm2 == pytest.approx(945.0, rel=1e-10)  # E z^10 = 9!! = 945
    assert error < 1e-8


def test_relu_against_closed_form() -> None:
    e = gaussian("relu(x1)", max_degree=10)
    assert e.method == "gauss-hermite"
    assert not e.exact
    assert e.max_degree == 10
    assert e.error is not None
    assert e.tol is not None
    assert e.tol == pytest.approx(max(1e-9, 10 * e.error / math.sqrt(0.5)), rel=1e-6)
    # relu'' = delta_0 so E[relu He_k] = phi(0) He_{k-2}(0) for k >= 2
    closed = {0: PHI0, 1: 0.5}
    for k in range(2, 11):
        closed[k] = PHI0 * he_at_zero(k - 2) / math.factorial(k)
    for k, value in closed.items():
        got = float(e.coefficient({1: k}))
        assert got == pytest.approx(value, abs=1e-5)
        # the reported error bounds the actual error of the normalised coefficient
        assert abs(got - value) * math.sqrt(math.factorial(k)) <= e.error
    assert set(e.support) == {Monomial.from_mapping({1: k}) for k in (0, 1, 2, 4, 6, 8, 10)}
    captured = sum(v * v * math.factorial(k) for k, v in closed.items())
    assert e.truncation == pytest.approx(0.5 - captured, abs=1e-4)
    assert float(e.norm2) + e.truncation == pytest.approx(0.5, abs=1e-5)


def test_relu_on_a_direction_in_two_variables() -> None:
    # relu(x1 + x2) = sqrt(2) relu(u), u = (x1 + x2)/sqrt(2); He_k(u) = sum_|a|=k k!/a! w^a He_a
    e = gaussian("relu(x1 + x2)", max_degree=4)
    one_dim = {0: PHI0, 1: 0.5, 2: PHI0 / 2, 3: 0.0, 4: -PHI0 / 24}
    for mono in e.support:
        assert mono.degree <= 4
    for k, c in one_dim.items():
        for a in range(k + 1):
            mono = Monomial.from_mapping({1: a, 2: k - a})
            expected = math.sqrt(2) * c * math.comb(k, a) * 2 ** (-k / 2)
            assert float(e.coefficient(mono)) == pytest.approx(expected, abs=3e-4)
    assert e.truncation is not None
    assert e.truncation > 0


def test_sign_odd_coefficients_and_truncation() -> None:
    e = gaussian("sign(x1)", max_degree=9)
    assert all(m.degree % 2 == 1 for m in e.support)
    # sign' = 2 delta_0 so E[sign He_k] = 2 phi(0) He_{k-1}(0)
    for k in (1, 3, 5, 7, 9):
        expected = 2 * PHI0 * he_at_zero(k - 1) / math.factorial(k)
        assert float(e.coefficient({1: k})) == pytest.approx(expected, abs=1e-4)
    assert e.truncation is not None
    assert e.truncation > 0.05  # sign has slowly decaying Hermite mass
    captured = sum((2 * PHI0 * he_at_zero(k - 1)) ** 2 / math.factorial(k) for k in (1, 3, 5, 7, 9))
    assert e.truncation == pytest.approx(1 - captured, abs=1e-3)


def test_tanh_against_scipy_quad() -> None:
    e = gaussian("tanh(x1)", max_degree=9)
    assert not e.exact
    for k in range(10):
        he = np.polynomial.hermite_e.HermiteE([0] * k + [1])
        expected = gaussian_integral(lambda z, he=he: math.tanh(z) * he(z)) / math.factorial(k)
        got = float(e.coefficient({1: k}))
        assert got == pytest.approx(expected, abs=1e-9)
        assert (Monomial.from_mapping({1: k}) in e.coefficients) == (k % 2 == 1)


def test_explicit_tolerance_is_recorded() -> None:
    # normalised coefficients of tanh: 0.61, -0.148, 0.063, ... and ||tanh|| ~ 0.63
    e = gaussian("tanh(x1)", max_degree=9, tol=0.2)
    assert e.tol == 0.2
    norm = math.sqrt(float(e.norm2) + e.truncation)
    assert all(abs(c) * math.sqrt(m.factorial) > 0.2 * norm for m, c in e.coefficients.items())
    assert set(e.support) == {Monomial.from_mapping({1: 1}), Monomial.from_mapping({1: 3})}
    assert e.truncation > 0.003  # the dropped He5, He7, He9 mass is part of the truncation


def test_too_many_variables_for_quadrature() -> None:
    text = "relu(" + " + ".join(f"x{i}" for i in range(1, 8)) + ")"
    with pytest.raises(ExpansionError, match="polynomial"):
        gaussian(text)


@pytest.mark.parametrize("degree", [-1, 41, 2.5])
def test_bad_max_degree(degree: Any) -> None:
    with pytest.raises(ParameterError):
        gaussian("relu(x1)", max_degree=degree)
    with pytest.raises(ParameterError):
        gaussian("x1**2", max_degree=degree)


def test_bad_points_per_dim() -> None:
    with pytest.raises(ParameterError):
        gauss_hermite_coefficients(lambda X: X[:, 0], 1, 8, points_per_dim=10)


def test_non_finite_values_are_rejected() -> None:
    with pytest.raises(ExpansionError, match="finite"):
        gauss_hermite_coefficients(
            lambda X: np.where(X[:, 0] > 0, np.nan, 1.0), 1, 2, points_per_dim=20
        )


def test_default_points() -> None:
    assert default_points_per_dim(0) == 1
    for p in range(2, 8):
        n = default_points_per_dim(p)
        assert n % 2 == 0
        assert n**p <= 2_000_000 < (n + 2) ** p


def test_jump_at_zero_in_four_variables() -> None:
    # sign(x1 x2 x3 x4) = prod sign(x_i): its x1*x2*x3*x4 coefficient is E[|z|]^4 = (2/pi)^2
    e = gaussian("sign(x1*x2*x3*x4)", max_degree=4)
    assert e.error is not None
    assert e.coefficient({1, 2, 3, 4}) == pytest.approx((2 / math.pi) ** 2, abs=2 * e.error)
    assert float(e.norm2) + e.truncation == pytest.approx(1.0, abs=1e-12)
    assert set(e.support) == {Monomial.from_set({1, 2, 3, 4})}


# ---------------------------------------------------------------------------
# large inputs (timings belong in benchmarks/)
# ---------------------------------------------------------------------------
def test_large_inputs_expand_exactly() -> None:
    text = "(" + " + ".join(f"x{i}" for i in range(1, 13)) + ")**4"
    target = Target.from_text(text, "gaussian")
    e = gaussian_expansion(target)
    # (sum x_i)^4 = 12^2 z^4 with z ~ N(0,1) along (1..1)/sqrt(12): E = 3 * 144
    assert e.coefficient({}) == 3 * 12**2
    assert e.coefficient({1: 4}) == 1
    relu = gaussian("relu(x1)")
    assert relu.method == "gauss-hermite"
