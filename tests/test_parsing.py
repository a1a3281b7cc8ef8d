"""Tests for csqbound.parsing: the safe text-to-sympy parser."""

from __future__ import annotations

import builtins

import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from csqbound.errors import CsqboundError, ParseError
from csqbound.parsing import MAX_DEPTH, MAX_LENGTH, parse, symbol, variable_index

x1, x2, x3 = symbol(1), symbol(2), symbol(3)


def hermite_by_recurrence(k: int, x: sympy.Expr) -> sympy.Expr:
    """``He_k(x)`` from ``He_{n+1} = x He_n - n He_{n-1}`` (independent of sympy's)."""
    previous, current = sympy.Integer(1), x
    if k == 0:
        return previous
    for n in range(1, k):
        previous, current = current, sympy.expand(x * current - n * previous)
    return current


def same(a: sympy.Expr, b: sympy.Expr) -> bool:
    return sympy.expand(a - b) == 0


# -- symbols -------------------------------------------------------------------


def test_symbol_is_real_and_named() -> None:
    s = symbol(7)
    assert s.name == "x7"
    assert s.is_real is True
    assert s == sympy.Symbol("x7", real=True)
    assert s != sympy.Symbol("x7")


@pytest.mark.parametrize("i", [1, 2, 9, 10, 123])
def test_variable_index_inverts_symbol(i: int) -> None:
    assert variable_index(symbol(i)) == i


@pytest.mark.parametrize("bad", [0, -1, 1.0, True, "1"])
def test_symbol_rejects_non_positive_integers(bad: object) -> None:
    with pytest.raises(CsqboundError, match="1-based"):
        symbol(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad",
    [sympy.Symbol("y"), sympy.Symbol("x0"), sympy.Symbol("x01"), sympy.Dummy("x1"), x1 + 1],
)
def test_variable_index_rejects_other_symbols(bad: sympy.Basic) -> None:
    with pytest.raises(CsqboundError, match="not a csqbound variable"):
        variable_index(bad)  # type: ignore[arg-type]


# -- accepted constructs -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", sympy.Integer(7)),
        ("0", sympy.Integer(0)),
        ("0.1", sympy.Rational(1, 10)),
        ("2.50", sympy.Rational(5, 2)),
        (".5", sympy.Rational(1, 2)),
        ("5.", sympy.Integer(5)),
        ("1.5e-3", sympy.Rational(3, 2000)),
        ("2E3", sympy.Integer(2000)),
        ("1e0000000000000000000001", sympy.Integer(10)),
        ("1e-0004", sympy.Rational(1, 10000)),
        ("1_000.5", sympy.Rational(2001, 2)),
        ("x1", x1),
        ("x12", symbol(12)),
        ("x1 + x2 - x3", x1 + x2 - x3),
        ("x1 - x2 - x3", x1 - x2 - x3),
        ("2*x1/4", x1 / 2),
        ("x1/2/2", x1 / 4),
        ("1/3", sympy.Rational(1, 3)),
        ("x1/sqrt(2)", x1 / sympy.sqrt(2)),
        ("x1**3", x1**3),
        ("x1**(2)", x1**2),
        ("x1**0", sympy.Integer(1)),
        ("x1**64", x1**64),
        ("9**64", sympy.Integer(9**64)),
        ("(2*x1)**3", 8 * x1**3),
        ("-x1", -x1),
        ("+x1", x1),
        ("--x1", x1),
        ("-+-x2", x2),
        ("-x1**2", -(x1**2)),
        ("(x1 + x2)*x3", (x1 + x2) * x3),
        ("sqrt(2)", sympy.sqrt(2)),
        ("sqrt(x1**2 + x2**2)", sympy.sqrt(x1**2 + x2**2)),
        ("sign(x1*x2)", sympy.sign(x1 * x2)),
        ("abs(x1)", sympy.Abs(x1)),
        ("Abs(x1 - x2)", sympy.Abs(x1 - x2)),
        ("max(x1, x2)", sympy.Max(x1, x2)),
        ("Max(x1, x2, x3)", sympy.Max(x1, x2, x3)),
        ("min(x1, 0)", sympy.Min(x1, 0)),
        ("Min(x1, x2, 1/2)", sympy.Min(x1, x2, sympy.Rational(1, 2))),
        ("relu(x1 - 1)", sympy.Max(0, x1 - 1)),
        ("tanh(x1)", sympy.tanh(x1)),
        ("exp(-x1**2)", sympy.exp(-(x1**2))),
        ("sin(x1) + cos(x2)", sympy.sin(x1) + sympy.cos(x2)),
        ("x1*x2 +\n x3", x1 * x2 + x3),
        ("  \tx1 + x2  \n", x1 + x2),
    ],
)
def test_accepted(text: str, expected: sympy.Expr) -> None:
    result = parse(text)
    assert isinstance(result, sympy.Expr)
    assert result == expected


def test_decimals_are_exact() -> None:
    assert parse("0.1") == sympy.Rational(1, 10)
    assert parse("0.1") != sympy.Float(0.1)
    assert parse("0.1 + 0.2") == sympy.Rational(3, 10)
    assert parse("0.3 - 0.1 - 0.2") == 0
    assert parse("123.456e-2") == sympy.Rational(123456, 100000)


@pytest.mark.parametrize("k", range(13))
def test_hermite_named_matches_recurrence(k: int) -> None:
    assert same(parse(f"He{k}(x1)"), hermite_by_recurrence(k, x1))
    assert same(parse(f"He({k}, x2)"), hermite_by_recurrence(k, x2))


def test_hermite_of_an_expression() -> None:
    u = (x1 - x2) / sympy.sqrt(2)
    result = parse("He3((x1 - x2)/sqrt(2))")
    assert same(result, hermite_by_recurrence(3, u))
    assert same(result, sympy.hermite_prob(3, u))
    # explicit: u**3 - 3u
    assert same(result, u**3 - 3 * u)


def test_hermite_examples_from_the_docstring() -> None:
    assert parse("He2(x1) + 1/2") == x1**2 - sympy.Rational(1, 2)
    assert same(parse("He2(x1)*He1(x2)"), (x1**2 - 1) * x2)


def test_nested_hermite_within_limits() -> None:
    result = parse("He3(He3(x1))")
    inner = hermite_by_recurrence(3, x1)
    assert same(result, hermite_by_recurrence(3, inner))


def test_long_sums_are_flat() -> None:
    terms = [f"x{i}*x{i + 1}" for i in range(1, 400)]
    result = parse(" + ".join(terms))
    assert result == sympy.Add(*(symbol(i) * symbol(i + 1) for i in range(1, 400)))


def test_parse_never_calls_eval_or_exec(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        msg = "eval/exec called"
        raise AssertionError(msg)

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    assert same(
        parse("He3((x1 - x2)/sqrt(2)) + relu(x3) * 0.5"),
        parse("He3((x1-x2)/sqrt(2))") + sympy.Max(0, x3) / 2,
    )


# -- rejected constructs -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "token", "column"),
    [
        ("x1 + foo", "foo", 6),
        ("x0", "x0", 1),
        ("x1 + x01", "x01", 6),
        ("x1^2", "^", 3),
        ("x1 // 2", "//", 4),
        ("x1 % 2", "%", 4),
        ("x1 @ x2", "@", 4),
        ("~x1", "~", 1),
        ("not x1", "not", 1),
        ("x1**65", "65", 5),
        ("x1**-1", "-1", 5),
        ("x1**0.5", "0.5", 5),
        ("x1**x2", "x2", 5),
        ("2**(1+1)", "1+1", 5),
        ("1/0", "/", 2),
        ("x1/(x2 - x2)", "/", 3),
        ("x1/x2", "/", 3),
        ("1j*x1", "1j", 1),
        ("True", "True", 1),
        ("None", "None", 1),
        ("...", "...", 1),
        ("'a'", "'a'", 1),
        ("b'a'", "b'a'", 1),
        ("f'{x1}'", "f'{x1}'", 1),
        ("x1 < 2", "x1 < 2", 1),
        ("x1 and x2", "x1 and x2", 1),
        ("x1 if x2 else x3", "x1 if x2 else x3", 1),
        ("x1[0]", "x1[0]", 1),
        ("x1.real", "x1.real", 1),
        ("(x1, x2)", "(x1, x2)", 1),
        ("[x1]", "[x1]", 1),
        ("{x1}", "{x1}", 1),
        ("lambda: 1", "lambda: 1", 1),
        ("[x for x in ()]", "[x for x in ()]", 1),
        ("(y := 1)", "y := 1", 2),
        ("foo(x1)", "foo", 1),
        ("sqrt(x=1)", "x=1", 6),
        ("max(*x1)", "*x1", 5),
        ("max(x1)", "max", 1),
        ("sqrt(x1, x2)", "sqrt", 1),
        ("sqrt", "sqrt", 1),
        ("x1(2)", "x1", 1),
        ("He13(x1)", "He13", 1),
        ("He(13, x1)", "13", 4),
        ("He(x1, x2)", "x1", 4),
        ("He(2.0, x1)", "2.0", 4),
        ("He(x1)", "He", 1),
        ("He3(x1, x2)", "He3", 1),
        ("sqrt(-2)", "-2", 6),
        ("x1.__class__", "x1.__class__", 1),
        # non-ASCII is refused character by character, before Python's parser sees it
        ("éé + foo", "é", 1),
        ("éé2 + x1", "é", 1),
        ("x1 + éé", "é", 6),
        ("  x1 + foo", "foo", 8),
        ("1e99999", "1e99999", 1),
        ("2*1e-5000", "1e-5000", 3),
        # the first power past a limit: degree 4096 > MAX_DEGREE, 4160 bits > MAX_NUMBER_BITS
        ("((x1**64)**64)**64", "**", 10),
        ("((((2**64)**64)**64)**64)", "**", 11),
    ],
)
def test_rejected_with_token_and_column(text: str, token: str, column: int) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    message = str(info.value)
    assert repr(token) in message
    assert f"column {column}" in message
    assert info.value.token == token
    assert info.value.position == column - 1


def test_unknown_name_message_lists_the_whitelist() -> None:
    with pytest.raises(ParseError) as info:
        parse("x1 + foo")
    assert str(info.value) == (
        "unknown name 'foo' at column 6: variables are x1, x2, ...; functions are "
        "He0..He12, He(k, .), sqrt, sign, abs, max, min, relu, tanh, exp, sin, cos"
    )


def test_caret_suggests_double_star() -> None:
    with pytest.raises(ParseError, match=r"write x1\*\*2"):
        parse("x1^2")


def test_x0_says_one_based() -> None:
    with pytest.raises(ParseError, match="1-based"):
        parse("x0 + x1")


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("x1 +", 5),
        ("x1 +  ", 5),
        ("(x1", 1),
        ("x1 x2", 4),
        ("x1 $ x2", 4),
        ("x1 + * 2", 6),
        ("x1 + (x2", 6),
        pytest.param("1" * 5000, 1, id="long-int"),
        pytest.param("x1 + " + "1" * 5000, 6, id="long-int-later"),
    ],
)
def test_syntax_errors_report_the_offset(text: str, column: int) -> None:
    with pytest.raises(ParseError, match=r"syntax error at column (\d+)") as info:
        parse(text)
    assert f"column {column}" in str(info.value)
    assert info.value.position == column - 1


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_input(text: str) -> None:
    with pytest.raises(ParseError, match="empty expression"):
        parse(text)


@pytest.mark.parametrize("value", [None, 1, b"x1", sympy.Integer(1)])
def test_non_string_input(value: object) -> None:
    with pytest.raises(ParseError, match="must be a string"):
        parse(value)  # type: ignore[arg-type]


def test_too_long_input() -> None:
    text = "+".join(["x1"] * (MAX_LENGTH // 3 + 1))
    assert len(text) > MAX_LENGTH
    with pytest.raises(ParseError, match="too long"):
        parse(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("(" * 5000 + "x1" + ")" * 5000, id="over-length-limit"),
        pytest.param("(" * 4000 + "x1" + ")" * 4000, id="python-nesting-limit"),
        pytest.param("-" * 9000 + "x1", id="parser-stack-overflow"),
        pytest.param("1+" * 4999 + "1", id="ast-recursion-error"),
        pytest.param("sqrt(-" * 150 + "x1" + ")" * 150, id="own-depth-limit"),
    ],
)
def test_deep_nesting_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError):
        parse(text)


def test_own_depth_limit_message() -> None:
    with pytest.raises(ParseError, match=f"at most {MAX_DEPTH} levels"):
        parse("sqrt(-" * 150 + "x1" + ")" * 150)


def test_nested_hermite_blow_up_is_rejected() -> None:
    with pytest.raises(ParseError, match="degree"):
        parse("He12(He12(He12(He12(x1 + x2))))")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("1e" + "9" * 5000, id="long-exponent"),
        pytest.param("1" * 5000 + ".5", id="long-integer-part"),
        pytest.param("0." + "0" * 5000 + "1", id="long-fraction"),
        pytest.param("x1 + 1." + "0" * 5000 + "e-4000", id="long-mantissa"),
    ],
)
def test_long_decimals_are_parse_errors(text: str) -> None:
    with pytest.raises(ParseError, match="huge number"):
        parse(text)


def test_huge_numbers_are_rejected() -> None:
    with pytest.raises(ParseError, match="huge power"):
        parse("((((3**64)**64)**64)**64)")
    with pytest.raises(ParseError):
        parse("9" * 5000)


# -- code-execution payloads ------------------------------------------------------------------


PAYLOADS = [
    "__import__('os').system('touch {sentinel}')",
    "__import__('pathlib').Path('{sentinel}').touch()",
    "().__class__.__bases__[0].__subclasses__()",
    "lambda: 1",
    "[x for x in ()]",
    'exec(\'open("{sentinel}", "w")\')',
    "eval('1')",
    "open('{sentinel}', 'w')",
    "open('/etc/passwd')",
    "x1.__class__",
    "9**9**9",
    "(1,)*10**9",
    '"a"*10**9',
    "'' .join",
    "globals()",
    "breakpoint()",
    "sympy.sympify('1')",
    "getattr(x1, '__class__')",
    "__builtins__",
    "x1.__class__.__init__.__globals__",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_are_rejected_and_do_nothing(payload: str, tmp_path: object) -> None:
    sentinel = tmp_path / "pwned"  # type: ignore[operator]
    text = payload.format(sentinel=sentinel)
    with pytest.raises(ParseError):
        parse(text)
    assert not sentinel.exists()


# -- fuzzing ----------------------------------------------------------------------------------

TOKENS = [
    "x1", "x2", "x3", "x0", "(", ")", "+", "-", "*", "**", "/", "^", ",", ".", "9", "0", "1",
    "64", "65", "__", " ", "He3", "He12(", "He", "sqrt", "sqrt(2)", "relu", "max(", "sign(",
    "abs", "tanh", "exp(", "1e5", "j", "'", ":", "[", "]", "lambda", "=",
]  # fmt: skip


def parses_or_rejects(text: str) -> None:
    try:
        result = parse(text)
    except CsqboundError:
        return
    assert isinstance(result, sympy.Expr)


@given(st.text())
def test_fuzz_arbitrary_text(text: str) -> None:
    parses_or_rejects(text)


@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
def test_fuzz_token_soup(text: str) -> None:
    parses_or_rejects(text)


@given(
    st.recursive(
        st.sampled_from(["x1", "x2", "x3", "2", "0.5", "1/3"]),
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            st.tuples(st.sampled_from(["He2", "He3", "sign", "tanh", "relu"]), inner).map(
                lambda t: f"{t[0]}({t[1]})"
            ),
            st.tuples(inner, st.integers(0, 4)).map(lambda t: f"({t[0]})**{t[1]}"),
        ),
        max_leaves=12,
    )
)
def test_fuzz_valid_grammar_always_parses(text: str) -> None:
    result = parse(text)
    assert isinstance(result, sympy.Expr)
    assert result.free_symbols <= {x1, x2, x3}


def test_no_other_entry_point_evaluates_text(tmp_path):
    """Coefficients and kernels that take numbers or sympy objects never parse text unsafely."""
    import sympy

    from csqbound.expansion import Expansion
    from csqbound.hermite import polynomial_to_hermite
    from csqbound.walsh import multilinear_reduce

    sentinel = tmp_path / "pwned"
    payload = f"__import__('pathlib').Path({str(sentinel)!r}).touch()"
    e = Expansion.from_monomials([{1}, {1, 2}], coefficients=["1/2", "0.25"])
    assert e.coefficient({1}) == sympy.Rational(1, 2)
    assert e.coefficient({1, 2}) == sympy.Rational(1, 4)
    with pytest.raises(CsqboundError):
        Expansion.from_monomials([{1}], coefficients=[payload])
    with pytest.raises(CsqboundError):
        Expansion.from_monomials([{1}], coefficients=["x1"])
    x1 = symbol(1)
    for kernel in (multilinear_reduce, polynomial_to_hermite):
        with pytest.raises(CsqboundError):
            kernel(payload, (x1,))
    assert not sentinel.exists()
