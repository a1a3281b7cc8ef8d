"""csqbound: leap complexity, CSQ lower bounds and SGD scaling checks.

For a target ``f`` on ``d`` Boolean or Gaussian inputs csqbound computes its
expansion, its leap (Abbe, Boix-Adserà, Misiakiewicz, COLT 2023), query-complexity
lower bounds and the predicted sample complexity of online SGD, and checks the
prediction by training two-layer networks.
"""

from __future__ import annotations

from csqbound.errors import (
    BackendUnavailableError,
    CsqboundError,
    DomainError,
    ExpansionError,
    ParameterError,
    ParseError,
)
from csqbound.expansion import Expansion, expand
from csqbound.monomial import Monomial

__all__ = [
    "BackendUnavailableError",
    "CsqboundError",
    "DomainError",
    "Expansion",
    "ExpansionError",
    "Monomial",
    "ParameterError",
    "ParseError",
    "expand",
]

__version__ = "0.1.0"
