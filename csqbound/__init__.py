"""csqbound: leap complexity, CSQ lower bounds and SGD scaling checks.

For a target ``f`` on ``d`` Boolean or Gaussian inputs csqbound computes its
expansion, its leap (Abbe, Boix-Adserà, Misiakiewicz, COLT 2023), query-complexity
lower bounds and the predicted sample complexity of online SGD, and checks the
prediction by training two-layer networks.

Examples
--------
>>> import csqbound
>>> csqbound.leap("x1 + x1*x2*x3").leap
2
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
from csqbound.leap import LeapResult, cover, leap, leap_bruteforce
from csqbound.monomial import Monomial
from csqbound.parse import parse
from csqbound.support import SupportGraph
from csqbound.target import Target

__all__ = [
    "BackendUnavailableError",
    "CsqboundError",
    "DomainError",
    "Expansion",
    "ExpansionError",
    "LeapResult",
    "Monomial",
    "ParameterError",
    "ParseError",
    "SupportGraph",
    "Target",
    "cover",
    "expand",
    "leap",
    "leap_bruteforce",
    "parse",
]

__version__ = "0.1.0"
