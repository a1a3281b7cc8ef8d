"""The generative exponent (csqbound.generative): exact parity criterion, quadrature, Monte Carlo."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import csqbound
from csqbound.errors import CsqboundError, DomainError, NotComputableError, ParameterError
from csqbound.generative import (
    conditional_hermite,
    generative_exponent,
    generative_exponent_of_link,
)


def k_star(text: str) -> int | None:
    return generative_exponent(text).generative_exponent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("He2(x1)", 2),
        ("He3(x1)", 1),
        ("He4(x1) + He3(x1)", 1),
        ("He4(x1)", 2),
        ("x1", 1),
        ("He2(x1) + x1", 1),
        ("(x1 - 1/3)**2", 1),
        ("He6(x1) - 2*He4(x1) + He2(x1)", 2),
        ("He4((x1 - x2)/sqrt(2))", 2),
        ("He3((x1 + x2)/sqrt(2))", 1),
        ("abs(x1)", 2),
        ("tanh(x1)", 1),
        ("relu(x1)", 1),
        ("sign(x2)", 1),
        ("cos(x1)", 2),
        ("exp(-x1**2)", 2),
    ],
)
def test_known_values(text: str, expected: int) -> None:
    assert k_star(text) == expected


def test_exact_for_polynomials_numeric_otherwise() -> None:
    r = generative_exponent("He4(x1)")
    assert (r.exact, r.method, r.tol, r.information_exponent) == (True, "parity", None, 4)
    r = generative_exponent("tanh(x1)")
    assert (r.exact, r.method, r.tol) == (False, "quadrature", 1e-8)
    assert r.energies[0] > 0.5


def test_at_most_information_exponent() -> None:
    for text in ("He2(x1)", "He3(x1)", "He4(x1)", "He4(x1) + He3(x1)", "abs(x1)", "tanh(x1)"):
        r = generative_exponent(text)
        assert r.generative_exponent <= r.information_exponent  # type: ignore[operator]


def test_numeric_agrees_with_parity_on_polynomials() -> None:
    # the quadrature path, run on polynomial links, reproduces the exact criterion
    for coefs in ([0, 0, 1], [0, -3, 0, 1], [3, 0, -6, 0, 1], [0, 0, 0, 1, 1], [1, 2, 0, 0, 1]):
        poly = np.polynomial.Polynomial(coefs)
        even = all(c == 0 for c in coefs[1::2])
        assert generative_exponent_of_link(poly).generative_exponent == (2 if even else 1)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=2, max_size=6).filter(lambda c: any(c[1:])))
def test_parity_criterion_against_quadrature(coefs: list[int]) -> None:
    text = " + ".join(f"({c})*x1**{i}" for i, c in enumerate(coefs) if c) or "0"
    exact = k_star(text)
    numeric = generative_exponent_of_link(np.polynomial.Polynomial(coefs)).generative_exponent
    assert exact == numeric


def test_constant_and_errors() -> None:
    r = generative_exponent("3")
    assert r.generative_exponent is None and "constant" in (r.note or "")
    assert generative_exponent_of_link(lambda z: 0 * z + 2).generative_exponent is None
    with pytest.raises(CsqboundError, match="single-index"):
        generative_exponent("x1*x2")
    with pytest.raises(DomainError):
        generative_exponent(csqbound.Target.from_text("x1", "boolean"))
    with pytest.raises(ParameterError):
        generative_exponent("x1", tol=0)
    with pytest.raises(NotComputableError):
        generative_exponent_of_link(lambda z: 1 / z)  # infinite at 0 on the grid


# -- E[He_k(z) g(y)] against Monte Carlo ---------------------------------------------------------
LINKS = {
    "tanh": np.tanh,
    "abs": np.abs,
    "shifted_square": lambda z: (z - 0.5) ** 2,
    "relu": lambda z: np.maximum(z, 0.0),
    "He3": lambda z: z**3 - 3 * z,
}
TESTS = {
    "y": lambda y: y,
    "y^2": lambda y: y**2,
    "sin(y)": np.sin,
    "1{y > 0.3}": lambda y: (y > 0.3).astype(float),
}


def he(k: int, z: np.ndarray) -> np.ndarray:
    return np.polynomial.hermite_e.hermeval(z, [0] * k + [1])


@pytest.mark.parametrize("link_name", sorted(LINKS))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_conditional_hermite_against_monte_carlo(link_name: str, k: int) -> None:
    link = LINKS[link_name]
    rng = np.random.default_rng(1234 + k)
    z = rng.standard_normal(400_000)
    y = link(z)
    # quadrature side: E[zeta_k(sigma(z)) g(sigma(z))] with zeta_k from the branch formula;
    # a fine midpoint grid resolves the flat part of relu (an atom) as well
    grid = np.linspace(-10, 10, 200_001)
    phi = np.exp(-(grid**2) / 2) / math.sqrt(2 * math.pi) * (grid[1] - grid[0])
    zeta = conditional_hermite(link, k, link(grid))
    for name, g in TESTS.items():
        samples = he(k, z) * g(y)
        mc, se = samples.mean(), samples.std() / math.sqrt(z.size)
        quad = float(np.sum(zeta * g(link(grid)) * phi))
        assert abs(mc - quad) < 5 * se + 1e-3, (link_name, k, name, mc, quad, se)


def test_leap_json_and_zoo_and_csq_show_it() -> None:
    def run(*args: str) -> dict:  # type: ignore[type-arg]
        out = subprocess.run(
            [sys.executable, "-m", "csqbound", *args, "--format", "json"],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout)  # type: ignore[no-any-return]

    data = run("leap", "He3(x1)", "--domain", "gaussian")
    assert data["generative_exponent"] == 1 and data["information_exponent"] == 3
    assert run("leap", "x1*x2", "--domain", "gaussian")["generative_exponent"] is None
    ref = run("csq", "He4(x1)", "--domain", "gaussian", "--d", "100")["rotation_reference"]
    assert ref["generative_exponent"] == 2 and ref["sq_exponent"] == 1.0
    assert ref["exponent"] == 2.0
