"""Issue 11: fuzzing the parser and the expand / leap / csq API over hostile text and parameters.

Only the contract is asserted: every call returns a result or raises a
:class:`~csqbound.errors.CsqboundError`, never any other exception, and each
example finishes within the deadline (the limits of :mod:`csqbound.limits` are
what makes that true). The strings are generated from csqbound's grammar, mixed
with the constructs issue 11 found hostile (huge indices and exponents, exp
towers, many max arguments, comments, control and non-ASCII characters).
"""

from __future__ import annotations

import contextlib
import os
from fractions import Fraction

import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csqbound.csq import csq_bound
from csqbound.errors import CsqboundError
from csqbound.expansion import expand
from csqbound.leaps import leap
from csqbound.parsing import exact_number, parse
from csqbound.queries import sq_leap

#: Each example is bounded; the whole module stays well under 30 s.
FUZZ = settings(
    max_examples=int(os.environ.get("CSQBOUND_FUZZ_EXAMPLES", "60")),
    deadline=5000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

LEAVES = st.sampled_from(
    ["x1", "x2", "x3", "x4", "x5", "x0", "x99999999999", "x10000", "2", "0.5", "1/3", "0"]
    + ["1e308", "1e-4000", "1e155", "9" * 60, "700", "1e300", "sqrt(2)", "-1"]
)
FUNCTIONS = st.sampled_from(
    ["He2", "He3", "He12", "He13", "sqrt", "sign", "abs", "relu", "tanh", "exp", "sin", "cos"]
    + ["foo", "x1"]
)
OPERATORS = st.sampled_from(["+", "-", "*", "/", "**", "^", "//", "@"])
EXPONENTS = st.sampled_from(["0", "1", "2", "3", "8", "64", "65", "-1", "0.5", "x1"])
NOISE = st.sampled_from(["#", "\x00", "\x1b", "\uff58", "\U0001d431", "\u00a0", "(", ")", ","])


def _nary(parts: list[str]) -> str:
    return "max(" + ", ".join(parts) + ")"


EXPRESSIONS = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.tuples(inner, OPERATORS, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(FUNCTIONS, inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(inner, EXPONENTS).map(lambda t: f"({t[0]})**{t[1]}"),
        st.lists(inner, min_size=1, max_size=25).map(_nary),
        st.tuples(inner, NOISE, inner).map("".join),
    ),
    max_leaves=10,
)
DEEP = st.tuples(FUNCTIONS, st.integers(1, 210), EXPRESSIONS).map(
    lambda t: f"{t[0]}(" * t[1] + t[2] + ")" * t[1]
)
TEXT = st.one_of(EXPRESSIONS, DEEP, st.text(max_size=40))
DOMAINS = st.sampled_from(["boolean", "gaussian", "", "Boolean", "b" * 300])
DIMENSIONS = st.one_of(
    st.integers(-5, 200), st.sampled_from([10**40, 10**1000, 10**1001, 10**5000, True, 2.5])
)
TAUS = st.one_of(
    st.sampled_from(["0.01", "1/100", "1e-999999999", "1e-4000", "abc", "0", "-1", "1/0", "nan"]),
    st.sampled_from([0.01, 1e-320, float("inf"), Fraction(1, 10**400), 10**400]),
    st.text(max_size=12),
)


def _contract(call, *args, **kwargs) -> None:
    """``call(*args, **kwargs)`` returns, or raises a CsqboundError; nothing else."""
    with contextlib.suppress(CsqboundError):
        call(*args, **kwargs)


@FUZZ
@given(TEXT)
def test_parse_contract(text: str) -> None:
    try:
        result = parse(text)
    except CsqboundError:
        return
    assert isinstance(result, sympy.Expr)


@FUZZ
@given(EXPRESSIONS, DOMAINS, st.integers(-2, 6))
def test_expand_contract(text: str, domain: str, max_degree: int) -> None:
    _contract(expand, text, domain, max_degree=max_degree)


@FUZZ
@given(st.one_of(EXPRESSIONS, DEEP), DOMAINS)
def test_leap_contract(text: str, domain: str) -> None:
    _contract(leap, text, domain)


@FUZZ
@given(st.one_of(EXPRESSIONS, DEEP))
def test_sq_leap_contract(text: str) -> None:
    _contract(sq_leap, text)


@FUZZ
@given(st.sampled_from(["x1*x2", "x1 + x1*x2*x3", "He3(x1)", "sign(x1 + x2)"]), DIMENSIONS, TAUS)
def test_csq_parameters_contract(text: str, d: object, tau: object) -> None:
    _contract(csq_bound, text, d, tau)


@FUZZ
@given(EXPRESSIONS, st.integers(1, 300), st.sampled_from(["boolean", "gaussian"]))
def test_csq_expressions_contract(text: str, d: int, domain: str) -> None:
    _contract(csq_bound, text, d, "0.01", domain)


@FUZZ
@given(st.one_of(TAUS.filter(lambda t: isinstance(t, str)), st.text(max_size=120)))
def test_exact_number_contract(text: str) -> None:
    try:
        value = exact_number(text)
    except CsqboundError:
        return
    assert isinstance(value, Fraction)
