"""Exact rotations of gaussian targets: rational Cayley transforms and ``f -> f o Q``.

Gaussian data is rotation invariant, so a rotated target must have the same
rotation-free leap (THEORY.md section 3). These exact tools are shared by the
hypothesis strategies (:mod:`csqbound.testing.strategies`) and the proof checks
(``proofs_checks/check_iso_rotation.py``); they need no hypothesis.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy

from csqbound.errors import DomainError, ParameterError
from csqbound.expansion import as_target
from csqbound.parsing import symbol
from csqbound.target import Target

__all__ = ["cayley_rotation", "gaussian_target", "rotate"]


def _as_matrix(value: object, name: str) -> sympy.Matrix:
    if isinstance(value, sympy.MatrixBase):
        matrix = sympy.Matrix(value)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        try:
            matrix = sympy.Matrix([list(row) for row in value])
        except (TypeError, ValueError, sympy.SympifyError) as exc:
            msg = f"cannot read {name} as a matrix ({exc}): give a sympy Matrix or a list of rows"
            raise ParameterError(msg) from exc
    else:
        msg = f"{name} must be a sympy Matrix or a list of rows, got {type(value).__name__}"
        raise ParameterError(msg)
    if matrix.rows != matrix.cols or matrix.rows == 0:
        msg = f"{name} must be a non-empty square matrix, got shape {matrix.shape}"
        raise ParameterError(msg)
    if any(entry.has(sympy.Float) or not entry.is_number for entry in matrix):
        msg = (
            f"{name} must have exact numeric entries (int, Fraction, sympy Rational or "
            "algebraic numbers), not floats or symbols, so that the result is exactly orthogonal"
        )
        raise ParameterError(msg)
    return matrix


def cayley_rotation(A: object) -> sympy.ImmutableMatrix:
    """The Cayley transform ``Q = (I - A)(I + A)^{-1}`` of a skew-symmetric matrix ``A``.

    For real skew-symmetric ``A`` (``A^T = -A``), ``I + A`` is invertible
    (the eigenvalues of ``A`` are imaginary) and ``Q`` is orthogonal with
    ``det Q = 1``: a rotation. With rational ``A`` it is exactly rational, so
    rotated targets stay exact and :func:`csqbound.iso_leap` stays exact on
    them. ``A`` is recovered as ``(I - Q)(I + Q)^{-1}``.

    Parameters
    ----------
    A
        A square skew-symmetric matrix with exact entries: a sympy Matrix or a
        list of rows of ints, Fractions or sympy numbers.

    Returns
    -------
    sympy.ImmutableMatrix

    Raises
    ------
    ParameterError
        If ``A`` is not square, not exact, or not skew-symmetric.

    Examples
    --------
    >>> from fractions import Fraction
    >>> Q = cayley_rotation([[0, Fraction(1, 2)], [Fraction(-1, 2), 0]])
    >>> Q
    Matrix([
    [3/5, -4/5],
    [4/5,  3/5]])
    >>> Q.T * Q == sympy.eye(2), Q.det()
    (True, 1)
    >>> cayley_rotation([[0, 1], [1, 0]])
    Traceback (most recent call last):
    ...
    csqbound.errors.ParameterError: A must be skew-symmetric (A^T = -A) ...
    """
    a = _as_matrix(A, "A")
    if not (a.T + a).is_zero_matrix:
        msg = (
            "A must be skew-symmetric (A^T = -A) for (I - A)(I + A)^{-1} to be a rotation; "
            f"got {a.tolist()}"
        )
        raise ParameterError(msg)
    ident = sympy.eye(a.rows)
    q = (ident - a) * (ident + a).inv()
    if not all(entry.is_Rational for entry in q):
        q = q.applyfunc(sympy.simplify)
    return sympy.ImmutableMatrix(q)


def gaussian_target(value: object) -> Target:
    """A gaussian :class:`~csqbound.target.Target` to rotate, read through the gate.

    Raises
    ------
    DomainError
        For a boolean Target.
    ParameterError
        For anything that is not a target (text, sympy or a Target).

    Examples
    --------
    >>> gaussian_target("x1*x2").domain
    'gaussian'
    """
    try:
        read = as_target(
            value,
            "gaussian",
            require="gaussian",
            caller="rotation",
            hint=f" {value} (N(0, I) is rotation invariant, the cube is not)",
        )
    except DomainError:
        raise
    except ValueError as exc:
        msg = f"cannot read {value!r} as a gaussian target: {exc}"
        raise ParameterError(msg) from exc
    if not isinstance(read, Target):
        msg = f"cannot read {value!r} as a gaussian target: give text, sympy or a Target"
        raise ParameterError(msg)
    return read


def rotate(target: object, Q: object) -> Target:
    """The gaussian target ``x -> f(Q x)`` for an orthogonal ``Q`` acting on ``x1..xn``.

    Parameters
    ----------
    target
        A gaussian :class:`~csqbound.target.Target`, or text / a sympy expression
        (read as gaussian).
    Q
        An exactly orthogonal ``n x n`` matrix with ``n >= P`` (e.g. from
        :func:`cayley_rotation`).

    Returns
    -------
    Target
        ``f o Q``, expanded; its variables are the coordinates it depends on.

    Raises
    ------
    DomainError
        For a boolean target.
    ParameterError
        If ``Q`` is smaller than the target's ``P`` or not exactly orthogonal.

    Examples
    --------
    >>> from fractions import Fraction
    >>> Q = cayley_rotation([[0, Fraction(1, 2)], [Fraction(-1, 2), 0]])
    >>> rotate("x1*x2", Q).expression
    12*x1**2/25 - 7*x1*x2/25 - 12*x2**2/25
    """
    t = gaussian_target(target)
    q = _as_matrix(Q, "Q")
    n = q.rows
    if n < t.variables:
        msg = (
            f"Q is {n} x {n} but the target uses x1..x{t.variables}: "
            f"give Q of size >= {t.variables}"
        )
        raise ParameterError(msg)
    if not (q.T * q - sympy.eye(n)).applyfunc(sympy.simplify).is_zero_matrix:
        msg = "Q must be exactly orthogonal (Q^T Q = I), e.g. from cayley_rotation"
        raise ParameterError(msg)
    xs = [symbol(i) for i in range(1, n + 1)]
    sub = {xs[i]: sum((q[i, j] * xs[j] for j in range(n)), sympy.Integer(0)) for i in range(n)}
    return Target.coerce(sympy.expand(t.expression.xreplace(sub)), "gaussian")
