"""Named targets from the literature, each with its source.

The catalog is data: a name, an expression (in the syntax of
:func:`csqbound.parsing.parse`), a domain, a one-line description and the paper
it comes from. ``csqbound zoo`` computes every quantity of every entry; any
command that takes an expression also accepts a catalog name.
"""

from __future__ import annotations

from dataclasses import dataclass

from csqbound.errors import CsqboundError, shorten
from csqbound.monomial import Domain

__all__ = ["CATALOG", "CatalogEntry", "catalog_entry", "catalog_names"]

_ABM23 = "Abbe, Boix-Adserà, Misiakiewicz, COLT 2023 (arXiv 2302.11055)"
_ABM22 = "Abbe, Boix-Adserà, Misiakiewicz, COLT 2022 (merged-staircase property)"
_ABBBN21 = "Abbe, Boix-Adserà, Brennan, Bresler, Nagaraj, NeurIPS 2021 (staircase property)"
_KEARNS = "Kearns, JACM 1998; Blum et al., STOC 1994 (parities and SQ)"
_BGJ21 = "Ben Arous, Gheissari, Jagannath, JMLR 2021 (information exponent)"
_JMS24 = "Joshi, Misiakiewicz, Srebro, NeurIPS 2024 (SQ vs CSQ leaps)"
_ODONNELL = "O'Donnell, Analysis of Boolean Functions, 2014, ch. 5 (majority)"
_THEORY = "csqbound THEORY.md section 3 (rotation-free leap example)"
_DAMIAN = "Damian, Lee, Soltanolkotabi, COLT 2022 (non-axis-aligned multi-index)"
_DPLB24 = "Damian, Pillaud-Vivien, Lee, Bruna, COLT 2024 (generative exponent)"
_GAP = "csqbound docs/theory.md section 8 (generalises the JMS 2024 example)"


@dataclass(frozen=True)
class CatalogEntry:
    """One named target.

    Examples
    --------
    >>> e = catalog_entry("staircase3")
    >>> e.expression, e.domain
    ('x1 + x1*x2 + x1*x2*x3', 'boolean')
    """

    name: str
    expression: str
    domain: Domain
    description: str
    source: str


def _staircase(k: int) -> str:
    return " + ".join("*".join(f"x{i}" for i in range(1, j + 1)) for j in range(1, k + 1))


def _parity(k: int) -> str:
    return "*".join(f"x{i}" for i in range(1, k + 1))


CATALOG: tuple[CatalogEntry, ...] = (
    *(
        CatalogEntry(
            f"staircase{k}",
            _staircase(k),
            "boolean",
            f"staircase of length {k}: each monomial adds one coordinate (leap 1)",
            _ABBBN21,
        )
        for k in (2, 3, 4, 5, 6)
    ),
    *(
        CatalogEntry(f"parity{k}", _parity(k), "boolean", f"{k}-sparse parity (leap {k})", _KEARNS)
        for k in (2, 3, 4)
    ),
    CatalogEntry(
        "merged_staircase",
        "x1 + x2 + x1*x2*x3 + x3*x4",
        "boolean",
        "merged staircase: every set adds at most one new coordinate (MSP, leap 1)",
        _ABM22,
    ),
    CatalogEntry(
        "staircase_leap2",
        "x1 + x1*x2*x3",
        "boolean",
        "one plateau after x1 (leap 2, not MSP)",
        _ABM23,
    ),
    CatalogEntry(
        "staircase_leap3",
        "x1*x2*x3 + x1*x2*x3*x4*x5*x6",
        "boolean",
        "two jumps of 3 (leap 3)",
        _ABM23,
    ),
    CatalogEntry(
        "disjoint_parities2",
        "x1*x2 + x3*x4",
        "boolean",
        "sum of two disjoint 2-parities (leap 2, two stages)",
        _ABM23,
    ),
    CatalogEntry(
        "disjoint_parities3",
        "x1*x2*x3 + x4*x5*x6",
        "boolean",
        "sum of two disjoint 3-parities (leap 3)",
        _ABM23,
    ),
    CatalogEntry(
        "majority3", "sign(x1 + x2 + x3)", "boolean", "majority of 3 (exact Walsh)", _ODONNELL
    ),
    CatalogEntry(
        "majority5",
        "sign(x1 + x2 + x3 + x4 + x5)",
        "boolean",
        "majority of 5 (degree-1 and degree-3, 5 terms)",
        _ODONNELL,
    ),
    CatalogEntry(
        "max2", "max(x1, x2)", "boolean", "max of two bits = 1/2 + (x1 + x2 - x1*x2)/2", _ODONNELL
    ),
    CatalogEntry(
        "sq_csq_gap",
        "x1*x2*x3 - x1*x2*x4",
        "boolean",
        "CSQ leap 3 but SQ leap 2 (y = 0 exactly when x3 = x4)",
        _JMS24,
    ),
    CatalogEntry(
        "sq_csq_gap2",
        "x1*x2*(x3 - x4)*(x5 - x6)",
        "boolean",
        "CSQ leap 4; SQ and non-squared DLQ leaps 2 adaptive, 4 non-adaptive (cover)",
        _GAP,
    ),
    *(
        CatalogEntry(
            f"hermite{k}",
            f"He{k}(x1)",
            "gaussian",
            f"single-index He_{k}: information exponent {k}, generative exponent {2 - k % 2}",
            f"{_BGJ21}; {_DPLB24}",
        )
        for k in (2, 3, 4)
    ),
    CatalogEntry(
        "gaussian_staircase",
        "x1 + x1*x2 + x1*x2*x3",
        "gaussian",
        "staircase on gaussian data (leap 1)",
        _ABM23,
    ),
    CatalogEntry(
        "gaussian_product",
        "x1*x2*x3",
        "gaussian",
        "product of three coordinates (leap 3)",
        _ABM23,
    ),
    CatalogEntry(
        "gaussian_he2_jump",
        "x1 + x1*He2(x2)",
        "gaussian",
        "degree-weighted jump of 2 on one new coordinate",
        _ABM23,
    ),
    CatalogEntry(
        "rotated_pair",
        "x1*x2 + (x1 + x2)/sqrt(2)",
        "gaussian",
        "coordinate leap 1 but rotation-free leap 2",
        _THEORY,
    ),
    CatalogEntry(
        "rotated_pair_adapted",
        "x1 + (He2(x1) - He2(x2))/2",
        "gaussian",
        "rotated_pair in its adapted basis (leap 2)",
        _THEORY,
    ),
    CatalogEntry(
        "oblique_hermite3",
        "He3((x1 - x2)/sqrt(2))",
        "gaussian",
        "He_3 along a non-axis direction (information exponent 3)",
        _DAMIAN,
    ),
    CatalogEntry(
        "hermite4_plus_3",
        "He4(x1) + He3(x1)",
        "gaussian",
        "information exponent 3, generative exponent 1 (not even)",
        _DPLB24,
    ),
    CatalogEntry(
        "abs_single_index",
        "abs(x1)",
        "gaussian",
        "even link: information and generative exponent 2 (numeric)",
        _DPLB24,
    ),
    CatalogEntry(
        "tanh_single_index",
        "tanh(x1)",
        "gaussian",
        "odd monotone link: generative exponent 1 (numeric)",
        _DPLB24,
    ),
    CatalogEntry(
        "relu_single_index",
        "relu((x1 + x2)/sqrt(2))",
        "gaussian",
        "ReLU single-index model along a diagonal (information exponent 1; numeric)",
        _BGJ21,
    ),
)


def catalog_names() -> tuple[str, ...]:
    """Names of all catalog entries, in catalog order.

    Examples
    --------
    >>> len(catalog_names()) >= 20
    True
    """
    return tuple(e.name for e in CATALOG)


def catalog_entry(name: str) -> CatalogEntry:
    """Look up an entry by name.

    Raises
    ------
    CsqboundError
        If there is no such entry (the message lists the names).
    """
    for entry in CATALOG:
        if entry.name == name:
            return entry
    msg = f"no catalog entry {shorten(name, quote=True)}; known: {', '.join(catalog_names())}"
    raise CsqboundError(msg)
