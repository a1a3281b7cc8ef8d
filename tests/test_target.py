"""Tests for csqbound.target: Target construction, coercion and numeric evaluation."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from fractions import Fraction

import array_api_compat
import array_api_strict as xps
import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from csqbound.errors import CsqboundError, DomainError, ParameterError, ParseError
from csqbound.parsing import symbol
from csqbound.target import Target

x1, x2, x3 = symbol(1), symbol(2), symbol(3)


def he3(u: np.ndarray) -> np.ndarray:
    return u**3 - 3 * u


# Each case: text, and the same function written directly with numpy on columns.
CASES: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = [
    ("x1*x2 + x1*x2*x3", lambda X: X[:, 0] * X[:, 1] + X[:, 0] * X[:, 1] * X[:, 2]),
    ("3*x1**4 - x2**3/2 + 0.25", lambda X: 3 * X[:, 0] ** 4 - X[:, 1] ** 3 / 2 + 0.25),
    ("(x1 + x2)**5", lambda X: (X[:, 0] + X[:, 1]) ** 5),
    ("He2(x1)*He3(x2)", lambda X: (X[:, 0] ** 2 - 1) * he3(X[:, 1])),
    ("He3((x1 - x2)/sqrt(2))", lambda X: he3((X[:, 0] - X[:, 1]) / np.sqrt(2))),
    ("He(4, x3)", lambda X: X[:, 2] ** 4 - 6 * X[:, 2] ** 2 + 3),
    ("sign(x1 + x2 + x3)", lambda X: np.sign(X[:, 0] + X[:, 1] + X[:, 2])),
    ("abs(x1 - x2) + Abs(x3)", lambda X: np.abs(X[:, 0] - X[:, 1]) + np.abs(X[:, 2])),
    ("max(x1, x2, x3)", lambda X: np.max(X[:, :3], axis=1)),
    ("min(x1, x2) - Min(x3, 1/2)",
     lambda X: np.minimum(X[:, 0], X[:, 1]) - np.minimum(X[:, 2], 0.5)),
    ("relu(x1 - x2)", lambda X: np.maximum(X[:, 0] - X[:, 1], 0)),
    ("tanh(2*x1)", lambda X: np.tanh(2 * X[:, 0])),
    ("exp(-x1**2/2)", lambda X: np.exp(-X[:, 0] ** 2 / 2)),
    ("sin(x1)*cos(x3)", lambda X: np.sin(X[:, 0]) * np.cos(X[:, 2])),
    ("sqrt(x1**2 + x2**2)", lambda X: np.sqrt(X[:, 0] ** 2 + X[:, 1] ** 2)),
    ("relu(x1)*relu(x1) + sign(x2)*x3",
     lambda X: np.maximum(X[:, 0], 0) ** 2 + np.sign(X[:, 1]) * X[:, 2]),
    ("7/3", lambda X: np.full(X.shape[0], 7 / 3)),
    ("exp(1) * x2", lambda X: np.e * X[:, 1]),
]  # fmt: skip

CASE_IDS = [text for text, _ in CASES]


@pytest.fixture
def points() -> np.ndarray:
    return np.random.default_rng(12345).standard_normal((64, 5))


# -- construction ---------------------------------------------------------------------------


def test_from_text_records_everything() -> None:
    t = Target.from_text(" x1*x3 ", domain="gaussian")
    assert t.expression == x1 * x3
    assert t.domain == "gaussian"
    assert t.variables == 3
    assert t.text == "x1*x3"
    assert t.symbols == (x1, x2, x3)
    assert str(t) == "x1*x3"


def test_constant_target_has_no_variables() -> None:
    t = Target.from_text("1/2")
    assert t.variables == 0
    assert t.symbols == ()
    assert t.is_polynomial


def test_str_without_text_is_sympy() -> None:
    t = Target.coerce(x1 * x2 + sympy.Rational(1, 2))
    assert t.text is None
    assert str(t) == "x1*x2 + 1/2"


def test_target_is_frozen_and_hashable() -> None:
    t = Target.from_text("x1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.variables = 2  # type: ignore[misc]
    assert {t: 1}[Target.from_text("x1")] == 1


def test_unknown_domain() -> None:
    with pytest.raises(DomainError):
        Target.from_text("x1", domain="uniform")
    with pytest.raises(DomainError):
        Target(x1, "torus", 1)  # type: ignore[arg-type]


def test_variables_must_cover_the_expression() -> None:
    with pytest.raises(CsqboundError, match="variables >= 3"):
        Target(x1 * x3, "boolean", 2)
    assert Target(x1, "boolean", 4).symbols == (x1, x2, x3, symbol(4))


def test_from_text_parse_errors_propagate() -> None:
    with pytest.raises(ParseError, match="unknown name 'foo'"):
        Target.from_text("x1 + foo")


@pytest.mark.parametrize(
    ("text", "polynomial"),
    [
        ("x1*x2", True),
        ("He4(x1) - x1*x2/2 + 3", True),
        ("sqrt(2)*x1", True),
        ("exp(1)*x1**2", True),
        ("relu(x1)", False),
        ("sign(x1)*x2", False),
        ("tanh(x1)", False),
        ("abs(x1)", False),
        ("sqrt(x1**2 + 1)", False),
    ],
)
def test_is_polynomial(text: str, polynomial: bool) -> None:
    assert Target.from_text(text).is_polynomial is polynomial


# -- coerce -------------------------------------------------------------------------------------


def test_coerce_text_and_target() -> None:
    t = Target.coerce("x1*x2", domain="gaussian")
    assert t == Target.from_text("x1*x2", domain="gaussian")
    assert Target.coerce(t) is t
    assert Target.coerce(t, domain="boolean") is t


def test_coerce_sympy_with_project_symbols() -> None:
    t = Target.coerce(x1 * x3 + 1)
    assert t.expression == x1 * x3 + 1
    assert t.variables == 3


def test_coerce_sympy_with_plain_symbols_remaps_them() -> None:
    a, c = sympy.symbols("x1 x3")
    assert not a.is_real
    t = Target.coerce(a * c + sympy.Abs(a) ** 2)
    assert t.expression.free_symbols == {x1, x3}
    # Re-evaluated with real symbols: |x1|**2 == x1**2.
    assert t.expression == x1 * x3 + x1**2
    assert t.variables == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, sympy.Integer(3)),
        (Fraction(2, 7), sympy.Rational(2, 7)),
        (0.1, sympy.Rational(1, 10)),
        (np.int64(4), sympy.Integer(4)),
        (sympy.Rational(1, 3), sympy.Rational(1, 3)),
    ],
)
def test_coerce_numbers(value: object, expected: sympy.Expr) -> None:
    t = Target.coerce(value)  # type: ignore[arg-type]
    assert t.expression == expected
    assert t.variables == 0


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (sympy.Symbol("y"), "'y' is not a csqbound variable"),
        (sympy.Symbol("x0") + x1, "'x0' is not a csqbound variable"),
        (sympy.Symbol("x1", positive=True), "assumptions"),
        (sympy.Dummy("x1"), "not a csqbound variable"),
        (sympy.gamma(x1), "gamma"),
        (sympy.Piecewise((x1, x2 > 0), (0, True)), "Piecewise"),
        (sympy.I * x1, "not a real number"),
        (sympy.zoo * x1, "not a real number"),
        (sympy.Eq(x1, 1), "Equality"),
        (True, "boolean"),
        (float("inf"), "finite"),
        ([1, 2], "list"),
        (None, "NoneType"),
    ],
)
def test_coerce_rejects(value: object, match: str) -> None:
    with pytest.raises(CsqboundError, match=match):
        Target.coerce(value)  # type: ignore[arg-type]


def test_constructor_rejects_non_project_symbols() -> None:
    with pytest.raises(CsqboundError, match="Target.coerce"):
        Target(sympy.Symbol("x1") * x2, "boolean", 2)
    with pytest.raises(CsqboundError, match="sympy expression"):
        Target("x1", "boolean", 1)  # type: ignore[arg-type]


# -- evaluation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "direct"), CASES, ids=CASE_IDS)
def test_evaluate_matches_numpy(
    text: str, direct: Callable[[np.ndarray], np.ndarray], points: np.ndarray
) -> None:
    values = Target.from_text(text).evaluate(points)
    assert isinstance(values, np.ndarray)
    assert values.shape == (points.shape[0],)
    np.testing.assert_allclose(values, direct(points), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("text", "direct"), CASES, ids=CASE_IDS)
def test_evaluate_array_api_strict(
    text: str, direct: Callable[[np.ndarray], np.ndarray], points: np.ndarray
) -> None:
    X = xps.asarray(points)
    values = Target.from_text(text).evaluate(X)
    assert array_api_compat.array_namespace(values) is xps
    assert values.dtype == xps.float64
    assert values.shape == (points.shape[0],)
    np.testing.assert_allclose(np.asarray(values), direct(points), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("text", "direct"), CASES, ids=CASE_IDS)
def test_float32_stays_float32(
    text: str, direct: Callable[[np.ndarray], np.ndarray], points: np.ndarray
) -> None:
    t = Target.from_text(text)
    X32 = points.astype(np.float32)
    values = t.evaluate(X32)
    assert values.dtype == np.float32
    strict = t.evaluate(xps.asarray(X32))
    assert strict.dtype == xps.float32
    reference = direct(X32.astype(np.float64))
    np.testing.assert_allclose(values, reference, rtol=2e-4, atol=2e-4)
    np.testing.assert_allclose(np.asarray(strict), reference, rtol=2e-4, atol=2e-4)


def test_evaluate_with_explicit_namespace(points: np.ndarray) -> None:
    t = Target.from_text("x1*x2 - relu(x3)")
    values = t.evaluate(points, xp=array_api_compat.numpy)
    np.testing.assert_allclose(values, points[:, 0] * points[:, 1] - np.maximum(points[:, 2], 0))


def test_evaluate_torch_if_available(points: np.ndarray) -> None:
    torch = pytest.importorskip("torch")
    t = Target.from_text("He3(x1)*sign(x2) + max(x1, x3)")
    values = t.evaluate(torch.asarray(points, dtype=torch.float32))
    assert values.dtype == torch.float32
    expected = he3(points[:, 0]) * np.sign(points[:, 1]) + np.maximum(points[:, 0], points[:, 2])
    np.testing.assert_allclose(values.numpy(), expected, rtol=2e-4, atol=2e-4)


def test_boolean_cube_matches_exact_values() -> None:
    text = "x1*x2*x3 + sign(x1 + x2 + x3)/2 + relu(x1 - x2) + He2(x3) + max(x1, x2)"
    t = Target.from_text(text)
    cube = np.array(list(itertools.product([-1.0, 1.0], repeat=3)))
    values = t.evaluate(cube)
    for row, value in zip(cube, values, strict=True):
        a, b, c = (int(v) for v in row)
        direct = a * b * c + np.sign(a + b + c) / 2 + max(a - b, 0) + (c * c - 1) + max(a, b)
        exact = t.expression.subs({x1: a, x2: b, x3: c})
        assert value == direct
        assert value == float(exact)


def test_integer_input_gives_float64() -> None:
    cube = np.array(list(itertools.product([-1, 1], repeat=3)))
    values = Target.from_text("x1*x2/2 + x3").evaluate(cube)
    assert values.dtype == np.float64
    np.testing.assert_array_equal(values, cube[:, 0] * cube[:, 1] / 2 + cube[:, 2])


def test_extra_columns_are_ignored(points: np.ndarray) -> None:
    t = Target.from_text("x1*x2")
    np.testing.assert_array_equal(t.evaluate(points), t.evaluate(points[:, :2]))


def test_constant_target_evaluates_to_a_full_array() -> None:
    values = Target.from_text("sqrt(2)").evaluate(np.zeros((4, 0), dtype=np.float32))
    assert values.dtype == np.float32
    np.testing.assert_allclose(values, np.full(4, np.sqrt(2), dtype=np.float32))


def test_fewer_columns_than_variables_is_a_parameter_error(points: np.ndarray) -> None:
    t = Target.from_text("x1*x4")
    with pytest.raises(ParameterError, match="d=3"):
        t.evaluate(points[:, :3])
    with pytest.raises(ParameterError, match="d=3"):
        t.evaluate(xps.asarray(points[:, :3]))


def test_non_matrix_input_is_a_parameter_error(points: np.ndarray) -> None:
    with pytest.raises(ParameterError, match="shape"):
        Target.from_text("x1").evaluate(points[:, 0])


def test_nested_hermite_against_sympy_subs() -> None:
    t = Target.from_text("He3(He2(x1) - x2) + He4((x1 + x2 + x3)/sqrt(3))")
    X = np.array([[0.3, -1.2, 0.7], [1.5, 0.25, -2.0], [-0.8, 0.1, 0.0]])
    values = t.evaluate(X)
    for row, value in zip(X, values, strict=True):
        exact = t.expression.subs({x1: row[0], x2: row[1], x3: row[2]})
        assert value == pytest.approx(float(exact), rel=1e-12, abs=1e-12)


def test_evaluate_sympy_powers_beyond_the_parser() -> None:
    # Negative, half-integer and symbolic powers can come from sympy input.
    t = Target.coerce(x1**-2 + x2 ** sympy.Rational(3, 2) + 2**x1 + x1**x2)
    X = np.array([[2.0, 4.0], [0.5, 1.0]])
    expected = X[:, 0] ** -2 + X[:, 1] ** 1.5 + 2 ** X[:, 0] + X[:, 0] ** X[:, 1]
    np.testing.assert_allclose(t.evaluate(X), expected, rtol=1e-12)


@given(
    st.lists(
        st.tuples(
            st.integers(-5, 5),
            st.lists(st.integers(0, 4), min_size=3, max_size=3),
        ),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 2**32 - 1),
)
def test_random_polynomials_match_numpy(terms: list[tuple[int, list[int]]], seed: int) -> None:
    text = " + ".join(f"({c})*x1**{a}*x2**{b}*x3**{e}" for c, (a, b, e) in terms)
    X = np.random.default_rng(seed).uniform(-1.5, 1.5, size=(16, 3))
    expected = sum(c * X[:, 0] ** a * X[:, 1] ** b * X[:, 2] ** e for c, (a, b, e) in terms)
    values = Target.from_text(text).evaluate(X)
    np.testing.assert_allclose(values, expected, rtol=1e-10, atol=1e-10)
