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

from csqbound._version import __version__ as __version__
from csqbound.analysis import Analysis, analyze
from csqbound.catalog import CATALOG, CatalogEntry, catalog_entry
from csqbound.csq import CSQBound, csq_bound
from csqbound.dlq import dlq_leap
from csqbound.errors import (
    BackendUnavailableError,
    CsqboundError,
    DomainError,
    ExpansionError,
    ParameterError,
    ParseError,
)
from csqbound.expansion import Expansion, expand
from csqbound.experiments.verify import Verification, verify
from csqbound.generative import GenerativeResult, generative_exponent
from csqbound.isoleap import IsoLeapResult, information_exponent, iso_leap
from csqbound.leaps import LeapResult, cover, leap, leap_bruteforce
from csqbound.monomial import Monomial
from csqbound.parsing import parse
from csqbound.prediction import Prediction, predict
from csqbound.queries import csq_leap, oracle_leap, sq_leap
from csqbound.sgd.train import Run, train
from csqbound.support import SupportGraph
from csqbound.target import Target

__all__ = [
    "CATALOG",
    "Analysis",
    "BackendUnavailableError",
    "CSQBound",
    "CatalogEntry",
    "CsqboundError",
    "DomainError",
    "Expansion",
    "ExpansionError",
    "GenerativeResult",
    "IsoLeapResult",
    "LeapResult",
    "Monomial",
    "ParameterError",
    "ParseError",
    "Prediction",
    "Run",
    "SupportGraph",
    "Target",
    "Verification",
    "analyze",
    "catalog_entry",
    "cover",
    "csq_bound",
    "csq_leap",
    "dlq_leap",
    "expand",
    "generative_exponent",
    "information_exponent",
    "iso_leap",
    "leap",
    "leap_bruteforce",
    "oracle_leap",
    "parse",
    "predict",
    "sq_leap",
    "train",
    "verify",
]
