"""Safe parsing of target expressions: text to sympy through an ``ast`` whitelist.

The text is read by :func:`ast.parse` and the syntax tree is walked node by
node; only the constructs listed below become sympy objects, anything else is a
:class:`~csqbound.errors.ParseError` that names the offending token and its
column. Nothing is ever evaluated as Python (no ``eval``, ``sympify`` or
``parse_expr``).

Accepted
    integers and decimals (read exactly: ``0.1`` is ``1/10``); variables
    ``x1, x2, ...`` (1-based); ``+ - * /`` (``/`` only by a constant) and ``**``
    with a literal integer exponent ``0..64``; parentheses; the functions
    ``He0 .. He12`` and ``He(k, .)`` (probabilists' Hermite polynomials), ``sqrt``,
    ``sign``, ``abs``/``Abs``, ``max``/``Max``, ``min``/``Min`` (two or more
    arguments), ``relu`` (``max(0, .)``), ``tanh``, ``exp``, ``sin``, ``cos``.

Refused before Python's parser sees the text: ``#`` (it would start a comment
that silently drops the rest), control characters, and every non-ASCII
character other than whitespace (Python would read the fullwidth ``ｘ１`` or the
bold ``𝐱1`` as ``x1``). Every limit of :mod:`csqbound.limits` on the size of the
text, of the expanded polynomial and of the numbers is checked on the tree as it
is built, before sympy expands or evaluates anything (:func:`check_expression`
does the same for sympy expressions made elsewhere).

Variables are the sympy symbols made by :func:`symbol` (real, named ``xN``);
every module of csqbound makes its variables there.
"""

from __future__ import annotations

import ast
import math
import re
import unicodedata
from collections.abc import Callable
from fractions import Fraction
from typing import NamedTuple

import sympy

from csqbound import limits
from csqbound.errors import CsqboundError, ParameterError, ParseError, shorten

__all__ = [
    "FUNCTIONS",
    "MAX_DEGREE",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_HERMITE_DEGREE",
    "MAX_LENGTH",
    "MAX_NUMBER_BITS",
    "MAX_TREE_SIZE",
    "check_expression",
    "exact_number",
    "parse",
    "symbol",
    "variable_index",
]

#: Longest accepted input, in characters (:data:`csqbound.limits.MAX_EXPRESSION_LENGTH`).
MAX_LENGTH = limits.MAX_EXPRESSION_LENGTH
#: Deepest accepted nesting of the syntax tree (:data:`csqbound.limits.MAX_NESTING`).
MAX_DEPTH = limits.MAX_NESTING
#: Largest literal exponent in ``a ** k``.
MAX_EXPONENT = limits.MAX_EXPONENT
#: Largest Hermite degree in ``He0 .. He12`` and ``He(k, .)``.
MAX_HERMITE_DEGREE = limits.MAX_HERMITE_INDEX
#: Largest polynomial degree (an upper bound computed on the tree).
MAX_DEGREE = limits.MAX_DEGREE
#: Largest bit length of an exact number anywhere in the result.
MAX_NUMBER_BITS = limits.MAX_NUMBER_BITS
#: Largest size (number of nodes, counted as a tree) of the resulting expression.
MAX_TREE_SIZE = limits.MAX_TREE_SIZE

#: The accepted function names, as listed in error messages.
FUNCTIONS = "He0..He12, He(k, .), sqrt, sign, abs, max, min, relu, tanh, exp, sin, cos"

_VARIABLE = re.compile(r"x([1-9][0-9]*)")
_HERMITE = re.compile(r"He([0-9]+)")
_DECIMAL = re.compile(r"([0-9]*)(?:\.([0-9]*))?(?:[eE]([-+]?[0-9]+))?")
_RATIO = re.compile(r"([-+]?[0-9]+)\s*/\s*([0-9]+)")
_NAMES_HINT = f"variables are x1, x2, ...; functions are {FUNCTIONS}"
_SPACES = " \t\n\r"
_LOG_MAX_MAGNITUDE = math.log(limits.MAX_MAGNITUDE)
_LOG_MAX_EXP_ARGUMENT = math.log(limits.MAX_EXP_ARGUMENT)
#: Term counts are capped here (anything above the limit is refused anyway).
_TERMS_CAP = 10**18


def _limit(name: str, how: str = "") -> str:
    """The tail of a limit error: the limit's value, its name, and how to go past it."""
    value = getattr(limits, name)
    shown = f"{value:,}" if isinstance(value, int) else f"{value:g}"
    text = f"the limit is {shown} ({name} in csqbound.limits)"
    return f"{text}; {how}" if how else text


_UNARY_FUNCTIONS: dict[str, Callable[[sympy.Expr], sympy.Expr]] = {
    "sqrt": sympy.sqrt,
    "sign": sympy.sign,
    "abs": sympy.Abs,
    "Abs": sympy.Abs,
    "relu": lambda e: sympy.Max(sympy.Integer(0), e),
    "tanh": sympy.tanh,
    "exp": sympy.exp,
    "sin": sympy.sin,
    "cos": sympy.cos,
}
_NARY_FUNCTIONS: dict[str, Callable[..., sympy.Expr]] = {
    "max": sympy.Max,
    "Max": sympy.Max,
    "min": sympy.Min,
    "Min": sympy.Min,
}

_OPERATOR_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Invert: "~",
    ast.Not: "not",
    ast.UAdd: "+",
    ast.USub: "-",
}

_NODE_DESCRIPTIONS: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "generator expression",
    ast.Compare: "comparison",
    ast.BoolOp: "boolean operator",
    ast.IfExp: "conditional expression",
    ast.JoinedStr: "f-string",
    ast.FormattedValue: "f-string",
    ast.Tuple: "tuple",
    ast.List: "list",
    ast.Set: "set",
    ast.Dict: "dict",
    ast.Starred: "starred expression",
    ast.NamedExpr: "assignment expression",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slice",
}


def symbol(i: int) -> sympy.Symbol:
    """The variable ``x_i`` as a real sympy symbol (1-based).

    This is the single source of variables in csqbound: every module builds
    ``x_i`` here, so symbols made in different places compare equal.

    Parameters
    ----------
    i
        The coordinate, ``i >= 1``.

    Returns
    -------
    sympy.Symbol
        ``Symbol(f"x{i}", real=True)``.

    Raises
    ------
    CsqboundError
        If ``i`` is not an integer ``>= 1`` or exceeds
        :data:`csqbound.limits.MAX_COORDINATE`.

    Examples
    --------
    >>> symbol(3)
    x3
    >>> symbol(3).is_real
    True
    >>> symbol(2) == parse("x2")
    True
    """
    if isinstance(i, bool) or not isinstance(i, int) or i < 1:
        msg = f"variables are 1-based: symbol(i) needs an integer i >= 1, got {shorten(repr(i))}"
        raise CsqboundError(msg)
    if i > limits.MAX_COORDINATE:
        msg = f"variable index {i} is too large: " + _limit("MAX_COORDINATE")
        raise CsqboundError(msg)
    return sympy.Symbol(f"x{i}", real=True)


def variable_index(s: sympy.Symbol) -> int:
    """The coordinate ``i`` of the variable ``x_i`` (inverse of :func:`symbol`).

    Parameters
    ----------
    s
        A symbol named ``x1``, ``x2``, ...

    Returns
    -------
    int
        Its 1-based index.

    Raises
    ------
    CsqboundError
        If ``s`` is not a symbol named ``xN`` with ``N >= 1``
        (:class:`~csqbound.errors.ParameterError` when ``N`` is beyond
        :data:`csqbound.limits.MAX_COORDINATE`).

    Examples
    --------
    >>> variable_index(symbol(12))
    12
    >>> variable_index(sympy.Symbol("y"))
    Traceback (most recent call last):
    ...
    csqbound.errors.CsqboundError: 'y' is not a csqbound variable: variables are x1, x2, ...
    """
    if isinstance(s, sympy.Symbol) and not isinstance(s, sympy.Dummy | sympy.Wild):
        match = _VARIABLE.fullmatch(s.name)
        if match is not None:
            digits = match.group(1)
            if len(digits) > len(str(limits.MAX_COORDINATE)):  # no int() of 5000 digits
                msg = f"variable {shorten(s.name)} has too large an index: " + _limit(
                    "MAX_COORDINATE"
                )
                raise ParameterError(msg)
            return int(digits)
    msg = f"{shorten(repr(str(s)))} is not a csqbound variable: variables are x1, x2, ..."
    raise CsqboundError(msg)


def parse(text: str) -> sympy.Expr:
    """Parse an expression safely into sympy.

    Parameters
    ----------
    text
        The expression, e.g. ``"x1*x2 + He3((x1 - x2)/sqrt(2))"`` (newlines, tabs: spaces).

    Returns
    -------
    sympy.Expr
        The expression in the variables ``symbol(1), symbol(2), ...``; numbers
        are exact (``0.1`` becomes ``1/10``).

    Raises
    ------
    ParseError
        For anything outside the whitelist (see the module docstring), with the
        offending token and its 1-based column in the message (and the 0-based
        position in ``.position``).

    See Also
    --------
    csqbound.target.Target.from_text : the parsed expression with its domain.
    csqbound.expansion.expand : the expansion of a parsed target.

    Examples
    --------
    >>> parse("He2(x1) + 1/2")
    x1**2 - 1/2
    >>> parse("0.1*x1*x3")
    x1*x3/10
    >>> parse("He(3, x2) - relu(x1)")
    x2**3 - 3*x2 - Max(0, x1)
    >>> parse("x1^2")
    Traceback (most recent call last):
    ...
    csqbound.errors.ParseError: unsupported operator '^' at column 3: ^ is not a power; ...
    >>> parse("x1 + foo")
    Traceback (most recent call last):
    ...
    csqbound.errors.ParseError: unknown name 'foo' at column 6: variables are x1, x2, ...; ...
    """
    if not isinstance(text, str):
        msg = f"an expression must be a string, got {type(text).__name__}"
        raise ParseError(msg)
    if len(text) > MAX_LENGTH:
        msg = f"expression too long: {len(text):,} characters; " + _limit("MAX_EXPRESSION_LENGTH")
        raise ParseError(msg)
    # Whitespace of any kind is a space; same length, so offsets are unchanged.
    flat = _check_characters(text)
    stripped = flat.lstrip(" ")
    if not stripped.strip(" "):
        msg = "empty expression: write a target such as 'x1*x2 + x1*x2*x3'"
        raise ParseError(msg)
    shift = len(flat) - len(stripped)
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(exc, stripped, shift) from None
    except (RecursionError, MemoryError):
        msg = (
            "expression too deeply nested or too long for the parser: "
            f"at most {MAX_DEPTH} levels of nesting; split long sums"
        )
        raise ParseError(msg) from None
    except ValueError as exc:  # defensive: control characters are refused above
        msg = f"invalid expression: {shorten(exc)}"
        raise ParseError(msg) from None
    builder = _Builder(stripped, shift)
    try:
        return builder.build(tree.body, 0)
    except CsqboundError:
        raise
    except RecursionError:
        msg = f"expression too deeply nested (at most {MAX_DEPTH} levels)"
        raise ParseError(msg) from None
    except (TypeError, ValueError, ArithmeticError) as exc:  # defensive: sympy complaints
        msg = f"cannot build the expression: {shorten(exc)}"
        raise ParseError(msg) from None


def _check_characters(text: str) -> str:
    """``text`` with every whitespace character a space; ``#``, controls and non-ASCII refused.

    Python's tokenizer would read ``#`` as the start of a comment (silently dropping
    the rest) and normalise non-ASCII identifiers and digits (NFKC: the fullwidth
    ``ｘ１`` and the bold ``𝐱1`` become ``x1``), so both are refused here, with
    the 1-based column of the character.
    """
    out = []
    for column, c in enumerate(text, 1):
        if c in _SPACES or (ord(c) > 127 and c.isspace()):
            out.append(" ")
            continue
        category = unicodedata.category(c)
        if c == "#":
            msg = (
                f"'#' at column {column} is not allowed: csqbound expressions have no "
                "comments (Python would silently drop the rest of the text)"
            )
        elif category == "Cc":
            msg = f"control character U+{ord(c):04X} at column {column}: remove it"
        elif ord(c) > 127:
            name = unicodedata.name(c, "unnamed")
            shown = f"{c!r} " if c.isprintable() else ""
            msg = (
                f"non-ASCII character {shown}(U+{ord(c):04X} {name}) at column {column}: "
                "write the expression in ASCII (x1, 2, *, -)"
            )
        else:
            out.append(c)
            continue
        raise ParseError(msg, token=c, position=column - 1)
    return "".join(out)


def _syntax_error(exc: SyntaxError, source: str, shift: int) -> ParseError:
    """A ParseError for a SyntaxError (offsets in characters, 1-based)."""
    detail = shorten(exc.msg)
    end = len(source.rstrip(" "))
    digits = re.search(r"[0-9_]{100,}", source)
    if ("int_max_str_digits" in exc.msg or "integer string conversion" in exc.msg) and digits:
        detail = "integer literal too long"
        position = digits.start()
        token = source[position : position + 10] + "..."
        near = f"near {token!r}"
    elif not exc.offset or exc.offset < 1 or exc.offset > end:  # Python reports 0 at the end
        position = end
        near = "at the end of the input"
        token = ""
    else:
        position = exc.offset - 1
        token = source[position]
        near = f"near {shorten(source, 40, around=position)!r}"
    msg = f"syntax error at column {position + shift + 1} ({near}): {detail}"
    return ParseError(msg, token=token, position=position + shift)


class _BadNumber(Exception):
    """A decimal that cannot be read: ``what`` (a noun phrase) and ``hint``."""

    def __init__(self, what: str, hint: str) -> None:
        self.what = what
        self.hint = hint
        super().__init__(f"{what}: {hint}")


_TINY_DECIMAL = Fraction(1, 10**limits.MAX_DECIMAL_EXPONENT)
_HUGE_DECIMAL = Fraction(10 ** (limits.MAX_DECIMAL_EXPONENT + 1))


def _decimal(text: str) -> Fraction:
    """An unsigned decimal literal (``12``, ``0.25``, ``1e-3``) exactly, within the limits.

    Raises ``_BadNumber`` for unreadable text, too many digits, or a value outside
    ``1e-308 .. 1e308`` (:data:`csqbound.limits.MAX_DECIMAL_EXPONENT`).
    """
    digits = text.replace("_", "")
    match = _DECIMAL.fullmatch(digits)
    if match is None or not (match.group(1) or match.group(2)):
        msg = "unreadable number"
        raise _BadNumber(msg, "write decimals like 0.25 or 1e-3")
    mantissa_digits = len(match.group(1)) + len(match.group(2) or "")
    if mantissa_digits > limits.MAX_DECIMAL_DIGITS:
        msg = "huge number"
        raise _BadNumber(msg, f"{mantissa_digits:,} digits; " + _limit("MAX_DECIMAL_DIGITS"))
    exponent_text = (match.group(3) or "0").lstrip("+-").lstrip("0")
    if len(exponent_text) > len(str(limits.MAX_DECIMAL_EXPONENT)) + 2:
        msg = "huge number"
        raise _BadNumber(
            msg, "the decimal exponent is too large; " + _limit("MAX_DECIMAL_EXPONENT")
        )
    exponent = int(match.group(3) or 0)
    if abs(exponent) > limits.MAX_DECIMAL_EXPONENT + mantissa_digits:
        value = _HUGE_DECIMAL if exponent > 0 else Fraction(0)
    else:
        value = Fraction(digits)
    if value and not _TINY_DECIMAL <= value < _HUGE_DECIMAL:
        hint = "outside the range of a float (1e-308 .. 1e308); " + _limit("MAX_DECIMAL_EXPONENT")
        msg = "huge number"
        raise _BadNumber(msg, hint)
    if not value and exponent and abs(exponent) > limits.MAX_DECIMAL_EXPONENT:
        msg = "huge number"
        raise _BadNumber(
            msg, "the decimal exponent is too large; " + _limit("MAX_DECIMAL_EXPONENT")
        )
    return value


def exact_number(text: str, what: str = "a number") -> Fraction:
    """A number given as text (outside an expression), read exactly and within the limits.

    Accepts a signed decimal (``0.01``, ``-2``, ``1e-3``) or a ratio of integers
    (``1/100``); at most :data:`csqbound.limits.MAX_TEXT_NUMBER_LENGTH`
    characters, decimal exponents within ``±308``.

    Parameters
    ----------
    text
        The number.
    what
        What it is, for the error message (e.g. ``"tau"``).

    Returns
    -------
    fractions.Fraction

    Raises
    ------
    ParseError
        For anything else, a zero denominator, or a number beyond the limits.

    Examples
    --------
    >>> exact_number("0.01"), exact_number("1/3"), exact_number("-2e-3")
    (Fraction(1, 100), Fraction(1, 3), Fraction(-1, 500))
    >>> exact_number("1e-999999999", "tau")
    Traceback (most recent call last):
    ...
    csqbound.errors.ParseError: cannot read tau='1e-999999999': huge number: ...
    """
    value = text.strip() if isinstance(text, str) else ""
    shown = shorten(value if isinstance(text, str) else repr(text))
    try:
        if not isinstance(text, str):
            msg = "not text"
            raise _BadNumber(msg, f"got {type(text).__name__}")
        if len(value) > limits.MAX_TEXT_NUMBER_LENGTH:
            msg = "too long"
            raise _BadNumber(msg, f"{len(value)} characters; " + _limit("MAX_TEXT_NUMBER_LENGTH"))
        ratio = _RATIO.fullmatch(value)
        if ratio is not None:
            numerator, denominator = (_decimal(g.lstrip("+-")) for g in ratio.groups())
            if not denominator:
                msg = "zero denominator"
                raise _BadNumber(msg, "write p/q with q > 0")
            sign = -1 if ratio.group(1).startswith("-") else 1
            return sign * numerator / denominator
        sign = -1 if value.startswith("-") else 1
        return sign * _decimal(value[1:] if value[:1] in "+-" else value)
    except _BadNumber as bad:
        msg = f"cannot read {what}={shown!r}: {bad}; give e.g. '0.01' or '1/100'"
        raise ParseError(msg) from None


_NON_FINITE = (sympy.S.ComplexInfinity, sympy.S.Infinity, sympy.S.NegativeInfinity, sympy.S.NaN)
_BOUNDED_FUNCTIONS = (sympy.tanh, sympy.sin, sympy.cos, sympy.sign)
_MONOTONE_FUNCTIONS = (sympy.Abs, sympy.Max, sympy.Min)


class _Stats(NamedTuple):
    """What the guards know about a sub-expression (see :func:`check_expression`)."""

    size: int  # nodes, counted as a tree
    bits: int  # largest bit length of an exact number
    degree: int  # upper bound on the polynomial degree
    finite: bool  # no zoo, oo, nan
    terms: int  # upper bound on the number of monomials once expanded (capped)
    logmag: float  # log of a bound on |value| over |x_i| <= 1 (-inf: 0, nan: no bound known)
    variables: frozenset[int]  # the coordinates it depends on


def _number_logmag(node: sympy.Basic) -> float:
    """``log |node|`` of a number (``-inf`` for 0, ``nan`` when it is not a finite number)."""
    if isinstance(node, sympy.Rational):
        if node == 0:
            return -math.inf
        return math.log(abs(int(node.p))) - math.log(int(node.q))
    try:
        value = abs(complex(node))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return math.nan
    if not math.isfinite(value):
        return math.nan
    return math.log(value) if value > 0 else -math.inf


def _leaf_stats(node: sympy.Basic) -> _Stats:
    bits = 0
    if isinstance(node, sympy.Rational):
        bits = max(abs(int(node.p)).bit_length(), int(node.q).bit_length())
    finite = not any(node is bad for bad in _NON_FINITE)
    if isinstance(node, sympy.Symbol):
        index = _VARIABLE.fullmatch(node.name)
        variables = frozenset([int(index.group(1))]) if index is not None else frozenset()
        return _Stats(1, 0, 1, True, 1, 0.0, variables)
    logmag = _number_logmag(node) if finite else math.nan
    return _Stats(1, bits, 0, finite, 1, logmag, frozenset())


def _terms(node: sympy.Basic, children: list[_Stats], variables: int, degree: int) -> int:
    """Upper bound on the monomials of ``node`` expanded (functions count as one)."""
    if not variables:
        return 1
    if isinstance(node, sympy.Add):
        count = sum(c.terms for c in children)
    elif isinstance(node, sympy.Mul):
        count = 1
        for c in children:
            count = min(count * c.terms, _TERMS_CAP)
    elif isinstance(node, sympy.Pow) and isinstance(node.exp, sympy.Integer) and node.exp >= 0:
        k, base = int(node.exp), children[0].terms
        if k == 0 or base == 1:
            return 1
        if base > limits.MAX_EXPANDED_TERMS:
            return _TERMS_CAP
        count = math.comb(base + k - 1, k)  # monomials of (b_1 + ... + b_m)^k
    else:
        return 1
    if count > limits.MAX_EXPANDED_TERMS:  # no more than all monomials of that degree
        count = min(count, math.comb(variables + degree, degree))
    return min(count, _TERMS_CAP)


def _logmag(node: sympy.Basic, children: list[_Stats]) -> float:
    """``log`` of a bound on ``|node|`` over ``|x_i| <= 1`` from its children's bounds.

    ``nan`` means no bound is known (functions other than those of the parser,
    powers with negative or symbolic exponents of variables); such nodes only come
    from sympy input and are not refused for their size.
    """
    logs = [c.logmag for c in children]
    if any(math.isnan(v) for v in logs):
        return math.nan
    if isinstance(node, sympy.Add):
        return max(logs) + math.log(len(logs))
    if isinstance(node, sympy.Mul):
        return -math.inf if -math.inf in logs else sum(logs)
    if isinstance(node, sympy.Pow) and node.exp.is_Number:
        e = float(node.exp)  # type: ignore[arg-type]
        if e == 0:
            return 0.0
        if e > 0:
            return e * logs[0]
        if children[0].variables:
            return math.nan
        if logs[0] > _LOG_MAX_MAGNITUDE:
            return math.inf
        # a constant base, of bounded size: its value is safe to compute
        return e * _number_logmag(node.base.evalf(30)) + 1e-9
    if isinstance(node, sympy.exp):
        return math.exp(logs[0]) if logs[0] < _LOG_MAX_EXP_ARGUMENT + 1 else math.inf
    if isinstance(node, _BOUNDED_FUNCTIONS):
        return 0.0
    if isinstance(node, _MONOTONE_FUNCTIONS):
        return max(logs)
    return math.nan


def _node_stats(node: sympy.Basic, children: list[_Stats]) -> _Stats:
    size = 1 + sum(c.size for c in children)
    bits = max(c.bits for c in children)
    finite = all(c.finite for c in children)
    variables = frozenset().union(*(c.variables for c in children))
    if isinstance(node, sympy.Mul):
        degree = sum(c.degree for c in children)
    elif isinstance(node, sympy.Pow) and isinstance(node.exp, sympy.Integer):
        degree = children[0].degree * abs(int(node.exp))
    else:
        degree = max(c.degree for c in children)
    degree = min(degree, 2 * limits.MAX_DEGREE * limits.MAX_EXPONENT)  # refused anyway
    terms = _terms(node, children, len(variables), degree)
    logmag = _logmag(node, children) if finite else math.nan
    return _Stats(size, bits, degree, finite, terms, logmag, variables)


def _measure(expr: sympy.Basic, stats: dict[sympy.Basic, _Stats]) -> _Stats:
    """The guards' statistics of ``expr``, memoised in ``stats``.

    Computed over the expression DAG without recursion, so shared
    sub-expressions (nested Hermite polynomials) cost once. Nothing is
    expanded, and only constants of bounded size are ever evaluated.
    """
    if expr in stats:
        return stats[expr]
    stack: list[tuple[sympy.Basic, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if node in stats:
            continue
        if not ready:
            stack.append((node, True))
            stack.extend((arg, False) for arg in node.args if arg not in stats)
            continue
        if not node.args:
            stats[node] = _leaf_stats(node)
            continue
        stats[node] = _node_stats(node, [stats[arg] for arg in node.args])
    return stats[expr]


def _violation(stats: _Stats, finite: bool = True) -> tuple[str, str] | None:
    """The first limit ``stats`` breaks, as ``(what, hint)`` (``finite``: check finiteness)."""
    if finite and not stats.finite:
        return "undefined value in", "division by zero or infinity"
    if stats.size > MAX_TREE_SIZE:
        return "expression too large in", (
            f"it grows to more than {MAX_TREE_SIZE:,} nodes; "
            + _limit("MAX_TREE_SIZE", "nest fewer Hermite polynomials")
        )
    if stats.bits > MAX_NUMBER_BITS:
        return "huge number in", f"an exact number of {stats.bits:,} bits; " + _limit(
            "MAX_NUMBER_BITS"
        )
    if stats.degree > MAX_DEGREE:
        return "degree too high in", f"degree up to {stats.degree:,}; " + _limit("MAX_DEGREE")
    if len(stats.variables) > limits.MAX_VARIABLES:
        return "too many variables in", f"{len(stats.variables):,} distinct ones; " + _limit(
            "MAX_VARIABLES"
        )
    if stats.terms > limits.MAX_EXPANDED_TERMS:
        return "expansion too large in", (
            f"expanded it could have up to {stats.terms:.3g} monomials (estimated before "
            "expanding); " + _limit("MAX_EXPANDED_TERMS", "use fewer terms or a lower power")
        )
    if stats.logmag > _LOG_MAX_MAGNITUDE:
        size = (
            "beyond 1e308" if stats.logmag > 709 else f"about 1e{stats.logmag / math.log(10):.0f}"
        )
        return "number too large in", (
            f"its value can reach {size} (for |x_i| <= 1); "
            + _limit("MAX_MAGNITUDE", "rescale the target")
        )
    return None


def check_expression(expr: sympy.Basic) -> None:
    """Check a sympy expression against the limits of :mod:`csqbound.limits`.

    :func:`parse` checks every sub-expression as it builds it; this is the same
    check for expressions built elsewhere (e.g. with sympy by a user), before
    anything expands or evaluates them: tree size, exact number sizes, degree,
    distinct variables, the estimated size of the expansion and the magnitude of
    every sub-expression over ``|x_i| <= 1``.

    Raises
    ------
    CsqboundError
        Naming the first limit the expression breaks.

    Examples
    --------
    >>> check_expression(parse("x1*x2"))
    >>> x = sympy.Symbol("x1", real=True)
    >>> check_expression(sympy.exp(sympy.exp(sympy.exp(100))) * x)
    Traceback (most recent call last):
    ...
    csqbound.errors.CsqboundError: number too large in the expression: ...
    """
    problem = _violation(_measure(expr, {}), finite=False)
    if problem is not None:
        what, hint = problem
        msg = f"{what} the expression: {hint}"
        raise CsqboundError(msg)


class _Builder:
    """Walk a Python syntax tree, building sympy node by node under the whitelist."""

    def __init__(self, source: str, shift: int) -> None:
        self.source = source
        self.shift = shift
        self.encoded = source.encode("utf-8")
        self.stats: dict[sympy.Basic, _Stats] = {}
        self.variables: set[int] = set()

    # -- positions and errors ---------------------------------------------------
    def _char(self, byte_offset: int) -> int:
        """0-based character offset in the source of a UTF-8 byte offset."""
        return len(self.encoded[:byte_offset].decode("utf-8", errors="ignore"))

    def _segment(self, node: ast.AST) -> tuple[str, int]:
        """The source text of a node (shortened) and its 0-based character offset."""
        start_b = getattr(node, "col_offset", 0)
        end_b = getattr(node, "end_col_offset", None)
        start = self._char(start_b)
        end = self._char(end_b) if end_b is not None else start + 1
        token = self.source[start:end]
        if len(token) > 40:
            token = token[:37] + "..."
        return token, start

    def _error(
        self, node: ast.AST, what: str, hint: str = "", token: str | None = None
    ) -> ParseError:
        """A ParseError ``"{what} {token!r} at column C: {hint}"`` located at ``node``."""
        seg, start = self._segment(node)
        tok = seg if token is None else token
        position = start + self.shift
        msg = f"{what} {tok!r} at column {position + 1}"
        if hint:
            msg += f": {hint}"
        return ParseError(msg, token=tok, position=position)

    def _operator_error(self, node: ast.BinOp, what: str, hint: str) -> ParseError:
        """An error located at the operator of a binary operation."""
        symbol_text = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
        left_end = self._char(node.left.end_col_offset or 0)
        right_start = self._char(node.right.col_offset)
        between = self.source[left_end:right_start]
        found = between.find(symbol_text)
        start = left_end + (found if found >= 0 else 0)
        position = start + self.shift
        msg = f"{what} {symbol_text!r} at column {position + 1}: {hint}"
        return ParseError(msg, token=symbol_text, position=position)

    # -- guards -------------------------------------------------------------------
    def _stats(self, expr: sympy.Basic) -> _Stats:
        """The guards' statistics of ``expr`` (memoised over the whole parse)."""
        return _measure(expr, self.stats)

    def _check(self, expr: sympy.Expr, node: ast.AST) -> sympy.Expr:
        """Reject results that are not finite or break a limit of :mod:`csqbound.limits`."""
        problem = _violation(self._stats(expr))
        if problem is not None:
            raise self._error(node, *problem)
        return expr

    # -- the walk -----------------------------------------------------------------
    def build(self, node: ast.AST, depth: int) -> sympy.Expr:
        """The sympy expression of ``node`` (``depth`` is the nesting so far)."""
        if depth > MAX_DEPTH:
            raise self._error(node, "too deeply nested at", f"at most {MAX_DEPTH} levels")
        match node:
            case ast.Constant():
                return self._constant(node)
            case ast.Name():
                return self._name(node)
            case ast.BinOp(op=ast.Add() | ast.Sub()):
                return self._sum(node, depth)
            case ast.BinOp(op=ast.Mult() | ast.Div()):
                return self._product(node, depth)
            case ast.BinOp(op=ast.Pow()):
                return self._power(node, depth)
            case ast.BinOp(op=ast.BitXor()):
                raise self._xor_error(node)
            case ast.BinOp():
                raise self._operator_error(node, "unsupported operator", "use + - * / and ** only")
            case ast.UnaryOp():
                return self._unary(node, depth)
            case ast.Call():
                return self._call(node, depth)
            case _:
                what = _NODE_DESCRIPTIONS.get(
                    type(node), f"unsupported syntax ({type(node).__name__})"
                )
                raise self._error(
                    node, f"unsupported {what}", "only arithmetic is allowed; " + _NAMES_HINT
                )

    def _xor_error(self, node: ast.BinOp) -> ParseError:
        left = self._segment(node.left)[0]
        right = self._segment(node.right)[0]
        what = f"{left} squared" if right == "2" else "a power"
        return self._operator_error(
            node, "unsupported operator", f"^ is not a power; write {left}**{right} for {what}"
        )

    def _constant(self, node: ast.Constant) -> sympy.Expr:
        value = node.value
        if isinstance(value, bool):
            raise self._error(node, "boolean constant", "only numbers and variables are allowed")
        if isinstance(value, int):
            return self._check(sympy.Integer(value), node)
        if isinstance(value, float):
            digits = self.source[self._char(node.col_offset) : self._char(node.end_col_offset or 0)]
            try:
                exact = _decimal(digits)
            except _BadNumber as bad:
                raise self._error(node, bad.what, bad.hint) from None
            return self._check(sympy.Rational(exact.numerator, exact.denominator), node)
        if isinstance(value, complex):
            raise self._error(node, "complex number", "targets are real-valued")
        if isinstance(value, str | bytes):
            raise self._error(node, "string", "strings are not expressions; remove the quotes")
        raise self._error(node, "constant", "only numbers and variables are allowed")

    def _name(self, node: ast.Name) -> sympy.Expr:
        name = node.id
        match = _VARIABLE.fullmatch(name)
        if match is not None:
            digits = match.group(1)
            if len(digits) > len(str(limits.MAX_COORDINATE)) or int(digits) > limits.MAX_COORDINATE:
                raise self._error(
                    node,
                    "variable index too large:",
                    _limit("MAX_COORDINATE", "number the variables from x1"),
                )
            self.variables.add(int(digits))
            if len(self.variables) > limits.MAX_VARIABLES:
                raise self._error(
                    node,
                    "too many variables at",
                    f"more than {limits.MAX_VARIABLES:,}; " + _limit("MAX_VARIABLES"),
                )
            return symbol(int(digits))
        if re.fullmatch(r"x0+|x0[0-9]*", name):
            raise self._error(
                node, "bad variable", "variables are 1-based and written x1, x2, ... (no x0)"
            )
        if (
            name in _UNARY_FUNCTIONS
            or name in _NARY_FUNCTIONS
            or name == "He"
            or (_HERMITE.fullmatch(name))
        ):
            raise self._error(node, "function", f"call it with an argument, e.g. {name}(x1)")
        raise self._error(node, "unknown name", _NAMES_HINT)

    def _sum(self, node: ast.BinOp, depth: int) -> sympy.Expr:
        # Flatten the left spine a + b - c + ... without recursion.
        terms: list[tuple[bool, ast.AST]] = []
        current: ast.AST = node
        while isinstance(current, ast.BinOp) and isinstance(current.op, ast.Add | ast.Sub):
            terms.append((isinstance(current.op, ast.Sub), current.right))
            current = current.left
        terms.append((False, current))
        parts = []
        for negative, term in reversed(terms):
            value = self.build(term, depth + 1)
            parts.append(-value if negative else value)
        return self._check(sympy.Add(*parts), node)

    def _product(self, node: ast.BinOp, depth: int) -> sympy.Expr:
        factors: list[tuple[bool, ast.BinOp | None, ast.AST]] = []
        current: ast.AST = node
        while isinstance(current, ast.BinOp) and isinstance(current.op, ast.Mult | ast.Div):
            factors.append((isinstance(current.op, ast.Div), current, current.right))
            current = current.left
        factors.append((False, None, current))
        result: sympy.Expr = sympy.Integer(1)
        for divide, parent, factor in reversed(factors):
            value = self.build(factor, depth + 1)
            if divide:
                assert parent is not None
                if value == 0:
                    raise self._operator_error(
                        parent,
                        "division by zero:",
                        f"the divisor {self._segment(factor)[0]!r} is zero",
                    )
                if value.free_symbols:
                    raise self._operator_error(
                        parent,
                        "division by an expression with variables:",
                        "only division by a constant is supported",
                    )
                result = self._check(result / value, parent)
            else:
                result = self._check(result * value, parent if parent is not None else node)
        return self._check(result, node)

    def _exponent(self, node: ast.BinOp) -> int:
        exponent = node.right
        if isinstance(exponent, ast.Constant):
            value = exponent.value
            if isinstance(value, int) and not isinstance(value, bool):
                if value > MAX_EXPONENT:
                    raise self._error(
                        exponent,
                        "huge power",
                        f"exponents are limited to {MAX_EXPONENT}; " + _limit("MAX_EXPONENT"),
                    )
                return value
            if isinstance(value, float):
                raise self._error(
                    exponent, "fractional power", "exponents are integers 0..64; use sqrt(.)"
                )
        if isinstance(exponent, ast.UnaryOp) and isinstance(exponent.op, ast.USub):
            raise self._error(
                exponent, "negative power", "exponents are integers 0..64; divide by a constant"
            )
        raise self._error(
            exponent,
            "exponent",
            f"must be a literal integer 0..{MAX_EXPONENT} (no variables or arithmetic)",
        )

    def _power(self, node: ast.BinOp, depth: int) -> sympy.Expr:
        exponent = self._exponent(node)
        base = self.build(node.left, depth + 1)
        stats = self._stats(base)
        if stats.bits * exponent > MAX_NUMBER_BITS:
            hint = f"the result would need {stats.bits * exponent:,} bits; "
            raise self._operator_error(node, "huge power", hint + _limit("MAX_NUMBER_BITS"))
        if stats.degree * exponent > MAX_DEGREE:
            hint = f"the degree would be {stats.degree * exponent:,}; "
            raise self._operator_error(node, "huge power", hint + _limit("MAX_DEGREE"))
        if stats.logmag * exponent > _LOG_MAX_MAGNITUDE:
            hint = "its value would exceed 1e300 (for |x_i| <= 1); "
            raise self._operator_error(node, "huge power", hint + _limit("MAX_MAGNITUDE"))
        return self._check(sympy.Pow(base, sympy.Integer(exponent)), node)

    def _unary(self, node: ast.UnaryOp, depth: int) -> sympy.Expr:
        negative = False
        current: ast.AST = node
        while isinstance(current, ast.UnaryOp):
            if isinstance(current.op, ast.USub):
                negative = not negative
            elif not isinstance(current.op, ast.UAdd):
                symbol_text = _OPERATOR_SYMBOLS.get(type(current.op), type(current.op).__name__)
                _, start = self._segment(current)
                position = start + self.shift
                msg = (
                    f"unsupported operator {symbol_text!r} at column {position + 1}: "
                    "use + - * / and ** only"
                )
                raise ParseError(msg, token=symbol_text, position=position)
            current = current.operand
        value = self.build(current, depth + 1)
        return self._check(-value if negative else value, node)

    def _call(self, node: ast.Call, depth: int) -> sympy.Expr:
        func = node.func
        if not isinstance(func, ast.Name):
            raise self._error(
                func, "call of", f"only plain function names can be called; {_NAMES_HINT}"
            )
        name = func.id
        if node.keywords:
            keyword = node.keywords[0]
            raise self._error(
                keyword, "keyword argument", f"{name}(...) takes positional arguments"
            )
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self._error(arg, "starred argument", f"pass the arguments of {name} directly")
        if _VARIABLE.fullmatch(name):
            raise self._error(func, "variable", f"{name} is a variable, not a function")
        if name == "He":
            return self._hermite_call(node, depth)
        hermite = _HERMITE.fullmatch(name)
        if hermite is not None:
            degree = int(hermite.group(1))
            if degree > MAX_HERMITE_DEGREE:
                raise self._error(
                    func,
                    "Hermite degree",
                    f"He0..He{MAX_HERMITE_DEGREE} are available; " + _limit("MAX_HERMITE_INDEX"),
                )
            self._arity(node, name, 1)
            argument = self.build(node.args[0], depth + 1)
            return self._apply(node, sympy.hermite_prob, degree, argument)
        if name in _UNARY_FUNCTIONS:
            self._arity(node, name, 1)
            argument = self.build(node.args[0], depth + 1)
            if name == "sqrt" and argument.is_number and argument.is_negative:
                raise self._error(
                    node.args[0], "negative number", "sqrt needs a non-negative argument"
                )
            return self._apply(node, _UNARY_FUNCTIONS[name], argument)
        if name in _NARY_FUNCTIONS:
            if len(node.args) < 2:
                raise self._error(
                    func, "function", f"{name} needs at least 2 arguments, got {len(node.args)}"
                )
            arguments = [self.build(arg, depth + 1) for arg in node.args]
            return self._apply(node, _NARY_FUNCTIONS[name], *arguments)
        raise self._error(func, "unknown function", _NAMES_HINT)

    def _arity(self, node: ast.Call, name: str, count: int) -> None:
        if len(node.args) != count:
            raise self._error(
                node.func,
                "function",
                f"{name} takes {count} argument{'s' if count > 1 else ''}, got {len(node.args)}",
            )

    def _hermite_call(self, node: ast.Call, depth: int) -> sympy.Expr:
        self._arity(node, "He", 2)
        degree_node = node.args[0]
        if not (
            isinstance(degree_node, ast.Constant)
            and isinstance(degree_node.value, int)
            and not isinstance(degree_node.value, bool)
            and 0 <= degree_node.value <= MAX_HERMITE_DEGREE
        ):
            raise self._error(
                degree_node,
                "Hermite degree",
                f"He(k, .) needs a literal integer k in 0..{MAX_HERMITE_DEGREE}",
            )
        argument = self.build(node.args[1], depth + 1)
        return self._apply(node, sympy.hermite_prob, int(degree_node.value), argument)

    def _apply(
        self, node: ast.Call, function: Callable[..., sympy.Expr], *args: object
    ) -> sympy.Expr:
        """Call a whitelisted sympy function; its own complaints become ParseErrors."""
        self._precheck(node, function, args)
        try:
            result = function(*args)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise self._error(node.func, "cannot apply", shorten(exc)) from None
        return self._check(result, node)

    def _precheck(
        self, node: ast.Call, function: Callable[..., sympy.Expr], args: tuple[object, ...]
    ) -> None:
        """The limits a function call would break, checked before sympy builds (or evaluates) it."""
        name = node.func.id if isinstance(node.func, ast.Name) else ""
        if function is sympy.hermite_prob:
            k, argument = args
            degree = self._stats(argument).degree * int(k)  # type: ignore[arg-type, call-overload]
            if degree > MAX_DEGREE:
                hint = f"the Hermite polynomial of that argument has degree {degree:,}; "
                raise self._error(node, "degree too high in", hint + _limit("MAX_DEGREE"))
        elif function is sympy.exp:
            logmag = self._stats(args[0]).logmag  # type: ignore[arg-type]
            if logmag > _LOG_MAX_EXP_ARGUMENT:
                size = "beyond 1e308" if logmag > 709 else f"about {math.exp(logmag):.3g}"
                hint = f"its argument can reach {size} (for |x_i| <= 1), beyond float range; "
                raise self._error(node, "exp overflows in", hint + _limit("MAX_EXP_ARGUMENT"))
        elif name in ("max", "Max", "min", "Min", "relu"):
            kind = sympy.Min if name in ("min", "Min") else sympy.Max
            count = sum(len(a.args) if isinstance(a, kind) else 1 for a in args)  # type: ignore[attr-defined]
            if name == "relu":
                count += 1
            if count > limits.MAX_FUNCTION_ARGUMENTS:
                hint = f"{count} arguments (nested ones included); "
                raise self._error(
                    node, "too many arguments in", hint + _limit("MAX_FUNCTION_ARGUMENTS")
                )
