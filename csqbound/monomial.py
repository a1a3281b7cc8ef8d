"""Monomials: immutable multi-indices ``alpha`` over 1-based coordinates.

On the boolean domain a monomial is the character ``chi_S(x) = prod_{i in S} x_i``
and every degree is 1; on the gaussian domain it is the Hermite product
``He_alpha(x) = prod_i He_{alpha_i}(x_i)`` (THEORY.md section 1).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from csqbound.errors import CsqboundError, DomainError, shorten

__all__ = ["Domain", "Monomial", "check_domain"]

Domain = Literal["boolean", "gaussian"]


def check_domain(domain: str) -> Domain:
    """Validate a domain name.

    Examples
    --------
    >>> check_domain("gaussian")
    'gaussian'
    """
    match domain:
        case "boolean":
            return "boolean"
        case "gaussian":
            return "gaussian"
        case _:
            msg = f"unknown domain {shorten(repr(domain))}: use 'boolean' or 'gaussian'"
            raise DomainError(msg)


@dataclass(frozen=True, order=True)
class Monomial:
    """A multi-index: a sorted tuple of ``(coordinate, degree)`` pairs.

    Coordinates are 1-based, degrees are positive; coordinates with degree 0
    are simply absent, so the constant monomial is ``Monomial(())``.

    Examples
    --------
    >>> m = Monomial.from_mapping({3: 1, 1: 2})
    >>> m
    Monomial(He2(x1)*x3)
    >>> m.support, m.degree
    (frozenset({1, 3}), 3)
    >>> m.cost_after({1})
    1
    >>> str(Monomial.from_set({2, 1}))
    'x1*x2'
    """

    powers: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        previous = 0
        for coordinate, degree in self.powers:
            if not isinstance(coordinate, int) or not isinstance(degree, int):
                msg = f"monomial entries must be integers, got {shorten(self.powers, quote=True)}"
                raise CsqboundError(msg)
            if coordinate <= previous:
                msg = (
                    "monomial coordinates must be 1-based and strictly increasing, "
                    f"got {shorten(self.powers, quote=True)}"
                )
                raise CsqboundError(msg)
            if degree < 1:
                shown = shorten(self.powers, quote=True)
                msg = f"monomial degrees must be >= 1 (drop zero degrees), got {shown}"
                raise CsqboundError(msg)
            previous = coordinate

    # -- construction -----------------------------------------------------
    @classmethod
    def _unchecked(cls, powers: tuple[tuple[int, int], ...]) -> Monomial:
        """Build from powers already known to be valid (sorted, 1-based, degrees >= 1)."""
        mono = object.__new__(cls)
        object.__setattr__(mono, "powers", powers)
        return mono

    @classmethod
    def from_mapping(cls, mapping: Mapping[int, int]) -> Monomial:
        """Build from ``{coordinate: degree}``; zero degrees are dropped."""
        # Fast path (bulk checks in C): plain ints, coordinates >= 1, degrees >= 0.
        if not mapping:
            return cls._unchecked(())
        keys, degrees = mapping.keys(), mapping.values()
        if (
            set(map(type, keys)) <= {int}
            and set(map(type, degrees)) <= {int}
            and min(keys) >= 1
            and (low := min(degrees)) >= 0
        ):
            pairs = mapping.items() if low else (kv for kv in mapping.items() if kv[1])
            return cls._unchecked(tuple(sorted(pairs)))
        items = []
        for coordinate, degree in mapping.items():
            try:
                c, k = int(coordinate), int(degree)
            except (TypeError, ValueError, OverflowError):
                c, k = -1, -1
            if c != coordinate or k != degree or isinstance(coordinate, bool):
                msg = f"monomial entries must be integers, got {shorten(dict(mapping), quote=True)}"
                raise CsqboundError(msg)
            if k < 0:
                msg = f"monomial degrees must be >= 0, got {shorten(dict(mapping), quote=True)}"
                raise CsqboundError(msg)
            if k:
                items.append((c, k))
        return cls(tuple(sorted(items)))

    @classmethod
    def from_set(cls, coordinates: Iterable[int]) -> Monomial:
        """Build the boolean character ``chi_S`` from a set of coordinates."""
        coords = list(coordinates)
        # Fast path (bulk checks in C): distinct plain ints >= 1.
        if set(map(type, coords)) <= {int} and len(set(coords)) == len(coords):
            ordered = sorted(coords)
            if not ordered or ordered[0] >= 1:
                return cls._unchecked(tuple(zip(ordered, [1] * len(ordered), strict=True)))
        if len(set(coords)) != len(coords):
            shown = shorten(coords, quote=True)
            msg = f"a boolean monomial is a set of coordinates; got repeats in {shown}"
            raise CsqboundError(msg)
        return cls.from_mapping(dict.fromkeys(coords, 1))

    @classmethod
    def coerce(cls, value: object, domain: Domain) -> Monomial:
        """Accept a Monomial, a set of coordinates (boolean) or a mapping (gaussian).

        Examples
        --------
        >>> Monomial.coerce({1, 2}, "boolean")
        Monomial(x1*x2)
        >>> Monomial.coerce({1: 3}, "gaussian")
        Monomial(He3(x1))
        """
        if isinstance(value, set | frozenset):
            return cls.from_set(value)
        if isinstance(value, Monomial):
            mono = value
        elif isinstance(value, Mapping):
            mono = cls.from_mapping(value)
        elif isinstance(value, Iterable) and not isinstance(value, str | bytes):
            mono = cls.from_set(value)  # type: ignore[arg-type]
        else:
            msg = (
                f"cannot read {shorten(value, quote=True)} as a monomial: give a set of 1-based "
                "coordinates "
                "(boolean) or a mapping coordinate -> degree (gaussian)"
            )
            raise CsqboundError(msg)
        if domain == "boolean" and any(k > 1 for _, k in mono.powers):
            msg = f"boolean monomials have degree <= 1 per coordinate (x_i^2 = 1), got {mono}"
            raise DomainError(msg)
        return mono

    # -- properties -------------------------------------------------------
    @property
    def support(self) -> frozenset[int]:
        """The coordinates with non-zero degree."""
        return frozenset(c for c, _ in self.powers)

    @property
    def degree(self) -> int:
        """Total degree ``|alpha|``."""
        return sum(k for _, k in self.powers)

    @property
    def factorial(self) -> int:
        """``alpha! = prod_i alpha_i!`` (the squared norm of ``He_alpha``)."""
        return math.prod(math.factorial(k) for _, k in self.powers)

    def as_dict(self) -> dict[int, int]:
        """``{coordinate: degree}``."""
        return dict(self.powers)

    def cost_after(self, covered: Iterable[int] | frozenset[int]) -> int:
        """Degree this monomial puts on coordinates outside ``covered`` (THEORY section 2)."""
        seen = covered if isinstance(covered, frozenset | set) else frozenset(covered)
        return sum(k for c, k in self.powers if c not in seen)

    def new_coordinates(self, covered: Iterable[int]) -> frozenset[int]:
        """``supp(alpha) \\ covered``."""
        return self.support.difference(covered)

    def relabel(self, mapping: Mapping[int, int]) -> Monomial:
        """Rename coordinates through an injective ``mapping``."""
        return Monomial.from_mapping({mapping[c]: k for c, k in self.powers})

    # -- printing ---------------------------------------------------------
    def __str__(self) -> str:
        if not self.powers:
            return "1"
        return "*".join(f"x{c}" if k == 1 else f"He{k}(x{c})" for c, k in self.powers)

    def __repr__(self) -> str:
        return f"Monomial({self})"
