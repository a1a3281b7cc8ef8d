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

Variables are the sympy symbols made by :func:`symbol` (real, named ``xN``);
every module of csqbound makes its variables there.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from fractions import Fraction
from typing import NamedTuple

import sympy

from csqbound.errors import CsqboundError, ParseError

__all__ = [
    "FUNCTIONS",
    "MAX_DEGREE",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_HERMITE_DEGREE",
    "MAX_LENGTH",
    "MAX_NUMBER_BITS",
    "MAX_TREE_SIZE",
    "parse",
    "symbol",
    "variable_index",
]

#: Longest accepted input, in characters.
MAX_LENGTH = 10_000
#: Deepest accepted nesting of the syntax tree (sums and products of many terms
#: are flattened and do not count as nesting).
MAX_DEPTH = 200
#: Largest literal exponent in ``a ** k``.
MAX_EXPONENT = 64
#: Largest Hermite degree in ``He0 .. He12`` and ``He(k, .)``.
MAX_HERMITE_DEGREE = 12
#: Largest polynomial degree (an upper bound computed on the tree, e.g. of
#: nested Hermite polynomials or powers of powers).
MAX_DEGREE = 4096
#: Largest bit length of an exact number anywhere in the result.
MAX_NUMBER_BITS = 65_536
#: Largest size (number of nodes, counted as a tree) of the resulting expression.
MAX_TREE_SIZE = 200_000

#: The accepted function names, as listed in error messages.
FUNCTIONS = "He0..He12, He(k, .), sqrt, sign, abs, max, min, relu, tanh, exp, sin, cos"

_VARIABLE = re.compile(r"x([1-9][0-9]*)")
_HERMITE = re.compile(r"He([0-9]+)")
_DECIMAL = re.compile(r"([0-9]*)(?:\.([0-9]*))?(?:[eE]([-+]?[0-9]+))?")
_MAX_DECIMAL_EXPONENT = 4_000
_MAX_DECIMAL_DIGITS = 1_000
_NAMES_HINT = f"variables are x1, x2, ...; functions are {FUNCTIONS}"

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
        If ``i`` is not an integer ``>= 1``.

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
        msg = f"variables are 1-based: symbol(i) needs an integer i >= 1, got {i!r}"
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
        If ``s`` is not a symbol named ``xN`` with ``N >= 1``.

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
            return int(match.group(1))
    msg = f"{str(s)!r} is not a csqbound variable: variables are x1, x2, ..."
    raise CsqboundError(msg)


def parse(text: str) -> sympy.Expr:
    """Parse an expression safely into sympy.

    Parameters
    ----------
    text
        The expression, e.g. ``"x1*x2 + He3((x1 - x2)/sqrt(2))"``. Newlines and
        tabs count as spaces.

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
        msg = f"expression too long: {len(text)} characters (at most {MAX_LENGTH})"
        raise ParseError(msg)
    # Whitespace of any kind is a space; same length, so offsets are unchanged.
    flat = "".join(" " if c.isspace() else c for c in text)
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
    except ValueError as exc:  # e.g. null bytes on some Python versions
        msg = f"invalid expression: {exc}"
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
        msg = f"cannot build the expression: {exc}"
        raise ParseError(msg) from None


def _syntax_error(exc: SyntaxError, source: str, shift: int) -> ParseError:
    """A ParseError for a SyntaxError (offsets in characters, 1-based)."""
    detail = exc.msg
    end = len(source.rstrip(" "))
    digits = re.search(r"[0-9_]{100,}", source)
    if ("int_max_str_digits" in detail or "integer string conversion" in detail) and digits:
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
        near = f"near {token!r}"
    msg = f"syntax error at column {position + shift + 1} ({near}): {detail}"
    return ParseError(msg, token=token, position=position + shift)


_NON_FINITE = (sympy.S.ComplexInfinity, sympy.S.Infinity, sympy.S.NegativeInfinity, sympy.S.NaN)


class _Stats(NamedTuple):
    """What the guards know about a sub-expression."""

    size: int  # nodes, counted as a tree
    bits: int  # largest bit length of an exact number
    degree: int  # upper bound on the polynomial degree
    finite: bool  # no zoo, oo, nan


class _Builder:
    """Walk a Python syntax tree, building sympy node by node under the whitelist."""

    def __init__(self, source: str, shift: int) -> None:
        self.source = source
        self.shift = shift
        self.encoded = source.encode("utf-8")
        self.stats: dict[sympy.Basic, _Stats] = {}

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
        """Size, number bits, degree bound and finiteness of ``expr``, memoised.

        Computed over the expression DAG without recursion, so shared
        sub-expressions (nested Hermite polynomials) cost once.
        """
        stats = self.stats
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
                bits = 0
                if isinstance(node, sympy.Rational):
                    bits = max(abs(int(node.p)).bit_length(), int(node.q).bit_length())
                finite = not any(node is bad for bad in _NON_FINITE)
                degree = 1 if isinstance(node, sympy.Symbol) else 0
                stats[node] = _Stats(1, bits, degree, finite)
                continue
            children = [stats[arg] for arg in node.args]
            size = 1 + sum(c.size for c in children)
            bits = max(c.bits for c in children)
            finite = all(c.finite for c in children)
            if isinstance(node, sympy.Mul):
                degree = sum(c.degree for c in children)
            elif isinstance(node, sympy.Pow) and isinstance(node.exp, sympy.Integer):
                degree = children[0].degree * abs(int(node.exp))
            else:
                degree = max(c.degree for c in children)
            stats[node] = _Stats(size, bits, degree, finite)
        return stats[expr]

    def _check(self, expr: sympy.Expr, node: ast.AST) -> sympy.Expr:
        """Reject results that are not finite or too large to handle."""
        stats = self._stats(expr)
        if not stats.finite:
            raise self._error(node, "undefined value in", "division by zero or infinity")
        if stats.size > MAX_TREE_SIZE:
            raise self._error(
                node,
                "expression too large in",
                f"it grows to more than {MAX_TREE_SIZE} nodes; nest fewer Hermite polynomials",
            )
        if stats.bits > MAX_NUMBER_BITS:
            raise self._error(
                node, "huge number in", f"exact numbers are limited to {MAX_NUMBER_BITS} bits"
            )
        if stats.degree > MAX_DEGREE:
            raise self._error(
                node, "degree too high in", f"degree {stats.degree} exceeds {MAX_DEGREE}"
            )
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
            digits = digits.replace("_", "")
            match = _DECIMAL.fullmatch(digits)
            if match is None:
                raise self._error(node, "unreadable number", "write decimals like 0.25 or 1e-3")
            mantissa_digits = len(match.group(1)) + len(match.group(2) or "")
            if mantissa_digits > _MAX_DECIMAL_DIGITS:
                raise self._error(
                    node, "huge number", f"decimals are limited to {_MAX_DECIMAL_DIGITS} digits"
                )
            exponent_text = (match.group(3) or "0").lstrip("+-").lstrip("0")
            exponent = int(match.group(3) or 0) if len(exponent_text) <= 6 else 10**7
            if abs(exponent) > _MAX_DECIMAL_EXPONENT:
                raise self._error(
                    node, "huge number", f"decimal exponents are limited to {_MAX_DECIMAL_EXPONENT}"
                )
            exact = Fraction(digits)
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
            return symbol(int(match.group(1)))
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
                        exponent, "huge power", f"exponents are limited to {MAX_EXPONENT}"
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
            raise self._operator_error(
                node, "huge power", f"the result would need more than {MAX_NUMBER_BITS} bits"
            )
        if stats.degree * exponent > MAX_DEGREE:
            raise self._operator_error(
                node,
                "huge power",
                f"the degree would be {stats.degree * exponent} > {MAX_DEGREE}",
            )
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
                    func, "Hermite degree", f"He0..He{MAX_HERMITE_DEGREE} are available"
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
        try:
            result = function(*args)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise self._error(node.func, "cannot apply", str(exc)) from None
        return self._check(result, node)
