"""Targets: an expression in ``x1..xP``, the domain of its inputs, and numeric evaluation.

A :class:`Target` is the function ``f(x) = h(x_1, ..., x_P)`` of THEORY.md
section 1 together with its domain (``"boolean"``: uniform on ``{-1,1}^d``;
``"gaussian"``: standard normal on ``R^d``). It is made from text (parsed
safely by :func:`csqbound.parsing.parse`), from a sympy expression or from a
number, and evaluated on arrays of any array-API library by walking the sympy
tree (no ``lambdify``, which relies on ``eval``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy
from array_api_compat import array_namespace
from array_api_compat import device as array_device

from csqbound import limits
from csqbound.errors import CsqboundError, ParameterError, shorten
from csqbound.monomial import Domain, check_domain
from csqbound.parsing import check_expression, parse, symbol, variable_index

__all__ = ["Target"]

#: sympy function classes evaluated elementwise, by the name of the ``xp`` function.
_ELEMENTWISE: dict[type[sympy.Basic], str] = {
    sympy.sign: "sign",
    sympy.Abs: "abs",
    sympy.tanh: "tanh",
    sympy.exp: "exp",
    sympy.sin: "sin",
    sympy.cos: "cos",
}
#: n-ary sympy functions, by the name of the binary ``xp`` function they fold with.
_FOLDED: dict[type[sympy.Basic], str] = {
    sympy.Max: "maximum",
    sympy.Min: "minimum",
}
_SUPPORTED = "+, *, powers, sign, Abs, Max, Min, tanh, exp, sin, cos"


@dataclass(frozen=True)
class Target:
    """A target function: a sympy expression in ``x1..xP`` on a domain.

    Parameters
    ----------
    expression
        A sympy expression whose variables are ``csqbound.parsing.symbol(i)``.
    domain
        ``"boolean"`` (inputs uniform on ``{-1,1}^d``) or ``"gaussian"``
        (inputs standard normal).
    variables
        ``P``, the largest variable index used (``x1 + x3`` has ``P = 3``); 0 for
        a constant. Must be at least the largest index in ``expression``.
    text
        The user's text, when the target was parsed from text.

    Raises
    ------
    CsqboundError
        If the expression has foreign symbols, non-real constants or nodes that
        cannot be evaluated numerically, or breaks a limit of
        :mod:`csqbound.limits` (:func:`csqbound.parsing.check_expression`);
        :class:`~csqbound.errors.DomainError` for an unknown domain.

    Examples
    --------
    >>> t = Target.from_text("x1*x3")
    >>> t.variables
    3
    >>> t.symbols
    (x1, x2, x3)
    >>> t.is_polynomial
    True
    >>> str(Target.from_text("sign(x1 + x2 + x3)", domain="gaussian"))
    'sign(x1 + x2 + x3)'
    """

    expression: sympy.Expr
    domain: Domain
    variables: int
    text: str | None = None

    def __post_init__(self) -> None:
        check_domain(self.domain)
        if not isinstance(self.expression, sympy.Expr):
            msg = (
                f"a target expression must be a sympy expression, got "
                f"{type(self.expression).__name__}; use Target.coerce(...) for text or numbers"
            )
            raise CsqboundError(msg)
        if isinstance(self.variables, bool) or not isinstance(self.variables, int):
            msg = f"variables must be an integer, got {shorten(self.variables, quote=True)}"
            raise CsqboundError(msg)
        if not 0 <= self.variables <= limits.MAX_COORDINATE:
            msg = (
                f"variables must be between 0 and {limits.MAX_COORDINATE:,} "
                f"(MAX_COORDINATE in csqbound.limits), got {self.variables:,}"
            )
            raise CsqboundError(msg)
        check_expression(self.expression)
        needed = _validate(self.expression)
        if self.variables < needed:
            msg = (
                f"variables={self.variables} but the expression uses x{needed}: "
                f"give variables >= {needed}"
            )
            raise CsqboundError(msg)

    # -- construction ---------------------------------------------------------------
    @classmethod
    def from_text(cls, text: str, domain: str = "boolean") -> Target:
        """Parse a target from text (safely, see :func:`csqbound.parsing.parse`).

        Parameters
        ----------
        text
            The expression, e.g. ``"x1*x2 + x1*x2*x3"``.
        domain
            ``"boolean"`` or ``"gaussian"``.

        Returns
        -------
        Target

        Raises
        ------
        ParseError
            If the text is not an accepted expression.
        DomainError
            For an unknown domain.

        Examples
        --------
        >>> t = Target.from_text("He3((x1 - x2)/sqrt(2))", domain="gaussian")
        >>> t.variables, t.domain
        (2, 'gaussian')
        >>> Target.from_text("1/2").variables
        0
        """
        checked = check_domain(domain)
        expression = parse(text)
        return cls(expression, checked, _max_index(expression), text.strip())

    @classmethod
    def coerce(
        cls,
        value: str | sympy.Expr | Target | int | Fraction,
        domain: str = "boolean",
    ) -> Target:
        """Make a target from text, a sympy expression, a number or a Target.

        Parameters
        ----------
        value
            Text is parsed safely; a sympy expression must use the variables
            ``csqbound.parsing.symbol(i)`` (plain ``sympy.Symbol("x3")`` is
            accepted and re-mapped to ``symbol(3)``); an ``int``, ``Fraction``
            (or float, read as its shortest decimal) gives a constant target. A
            :class:`Target` is returned as it is, whatever ``domain`` says.
        domain
            ``"boolean"`` or ``"gaussian"``.

        Returns
        -------
        Target

        Raises
        ------
        CsqboundError
            For symbols other than ``x1, x2, ...``, non-real constants, an
            unsupported type, or a parse error in text.

        Examples
        --------
        >>> a, b = sympy.symbols("x1 x2")
        >>> t = Target.coerce(a * b + 1)
        >>> t.expression == Target.from_text("x1*x2 + 1").expression
        True
        >>> Target.coerce(Fraction(1, 3), domain="gaussian").expression
        1/3
        >>> Target.coerce(sympy.Symbol("y"))
        Traceback (most recent call last):
        ...
        csqbound.errors.CsqboundError: symbol 'y' is not a csqbound variable: ...
        """
        if isinstance(value, Target):
            return value
        checked = check_domain(domain)
        if isinstance(value, str):
            return cls.from_text(value, checked)
        if isinstance(value, bool):
            msg = "a boolean is not a target: give an expression such as 'x1*x2' or a number"
            raise CsqboundError(msg)
        if isinstance(value, sympy.Basic):
            if not isinstance(value, sympy.Expr):
                msg = (
                    f"cannot use a {type(value).__name__} as a target: give a real-valued "
                    "sympy expression in x1, x2, ..."
                )
                raise CsqboundError(msg)
            expression = _canonical_symbols(value)
            return cls(expression, checked, _max_index(expression))
        if isinstance(value, numbers.Rational):
            exact = Fraction(value)
            return cls(sympy.Rational(exact.numerator, exact.denominator), checked, 0)
        if isinstance(value, numbers.Real):
            number = float(value)
            if not math.isfinite(number):
                msg = f"a target must be finite, got {number!r}"
                raise CsqboundError(msg)
            exact = Fraction(repr(number))
            return cls(sympy.Rational(exact.numerator, exact.denominator), checked, 0)
        msg = (
            f"cannot make a target from {type(value).__name__}: give text such as "
            "'x1*x2', a sympy expression in x1, x2, ..., a number or a Target"
        )
        raise CsqboundError(msg)

    # -- properties -----------------------------------------------------------------
    @property
    def symbols(self) -> tuple[sympy.Symbol, ...]:
        """The variables ``(x1, ..., xP)``.

        Examples
        --------
        >>> Target.from_text("x2").symbols
        (x1, x2)
        """
        return tuple(symbol(i) for i in range(1, self.variables + 1))

    @property
    def is_polynomial(self) -> bool:
        """Whether the expression is a polynomial in ``x1..xP``.

        Examples
        --------
        >>> Target.from_text("He4(x1) - x1*x2/2").is_polynomial
        True
        >>> Target.from_text("relu(x1)").is_polynomial
        False
        """
        return self.expression.is_polynomial(*self.symbols) is True

    # -- evaluation -----------------------------------------------------------------
    def evaluate(self, X: Any, xp: Any = None) -> Any:
        """Evaluate the target on the rows of ``X``.

        Parameters
        ----------
        X
            Array of shape ``(n, d)`` with ``d >= P``; only the first ``P``
            columns are used. Any array-API array (numpy, array_api_strict,
            torch, cupy).
        xp
            The array namespace; by default ``array_namespace(X)``.

        Returns
        -------
        array
            Shape ``(n,)``, in ``X``'s namespace, on its device, with its dtype
            when ``X`` is real floating (``float64`` otherwise).

        Raises
        ------
        ParameterError
            If ``X`` is not two-dimensional or has fewer than ``P`` columns.
        CsqboundError
            For a sub-expression that cannot be evaluated numerically.

        Examples
        --------
        >>> import numpy as np
        >>> t = Target.from_text("x1*x2 + relu(x3) - 1/2")
        >>> t.evaluate(np.array([[1.0, -1.0, 2.0, 7.0], [2.0, 3.0, -1.0, 0.0]]))
        array([0.5, 5.5])
        >>> t.evaluate(np.ones((2, 3), dtype=np.float32)).dtype
        dtype('float32')
        """
        if xp is None:
            xp = array_namespace(X)
        shape = tuple(X.shape)
        if len(shape) != 2:
            msg = f"X must have shape (n, d), got shape {shape}"
            raise ParameterError(msg)
        n, d = shape
        if d is not None and d < self.variables:
            msg = (
                f"X has d={d} columns but the target uses x1..x{self.variables}: "
                f"give at least {self.variables} columns"
            )
            raise ParameterError(msg)
        if not _is_real_floating(xp, X.dtype):
            X = xp.astype(X, xp.float64)
        return _evaluate(self.expression, X, xp)

    def __str__(self) -> str:
        return self.text if self.text is not None else sympy.sstr(self.expression)


def _is_real_floating(xp: Any, dtype: Any) -> bool:
    """Whether ``dtype`` is a real floating dtype of ``xp``."""
    isdtype = getattr(xp, "isdtype", None)
    if isdtype is not None:
        return bool(isdtype(dtype, "real floating"))
    return any(dtype == getattr(xp, name, None) for name in ("float16", "float32", "float64"))


def _max_index(expression: sympy.Expr) -> int:
    """The largest variable index in ``expression`` (0 for a constant)."""
    return max((variable_index(s) for s in expression.free_symbols), default=0)  # type: ignore[arg-type]


def _canonical_symbols(expression: sympy.Expr) -> sympy.Expr:
    """Re-map plain ``Symbol("xN")`` to ``symbol(N)``; reject any other symbol."""
    replacements: dict[sympy.Basic, sympy.Basic] = {}
    for s in expression.free_symbols:
        name = getattr(s, "name", str(s))
        try:
            index = variable_index(s)  # type: ignore[arg-type]
        except ParameterError:  # a variable, but beyond MAX_COORDINATE
            raise
        except CsqboundError:
            msg = (
                f"symbol {shorten(name, quote=True)} is not a csqbound variable: use x1, x2, ... "
                "(csqbound.parsing.symbol(i))"
            )
            raise CsqboundError(msg) from None
        canonical = symbol(index)
        if s == canonical:
            continue
        if s == sympy.Symbol(name):
            replacements[s] = canonical
            continue
        msg = (
            f"symbol {shorten(name, quote=True)} has assumptions other than real=True: use "
            f"csqbound.parsing.symbol({index}) or a plain sympy.Symbol({shorten(name, quote=True)})"
        )
        raise CsqboundError(msg)
    if not replacements:
        return expression
    return expression.xreplace(replacements)


def _postorder(expression: sympy.Basic) -> list[sympy.Basic]:
    """Distinct sub-expressions, children before parents, without recursion."""
    order: list[sympy.Basic] = []
    seen: set[sympy.Basic] = set()
    stack: list[tuple[sympy.Basic, bool]] = [(expression, False)]
    while stack:
        node, ready = stack.pop()
        if ready:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((arg, False) for arg in reversed(node.args) if arg not in seen)
    return order


def _constant(node: sympy.Basic) -> float:
    """A constant sub-expression as a Python float."""
    try:
        return float(node)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError) as exc:
        msg = f"the constant {shorten(sympy.sstr(node))} is not a real number ({shorten(exc)})"
        raise CsqboundError(msg) from None


def _unsupported(node: sympy.Basic) -> CsqboundError:
    name = type(node).__name__
    msg = (
        f"cannot evaluate {name} (in {shorten(sympy.sstr(node))}) numerically: supported are "
        f"{_SUPPORTED} of x1, x2, ..."
    )
    return CsqboundError(msg)


def _validate(expression: sympy.Expr) -> int:
    """Check that ``expression`` can be evaluated; return its largest variable index.

    Every non-constant node must be one the evaluator knows, every symbol must be
    a csqbound variable, and every maximal constant sub-expression must be real.
    """
    constant: dict[sympy.Basic, bool] = {}
    checked: set[sympy.Basic] = set()
    unsupported: list[sympy.Basic] = []
    largest = 0
    for node in _postorder(expression):
        if isinstance(node, sympy.Symbol):
            index = variable_index(node)
            if node != symbol(index):
                msg = (
                    f"symbol {shorten(node.name, quote=True)} is not "
                    f"csqbound.parsing.symbol({index}) (a real "
                    "symbol); use Target.coerce to re-map plain symbols"
                )
                raise CsqboundError(msg)
            largest = max(largest, index)
            constant[node] = False
            continue
        constant[node] = all(constant[arg] for arg in node.args)
        if constant[node]:
            continue
        if not _handled(node):
            unsupported.append(node)
            continue
        for arg in node.args:
            if constant[arg] and arg not in checked:
                checked.add(arg)
                _constant(arg)
    if unsupported:  # report the outermost one (latest in post-order)
        raise _unsupported(unsupported[-1])
    if constant[expression]:
        _constant(expression)
    return largest


def _handled(node: sympy.Basic) -> bool:
    """Whether the evaluator knows this (non-constant) node type."""
    if isinstance(node, sympy.Add | sympy.Mul | sympy.Pow):
        return True
    return type(node) in _ELEMENTWISE or type(node) in _FOLDED


def _power(base: Any, k: int, xp: Any) -> Any:
    """``base ** k`` for an integer ``k`` by repeated squaring."""
    if k < 0:
        return 1.0 / _power(base, -k, xp)
    if k == 0:
        return xp.ones_like(base)
    result = None
    square = base
    while True:
        if k & 1:
            result = square if result is None else result * square
        k >>= 1
        if not k:
            return result
        square = square * square


def _evaluate(expression: sympy.Expr, X: Any, xp: Any) -> Any:
    """Evaluate ``expression`` on the rows of ``X`` (floating, validated shape)."""
    n = X.shape[0]
    values: dict[sympy.Basic, Any] = {}

    def full(value: float) -> Any:
        return xp.full((n,), value, dtype=X.dtype, device=array_device(X))

    def array(value: Any) -> Any:
        return full(value) if isinstance(value, float) else value

    for node in _postorder(expression):
        if isinstance(node, sympy.Symbol):
            values[node] = X[:, variable_index(node) - 1]
            continue
        children = [values[arg] for arg in node.args]
        if all(isinstance(child, float) for child in children):
            values[node] = _constant(node)
            continue
        values[node] = _combine(node, children, xp, array)
    result = values[expression]
    return full(result) if isinstance(result, float) else result


def _combine(node: sympy.Basic, children: list[Any], xp: Any, array: Callable[[Any], Any]) -> Any:
    """One node of the tree from its children's values (floats or arrays)."""
    if isinstance(node, sympy.Add):
        total = children[0]
        for child in children[1:]:
            total = total + child
        return total
    if isinstance(node, sympy.Mul):
        product = children[0]
        for child in children[1:]:
            product = product * child
        return product
    if isinstance(node, sympy.Pow):
        base, exponent = children
        exp_node = node.exp
        if isinstance(exp_node, sympy.Integer):
            return _power(array(base), int(exp_node), xp)
        if isinstance(exp_node, sympy.Rational) and exp_node.q == 2:
            return _power(xp.sqrt(array(base)), int(exp_node.p), xp)
        return array(base) ** exponent if isinstance(exponent, float) else base**exponent
    kind = type(node)
    if kind in _ELEMENTWISE:
        (argument,) = children
        return getattr(xp, _ELEMENTWISE[kind])(array(argument))
    if kind in _FOLDED:
        fold = getattr(xp, _FOLDED[kind])
        result = array(children[0])
        for child in children[1:]:
            result = fold(result, array(child))
        return result
    raise _unsupported(node)
